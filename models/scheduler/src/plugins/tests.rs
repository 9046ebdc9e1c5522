//! Worked cases for the in-tree plugins, taken from the upstream unit tests named in each test.

use std::sync::Arc;

use kubesim_api::{
    Container, ContainerImage, Node, NodeSelector, NodeSelectorOperator, NodeSelectorRequirement,
    NodeSelectorTerm, Pod, PreferredSchedulingTerm, ResourceList, ResourceName, ResourceRequirements, Taint,
    TaintEffect, Toleration, TolerationOperator,
};

use crate::config::args::*;
use crate::framework::*;

use super::balanced_allocation::BalancedAllocation;
use super::image_locality::{calculate_priority, ImageLocality};
use super::node_affinity::NodeAffinity;
use super::node_resources_fit::NodeResourcesFit;
use super::taint_toleration::TaintToleration;

pub(crate) fn node(name: &str, cpu_millis: i64, memory: i64) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.status.allocatable = ResourceList::new()
        .with_cpu_millis(cpu_millis)
        .with_memory_bytes(memory)
        .with(ResourceName::Pods, 110);
    n
}

pub(crate) fn container(cpu_millis: i64, memory: i64) -> Container {
    Container {
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(memory),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub(crate) fn pod_with(containers: Vec<Container>) -> PodInfo {
    let mut p = Pod::default();
    p.meta.name = "p".into();
    p.meta.namespace = "default".into();
    p.spec.containers = containers.into();
    PodInfo::new(p, PodResourcesOptions::default())
}

fn info(n: Node) -> NodeInfo {
    NodeInfo::new(NodeId(0), Arc::new(n))
}

fn fit(kind: ScoringStrategyType, shape: Vec<UtilizationShapePoint>) -> NodeResourcesFit {
    NodeResourcesFit::new(&NodeResourcesFitArgs {
        scoring_strategy: ScoringStrategy { kind, resources: default_resources(), shape },
        ..Default::default()
    })
}

fn upstream_pod() -> PodInfo {
    // The "cpuAndMemory" pod of the upstream tests: containers (1000m, 2000) and (2000m, 3000).
    pod_with(vec![container(1000, 2000), container(2000, 3000)])
}

#[test]
fn least_allocated_prefers_the_emptier_node() {
    // least_allocated_test.go "nothing scheduled, resources requested, differently sized nodes":
    // node1 4000m/10000: cpu (4000−3000)·100/4000 = 25, mem (10000−5000)·100/10000 = 50 ⇒ (25+50)/2 = 37.
    // node2 6000m/10000: cpu 50, mem 50 ⇒ 50.
    let pl = fit(ScoringStrategyType::LeastAllocated, vec![]);
    let pod = upstream_pod();
    assert_eq!(pl.score_node(&pod, &info(node("n1", 4000, 10000))), 37);
    assert_eq!(pl.score_node(&pod, &info(node("n2", 6000, 10000))), 50);
}

#[test]
fn least_allocated_gives_an_empty_pod_on_empty_nodes_full_marks_without_defaults() {
    // A pod with zero containers gets no non-zero defaults ⇒ 100 on an empty node.
    let pl = fit(ScoringStrategyType::LeastAllocated, vec![]);
    assert_eq!(pl.score_node(&pod_with(vec![]), &info(node("n", 4000, 10000))), 100);
    // A container without requests counts 100m / 200 MiB for scoring: node 1000m / 1 GiB:
    // cpu (1000−100)·100/1000 = 90, mem (1024−200)·100/1024 = 80.46 → 80 ⇒ (90+80)/2 = 85.
    let c = Container { name: "c".into(), ..Default::default() };
    assert_eq!(pl.score_node(&pod_with(vec![c]), &info(node("n", 1000, 1 << 30))), 85);
}

#[test]
fn most_allocated_prefers_the_fuller_node() {
    // most_allocated_test.go: node1 cpu 3000·100/4000 = 75, mem 50 ⇒ 62; node2 50, 50 ⇒ 50.
    let pl = fit(ScoringStrategyType::MostAllocated, vec![]);
    let pod = upstream_pod();
    assert_eq!(pl.score_node(&pod, &info(node("n1", 4000, 10000))), 62);
    assert_eq!(pl.score_node(&pod, &info(node("n2", 6000, 10000))), 50);
}

#[test]
fn requested_to_capacity_ratio_rounds_the_weighted_mean_half_away_from_zero() {
    // Shape (0,0)→(100,10) ×10 ⇒ f(u) = u. cpu u = 75, mem u = 50 ⇒ round(125/2 = 62.5) = 63.
    let shape = vec![
        UtilizationShapePoint { utilization: 0, score: 0 },
        UtilizationShapePoint { utilization: 100, score: 10 },
    ];
    let pl = fit(ScoringStrategyType::RequestedToCapacityRatio, shape);
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n1", 4000, 10000))), 63);
}

#[test]
fn requested_to_capacity_ratio_drops_zero_scored_resources_from_the_mean() {
    // Shape (0,10)→(100,0): f(u) = 100 − u. cpu u = 100 (request > capacity) ⇒ 0, not counted;
    // mem u = 50 ⇒ 50 ⇒ 50/1 = 50.
    let shape = vec![
        UtilizationShapePoint { utilization: 0, score: 10 },
        UtilizationShapePoint { utilization: 100, score: 0 },
    ];
    let pl = fit(ScoringStrategyType::RequestedToCapacityRatio, shape);
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n1", 2000, 10000))), 50);
}

#[test]
fn fit_filter_reports_every_insufficient_resource_and_too_many_pods() {
    let pl = fit(ScoringStrategyType::LeastAllocated, vec![]);
    let mut n = info(node("n", 4000, 10000));
    n.allocatable.allowed_pod_number = 1;
    n.add_pod(Arc::new(pod_with(vec![container(2000, 6000)])));
    let s = pl.filter(&CycleState::new(), &upstream_pod(), &n);
    assert_eq!(s.code(), Code::Unschedulable);
    assert_eq!(s.reasons(), ["Too many pods", "Insufficient cpu", "Insufficient memory"]);
}

#[test]
fn fit_filter_is_unresolvable_when_the_request_exceeds_the_whole_allocatable() {
    let pl = fit(ScoringStrategyType::LeastAllocated, vec![]);
    let n = info(node("n", 2000, 10000));
    let s = pl.filter(&CycleState::new(), &upstream_pod(), &n);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
    assert_eq!(s.reasons(), ["Insufficient cpu"]);
}

#[test]
fn fit_filter_checks_extended_resources_unless_ignored() {
    let gpu = ResourceName::parse("nvidia.com/gpu");
    let mut c = container(100, 100);
    c.resources.requests.set(gpu.clone(), 2);
    let pod = pod_with(vec![c]);
    let mut nd = node("n", 4000, 10000);
    nd.status.allocatable.set(gpu, 1);
    let n = info(nd);
    let s = fit(ScoringStrategyType::LeastAllocated, vec![]).filter(&CycleState::new(), &pod, &n);
    assert_eq!(s.reasons(), ["Insufficient nvidia.com/gpu"]);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable, "2 > allocatable 1");
    let by_name = NodeResourcesFit::new(&NodeResourcesFitArgs {
        ignored_resources: vec!["nvidia.com/gpu".into()],
        ..Default::default()
    });
    assert!(by_name.filter(&CycleState::new(), &pod, &n).is_success());
    let by_group = NodeResourcesFit::new(&NodeResourcesFitArgs {
        ignored_resource_groups: vec!["nvidia.com".into()],
        ..Default::default()
    });
    assert!(by_group.filter(&CycleState::new(), &pod, &n).is_success());
}

#[test]
fn fit_filter_counts_pod_overhead() {
    let mut p = Pod::clone(&upstream_pod().pod);
    p.spec.extras.overhead = ResourceList::new().with_cpu_millis(1500);
    let pod = PodInfo::new(p, PodResourcesOptions::default());
    let s = fit(ScoringStrategyType::LeastAllocated, vec![]).filter(
        &CycleState::new(),
        &pod,
        &info(node("n", 4000, 10000)),
    );
    assert_eq!(s.reasons(), ["Insufficient cpu"], "3000m + 1500m overhead > 4000m");
}

#[test]
fn balanced_allocation_v135_truncates_one_minus_std() {
    // balanced_allocation_test.go (≤1.35 formula): fractions 3000/4000 = 0.75 and 5000/10000 = 0.5;
    // std = |0.75 − 0.5|/2 = 0.125 ⇒ trunc(87.5) = 87.
    let pl = BalancedAllocation::new(&NodeResourcesBalancedAllocationArgs::default(), false);
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n", 4000, 10000))), 87);
    // Perfect balance: 3000/6000 = 0.5 and 5000/10000 = 0.5 ⇒ 100.
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n", 6000, 10000))), 100);
}

#[test]
fn balanced_allocation_v136_compares_with_and_without_the_pod() {
    // With the pod 87 (above); without, the empty node is perfectly balanced (100):
    // 50 + (50 + 87 − 100)/2 = 50 + 18 = 68. Unchanged balance gives 75.
    let pl = BalancedAllocation::new(&NodeResourcesBalancedAllocationArgs::default(), true);
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n", 4000, 10000))), 68);
    assert_eq!(pl.score_node(&upstream_pod(), &info(node("n", 6000, 10000))), 75);
}

#[test]
fn balanced_allocation_skips_best_effort_pods() {
    let pl = BalancedAllocation::new(&NodeResourcesBalancedAllocationArgs::default(), false);
    let s =
        pl.pre_score(&mut CycleState::new(), &pod_with(vec![Container::default()]), &[], &Snapshot::new());
    assert!(s.is_skip());
    let s = pl.pre_score(&mut CycleState::new(), &upstream_pod(), &[], &Snapshot::new());
    assert!(s.is_success());
}

fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
    Taint { key: key.into(), value: value.into(), effect, time_added: None }
}

