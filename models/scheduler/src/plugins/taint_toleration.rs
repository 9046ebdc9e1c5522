//! TaintToleration: NoSchedule/NoExecute taints filter; PreferNoSchedule taints lower the score
//! (upstream `tainttoleration/taint_toleration.go`).

use std::sync::Arc;

use kubesim_api::{TaintEffect, Toleration};

use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, Locality, NodeId, NodeInfo, NodeScore, Plugin, PluginContext,
    PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

use super::helper::normalize;

/// Upstream name.
pub const NAME: &str = "TaintToleration";
/// Filter failure reason.
pub const ERR_REASON_UNTOLERATED: &str = "node(s) had untolerated taint(s)";

/// The plugin.
#[derive(Debug)]
pub struct TaintToleration {
    comparison_operators: bool,
}

/// Factory.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(TaintToleration {
        comparison_operators: ctx.options.feature_enabled("TaintTolerationComparisonOperators"),
    }))
}

impl TaintToleration {
    /// With or without the Gt/Lt operators.
    pub fn new(comparison_operators: bool) -> Self {
        TaintToleration { comparison_operators }
    }

    fn count_intolerable_prefer_no_schedule(&self, node: &NodeInfo, tolerations: &[&Toleration]) -> i64 {
        node.node
            .spec
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::PreferNoSchedule)
            .filter(|t| !tolerations.iter().any(|tol| tol.tolerates(t, self.comparison_operators)))
            .count() as i64
    }
}

impl Plugin for TaintToleration {
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
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for TaintToleration {
    #[inline]
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.has_taints {
            return Status::success();
        }
        let tolerations = &pod.pod.spec.tolerations;
        let untolerated = node.node.spec.taints.iter().any(|t| {
            matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
                && !tolerations.iter().any(|tol| tol.tolerates(t, self.comparison_operators))
        });
        if untolerated {
            Status::unresolvable(ERR_REASON_UNTOLERATED)
        } else {
            Status::success()
        }
    }
}

/// Indices of the pod's tolerations with effect empty or PreferNoSchedule.
#[derive(Clone, Debug)]
struct PreScoreState {
    prefer_no_schedule: Vec<usize>,
}

impl PreScorePlugin for TaintToleration {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[NodeId], _: &Snapshot) -> Status {
        let prefer_no_schedule = pod
            .pod
            .spec
            .tolerations
            .iter()
            .enumerate()
            .filter(|(_, t)| t.effect.is_none_or(|e| e == TaintEffect::PreferNoSchedule))
            .map(|(i, _)| i)
            .collect();
        state.write(PreScoreState { prefer_no_schedule });
        Status::success()
    }
}

impl ScorePlugin for TaintToleration {
    #[inline]
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        if !node.has_taints {
            return Ok(0);
        }
        let s = state
            .read::<PreScoreState>()
            .ok_or_else(|| Status::error("TaintToleration: no PreScore state"))?;
        let tols: Vec<&Toleration> =
            s.prefer_no_schedule.iter().map(|&i| &pod.pod.spec.tolerations[i]).collect();
        Ok(self.count_intolerable_prefer_no_schedule(node, &tols))
    }

    fn has_normalize(&self) -> bool {
        true
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        normalize(true, scores);
        Status::success()
    }
}
