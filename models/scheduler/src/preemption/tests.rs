//! Worked cases after upstream `default_preemption_test.go` (TestSelectNodesForPreemption,
//! TestPickOneNodeForPreemption, TestPodEligibleToPreemptOthers, TestCalculateNumCandidates).

use std::sync::Arc;

use kubesim_api::meta::well_known::HOSTNAME;
use kubesim_api::{
    ConditionStatus, Container, LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, Node,
    NodeInclusionPolicy, ObjectMeta, Pod, PodCondition, PodConditionType, PreemptionPolicy, ResourceList,
    ResourceRequirements, TopologySpreadConstraint, UnsatisfiableConstraintAction,
};
use sim_core::{RngStreams, SimTime};

use super::candidates::*;
use super::*;
use crate::config::profile::{PluginRef, PluginSet, Plugins, ProfileConfig};
use crate::framework::{FilterPlugin, NodeId, Registry};
use crate::options::SchedulerOptions;

// ---------------------------------------------------------------- pure parts

fn pod(name: &str, prio: i32, start_secs: Option<u64>) -> Pod {
    let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
    p.spec.priority = Some(prio);
    p.status.start_time = start_secs.map(SimTime::from_secs);
    p
}

#[test]
fn num_candidates_is_ten_percent_at_least_one_hundred_capped_at_n() {
    assert_eq!(calculate_num_candidates(10, 10, 100), 10);
    assert_eq!(calculate_num_candidates(1000, 10, 100), 100);
    assert_eq!(calculate_num_candidates(5000, 10, 100), 500);
    // 999·10/100 = 99 (integer) < 100.
    assert_eq!(calculate_num_candidates(999, 10, 100), 100);
    assert_eq!(calculate_num_candidates(50, 40, 10), 20);
}

#[test]
fn importance_is_priority_then_earlier_start_and_unstarted_pods_are_least_important() {
    let mut v = vec![
        pod("late", 5, Some(20)),
        pod("low", 1, Some(1)),
        pod("none", 5, None),
        pod("early", 5, Some(10)),
    ];
    sort_by_importance(&mut v, |p| p);
    let names: Vec<&str> = v.iter().map(|p| p.meta.name.as_str()).collect();
    assert_eq!(names, ["early", "late", "none", "low"]);
}

fn labelled(name: &str, ns: &str, pairs: &[(&str, &str)]) -> Pod {
    let mut p = pod(name, 0, None);
    p.meta.namespace = ns.into();
    p.meta.labels = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    p
}

fn pdb(ns: &str, sel: LabelSelector, allowed: i32) -> PdbInfo {
    PdbInfo { namespace: ns.into(), name: "pdb".into(), selector: sel, disruptions_allowed: allowed }
}

#[test]
fn pdb_budgets_are_consumed_in_victim_order() {
    // Budget 1 for app=x: the first x pod uses it, the second violates; unlabelled pods never match.
    let pods = [
        labelled("x1", "default", &[("app", "x")]),
        labelled("x2", "default", &[("app", "x")]),
        labelled("bare", "default", &[]),
        labelled("x-other-ns", "other", &[("app", "x")]),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let pdbs = [pdb("default", LabelSelector::from_labels([("app", "x")]), 1)];
    assert_eq!(split_by_pdb_violation(&refs, &pdbs), (vec![1], vec![0, 2, 3]));
    // An empty selector matches nothing.
    let empty = [pdb("default", LabelSelector::default(), 0)];
    assert_eq!(split_by_pdb_violation(&refs, &empty), (vec![], vec![0, 1, 2, 3]));
}

#[test]
fn preemption_policy_never_and_terminating_victims_make_a_pod_wait() {
    let mut never = pod("p", 10, None);
    never.spec.preemption_policy = PreemptionPolicy::Never;
    assert_eq!(eligible_to_preempt(&never, None::<Vec<&Pod>>), Err(NOT_ELIGIBLE_NEVER));
    let p = pod("p", 10, None);
    let mut victim = pod("v", 1, Some(0));
    victim.meta.deletion_timestamp = Some(SimTime::from_secs(5));
    victim.status.conditions.push(PodCondition {
        kind: PodConditionType::DisruptionTarget,
        status: ConditionStatus::True,
        last_transition_time: None,
        reason: Some(REASON_PREEMPTION_BY_SCHEDULER.into()),
    });
    assert_eq!(eligible_to_preempt(&p, Some([&victim])), Err(NOT_ELIGIBLE_TERMINATING));
    // A terminating pod of equal or higher priority, or one deleted for another reason, does not block.
    let mut higher = victim.clone();
    higher.spec.priority = Some(20);
    assert_eq!(eligible_to_preempt(&p, Some([&higher])), Ok(()));
    let mut plain_delete = victim.clone();
    plain_delete.status.conditions.clear();
    assert_eq!(eligible_to_preempt(&p, Some([&plain_delete])), Ok(()));
}

fn summary<'a>(node: &'a str, victims: &'a [Pod], pdb_violations: i64) -> CandidateSummary<'a> {
    CandidateSummary { node, victims: victims.iter().collect(), num_pdb_violations: pdb_violations }
}

fn pick<'a>(c: &[CandidateSummary<'a>]) -> &'a str {
    let mut rng = RngStreams::new(1).stream("scheduler.preemption");
    c[pick_one_node_for_preemption(c, &mut rng).unwrap()].node
}

