//! Differential tests: the reconcile (merge-join `tally`, any `P: Borrow<Pod>`) against the
//! frozen map-based oracle (`tests_oracle`), on random pods, samples and metric specs. Decisions
//! are compared through their `Debug` form, so `f64` ratios must agree to the bit (NaN included).

use std::sync::Arc;

use kubesim_api::{
    ConditionStatus, Container, ObjectMeta, Pod, PodCondition, PodConditionType, PodPhase, ResourceList,
    ResourceName, ResourceRequirements, RestartPolicy,
};
use proptest::prelude::*;
use sim_core::{SimDuration, SimTime};

use super::classify::CpuReadiness;
use super::join::PodSampleJoin;
use super::pod_facts::FactPod;
use super::reconcile::{reconcile_into, reconcile_with, Decision, HpaInput};
use super::samples::{
    ContainerMetrics, MetricsSnapshot, PodMetricValue, PodMetrics, PodMetricsList, ServedPodMetrics,
};
use super::spec::{HpaControllerConfig, HpaSpec, MetricSpec, ResourceTarget, Scale, ValueTarget};
use super::state::HpaState;
use super::testutil::NOW;
use super::{reconcile, tests_oracle};

fn ago(secs: u64) -> SimTime {
    NOW.saturating_sub(SimDuration::from_secs(secs))
}

fn name(i: u16) -> String {
    format!("p{i}")
}

fn cpu_request() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![8 => (0i64..2000).prop_map(Some), 1 => Just(None)]
}

prop_compose! {
    fn pod(names: u16)(
        name_i in 0..names,
        phase in prop_oneof![6 => Just(PodPhase::Running), 1 => Just(PodPhase::Pending),
            1 => Just(PodPhase::Failed), 1 => Just(PodPhase::Succeeded), 1 => Just(PodPhase::Unknown)],
        deleting in prop::bool::weighted(0.1),
        ready in prop_oneof![
            1 => Just(None),
            8 => (prop_oneof![4 => Just(ConditionStatus::True), 2 => Just(ConditionStatus::False),
                    1 => Just(ConditionStatus::Unknown)],
                  prop::option::weighted(0.9, 0u64..700)).prop_map(Some),
        ],
        scheduled_first in any::<bool>(),
        start in prop::option::weighted(0.9, 0u64..700),
        app_cpu in cpu_request(),
        app_named in prop::bool::weighted(0.95),
        sidecar in prop::option::weighted(0.15, cpu_request()),
        pod_level in prop::option::weighted(0.1, prop::option::of(0i64..2000)),
    ) -> Pod {
        let mut p = Pod { meta: ObjectMeta::named("default", &name(name_i)), ..Default::default() };
        p.meta.deletion_timestamp = deleting.then(|| ago(5));
        p.status.phase = phase;
        p.status.start_time = start.map(ago);
        if scheduled_first {
            p.status.conditions.push(PodCondition {
                kind: PodConditionType::PodScheduled,
                status: ConditionStatus::True,
                last_transition_time: Some(ago(800)),
                reason: None,
            });
        }
        if let Some((status, at)) = ready {
            p.status.conditions.push(PodCondition {
                kind: PodConditionType::Ready,
                status,
                last_transition_time: at.map(ago),
                reason: None,
            });
        }
        let requests = |cpu: Option<i64>| {
            let r = ResourceList::new().with_memory_bytes(1 << 28);
            match cpu { Some(c) => r.with_cpu_millis(c), None => r }
        };
        let mut app = Container { name: if app_named { "app" } else { "main" }.into(), ..Default::default() };
        app.resources.requests = requests(app_cpu);
        p.spec.containers.push(app);
        if let Some(cpu) = sidecar {
            let mut c = Container { name: "proxy".into(), ..Default::default() };
            c.restart_policy = Some(RestartPolicy::Always);
            c.resources.requests = requests(cpu);
            p.spec.init_containers.push(c);
        }
        if let Some(cpu) = pod_level {
            let r = match cpu {
                Some(c) => ResourceList::new().with_cpu_millis(c),
                None => ResourceList::new().with_memory_bytes(1 << 29),
            };
            p.spec.extras.resources = Some(ResourceRequirements { requests: r, ..Default::default() });
        }
        p
    }
}

