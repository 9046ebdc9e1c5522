//! End-to-end cycle behaviour: node order, numFeasibleNodesToFind, round robin, tie-breaks,
//! unschedulable pods and the queue, config loading.

use kubesim_api::{meta::well_known, Container, Node, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::config::parse_config;
use kubesim_scheduler::{
    num_feasible_nodes_to_find, policy_by_name, ScheduleOutcome, Scheduler, SchedulerConfig, SchedulerOptions,
};
use sim_core::SimTime;

fn node(name: &str, cpu_millis: i64) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.status.allocatable = ResourceList::new()
        .with_cpu_millis(cpu_millis)
        .with_memory_bytes(32 << 30)
        .with(ResourceName::Pods, 110);
    n
}

fn pod(name: &str, cpu_millis: i64) -> Pod {
    let mut p = Pod::default();
    p.meta.name = name.into();
    p.meta.namespace = "default".into();
    p.spec.containers = vec![Container {
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(500 << 20),
            ..Default::default()
        },
        ..Default::default()
    }]
    .into();
    p
}

fn yaml_config(pct: i32) -> SchedulerConfig {
    let y = format!("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: {pct}\n");
    parse_config(&y).unwrap().0
}

#[test]
fn num_feasible_nodes_to_find_follows_the_adaptive_formula() {
    assert_eq!(num_feasible_nodes_to_find(None, 50), 50);
    assert_eq!(num_feasible_nodes_to_find(None, 100), 100, "50% of 100 = 50, raised to the minimum 100");
    assert_eq!(num_feasible_nodes_to_find(None, 1000), 420, "p = 50 − 1000/125 = 42");
    assert_eq!(num_feasible_nodes_to_find(None, 6000), 300, "p = max(50 − 48, 5) = 5");
    assert_eq!(num_feasible_nodes_to_find(Some(40), 1000), 400);
    assert_eq!(num_feasible_nodes_to_find(Some(100), 1000), 1000);
    assert_eq!(num_feasible_nodes_to_find(None, 5000), 500, "p = 10");
}

#[test]
fn fair_evaluation_advances_the_start_index_by_the_nodes_processed() {
    // TestFairEvaluationForNodes: 500 nodes, percentage 30 ⇒ 150 per cycle; after cycle i the
    // index is (i+1)·150 mod 500.
    let mut s = Scheduler::new(yaml_config(30), SchedulerOptions::default(), 1).unwrap();
    for i in 0..500 {
        s.add_node(node(&format!("n{i}"), 100_000), SimTime::ZERO);
    }
    for i in 0..10 {
        s.add_pod(pod(&format!("p{i}"), 10), SimTime::ZERO);
        let (out, d) = s.schedule_one_with_diagnosis(SimTime::ZERO).unwrap();
        assert!(matches!(out, ScheduleOutcome::Bound { .. }));
        assert_eq!(d.evaluated_nodes, 150);
        assert_eq!(s.next_start_node_index(), (i + 1) * 150 % 500);
    }
}

#[test]
fn nodes_are_examined_in_zone_interleaved_order() {
    let mut s = Scheduler::with_defaults(3);
    for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
        let mut nd = node(n, 4000);
        nd.meta.labels.insert(well_known::ZONE.into(), z.into());
        s.add_node(nd, SimTime::ZERO);
    }
    s.add_pod(pod("p", 100), SimTime::ZERO);
    let (_, d) = s.schedule_one_with_diagnosis(SimTime::ZERO).unwrap();
    let names: Vec<_> = d.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a1", "b1", "a2"]);
    assert!(d.nodes.iter().all(|n| n.total.is_some() && !n.scores.is_empty()));
}

