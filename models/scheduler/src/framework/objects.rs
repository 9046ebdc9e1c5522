//! Cluster objects other than nodes and pods that some plugins read (upstream plugins get them
//! from informers): Namespace labels (InterPodAffinity `namespaceSelector`), the selectors of
//! Services and controllers (PodTopologySpread system defaults), PodDisruptionBudgets
//! (DefaultPreemption). The Scheduler's owner fills them; an empty value means "none exist".
//!
//! (Added by the scheduler-adv helper as the hook its plugins need.)

use std::collections::BTreeMap;

use kubesim_api::{LabelSelector, Labels, Shared};

use super::interface::PdbInfo;

/// A Service's `spec.selector` (a plain map; `None` selects nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSelector {
    /// Namespace of the Service.
    pub namespace: String,
    /// `spec.selector`.
    pub selector: Option<Labels>,
}

/// Kind of a pod's controller that contributes to the default spreading selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllerKind {
    /// `v1/ReplicationController`: its map selector is merged into the label set.
    ReplicationController,
    /// `apps/v1/ReplicaSet`: its selector's requirements are ANDed in.
    ReplicaSet,
    /// `apps/v1/StatefulSet`: as ReplicaSet.
    StatefulSet,
}

impl ControllerKind {
    /// Parses an owner reference `kind`.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "ReplicationController" => Some(ControllerKind::ReplicationController),
            "ReplicaSet" => Some(ControllerKind::ReplicaSet),
            "StatefulSet" => Some(ControllerKind::StatefulSet),
            _ => None,
        }
    }
}

/// A controller object's selector, found through a pod's controller owner reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerSelector {
    /// Kind.
    pub kind: ControllerKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.selector` (`None`: nil selector).
    pub selector: Option<LabelSelector>,
}

/// The objects whose selectors make up a pod's default spreading selector.
///
/// Each entry is [`Shared`]: the owner hands the scheduler a new list whenever a Service or a
/// controller comes or goes (a Deployment rollout creates a ReplicaSet), and with shared entries
/// that is a list of reference-count increments rather than a deep copy of every selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadSelectors {
    /// All Services (every namespace; plugins filter by the pod's namespace).
    pub services: Vec<Shared<ServiceSelector>>,
    /// ReplicationControllers, ReplicaSets and StatefulSets.
    pub controllers: Vec<Shared<ControllerSelector>>,
}

/// Everything besides nodes and pods that plugins read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterObjects {
    /// Labels of every Namespace, by name.
    pub namespace_labels: BTreeMap<String, Labels>,
    /// Services and controllers, for default topology spreading.
    pub workloads: WorkloadSelectors,
    /// PodDisruptionBudgets, for preemption.
    pub pdbs: Vec<PdbInfo>,
}