#[test]
fn taint_toleration_score_prefers_fewer_untolerated_prefer_no_schedule_taints() {
    // taint_toleration_test.go: raw counts [0, 1, 2] ⇒ reverse-normalised [100, 50, 0].
    let pl = TaintToleration::new(false);
    let mut pod = upstream_pod();
    Arc::make_mut(&mut pod.pod).spec.tolerations = vec![Toleration {
        key: "foo".into(),
        value: "bar".into(),
        effect: Some(TaintEffect::PreferNoSchedule),
        ..Default::default()
    }]
    .into();
    let mut nodes = Vec::new();
    for (i, taints) in [
        vec![taint("foo", "bar", TaintEffect::PreferNoSchedule)],
        vec![taint("cpu-type", "arm64", TaintEffect::PreferNoSchedule)],
        vec![
            taint("cpu-type", "arm64", TaintEffect::PreferNoSchedule),
            taint("disk", "hdd", TaintEffect::PreferNoSchedule),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let mut n = node(&format!("n{i}"), 4000, 10000);
        n.spec.taints = taints;
        nodes.push(NodeInfo::new(NodeId(i as u32), Arc::new(n)));
    }
    let mut state = CycleState::new();
    pl.pre_score(&mut state, &pod, &[], &Snapshot::new());
    let mut scores: Vec<NodeScore> =
        nodes.iter().map(|n| NodeScore { node: n.id, score: pl.score(&state, &pod, n).unwrap() }).collect();
    assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [0, 1, 2]);
    pl.normalize_score(&state, &pod, &mut scores);
    assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [100, 50, 0]);
}