#[test]
fn pick_prefers_fewer_pdb_violations_first() {
    let a = [pod("a", 1, Some(0))];
    let b = [pod("b", 100, Some(0)), pod("b2", 100, Some(0))];
    // n2 has worse victims on every later criterion but no violation.
    assert_eq!(pick(&[summary("n1", &a, 1), summary("n2", &b, 0)]), "n2");
}

#[test]
fn pick_prefers_the_lowest_highest_victim_priority() {
    let a = [pod("a1", 10, Some(0)), pod("a2", 1, Some(0))];
    let b = [pod("b1", 5, Some(0)), pod("b2", 5, Some(0)), pod("b3", 5, Some(0))];
    assert_eq!(pick(&[summary("n1", &a, 0), summary("n2", &b, 0)]), "n2");
}

#[test]
fn pick_then_prefers_the_smallest_sum_of_shifted_priorities() {
    // Same top priority 10: Σ(p + 2^31) is smaller for n1 (10 + 1) than n2 (10 + 5).
    let a = [pod("a1", 10, Some(0)), pod("a2", 1, Some(0))];
    let b = [pod("b1", 10, Some(0)), pod("b2", 5, Some(0))];
    assert_eq!(pick(&[summary("n2", &b, 0), summary("n1", &a, 0)]), "n1");
    // Negative priorities: two pods at −10 weigh more than one, thanks to the 2^31 shift.
    let c = [pod("c1", -10, Some(0)), pod("c2", -10, Some(0))];
    let d = [pod("d1", -10, Some(0))];
    assert_eq!(pick(&[summary("n1", &c, 0), summary("n2", &d, 0)]), "n2");
}

#[test]
fn pick_then_prefers_fewer_victims() {
    // Equal highest priority (0) and equal shifted sums: n1 {0} ⇒ 0 + 2^31;
    // n2 {0, i32::MIN} ⇒ (0 + 2^31) + (−2^31 + 2^31) = 2^31. Fewer victims ⇒ n1, even though n2's
    // victims started later.
    let a = [pod("a", 0, Some(0))];
    let b = [pod("b1", 0, Some(50)), pod("b2", i32::MIN, Some(50))];
    assert_eq!(pick(&[summary("n2", &b, 0), summary("n1", &a, 0)]), "n1");
}

#[test]
fn pick_prefers_the_latest_start_among_top_priority_victims() {
    // n1's top-priority victims started at 10 and 30 (earliest 10), n2's at 20 ⇒ n2.
    let a = [pod("a1", 5, Some(10)), pod("a2", 5, Some(30)), pod("a3", 1, Some(100))];
    let b = [pod("b1", 5, Some(20)), pod("b2", 5, Some(25)), pod("b3", 1, Some(0))];
    assert_eq!(pick(&[summary("n1", &a, 0), summary("n2", &b, 0)]), "n2");
}

#[test]
fn full_ties_are_broken_by_the_seeded_stream() {
    let a = [pod("a", 5, Some(10))];
    let b = [pod("b", 5, Some(10))];
    let c = [pod("c", 5, Some(10))];
    let cands = [summary("n1", &a, 0), summary("n2", &b, 0), summary("n3", &c, 0)];
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..32 {
        let mut r1 = RngStreams::new(seed).stream("scheduler.preemption");
        let mut r2 = RngStreams::new(seed).stream("scheduler.preemption");
        let x = pick_one_node_for_preemption(&cands, &mut r1);
        assert_eq!(x, pick_one_node_for_preemption(&cands, &mut r2), "same seed, same pick");
        seen.insert(x.unwrap());
    }
    assert_eq!(seen.len(), 3, "every tied node can be chosen");
}

