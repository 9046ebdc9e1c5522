//! The snapshot's incremental matching-pod counts (`framework::SelectorCounts`) against the naive
//! count, and PodTopologySpread's PreScore/Score through them against the plugin's naive core
//! (`SpreadScoreState::compute`, which matches every pod of every node), after random sequences
//! of pod adds, removes, re-binds, node additions, relabellings and removals across namespaces;
//! likewise its PreFilter/Filter against `SpreadFilterState::compute`. One plugin serves every
//! check of a case, so its reused PreScore buffers and the snapshot's cached label rows carry
//! over from cycle to cycle, and some cycle states are kept alive past the next PreScore.

use std::sync::Arc;

use proptest::prelude::*;

use kubesim_api::meta::well_known::{HOSTNAME, ZONE};
use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Node, NodeInclusionPolicy, ObjectKey,
    ObjectMeta, OwnerReference, Pod, Shared, Taint, TaintEffect, TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
};
use kubesim_scheduler::framework::{
    ClusterObjects, ControllerKind, ControllerSelector, CycleState, FilterPlugin, NodeId, PodInfo,
    PreFilterPlugin, PreScorePlugin, ScorePlugin, ServiceSelector, Snapshot, WorkloadSelectors,
};
use kubesim_scheduler::plugins::pod_topology_spread::common::pod_constraints;
use kubesim_scheduler::plugins::pod_topology_spread::{
    system_default_constraints, NodeWithPods, PodTopologySpread, SpreadFilterState, SpreadScoreState,
    SpreadVerdict,
};
use sim_core::SimTime;

const NAMESPACES: [&str; 2] = ["default", "other"];
const APPS: [&str; 3] = ["a", "b", "c"];
/// Number of [`selectors`].
const SELECTORS: usize = 9;
/// Every label pair pods are generated with.
const PAIRS: [(&str, &str); 6] =
    [("app", "a"), ("app", "b"), ("app", "c"), ("tier", "x"), ("hash", "h0"), ("hash", "h1")];

