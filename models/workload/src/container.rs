//! A whole container's behaviour, compiled: what the simulated runtime runs and what the kubelet's
//! analytic prober looks at.
//!
//! A [`ContainerWorkload`] bundles CPU demand, memory working set, probe health, when the process
//! exits on its own and how it reacts to SIGTERM. A [`PodWorkload`] lists one per container of a
//! pod, init containers first then regular containers (the kubelet's container index). The
//! scenario layer builds them from [`WorkloadSpec`]s and hands them over at pod assignment.

use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use sim_core::{RngStreams, SimDuration};

use crate::curve::Curve;
use crate::health::ContainerHealth;
use crate::spec::{Amount, Demand, DemandSpec, HealthSpec, MemorySpec, SpecError};

/// How the process reacts to SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShutdownSpec {
    /// The default handler: dies at once (exit 143).
    #[default]
    Die,
    /// Handles it and exits with `exit_code` after `after` (SIGKILL if the grace runs out first).
    Graceful {
        /// Time to shut down.
        after: SimDuration,
        /// Exit code on a clean shutdown.
        #[serde(default)]
        exit_code: i32,
    },
    /// Ignores it; only SIGKILL stops it.
    Ignore,
}

/// A container's behaviour over one instance's life (offsets since the instance started).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerWorkload {
    /// CPU demand, millicores.
    pub cpu_millis: Demand,
    /// Memory working set, bytes.
    pub memory_bytes: Curve,
    /// What its probes see.
    pub health: ContainerHealth,
    /// Crashes (exit 1): at a fixed offset and/or at a seeded rate.
    pub failures: HealthSpec,
    /// Exits on its own after this long (a job, an init container), with `exit_code`.
    pub completes_after: Option<SimDuration>,
    /// Exit code when it completes on its own.
    pub exit_code: i32,
    /// SIGTERM reaction.
    pub shutdown: ShutdownSpec,
}

impl ContainerWorkload {
    /// Idle forever: no CPU, no memory, healthy, never exits, dies on SIGTERM.
    pub fn idle() -> Self {
        ContainerWorkload {
            cpu_millis: Demand::Curve(Curve::constant(0)),
            memory_bytes: Curve::constant(0),
            health: ContainerHealth::default(),
            failures: HealthSpec::default(),
            completes_after: None,
            exit_code: 0,
            shutdown: ShutdownSpec::Die,
        }
    }

    /// Exits 0 after `after` (what an init container does by default, with zero).
    pub fn completing(after: SimDuration) -> Self {
        ContainerWorkload { completes_after: Some(after), ..ContainerWorkload::idle() }
    }

    /// Steady: constant CPU and memory, healthy, never exits.
    pub fn steady(cpu_millis: i64, memory_bytes: i64) -> Self {
        ContainerWorkload {
            cpu_millis: Demand::Curve(Curve::constant(cpu_millis)),
            memory_bytes: Curve::constant(memory_bytes),
            ..ContainerWorkload::idle()
        }
    }

    /// When instance number `instance` exits on its own, and with which code: the earliest of a
    /// crash (code 1) and completion (`exit_code`); a crash wins a tie.
    pub fn own_exit(&self, streams: &RngStreams, instance: u64) -> Option<(SimDuration, i32)> {
        let crash = self.failures.crash_after(streams, instance).map(|d| (d, 1));
        let done = self.completes_after.map(|d| (d, self.exit_code));
        match (crash, done) {
            (Some(c), Some(d)) => Some(if d.0 < c.0 { d } else { c }),
            (c, d) => c.or(d),
        }
    }
}

/// The workloads of one pod's containers: init containers first, then regular ones. Missing
/// entries fall back to [`PodWorkload::default_for`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodWorkload {
    /// Per container, in kubelet order (init, then regular).
    pub containers: Vec<Arc<ContainerWorkload>>,
}

impl PodWorkload {
    /// The workload of container `index`; `is_init` picks the default for a missing entry
    /// (init containers complete at once, others idle forever).
    pub fn container(&self, index: usize, is_init: bool) -> Arc<ContainerWorkload> {
        self.containers.get(index).cloned().unwrap_or_else(|| Self::default_for(is_init))
    }