// ---------------------------------------------------------------- with the framework

/// A CPU-only fit filter standing in for NodeResourcesFit.
#[derive(Debug)]
struct CpuFit;

impl Plugin for CpuFit {
    fn name(&self) -> &'static str {
        "CpuFit"
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for CpuFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.requested.milli_cpu + pod.resources.requests.milli_cpu > node.allocatable.milli_cpu {
            Status::unschedulable("Insufficient cpu")
        } else {
            Status::success()
        }
    }
}

fn framework(with_spread: bool) -> Framework {
    let mut reg = Registry::new();
    reg.register("CpuFit", |_| Ok(Arc::new(CpuFit)));
    reg.register("PodTopologySpread", crate::plugins::pod_topology_spread::factory);
    reg.register(NAME, factory);
    let mut enabled = vec![PluginRef::new("CpuFit")];
    if with_spread {
        enabled.push(PluginRef::new("PodTopologySpread"));
    }
    enabled.push(PluginRef::new(NAME));
    let profile = ProfileConfig {
        scheduler_name: "test".into(),
        percentage_of_nodes_to_score: None,
        plugins: Plugins { multi_point: PluginSet { enabled, disabled: vec![] }, ..Default::default() },
        plugin_config: vec![],
    };
    Framework::new(&profile, &reg, &SchedulerOptions::default()).expect("profile builds")
}

fn cpu_pod(name: &str, prio: i32, cpu_millis: i64, start_secs: u64) -> Pod {
    let mut p = pod(name, prio, Some(start_secs));
    p.spec.containers.push(Container {
        name: "c".into(),
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(cpu_millis),
            ..Default::default()
        },
        ..Default::default()
    });
    p
}

fn cpu_node(name: &str, cpu_millis: i64) -> Node {
    let mut n = Node { meta: ObjectMeta::named("", name), ..Default::default() };
    n.meta.labels.insert(HOSTNAME.into(), name.into());
    n.status.allocatable = ResourceList::new().with_cpu_millis(cpu_millis);
    n
}

fn info(p: Pod) -> Arc<PodInfo> {
    Arc::new(PodInfo::new(p, Default::default()))
}

fn snapshot(nodes: Vec<(Node, Vec<Pod>)>) -> Snapshot {
    let mut s = Snapshot::new();
    for (n, pods) in nodes {
        let id = s.upsert_node(n);
        for p in pods {
            s.add_pod(id, info(p));
        }
    }
    s.refresh_order();
    s
}

/// Runs PreFilter + Filter everywhere, then the PostFilter; returns (result, status).
fn preempt(fw: &Framework, snap: &Snapshot, p: Pod, seed: u64) -> (Option<PostFilterResult>, Status) {
    let pod = info(p);
    let mut state = CycleState::new();
    let (_, s) = fw.run_pre_filter_plugins(&mut state, &pod, snap);
    assert!(s.is_success(), "{s}");
    let nominator = Nominator::new();
    let mut filtered = NodeToStatus::new();
    for n in snap.iter() {
        let s = fw.run_filter_plugins_with_nominated_pods(&state, &pod, n, &nominator, None);
        assert!(!s.is_success(), "the test wants no feasible node, {} fits", n.name());
        filtered.statuses.insert(n.id, s);
    }
    let mut rng = RngStreams::new(seed).stream("scheduler.preemption");
    let mut ctx = PostFilterContext { framework: fw, snapshot: snap, nominator: &nominator, rng: &mut rng };
    // Called directly: the result that clears a nomination travels with an Unschedulable status.
    let plugin = fw.plugin_by_name(NAME).expect("enabled");
    plugin.as_post_filter().expect("PostFilter").post_filter(&mut ctx, &state, &pod, &filtered)
}

fn victim_names(r: &PostFilterResult) -> Vec<&str> {
    r.victims.iter().map(|v| v.pod.meta.name.as_str()).collect()
}