#[test]
fn taint_toleration_filter_rejects_untolerated_no_schedule_as_unresolvable() {
    let pl = TaintToleration::new(false);
    let mut n = node("n", 4000, 10000);
    n.spec.taints = vec![
        taint("dedicated", "gpu", TaintEffect::NoSchedule),
        taint("x", "", TaintEffect::PreferNoSchedule),
    ];
    let n = info(n);
    let mut pod = upstream_pod();
    let s = pl.filter(&CycleState::new(), &pod, &n);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
    Arc::make_mut(&mut pod.pod).spec.tolerations = vec![Toleration {
        key: "dedicated".into(),
        operator: TolerationOperator::Exists,
        ..Default::default()
    }]
    .into();
    assert!(pl.filter(&CycleState::new(), &pod, &n).is_success(), "PreferNoSchedule never filters");
}

fn label_req(key: &str, op: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op,
        values: values.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn node_affinity_filter_needs_node_selector_and_required_terms() {
    let pl = NodeAffinity::default();
    let mut n = node("n", 4000, 10000);
    n.meta.labels.insert("zone".into(), "a".into());
    n.meta.labels.insert("gen".into(), "0206".into());
    let n = info(n);
    let mut pod = upstream_pod();
    Arc::make_mut(&mut pod.pod).spec.extras.node_selector.insert("zone".into(), "a".into());
    assert!(pl.filter(&CycleState::new(), &pod, &n).is_success());
    Arc::make_mut(&mut pod.pod).spec.extras.affinity.node_affinity.required = Some(NodeSelector {
        terms: vec![NodeSelectorTerm {
            match_expressions: vec![label_req("gen", NodeSelectorOperator::Gt, &["0204"])],
            ..Default::default()
        }],
    });
    assert!(pl.filter(&CycleState::new(), &pod, &n).is_success(), "0206 > 0204 as integers");
    Arc::make_mut(&mut pod.pod).spec.extras.node_selector.insert("zone".into(), "b".into());
    let s = pl.filter(&CycleState::new(), &pod, &n);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
    assert_eq!(s.reasons(), [super::node_affinity::ERR_REASON_POD]);
}

#[test]
fn node_affinity_pre_filter_skips_or_restricts_to_named_nodes() {
    let pl = NodeAffinity::default();
    let (r, s) = pl.pre_filter(&mut CycleState::new(), &upstream_pod(), &Snapshot::new());
    assert!(s.is_skip() && r.is_none());
    let mut pod = upstream_pod();
    Arc::make_mut(&mut pod.pod).spec.extras.affinity.node_affinity.required = Some(NodeSelector {
        terms: vec![
            NodeSelectorTerm {
                match_fields: vec![label_req("metadata.name", NodeSelectorOperator::In, &["n1", "n2"])],
                ..Default::default()
            },
            NodeSelectorTerm {
                match_fields: vec![label_req("metadata.name", NodeSelectorOperator::In, &["n3"])],
                ..Default::default()
            },
        ],
    });
    let (r, s) = pl.pre_filter(&mut CycleState::new(), &pod, &Snapshot::new());
    assert!(s.is_success());
    assert_eq!(r.unwrap().node_names.into_iter().collect::<Vec<_>>(), ["n1", "n2", "n3"]);
}

#[test]
fn node_affinity_score_sums_matching_preferred_weights_and_normalizes() {
    // node_affinity_test.go style: weights 2 (foo=bar) and 5 (key=value): n1 matches foo ⇒ 2,
    // n2 both ⇒ 7, n3 none ⇒ 0; normalised 100·s/7 ⇒ [28, 100, 0].
    let pl = NodeAffinity::new(&NodeAffinityArgs::default());
    let mut pod = upstream_pod();
    let pref = |w: i32, k: &str, v: &str| PreferredSchedulingTerm {
        weight: w,
        preference: NodeSelectorTerm {
            match_expressions: vec![label_req(k, NodeSelectorOperator::In, &[v])],
            ..Default::default()
        },
    };
    Arc::make_mut(&mut pod.pod).spec.extras.affinity.node_affinity.preferred =
        vec![pref(2, "foo", "bar"), pref(5, "key", "value")];
    let mut nodes = Vec::new();
    for (i, labels) in
        [vec![("foo", "bar")], vec![("foo", "bar"), ("key", "value")], vec![]].into_iter().enumerate()
    {
        let mut n = node(&format!("n{i}"), 1, 1);
        for (k, v) in labels {
            n.meta.labels.insert(k.into(), v.into());
        }
        nodes.push(NodeInfo::new(NodeId(i as u32), Arc::new(n)));
    }
    let state = CycleState::new();
    let mut scores: Vec<NodeScore> =
        nodes.iter().map(|n| NodeScore { node: n.id, score: pl.score(&state, &pod, n).unwrap() }).collect();
    assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [2, 7, 0]);
    pl.normalize_score(&state, &pod, &mut scores);
    assert_eq!(scores.iter().map(|s| s.score).collect::<Vec<_>>(), [28, 100, 0]);
}

