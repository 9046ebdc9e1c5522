//! [`SimNodeRuntime`]: one node's container runtime in virtual time, behind the kubelet's
//! [`NodeRuntime`].
//!
//! Every command is answered at once with the events it will cause, stamped with future
//! [`SimTime`]s: a sandbox ready after the sandbox latency, an image pulled when the serialized
//! puller has fetched the uncached layers, a container started after the start latency and — if
//! its workload says so — exited at the earliest of its own exit (completion, crash at a time or
//! at a seeded rate) and its OOM kill (first instant the working-set curve exceeds the memory
//! limit, [`crate::memory::oom_time`]). A stop request plans SIGTERM/SIGKILL with
//! [`kubesim_kubelet::termination`] and the workload's SIGTERM reaction. Nothing is polled: a
//! steady container costs no events after it starts. A `RunProbe` (the kubelet's executed-probe
//! mode) is answered at once from the container's health timeline.
//!
//! Because an event is planned before it happens, a later command can supersede it (a container
//! killed before its planned crash). [`NodeRuntime::commit`] drops such stale events when they
//! come due, so the kubelet only ever sees what really happened.

use std::sync::Arc;

use kubesim_api::PullPolicy;
use kubesim_kubelet::cgroups::ContainerCgroup;
use kubesim_kubelet::probes::ProbeKind;
use kubesim_kubelet::runtime::{
    ContainerId, ContainerRole, ContainerStats, ImagePullError, NodeRuntime, RuntimeCommand, RuntimeError,
    RuntimeEvent, SandboxId,
};
use kubesim_kubelet::termination::{kill_outcome, KillPlan, SigtermReaction};
use kubesim_workload::{PodWorkload, ShutdownSpec};
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::cpu::CpuStat;
use crate::images::{ImageCache, ImageCatalog};
use crate::memory::oom_time;
use crate::node_cpu::NodeCpu;
use crate::sorted::SortedVec;

/// Timing parameters of the simulated runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Sandbox creation (pause container, network setup).
    pub sandbox_latency: SimDuration,
    /// Container create + start.
    pub container_start_latency: SimDuration,
    /// Registry answer time for an image that does not exist.
    pub registry_error_latency: SimDuration,
    /// Image pull bandwidth of the node, bytes per second.
    pub image_pull_bytes_per_sec: u64,
    /// CPU accounting samples ramps and curves at this grid (see [`crate::node_cpu`]).
    pub cpu_demand_grid: SimDuration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            sandbox_latency: SimDuration::from_millis(500),
            container_start_latency: SimDuration::from_millis(300),
            registry_error_latency: SimDuration::from_millis(200),
            image_pull_bytes_per_sec: 100_000_000,
            cpu_demand_grid: SimDuration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlannedExit {
    at: SimTime,
    exit_code: i32,
    signal: Option<i32>,
    oom_killed: bool,
}

impl PlannedExit {
    fn event(&self, container: ContainerId) -> RuntimeEvent {
        RuntimeEvent::ContainerExited {
            container,
            exit_code: self.exit_code,
            signal: self.signal,
            oom_killed: self.oom_killed,
            at: self.at,
        }
    }
}

/// A created container. Of its cgroup only the memory limit is kept: the CPU values went to
/// [`NodeCpu`], and the limit is all [`SimNodeRuntime::sample`] reports. When it runs from (after
/// the start latency) and its workload are its [`NodeCpu`] member's (every container here is one,
/// from its start to its removal), not kept twice.
#[derive(Clone, Debug)]
struct Container {
    exit: Option<PlannedExit>,
    memory_limit_bytes: Option<i64>,
}

/// One node's simulated runtime.
#[derive(Clone, Debug)]
pub struct SimNodeRuntime {
    config: RuntimeConfig,
    catalog: Arc<ImageCatalog>,
    streams: RngStreams,
    /// Mixed into random-crash stream indices so nodes draw independently.
    node_salt: u64,
    images: ImageCache,
    sandboxes: SortedVec<SandboxId, Option<Arc<PodWorkload>>>,
    containers: SortedVec<ContainerId, Container>,
    cpu: NodeCpu,
    /// Each container's counters at the previous [`SimNodeRuntime::usage`] call, by id (a
    /// sorted list: it is rebuilt whole at every call, and read in id order).
    last_usage: Vec<(ContainerId, UsageCounters)>,
    /// When [`SimNodeRuntime::usage`] was last called (the interval start of every container in
    /// `last_usage`).
    last_usage_at: SimTime,
}