#[test]
fn victims_are_the_least_important_pods_not_reprieved() {
    // 4 cores; p3 (prio 3, 2 cores) p2 (prio 2, 1 core) p1 (prio 1, 1 core); the pod needs 2.
    // Remove all ⇒ fits. Reprieve p3: 2+2 = 4 fits; p2: 5 > 4 victim; p1: victim.
    let fw = framework(false);
    let snap = snapshot(vec![(
        cpu_node("n1", 4000),
        vec![cpu_pod("p1", 1, 1000, 1), cpu_pod("p2", 2, 1000, 1), cpu_pod("p3", 3, 2000, 1)],
    )]);
    let (r, s) = preempt(&fw, &snap, cpu_pod("hi", 10, 2000, 0), 1);
    assert!(s.is_success(), "{s}");
    let r = r.unwrap();
    assert_eq!(r.nominated_node, "n1");
    assert_eq!(victim_names(&r), ["p2", "p1"]);
}

#[test]
fn pods_of_equal_or_higher_priority_are_never_victims() {
    // Only p-eq (prio 10) and p-hi (prio 20) occupy the node: no lower-priority pod ⇒ no candidate,
    // and the result clears any nomination.
    let fw = framework(false);
    let snap = snapshot(vec![(
        cpu_node("n1", 2000),
        vec![cpu_pod("p-eq", 10, 1000, 1), cpu_pod("p-hi", 20, 1000, 1)],
    )]);
    let (r, s) = preempt(&fw, &snap, cpu_pod("p", 10, 2000, 0), 1);
    assert_eq!(s.code(), Code::Unschedulable);
    assert_eq!(r.unwrap().nominated_node, "");
}

#[test]
fn a_node_still_too_small_without_any_lower_pod_is_not_a_candidate() {
    // n1 is too small even empty; n2 works by evicting its only pod.
    let fw = framework(false);
    let snap = snapshot(vec![
        (cpu_node("n1", 1000), vec![cpu_pod("a", 1, 500, 1)]),
        (cpu_node("n2", 3000), vec![cpu_pod("b", 1, 2000, 1)]),
    ]);
    let (r, s) = preempt(&fw, &snap, cpu_pod("p", 10, 2000, 0), 7);
    assert!(s.is_success());
    let r = r.unwrap();
    assert_eq!((r.nominated_node.as_str(), victim_names(&r)), ("n2", vec!["b"]));
}

#[test]
fn pdb_protected_victims_are_reprieved_first() {
    // 3 cores: hi (prio 3, 1 core) and lo (prio 1, 1 core, PDB allows 0); the pod needs 2.
    // Without the PDB: reprieve hi (fits), lo is the victim.
    // With it: lo is "violating" and reprieved first (fits), so hi becomes the victim.
    let mut lo = cpu_pod("lo", 1, 1000, 1);
    lo.meta.labels.insert("app".into(), "db".into());
    let nodes = vec![(cpu_node("n1", 3000), vec![cpu_pod("hi", 3, 1000, 1), lo])];
    let fw = framework(false);
    let snap = snapshot(nodes);
    let p = info(cpu_pod("p", 10, 2000, 0));
    let run = |pdbs: &[PdbInfo]| {
        let mut state = CycleState::new();
        fw.run_pre_filter_plugins(&mut state, &p, &snap);
        let mut node = snap.iter().next().unwrap().clone();
        select_victims_on_node(&fw, &Nominator::new(), &mut state, &p, &mut node, pdbs).unwrap()
    };
    let (v, n) = run(&[]);
    assert_eq!((v.iter().map(|p| p.pod.meta.name.as_str()).collect::<Vec<_>>(), n), (vec!["lo"], 0));
    let (v, n) = run(&[pdb("default", LabelSelector::from_labels([("app", "db")]), 0)]);
    assert_eq!((v.iter().map(|p| p.pod.meta.name.as_str()).collect::<Vec<_>>(), n), (vec!["hi"], 0));
}

#[test]
fn a_violating_victim_that_cannot_be_reprieved_counts_as_a_pdb_violation() {
    // 3 cores: big (prio 3, 2 cores, PDB allows 0) and small (prio 1, 1 core); the pod needs 2.
    // big is reprieved first but 2+2 > 3 ⇒ victim, 1 violation; small then fits.
    let mut big = cpu_pod("big", 3, 2000, 1);
    big.meta.labels.insert("app".into(), "db".into());
    let fw = framework(false);
    let snap = snapshot(vec![(cpu_node("n1", 3000), vec![big, cpu_pod("small", 1, 1000, 1)])]);
    let p = info(cpu_pod("p", 10, 2000, 0));
    let mut state = CycleState::new();
    fw.run_pre_filter_plugins(&mut state, &p, &snap);
    let mut node = snap.iter().next().unwrap().clone();
    let pdbs = [pdb("default", LabelSelector::from_labels([("app", "db")]), 0)];
    let (v, n) = select_victims_on_node(&fw, &Nominator::new(), &mut state, &p, &mut node, &pdbs).unwrap();
    assert_eq!(v.iter().map(|p| p.pod.meta.name.as_str()).collect::<Vec<_>>(), ["big"]);
    assert_eq!(n, 1);
}