prop_compose! {
    fn sample(names: u16)(
        name_i in 0..names + 3,
        app in prop::option::weighted(0.9, 0i64..3000),
        proxy in prop::option::weighted(0.2, prop::option::weighted(0.8, 0i64..500)),
        memory in 0i64..(1 << 29),
        ts in 0u64..150,
        window in prop_oneof![Just(15u64), Just(30), Just(60)],
    ) -> PodMetrics {
        let usage = |cpu: Option<i64>| {
            let r = ResourceList::new().with_memory_bytes(memory);
            match cpu { Some(c) => r.with_cpu_millis(c), None => r }
        };
        let mut containers = vec![ContainerMetrics { name: "app".into(), usage: usage(app) }];
        if let Some(cpu) = proxy {
            containers.push(ContainerMetrics { name: "proxy".into(), usage: usage(cpu) });
        }
        PodMetrics { pod_name: name(name_i).into(), timestamp: ago(ts), window: SimDuration::from_secs(window), containers: containers.into() }
    }
}

fn metric_spec() -> impl Strategy<Value = MetricSpec> {
    let util = 1i32..300;
    prop_oneof![
        4 => util.clone().prop_map(|t| MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::Utilization(t) }),
        1 => util.clone().prop_map(|t| MetricSpec::Resource { resource: ResourceName::Memory, target: ResourceTarget::Utilization(t) }),
        1 => (1i64..3000).prop_map(|v| MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::AverageValue(v) }),
        1 => (1i64..(1 << 40)).prop_map(|v| MetricSpec::Resource { resource: ResourceName::Memory, target: ResourceTarget::AverageValue(v) }),
        1 => util.prop_map(|t| MetricSpec::ContainerResource { resource: ResourceName::Cpu, container: "app".into(), target: ResourceTarget::Utilization(t) }),
        2 => (1i64..20_000).prop_map(|v| MetricSpec::Pods { metric: "qps".into(), average_value_milli: v }),
        1 => (1i64..20_000).prop_map(|v| MetricSpec::External { metric: "queue".into(), target: ValueTarget::Value(v) }),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    pods: Vec<Pod>,
    snapshot: MetricsSnapshot,
    spec: HpaSpec,
    config: HpaControllerConfig,
    current: i32,
}

/// Pods and samples as generated (repeated names, any order), or sorted by name with repeated
/// pods dropped (the store's shape: the merge's fast path).
fn case(names: u16, max_pods: usize) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(pod(names), 0..max_pods),
        prop::collection::vec(sample(names), 0..max_pods + 3),
        prop::collection::vec((0..names + 3, 0i64..30_000), 0..max_pods + 3),
        prop::collection::vec(metric_spec(), 1..4),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        1i32..40,
    )
        .prop_map(
            |(mut pods, mut samples, custom, metrics, (sort_pods, sort_samples, _), flags, current)| {
                if sort_pods {
                    pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
                    pods.dedup_by(|a, b| a.meta.name == b.meta.name);
                }
                if sort_samples {
                    samples.sort_by(|a, b| a.pod_name.cmp(&b.pod_name));
                }
                let (unit_tests, fallback_target, pod_level) = flags;
                let base = if unit_tests {
                    HpaControllerConfig::upstream_unit_tests()
                } else {
                    HpaControllerConfig::default()
                };
                let config = HpaControllerConfig {
                    missing_fallback_uses_target: fallback_target,
                    pod_level_resources: pod_level,
                    ..base
                };
                let custom = custom
                    .into_iter()
                    .map(|(i, v)| PodMetricValue {
                        pod_name: name(i),
                        value_milli: v,
                        timestamp: ago(10),
                        window: SimDuration::from_secs(60),
                    })
                    .collect();
                let snapshot = MetricsSnapshot {
                    pod_metrics: samples.into_iter().map(std::sync::Arc::new).collect(),
                    pods: [("qps".to_string(), custom)].into(),
                    external: [("queue".to_string(), vec![12_000])].into(),
                    ..Default::default()
                };
                Case { pods, snapshot, spec: HpaSpec::new(1, 200, metrics), config, current }
            },
        )
}