    /// The default workload of a container kind: one shared instance per kind (the values are
    /// fixed, so every container without a workload of its own can hold the same one instead of
    /// an allocation of its own, and asking costs no allocation).
    pub fn default_for(is_init: bool) -> Arc<ContainerWorkload> {
        static INIT: OnceLock<Arc<ContainerWorkload>> = OnceLock::new();
        static REGULAR: OnceLock<Arc<ContainerWorkload>> = OnceLock::new();
        let shared = if is_init {
            INIT.get_or_init(|| Arc::new(ContainerWorkload::completing(SimDuration::ZERO)))
        } else {
            REGULAR.get_or_init(|| Arc::new(ContainerWorkload::idle()))
        };
        Arc::clone(shared)
    }
}

/// The scenario-file shape of a container workload.
///
/// ```yaml
/// cpu: {constant: 200m}
/// memory: {base: 200Mi, leak: 1Mi/min}
/// health: {startup: 20s, hang_at: 1h}
/// completes_after: 30s
/// shutdown: {graceful: {after: 5s}}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// CPU demand (default 0).
    #[serde(default)]
    pub cpu: Option<DemandSpec>,
    /// Memory working set (default 0).
    #[serde(default)]
    pub memory: Option<MemorySpec>,
    /// Health and crashes.
    #[serde(default)]
    pub health: HealthSpec,
    /// Exits on its own after this long.
    #[serde(default)]
    pub completes_after: Option<SimDuration>,
    /// Exit code when it completes (default 0).
    #[serde(default)]
    pub exit_code: i32,
    /// SIGTERM reaction (default: die).
    #[serde(default)]
    pub shutdown: ShutdownSpec,
}

impl WorkloadSpec {
    /// Compiles the curves.
    pub fn compile(&self) -> Result<ContainerWorkload, SpecError> {
        let cpu = match &self.cpu {
            Some(d) => d.compile(Amount::cpu_millis)?,
            None => Demand::Curve(Curve::constant(0)),
        };
        let memory = match &self.memory {
            Some(m) => m.compile()?,
            None => Curve::constant(0),
        };
        Ok(ContainerWorkload {
            cpu_millis: cpu,
            memory_bytes: memory,
            health: self.health.health(),
            failures: self.health.clone(),
            completes_after: self.completes_after,
            exit_code: self.exit_code,
            shutdown: self.shutdown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workloads_are_shared_and_hold_the_default_values() {
        let (a, b) = (PodWorkload::default_for(false), PodWorkload::default_for(false));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, ContainerWorkload::idle());
        let init = PodWorkload::default().container(3, true);
        assert_eq!(*init, ContainerWorkload::completing(SimDuration::ZERO));
        assert!(Arc::ptr_eq(&init, &PodWorkload::default_for(true)));
    }

    #[test]
    fn a_scenario_workload_compiles_its_curves_health_and_exit() {
        let spec: WorkloadSpec = serde_json::from_str(
            r#"{"cpu": {"constant": "200m"}, "memory": {"base": "100Mi"},
                "health": {"startup": "20s"}, "completes_after": "30s", "exit_code": 3,
                "shutdown": {"graceful": {"after": "5s"}}}"#,
        )
        .unwrap();
        let w = spec.compile().unwrap();
        assert_eq!(w.cpu_millis.value(SimDuration::ZERO, 0), 200);
        assert_eq!(w.memory_bytes.value_at(SimDuration::from_hours(1)), 100 << 20);
        assert!(!w.health.readiness.at(SimDuration::from_secs(19)).healthy);
        assert_eq!(w.own_exit(&RngStreams::new(1), 0), Some((SimDuration::from_secs(30), 3)));
        assert_eq!(w.shutdown, ShutdownSpec::Graceful { after: SimDuration::from_secs(5), exit_code: 0 });
    }

    #[test]
    fn a_crash_before_completion_exits_with_code_1() {
        let mut w = ContainerWorkload::completing(SimDuration::from_secs(30));
        w.failures.crash_at = Some(SimDuration::from_secs(10));
        assert_eq!(w.own_exit(&RngStreams::new(1), 0), Some((SimDuration::from_secs(10), 1)));
    }

    #[test]
    fn missing_entries_default_by_kind() {
        let p = PodWorkload::default();
        assert_eq!(p.container(0, true).completes_after, Some(SimDuration::ZERO));
        assert_eq!(p.container(0, false).completes_after, None);
    }
}
