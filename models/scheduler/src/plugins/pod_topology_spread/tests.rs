//! Worked cases, mostly after upstream `filtering_test.go` and `scoring_test.go`
//! (TestSingleConstraint, TestMultipleConstraints, TestPodTopologySpreadScore).

use proptest::prelude::*;

use kubesim_api::meta::well_known::HOSTNAME;
use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, Node, NodeInclusionPolicy,
    NodeSelector, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, ObjectMeta,
    OwnerReference, Pod, Shared, Taint, TaintEffect, TopologySpreadConstraint, UnsatisfiableConstraintAction,
};

use super::common::{filter_constraints, pod_constraints};
use super::*;
use UnsatisfiableConstraintAction::{DoNotSchedule, ScheduleAnyway};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn node(name: &str, pairs: &[(&str, &str)]) -> Node {
    let mut n = Node { meta: ObjectMeta::named("", name), ..Default::default() };
    n.meta.labels = labels(pairs).into();
    n
}

/// Nodes named like upstream's tests, with `zone` and `node` labels.
fn zone_nodes() -> Vec<Node> {
    vec![
        node("node-a", &[("zone", "zone1"), ("node", "node-a")]),
        node("node-b", &[("zone", "zone1"), ("node", "node-b")]),
        node("node-x", &[("zone", "zone2"), ("node", "node-x")]),
        node("node-y", &[("zone", "zone2"), ("node", "node-y")]),
    ]
}

fn host_nodes(names: &[&str]) -> Vec<Node> {
    names.iter().map(|n| node(n, &[(HOSTNAME, n)])).collect()
}

fn pod(name: &str, on: &str, pairs: &[(&str, &str)]) -> Pod {
    let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
    p.meta.labels = labels(pairs).into();
    if !on.is_empty() {
        p.spec.node_name = Some(on.to_string());
    }
    p
}

/// `n` pods labelled foo on `on`.
fn foo_pods(on: &str, n: usize) -> Vec<Pod> {
    (0..n).map(|i| pod(&format!("p-{on}-{i}"), on, &[("foo", "")])).collect()
}

fn exists(key: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![LabelSelectorRequirement {
            key: key.into(),
            operator: LabelSelectorOperator::Exists,
            values: vec![],
        }],
    }
}

fn tsc(
    max_skew: i32,
    key: &str,
    action: UnsatisfiableConstraintAction,
    sel: Option<LabelSelector>,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew,
        topology_key: key.into(),
        when_unsatisfiable: action,
        label_selector: sel,
        min_domains: None,
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
        match_label_keys: vec![],
    }
}

fn incoming(constraints: Vec<TopologySpreadConstraint>) -> Pod {
    let mut p = pod("p", "", &[("foo", "")]);
    p.spec.extras.topology_spread_constraints = constraints;
    p
}

fn cluster(nodes: Vec<Node>, pods: Vec<Pod>) -> Vec<NodeWithPods> {
    nodes
        .into_iter()
        .map(|n| {
            let mine =
                pods.iter().filter(|p| p.spec.node_name.as_deref() == Some(&n.meta.name)).cloned().collect();
            NodeWithPods { node: n, pods: mine }
        })
        .collect()
}

/// Filter verdict per node, as `(name, code)` with codes "ok" / "U" / "UU".
fn filter_all(p: &Pod, c: &[NodeWithPods]) -> Vec<(String, &'static str)> {
    let constraints =
        pod_constraints(p, DoNotSchedule, &system_default_constraints(), &WorkloadSelectors::default());
    let state = SpreadFilterState::compute(p, constraints, c.iter(), false);
    c.iter()
        .map(|n| {
            let code = match state.filter(p, &n.node) {
                SpreadVerdict::Fits => "ok",
                SpreadVerdict::Unschedulable(_) => "U",
                SpreadVerdict::UnschedulableAndUnresolvable(_) => "UU",
            };
            (n.node.meta.name.to_string(), code)
        })
        .collect()
}

