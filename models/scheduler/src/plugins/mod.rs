//! In-tree plugins, one module each, named as upstream.
//!
//! | plugin | module | extension points |
//! |---|---|---|
//! | SchedulingGates | [`scheduling_gates`] | PreEnqueue |
//! | PrioritySort | [`priority_sort`] | QueueSort |
//! | NodeUnschedulable | [`node_unschedulable`] | Filter |
//! | NodeName | [`node_name`] | Filter |
//! | TaintToleration | [`taint_toleration`] | Filter, PreScore, Score |
//! | NodeAffinity | [`node_affinity`] | PreFilter, Filter, PreScore, Score |
//! | NodePorts | [`node_ports`] | PreFilter, Filter |
//! | NodeResourcesFit | [`node_resources_fit`] | PreFilter, Filter, PreScore, Score |
//! | PodTopologySpread | [`pod_topology_spread`] | PreFilter, Filter, PreScore, Score |
//! | InterPodAffinity | [`inter_pod_affinity`] | PreFilter, Filter, PreScore, Score |
//! | DefaultPreemption | [`crate::preemption`] | PostFilter |
//! | NodeResourcesBalancedAllocation | [`balanced_allocation`] | PreScore, Score |
//! | ImageLocality | [`image_locality`] | Score |
//! | DefaultBinder | [`default_binder`] | Bind |

pub mod balanced_allocation;
pub mod default_binder;
pub mod helper;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod placeholders;
pub mod pod_topology_spread;
pub mod priority_sort;
pub mod resource_allocation;
pub mod scheduling_gates;
pub mod taint_toleration;
#[cfg(test)]
pub(crate) mod tests;

use crate::framework::Registry;

/// Registers every in-tree plugin under its upstream name.
pub fn register_in_tree(r: &mut Registry) {
    r.register("SchedulingGates", scheduling_gates::factory);
    r.register("PrioritySort", priority_sort::factory);
    r.register("NodeUnschedulable", node_unschedulable::factory);
    r.register("NodeName", node_name::factory);
    r.register("TaintToleration", taint_toleration::factory);
    r.register("NodeAffinity", node_affinity::factory);
    r.register("NodePorts", node_ports::factory);
    r.register("NodeResourcesFit", node_resources_fit::factory);
    r.register("NodeResourcesBalancedAllocation", balanced_allocation::factory);
    r.register("ImageLocality", image_locality::factory);
    // Owned by the scheduler-adv helper: switch these three to their modules' `factory` when ready.
    r.register("PodTopologySpread", pod_topology_spread::factory);
    r.register("InterPodAffinity", inter_pod_affinity::factory);
    r.register("DefaultPreemption", crate::preemption::factory);
    r.register("DefaultBinder", default_binder::factory);
}
