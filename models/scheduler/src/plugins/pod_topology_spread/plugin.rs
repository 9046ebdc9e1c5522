//! The framework plugin wrapping the PodTopologySpread cores.

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesim_api::{Node, Pod, TopologySpreadConstraint, UnsatisfiableConstraintAction};

use kubesim_api::meta::well_known;

use super::common::{
    count_matching, pod_constraints_gated, system_default_constraints, SpreadConstraint, SpreadGates,
};
use super::filtering::{SpreadFilterState, SpreadVerdict};
use super::scoring::SpreadScoreState;
use super::{NodePods, NAME};
use crate::config::args::{DefaultingType, PluginArgs};
use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, NodeId, NodeInfo, NodeScore, Plugin, PluginContext, PodInfo,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, SelectorId, Snapshot, Status,
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
    /// Hostname-constraint counts read at PreScore from the snapshot's selector counts.
    host: HostCounts,
}

/// Per node slot, the node's `generation` when PreScore read its counts (`u64::MAX`: not read),
/// and per constraint the matching pods on it (empty for non-hostname constraints). Score uses
/// them only for a node with that same generation, else counts the node's pods itself.
#[derive(Clone, Debug, Default)]
struct HostCounts {
    generation: Vec<u64>,
    counts: Vec<Vec<u32>>,
}

impl HostCounts {
    fn get(&self, node: &NodeInfo, i: usize) -> Option<i64> {
        let at = node.id.index();
        if self.generation.get(at) != Some(&node.generation) {
            return None;
        }
        self.counts.get(i).and_then(|c| c.get(at)).map(|n| i64::from(*n))
    }
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
        // Matching-pod counts per node from the snapshot's incremental counts (identical to
        // counting each node's pods, without touching them).
        let namespace = &pod.pod.meta.namespace;
        let ids: Vec<Option<SelectorId>> = constraints
            .iter()
            .map(|c| c.selector.as_ref().map(|sel| snapshot.register_selector(namespace, sel).1))
            .collect();
        let counts = snapshot.selector_counts();
        let s = SpreadFilterState::compute_counted(
            &pod.pod,
            constraints,
            snapshot.iter(),
            self.taint_comparison_operators,
            |info, i, _| ids[i].map_or(0, |id| i64::from(counts.count(id, info.id))),
        );
        drop(counts);
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
        let (core, host) = self.score_state(&pod.pod, constraints, require_all, &feasible_infos, snapshot);
        let ignored =
            feasible_infos.iter().filter(|n| core.ignored_nodes.contains(n.name())).map(|n| n.id).collect();
        state.write(ScoreState { core, ignored, host });
        Status::success()
    }
}

impl PodTopologySpread {
    /// [`SpreadScoreState::compute`] over the snapshot, reading matching-pod counts from the
    /// snapshot's incrementally kept [`crate::framework::SelectorCounts`] instead of matching
    /// every pod of every node: O(nodes with matching pods + feasible nodes) instead of O(pods).
    fn score_state(
        &self,
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        require_all: bool,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> (SpreadScoreState, HostCounts) {
        let mut core = SpreadScoreState::with_domains(constraints, require_all, feasible);
        let mut host = HostCounts::default();
        let namespace = &pod.meta.namespace;
        for i in 0..core.constraints.len() {
            // A nil selector selects nothing: every count is 0.
            let Some(selector) = core.constraints[i].selector.clone() else { continue };
            let is_host = core.constraints[i].topology_key == well_known::HOSTNAME;
            if !is_host && core.topology_value_to_pod_counts[i].is_empty() {
                continue;
            }
            let (counts, id) = snapshot.register_selector(namespace, &selector);
            if is_host {
                if host.generation.is_empty() {
                    host.generation = vec![u64::MAX; snapshot.slot_count()];
                    for n in feasible {
                        host.generation[n.id.index()] = n.generation;
                    }
                }
                if host.counts.len() <= i {
                    host.counts.resize(i + 1, Vec::new());
                }
                let mut per_slot = vec![0u32; snapshot.slot_count()];
                for n in feasible {
                    per_slot[n.id.index()] = counts.count(id, n.id);
                }
                host.counts[i] = per_slot;
            } else {
                for (node_id, n) in counts.per_node(id) {
                    let Some(info) = snapshot.get(*node_id) else { continue };
                    core.add_count(
                        i,
                        pod,
                        &info.node,
                        i64::from(*n),
                        require_all,
                        self.taint_comparison_operators,
                    );
                }
            }
        }
        (core, host)
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<ScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        let namespace = &pod.pod.meta.namespace;
        Ok(s.core.score_with(&node.node, |i, c| {
            s.host
                .get(node, i)
                .unwrap_or_else(|| count_matching(node.pods.iter().map(|p| &p.pod), c, namespace))
        }))
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
