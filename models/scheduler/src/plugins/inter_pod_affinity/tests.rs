//! Worked cases after upstream `interpodaffinity/filtering_test.go` (TestRequiredAffinitySingleNode,
//! TestRequiredAffinityMultipleNodes) and `scoring_test.go` (TestPreferredAffinity).

use std::collections::BTreeMap;

use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, Node, ObjectMeta, Pod,
    PodAffinityTerm, WeightedPodAffinityTerm,
};

use super::*;
use crate::plugins::pod_topology_spread::NodeWithPods;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn node(name: &str, pairs: &[(&str, &str)]) -> Node {
    let mut n = Node { meta: ObjectMeta::named("", name), ..Default::default() };
    n.meta.labels = labels(pairs).into();
    n
}

fn pod_in(ns: &str, name: &str, on: &str, pairs: &[(&str, &str)]) -> Pod {
    let mut p = Pod { meta: ObjectMeta::named(ns, name), ..Default::default() };
    p.meta.labels = labels(pairs).into();
    if !on.is_empty() {
        p.spec.node_name = Some(on.to_string());
    }
    p
}

fn pod(name: &str, on: &str, pairs: &[(&str, &str)]) -> Pod {
    pod_in("default", name, on, pairs)
}

fn in_values(key: &str, values: &[&str]) -> LabelSelector {
    LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![LabelSelectorRequirement {
            key: key.into(),
            operator: LabelSelectorOperator::In,
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
    }
}

fn term(sel: LabelSelector, key: &str) -> PodAffinityTerm {
    PodAffinityTerm { label_selector: Some(sel), topology_key: key.into(), ..Default::default() }
}

fn weighted(weight: i32, t: PodAffinityTerm) -> WeightedPodAffinityTerm {
    WeightedPodAffinityTerm { weight, term: t }
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

/// Filter codes per node: "ok", "U", "UU" (a skipped PreFilter means "ok" everywhere).
fn filter_all(p: &Pod, c: &[NodeWithPods], ns: &NamespaceLabels) -> Vec<&'static str> {
    let Some(state) = AffinityFilterState::compute(p, c.iter(), ns) else {
        return vec!["ok"; c.len()];
    };
    c.iter()
        .map(|n| match state.filter(p, &n.node) {
            AffinityVerdict::Fits => "ok",
            AffinityVerdict::Unschedulable(_) => "U",
            AffinityVerdict::UnschedulableAndUnresolvable(_) => "UU",
        })
        .collect()
}

fn no_ns() -> NamespaceLabels {
    BTreeMap::new()
}

fn with_affinity(mut p: Pod, t: PodAffinityTerm) -> Pod {
    p.spec.extras.affinity.pod_affinity.required.push(t);
    p
}

fn with_anti_affinity(mut p: Pod, t: PodAffinityTerm) -> Pod {
    p.spec.extras.affinity.pod_anti_affinity.required.push(t);
    p
}

#[test]
fn a_pod_without_terms_skips_prefilter_when_no_existing_anti_affinity_matches() {
    let c = cluster(vec![node("n1", &[("region", "r1")])], vec![pod("e", "n1", &[("app", "x")])]);
    assert!(AffinityFilterState::compute(&pod("p", "", &[]), c.iter(), &no_ns()).is_none());
}

#[test]
fn required_affinity_is_satisfied_by_a_matching_pod_in_the_same_domain() {
    let c = cluster(
        vec![node("n1", &[("region", "r1")]), node("n2", &[("region", "r2")]), node("n3", &[("zone", "z")])],
        vec![pod("e", "n1", &[("service", "securityscan")])],
    );
    let p =
        with_affinity(pod("p", "", &[]), term(in_values("service", &["securityscan", "value2"]), "region"));
    // n2: the domain r2 holds no match; n3 lacks the key.
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["ok", "UU", "UU"]);
}

