//! NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint
//! (upstream `nodeunschedulable/node_unschedulable.go`).

use std::sync::Arc;

use kubesim_api::meta::well_known;
use kubesim_api::{Taint, TaintEffect};

use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, Locality, NodeInfo, Plugin, PluginContext, PodInfo, Status,
};

/// Upstream name.
pub const NAME: &str = "NodeUnschedulable";
/// Upstream `ErrReasonUnschedulable`.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

/// The plugin.
#[derive(Debug)]
pub struct NodeUnschedulable {
    comparison_operators: bool,
}

/// Factory.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodeUnschedulable {
        comparison_operators: ctx.options.feature_enabled("TaintTolerationComparisonOperators"),
    }))
}

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.pod.spec.tolerations == b.pod.spec.tolerations
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[ClusterEvent::NodeAdded, ClusterEvent::NodeUpdated]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: well_known::TAINT_UNSCHEDULABLE.to_string(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
            time_added: None,
        };
        if kubesim_api::scheduling::tolerated_by(&taint, &pod.pod.spec.tolerations, self.comparison_operators)
        {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
        }
    }
}