#[test]
fn node_affinity_added_affinity_is_enforced() {
    let pl = NodeAffinity::new(&NodeAffinityArgs {
        added_affinity: Some(kubesim_api::NodeAffinity {
            required: Some(NodeSelector {
                terms: vec![NodeSelectorTerm {
                    match_expressions: vec![label_req("pool", NodeSelectorOperator::In, &["batch"])],
                    ..Default::default()
                }],
            }),
            preferred: vec![],
        }),
    });
    let (_, s) = pl.pre_filter(&mut CycleState::new(), &upstream_pod(), &Snapshot::new());
    assert!(s.is_success(), "addedAffinity prevents the Skip");
    let s = pl.filter(&CycleState::new(), &upstream_pod(), &info(node("n", 1, 1)));
    assert_eq!(s.reasons(), [super::node_affinity::ERR_REASON_ENFORCED]);
}

#[test]
fn image_locality_scales_sizes_by_spread_and_clamps() {
    // Two containers, 250 MiB image on the node, present on 1 of 1 nodes: sum = 250 MiB;
    // 100·(250 − 23)/(2000 − 23) = 22700/1977 = 11.48 → 11.
    assert_eq!(calculate_priority(250 << 20, 2), 11);
    assert_eq!(calculate_priority(10 << 20, 1), 0, "below 23 MiB");
    assert_eq!(calculate_priority(5000 << 20, 1), 100, "above 1000 MiB per container");
    let mut snapshot = Snapshot::new();
    let mut n1 = node("n1", 1, 1);
    n1.status.images = vec![ContainerImage { names: vec!["web:v1".into()], size_bytes: 500 << 20 }];
    let id1 = snapshot.upsert_node(n1);
    snapshot.upsert_node(node("n2", 1, 1));
    snapshot.refresh_order();
    let mut c = container(1, 1);
    c.image = "web:v1".into();
    let pod = pod_with(vec![c]);
    let mut state = CycleState::new();
    let pl = ImageLocality;
    pl.pre_score(&mut state, &pod, &[], &snapshot);
    // 500 MiB × 1/2 nodes = 250 MiB; one container: 100·(250 − 23)/(1000 − 23) = 22700/977 = 23.2 → 23.
    assert_eq!(pl.score(&state, &pod, snapshot.node(id1)).unwrap(), 23);
}