/// `list` with every sample that another one equals but for the pod name served from a shared
/// class sample (the first of them stays the pod's own, so both kinds of entry are exercised).
fn as_classes(list: &PodMetricsList) -> PodMetricsList {
    let mut classes: Vec<PodMetrics> = Vec::new();
    let mut items = Vec::new();
    for (name, m) in list.iter() {
        let nameless = PodMetrics { pod_name: Default::default(), ..m.clone() };
        let first = list
            .iter()
            .position(|(_, o)| PodMetrics { pod_name: Default::default(), ..o.clone() } == nameless);
        let mine = list.iter().position(|(n, o)| n == name && o == m);
        if first == mine {
            items.push(ServedPodMetrics::Own(Arc::new(m.clone())));
            continue;
        }
        let class = match classes.iter().position(|c| *c == nameless) {
            Some(i) => i,
            None => {
                classes.push(nameless);
                classes.len() - 1
            }
        };
        items.push(ServedPodMetrics::Class { pod_name: name.into(), class: class as u32 });
    }
    PodMetricsList::new(items, Arc::new(classes))
}

/// The new reconcile (with `Pod` and with `Arc<Pod>`; with `FactPod` checked equal to the latter)
/// and the oracle's, as `Debug` text.
fn both(c: &Case) -> (String, String, String) {
    let scale = Scale { spec_replicas: c.current, status_replicas: c.current };
    let input = HpaInput { spec: &c.spec, scale, pods: &c.pods, metrics: &c.snapshot, now: NOW };
    let mut new_state = HpaState::default();
    let new = reconcile(&c.config, &input, &mut new_state);
    let shared: Vec<Arc<Pod>> = c.pods.iter().cloned().map(Arc::new).collect();
    let arc_input = HpaInput { spec: &c.spec, scale, pods: &shared, metrics: &c.snapshot, now: NOW };
    let mut arc_state = HpaState::default();
    let arc = reconcile(&c.config, &arc_input, &mut arc_state);
    // Pods with their facts and names copied out (what the cluster keeps between syncs) decide
    // exactly as the pods they were copied from.
    let kept: Vec<FactPod> = shared.iter().cloned().map(FactPod::new).collect();
    let kept_input = HpaInput { spec: &c.spec, scale, pods: &kept, metrics: &c.snapshot, now: NOW };
    let mut kept_state = HpaState::default();
    let kept_decision = reconcile(&c.config, &kept_input, &mut kept_state);
    assert_eq!(format!("{kept_decision:?} {kept_state:?}"), format!("{arc:?} {arc_state:?}"));
    // The same samples with identical ones shared as usage classes decide the same.
    let classed = MetricsSnapshot { pod_metrics: as_classes(&c.snapshot.pod_metrics), ..c.snapshot.clone() };
    let classed_input = HpaInput { spec: &c.spec, scale, pods: &shared, metrics: &classed, now: NOW };
    let mut classed_state = HpaState::default();
    let classed_decision = reconcile(&c.config, &classed_input, &mut classed_state);
    assert_eq!(format!("{classed_decision:?} {classed_state:?}"), format!("{arc:?} {arc_state:?}"));
    // Pods paired with the served entries once (`PodSampleJoin`: pods sharing a class sample
    // counted in bulk), reconciled into a decision another reconcile left behind, decide the same.
    let cpu = CpuReadiness {
        cpu_initialization_period: c.config.cpu_initialization_period,
        initial_readiness_delay: c.config.initial_readiness_delay,
    };
    for snapshot in [&c.snapshot, &classed] {
        let input = HpaInput { spec: &c.spec, scale, pods: &kept, metrics: snapshot, now: NOW };
        let join = PodSampleJoin::new(&kept, &snapshot.pod_metrics, cpu);
        let mut state = HpaState::default();
        let mut decision = left_behind(c, &input);
        reconcile_into(&c.config, &input, join.as_ref(), &mut state, &mut decision);
        assert_eq!(format!("{decision:?} {state:?}"), format!("{arc:?} {arc_state:?}"));
    }
    let mut old_state = HpaState::default();
    let old = reconcile_with(&c.config, &input, &mut old_state, tests_oracle::compute_metric);
    (format!("{new:?} {new_state:?}"), format!("{arc:?} {arc_state:?}"), format!("{old:?} {old_state:?}"))
}

