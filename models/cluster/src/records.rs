//! The canonical event log's records: one struct per kind, fields in a fixed order.
//!
//! Every record is `{"t":<ns>,"kind":"<Kind>",...}` (see `sim_core::log`). Object names are
//! `namespace/name` strings. These kinds are a contract: reports read them, users grep them; add
//! kinds and fields, never rename.

use serde::Serialize;

/// `NodeAdded`, `NodeRemoved`.
#[derive(Debug, Serialize)]
pub struct NodeRef<'a> {
    /// Node name.
    pub node: &'a str,
}

/// `NodeCondition`: a node condition changed (Ready, MemoryPressure).
#[derive(Debug, Serialize)]
pub struct NodeConditionChanged<'a> {
    /// Node name.
    pub node: &'a str,
    /// Condition type.
    pub condition: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// Who changed it: `kubelet` or `node-lifecycle`.
    pub by: &'a str,
}

/// `NodeTainted` / `NodeUntainted`.
#[derive(Debug, Serialize)]
pub struct NodeTaint<'a> {
    /// Node name.
    pub node: &'a str,
    /// Taint key.
    pub key: &'a str,
    /// Taint effect.
    pub effect: &'a str,
}

/// `KubeletStopped` / `KubeletStarted`.
#[derive(Debug, Serialize)]
pub struct KubeletState<'a> {
    /// Node name.
    pub node: &'a str,
    /// Why (`scenario`, …).
    pub reason: &'a str,
}

/// `PodCreated`.
#[derive(Debug, Serialize)]
pub struct PodCreated<'a> {
    /// The pod.
    pub pod: &'a str,
    /// `Kind/name` of its controller, if any.
    pub owner: Option<String>,
    /// Resolved priority.
    pub priority: i32,
}

/// `PodScheduled`.
#[derive(Debug, Serialize)]
pub struct PodScheduled<'a> {
    /// The pod.
    pub pod: &'a str,
    /// The node.
    pub node: &'a str,
    /// Time since the pod was created, ns.
    pub latency_ns: u64,
}

/// `PodUnschedulable`.
#[derive(Debug, Serialize)]
pub struct PodUnschedulable<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Upstream's FitError text.
    pub message: &'a str,
}

/// `PodPreempting`: the scheduler nominated a node and chose victims.
#[derive(Debug, Serialize)]
pub struct PodPreempting<'a> {
    /// The preemptor.
    pub pod: &'a str,
    /// Nominated node.
    pub node: &'a str,
    /// Victims.
    pub victims: Vec<String>,
}

/// `PodPhase`: the pod's phase changed.
#[derive(Debug, Serialize)]
pub struct PodPhaseChanged<'a> {
    /// The pod.
    pub pod: &'a str,
    /// New phase.
    pub phase: &'a str,
    /// Status reason (`Evicted`, …), if any.
    pub reason: Option<&'a str>,
}

/// `PodReady` / `PodNotReady`.
#[derive(Debug, Serialize)]
pub struct PodReadiness<'a> {
    /// The pod.
    pub pod: &'a str,
}

/// `ContainerStarted`.
#[derive(Debug, Serialize)]
pub struct ContainerStarted<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Restarts before this start.
    pub restart_count: i32,
}

/// `ContainerTerminated`.
#[derive(Debug, Serialize)]
pub struct ContainerTerminated<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Exit code.
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`, …
    pub reason: &'a str,
}

/// `ContainerWaiting`: a container entered a waiting state worth seeing (`CrashLoopBackOff`,
/// `ImagePullBackOff`, `ErrImagePull`).
#[derive(Debug, Serialize)]
pub struct ContainerWaiting<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Reason.
    pub reason: &'a str,
}

/// `PodDeleting`: a deletionTimestamp was set.
#[derive(Debug, Serialize)]
pub struct PodDeleting<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Who asked: `replicaset`, `taint-eviction`, `preemption`, `scenario`.
    pub by: &'a str,
}

/// `PodDeleted`: the object is gone.
#[derive(Debug, Serialize)]
pub struct PodDeleted<'a> {
    /// The pod.
    pub pod: &'a str,
}

/// `PodEvicted`: the kubelet's node-pressure eviction.
#[derive(Debug, Serialize)]
pub struct PodEvicted<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Node.
    pub node: &'a str,
}

/// `ReplicaSetCreated`.
#[derive(Debug, Serialize)]
pub struct ReplicaSetCreated<'a> {
    /// The ReplicaSet.
    pub replicaset: &'a str,
    /// Owning Deployment.
    pub deployment: &'a str,
    /// Revision.
    pub revision: i64,
    /// Initial replicas.
    pub replicas: i32,
}

/// `ReplicaSetScaled`.
#[derive(Debug, Serialize)]
pub struct ReplicaSetScaled<'a> {
    /// The ReplicaSet.
    pub replicaset: &'a str,
    /// Old spec.replicas.
    pub from: i32,
    /// New spec.replicas.
    pub to: i32,
}

/// `DeploymentRolloutComplete`.
#[derive(Debug, Serialize)]
pub struct RolloutComplete<'a> {
    /// The Deployment.
    pub deployment: &'a str,
    /// Revision now fully rolled out.
    pub revision: i64,
}

/// `DeploymentUpdated`: a scenario or user changed the spec.
#[derive(Debug, Serialize)]
pub struct DeploymentUpdated<'a> {
    /// The Deployment.
    pub deployment: &'a str,
    /// `spec.replicas` after the change.
    pub replicas: i32,
    /// Generation after the change.
    pub generation: i64,
}
