//! The framework plugin wrapping the PodTopologySpread cores.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use kubesim_api::{
    LabelSelector, Labels, Node, NodeInclusionPolicy, OwnerReference, Pod, Shared, TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
};

use kubesim_api::meta::well_known;

use super::common::{
    pod_constraints_with, system_default_constraints, ClusterObjects, SpreadConstraint, SpreadGates,
};
use super::filtering::{SpreadFilterState, SpreadVerdict};
use super::scoring::{
    normalized_score, round_half_away_from_zero, score_for_count, topology_normalizing_weight, Normalizer,
    SpreadScoreState,
};
use super::workload_index::WorkloadIndex;
use super::{NodePods, NAME};
use crate::config::args::{DefaultingType, PluginArgs};
use crate::framework::node_labels::{NodeLabelCache, ABSENT};
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
    /// PreScore's buffers, reused from cycle to cycle (shared by clones; cycles run one at a time).
    pre_score_buffers: Arc<Mutex<PreScoreBuffers>>,
    /// The last default selector (see [`PodTopologySpread::default_selector`]).
    selector_memo: Arc<Mutex<Option<SelectorMemo>>>,
}

/// The last default selector computed and what it was computed from (the objects held, so
/// that their address is not reused by others).
#[derive(Debug)]
struct SelectorMemo {
    objects: Arc<ClusterObjects>,
    namespace: String,
    labels: Shared<Labels>,
    owner_references: Shared<Vec<OwnerReference>>,
    selector: LabelSelector,
    /// The `ScheduleAnyway` default constraints with `selector` (built on first use; they
    /// depend on nothing else than the memo's key and the plugin's settings).
    soft: Option<Arc<Vec<SpreadConstraint>>>,
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
        pre_score_buffers: Arc::default(),
        selector_memo: Arc::default(),
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
            pre_score_buffers: Arc::default(),
            selector_memo: Arc::default(),
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
        pod_constraints_with(pod, action, &self.defaults, self.gates, || self.default_selector(pod, objects))
    }

    /// The [`WorkloadIndex`]'s default selector of `pod`, or the last one computed when `pod`
    /// has the same namespace, labels and owner references and the objects are the same: what
    /// it depends on (pods of one ReplicaSet come to the scheduler one after another).
    fn default_selector(&self, pod: &Pod, objects: &Arc<ClusterObjects>) -> LabelSelector {
        let mut memo = self.selector_memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.memo_for(&mut memo, pod, objects).selector.clone()
    }

    /// The [`SelectorMemo`] of `pod`: the one held when it was computed from the same
    /// namespace, labels, owner references and objects, else a new one.
    fn memo_for<'m>(
        &self,
        memo: &'m mut Option<SelectorMemo>,
        pod: &Pod,
        objects: &Arc<ClusterObjects>,
    ) -> &'m mut SelectorMemo {
        let meta = &pod.meta;
        let hit = memo.as_ref().is_some_and(|m| {
            Arc::ptr_eq(&m.objects, objects)
                && m.namespace == meta.namespace
                && m.labels == meta.labels
                && m.owner_references == meta.owner_references
        });
        if hit {
            return memo.as_mut().expect("checked above");
        }
        let selector = self.index_of(objects).default_selector(pod, &objects.workloads);
        *memo = Some(SelectorMemo {
            objects: objects.clone(),
            namespace: pod.meta.namespace.to_string(),
            labels: pod.meta.labels.clone(),
            owner_references: pod.meta.owner_references.clone(),
            selector,
            soft: None,
        });
        memo.as_mut().expect("just set")
    }

    /// The pod's `ScheduleAnyway` constraints, shared with the cycles of the pods before it
    /// when they are the default constraints with the same default selector (the pods of one
    /// ReplicaSet, one after another), instead of built (selectors cloned) per pod. The flag
    /// tells that every constraint has the same selector (the defaults share the default one).
    fn soft_constraints(&self, pod: &Pod, snapshot: &Snapshot) -> (Arc<Vec<SpreadConstraint>>, bool) {
        let action = UnsatisfiableConstraintAction::ScheduleAnyway;
        if !pod.spec.extras.topology_spread_constraints.is_empty()
            || !self.defaults.iter().any(|c| c.when_unsatisfiable == action)
        {
            return (Arc::new(self.constraints(pod, action, snapshot)), false);
        }
        let mut memo = self.selector_memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let m = self.memo_for(&mut memo, pod, &snapshot.objects);
        let (defaults, gates) = (&self.defaults, self.gates);
        let soft = m.soft.get_or_insert_with(|| {
            let selector = m.selector.clone();
            Arc::new(pod_constraints_with(pod, action, defaults, gates, || selector))
        });
        (soft.clone(), true)
    }

    fn index_of(&self, objects: &Arc<ClusterObjects>) -> Arc<WorkloadIndex> {
        let mut cached = self.workload_index.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cached {
            // Holding the Arc keeps its address from being reused by other objects.
            Some((of, index)) if Arc::ptr_eq(of, objects) => index.clone(),
            Some((of, index)) => {
                let index = Arc::new(index.rebuilt(&of.workloads, &objects.workloads));
                *cached = Some((objects.clone(), index.clone()));
                index
            }
            None => {
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
    /// The raw scores of the feasible nodes (shared with the plugin, which reuses the buffers
    /// once the cycle's state is gone).
    raw: Arc<RawScores>,
}

/// The feasible nodes PreScore saw, each with its snapshot stamp at PreScore and its raw score.
/// Score answers from here for the same feasible list and a node with that same stamp, else
/// computes the node's score from [`SpreadScoreState`] and its pods.
#[derive(Debug, Default)]
struct RawScores {
    feasible: Vec<NodeId>,
    stamps: Vec<u64>,
    raw: Vec<i64>,
}

/// PreScore's working buffers, kept by the plugin so a cycle allocates none of them.
#[derive(Debug, Default)]
struct PreScoreBuffers {
    /// The last cycle's raw scores, reused when no cycle state holds them any more.
    raw: Option<Arc<RawScores>>,
    /// Per constraint: a hostname constraint.
    is_host: Vec<bool>,
    /// Per constraint: its key's index in the snapshot's `NodeLabelCache`.
    key_of: Vec<usize>,
    /// Per constraint: the domains (value ids) in order of first appearance.
    domains: Vec<Vec<u32>>,
    /// Per constraint: value id → domain index (`u32::MAX`: none). All `u32::MAX` between cycles.
    domain_index: Vec<Vec<u32>>,
    /// Per feasible node: ignored (lacks a key while every key is required; empty otherwise).
    is_ignored: Vec<bool>,
    /// See [`PreScoreCells`].
    cells: PreScoreCells,
    /// Per feasible node: the raw score before rounding.
    sums: Vec<f64>,
    /// One non-hostname constraint's score term per domain.
    domain_terms: Vec<f64>,
    /// Per constraint: matching pods per domain.
    domain_counts: Vec<Vec<i64>>,
    /// Per hostname constraint: matching pods per node slot. All 0 between cycles.
    host_counts: Vec<Vec<i64>>,
    /// Per hostname constraint: the slots set in `host_counts` this cycle.
    host_touched: Vec<Vec<usize>>,
    /// One node's value ids (by constraint).
    node_row: Vec<u32>,
}

/// Clears each of the first `n` vectors, keeping exactly `n`.
fn reset_nested<T>(v: &mut Vec<Vec<T>>, n: usize) {
    v.resize_with(n, Vec::new);
    v.iter_mut().for_each(Vec::clear);
}

/// Copies the value ids of the node in slot `id` for the keys `key_of` into `out`.
#[inline]
fn read_row(labels: &mut NodeLabelCache, snapshot: &Snapshot, key_of: &[usize], id: NodeId, out: &mut [u32]) {
    let row = labels.row(id, snapshot.node_stamp(id), || &snapshot.node(id).node);
    for (o, k) in out.iter_mut().zip(key_of) {
        *o = row[*k];
    }
}

/// In [`PreScoreCells`]: the node lacks the constraint's key (the constraint adds nothing), or
/// is ignored.
const MISSING: u32 = u32::MAX;

/// Column-major, one column of `nf` cells per constraint (`[i * nf + p]`): for a hostname
/// constraint 0 when the node has the key, for another constraint the index of the node's
/// domain among the constraint's domains; [`MISSING`] without the key or when the node is
/// ignored.
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
        let (constraints, one_selector) = self.soft_constraints(&pod.pod, snapshot);
        if constraints.is_empty() || snapshot.is_empty() {
            // What `SpreadScoreState::compute` answers too, without touching the feasible nodes.
            return Status::skip();
        }
        let require_all =
            !pod.pod.spec.extras.topology_spread_constraints.is_empty() || !self.system_defaulted;
        state.write(self.score_state(&pod.pod, constraints, one_selector, require_all, feasible, snapshot));
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
        constraints: Arc<Vec<SpreadConstraint>>,
        one_selector: bool,
        require_all: bool,
        feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> ScoreState {
        let mut guard = self.pre_score_buffers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bufs = &mut *guard;
        // The last cycle's raw scores, unless a cycle state (or a clone of it) still holds them.
        let mut raw_scores = bufs.raw.take().unwrap_or_default();
        if Arc::get_mut(&mut raw_scores).is_none() {
            raw_scores = Arc::default();
        }
        let out = Arc::get_mut(&mut raw_scores).expect("a new Arc is not shared");
        let nc = constraints.len();
        bufs.is_host.clear();
        bufs.is_host.extend(constraints.iter().map(|c| c.topology_key == well_known::HOSTNAME));
        let is_host = &bufs.is_host;
        // Topology values as interned ids per node slot (value id 0 is ""): no label map lookups.
        let mut labels = snapshot.node_labels();
        bufs.key_of.clear();
        bufs.key_of.extend(constraints.iter().map(|c| labels.key_index(&c.topology_key)));
        let key_of = &bufs.key_of;
        // Per constraint: the domains (value ids) in order of first appearance, and value id →
        // domain index (`u32::MAX`: none).
        reset_nested(&mut bufs.domains, nc);
        bufs.domain_index.resize_with(nc, Vec::new);
        let (domains, domain_index) = (&mut bufs.domains, &mut bufs.domain_index);
        // One pass over the feasible nodes (each node's row of interned topology values read
        // once): whether it is ignored (upstream
        // `nodeLabelsMatchSpreadConstraints`; only when every key is required), and its cells.
        // Domains open in node order, as upstream's map fills (per constraint, so visiting the
        // constraints node by node opens them in the same order as column by column).
        let nf = feasible.len();
        debug_assert!(nc > 0, "PreScore skips pods without soft constraints");
        let cells = &mut bufs.cells;
        cells.clear();
        cells.resize(nf * nc, MISSING);
        let is_ignored = &mut bufs.is_ignored;
        is_ignored.clear();
        if require_all {
            is_ignored.resize(nf, false);
        }
        // First the raw value ids, node by node (each node's row read once); then each column on
        // its own: a hostname cell stays the value id (only "has the key" matters, and a missing
        // key is `ABSENT`, which is `MISSING`), another constraint's becomes its domain index.
        if let ([k0, k1], false) = (key_of.as_slice(), require_all) {
            // The system defaults' shape (hostname and zone, no node ignored): both columns
            // filled in one zipped pass.
            let (c0, c1) = cells.split_at_mut(nf);
            for ((&id, a), b) in feasible.iter().zip(c0).zip(c1) {
                let row = labels.row(id, snapshot.node_stamp(id), || &snapshot.node(id).node);
                (*a, *b) = (row[*k0], row[*k1]);
            }
        } else {
            for (p, &id) in feasible.iter().enumerate() {
                let row = labels.row(id, snapshot.node_stamp(id), || &snapshot.node(id).node);
                if require_all && key_of.iter().any(|&k| row[k] == ABSENT) {
                    // Ignored: every cell stays MISSING and no domain opens.
                    is_ignored[p] = true;
                    continue;
                }
                for (i, &k) in key_of.iter().enumerate() {
                    cells[i * nf + p] = row[k];
                }
            }
        }
        const _: () = assert!(ABSENT == MISSING, "a hostname cell keeps its value id");
        for (i, column) in cells.chunks_exact_mut(nf.max(1)).enumerate().take(nc) {
            if is_host[i] {
                continue;
            }
            let (index, domains) = (&mut domain_index[i], &mut domains[i]);
            for (p, cell) in column.iter_mut().enumerate() {
                let value = *cell;
                // With every key required, a `MISSING` cell is an ignored node's (a node that is
                // not ignored has every key): it opens no domain.
                if require_all && value == MISSING && is_ignored[p] {
                    continue;
                }
                // A node without the key lands in the "" domain, as upstream's map lookup does.
                let v = if value == ABSENT { 0 } else { value } as usize;
                let d = match index.get(v) {
                    Some(&d) if d != u32::MAX => d,
                    _ => {
                        if index.len() <= v {
                            index.resize(v + 1, u32::MAX);
                        }
                        let d = domains.len() as u32;
                        index[v] = d;
                        domains.push(v as u32);
                        d
                    }
                };
                if value != ABSENT {
                    *cell = d;
                }
            }
        }
        let mut ignored = BTreeSet::new();
        let mut ignored_names = BTreeSet::new();
        if require_all {
            for (&id, _) in feasible.iter().zip(is_ignored.iter()).filter(|(_, ignored)| **ignored) {
                ignored.insert(id);
                ignored_names.insert(snapshot.node(id).node.meta.name.to_string());
            }
        }
        let is_ignored = &bufs.is_ignored;
        let weights: Vec<f64> = (0..nc)
            .map(|i| {
                let size = if is_host[i] { feasible.len() - ignored.len() } else { domains[i].len() };
                topology_normalizing_weight(size)
            })
            .collect();

        // Matching pods per domain, and per node slot for hostname constraints.
        reset_nested(&mut bufs.domain_counts, nc);
        bufs.host_counts.resize_with(nc, Vec::new);
        reset_nested(&mut bufs.host_touched, nc);
        let (domain_counts, host_counts, host_touched) =
            (&mut bufs.domain_counts, &mut bufs.host_counts, &mut bufs.host_touched);
        for i in (0..nc).filter(|&i| !is_host[i]) {
            domain_counts[i].resize(domains[i].len(), 0);
        }
        let namespace = &pod.meta.namespace;
        let mut registered: Option<(&LabelSelector, SelectorId)> = None;
        let node_row = &mut bufs.node_row;
        node_row.clear();
        node_row.resize(nc, 0);
        for (i, c) in constraints.iter().enumerate() {
            // A nil selector selects nothing: every count is 0.
            let Some(selector) = c.selector.as_ref() else { continue };
            if !is_host[i] && domains[i].is_empty() {
                continue;
            }
            // The default constraints share one selector: register it once.
            let (counts, id) = match registered {
                Some((sel, id)) if one_selector || sel == selector => (snapshot.selector_counts(), id),
                _ => snapshot.register_selector(namespace, selector),
            };
            registered = Some((selector, id));
            if is_host[i] {
                let (on_slot, touched) = (&mut host_counts[i], &mut host_touched[i]);
                if on_slot.len() < snapshot.slot_count() {
                    on_slot.resize(snapshot.slot_count(), 0);
                }
                for (node_id, n) in counts.per_node(id) {
                    if let Some(c) = on_slot.get_mut(node_id.index()) {
                        *c = i64::from(*n);
                        touched.push(node_id.index());
                    }
                }
                continue;
            }
            // Without a nodeSelector or required node affinity to honour and with taints
            // ignored, every node passes the inclusion policies: no need to look at it.
            let includes_every_node = c.node_taints_policy != NodeInclusionPolicy::Honor
                && (c.node_affinity_policy != NodeInclusionPolicy::Honor
                    || (pod.spec.extras.node_selector.is_empty()
                        && pod.spec.extras.affinity.node_affinity.required.is_none()));
            for (node_id, n) in counts.per_node(id) {
                // Liveness from a dense array: the node itself is read only when a policy needs it.
                if !snapshot.is_live(*node_id) {
                    continue;
                }
                read_row(&mut labels, snapshot, key_of, *node_id, node_row);
                if require_all && node_row.contains(&ABSENT) {
                    continue;
                }
                if !includes_every_node
                    && !c.includes_node(pod, &snapshot.node(*node_id).node, self.taint_comparison_operators)
                {
                    continue;
                }
                let value = node_row[i];
                let v = if value == ABSENT { 0 } else { value } as usize;
                if let Some(&d) = domain_index[i].get(v).filter(|d| **d != u32::MAX) {
                    domain_counts[i][d as usize] += i64::from(*n);
                }
            }
        }

        // Raw scores: upstream `Score`, Σ over the constraints whose key the node has, in
        // constraint order as upstream adds them, node by node; ignored nodes score 0.
        out.feasible.clear();
        out.feasible.extend_from_slice(feasible);
        out.stamps.clear();
        out.stamps.extend(feasible.iter().map(|&id| snapshot.stamp(id)));
        out.raw.clear();
        let (host_counts, domain_counts) = (&bufs.host_counts, &bufs.domain_counts);
        let sums = &mut bufs.sums;
        sums.clear();
        sums.resize(nf, 0.0);
        let domain_terms = &mut bufs.domain_terms;
        for (i, c) in constraints.iter().enumerate() {
            let column = &cells[i * nf..(i + 1) * nf];
            let (weight, max_skew) = (weights[i], c.max_skew);
            if is_host[i] {
                let on_slot = host_counts[i].as_slice();
                for ((sum, &cell), &id) in sums.iter_mut().zip(column).zip(feasible) {
                    if cell != MISSING {
                        let cnt = on_slot.get(id.index()).copied().unwrap_or(0);
                        *sum += score_for_count(cnt, max_skew, weight);
                    }
                }
            } else {
                // One term per domain, computed as upstream computes it per node.
                domain_terms.clear();
                domain_terms
                    .extend(domain_counts[i].iter().map(|&cnt| score_for_count(cnt, max_skew, weight)));
                for (sum, &cell) in sums.iter_mut().zip(column) {
                    if cell != MISSING {
                        *sum += domain_terms[cell as usize];
                    }
                }
            }
        }
        if require_all {
            out.raw.extend(sums.iter().zip(is_ignored.iter()).map(|(&sum, &ignored)| {
                if ignored {
                    0
                } else {
                    round_half_away_from_zero(sum)
                }
            }));
        } else {
            out.raw.extend(sums.iter().map(|&sum| round_half_away_from_zero(sum)));
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
        // Leave the per-slot counts all 0 and the per-value indexes all `u32::MAX` for the next
        // cycle.
        for (on_slot, touched) in bufs.host_counts.iter_mut().zip(bufs.host_touched.iter_mut()) {
            for &slot in touched.iter() {
                on_slot[slot] = 0;
            }
            touched.clear();
        }
        for (index, values) in domain_index.iter_mut().zip(domains.iter()) {
            for v in values {
                index[*v as usize] = u32::MAX;
            }
        }
        let core = SpreadScoreState {
            constraints,
            ignored_nodes: ignored_names,
            topology_value_to_pod_counts,
            topology_normalizing_weight: weights,
        };
        bufs.raw = Some(raw_scores.clone());
        ScoreState { core, ignored, raw: raw_scores }
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        // One node on its own: no stamp to check PreScore's raw score against, so count its pods.
        let s = state
            .read::<ScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        Ok(s.core.score(&pod.pod, node))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        let s = state
            .read::<ScoreState>()
            .ok_or_else(|| Status::error(format!("reading {NAME} PreScore state")))?;
        let r = &*s.raw;
        let same_nodes = r.feasible.as_slice() == feasible;
        out.reserve(feasible.len());
        if same_nodes {
            out.extend(feasible.iter().zip(&r.stamps).zip(&r.raw).map(|((&id, &stamp), &raw)| {
                let score = if snapshot.stamp(id) == stamp {
                    raw
                } else {
                    // A node PreScore did not see as it is now: count its pods.
                    s.core.score(&pod.pod, snapshot.node(id))
                };
                NodeScore { node: id, score }
            }));
        } else {
            out.extend(
                feasible
                    .iter()
                    .map(|&id| NodeScore { node: id, score: s.core.score(&pod.pod, snapshot.node(id)) }),
            );
        }
        Ok(())
    }

    fn has_normalize(&self) -> bool {
        true
    }

    fn normalize_score(&self, state: &CycleState, _pod: &PodInfo, scores: &mut [NodeScore]) -> Status {
        let Some(s) = state.read::<ScoreState>() else {
            return Status::error(format!("reading {NAME} PreScore state"));
        };
        let ignored = &s.ignored;
        let (mut min_score, mut max_score) = (i64::MAX, 0i64);
        if ignored.is_empty() {
            // The common case (system defaults ignore no node): no set lookups.
            for ns in scores.iter() {
                min_score = min_score.min(ns.score);
                max_score = max_score.max(ns.score);
            }
            let normalizer = Normalizer::new(min_score, max_score, scores.len());
            for ns in scores.iter_mut() {
                ns.score = normalizer.normalized(ns.score);
            }
            return Status::success();
        }
        for ns in scores.iter().filter(|ns| !ignored.contains(&ns.node)) {
            min_score = min_score.min(ns.score);
            max_score = max_score.max(ns.score);
        }
        for ns in scores.iter_mut() {
            ns.score = normalized_score(ignored.contains(&ns.node), ns.score, min_score, max_score);
        }
        Status::success()
    }
}