#[test]
fn the_node_with_the_lowest_priority_victims_is_chosen() {
    // Both nodes work; n1 would evict a prio-5 pod, n2 a prio-2 pod ⇒ n2.
    let fw = framework(false);
    let snap = snapshot(vec![
        (cpu_node("n1", 2000), vec![cpu_pod("mid", 5, 2000, 1)]),
        (cpu_node("n2", 2000), vec![cpu_pod("low", 2, 2000, 1)]),
    ]);
    for seed in 0..8 {
        let (r, s) = preempt(&fw, &snap, cpu_pod("p", 10, 2000, 0), seed);
        assert!(s.is_success());
        assert_eq!(r.unwrap().nominated_node, "n2", "seed {seed}");
    }
}

#[test]
fn dry_run_stops_after_enough_candidates_starting_at_the_offset() {
    // Three identical nodes, numCandidates 1: the candidate is the node at the offset.
    let fw = framework(false);
    let snap = snapshot(
        ["n0", "n1", "n2"]
            .iter()
            .map(|n| (cpu_node(n, 1000), vec![cpu_pod(&format!("v-{n}"), 1, 1000, 1)]))
            .collect(),
    );
    let p = info(cpu_pod("p", 10, 1000, 0));
    let mut state = CycleState::new();
    fw.run_pre_filter_plugins(&mut state, &p, &snap);
    let nodes: Vec<&NodeInfo> = snap.iter().collect();
    for offset in 0..3 {
        let c = dry_run_preemption(&fw, &Nominator::new(), &state, &p, &nodes, &[], offset, 1);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].node, format!("n{offset}"));
    }
    let all = dry_run_preemption(&fw, &Nominator::new(), &state, &p, &nodes, &[], 1, 3);
    assert_eq!(all.iter().map(|c| c.node.as_str()).collect::<Vec<_>>(), ["n1", "n2", "n0"]);
}

#[test]
fn unresolvable_nodes_are_never_candidates() {
    let fw = framework(false);
    let snap = snapshot(vec![(cpu_node("n1", 2000), vec![cpu_pod("low", 1, 2000, 1)])]);
    let pod = info(cpu_pod("p", 10, 2000, 0));
    let mut state = CycleState::new();
    fw.run_pre_filter_plugins(&mut state, &pod, &snap);
    let mut filtered = NodeToStatus::new();
    filtered.statuses.insert(NodeId(0), Status::unresolvable("node(s) had untolerated taint(s)"));
    let nominator = Nominator::new();
    let mut rng = RngStreams::new(0).stream("scheduler.preemption");
    let mut ctx = PostFilterContext { framework: &fw, snapshot: &snap, nominator: &nominator, rng: &mut rng };
    let (r, s) = fw.run_post_filter_plugins(&mut ctx, &state, &pod, &filtered);
    assert_eq!(s.code(), Code::Unschedulable);
    assert!(r.is_none_or(|r| r.nominated_node.is_empty()));
}

#[test]
fn lower_priority_nominations_on_the_chosen_node_are_listed_for_clearing() {
    let mut nominator = Nominator::new();
    nominator.add(info(pod("low", 1, None)), "n1");
    nominator.add(info(pod("high", 50, None)), "n1");
    nominator.add(info(pod("elsewhere", 1, None)), "n2");
    let keys = lower_priority_nominated_pods(&nominator, &info(pod("p", 10, None)), "n1");
    assert_eq!(keys, [kubesim_api::ObjectKey::new("default", "low")]);
}