#[test]
fn node_local_plugins_tell_pods_apart_exactly_by_the_fields_they_read() {
    use crate::config::profile::ProfileConfig;
    use crate::options::SchedulerOptions;
    use kubesim_api::ContainerPort;

    let fw =
        Framework::new(&ProfileConfig::default_profile(), &Registry::in_tree(), &SchedulerOptions::default())
            .expect("default profile");
    let mut local: Vec<&str> =
        fw.plugins().iter().filter(|p| p.locality() != Locality::Cluster).map(|p| p.name()).collect();
    local.sort_unstable();
    assert_eq!(
        local,
        [
            "ImageLocality",
            "NodeAffinity",
            "NodeName",
            "NodePorts",
            "NodeResourcesBalancedAllocation",
            "NodeResourcesFit",
            "NodeUnschedulable",
            "TaintToleration"
        ]
    );
    assert_eq!(fw.plugin_by_name("ImageLocality").unwrap().locality(), Locality::NodeAndImages);

    let mut base = Pod::clone(&pod_with(vec![container(100, 500 << 20)]).pod);
    base.spec.containers[0].image = "nginx".into();
    let sign = |p: &Pod| PodInfo::new(p.clone(), PodResourcesOptions::default());
    let differs = |variant: &Pod| -> Vec<&'static str> {
        let (a, b) = (sign(&base), sign(variant));
        let mut v: Vec<&'static str> = fw
            .plugins()
            .iter()
            .filter(|p| p.locality() != Locality::Cluster && !p.same_signature(&a, &b))
            .map(|p| p.name())
            .collect();
        v.sort_unstable();
        v
    };

    // Name, labels and priority are read by no node-local plugin.
    let mut other = base.clone();
    other.meta.name = "q".into();
    other.meta.labels.insert("app".into(), "web".into());
    other.spec.priority = Some(7);
    assert!(differs(&other).is_empty());

    let mut v = base.clone();
    v.spec.tolerations.push(Toleration { key: "k".into(), ..Default::default() });
    assert_eq!(differs(&v), ["NodeUnschedulable", "TaintToleration"]);

    let mut v = base.clone();
    v.spec.node_name = Some("n1".into());
    assert_eq!(differs(&v), ["NodeName"]);

    let mut v = base.clone();
    v.spec.extras.node_selector.insert("disk".into(), "ssd".into());
    assert_eq!(differs(&v), ["NodeAffinity"]);

    let mut v = base.clone();
    v.spec.extras.affinity.node_affinity.preferred = vec![PreferredSchedulingTerm {
        weight: 1,
        preference: NodeSelectorTerm {
            match_expressions: vec![NodeSelectorRequirement {
                key: "disk".into(),
                operator: NodeSelectorOperator::Exists,
                values: vec![],
            }],
            match_fields: vec![],
        },
    }];
    assert_eq!(differs(&v), ["NodeAffinity"]);

    let mut v = base.clone();
    v.spec.containers[0].ports.push(ContainerPort {
        container_port: 80,
        host_port: 80,
        ..Default::default()
    });
    assert_eq!(differs(&v), ["NodePorts"]);

    let mut v = base.clone();
    v.spec.containers[0].resources.requests.set(ResourceName::Cpu, 200);
    assert_eq!(differs(&v), ["NodeResourcesBalancedAllocation", "NodeResourcesFit"]);

    let mut v = base.clone();
    v.spec.containers[0].image = "nginx:1.27".into();
    assert_eq!(differs(&v), ["ImageLocality"]);

    // A container without requests: the real requests stay, the non-zero ones (Fit's scoring)
    // grow by 100m / 200 MiB, and ImageLocality counts one more container.
    let mut v = base.clone();
    v.spec.containers.push(Container { image: "nginx".into(), ..Default::default() });
    assert_eq!(differs(&v), ["ImageLocality", "NodeResourcesFit"]);
}
