//! The framework plugin wrapping the PodTopologySpread cores.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use kubesim_api::{LabelSelector, Node, Pod, TopologySpreadConstraint, UnsatisfiableConstraintAction};

use kubesim_api::meta::well_known;

use super::common::{
    pod_constraints_with, system_default_constraints, ClusterObjects, SpreadConstraint, SpreadGates,
};
use super::filtering::{SpreadFilterState, SpreadVerdict};
use super::scoring::{score_for_count, topology_normalizing_weight, SpreadScoreState};
use super::workload_index::WorkloadIndex;
use super::{NodePods, NAME};
use crate::config::args::{DefaultingType, PluginArgs};
use crate::framework::node_labels::ABSENT;
use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, NodeId, NodeInfo, NodeScore, Plugin, PluginContext, PodInfo,
    PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, SelectorId, Snapshot, Status,
};

impl NodePods for NodeInfo {
    fn node(&self) -> &Node {
        &self.node
    }
    fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.iter().map(|p| &*p.pod)
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
    /// The [`WorkloadIndex`] of the cluster objects it was last built for (rebuilt when the
    /// snapshot carries other objects).
    workload_index: IndexCache,
}

/// The cluster objects a [`WorkloadIndex`] was built for, and the index (shared by clones).
type IndexCache = Arc<Mutex<Option<(Arc<ClusterObjects>, Arc<WorkloadIndex>)>>>;

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
        workload_index: Arc::default(),
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
            workload_index: Arc::default(),
        }
    }

    /// The pod's constraints of `action` (upstream `getConstraints`), the default selector looked
    /// up through the [`WorkloadIndex`] of the snapshot's objects.
    fn constraints(
        &self,
        pod: &Pod,
        action: UnsatisfiableConstraintAction,
        snapshot: &Snapshot,
    ) -> Vec<SpreadConstraint> {
        let objects = &snapshot.objects;
        pod_constraints_with(pod, action, &self.defaults, self.gates, || {
            self.index_of(objects).default_selector(pod, &objects.workloads)
        })
    }

    fn index_of(&self, objects: &Arc<ClusterObjects>) -> Arc<WorkloadIndex> {
        let mut cached = self.workload_index.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cached {
            // Holding the Arc keeps its address from being reused by other objects.
            Some((of, index)) if Arc::ptr_eq(of, objects) => index.clone(),
            _ => {
                let index = Arc::new(WorkloadIndex::new(&objects.workloads));
                *cached = Some((objects.clone(), index.clone()));
                index
            }
        }
    }
}

/// Score state plus the ids of ignored nodes (NormalizeScore sees ids, not names), and the raw
/// scores of the feasible nodes, computed at PreScore.
#[derive(Clone, Debug)]
struct ScoreState {
    core: SpreadScoreState,
    ignored: BTreeSet<NodeId>,
    /// Per node slot, the node's position in `raw` (`u32::MAX`: not feasible).
    position: Vec<u32>,
    /// Per feasible node, its `generation` at PreScore and its raw score. Score answers from here
    /// for a node with that same generation, else computes it from `core` and the node's pods.
    raw: Vec<(u64, i64)>,
}

/// In [`PreScoreCells`]: the node lacks the constraint's key (the constraint adds nothing).
const MISSING: u32 = u32::MAX;
/// In [`PreScoreCells`]: a hostname constraint on a node that has the key.
const HOST: u32 = u32::MAX - 1;
/// In [`PreScoreCells`]: the node is ignored (scores 0).
const IGNORED: u32 = u32::MAX - 2;

/// Per feasible node and constraint (row-major), the index of the node's domain among the
/// constraint's domains, or [`MISSING`] / [`HOST`] / [`IGNORED`].
type PreScoreCells = Vec<u32>;

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
        let constraints = self.constraints(&pod.pod, UnsatisfiableConstraintAction::DoNotSchedule, snapshot);
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
        let constraints = self.constraints(&pod.pod, UnsatisfiableConstraintAction::ScheduleAnyway, snapshot);
        if constraints.is_empty() || snapshot.is_empty() {
            // What `SpreadScoreState::compute` answers too, without touching the feasible nodes.
            return Status::skip();
        }
        let require_all =
            !pod.pod.spec.extras.topology_spread_constraints.is_empty() || !self.system_defaulted;
        state.write(self.score_state(&pod.pod, constraints, require_all, feasible, snapshot));
        Status::success()
    }
}