#[test]
fn preemption_sees_spread_counts_through_remove_and_add_pod() {
    // Hard spread by hostname, maxSkew 1, minDomains 2 (only n1 is a domain ⇒ global min 0).
    // n1 holds two matching low-priority pods: 2+1−0 = 3 > 1. Removing both gives 1 ≤ 1; adding
    // one back gives 2 > 1, so both are victims — visible only if RemovePod/AddPod update counts.
    let fw = framework(true);
    let app = |name: &str| {
        let mut p = cpu_pod(name, 1, 100, 1);
        p.meta.labels = Labels::from([("app".to_string(), "web".to_string())]).into();
        p
    };
    let mut zoneless = cpu_node("n2", 100);
    zoneless.meta.labels.clear();
    let snap = snapshot(vec![(cpu_node("n1", 4000), vec![app("w1"), app("w2")]), (zoneless, vec![])]);
    let mut p = app("p");
    p.spec.priority = Some(10);
    p.spec.extras.topology_spread_constraints = vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: HOSTNAME.into(),
        when_unsatisfiable: UnsatisfiableConstraintAction::DoNotSchedule,
        label_selector: Some(LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![LabelSelectorRequirement {
                key: "app".into(),
                operator: LabelSelectorOperator::Exists,
                values: vec![],
            }],
        }),
        min_domains: Some(2),
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
        match_label_keys: vec![],
    }];
    let (r, s) = preempt(&fw, &snap, p, 3);
    assert!(s.is_success(), "{s}");
    let r = r.unwrap();
    assert_eq!(r.nominated_node, "n1");
    assert_eq!(victim_names(&r).len(), 2);
}

proptest::proptest! {
    /// Whatever the node holds, the victims chosen on it are lower-priority pods, ordered by
    /// importance, and evicting exactly them lets the pod fit; every reprieved pod is needed to be
    /// reprieved no more: adding any single victim back makes the pod not fit (CPU is additive).
    #[test]
    fn victims_make_room_and_none_could_stay(
        pods in proptest::collection::vec((0i32..6, 1i64..5), 0..7),
        want in 1i64..5,
        prio in 1i32..7,
    ) {
        let fw = framework(false);
        let existing: Vec<Pod> = pods.iter().enumerate()
            .map(|(i, (p, c))| cpu_pod(&format!("e{i}"), *p, c * 1000, i as u64)).collect();
        let snap = snapshot(vec![(cpu_node("n1", 6000), existing)]);
        let p = info(cpu_pod("p", prio, want * 1000, 100));
        let mut state = CycleState::new();
        fw.run_pre_filter_plugins(&mut state, &p, &snap);
        let mut node = snap.iter().next().unwrap().clone();
        if let Ok((victims, _)) = select_victims_on_node(&fw, &Nominator::new(), &mut state, &p, &mut node, &[]) {
            let original = snap.iter().next().unwrap();
            proptest::prop_assert!(victims.iter().all(|v| v.priority() < prio));
            proptest::prop_assert!(victims.windows(2).all(|w| !more_important(&w[1].pod, &w[0].pod)));
            let freed: i64 = victims.iter().map(|v| v.resources.requests.milli_cpu).sum();
            let used = original.requested.milli_cpu - freed;
            proptest::prop_assert!(used + want * 1000 <= 6000, "pod fits after eviction");
            for v in &victims {
                proptest::prop_assert!(used + v.resources.requests.milli_cpu + want * 1000 > 6000, "{} could stay", v.key());
            }
        }
    }
}

#[test]
fn pdbs_in_the_snapshot_steer_the_choice_of_node() {
    // n1 would evict a prio-1 pod, n2 a prio-5 pod: n1 wins on priority, unless n1's pod is
    // protected by a PDB with no disruptions left (fewest violations comes first).
    let mut guarded = cpu_pod("guarded", 1, 2000, 1);
    guarded.meta.labels.insert("app".into(), "db".into());
    let fw = framework(false);
    let mut snap = snapshot(vec![
        (cpu_node("n1", 2000), vec![guarded]),
        (cpu_node("n2", 2000), vec![cpu_pod("mid", 5, 2000, 1)]),
    ]);
    let (r, _) = preempt(&fw, &snap, cpu_pod("p", 10, 2000, 0), 0);
    assert_eq!(r.unwrap().nominated_node, "n1");
    snap.objects = Arc::new(crate::framework::ClusterObjects {
        pdbs: vec![pdb("default", LabelSelector::from_labels([("app", "db")]), 0)],
        ..Default::default()
    });
    let (r, s) = preempt(&fw, &snap, cpu_pod("p", 10, 2000, 0), 0);
    assert!(s.is_success());
    let r = r.unwrap();
    assert_eq!((r.nominated_node.as_str(), victim_names(&r)), ("n2", vec!["mid"]));
}