fn req(key: &str, op: LabelSelectorOperator, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: op,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// Selectors of every shape the counts index differently: by a matchLabels pair, by a
/// single-value `In`, and unindexed (multi-value `In`, `NotIn`, `Exists`, empty = everything).
fn selectors() -> Vec<LabelSelector> {
    use LabelSelectorOperator::*;
    vec![
        LabelSelector::from_labels([("app", "a")]),
        LabelSelector::from_labels([("app", "b"), ("tier", "x")]),
        LabelSelector { match_labels: Default::default(), match_expressions: vec![req("app", In, &["c"])] },
        LabelSelector {
            match_labels: Default::default(),
            match_expressions: vec![req("app", In, &["a", "b"])],
        },
        LabelSelector {
            match_labels: Default::default(),
            match_expressions: vec![req("tier", NotIn, &["x"])],
        },
        LabelSelector { match_labels: Default::default(), match_expressions: vec![req("tier", Exists, &[])] },
        LabelSelector::default(),
        // The shape of a default spreading selector: a Service's labels ANDed with a
        // ReplicaSet's `In` requirements, one of them a template hash few pods carry.
        LabelSelector {
            match_labels: [("app".to_string(), "a".to_string())].into_iter().collect(),
            match_expressions: vec![req("app", In, &["a"]), req("hash", In, &["h0"])],
        },
        LabelSelector {
            match_labels: Default::default(),
            match_expressions: vec![req("hash", In, &["h1"]), req("tier", In, &["x"])],
        },
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// Add pod (namespace, app a/b/c/none, tier x?, hash label h0/h1/none, terminating?) to the node at this
    /// index (mod live nodes).
    AddPod { node: usize, ns: usize, app: usize, tier_x: bool, hash: usize, terminating: bool },
    /// Remove the pod at this index (mod assigned pods).
    RemovePod(usize),
    /// Move the pod at this index to another node (remove + add, as a re-bind does).
    Rebind(usize, usize),
    /// Replace the pod at this index by a new version (`Snapshot::replace_pod`, as a status update
    /// does): on its node or another (`Some` index), with the same labels, marked terminating, or
    /// with another app label.
    Update { pod: usize, node: Option<usize>, change: usize },
    /// Remove the node at this index.
    RemoveNode(usize),
    /// Add a node (zone index, 3 = no zone label, 4 = an empty zone label; tainted?).
    AddNode { zone: usize, tainted: bool },
    /// Move the node at this index to another zone (zone index as in `AddNode`), as a node update
    /// that changes its labels does.
    Relabel { node: usize, zone: usize },
    /// Use a selector (registers it lazily, mid-sequence).
    Use { ns: usize, selector: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // `app` 3: no app label (with no tier and no hash, a pod without labels: alone in its
        // namespace, it leaves no label pair behind to index).
        6 => (0..8usize, 0..2usize, 0..4usize, any::<bool>(), 0..3usize, prop::bool::weighted(0.15))
            .prop_map(|(node, ns, app, tier_x, hash, terminating)| Op::AddPod {
                node,
                ns,
                app,
                tier_x,
                hash,
                terminating,
            }),
        2 => (0..64usize).prop_map(Op::RemovePod),
        2 => (0..64usize, 0..8usize).prop_map(|(p, n)| Op::Rebind(p, n)),
        2 => (0..64usize, prop::option::weighted(0.2, 0..8usize), 0..3usize)
            .prop_map(|(pod, node, change)| Op::Update { pod, node, change }),
        1 => (0..8usize).prop_map(Op::RemoveNode),
        1 => (0..5usize, any::<bool>()).prop_map(|(zone, tainted)| Op::AddNode { zone, tainted }),
        1 => (0..8usize, 0..5usize).prop_map(|(node, zone)| Op::Relabel { node, zone }),
        2 => (0..2usize, 0..SELECTORS).prop_map(|(ns, selector)| Op::Use { ns, selector }),
    ]
}

struct World {
    snap: Snapshot,
    next_node: usize,
    next_pod: usize,
    used: Vec<(usize, usize)>,
    /// The plugin every score check runs through (its PreScore buffers are reused).
    spread: PodTopologySpread,
    /// Cycle states kept alive past later PreScores (as a preemption clone could be).
    kept: Vec<CycleState>,
}

impl World {
    fn new() -> Self {
        let mut w = World {
            snap: Snapshot::new(),
            next_node: 0,
            next_pod: 0,
            used: Vec::new(),
            spread: PodTopologySpread::with_system_defaults(),
            kept: Vec::new(),
        };
        w.snap.objects = services();
        for zone in 0..3 {
            w.add_node(zone, false);
        }
        w
    }

    fn add_node(&mut self, zone: usize, tainted: bool) {
        let name = format!("n{}", self.next_node);
        self.next_node += 1;
        let mut n = Node { meta: ObjectMeta::named("", &name), ..Default::default() };
        n.meta.labels.insert(HOSTNAME.into(), name.clone());
        set_zone(&mut n, zone);
        if tainted {
            n.spec.taints.push(Taint {
                key: "dedicated".into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
                time_added: None,
            });
        }
        self.snap.upsert_node(n);
        self.snap.refresh_order();
    }

    fn relabel(&mut self, node: usize, zone: usize) {
        let nodes = self.live_nodes();
        let mut n = (*self.snap.node(nodes[node % nodes.len()]).node).clone();
        set_zone(&mut n, zone);
        self.snap.upsert_node(n);
        self.snap.refresh_order();
    }

    fn live_nodes(&self) -> Vec<NodeId> {
        self.snap.order().to_vec()
    }

    fn assigned(&self) -> Vec<ObjectKey> {
        self.snap.iter().flat_map(|n| n.pods.iter().map(|p| p.key())).collect()
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::AddPod { node, ns, app, tier_x, hash, terminating } => {
                let nodes = self.live_nodes();
                if nodes.is_empty() {
                    return;
                }
                let mut p = Pod {
                    meta: ObjectMeta::named(NAMESPACES[ns], &format!("p{}", self.next_pod)),
                    ..Default::default()
                };
                self.next_pod += 1;
                if let Some(app) = APPS.get(app) {
                    p.meta.labels.insert("app".into(), (*app).into());
                }
                if tier_x {
                    p.meta.labels.insert("tier".into(), "x".into());
                }
                if hash < 2 {
                    p.meta.labels.insert("hash".into(), format!("h{hash}"));
                }
                if terminating {
                    p.meta.deletion_timestamp = Some(SimTime::ZERO);
                }
                self.snap.add_pod(nodes[node % nodes.len()], Arc::new(PodInfo::new(p, Default::default())));
            }
            Op::RemovePod(i) => {
                let pods = self.assigned();
                if !pods.is_empty() {
                    self.snap.remove_pod(&pods[i % pods.len()]);
                }
            }
            Op::Rebind(i, n) => {
                let pods = self.assigned();
                if pods.is_empty() {
                    return;
                }
                let Some((_, pod)) = self.snap.remove_pod(&pods[i % pods.len()]) else { return };
                let nodes = self.live_nodes();
                self.snap.add_pod(nodes[n % nodes.len()], pod);
            }
            Op::Update { pod, node, change } => {
                let pods = self.assigned();
                if pods.is_empty() {
                    return;
                }
                let key = &pods[pod % pods.len()];
                let Some(at) = self.snap.node_of_pod(key) else { return };
                let old =
                    self.snap.node(at).pods.iter().find(|p| p.has_key(key)).unwrap().pod.as_ref().clone();
                let mut new = old;
                match change {
                    0 => new.status.nominated_node_name = Some("status update".into()),
                    1 => new.meta.deletion_timestamp = Some(SimTime::ZERO),
                    _ => {
                        new.meta.labels.insert("app".into(), "c".into());
                    }
                }
                let nodes = self.live_nodes();
                let to = node.map_or(at, |n| nodes[n % nodes.len()]);
                assert!(self.snap.replace_pod(to, Arc::new(PodInfo::new(new, Default::default()))));
            }
            Op::RemoveNode(i) => {
                let nodes = self.live_nodes();
                if nodes.len() > 1 {
                    let name = self.snap.node(nodes[i % nodes.len()]).name().to_string();
                    self.snap.remove_node(&name);
                    self.snap.refresh_order();
                }
            }
            Op::AddNode { zone, tainted } => self.add_node(zone, tainted),
            Op::Relabel { node, zone } => self.relabel(node, zone),
            Op::Use { ns, selector } => {
                let sel = &selectors()[selector];
                drop(self.snap.register_selector(NAMESPACES[ns], sel));
                self.used.push((ns, selector));
            }
        }
    }

    /// Every used selector's incremental count equals the naive count on every node.
    fn check_counts(&self) -> Result<(), TestCaseError> {
        let sels = selectors();
        for &(ns, s) in &self.used {
            let (counts, id) = self.snap.register_selector(NAMESPACES[ns], &sels[s]);
            for info in self.snap.iter() {
                let naive = info
                    .pods
                    .iter()
                    .filter(|p| {
                        !p.pod.meta.is_terminating()
                            && p.pod.meta.namespace == NAMESPACES[ns]
                            && sels[s].matches(&p.pod.meta.labels)
                    })
                    .count() as u32;
                prop_assert_eq!(
                    counts.count(id, info.id),
                    naive,
                    "selector {} ns {} node {}",
                    s,
                    ns,
                    info.name()
                );
            }
            let total: u32 = counts.per_node(id).values().sum();
            let live: u32 = self.snap.iter().map(|n| counts.count(id, n.id)).sum();
            prop_assert_eq!(total, live, "counts only for live nodes");
        }
        Ok(())
    }

    /// With only `used` selectors registered: removing every pod evicts exactly the entries
    /// that still had matching pods (those at zero stay, being never decremented), and leaves an
    /// empty label-pair index.
    fn check_eviction_when_emptied(&mut self) -> Result<(), TestCaseError> {
        let sels = selectors();
        let distinct: std::collections::BTreeSet<(usize, usize)> = self.used.iter().copied().collect();
        let mut had_pods = Vec::new();
        let mut at_zero = 0;
        {
            let counts = self.snap.selector_counts();
            prop_assert_eq!(counts.len(), distinct.len(), "every used selector is registered");
            for &(ns, s) in &distinct {
                let id = counts.id_of(NAMESPACES[ns], &sels[s]);
                prop_assert!(id.is_some());
                if counts.per_node(id.unwrap()).is_empty() {
                    at_zero += 1;
                } else {
                    had_pods.push((ns, s));
                }
            }
        }
        for key in self.assigned() {
            self.snap.remove_pod(&key);
        }
        let counts = self.snap.selector_counts();
        prop_assert_eq!(counts.len(), at_zero);
        for (ns, s) in had_pods {
            prop_assert_eq!(counts.id_of(NAMESPACES[ns], &sels[s]), None);
        }
        for ns in NAMESPACES {
            for (k, v) in PAIRS {
                prop_assert_eq!(counts.nodes_with_label(ns, k, v), None);
            }
        }
        Ok(())
    }

    /// The label-pair index holds, per (namespace, key, value), exactly the live nodes with
    /// non-terminating pods carrying the pair, and how many.
    fn check_index(&self) -> Result<(), TestCaseError> {
        let counts = self.snap.selector_counts();
        for ns in NAMESPACES {
            for (k, v) in PAIRS {
                let naive: std::collections::BTreeMap<NodeId, u32> = self
                    .snap
                    .iter()
                    .map(|info| {
                        let n = info
                            .pods
                            .iter()
                            .filter(|p| {
                                let m = &p.pod.meta;
                                !m.is_terminating()
                                    && m.namespace == ns
                                    && m.labels.get(k).map(String::as_str) == Some(v)
                            })
                            .count() as u32;
                        (info.id, n)
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                let got = counts.nodes_with_label(ns, k, v).cloned().unwrap_or_default();
                prop_assert_eq!(got, naive, "{}={} in {}", k, v, ns);
            }
        }
        Ok(())
    }

    /// PreScore + Score through the plugin (incremental counts) equal the naive core's raw
    /// scores, node by node (`score`) and all at once (`score_nodes`, which answers from the raw
    /// scores PreScore kept). Keeps the cycle state alive past the next check when `keep`.
    fn check_scores(
        &mut self,
        incoming: &Pod,
        objects: &Arc<ClusterObjects>,
        keep: bool,
    ) -> Result<(), TestCaseError> {
        // The world's own snapshot, so its derived data (counts, label rows) live across changes.
        let snap = &self.snap;
        prop_assert_eq!(&snap.objects, objects);
        let pl = &self.spread;
        let info = PodInfo::new(incoming.clone(), Default::default());
        let all: Vec<NodeId> = snap.order().to_vec();
        // Every other node is feasible (so some domains and hosts are missing).
        let feasible: Vec<NodeId> = all.iter().copied().step_by(2).collect();
        let mut state = CycleState::new();
        let status = pl.pre_score(&mut state, &info, &feasible, snap);

        let constraints = pod_constraints(
            incoming,
            UnsatisfiableConstraintAction::ScheduleAnyway,
            &system_default_constraints(),
            &objects.workloads,
        );
        let views: Vec<NodeWithPods> = snap
            .iter()
            .map(|n| NodeWithPods {
                node: (*n.node).clone(),
                pods: n.pods.iter().map(|p| p.pod.as_ref().clone()).collect(),
            })
            .collect();
        let feasible_views: Vec<&NodeWithPods> =
            feasible.iter().map(|id| &views[all.iter().position(|a| a == id).unwrap()]).collect();
        let require_all = !incoming.spec.extras.topology_spread_constraints.is_empty();
        let naive = SpreadScoreState::compute(
            incoming,
            constraints,
            require_all,
            &feasible_views,
            views.iter(),
            false,
        );
        match &naive {
            None => prop_assert!(status.is_skip(), "naive skips, plugin says {}", status),
            Some(core) => {
                prop_assert!(status.is_success(), "{}", status);
                let mut all_at_once = Vec::new();
                pl.score_nodes(&state, &info, &feasible, snap, &mut all_at_once)
                    .map_err(|s| TestCaseError::fail(s.to_string()))?;
                prop_assert_eq!(all_at_once.len(), feasible.len());
                for ((id, view), batch) in feasible.iter().zip(&feasible_views).zip(&all_at_once) {
                    let got = pl
                        .score(&state, &info, snap.node(*id))
                        .map_err(|s| TestCaseError::fail(s.to_string()))?;
                    let want = core.score(incoming, *view);
                    prop_assert_eq!(got, want, "node {}", snap.node(*id).name());
                    prop_assert_eq!((batch.node, batch.score), (*id, want), "node {}", snap.node(*id).name());
                }
                // Another node list than PreScore's (reversed): recomputed, same numbers.
                let reversed: Vec<NodeId> = feasible.iter().rev().copied().collect();
                let mut other = Vec::new();
                pl.score_nodes(&state, &info, &reversed, snap, &mut other)
                    .map_err(|s| TestCaseError::fail(s.to_string()))?;
                let want: Vec<_> = all_at_once.iter().rev().map(|s| (s.node, s.score)).collect();
                let got: Vec<_> = other.iter().map(|s| (s.node, s.score)).collect();
                prop_assert_eq!(got, want);
            }
        }
        if let (Some(core), Some(&first)) = (&naive, feasible.first().filter(|_| keep)) {
            // A copy of the incoming pod lands on a feasible node after PreScore: that node's
            // score is counted anew (PreScore's zone counts, the host count of now), the others
            // still come from PreScore.
            let mut copy = incoming.clone();
            copy.meta.name = format!("p{}", self.next_pod).into();
            self.next_pod += 1;
            self.snap.add_pod(first, Arc::new(PodInfo::new(copy, Default::default())));
            let snap = &self.snap;
            let mut after = Vec::new();
            self.spread
                .score_nodes(&state, &info, &feasible, snap, &mut after)
                .map_err(|s| TestCaseError::fail(s.to_string()))?;
            for (id, got) in feasible.iter().zip(&after) {
                let n = snap.node(*id);
                let view = NodeWithPods {
                    node: (*n.node).clone(),
                    pods: n.pods.iter().map(|p| p.pod.as_ref().clone()).collect(),
                };
                prop_assert_eq!(
                    got.score,
                    core.score(incoming, &view),
                    "node {} after a pod landed",
                    n.name()
                );
            }
        }
        if keep {
            self.kept.push(state);
        } else if self.kept.len() > 3 {
            self.kept.clear();
        }
        Ok(())
    }
}

impl World {
    /// PreFilter through the plugin (incremental counts) builds the naive core's state, and
    /// Filter agrees on every node.
    fn check_filter(&self, incoming: &Pod) -> Result<(), TestCaseError> {
        let pl = PodTopologySpread::with_system_defaults();
        let info = PodInfo::new(incoming.clone(), Default::default());
        let mut state = CycleState::new();
        let (_, status) = pl.pre_filter(&mut state, &info, &self.snap);
        let constraints = pod_constraints(
            incoming,
            UnsatisfiableConstraintAction::DoNotSchedule,
            &system_default_constraints(),
            &Default::default(),
        );
        let views: Vec<NodeWithPods> = self
            .snap
            .iter()
            .map(|n| NodeWithPods {
                node: (*n.node).clone(),
                pods: n.pods.iter().map(|p| p.pod.as_ref().clone()).collect(),
            })
            .collect();
        if constraints.is_empty() {
            prop_assert!(status.is_skip());
            return Ok(());
        }
        let naive = SpreadFilterState::compute(incoming, constraints, views.iter(), false);
        prop_assert!(status.is_success(), "{}", status);
        prop_assert_eq!(state.read::<SpreadFilterState>(), Some(&naive));
        for n in self.snap.iter() {
            let got = pl.filter(&state, &info, n);
            let want = naive.filter(incoming, &n.node);
            prop_assert_eq!(got.is_success(), want == SpreadVerdict::Fits, "node {}", n.name());
        }
        Ok(())
    }
}

/// Sets a node's zone label: zone index < 3 ⇒ `z{zone}`, 3 ⇒ none, 4 ⇒ empty (which lands in
/// the same "" domain as nodes without the label).
fn set_zone(n: &mut Node, zone: usize) {
    if zone < 3 {
        n.meta.labels.insert(ZONE.into(), format!("z{zone}"));
    } else if zone == 4 {
        n.meta.labels.insert(ZONE.into(), String::new());
    } else {
        n.meta.labels.remove(ZONE);
    }
}

fn services() -> Arc<ClusterObjects> {
    let svc = |ns: &str, app: &str| ServiceSelector {
        namespace: ns.into(),
        selector: Some([("app".to_string(), app.to_string())].into_iter().collect()),
    };
    Arc::new(ClusterObjects {
        workloads: WorkloadSelectors {
            services: vec![svc("default", "a"), svc("default", "b"), svc("other", "a")]
                .into_iter()
                .map(Shared::new)
                .collect(),
            // ReplicaSets owning the incoming pods (see `incoming_with`): their selectors are
            // ANDed into the default selector, one with a template hash.
            controllers: vec![
                ControllerSelector {
                    kind: ControllerKind::ReplicaSet,
                    namespace: "default".into(),
                    name: "rs-a".into(),
                    selector: Some(LabelSelector::from_labels([("app", "a"), ("hash", "h0")])),
                },
                ControllerSelector {
                    kind: ControllerKind::ReplicaSet,
                    namespace: "other".into(),
                    name: "rs-b".into(),
                    selector: Some(LabelSelector {
                        match_labels: [("app".to_string(), "b".to_string())].into_iter().collect(),
                        match_expressions: vec![req("hash", LabelSelectorOperator::In, &["h1"])],
                    }),
                },
            ]
            .into_iter()
            .map(Shared::new)
            .collect(),
        },
        ..Default::default()
    })
}

/// Incoming pods: Service-selected (system default constraints), and pods with their own soft
/// constraints (hostname and zone, inclusion policies honoured, a node selector on one).
fn incoming(kind: usize, ns: usize) -> Pod {
    incoming_with(kind, ns, UnsatisfiableConstraintAction::ScheduleAnyway)
}

fn incoming_with(kind: usize, ns: usize, action: UnsatisfiableConstraintAction) -> Pod {
    let mut p = Pod { meta: ObjectMeta::named(NAMESPACES[ns], "incoming"), ..Default::default() };
    p.meta.labels.insert("app".into(), APPS[kind % 3].into());
    if kind < 2 {
        // Owned by a ReplicaSet (which exists only in one namespace).
        p.meta.labels.insert("hash".into(), format!("h{kind}"));
        p.meta.owner_references.push(OwnerReference {
            kind: "ReplicaSet".into(),
            name: format!("rs-{}", APPS[kind]),
            uid: String::new(),
            controller: true,
        });
    }
    if kind >= 3 {
        let sel = selectors()[kind % selectors().len()].clone();
        for key in [HOSTNAME, ZONE] {
            p.spec.extras.topology_spread_constraints.push(TopologySpreadConstraint {
                max_skew: 2,
                topology_key: key.into(),
                when_unsatisfiable: action,
                label_selector: Some(sel.clone()),
                min_domains: None,
                node_affinity_policy: NodeInclusionPolicy::Honor,
                node_taints_policy: if kind % 2 == 0 {
                    NodeInclusionPolicy::Honor
                } else {
                    NodeInclusionPolicy::Ignore
                },
                match_label_keys: Vec::new(),
            });
        }
        if kind == 4 {
            p.spec.extras.node_selector.insert(ZONE.into(), "z1".into());
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn incremental_counts_equal_the_naive_count_after_any_pod_and_node_changes(
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut w = World::new();
        for (i, op) in ops.iter().enumerate() {
            w.apply(op);
            if i % 7 == 0 {
                w.check_counts()?;
                w.check_index()?;
            }
        }
        w.check_counts()?;
        w.check_index()?;
        w.check_eviction_when_emptied()?;
        w.check_counts()?;
    }

    #[test]
    fn spreading_scores_through_the_counts_equal_the_naive_scores(
        ops in prop::collection::vec(op(), 1..60),
        kinds in prop::collection::vec((0..10usize, 0..2usize), 1..6),
    ) {
        let objects = services();
        let mut w = World::new();
        for (i, op) in ops.iter().enumerate() {
            w.apply(op);
            if i % 10 == 0 {
                for (j, (k, ns)) in kinds.iter().enumerate() {
                    w.check_scores(&incoming(*k, *ns), &objects, (i + j) % 3 == 0)?;
                    w.check_filter(&incoming_with(*k, *ns, UnsatisfiableConstraintAction::DoNotSchedule))?;
                }
            }
        }
        for (j, (k, ns)) in kinds.iter().enumerate() {
            w.check_scores(&incoming(*k, *ns), &objects, j % 2 == 0)?;
            w.check_filter(&incoming_with(*k, *ns, UnsatisfiableConstraintAction::DoNotSchedule))?;
        }
        w.check_counts()?;
    }
}