#[test]
fn matching_pods_in_other_namespaces_do_not_satisfy_affinity() {
    let c =
        cluster(vec![node("n1", &[("region", "r1")])], vec![pod_in("other", "e", "n1", &[("service", "s")])]);
    let p = with_affinity(pod("p", "", &[]), term(in_values("service", &["s"]), "region"));
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["UU"]);
    // Naming the namespace in the term makes it count.
    let mut t = term(in_values("service", &["s"]), "region");
    t.namespaces = vec!["other".into()];
    assert_eq!(filter_all(&with_affinity(pod("p", "", &[]), t), &c, &no_ns()), vec!["ok"]);
}

#[test]
fn the_first_pod_of_a_self_affine_group_may_go_anywhere_with_the_key() {
    // No pod matches anywhere, the incoming pod matches its own term ⇒ passes on nodes with the key.
    let c = cluster(vec![node("n1", &[("region", "r1")]), node("n2", &[("zone", "z")])], vec![]);
    let p = with_affinity(pod("p", "", &[("app", "web")]), term(in_values("app", &["web"]), "region"));
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["ok", "UU"]);
    // ... but not once some pod somewhere matches (the exception needs an empty count map).
    let c = cluster(
        vec![node("n1", &[("region", "r1")]), node("n2", &[("region", "r2")])],
        vec![pod("e", "n2", &[("app", "web")])],
    );
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["UU", "ok"]);
    // A pod not matching its own terms gets no exception.
    let q = with_affinity(pod("q", "", &[("app", "db")]), term(in_values("app", &["web"]), "region"));
    let empty = cluster(vec![node("n1", &[("region", "r1")])], vec![]);
    assert_eq!(filter_all(&q, &empty, &no_ns()), vec!["UU"]);
}

#[test]
fn affinity_counts_only_pods_matching_all_terms() {
    // Two terms: service=s (region) and app=web (zone). e1 matches only one ⇒ not counted.
    let nodes = vec![node("n1", &[("region", "r1"), ("zone", "z1")])];
    let p = with_affinity(
        with_affinity(pod("p", "", &[]), term(in_values("service", &["s"]), "region")),
        term(in_values("app", &["web"]), "zone"),
    );
    let one = cluster(nodes.clone(), vec![pod("e1", "n1", &[("service", "s")])]);
    assert_eq!(filter_all(&p, &one, &no_ns()), vec!["UU"]);
    let both = cluster(nodes, vec![pod("e2", "n1", &[("service", "s"), ("app", "web")])]);
    assert_eq!(filter_all(&p, &both, &no_ns()), vec!["ok"]);
}

#[test]
fn required_anti_affinity_rejects_the_whole_domain() {
    let c = cluster(
        vec![node("n1", &[("zone", "z1")]), node("n2", &[("zone", "z1")]), node("n3", &[("zone", "z2")])],
        vec![pod("e", "n1", &[("app", "db")])],
    );
    let p = with_anti_affinity(pod("p", "", &[]), term(in_values("app", &["db"]), "zone"));
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["U", "U", "ok"]);
}

#[test]
fn existing_pods_anti_affinity_repels_the_incoming_pod() {
    // The existing pod refuses app=web in its zone; the incoming pod has no terms at all.
    let e = with_anti_affinity(pod("e", "n1", &[]), term(in_values("app", &["web"]), "zone"));
    let c = cluster(
        vec![node("n1", &[("zone", "z1")]), node("n2", &[("zone", "z1")]), node("n3", &[("zone", "z2")])],
        vec![e],
    );
    let p = pod("p", "", &[("app", "web")]);
    assert_eq!(filter_all(&p, &c, &no_ns()), vec!["U", "U", "ok"]);
    // A pod of another namespace is outside the existing pod's term (default: its own namespace).
    let q = pod_in("other", "q", "", &[("app", "web")]);
    assert_eq!(filter_all(&q, &c, &no_ns()), vec!["ok", "ok", "ok"]);
}

#[test]
fn existing_pods_namespace_selector_reads_the_incoming_pods_namespace_labels() {
    let mut t = term(in_values("app", &["web"]), "zone");
    t.namespace_selector = Some(LabelSelector::from_labels([("team", "a")]));
    let e = with_anti_affinity(pod("e", "n1", &[]), t);
    let c = cluster(vec![node("n1", &[("zone", "z1")])], vec![e]);
    let ns: NamespaceLabels = BTreeMap::from([
        ("ns-a".to_string(), labels(&[("team", "a")])),
        ("ns-b".to_string(), labels(&[("team", "b")])),
    ]);
    assert_eq!(filter_all(&pod_in("ns-a", "p", "", &[("app", "web")]), &c, &ns), vec!["U"]);
    assert_eq!(filter_all(&pod_in("ns-b", "p", "", &[("app", "web")]), &c, &ns), vec!["ok"]);
}

