//! # PodTopologySpread
//!
//! Spreads pods matching a selector evenly across topology domains (zones, hosts, …).
//! Hard constraints (`whenUnsatisfiable: DoNotSchedule`) filter, soft ones (`ScheduleAnyway`)
//! score. Pods without constraints get the plugin's default constraints (system defaults:
//! hostname maxSkew 3, zone maxSkew 5, both soft) with a selector built from the Services and
//! controllers selecting the pod.
//!
//! | module | job | upstream |
//! |---|---|---|
//! | [`common`] | choose constraints, defaults, default selector, inclusion policies | `common.go`, `helper/spread.go` |
//! | [`filtering`] | PreFilter counts, AddPod/RemovePod, Filter | `filtering.go` |
//! | [`scoring`] | PreScore counts and weights, Score, NormalizeScore | `scoring.go` |
//! | [`plugin`] | the framework plugin (`factory`), reading Services/controllers from `Snapshot::objects` | `plugin.go` |
//! | [`workload_index`] | the default selector through an index of Services/controllers (same result as `common::default_selector`) | — |
//!
//! The cores are pure functions over [`kubesim_api`] objects and any node view implementing
//! [`NodePods`]; the framework plugin wraps them.

pub mod common;
pub mod filtering;
pub mod plugin;
pub mod scoring;
pub mod workload_index;

#[cfg(test)]
mod tests;

use kubesim_api::{Node, Pod};

use crate::framework::Snapshot;

pub use common::{
    default_selector, pod_constraints, system_default_constraints, ClusterObjects, ControllerKind,
    ControllerSelector, ServiceSelector, SpreadConstraint, WorkloadSelectors,
};
pub use filtering::{SpreadFilterState, SpreadVerdict};
pub use plugin::{factory, PodTopologySpread};
pub use scoring::SpreadScoreState;

/// Plugin name in profiles and outputs.
pub const NAME: &str = "PodTopologySpread";

/// A node together with the pods assigned to it (bound, assumed or nominated-and-added), as the
/// spreading and affinity cores need to see it.
pub trait NodePods {
    /// The node object.
    fn node(&self) -> &Node;
    /// The pods on the node.
    fn pods(&self) -> impl Iterator<Item = &Pod>;
}

/// A plain node-with-pods value, handy for tests and one-off callers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeWithPods {
    /// The node.
    pub node: Node,
    /// Its pods.
    pub pods: Vec<Pod>,
}

impl NodePods for NodeWithPods {
    fn node(&self) -> &Node {
        &self.node
    }
    fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.iter()
    }
}

/// The Namespaces, Services, controllers and PDBs of the cluster, as the snapshot carries them.
pub(crate) fn cluster_objects(snapshot: &Snapshot) -> &ClusterObjects {
    &snapshot.objects
}