/// The counters [`SimNodeRuntime::usage`] differences (`throttled_us` is not reported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct UsageCounters {
    usage_us: u64,
    nr_periods: u64,
    nr_throttled: u64,
}

impl From<CpuStat> for UsageCounters {
    fn from(s: CpuStat) -> Self {
        UsageCounters { usage_us: s.usage_us, nr_periods: s.nr_periods, nr_throttled: s.nr_throttled }
    }
}

/// One container's usage over the interval since the previous [`SimNodeRuntime::usage`] call
/// (or since it started).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContainerUsage {
    /// Which.
    pub container: ContainerId,
    /// Average CPU over the interval, millicores.
    pub cpu_millis: f64,
    /// Throttled periods / periods with a quota in the interval (0 without a quota).
    pub throttled_ratio: f64,
    /// Working set now, bytes.
    pub memory_working_set_bytes: i64,
}

/// One running container's usage, as [`SimNodeRuntime::sample`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerSample {
    /// Which.
    pub container: ContainerId,
    /// Cumulative CPU counters since it started.
    pub cpu: CpuStat,
    /// Working set now, bytes.
    pub memory_working_set_bytes: i64,
    /// Its memory limit, if any.
    pub memory_limit_bytes: Option<i64>,
}

impl SimNodeRuntime {
    /// A node with an empty image cache. `node_index` separates its random draws from other nodes'.
    pub fn new(
        config: RuntimeConfig,
        catalog: Arc<ImageCatalog>,
        streams: RngStreams,
        node_index: u64,
    ) -> Self {
        SimNodeRuntime {
            catalog,
            streams,
            node_salt: node_index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            images: ImageCache::default(),
            sandboxes: SortedVec::default(),
            containers: SortedVec::default(),
            cpu: NodeCpu::new(u64::MAX, config.cpu_demand_grid),
            last_usage: Vec::new(),
            last_usage_at: SimTime::ZERO,
            config,
        }
    }

    /// Sets the node's CPU capacity (millicores) from `now` on; unlimited until set.
    pub fn set_cpu_capacity_millis(&mut self, now: SimTime, capacity_millis: u64) {
        self.cpu.set_capacity_millis(now, capacity_millis);
    }

    /// The node's CPU capacity, millicores (`u64::MAX` = unlimited).
    pub fn cpu_capacity_millis(&self) -> u64 {
        self.cpu.capacity_millis()
    }

    /// Changes the container start latency from now on (a slow node; a "slow start" fault).
    pub fn set_container_start_latency(&mut self, latency: SimDuration) {
        self.config.container_start_latency = latency;
    }

    /// The runtime's timing parameters.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Replaces the image catalog (e.g. an image removed from the registry).
    pub fn set_catalog(&mut self, catalog: Arc<ImageCatalog>) {
        self.catalog = catalog;
    }

    /// The node crashed at `now`: every sandbox and container is gone without an exit event
    /// (nobody is there to report one), in-flight pulls are lost, pulled images stay on disk.
    /// Events planned earlier are dropped by [`NodeRuntime::commit`] when they come due.
    pub fn crash(&mut self, now: SimTime) {
        self.cpu.clear(now);
        self.sandboxes.clear();
        self.containers.clear();
        self.images.abort_pulls(&self.catalog, now);
    }

    /// Kills a running container at `now` as if its process died: exit `exit_code` (137 =
    /// SIGKILL, reported with signal 9; anything else as the process's own exit code). Returns
    /// the exit event to deliver, or `None` if the container is not running.
    pub fn kill(&mut self, now: SimTime, container: ContainerId, exit_code: i32) -> Option<RuntimeEvent> {
        let (start, _) = self.cpu.member(container)?;
        let c = self.containers.get_mut(&container)?;
        if now < start {
            return None;
        }
        let signal = (exit_code > 128).then_some(exit_code - 128);
        let planned = PlannedExit { at: now, exit_code, signal, oom_killed: false };
        if c.exit.is_some_and(|e| e.at <= now) {
            return None; // already exiting now
        }
        c.exit = Some(planned);
        Some(planned.event(container))
    }