impl PodTopologySpread {
    /// [`SpreadScoreState::compute`] over the snapshot and every feasible node's raw Score, in
    /// one pass over the feasible nodes (each topology label read once), with matching-pod counts
    /// from the snapshot's incrementally kept [`crate::framework::SelectorCounts`] instead of
    /// matching every pod of every node: O(nodes with matching pods + feasible nodes).
    ///
    /// Same numbers as `with_domains` + `add_count` + `score_with`, in the same order: a node
    /// without a non-hostname key still opens the `""` domain (upstream's map lookup) but adds
    /// nothing to its own score.
    fn score_state(
        &self,
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        require_all: bool,
        feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> ScoreState {
        let nc = constraints.len();
        let is_host: Vec<bool> = constraints.iter().map(|c| c.topology_key == well_known::HOSTNAME).collect();
        // Topology values as interned ids per node slot (value id 0 is ""): no label map lookups.
        let mut labels = snapshot.node_labels();
        let key_of: Vec<usize> = constraints.iter().map(|c| labels.key_index(&c.topology_key)).collect();
        let mut row_of = |id: NodeId, out: &mut [u32]| {
            let row = labels.row(id, snapshot.stamp(id), || &snapshot.node(id).node);
            for (o, k) in out.iter_mut().zip(&key_of) {
                *o = row[*k];
            }
        };
        // Per constraint: the domains (value ids) in order of first appearance, and value id →
        // domain index (`u32::MAX`: none).
        let mut domains: Vec<Vec<u32>> = vec![Vec::new(); nc];
        let mut domain_index: Vec<Vec<u32>> = vec![Vec::new(); nc];
        let mut cells: PreScoreCells = vec![0; feasible.len() * nc];
        let mut ignored = BTreeSet::new();
        let mut ignored_names = BTreeSet::new();
        for (p, id) in feasible.iter().enumerate() {
            let row = &mut cells[p * nc..(p + 1) * nc];
            row_of(*id, row);
            // Upstream `nodeLabelsMatchSpreadConstraints`.
            if require_all && row.contains(&ABSENT) {
                ignored.insert(*id);
                ignored_names.insert(snapshot.node(*id).node.meta.name.clone());
                row.fill(IGNORED);
                continue;
            }
            for i in 0..nc {
                let value = row[i];
                if is_host[i] {
                    row[i] = if value == ABSENT { MISSING } else { HOST };
                    continue;
                }
                // A node without the key lands in the "" domain, as upstream's map lookup does.
                let v = if value == ABSENT { 0 } else { value } as usize;
                if domain_index[i].len() <= v {
                    domain_index[i].resize(v + 1, u32::MAX);
                }
                if domain_index[i][v] == u32::MAX {
                    domain_index[i][v] = domains[i].len() as u32;
                    domains[i].push(v as u32);
                }
                row[i] = if value == ABSENT { MISSING } else { domain_index[i][v] };
            }
        }
        let weights: Vec<f64> = (0..nc)
            .map(|i| {
                let size = if is_host[i] { feasible.len() - ignored.len() } else { domains[i].len() };
                topology_normalizing_weight(size)
            })
            .collect();

        let mut position = vec![u32::MAX; snapshot.slot_count()];
        for (p, id) in feasible.iter().enumerate() {
            position[id.index()] = p as u32;
        }

        // Matching pods per domain, and per feasible node for hostname constraints.
        let mut domain_counts: Vec<Vec<i64>> = domains.iter().map(|d| vec![0; d.len()]).collect();
        let mut host_counts: Vec<Vec<i64>> = vec![Vec::new(); nc];
        let namespace = &pod.meta.namespace;
        let mut registered: Option<(&LabelSelector, SelectorId)> = None;
        let mut node_row = vec![0u32; nc];
        for (i, c) in constraints.iter().enumerate() {
            // A nil selector selects nothing: every count is 0.
            let Some(selector) = c.selector.as_ref() else {
                if is_host[i] {
                    host_counts[i] = vec![0; feasible.len()];
                }
                continue;
            };
            if !is_host[i] && domains[i].is_empty() {
                continue;
            }
            // The default constraints share one selector: register it once.
            let (counts, id) = match registered {
                Some((sel, id)) if sel == selector => (snapshot.selector_counts(), id),
                _ => snapshot.register_selector(namespace, selector),
            };
            registered = Some((selector, id));
            if is_host[i] {
                let mut on_node = vec![0; feasible.len()];
                for (node_id, n) in counts.per_node(id) {
                    if let Some(&p) = position.get(node_id.index()).filter(|p| **p != u32::MAX) {
                        on_node[p as usize] = i64::from(*n);
                    }
                }
                host_counts[i] = on_node;
                continue;
            }
            for (node_id, n) in counts.per_node(id) {
                let Some(info) = snapshot.get(*node_id) else { continue };
                row_of(*node_id, &mut node_row);
                if require_all && node_row.contains(&ABSENT) {
                    continue;
                }
                if !c.includes_node(pod, &info.node, self.taint_comparison_operators) {
                    continue;
                }
                let value = node_row[i];
                let v = if value == ABSENT { 0 } else { value } as usize;
                if let Some(&d) = domain_index[i].get(v).filter(|d| **d != u32::MAX) {
                    domain_counts[i][d as usize] += i64::from(*n);
                }
            }
        }

        // Raw scores: upstream `Score`, Σ over the constraints whose key the node has.
        let mut raw = Vec::with_capacity(feasible.len());
        for (p, id) in feasible.iter().enumerate() {
            let row = &cells[p * nc..(p + 1) * nc];
            let mut score = 0.0f64;
            let mut is_ignored = false;
            for (i, c) in constraints.iter().enumerate() {
                let cnt = match row[i] {
                    IGNORED => {
                        is_ignored = true;
                        break;
                    }
                    MISSING => continue,
                    HOST => host_counts[i][p],
                    d => domain_counts[i][d as usize],
                };
                score += score_for_count(cnt, c.max_skew, weights[i]);
            }
            // Go's math.Round rounds half away from zero, as f64::round does.
            raw.push((snapshot.node(*id).generation, if is_ignored { 0 } else { score.round() as i64 }));
        }

        let topology_value_to_pod_counts = (0..nc)
            .map(|i| {
                domains[i]
                    .iter()
                    .zip(&domain_counts[i])
                    .map(|(v, n)| (labels.value(key_of[i], *v).to_string(), *n))
                    .collect()
            })
            .collect();
        let core = SpreadScoreState {
            constraints,
            ignored_nodes: ignored_names,
            topology_value_to_pod_counts,
            topology_normalizing_weight: weights,
        };
        ScoreState { core, ignored, position, raw }
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<ScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        let at = s.position.get(node.id.index()).map_or(u32::MAX, |p| *p);
        match s.raw.get(at as usize) {
            Some((generation, raw)) if *generation == node.generation => Ok(*raw),
            // A node changed since PreScore: count its pods now.
            _ => Ok(s.core.score(&pod.pod, node)),
        }
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
