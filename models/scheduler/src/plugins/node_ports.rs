//! NodePorts: host ports must be free on the node (upstream `nodeports/node_ports.go`).

use std::sync::Arc;

use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, Locality, NodeInfo, Plugin, PluginContext, PodInfo,
    PreFilterPlugin, PreFilterResult, Snapshot, Status,
};

/// Upstream name.
pub const NAME: &str = "NodePorts";
/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodePorts;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodePorts))
}

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.host_ports == b.host_ports
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[ClusterEvent::AssignedPodDeleted, ClusterEvent::NodeAdded]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        // The pod's ports are precomputed in PodInfo; nothing wanted ⇒ Skip, as upstream.
        if pod.host_ports.is_empty() {
            (None, Status::skip())
        } else {
            (None, Status::success())
        }
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let conflict =
            pod.host_ports.iter().any(|want| node.used_ports.iter().any(|used| want.conflicts_with(used)));
        if conflict {
            Status::unschedulable(ERR_REASON)
        } else {
            Status::success()
        }
    }
}
