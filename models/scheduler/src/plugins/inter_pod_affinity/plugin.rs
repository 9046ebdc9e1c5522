//! The framework plugin wrapping the InterPodAffinity cores.

use std::sync::Arc;

use super::filtering::{AffinityFilterState, AffinityVerdict};
use super::scoring::{AffinityScoreArgs, AffinityScoreState};
use super::NAME;
use crate::config::args::PluginArgs;
use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, NodeId, NodeInfo, NodeScore, Plugin, PluginContext, PodInfo,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
};
use crate::plugins::pod_topology_spread::cluster_objects;

/// The InterPodAffinity plugin.
#[derive(Debug, Clone, Default)]
pub struct InterPodAffinity {
    args: AffinityScoreArgs,
}

/// Factory for the registry.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let args = match ctx.args {
        PluginArgs::InterPodAffinity(a) => {
            if !(0..=100).contains(&a.hard_pod_affinity_weight) {
                return Err(format!(
                    "hardPodAffinityWeight: Invalid value: {}: not in valid range [0, 100]",
                    a.hard_pod_affinity_weight
                ));
            }
            AffinityScoreArgs {
                hard_pod_affinity_weight: a.hard_pod_affinity_weight,
                ignore_preferred_terms_of_existing_pods: a.ignore_preferred_terms_of_existing_pods,
            }
        }
        PluginArgs::None => AffinityScoreArgs::default(),
        other => return Err(format!("want args to be of type InterPodAffinityArgs, got {other:?}")),
    };
    Ok(Arc::new(InterPodAffinity { args }))
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::AssignedPodAdded,
            ClusterEvent::AssignedPodUpdated,
            ClusterEvent::AssignedPodDeleted,
            ClusterEvent::NodeAdded,
            ClusterEvent::NodeUpdated,
        ]
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
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

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        // Fast path: nothing can match when the pod has no required terms and no pod anywhere
        // carries required anti-affinity (the state would be empty ⇒ Skip).
        let a = &pod.pod.spec.extras.affinity;
        if a.pod_affinity.required.is_empty()
            && a.pod_anti_affinity.required.is_empty()
            && snapshot.num_pods_with_required_anti_affinity() == 0
        {
            return (None, Status::skip());
        }
        let objects = cluster_objects(snapshot);
        let nodes: Vec<&NodeInfo> = snapshot.iter().collect();
        match AffinityFilterState::compute(&pod.pod, nodes.iter().copied(), &objects.namespace_labels) {
            Some(s) => {
                state.write(s);
                (None, Status::success())
            }
            None => (None, Status::skip()),
        }
    }

    fn has_extensions(&self) -> bool {
        true
    }

    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_add: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        update(state, pod, to_add, node, 1)
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        update(state, pod, to_remove, node, -1)
    }
}

fn update(state: &mut CycleState, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) -> Status {
    match state.read_mut::<AffinityFilterState>() {
        Some(s) => {
            s.update_with_pod(&pod.pod, &other.pod, &node.node, delta);
            Status::success()
        }
        None => Status::error(format!("reading {NAME} PreFilter state: not found")),
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<AffinityFilterState>() else {
            return Status::error(format!("reading {NAME} PreFilter state: not found"));
        };
        match s.filter(&pod.pod, &node.node) {
            AffinityVerdict::Fits => Status::success(),
            AffinityVerdict::Unschedulable(r) => Status::unschedulable(r),
            AffinityVerdict::UnschedulableAndUnresolvable(r) => Status::unresolvable(r),
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> Status {
        let a = &pod.pod.spec.extras.affinity;
        // Fast path: with no preferred terms of its own, only pods with affinity contribute.
        if a.pod_affinity.preferred.is_empty()
            && a.pod_anti_affinity.preferred.is_empty()
            && snapshot.num_pods_with_affinity() == 0
        {
            return Status::skip();
        }
        let objects = cluster_objects(snapshot);
        match AffinityScoreState::compute(&pod.pod, snapshot.iter(), self.args, &objects.namespace_labels) {
            Some(s) => {
                state.write(s);
                Status::success()
            }
            None => Status::skip(),
        }
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<AffinityScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        Ok(s.score(&node.node))
    }

    fn has_normalize(&self) -> bool {
        true
    }

    fn normalize_score(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<AffinityScoreState>() else {
            return Status::error(format!("reading {NAME} PreScore state"));
        };
        let mut raw: Vec<i64> = scores.iter().map(|n| n.score).collect();
        s.normalize(&mut raw);
        for (n, v) in scores.iter_mut().zip(raw) {
            n.score = v;
        }
        Status::success()
    }
}
