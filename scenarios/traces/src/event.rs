//! What readers produce: time-ordered [`TraceEvent`]s carrying kubesim objects and usage curves.

use kubesim_api::{Job, Node, Pod};
use kubesim_workload::{ContainerWorkload, Curve, Demand};
use sim_core::{SimDuration, SimTime};

/// One thing that happens in a trace, at `at` (relative to the window start `from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When, on the replay's clock (`from` maps to zero).
    pub at: SimTime,
    /// What.
    pub kind: TraceEventKind,
}

/// The kinds of trace events. Objects are boxed: they are large and move through queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEventKind {
    /// A machine joins (capacity = allocatable).
    AddNode(Box<Node>),
    /// A known machine changes capacity or labels (Google 2019 `UPDATE`).
    UpdateNode(Box<Node>),
    /// A machine leaves.
    RemoveNode {
        /// Node name.
        name: String,
    },
    /// A pod is created (unbound: the scheduler places it).
    SubmitPod {
        /// The pod (one container, `main`). Restart policy `Never` when `duration` is set, so the
        /// pod completes; `Always` for long-running pods.
        pod: Box<Pod>,
        /// How long the container runs once started; `None` = until the replay ends.
        duration: Option<SimDuration>,
        /// Measured usage since the container start, when the trace has it.
        usage: Option<Usage>,
    },
    /// A Job is created (Alibaba 2018 batch tasks).
    SubmitJob {
        /// The Job; its template carries the requests.
        job: Box<Job>,
        /// How long each of its pods runs once started.
        pod_duration: Option<SimDuration>,
        /// Usage of each of its pods (the instances' mean), when known.
        usage: Option<Usage>,
    },
}

/// A container's measured usage, as piecewise-constant curves over the time since it started
/// (each sample holds until the next: traces report windowed averages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// CPU, millicores.
    pub cpu_millis: Curve,
    /// Memory working set, bytes.
    pub memory_bytes: Curve,
}

impl Usage {
    /// The container workload replaying this usage, exiting 0 after `completes_after` if given.
    pub fn workload(&self, completes_after: Option<SimDuration>) -> ContainerWorkload {
        ContainerWorkload {
            cpu_millis: Demand::Curve(self.cpu_millis.clone()),
            memory_bytes: self.memory_bytes.clone(),
            completes_after,
            ..ContainerWorkload::idle()
        }
    }
}