#[test]
fn incoming_namespace_selectors_unroll_to_the_selected_namespaces_and_empty_means_all() {
    let c = cluster(vec![node("n1", &[("zone", "z1")])], vec![pod_in("ns-a", "e", "n1", &[("app", "db")])]);
    let ns: NamespaceLabels = BTreeMap::from([("ns-a".to_string(), labels(&[("team", "a")]))]);
    let mut t = term(in_values("app", &["db"]), "zone");
    t.namespace_selector = Some(LabelSelector::from_labels([("team", "a")]));
    assert_eq!(filter_all(&with_anti_affinity(pod("p", "", &[]), t.clone()), &c, &ns), vec!["U"]);
    t.namespace_selector = Some(LabelSelector::from_labels([("team", "b")]));
    assert_eq!(filter_all(&with_anti_affinity(pod("p", "", &[]), t.clone()), &c, &ns), vec!["ok"]);
    t.namespace_selector = Some(LabelSelector::default());
    assert_eq!(filter_all(&with_anti_affinity(pod("p", "", &[]), t), &c, &ns), vec!["U"]);
}

#[test]
fn match_and_mismatch_label_keys_use_the_owning_pods_values() {
    let mut t = term(in_values("app", &["web"]), "zone");
    t.match_label_keys = vec!["rev".into()];
    let owner = pod("p", "", &[("rev", "1")]);
    let resolved = AffinityTerm::new(&owner, &t);
    assert!(resolved.matches(&pod("a", "", &[("app", "web"), ("rev", "1")]), None));
    assert!(!resolved.matches(&pod("b", "", &[("app", "web"), ("rev", "2")]), None));
    let mut m = term(in_values("app", &["web"]), "zone");
    m.mismatch_label_keys = vec!["rev".into()];
    let resolved = AffinityTerm::new(&owner, &m);
    assert!(!resolved.matches(&pod("a", "", &[("app", "web"), ("rev", "1")]), None));
    assert!(resolved.matches(&pod("b", "", &[("app", "web"), ("rev", "2")]), None));
    // A nil selector selects nothing, keys or not.
    let nil = PodAffinityTerm {
        topology_key: "zone".into(),
        match_label_keys: vec!["rev".into()],
        ..Default::default()
    };
    assert!(!AffinityTerm::new(&owner, &nil).matches(&pod("a", "", &[("rev", "1")]), None));
}

#[test]
fn add_and_remove_pod_update_all_three_count_maps() {
    let c = cluster(vec![node("n1", &[("zone", "z1")]), node("n2", &[("zone", "z2")])], vec![]);
    let p = with_anti_affinity(pod("p", "", &[("app", "web")]), term(in_values("app", &["db"]), "zone"));
    let mut s = AffinityFilterState::compute(&p, c.iter(), &no_ns()).unwrap();
    assert_eq!(s.filter(&p, &c[0].node), AffinityVerdict::Fits);
    let db = pod("db", "n1", &[("app", "db")]);
    s.update_with_pod(&p, &db, &c[0].node, 1);
    assert!(matches!(s.filter(&p, &c[0].node), AffinityVerdict::Unschedulable(_)));
    s.update_with_pod(&p, &db, &c[0].node, -1);
    assert!(s.anti_affinity_counts.is_empty(), "zero entries are dropped");
    // A nominated pod with anti-affinity towards the incoming pod.
    let hater = with_anti_affinity(pod("h", "n2", &[]), term(in_values("app", &["web"]), "zone"));
    s.update_with_pod(&p, &hater, &c[1].node, 1);
    assert_eq!(
        s.filter(&p, &c[1].node),
        AffinityVerdict::Unschedulable(filtering::ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
    );
}

// ---------------------------------------------------------------- scoring

fn scores(p: &Pod, c: &[NodeWithPods], args: AffinityScoreArgs) -> Option<Vec<i64>> {
    let s = AffinityScoreState::compute(p, c.iter(), args, &no_ns())?;
    let mut raw: Vec<i64> = c.iter().map(|n| s.score(&n.node)).collect();
    s.normalize(&mut raw);
    Some(raw)
}

fn three_nodes() -> Vec<Node> {
    vec![node("n1", &[("region", "China")]), node("n2", &[("region", "India")]), node("n3", &[("az", "az1")])]
}

#[test]
fn preferred_affinity_favours_the_domain_of_matching_pods() {
    // raw n1 = 5 (S1 pod in China), n2 = 0, n3 = 0 ⇒ 100, 0, 0.
    let c = cluster(
        three_nodes(),
        vec![pod("e1", "n1", &[("security", "S1")]), pod("e2", "n2", &[("security", "S2")])],
    );
    let mut p = pod("p", "", &[]);
    p.spec
        .extras
        .affinity
        .pod_affinity
        .preferred
        .push(weighted(5, term(in_values("security", &["S1"]), "region")));
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![100, 0, 0]));
}

