//! The seam between the kubelet and its node: a narrow, CRI-like [`NodeRuntime`] (draft).
//!
//! The kubelet is sans-IO: it never waits for the runtime. A verb *requests* something and returns
//! at once (`Ok` means "accepted", not "done"); what actually happens comes back later as a
//! [`RuntimeEvent`] stamped with the [`SimTime`] at which it happened. The simulated runtime
//! answers by scheduling those events in virtual time (a container start 300 ms later, an OOM kill
//! at the computed crossing instant); the real Linux backend delivers them from its wall-clock
//! driver (inotify on `memory.events`, `waitpid`, …). Both feed the same kubelet code.
//!
//! Verbs (six): [`create_sandbox`](NodeRuntime::create_sandbox), [`pull_image`](NodeRuntime::pull_image),
//! [`start_container`](NodeRuntime::start_container), [`signal`](NodeRuntime::signal),
//! [`remove`](NodeRuntime::remove), [`stats`](NodeRuntime::stats).

use sim_core::SimTime;

/// A pod sandbox (pod-level cgroup + network namespace) on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SandboxId(pub u64);

/// One container instance. A restart creates a new id (upstream: a new container ID), which is
/// what resets probe holds and initial results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(pub u64);

/// What the kubelet asks the runtime to create for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxSpec {
    /// `namespace/name` of the pod, for logs.
    pub pod: String,
    /// Pod-level cgroup values (see [`crate::cgroups::pod_cgroup`]).
    pub cgroup: crate::cgroups::PodCgroup,
}

/// What the kubelet asks the runtime to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name within the pod.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Container cgroup values (see [`crate::cgroups::container_cgroup`]).
    pub cgroup: crate::cgroups::ContainerCgroup,
    /// `oom_score_adj` (see [`crate::qos::container_oom_score_adj`]).
    pub oom_score_adj: i64,
}

/// A signal the kubelet sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM (15): graceful stop.
    Term,
    /// SIGKILL (9): immediate stop.
    Kill,
}

/// Why a verb was refused synchronously (bad id, sandbox gone). Failures that take time (an
/// image that does not exist) arrive as events instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No such sandbox.
    #[error("unknown sandbox {0:?}")]
    UnknownSandbox(SandboxId),
    /// No such container.
    #[error("unknown container {0:?}")]
    UnknownContainer(ContainerId),
    /// Anything else the backend reports, with context.
    #[error("runtime error: {0}")]
    Other(String),
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
    /// An image pull finished (`ok == false`: ErrImagePull).
    ImagePulled {
        /// Image reference.
        image: String,
        /// Success.
        ok: bool,
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
    /// A probe ran (real backend; the simulated kubelet computes probe results analytically).
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
    /// A stats sample (answer to [`NodeRuntime::stats`] or periodic).
    StatsSample {
        /// Which container.
        container: ContainerId,
        /// The sample.
        stats: ContainerStats,
        /// When.
        at: SimTime,
    },
}

/// The CRI-like verbs the kubelet drives its node with. Every verb takes `now` and returns
/// immediately; results arrive as [`RuntimeEvent`]s at `now` or later.
pub trait NodeRuntime {
    /// Creates the pod sandbox; answers [`RuntimeEvent::SandboxReady`].
    fn create_sandbox(&mut self, now: SimTime, spec: &SandboxSpec) -> Result<SandboxId, RuntimeError>;
    /// Makes `image` available (a no-op event if cached); answers [`RuntimeEvent::ImagePulled`].
    fn pull_image(&mut self, now: SimTime, image: &str) -> Result<(), RuntimeError>;
    /// Creates and starts a container in `sandbox`; answers [`RuntimeEvent::ContainerStarted`]
    /// (then, eventually, [`RuntimeEvent::ContainerExited`]).
    fn start_container(
        &mut self,
        now: SimTime,
        sandbox: SandboxId,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, RuntimeError>;
    /// Sends `signal`; the exit, if any, is reported as [`RuntimeEvent::ContainerExited`].
    fn signal(&mut self, now: SimTime, container: ContainerId, signal: Signal) -> Result<(), RuntimeError>;
    /// Removes an exited container, or a sandbox whose containers are all gone.
    fn remove(&mut self, now: SimTime, target: RemoveTarget) -> Result<(), RuntimeError>;
    /// Current usage of `container` (synchronous: both backends can read counters at once).
    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError>;
    /// Events that happened up to and including `now`, in time order.
    fn drain_events(&mut self, now: SimTime) -> Vec<RuntimeEvent>;
}

/// What [`NodeRuntime::remove`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoveTarget {
    /// An exited container.
    Container(ContainerId),
    /// A sandbox.
    Sandbox(SandboxId),
}