fn codes(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

/// 2/1/0/3 matching pods on node-a/b/x/y.
fn two_one_zero_three() -> Vec<Pod> {
    [foo_pods("node-a", 2), foo_pods("node-b", 1), foo_pods("node-y", 3)].concat()
}

#[test]
fn spreading_by_node_with_max_skew_1_admits_only_the_empty_node() {
    // counts a=2 b=1 x=0 y=3, min 0: skew = count + 1 − 0 must be ≤ 1 ⇒ only x.
    let p = incoming(vec![tsc(1, "node", DoNotSchedule, Some(exists("foo")))]);
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got, codes(&[("node-a", "U"), ("node-b", "U"), ("node-x", "ok"), ("node-y", "U")]));
}

#[test]
fn max_skew_2_also_admits_the_node_with_one_pod() {
    let p = incoming(vec![tsc(2, "node", DoNotSchedule, Some(exists("foo")))]);
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got, codes(&[("node-a", "U"), ("node-b", "ok"), ("node-x", "ok"), ("node-y", "U")]));
}

#[test]
fn a_pod_not_matching_its_own_selector_adds_no_self_match() {
    // skew = count + 0 − 0 ≤ 1 ⇒ b (1) and x (0).
    let mut p = incoming(vec![tsc(1, "node", DoNotSchedule, Some(exists("foo")))]);
    p.meta.labels = labels(&[("bar", "")]).into();
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got, codes(&[("node-a", "U"), ("node-b", "ok"), ("node-x", "ok"), ("node-y", "U")]));
}

#[test]
fn zones_spread_three_three_fit_everywhere() {
    let p = incoming(vec![tsc(1, "zone", DoNotSchedule, Some(exists("foo")))]);
    let pods = [foo_pods("node-a", 2), foo_pods("node-b", 1), foo_pods("node-y", 3)].concat();
    let got = filter_all(&p, &cluster(zone_nodes(), pods));
    assert!(got.iter().all(|(_, c)| *c == "ok"), "{got:?}");
}

#[test]
fn a_node_without_the_topology_label_is_unresolvable_and_not_counted() {
    // node-b has "zon" instead of "zone": zone1 = 1 (a), zone2 = 2 (x, y), min 1.
    let mut nodes = zone_nodes();
    nodes[1] = node("node-b", &[("zon", "zone1"), ("node", "node-b")]);
    let pods =
        [foo_pods("node-a", 1), foo_pods("node-b", 1), foo_pods("node-x", 1), foo_pods("node-y", 1)].concat();
    let p = incoming(vec![tsc(1, "zone", DoNotSchedule, Some(exists("foo")))]);
    let got = filter_all(&p, &cluster(nodes, pods));
    assert_eq!(got, codes(&[("node-a", "ok"), ("node-b", "UU"), ("node-x", "U"), ("node-y", "U")]));
}

#[test]
fn pods_in_other_namespaces_and_terminating_pods_do_not_count() {
    let mut pods = [foo_pods("node-a", 2), foo_pods("node-x", 1), foo_pods("node-y", 1)].concat();
    pods[0].meta.namespace = "ns1".into();
    pods[1].meta.deletion_timestamp = Some(sim_core::SimTime::ZERO);
    // zone1 = 0, zone2 = 2: a/b skew 1, x/y skew 3.
    let p = incoming(vec![tsc(1, "zone", DoNotSchedule, Some(exists("foo")))]);
    let got = filter_all(&p, &cluster(zone_nodes(), pods));
    assert_eq!(got, codes(&[("node-a", "ok"), ("node-b", "ok"), ("node-x", "U"), ("node-y", "U")]));
}

#[test]
fn all_nodes_lacking_the_key_make_the_pod_unresolvable_everywhere() {
    let p = incoming(vec![tsc(1, "rack", DoNotSchedule, Some(exists("foo")))]);
    let got = filter_all(&p, &cluster(zone_nodes(), vec![]));
    assert!(got.iter().all(|(_, c)| *c == "UU"));
}

#[test]
fn two_constraints_intersect() {
    // zone spread 3/3 allows all; node spread 2/1/0/3 allows x only.
    let p = incoming(vec![
        tsc(1, "zone", DoNotSchedule, Some(exists("foo"))),
        tsc(1, "node", DoNotSchedule, Some(exists("foo"))),
    ]);
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got, codes(&[("node-a", "U"), ("node-b", "U"), ("node-x", "ok"), ("node-y", "U")]));
}

fn affinity_to(values: &[&str]) -> NodeSelector {
    NodeSelector {
        terms: vec![NodeSelectorTerm {
            match_expressions: vec![NodeSelectorRequirement {
                key: "node".into(),
                operator: NodeSelectorOperator::In,
                values: values.iter().map(|s| s.to_string()).collect(),
            }],
            match_fields: vec![],
        }],
    }
}

