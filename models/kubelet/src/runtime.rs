//! The seam between the kubelet and its node: [`RuntimeCommand`]s out, [`RuntimeEvent`]s in.
//!
//! The kubelet is sans-IO: it never calls the runtime. It emits commands as effects
//! ([`crate::KubeletEffect::Runtime`]); the driver hands them to a [`NodeRuntime`], which answers
//! with events stamped with the instant they happen (a container start 300 ms later, an OOM kill at
//! the computed crossing). The simulation driver schedules those events in virtual time; the real
//! Linux backend delivers them from its wall-clock loop (`waitpid`, inotify on `memory.events`).
//! When an event comes due the driver passes it through [`NodeRuntime::commit`] — the runtime may
//! have superseded it (a container killed before its planned crash) — and then to the kubelet.
//!
//! Identifiers are chosen by the kubelet (so it needs no synchronous answer): a [`SandboxId`] per
//! admitted pod, a [`ContainerId`] per container *instance* packing (pod, container index,
//! instance number). A restart is a new instance, hence a new id, which is what resets probe holds
//! and initial results upstream.
//!
//! Commands (six, CRI-like): create sandbox, pull image, start container, stop container (SIGTERM,
//! SIGKILL after a timeout, as CRI `StopContainer`), remove sandbox, and run one probe (only in
//! [`crate::ProbeMode::Executed`]; otherwise the kubelet computes probe results itself).

use std::sync::Arc;

use kubesim_api::{ProbeAction, PullPolicy};
use kubesim_workload::PodWorkload;
use sim_core::{SimDuration, SimTime};

use crate::cgroups::{ContainerCgroup, PodCgroup};

/// A pod sandbox (pod-level cgroup + network namespace) on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SandboxId(pub u64);

/// One container instance: `pod << 32 | index << 24 | instance` (instance mod 2²⁴).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(pub u64);

impl ContainerId {
    /// Packs the parts.
    pub fn new(pod: u32, index: u8, instance: u32) -> Self {
        ContainerId((u64::from(pod) << 32) | (u64::from(index) << 24) | u64::from(instance & 0xFF_FFFF))
    }
    /// The kubelet's local pod number (also the [`SandboxId`]).
    pub fn pod(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// Container index in the pod (init containers first, then regular ones).
    pub fn index(self) -> u8 {
        (self.0 >> 24) as u8
    }
    /// Instance number (0 for the first run, +1 per restart), modulo 2²⁴.
    pub fn instance(self) -> u32 {
        (self.0 & 0xFF_FFFF) as u32
    }
    /// The sandbox this container runs in.
    pub fn sandbox(self) -> SandboxId {
        SandboxId(u64::from(self.pod()))
    }
}

/// What a container is to its pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerRole {
    /// A regular init container: runs to completion before the next one.
    Init,
    /// A restartable init container (sidecar): keeps running.
    Sidecar,
    /// A regular container.
    Regular,
}

/// A command for the runtime.
#[derive(Clone, Debug, PartialEq)]
pub enum RuntimeCommand {
    /// Create the pod sandbox; answered by [`RuntimeEvent::SandboxReady`].
    CreateSandbox {
        /// Id chosen by the kubelet.
        sandbox: SandboxId,
        /// Pod-level cgroup values.
        cgroup: PodCgroup,
        /// What the pod's containers do (simulation; `None` = defaults).
        workload: Option<Arc<PodWorkload>>,
    },
    /// Make `image` available for `container`; answered by [`RuntimeEvent::ImagePulled`].
    PullImage {
        /// The instance the pull is for.
        container: ContainerId,
        /// Image reference.
        image: String,
        /// `imagePullPolicy`.
        policy: PullPolicy,
    },
    /// Create and start a container; answered by [`RuntimeEvent::ContainerStarted`] and, some
    /// day, [`RuntimeEvent::ContainerExited`].
    StartContainer {
        /// Id chosen by the kubelet.
        container: ContainerId,
        /// Init, sidecar or regular.
        role: ContainerRole,
        /// Container cgroup values.
        cgroup: ContainerCgroup,
        /// `oom_score_adj`.
        oom_score_adj: i64,
    },
    /// SIGTERM now, SIGKILL after `timeout` if still running (CRI `StopContainer`).
    StopContainer {
        /// Which.
        container: ContainerId,
        /// Grace before SIGKILL.
        timeout: SimDuration,
    },
    /// Remove the sandbox and whatever is left in it.
    RemoveSandbox {
        /// Which.
        sandbox: SandboxId,
    },
    /// Run one probe of a running container ([`crate::ProbeMode::Executed`]); answered by one
    /// [`RuntimeEvent::ProbeResult`] stamped with the instant the probe completed (a probe that
    /// does not answer within `timeout`, or of a container that is not running, fails). The
    /// runtime must not block the caller for the probe's duration.
    RunProbe {
        /// Which container instance.
        container: ContainerId,
        /// Which probe (the answer carries it back).
        kind: crate::probes::ProbeKind,
        /// What to run: `httpGet`, `tcpSocket`, `exec` (or `grpc`), from the pod spec.
        action: ProbeAction,
        /// `timeoutSeconds`.
        timeout: SimDuration,
    },
}