#[test]
fn preferred_anti_affinity_normalizes_negative_scores_from_the_minimum() {
    // raw n1 = −5, n2 = 0, n3 = 0 ⇒ min −5, max 0: 100·(s+5)/5 = 0, 100, 100.
    let c = cluster(three_nodes(), vec![pod("e1", "n1", &[("security", "S1")])]);
    let mut p = pod("p", "", &[]);
    p.spec
        .extras
        .affinity
        .pod_anti_affinity
        .preferred
        .push(weighted(5, term(in_values("security", &["S1"]), "region")));
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![0, 100, 100]));
}

#[test]
fn mixed_weights_truncate_after_the_float_division() {
    // Affinity w8 to S1 (n1), anti-affinity w3 to S2 (n2): raw 8, −3, 0 ⇒ range 11:
    // n1 100, n2 0, n3 trunc(100·3/11) = trunc(27.27) = 27.
    let c = cluster(
        three_nodes(),
        vec![pod("e1", "n1", &[("security", "S1")]), pod("e2", "n2", &[("security", "S2")])],
    );
    let mut p = pod("p", "", &[]);
    p.spec
        .extras
        .affinity
        .pod_affinity
        .preferred
        .push(weighted(8, term(in_values("security", &["S1"]), "region")));
    p.spec
        .extras
        .affinity
        .pod_anti_affinity
        .preferred
        .push(weighted(3, term(in_values("security", &["S2"]), "region")));
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![100, 0, 27]));
}

#[test]
fn existing_pods_required_affinity_adds_the_hard_weight() {
    // e1 requires security=S1 pods in its region; the incoming pod has that label and no terms.
    let e1 = with_affinity(pod("e1", "n1", &[]), term(in_values("security", &["S1"]), "region"));
    let c = cluster(three_nodes(), vec![e1]);
    let p = pod("p", "", &[("security", "S1")]);
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![100, 0, 0]));
    let weight0 = AffinityScoreArgs { hard_pod_affinity_weight: 0, ..Default::default() };
    assert_eq!(scores(&p, &c, weight0), None, "nothing accumulated ⇒ Skip");
}

#[test]
fn existing_pods_preferred_terms_count_unless_ignored() {
    let mut e1 = pod("e1", "n1", &[]);
    e1.spec
        .extras
        .affinity
        .pod_anti_affinity
        .preferred
        .push(weighted(10, term(in_values("security", &["S1"]), "region")));
    let c = cluster(three_nodes(), vec![e1]);
    let p = pod("p", "", &[("security", "S1")]);
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![0, 100, 100]));
    let ignore = AffinityScoreArgs { ignore_preferred_terms_of_existing_pods: true, ..Default::default() };
    assert_eq!(scores(&p, &c, ignore), None);
}

#[test]
fn equal_scores_everywhere_normalize_to_zero() {
    let c = cluster(
        vec![node("n1", &[("region", "r")]), node("n2", &[("region", "r")])],
        vec![pod("e", "n1", &[("a", "b")])],
    );
    let mut p = pod("p", "", &[]);
    p.spec.extras.affinity.pod_affinity.preferred.push(weighted(5, term(in_values("a", &["b"]), "region")));
    assert_eq!(scores(&p, &c, AffinityScoreArgs::default()), Some(vec![0, 0]));
}