#[test]
fn node_affinity_policy_honor_counts_only_nodes_the_pod_could_land_on() {
    // Only a (2) and y (3) count: min 2 ⇒ a: 2+1−2 = 1 fits, y: 2 fails. b and x are not
    // counted domains (match 0) and pass here; NodeAffinity would reject them.
    let mut p = incoming(vec![tsc(1, "node", DoNotSchedule, Some(exists("foo")))]);
    p.spec.extras.affinity.node_affinity.required = Some(affinity_to(&["node-a", "node-y"]));
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got, codes(&[("node-a", "ok"), ("node-b", "ok"), ("node-x", "ok"), ("node-y", "U")]));
}

#[test]
fn node_affinity_policy_ignore_counts_every_node() {
    // All four count: min 0 ⇒ a: 3 fails.
    let mut c = tsc(1, "node", DoNotSchedule, Some(exists("foo")));
    c.node_affinity_policy = NodeInclusionPolicy::Ignore;
    let mut p = incoming(vec![c]);
    p.spec.extras.affinity.node_affinity.required = Some(affinity_to(&["node-a", "node-y"]));
    let got = filter_all(&p, &cluster(zone_nodes(), two_one_zero_three()));
    assert_eq!(got[0], ("node-a".to_string(), "U"));
}

#[test]
fn node_taints_policy_honor_skips_nodes_with_untolerated_taints() {
    let mut nodes = host_nodes(&["node-a", "node-b"]);
    nodes[0].spec.taints =
        vec![Taint { key: "k".into(), value: "v".into(), effect: TaintEffect::NoSchedule, time_added: None }];
    let pods = foo_pods("node-b", 1);
    let cl = cluster(nodes, pods);
    // Ignore (default): domains a=0, b=1 ⇒ b: 1+1−0 = 2 > 1.
    let p = incoming(vec![tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo")))]);
    assert_eq!(filter_all(&p, &cl)[1].1, "U");
    // Honor: tainted a is not a domain ⇒ min 1 ⇒ b: 1 fits.
    let mut c = tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo")));
    c.node_taints_policy = NodeInclusionPolicy::Honor;
    let p = incoming(vec![c]);
    assert_eq!(filter_all(&p, &cl)[1].1, "ok");
}

#[test]
fn fewer_domains_than_min_domains_make_the_global_minimum_zero() {
    // One pod per zone (2 zones). Without minDomains: 1+1−1 = 1 fits everywhere.
    // minDomains 3 > 2 domains ⇒ min 0 ⇒ skew 2 everywhere.
    let pods = [foo_pods("node-a", 1), foo_pods("node-x", 1)].concat();
    let cl = cluster(zone_nodes(), pods);
    let p = incoming(vec![tsc(1, "zone", DoNotSchedule, Some(exists("foo")))]);
    assert!(filter_all(&p, &cl).iter().all(|(_, c)| *c == "ok"));
    let mut c = tsc(1, "zone", DoNotSchedule, Some(exists("foo")));
    c.min_domains = Some(3);
    let p = incoming(vec![c]);
    assert!(filter_all(&p, &cl).iter().all(|(_, c)| *c == "U"));
}

#[test]
fn system_defaults_never_filter() {
    let p = pod("p", "", &[("foo", "")]);
    let sources = WorkloadSelectors {
        services: vec![Shared::new(ServiceSelector {
            namespace: "default".into(),
            selector: Some(labels(&[("foo", "")])),
        })],
        ..Default::default()
    };
    assert!(pod_constraints(&p, DoNotSchedule, &system_default_constraints(), &sources).is_empty());
    assert_eq!(pod_constraints(&p, ScheduleAnyway, &system_default_constraints(), &sources).len(), 2);
}

#[test]
fn add_and_remove_pod_keep_the_minimum_exact() {
    // Hostname domains a=0, b=1. Adding a matching pod on a lifts the minimum to 1;
    // removing b's pod drops it to 0 again.
    let cl = cluster(host_nodes(&["node-a", "node-b"]), foo_pods("node-b", 1));
    let p = incoming(vec![tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo")))]);
    let constraints =
        filter_constraints(&p.spec.extras.topology_spread_constraints, &p.meta.labels, DoNotSchedule);
    let mut s = SpreadFilterState::compute(&p, constraints, cl.iter(), false);
    assert_eq!(s.min_match(0), 0);
    let extra = pod("extra", "node-a", &[("foo", "")]);
    s.update_with_pod(&extra, &p, &cl[0].node, 1, false);
    assert_eq!(s.min_match(0), 1);
    // b: 1+1−1 = 1 now fits.
    assert_eq!(s.filter(&p, &cl[1].node), SpreadVerdict::Fits);
    s.update_with_pod(&cl[1].pods[0], &p, &cl[1].node, -1, false);
    assert_eq!(s.min_match(0), 0);
    // Pods of another namespace are ignored.
    let mut other = extra.clone();
    other.meta.namespace = "other".into();
    let before = s.clone();
    s.update_with_pod(&other, &p, &cl[0].node, 1, false);
    assert_eq!(s, before);
}

#[test]
fn match_label_keys_narrow_the_selector_to_the_pods_own_value() {
    let mut c = tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo")));
    c.match_label_keys = vec!["rev".into(), "absent".into()];
    let mut p = incoming(vec![c]);
    p.meta.labels.insert("rev".into(), "2".into());
    let got = filter_constraints(&p.spec.extras.topology_spread_constraints, &p.meta.labels, DoNotSchedule);
    let sel = got[0].selector.as_ref().unwrap();
    assert!(sel.matches(&labels(&[("foo", ""), ("rev", "2")])));
    assert!(!sel.matches(&labels(&[("foo", ""), ("rev", "1")])));
    assert!(!sel.matches(&labels(&[("rev", "2")])), "the original selector still applies");
}

#[test]
fn default_selector_unions_services_and_ands_the_replicaset_selector() {
    let mut p = pod("p", "", &[("app", "web"), ("tier", "fe")]);
    p.meta.owner_references = vec![OwnerReference {
        kind: "ReplicaSet".into(),
        name: "rs".into(),
        uid: "u".into(),
        controller: true,
    }]
    .into();
    let sources = WorkloadSelectors {
        services: vec![
            ServiceSelector { namespace: "default".into(), selector: Some(labels(&[("app", "web")])) },
            ServiceSelector { namespace: "default".into(), selector: Some(labels(&[("tier", "fe")])) },
            ServiceSelector { namespace: "default".into(), selector: Some(labels(&[("app", "db")])) },
            ServiceSelector { namespace: "other".into(), selector: Some(labels(&[("x", "y")])) },
            ServiceSelector { namespace: "default".into(), selector: None },
        ]
        .into_iter()
        .map(Shared::new)
        .collect(),
        controllers: vec![ControllerSelector {
            kind: ControllerKind::ReplicaSet,
            namespace: "default".into(),
            name: "rs".into(),
            selector: Some(LabelSelector::from_labels([("app", "web")])),
        }]
        .into_iter()
        .map(Shared::new)
        .collect(),
    };
    let sel = default_selector(&p, &sources);
    assert_eq!(sel.match_labels, labels(&[("app", "web"), ("tier", "fe")]));
    assert_eq!(sel.match_expressions.len(), 1);
    assert!(sel.matches(&p.meta.labels));
    assert!(!sel.matches(&labels(&[("app", "web")])));
    // Nothing selecting the pod ⇒ empty ⇒ no default constraints.
    assert!(default_selector(&pod("q", "", &[("z", "1")]), &sources).is_empty());
}

// ---------------------------------------------------------------- scoring

/// Normalized scores of the feasible nodes `feasible` (names), all of `all` in the snapshot.
fn scores(p: &Pod, all: &[NodeWithPods], feasible: &[&str], sources: &WorkloadSelectors) -> Option<Vec<i64>> {
    let constraints = pod_constraints(p, ScheduleAnyway, &system_default_constraints(), sources);
    // System defaulting: only the pod's own constraints require every key.
    let require_all = !p.spec.extras.topology_spread_constraints.is_empty();
    let feas: Vec<&NodeWithPods> =
        feasible.iter().map(|f| all.iter().find(|n| n.node.meta.name == *f).unwrap()).collect();
    let state = SpreadScoreState::compute(p, constraints, require_all, &feas, all.iter(), false)?;
    let mut raw: Vec<(String, i64)> =
        feas.iter().map(|n| (n.node.meta.name.to_string(), state.score(p, *n))).collect();
    state.normalize(&mut raw);
    Some(raw.into_iter().map(|(_, s)| s).collect())
}

#[test]
fn hostname_scores_for_two_one_zero_three() {
    // weight ln(4+2) = 1.792; raw round(2·1.792)=4, round(1.792)=2, 0, round(5.375)=5;
    // normalized 100·(5+0−s)/5 = 20, 60, 100, 0.
    let all = cluster(
        host_nodes(&["node-a", "node-b", "node-c", "node-d"]),
        [foo_pods("node-a", 2), foo_pods("node-b", 1), foo_pods("node-d", 3)].concat(),
    );
    let p = incoming(vec![tsc(1, HOSTNAME, ScheduleAnyway, Some(exists("foo")))]);
    let got = scores(&p, &all, &["node-a", "node-b", "node-c", "node-d"], &WorkloadSelectors::default());
    assert_eq!(got, Some(vec![20, 60, 100, 0]));
}

#[test]
fn max_skew_2_waters_down_the_differences() {
    // raw = round(c·1.792 + 1): 5, 3, 1, 6 ⇒ 100·(7−s)/6 = 33, 66, 100, 16.
    let all = cluster(
        host_nodes(&["node-a", "node-b", "node-c", "node-d"]),
        [foo_pods("node-a", 2), foo_pods("node-b", 1), foo_pods("node-d", 3)].concat(),
    );
    let p = incoming(vec![tsc(2, HOSTNAME, ScheduleAnyway, Some(exists("foo")))]);
    let got = scores(&p, &all, &["node-a", "node-b", "node-c", "node-d"], &WorkloadSelectors::default());
    assert_eq!(got, Some(vec![33, 66, 100, 16]));
}

#[test]
fn a_null_selector_counts_nothing_and_scores_everyone_100() {
    let all = cluster(host_nodes(&["node-a", "node-b"]), foo_pods("node-a", 2));
    let p = incoming(vec![tsc(1, HOSTNAME, ScheduleAnyway, None)]);
    assert_eq!(scores(&p, &all, &["node-a", "node-b"], &WorkloadSelectors::default()), Some(vec![100, 100]));
}

#[test]
fn system_defaults_with_a_service_spread_by_host_on_zoneless_nodes() {
    // 4/3/2/1; hostname maxSkew 3: raw round(c·ln 6 + 2) = 9, 7, 6, 4 ⇒ 100·(13−s)/9 = 44, 66, 77, 100.
    // The zone constraint only sees the "" domain, which none of the nodes carries as a label.
    let all = cluster(
        host_nodes(&["node-a", "node-b", "node-c", "node-d"]),
        [foo_pods("node-a", 4), foo_pods("node-b", 3), foo_pods("node-c", 2), foo_pods("node-d", 1)].concat(),
    );
    let p = pod("p", "", &[("foo", "")]);
    let sources = WorkloadSelectors {
        services: vec![Shared::new(ServiceSelector {
            namespace: "default".into(),
            selector: Some(labels(&[("foo", "")])),
        })],
        ..Default::default()
    };
    let got = scores(&p, &all, &["node-a", "node-b", "node-c", "node-d"], &sources);
    assert_eq!(got, Some(vec![44, 66, 77, 100]));
    // Without any selecting Service or controller the plugin skips.
    assert_eq!(scores(&p, &all, &["node-a"], &WorkloadSelectors::default()), None);
}

#[test]
fn nodes_missing_the_key_are_ignored_and_score_zero() {
    // 4/?2?/1 with node-y (3) infeasible: hostname weight ln(2 + 2) (3 feasible − 1 ignored);
    // raw a = round(4·1.386) = 6, x = round(1.386) = 1 ⇒ a: 100·(6+1−6)/6 = 16, x: 100.
    let mut nodes = host_nodes(&["node-a", "node-b", "node-x", "node-y"]);
    nodes[1] = node("node-b", &[("n", "node-b")]);
    let all = cluster(
        nodes,
        [foo_pods("node-a", 4), foo_pods("node-b", 2), foo_pods("node-x", 1), foo_pods("node-y", 3)].concat(),
    );
    let p = incoming(vec![tsc(1, HOSTNAME, ScheduleAnyway, Some(exists("foo")))]);
    let got = scores(&p, &all, &["node-a", "node-b", "node-x"], &WorkloadSelectors::default());
    assert_eq!(got, Some(vec![16, 0, 100]));
}

#[test]
fn zone_counts_include_infeasible_nodes_of_feasible_zones() {
    // zone1 = 4+2 = 6, zone2 = 1 + 3 (node-y infeasible but in zone2) = 4; weight ln 4:
    // raw round(8.32) = 8, 8, round(5.55) = 6 ⇒ 100·(14−s)/8 = 75, 75, 100.
    let nodes = vec![
        node("node-a", &[("zone", "zone1"), (HOSTNAME, "node-a")]),
        node("node-b", &[("zone", "zone1"), (HOSTNAME, "node-b")]),
        node("node-x", &[("zone", "zone2"), (HOSTNAME, "node-x")]),
        node("node-y", &[("zone", "zone2"), (HOSTNAME, "node-y")]),
    ];
    let all = cluster(
        nodes,
        [foo_pods("node-a", 4), foo_pods("node-b", 2), foo_pods("node-x", 1), foo_pods("node-y", 3)].concat(),
    );
    let p = incoming(vec![tsc(1, "zone", ScheduleAnyway, Some(exists("foo")))]);
    let got = scores(&p, &all, &["node-a", "node-b", "node-x"], &WorkloadSelectors::default());
    assert_eq!(got, Some(vec![75, 75, 100]));
}

#[test]
fn score_rounding_is_half_away_from_zero() {
    assert_eq!(scoring::score_for_count(1, 1, 2.5).round() as i64, 3);
    assert!((scoring::topology_normalizing_weight(4) - 6f64.ln()).abs() < 1e-15);
}

// ---------------------------------------------------------------- invariants

proptest! {
    /// Oracle: the incremental AddPod/RemovePod state equals a state recomputed from scratch on
    /// the mutated cluster (counts and exact minimum).
    #[test]
    fn incremental_updates_match_recomputation(
        initial in proptest::collection::vec(0usize..4, 0..8),
        ops in proptest::collection::vec((0usize..4, any::<bool>()), 0..16),
    ) {
        let names = ["n0", "n1", "n2", "n3"];
        let nodes: Vec<Node> = names.iter().enumerate()
            .map(|(i, n)| node(n, &[(HOSTNAME, n), ("zone", if i < 2 { "z1" } else { "z2" })])).collect();
        let mut pods: Vec<Pod> = initial.iter().enumerate()
            .map(|(i, &n)| pod(&format!("e{i}"), names[n], &[("foo", "")])).collect();
        let p = incoming(vec![
            tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo"))),
            tsc(1, "zone", DoNotSchedule, Some(exists("foo"))),
        ]);
        let constraints = filter_constraints(&p.spec.extras.topology_spread_constraints, &p.meta.labels, DoNotSchedule);
        let mut state = SpreadFilterState::compute(&p, constraints.clone(), cluster(nodes.clone(), pods.clone()).iter(), false);
        for (k, (n, add)) in ops.into_iter().enumerate() {
            if add {
                let np = pod(&format!("a{k}"), names[n], &[("foo", "")]);
                state.update_with_pod(&np, &p, &nodes[n], 1, false);
                pods.push(np);
            } else if let Some(idx) = pods.iter().position(|q| q.spec.node_name.as_deref() == Some(names[n])) {
                let gone = pods.remove(idx);
                state.update_with_pod(&gone, &p, &nodes[n], -1, false);
            }
            let fresh = SpreadFilterState::compute(&p, constraints.clone(), cluster(nodes.clone(), pods.clone()).iter(), false);
            prop_assert_eq!(&state.tp_value_to_match_num, &fresh.tp_value_to_match_num);
            for i in 0..2 { prop_assert_eq!(state.min_match(i), fresh.min_match(i)); }
        }
    }
}

// ---------------------------------------------------------------- through the framework plugin

mod via_plugin {
    use std::sync::Arc;

    use super::*;
    use crate::framework::{CycleState, NodeId, NodeScore, PodInfo, Snapshot};

    fn snapshot(c: Vec<NodeWithPods>) -> Snapshot {
        let mut s = Snapshot::new();
        for n in c {
            let id = s.upsert_node(n.node);
            for p in n.pods {
                s.add_pod(id, Arc::new(PodInfo::new(p, Default::default())));
            }
        }
        s.refresh_order();
        s
    }

    #[test]
    fn the_plugin_scores_and_normalizes_by_node_id() {
        let snap = snapshot(cluster(
            host_nodes(&["node-a", "node-b", "node-c", "node-d"]),
            [foo_pods("node-a", 2), foo_pods("node-b", 1), foo_pods("node-d", 3)].concat(),
        ));
        let p = PodInfo::new(
            incoming(vec![tsc(1, HOSTNAME, ScheduleAnyway, Some(exists("foo")))]),
            Default::default(),
        );
        let pl = PodTopologySpread::with_system_defaults();
        let mut state = CycleState::new();
        let ids: Vec<NodeId> = snap.order().to_vec();
        let (_, s) = crate::framework::PreFilterPlugin::pre_filter(&pl, &mut state, &p, &snap);
        assert!(s.is_skip(), "no hard constraint ⇒ Filter skipped");
        let s = crate::framework::PreScorePlugin::pre_score(&pl, &mut state, &p, &ids, &snap);
        assert!(s.is_success(), "{s}");
        let mut scores: Vec<NodeScore> = ids
            .iter()
            .map(|id| NodeScore {
                node: *id,
                score: crate::framework::ScorePlugin::score(&pl, &state, &p, snap.node(*id)).unwrap(),
            })
            .collect();
        assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [4, 2, 0, 5]);
        crate::framework::ScorePlugin::normalize_score(&pl, &state, &p, &mut scores);
        assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [20, 60, 100, 0]);
    }

    proptest! {
        /// PreScore's raw scores (read back by `score_nodes`) and NormalizeScore equal the plain
        /// `SpreadScoreState` over random clusters: nodes with or without a zone (3 values) and
        /// hostname label, pods with or without the counted label, an incoming pod with its own
        /// soft constraints (every key required; a node without one is ignored) or with the
        /// system defaults, and a random feasible subset in random order.
        #[test]
        fn plugin_pre_score_equals_the_plain_scores(
            nodes in proptest::collection::vec((0usize..4, any::<bool>(), 0usize..4), 1..12),
            own in proptest::option::of(proptest::collection::vec((0usize..3, 1i32..4), 1..4)),
            feasible_mask in proptest::collection::vec(any::<bool>(), 12),
            rotate in 0usize..12,
        ) {
            let zones = ["z1", "z2", "z3"];
            let mut all = Vec::new();
            for (i, &(zone, has_host, pods)) in nodes.iter().enumerate() {
                let name = format!("n{i}");
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                if zone < 3 {
                    pairs.push(("zone", zones[zone]));
                }
                if has_host {
                    pairs.push((HOSTNAME, &name));
                }
                let node = node(&name, &pairs);
                let pods: Vec<Pod> = (0..pods)
                    .map(|k| {
                        let counted: &[(&str, &str)] = if k % 3 == 2 { &[("other", "")] } else { &[("foo", "")] };
                        pod(&format!("p-{i}-{k}"), &name, counted)
                    })
                    .collect();
                all.push(NodeWithPods { node, pods });
            }
            let keys = [HOSTNAME, "zone", "rack"];
            let incoming_pod = match &own {
                Some(cs) => incoming(
                    cs.iter().map(|&(k, skew)| tsc(skew, keys[k], ScheduleAnyway, Some(exists("foo")))).collect(),
                ),
                None => {
                    // System defaults through a Service selecting foo="".
                    pod("p", "", &[("foo", "")])
                }
            };
            let sources = WorkloadSelectors {
                services: vec![Shared::new(ServiceSelector {
                    namespace: "default".into(),
                    selector: Some(labels(&[("foo", "")])),
                })],
                controllers: Vec::new(),
            };
            let mut names: Vec<String> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| feasible_mask[*i])
                .map(|(_, n)| n.node.meta.name.to_string())
                .collect();
            if names.is_empty() {
                return Ok(());
            }
            let r = rotate % names.len();
            names.rotate_left(r);
            let feasible_names: Vec<&str> = names.iter().map(String::as_str).collect();
            let want = scores(&incoming_pod, &all, &feasible_names, &sources);

            let mut snap = snapshot(all.clone());
            snap.objects = std::sync::Arc::new(ClusterObjects {
                workloads: sources.clone(),
                ..Default::default()
            });
            let p = PodInfo::new(incoming_pod.clone(), Default::default());
            let pl = PodTopologySpread::with_system_defaults();
            let mut state = CycleState::new();
            let ids: Vec<NodeId> = feasible_names.iter().map(|n| snap.id_of(n).unwrap()).collect();
            let s = crate::framework::PreScorePlugin::pre_score(&pl, &mut state, &p, &ids, &snap);
            let Some(want) = want else {
                prop_assert!(s.is_skip(), "{}", s);
                return Ok(());
            };
            prop_assert!(s.is_success(), "{}", s);
            let mut got = Vec::new();
            crate::framework::ScorePlugin::score_nodes(&pl, &state, &p, &ids, &snap, &mut got).unwrap();
            crate::framework::ScorePlugin::normalize_score(&pl, &state, &p, &mut got);
            prop_assert_eq!(got.iter().map(|s| s.score).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn the_plugin_filters_with_upstream_codes_and_reasons() {
        let snap = snapshot(cluster(zone_nodes(), two_one_zero_three()));
        let p = PodInfo::new(
            incoming(vec![tsc(1, "node", DoNotSchedule, Some(exists("foo")))]),
            Default::default(),
        );
        let pl = PodTopologySpread::with_system_defaults();
        let mut state = CycleState::new();
        let (_, s) = crate::framework::PreFilterPlugin::pre_filter(&pl, &mut state, &p, &snap);
        assert!(s.is_success());
        let codes: Vec<String> = snap
            .iter()
            .map(|n| crate::framework::FilterPlugin::filter(&pl, &state, &p, n).code().as_str().to_string())
            .collect();
        assert_eq!(codes, ["Unschedulable", "Unschedulable", "Success", "Unschedulable"]);
        let s = crate::framework::FilterPlugin::filter(&pl, &state, &p, snap.iter().next().unwrap());
        assert_eq!(s.reasons(), [filtering::ERR_REASON_CONSTRAINTS_NOT_MATCH]);
    }
}

#[test]
fn gates_off_ignore_match_label_keys_and_inclusion_policies() {
    use super::common::{filter_constraints_gated, SpreadGates};
    let mut c = tsc(1, HOSTNAME, DoNotSchedule, Some(exists("foo")));
    c.match_label_keys = vec!["rev".into()];
    c.node_affinity_policy = NodeInclusionPolicy::Ignore;
    c.node_taints_policy = NodeInclusionPolicy::Honor;
    let p_labels = labels(&[("foo", ""), ("rev", "1")]);
    let off = SpreadGates { match_label_keys: false, node_inclusion_policy: false };
    let got = filter_constraints_gated(&[c], &p_labels, DoNotSchedule, off);
    assert!(got[0].selects(&labels(&[("foo", ""), ("rev", "2")])), "matchLabelKeys ignored");
    assert_eq!(
        (got[0].node_affinity_policy, got[0].node_taints_policy),
        (NodeInclusionPolicy::Honor, NodeInclusionPolicy::Ignore)
    );
}

#[test]
fn the_plugin_reads_services_from_the_snapshot_for_system_defaults() {
    use std::sync::Arc;

    use crate::framework::{ClusterObjects, CycleState, NodeId, PodInfo, PreScorePlugin, Snapshot};
    let mut snap = Snapshot::new();
    for n in host_nodes(&["node-a", "node-b"]) {
        snap.upsert_node(n);
    }
    snap.refresh_order();
    let p = PodInfo::new(pod("p", "", &[("foo", "")]), Default::default());
    let pl = PodTopologySpread::with_system_defaults();
    let ids: Vec<NodeId> = snap.order().to_vec();
    assert!(pl.pre_score(&mut CycleState::new(), &p, &ids, &snap).is_skip(), "no Service ⇒ Skip");
    snap.objects = Arc::new(ClusterObjects {
        workloads: WorkloadSelectors {
            services: vec![ServiceSelector {
                namespace: "default".into(),
                selector: Some(labels(&[("foo", "")])),
            }]
            .into_iter()
            .map(Shared::new)
            .collect(),
            controllers: vec![],
        },
        ..Default::default()
    });
    assert!(pl.pre_score(&mut CycleState::new(), &p, &ids, &snap).is_success());
}