/// A decision with every buffer in use: three metric lines (two failed, one named differently)
/// from another spec's reconcile of `input`.
fn left_behind(c: &Case, input: &HpaInput<'_, FactPod>) -> Decision {
    let other = HpaSpec::new(
        1,
        200,
        vec![
            MetricSpec::Pods { metric: "a-long-metric-name-that-fails".into(), average_value_milli: 5 },
            MetricSpec::External { metric: "none".into(), target: ValueTarget::Value(1) },
            MetricSpec::Resource { resource: ResourceName::Memory, target: ResourceTarget::Utilization(10) },
        ],
    );
    let mut d = Decision::default();
    let mut state = HpaState::default();
    reconcile_into(&c.config, &HpaInput { spec: &other, ..*input }, None, &mut state, &mut d);
    d
}

/// Cases shaped like a Deployment's pods: unique names, specs shared by a few templates (one
/// request per template), samples copied from a few templates (so that many are served from one
/// class sample), in name order or reversed.
fn classy_case(names: u16, max_pods: usize) -> impl Strategy<Value = Case> {
    (
        case(names, max_pods),
        prop::collection::vec(sample(1), 1..4),
        prop::collection::vec(prop::option::weighted(0.85, 0usize..4), usize::from(names) + 3),
        1usize..4,
        any::<bool>(),
    )
        .prop_map(|(mut c, templates, picks, specs, reversed)| {
            c.pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
            c.pods.dedup_by(|a, b| a.meta.name == b.meta.name);
            let shared: Vec<_> = c.pods.iter().take(specs).map(|p| p.spec.clone()).collect();
            for (i, p) in c.pods.iter_mut().enumerate() {
                p.spec = shared[i % shared.len()].clone();
            }
            let mut samples: Vec<PodMetrics> = picks
                .iter()
                .enumerate()
                .filter_map(|(i, pick)| {
                    let t = &templates[(*pick)? % templates.len()];
                    Some(PodMetrics { pod_name: name(i as u16).into(), ..t.clone() })
                })
                .collect();
            samples.sort_by(|a, b| a.pod_name.cmp(&b.pod_name));
            if reversed {
                c.pods.reverse();
                samples.reverse();
            }
            c.snapshot.pod_metrics = samples.into_iter().map(Arc::new).collect();
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn pods_tallied_per_usage_class_decide_exactly_as_the_oracle(c in classy_case(40, 40)) {
        let (new, arc, old) = both(&c);
        prop_assert_eq!(&new, &old);
        prop_assert_eq!(&arc, &old);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_merge_join_reconcile_decides_exactly_as_the_map_based_oracle(c in case(10, 14)) {
        let (new, arc, old) = both(&c);
        prop_assert_eq!(&new, &old);
        prop_assert_eq!(&arc, &old);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn large_target_pod_lists_decide_exactly_as_the_oracle(c in case(150, 120)) {
        let (new, arc, old) = both(&c);
        prop_assert_eq!(&new, &old);
        prop_assert_eq!(&arc, &old);
    }
}

#[test]
fn steady_state_sorted_pods_with_samples_agree_with_the_oracle() {
    // 100 ready pods in name order, each with a sample: the scale scenario's shape.
    let pods: Vec<Pod> =
        (0..100).map(|i| super::testutil::ready_pod(&format!("web-{i:03}"), 500, ago(10_000))).collect();
    let snapshot = MetricsSnapshot {
        pod_metrics: (0..100)
            .map(|i| {
                std::sync::Arc::new(super::testutil::sample(
                    &format!("web-{i:03}"),
                    ResourceName::Cpu,
                    250 + i,
                ))
            })
            .collect(),
        ..Default::default()
    };
    let spec = HpaSpec::new(
        1,
        200,
        vec![MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::Utilization(60) }],
    );
    let c = Case { pods, snapshot, spec, config: HpaControllerConfig::default(), current: 100 };
    let (new, arc, old) = both(&c);
    assert_eq!(new, old);
    assert_eq!(arc, old);
    // Σ usage = 100 × 250 + 4950 = 29 950m of 50 000m → 59 % → 0.983: within tolerance.
    assert!(new.contains("utilization_percent: Some(59)"), "{new}");
}