    /// Usage of every running container over the interval since the previous call (or its
    /// start), in id order. Intervals shorter than one millisecond report zero CPU.
    pub fn usage(&mut self, now: SimTime) -> Vec<ContainerUsage> {
        let samples = self.samples(now);
        let mut next = Vec::with_capacity(samples.len());
        // Both lists are in id order: one merge walk finds each container's previous counters.
        let mut previous = self.last_usage.iter().peekable();
        let out = samples
            .iter()
            .map(|&(s, start)| {
                while previous.next_if(|(id, ..)| *id < s.container).is_some() {}
                let (since, before) = previous
                    .next_if(|(id, ..)| *id == s.container)
                    .map_or((start, UsageCounters::default()), |&(_, before)| (self.last_usage_at, before));
                let interval_us = now.saturating_duration_since(since).as_nanos() / 1_000;
                let used = s.cpu.usage_us.saturating_sub(before.usage_us);
                let periods = s.cpu.nr_periods.saturating_sub(before.nr_periods);
                let throttled = s.cpu.nr_throttled.saturating_sub(before.nr_throttled);
                next.push((s.container, UsageCounters::from(s.cpu)));
                ContainerUsage {
                    container: s.container,
                    cpu_millis: if interval_us >= 1_000 {
                        used as f64 * 1000.0 / interval_us as f64
                    } else {
                        0.0
                    },
                    throttled_ratio: if periods > 0 { throttled as f64 / periods as f64 } else { 0.0 },
                    memory_working_set_bytes: s.memory_working_set_bytes,
                }
            })
            .collect();
        self.last_usage = next;
        self.last_usage_at = now;
        out
    }

    /// Usage of every running container at `now` (started, not exited), in id order.
    pub fn sample(&mut self, now: SimTime) -> Vec<ContainerSample> {
        self.samples(now).into_iter().map(|(s, _)| s).collect()
    }

    /// [`Self::sample`], each with the container's start.
    fn samples(&mut self, now: SimTime) -> Vec<(ContainerSample, SimTime)> {
        let mut cpu = self.cpu.stats_with_workloads(now);
        // Ids are unique: once in id order, one merge walk beside the containers (also in id
        // order) pairs each with its container, without a search per container.
        cpu.sort_unstable_by_key(|&(id, ..)| id);
        let mut containers = self.containers.iter().peekable();
        let mut out = Vec::with_capacity(cpu.len());
        for (id, stat, start, workload) in cpu {
            while containers.next_if(|&(k, _)| k < id).is_some() {}
            let Some((_, c)) = containers.next_if(|&(k, _)| k == id) else { continue };
            if start <= now {
                let sample = ContainerSample {
                    container: id,
                    cpu: stat,
                    memory_working_set_bytes: workload
                        .memory_bytes
                        .value_at(now.saturating_duration_since(start)),
                    memory_limit_bytes: c.memory_limit_bytes,
                };
                out.push((sample, start));
            }
        }
        out
    }

    /// The node's image cache (e.g. to preload images).
    pub fn images_mut(&mut self) -> &mut ImageCache {
        &mut self.images
    }

    /// The image catalog.
    pub fn catalog(&self) -> &ImageCatalog {
        &self.catalog
    }

    /// Containers created and not yet exited or removed.
    pub fn live_containers(&self) -> usize {
        self.containers.len()
    }

