//! NodeName: a pod with `spec.nodeName` fits only that node (upstream `nodename/node_name.go`).

use std::sync::Arc;

use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, Locality, NodeInfo, Plugin, PluginContext, PodInfo, Status,
};

/// Upstream name.
pub const NAME: &str = "NodeName";
/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodeName;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodeName))
}

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.pod.spec.node_name == b.pod.spec.node_name
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[ClusterEvent::NodeAdded, ClusterEvent::NodeUpdated]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match &pod.pod.spec.node_name {
            Some(n) if !n.is_empty() && n != node.name() => Status::unresolvable(ERR_REASON),
            _ => Status::success(),
        }
    }
}
