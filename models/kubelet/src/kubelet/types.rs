//! What goes into and comes out of a [`Kubelet`](super::Kubelet): configuration, inputs, effects,
//! timer tokens.

use std::sync::Arc;

use kubesim_api::{ConditionStatus, NodeConditionType, ObjectKey, Pod, PodStatus, ResourceList};
use kubesim_workload::PodWorkload;
use sim_core::{SimDuration, SimTime};

use crate::backoff::BackoffConfig;
use crate::eviction::{
    DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES, MONITORING_INTERVAL, PRESSURE_TRANSITION_PERIOD,
};
use crate::runtime::{RuntimeCommand, RuntimeEvent};

/// How probes are evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProbeMode {
    /// One timer per cached-result *change*, computed from the health timeline (the fast mode).
    #[default]
    Analytic,
    /// One timer per probe period, `doProbe` literally (the oracle; costs one event per tick).
    PerPeriod,
    /// The runtime runs the probes: per-period workers as in [`PerPeriod`](Self::PerPeriod), but
    /// each due probe is a [`RuntimeCommand::RunProbe`] and its outcome is applied when the
    /// runtime answers with [`RuntimeEvent::ProbeResult`] (the real Linux backend; the simulated
    /// runtime answers from the health timeline, giving the same results as the other modes).
    Executed,
}

/// Kubelet parameters for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletConfig {
    /// Node name (for logs).
    pub node_name: String,
    /// `status.allocatable` (admission checks pods against it; `pods` is the pod count).
    pub allocatable: ResourceList,
    /// Memory capacity, bytes (the eviction signal is capacity − working set).
    pub memory_capacity_bytes: i64,
    /// Hard threshold `memory.available<…`, bytes.
    pub eviction_memory_available_bytes: i64,
    /// Eviction manager period.
    pub eviction_monitoring_interval: SimDuration,
    /// `evictionPressureTransitionPeriod`.
    pub pressure_transition_period: SimDuration,
    /// CrashLoopBackOff parameters.
    pub crash_backoff: BackoffConfig,
    /// Image pull back-off parameters (same 10 s → 300 s upstream).
    pub image_backoff: BackoffConfig,
    /// After ErrImagePull, the next pod sync shows ImagePullBackOff this much later.
    pub image_backoff_report_delay: SimDuration,
    /// Analytic or per-period probes.
    pub probe_mode: ProbeMode,
}

impl KubeletConfig {
    /// Upstream defaults for a node with `allocatable` (memory capacity taken from it).
    pub fn new(node_name: &str, allocatable: ResourceList) -> Self {
        KubeletConfig {
            node_name: node_name.to_string(),
            memory_capacity_bytes: allocatable.memory_bytes(),
            allocatable,
            eviction_memory_available_bytes: DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES,
            eviction_monitoring_interval: MONITORING_INTERVAL,
            pressure_transition_period: PRESSURE_TRANSITION_PERIOD,
            crash_backoff: BackoffConfig::DEFAULT,
            image_backoff: BackoffConfig::DEFAULT,
            image_backoff_report_delay: SimDuration::from_secs(1),
            probe_mode: ProbeMode::Analytic,
        }
    }
}

/// An opaque timer handle. The kubelet keeps at most one pending timer per token: a
/// [`KubeletEffect::SetTimer`] for a token already pending *moves* it. It ignores a firing it no
/// longer expects, so a driver that cannot cancel stays correct (only slower).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerToken(pub(crate) u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// A container's next probe result change (analytic) or tick (per-period).
    Probe,
    /// A container's pending action: restart after back-off, show ImagePullBackOff, retry a pull.
    Action,
    /// The eviction manager's next check.
    Eviction,
}

impl TimerToken {
    pub(crate) fn container(kind: TimerKind, pod: u32, index: u8) -> Self {
        TimerToken((u64::from(pod) << 16) | (u64::from(index) << 8) | kind as u64)
    }
    pub(crate) fn node(kind: TimerKind) -> Self {
        TimerToken((u64::from(u32::MAX) << 16) | kind as u64)
    }
    pub(crate) fn decode(self) -> (TimerKind, u32, u8) {
        let kind = match self.0 & 0xFF {
            0 => TimerKind::Probe,
            1 => TimerKind::Action,
            _ => TimerKind::Eviction,
        };
        (kind, (self.0 >> 16) as u32, (self.0 >> 8) as u8)
    }
}

/// An input to [`Kubelet::handle`](super::Kubelet::handle).
#[derive(Clone, Debug)]
pub enum KubeletInput {
    /// The scheduler bound a pod to this node. `workload`: what its containers do (simulation).
    PodAssigned {
        /// The pod.
        pod: Arc<Pod>,
        /// Per-container behaviour; `None` = idle containers, init containers complete at once.
        workload: Option<Arc<PodWorkload>>,
    },
    /// The pod got a deletionTimestamp; `grace` overrides its `terminationGracePeriodSeconds`.
    PodDeletionRequested {
        /// Which pod.
        key: ObjectKey,
        /// Grace override.
        grace: Option<SimDuration>,
    },
    /// The runtime reports something (already passed through `NodeRuntime::commit`).
    Runtime(RuntimeEvent),
    /// A timer the kubelet set came due.
    TimerFired(TimerToken),
    /// The kubelet process stops (containers keep running, nothing is reported).
    NodeStop,
    /// The kubelet (re)starts.
    NodeStart,
}

/// An effect of [`Kubelet::handle`](super::Kubelet::handle), for the driver to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum KubeletEffect {
    /// Hand to the node's `NodeRuntime`.
    Runtime(RuntimeCommand),
    /// Write the pod's status (`status` is complete; times are transition instants).
    PodStatusUpdate {
        /// Which pod.
        key: ObjectKey,
        /// New status.
        status: PodStatus,
    },
    /// Deliver [`KubeletInput::TimerFired`]`(token)` at `at` (replacing a pending one).
    SetTimer {
        /// When.
        at: SimTime,
        /// Which.
        token: TimerToken,
    },
    /// The timer is no longer needed.
    CancelTimer {
        /// Which.
        token: TimerToken,
    },
    /// Heartbeats: `true` = from now on the node Lease counts as renewed continuously (every
    /// 10 s upstream) until a `false`. Only these transitions are emitted, never the renewals: a
    /// reader takes `renewTime = now` while renewing, and the instant of the `false` otherwise.
    NodeLease {
        /// Renewing or stopped.
        renewing: bool,
    },
    /// A node condition the kubelet owns changed.
    NodeCondition {
        /// Which (`Ready`, `MemoryPressure`).
        kind: NodeConditionType,
        /// New status.
        status: ConditionStatus,
    },
    /// The eviction manager evicted a pod (its status follows: Failed, reason Evicted).
    PodEvicted {
        /// Which pod.
        key: ObjectKey,
    },
    /// A deleted pod has stopped everything: the API object may now be removed.
    PodRemoved {
        /// Which pod.
        key: ObjectKey,
    },
}