#[test]
fn ties_are_broken_by_the_seeded_stream_and_reproducibly() {
    let run = |seed: u64| {
        let mut s = Scheduler::with_defaults(seed);
        for i in 0..8 {
            s.add_node(node(&format!("n{i}"), 4000), SimTime::ZERO);
        }
        s.add_pod(pod("p", 100), SimTime::ZERO);
        match s.schedule_next(SimTime::ZERO) {
            Some(ScheduleOutcome::Bound { node, .. }) => node,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(run(7), run(7));
    let distinct: std::collections::BTreeSet<String> = (0..40).map(run).collect();
    assert!(distinct.len() > 3, "equal nodes should be chosen uniformly: {distinct:?}");
}

#[test]
fn an_unschedulable_pod_reports_upstream_reasons_and_retries_after_a_pod_deletion() {
    let mut s = Scheduler::with_defaults(1);
    s.add_node(node("n1", 1000), SimTime::ZERO);
    s.add_pod(pod("big", 800), SimTime::ZERO);
    assert!(matches!(s.schedule_next(SimTime::ZERO), Some(ScheduleOutcome::Bound { .. })));
    s.add_pod(pod("next", 800), SimTime::ZERO);
    let (out, d) = s.schedule_one_with_diagnosis(SimTime::ZERO).unwrap();
    match out {
        ScheduleOutcome::Unschedulable { message, .. } => {
            assert!(
                message.starts_with("0/1 nodes are available: 1 Insufficient cpu. preemption: "),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    let last = d.nodes[0].filters.last().unwrap();
    assert_eq!((last.plugin, last.code.as_str()), ("NodeResourcesFit", "Unschedulable"));
    assert!(s.schedule_next(SimTime::from_secs(1)).is_none(), "parked in the unschedulable pool");
    s.delete_pod(&kubesim_api::ObjectKey::new("default", "big"), SimTime::from_secs(2));
    match s.schedule_next(SimTime::from_secs(2)) {
        Some(ScheduleOutcome::Bound { node, .. }) => assert_eq!(node, "n1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn exactly_one_feasible_node_is_chosen_without_scoring() {
    let mut s = Scheduler::with_defaults(1);
    s.add_node(node("small", 100), SimTime::ZERO);
    s.add_node(node("big", 4000), SimTime::ZERO);
    s.add_pod(pod("p", 1000), SimTime::ZERO);
    let (out, d) = s.schedule_one_with_diagnosis(SimTime::ZERO).unwrap();
    assert!(matches!(out, ScheduleOutcome::Bound { ref node, .. } if node == "big"));
    assert!(d.nodes.iter().all(|n| n.scores.is_empty()));
}

#[test]
fn first_fit_and_best_fit_policies_pick_as_named() {
    let setup = |policy: &str| {
        let mut s = Scheduler::with_defaults(1);
        s.set_policy(policy_by_name(policy));
        s.add_node(node("roomy", 8000), SimTime::ZERO);
        s.add_node(node("tight", 1200), SimTime::ZERO);
        s.add_pod(pod("p", 1000), SimTime::ZERO);
        match s.schedule_next(SimTime::ZERO) {
            Some(ScheduleOutcome::Bound { node, .. }) => node,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(setup("first-fit"), "roomy");
    assert_eq!(setup("best-fit"), "tight");
    assert_eq!(setup("worst-fit"), "roomy");
}

#[test]
fn config_defaults_and_star_disabling_build_the_expected_profile() {
    let y = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: packer
  plugins:
    score:
      disabled: [{name: '*'}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 0}, {name: memory, weight: 3}]
"#;
    let (cfg, _) = parse_config(y).unwrap();
    let s = Scheduler::new(cfg.clone(), SchedulerOptions::default(), 0).unwrap();
    let fw = &s.profiles()[0];
    assert_eq!(fw.profile_name(), "packer");
    let scores: Vec<_> = fw.score_plugins().iter().map(|e| (fw.plugin(e.slot).name(), e.weight)).collect();
    assert_eq!(scores, [("NodeResourcesFit", 5)]);
    let filters = fw.plugin_names(kubesim_scheduler::config::ExtensionPoint::Filter);
    assert_eq!(filters[..4], ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity"]);
    match cfg.profiles[0].args_for("NodeResourcesFit") {
        kubesim_scheduler::config::PluginArgs::NodeResourcesFit(a) => {
            assert_eq!(a.scoring_strategy.resources[0].weight, 1, "weight 0 is defaulted to 1");
            assert_eq!(a.scoring_strategy.resources[1].weight, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_default_profile_has_upstream_score_weights() {
    let s = Scheduler::with_defaults(0);
    let fw = &s.profiles()[0];
    let scores: Vec<_> = fw.score_plugins().iter().map(|e| (fw.plugin(e.slot).name(), e.weight)).collect();
    assert_eq!(
        scores,
        [
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("NodeResourcesFit", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1)
        ]
    );
}

#[test]
fn invalid_configs_name_the_field() {
    let bad = |body: &str| {
        let y =
            format!("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n{body}");
        parse_config(&y).unwrap_err().to_string()
    };
    let e = bad("profiles:\n- schedulerName: a\n  pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: Fancy\n");
    assert!(e.contains("profiles[0].pluginConfig[0].args.scoringStrategy.type"), "{e}");
    let e = bad("profiles:\n- schedulerName: a\n  pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: LeastAllocated\n        resources: [{name: cpu, weight: 101}]\n");
    assert!(e.contains("scoringStrategy.resources[0].weight"), "{e}");
    let e = bad("percentageOfNodesToScore: 120\n");
    assert!(e.contains("percentageOfNodesToScore"), "{e}");
    let e = bad("profiles:\n- schedulerName: a\n- schedulerName: a\n");
    assert!(e.contains("profiles[1].schedulerName: Duplicate value"), "{e}");
    let e = bad("profiles:\n- schedulerName: a\n- {}\n");
    assert!(e.contains("profiles[1].schedulerName: Required value"), "{e}");
    let e = bad("profiles:\n- pluginConfig:\n  - name: NodeResourcesBalancedAllocation\n    args:\n      resources: [{name: cpu, weight: 2}]\n");
    assert!(e.contains("resources[0].weight: Invalid value: 2: must be 1"), "{e}");
    let e = bad("podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n");
    assert!(e.contains("podMaxBackoffSeconds"), "{e}");
}

#[test]
fn a_shared_pod_is_cached_without_a_copy_and_binding_leaves_the_callers_object_alone() {
    use std::sync::Arc;
    let mut s = Scheduler::with_defaults(1);
    s.add_node(node("n1", 4000), SimTime::ZERO);

    // A bound pod handed over as an Arc is the very object the node's cache holds.
    let mut bound = pod("bound", 100);
    bound.spec.node_name = Some("n1".into());
    let bound = Arc::new(bound);
    assert!(s.add_pod(Arc::clone(&bound), SimTime::ZERO));
    let cached = |s: &Scheduler, name: &str| {
        let n = s.snapshot().get_by_name("n1").unwrap();
        n.pods.iter().find(|p| p.name() == name).map(|p| Arc::clone(&p.pod))
    };
    assert!(Arc::ptr_eq(&cached(&s, "bound").unwrap(), &bound));

    // Binding a pending shared pod sets nodeName on the scheduler's copy only.
    let pending = Arc::new(pod("p", 100));
    assert!(s.add_pod(Arc::clone(&pending), SimTime::ZERO));
    let out = s.schedule_next(SimTime::ZERO).unwrap();
    assert!(matches!(out, ScheduleOutcome::Bound { ref node, .. } if node == "n1"));
    assert_eq!(pending.spec.node_name, None, "the caller's object is not modified");
    let assumed = cached(&s, "p").unwrap();
    assert_eq!(assumed.spec.node_name.as_deref(), Some("n1"));
    assert!(!Arc::ptr_eq(&assumed, &pending));

    // The caller's update with the bound object replaces the copy by the shared object.
    let mut updated = Pod::clone(&pending);
    updated.spec.node_name = Some("n1".into());
    let updated = Arc::new(updated);
    assert!(s.update_pod(Arc::clone(&updated), SimTime::ZERO));
    assert!(Arc::ptr_eq(&cached(&s, "p").unwrap(), &updated));
    assert_eq!(s.snapshot().get_by_name("n1").unwrap().pods.len(), 2);

    // A plain `Pod` is still accepted.
    assert!(s.add_pod(pod("q", 100), SimTime::ZERO));
    assert_eq!(s.pending_pods(), 1);
}
