//! The framework plugin wrapping the PodTopologySpread cores.

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesim_api::{Node, Pod, TopologySpreadConstraint, UnsatisfiableConstraintAction};

use super::common::{pod_constraints_gated, system_default_constraints, SpreadGates};
use super::filtering::{SpreadFilterState, SpreadVerdict};
use super::scoring::SpreadScoreState;
use super::{NodePods, NAME};
use crate::config::args::{DefaultingType, PluginArgs};
use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, NodeId, NodeInfo, NodeScore, Plugin, PluginContext, PodInfo,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

impl NodePods for NodeInfo {
    fn node(&self) -> &Node {
        &self.node
    }
    fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.iter().map(|p| &p.pod)
    }
}

/// The PodTopologySpread plugin.
#[derive(Debug, Clone)]
pub struct PodTopologySpread {
    /// Default constraints in force (system defaults or the configured list).
    defaults: Vec<TopologySpreadConstraint>,
    /// `defaultingType: System`.
    system_defaulted: bool,
    /// Feature gate TaintTolerationComparisonOperators (Gt/Lt tolerations).
    taint_comparison_operators: bool,
    /// MatchLabelKeys / NodeInclusionPolicy gates.
    gates: SpreadGates,
}

/// Factory for the registry.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let (defaults, system_defaulted) = match ctx.args {
        PluginArgs::PodTopologySpread(a) => match a.defaulting_type {
            DefaultingType::System => (system_default_constraints(), true),
            DefaultingType::List => (a.default_constraints.clone(), false),
        },
        PluginArgs::None => (system_default_constraints(), true),
        other => return Err(format!("want args to be of type PodTopologySpreadArgs, got {other:?}")),
    };
    Ok(Arc::new(PodTopologySpread {
        defaults,
        system_defaulted,
        taint_comparison_operators: ctx.options.feature_enabled("TaintTolerationComparisonOperators"),
        gates: SpreadGates {
            match_label_keys: ctx.options.feature_enabled("MatchLabelKeysInPodTopologySpread"),
            node_inclusion_policy: ctx.options.feature_enabled("NodeInclusionPolicyInPodTopologySpread"),
        },
    }))
}

impl PodTopologySpread {
    /// A plugin with the system defaults (as the default profile builds it).
    pub fn with_system_defaults() -> Self {
        PodTopologySpread {
            defaults: system_default_constraints(),
            system_defaulted: true,
            taint_comparison_operators: false,
            gates: SpreadGates::default(),
        }
    }
}

/// Score state plus the ids of ignored nodes (NormalizeScore sees ids, not names).
#[derive(Clone, Debug)]
struct ScoreState {
    core: SpreadScoreState,
    ignored: BTreeSet<NodeId>,
}

impl Plugin for PodTopologySpread {
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
            ClusterEvent::NodeDeleted,
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

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let objects = super::cluster_objects(snapshot);
        let constraints = pod_constraints_gated(
            &pod.pod,
            UnsatisfiableConstraintAction::DoNotSchedule,
            &self.defaults,
            &objects.workloads,
            self.gates,
        );
        if constraints.is_empty() {
            return (None, Status::skip());
        }
        let s = SpreadFilterState::compute(
            &pod.pod,
            constraints,
            snapshot.iter(),
            self.taint_comparison_operators,
        );
        state.write(s);
        (None, Status::success())
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
        self.update(state, pod, to_add, node, 1)
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        self.update(state, pod, to_remove, node, -1)
    }
}

impl PodTopologySpread {
    fn update(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) -> Status {
        match state.read_mut::<SpreadFilterState>() {
            Some(s) => {
                s.update_with_pod(&other.pod, &pod.pod, &node.node, delta, self.taint_comparison_operators);
                Status::success()
            }
            None => Status::error(format!("reading {NAME} PreFilter state: not found")),
        }
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<SpreadFilterState>() else {
            return Status::error(format!("reading {NAME} PreFilter state: not found"));
        };
        match s.filter(&pod.pod, &node.node) {
            SpreadVerdict::Fits => Status::success(),
            SpreadVerdict::Unschedulable(r) => Status::unschedulable(r),
            SpreadVerdict::UnschedulableAndUnresolvable(r) => Status::unresolvable(r),
        }
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> Status {
        let objects = super::cluster_objects(snapshot);
        let constraints = pod_constraints_gated(
            &pod.pod,
            UnsatisfiableConstraintAction::ScheduleAnyway,
            &self.defaults,
            &objects.workloads,
            self.gates,
        );
        if constraints.is_empty() || snapshot.is_empty() {
            // What `SpreadScoreState::compute` answers too, without touching the feasible nodes.
            return Status::skip();
        }
        let require_all = !pod.pod.spec.topology_spread_constraints.is_empty() || !self.system_defaulted;
        let feasible_infos: Vec<&NodeInfo> = feasible.iter().map(|id| snapshot.node(*id)).collect();
        let Some(core) = SpreadScoreState::compute(
            &pod.pod,
            constraints,
            require_all,
            &feasible_infos,
            snapshot.iter(),
            self.taint_comparison_operators,
        ) else {
            return Status::skip();
        };
        let ignored =
            feasible_infos.iter().filter(|n| core.ignored_nodes.contains(n.name())).map(|n| n.id).collect();
        state.write(ScoreState { core, ignored });
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<ScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        Ok(s.core.score(&pod.pod, node))
    }

    fn has_normalize(&self) -> bool {
        true
    }

    fn normalize_score(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<ScoreState>() else {
            return Status::error(format!("reading {NAME} PreScore state"));
        };
        s.core.normalize_flags(scores.iter_mut().map(|ns| (s.ignored.contains(&ns.node), &mut ns.score)));
        Status::success()
    }
}