#[test]
fn the_plugin_reads_namespace_labels_from_the_snapshot() {
    use std::sync::Arc;

    use crate::framework::{ClusterObjects, CycleState, FilterPlugin, PodInfo, PreFilterPlugin, Snapshot};
    let mut snap = Snapshot::new();
    let id = snap.upsert_node(node("n1", &[("zone", "z1")]));
    snap.add_pod(id, Arc::new(PodInfo::new(pod_in("ns-a", "e", "n1", &[("app", "db")]), Default::default())));
    snap.refresh_order();
    let mut t = term(in_values("app", &["db"]), "zone");
    t.namespace_selector = Some(LabelSelector::from_labels([("team", "a")]));
    let p = PodInfo::new(with_anti_affinity(pod("p", "", &[]), t), Default::default());
    let pl = InterPodAffinity::default();
    let run = |snap: &Snapshot| {
        let mut state = CycleState::new();
        let (_, s) = pl.pre_filter(&mut state, &p, snap);
        assert!(s.is_success());
        pl.filter(&state, &p, snap.iter().next().unwrap()).code()
    };
    assert_eq!(run(&snap), crate::framework::Code::Success, "unknown namespace labels select nothing");
    snap.objects = Arc::new(ClusterObjects {
        namespace_labels: BTreeMap::from([("ns-a".to_string(), labels(&[("team", "a")]))]),
        ..Default::default()
    });
    assert_eq!(run(&snap), crate::framework::Code::Unschedulable);
}

proptest::proptest! {
    /// Oracle: AddPod/RemovePod keep the three count maps equal to a recomputation from scratch.
    #[test]
    fn incremental_updates_match_recomputation(
        ops in proptest::collection::vec((0usize..3, 0usize..3, proptest::bool::ANY), 0..12),
    ) {
        let nodes = vec![node("n0", &[("zone", "z1")]), node("n1", &[("zone", "z1")]), node("n2", &[("zone", "z2")])];
        // The incoming pod: affinity to app=web, anti-affinity to app=db; kinds of added pods:
        // 0 = web, 1 = db, 2 = a pod whose anti-affinity rejects app=p.
        let p = with_anti_affinity(
            with_affinity(pod("p", "", &[("app", "p")]), term(in_values("app", &["web"]), "zone")),
            term(in_values("app", &["db"]), "zone"),
        );
        let make = |kind: usize, i: usize, on: &str| match kind {
            0 => pod(&format!("w{i}"), on, &[("app", "web")]),
            1 => pod(&format!("d{i}"), on, &[("app", "db")]),
            _ => with_anti_affinity(pod(&format!("h{i}"), on, &[]), term(in_values("app", &["p"]), "zone")),
        };
        let mut pods: Vec<Pod> = vec![make(0, 100, "n0")];
        let mut state = AffinityFilterState::compute(&p, cluster(nodes.clone(), pods.clone()).iter(), &no_ns()).unwrap();
        for (i, (kind, n, add)) in ops.into_iter().enumerate() {
            let name = ["n0", "n1", "n2"][n];
            if add {
                let np = make(kind, i, name);
                state.update_with_pod(&p, &np, &nodes[n], 1);
                pods.push(np);
            } else if let Some(idx) = pods.iter().position(|q| q.spec.node_name.as_deref() == Some(name)) {
                let gone = pods.remove(idx);
                state.update_with_pod(&p, &gone, &nodes[n], -1);
            }
            let fresh = AffinityFilterState::compute(&p, cluster(nodes.clone(), pods.clone()).iter(), &no_ns()).unwrap();
            proptest::prop_assert_eq!(&state.affinity_counts, &fresh.affinity_counts);
            proptest::prop_assert_eq!(&state.anti_affinity_counts, &fresh.anti_affinity_counts);
            proptest::prop_assert_eq!(&state.existing_anti_affinity_counts, &fresh.existing_anti_affinity_counts);
        }
    }
}