    fn pull(
        &mut self,
        now: SimTime,
        container: ContainerId,
        image: &str,
        policy: PullPolicy,
    ) -> RuntimeEvent {
        let present = self.images.present_at(image);
        let (result, at) = match (policy, present) {
            (PullPolicy::Never, Some(t)) | (PullPolicy::IfNotPresent, Some(t)) => (Ok(()), t.max(now)),
            (PullPolicy::Never, None) => (Err(ImagePullError::NeverPullMissing), now),
            (_, _) if self.catalog.layers(image).is_none() => {
                (Err(ImagePullError::NotFound), now.saturating_add(self.config.registry_error_latency))
            }
            (_, _) => {
                let done = self.images.pull(&self.catalog, image, now, self.config.image_pull_bytes_per_sec);
                (Ok(()), done)
            }
        };
        RuntimeEvent::ImagePulled { container, result, at }
    }

    fn start(
        &mut self,
        now: SimTime,
        container: ContainerId,
        role: ContainerRole,
        cgroup: ContainerCgroup,
        events: &mut Vec<RuntimeEvent>,
    ) {
        let Some(pod) = self.sandboxes.get(&container.sandbox()) else { return };
        let is_init = role != ContainerRole::Regular;
        let workload = match pod {
            Some(w) => w.container(usize::from(container.index()), is_init),
            None => PodWorkload::default_for(is_init),
        };
        let start = now.saturating_add(self.config.container_start_latency);
        events.push(RuntimeEvent::ContainerStarted { container, at: start });
        let own = workload.own_exit(&self.streams, container.0.wrapping_add(self.node_salt)).map(
            |(after, code)| PlannedExit {
                at: start.saturating_add(after),
                exit_code: code,
                signal: None,
                oom_killed: false,
            },
        );
        let oom = oom_time(&workload.memory_bytes, start, cgroup.memory_limit_bytes, start).map(|at| {
            PlannedExit { at, exit_code: crate::memory::OOM_EXIT_CODE, signal: Some(9), oom_killed: true }
        });
        let exit = match (own, oom) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        if let Some(e) = exit {
            events.push(e.event(container));
        }
        self.cpu.add(now, container, start, &cgroup, workload);
        let memory_limit_bytes = cgroup.memory_limit_bytes;
        self.containers.insert(container, Container { exit, memory_limit_bytes });
    }

    /// One executed probe at `now`: the container's health timeline decides, whatever the action
    /// (HTTP, TCP, exec all stand for "the application answers healthy in time"), exactly as the
    /// kubelet's own per-period workers evaluate it. A container that is not running (not started
    /// yet, exited, removed) fails.
    fn probe(&self, now: SimTime, container: ContainerId, kind: ProbeKind, timeout: SimDuration) -> bool {
        let Some(c) = self.containers.get(&container) else { return false };
        let Some((start, workload)) = self.cpu.member(container) else { return false };
        let running = start <= now && c.exit.is_none_or(|e| e.at > now);
        running && kind.succeeds(&workload.health, now - start, timeout)
    }

    fn stop(
        &mut self,
        now: SimTime,
        container: ContainerId,
        timeout: SimDuration,
        events: &mut Vec<RuntimeEvent>,
    ) {
        let Some((start, workload)) = self.cpu.member(container) else { return };
        let Some(c) = self.containers.get_mut(&container) else { return };
        let sigterm_at = now.max(start);
        let plan = KillPlan { sigterm_at, sigkill_at: sigterm_at.saturating_add(timeout) };
        let reaction = match workload.shutdown {
            ShutdownSpec::Die => SigtermReaction::Die,
            ShutdownSpec::Graceful { after, exit_code } => SigtermReaction::ExitAfter { after, exit_code },
            ShutdownSpec::Ignore => SigtermReaction::Ignore,
        };
        let exit = kill_outcome(&plan, reaction);
        let planned =
            PlannedExit { at: exit.at, exit_code: exit.exit_code, signal: exit.signal, oom_killed: false };
        if c.exit.is_none_or(|e| planned.at < e.at) {
            c.exit = Some(planned);
            events.push(planned.event(container));
        }
    }
}