/// Why an image pull failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImagePullError {
    /// The registry does not have it (`ErrImagePull`).
    NotFound,
    /// `imagePullPolicy: Never` and not present (`ErrImageNeverPull`).
    NeverPullMissing,
}

impl ImagePullError {
    /// The container waiting reason upstream shows.
    pub fn reason(self) -> &'static str {
        match self {
            ImagePullError::NotFound => "ErrImagePull",
            ImagePullError::NeverPullMissing => "ErrImageNeverPull",
        }
    }
}

/// Resource usage of one container at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ContainerStats {
    /// Cumulative CPU time, µs.
    pub cpu_usage_us: u64,
    /// Cumulative CFS periods with a quota.
    pub cpu_nr_periods: u64,
    /// Cumulative throttled periods.
    pub cpu_nr_throttled: u64,
    /// Cumulative throttled time, µs.
    pub cpu_throttled_us: u64,
    /// Current working set, bytes.
    pub memory_working_set_bytes: i64,
}

/// What the runtime reports back, each with the instant it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// The sandbox is ready.
    SandboxReady {
        /// Which.
        sandbox: SandboxId,
        /// When.
        at: SimTime,
    },
    /// An image pull for `container` finished.
    ImagePulled {
        /// The instance it was for.
        container: ContainerId,
        /// Outcome.
        result: Result<(), ImagePullError>,
        /// When.
        at: SimTime,
    },
    /// A container is running.
    ContainerStarted {
        /// Which.
        container: ContainerId,
        /// When.
        at: SimTime,
    },
    /// A container exited.
    ContainerExited {
        /// Which.
        container: ContainerId,
        /// Exit code (128 + N when killed by signal N).
        exit_code: i32,
        /// The killing signal, if any.
        signal: Option<i32>,
        /// True when the kernel OOM killer did it (reason `OOMKilled`).
        oom_killed: bool,
        /// When.
        at: SimTime,
    },
    /// A probe asked for by [`RuntimeCommand::RunProbe`] completed.
    ProbeResult {
        /// Which container.
        container: ContainerId,
        /// Which probe.
        kind: crate::probes::ProbeKind,
        /// Outcome of this single probe (before thresholds).
        success: bool,
        /// When.
        at: SimTime,
    },
}

impl RuntimeEvent {
    /// When it happened (when the driver must deliver it).
    pub fn at(&self) -> SimTime {
        match self {
            RuntimeEvent::SandboxReady { at, .. }
            | RuntimeEvent::ImagePulled { at, .. }
            | RuntimeEvent::ContainerStarted { at, .. }
            | RuntimeEvent::ContainerExited { at, .. }
            | RuntimeEvent::ProbeResult { at, .. } => *at,
        }
    }
}

/// Why a stats query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No such container running.
    #[error("unknown container {0:?}")]
    UnknownContainer(ContainerId),
}

/// One node's container runtime, as the kubelet's driver uses it.
pub trait NodeRuntime {
    /// Carries out `command` at `now`, pushing the events it will cause (stamped `≥ now`) to
    /// `events`. The driver delivers each at its time, through [`commit`](Self::commit).
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>);
    /// An event pushed earlier comes due: the runtime applies it to its own state and returns it,
    /// or returns `None` when it was superseded (a planned crash of a container already killed).
    fn commit(&mut self, now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent>;
    /// Current usage of a running container.
    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_pack_pod_index_and_instance() {
        let id = ContainerId::new(70_000, 3, 5);
        assert_eq!((id.pod(), id.index(), id.instance()), (70_000, 3, 5));
        assert_eq!(id.sandbox(), SandboxId(70_000));
        assert_ne!(ContainerId::new(1, 0, 0), ContainerId::new(1, 0, 1));
    }
}