impl NodeRuntime for SimNodeRuntime {
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>) {
        match command {
            RuntimeCommand::CreateSandbox { sandbox, workload, .. } => {
                self.sandboxes.insert(sandbox, workload);
                events.push(RuntimeEvent::SandboxReady {
                    sandbox,
                    at: now.saturating_add(self.config.sandbox_latency),
                });
            }
            RuntimeCommand::PullImage { container, image, policy } => {
                let ev = self.pull(now, container, &image, policy);
                events.push(ev);
            }
            RuntimeCommand::StartContainer { container, role, cgroup, .. } => {
                self.start(now, container, role, cgroup, events)
            }
            RuntimeCommand::StopContainer { container, timeout } => {
                self.stop(now, container, timeout, events)
            }
            RuntimeCommand::RunProbe { container, kind, timeout, .. } => {
                let success = self.probe(now, container, kind, timeout);
                events.push(RuntimeEvent::ProbeResult { container, kind, success, at: now });
            }
            RuntimeCommand::RemoveSandbox { sandbox } => {
                self.sandboxes.remove(&sandbox);
                let lo = ContainerId(sandbox.0 << 32);
                let hi = ContainerId(((sandbox.0 + 1) << 32).saturating_sub(1));
                let gone: Vec<ContainerId> = self.containers.keys_in(lo, hi).collect();
                for id in gone {
                    self.containers.remove(&id);
                    self.cpu.remove(now, id);
                }
            }
        }
    }

    fn commit(&mut self, now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent> {
        match &event {
            RuntimeEvent::SandboxReady { sandbox, .. } => {
                self.sandboxes.contains_key(sandbox).then_some(event)
            }
            RuntimeEvent::ContainerStarted { container, .. } => {
                self.containers.contains_key(container).then_some(event)
            }
            RuntimeEvent::ContainerExited { container, at, exit_code, .. } => {
                let c = self.containers.get(container)?;
                let planned = c.exit?;
                if planned.at == *at && planned.exit_code == *exit_code {
                    self.containers.remove(container);
                    self.cpu.remove(now, *container);
                    Some(event)
                } else {
                    None
                }
            }
            RuntimeEvent::ImagePulled { .. } | RuntimeEvent::ProbeResult { .. } => Some(event),
        }
    }

    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError> {
        let unknown = RuntimeError::UnknownContainer(container);
        if !self.containers.contains_key(&container) {
            return Err(unknown);
        }
        let Some((start, workload)) = self.cpu.member(container) else { return Err(unknown) };
        if now < start {
            return Err(unknown);
        }
        let memory_working_set_bytes = workload.memory_bytes.value_at(now.saturating_duration_since(start));
        let cpu = self.cpu.stat(now, container).unwrap_or_default();
        Ok(ContainerStats {
            cpu_usage_us: cpu.usage_us,
            cpu_nr_periods: cpu.nr_periods,
            cpu_nr_throttled: cpu.nr_throttled,
            cpu_throttled_us: cpu.throttled_us,
            memory_working_set_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_kubelet::cgroups::CFS_PERIOD_US;
    use kubesim_workload::ContainerWorkload;

    fn runtime() -> SimNodeRuntime {
        let mut rt = SimNodeRuntime::new(
            RuntimeConfig::default(),
            Arc::new(ImageCatalog::open()),
            RngStreams::new(1),
            0,
        );
        rt.set_cpu_capacity_millis(SimTime::ZERO, 4000);
        rt
    }

    fn start(
        rt: &mut SimNodeRuntime,
        now: SimTime,
        id: ContainerId,
        w: ContainerWorkload,
        limit_millis: u64,
    ) -> Vec<RuntimeEvent> {
        let mut events = Vec::new();
        rt.execute(
            now,
            RuntimeCommand::CreateSandbox {
                sandbox: id.sandbox(),
                cgroup: kubesim_kubelet::cgroups::pod_cgroup(&kubesim_api::PodSpec::default()),
                workload: Some(Arc::new(PodWorkload { containers: vec![Arc::new(w)] })),
            },
            &mut events,
        );
        let cgroup = ContainerCgroup {
            cpu_shares: 102,
            cpu_quota_us: Some(limit_millis * 100),
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: None,
        };
        rt.execute(
            now,
            RuntimeCommand::StartContainer {
                container: id,
                role: ContainerRole::Regular,
                cgroup,
                oom_score_adj: 0,
            },
            &mut events,
        );
        events
    }

    #[test]
    fn stats_report_cumulative_cpu_and_throttling() {
        // Started at 0, running from 300 ms (start latency); 200m demand, 100m limit.
        let mut rt = runtime();
        let id = ContainerId::new(0, 0, 0);
        start(&mut rt, SimTime::ZERO, id, ContainerWorkload::steady(200, 64 << 20), 100);
        let s = rt.stats(SimTime::from_millis(10_300), id).unwrap();
        // 100 periods of 10 ms CPU, each throttled for 50 ms.
        assert_eq!(
            (s.cpu_usage_us, s.cpu_nr_periods, s.cpu_nr_throttled, s.cpu_throttled_us),
            (1_000_000, 100, 100, 5_000_000)
        );
        assert_eq!(s.memory_working_set_bytes, 64 << 20);
    }

    #[test]
    fn a_killed_container_exits_now_and_its_planned_exit_is_dropped() {
        let mut rt = runtime();
        let id = ContainerId::new(0, 0, 0);
        let w = ContainerWorkload::completing(SimDuration::from_secs(60));
        let planned = start(&mut rt, SimTime::ZERO, id, w, 100);
        assert_eq!(rt.kill(SimTime::from_millis(100), id, 137), None, "not running before its start");
        let ev = rt.kill(SimTime::from_secs(5), id, 137).unwrap();
        assert_eq!(
            ev,
            RuntimeEvent::ContainerExited {
                container: id,
                exit_code: 137,
                signal: Some(9),
                oom_killed: false,
                at: SimTime::from_secs(5)
            }
        );
        assert_eq!(rt.commit(SimTime::from_secs(5), ev.clone()), Some(ev));
        let completion =
            planned.into_iter().find(|e| matches!(e, RuntimeEvent::ContainerExited { .. })).unwrap();
        assert_eq!(rt.commit(completion.at(), completion), None);
    }

    #[test]
    fn a_crash_forgets_containers_and_drops_their_planned_events() {
        let mut rt = runtime();
        let id = ContainerId::new(0, 0, 0);
        let events =
            start(&mut rt, SimTime::ZERO, id, ContainerWorkload::completing(SimDuration::from_secs(60)), 100);
        rt.crash(SimTime::from_millis(100));
        assert_eq!(rt.live_containers(), 0);
        for ev in events {
            assert_eq!(rt.commit(ev.at(), ev), None);
        }
        assert!(rt.sample(SimTime::from_secs(1)).is_empty());
    }

    #[test]
    fn usage_averages_each_container_over_the_interval_since_the_previous_call_or_its_start() {
        let mut rt = runtime();
        let (a, b) = (ContainerId::new(0, 0, 0), ContainerId::new(1, 0, 0));
        // A: 200m demand under a 100m limit, running from 300 ms: 100m used, every period
        // throttled.
        start(&mut rt, SimTime::ZERO, a, ContainerWorkload::steady(200, 64 << 20), 100);
        let first = rt.usage(SimTime::from_millis(10_300));
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].container, first[0].cpu_millis, first[0].throttled_ratio), (a, 100.0, 1.0));
        assert_eq!(first[0].memory_working_set_bytes, 64 << 20);
        // B: 50m under a 1000m limit, created at 10.3 s, running from 10.6 s. At 20.3 s, A's
        // interval is the 10 s since the first call, B's the 9.7 s since its start
        // (9,700 ticks × 50 µs = 485 ms of CPU): 50m, never throttled.
        start(&mut rt, SimTime::from_millis(10_300), b, ContainerWorkload::steady(50, 32 << 20), 1000);
        let second = rt.usage(SimTime::from_millis(20_300));
        let view: Vec<_> = second.iter().map(|u| (u.container, u.cpu_millis, u.throttled_ratio)).collect();
        assert_eq!(view, [(a, 100.0, 1.0), (b, 50.0, 0.0)]);
        // A call less than a millisecond later reports zero CPU.
        let third = rt.usage(SimTime::from_nanos(20_300_000_500));
        assert!(third.iter().all(|u| u.cpu_millis == 0.0), "{third:?}");
    }
}
