//! Replica-calculator cases taken from upstream `replica_calculator_test.go` (same situations,
//! numbers worked by hand in the comments).

use kubesim_api::{ConditionStatus, ResourceName};
use sim_core::{SimDuration, SimTime};

use super::calculator::{per_pod_value_replicas, saturating_total, value_replicas, Calculation, Tolerances};
use super::reconcile::{compute_metric, HpaInput};
use super::samples::MetricsSnapshot;
use super::spec::{HpaControllerConfig, HpaSpec, MetricSpec, ResourceTarget, Scale, ValueTarget};
use super::testutil::*;

fn cpu_util(target: i32) -> MetricSpec {
    MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::Utilization(target) }
}

fn calc_with(
    config: &HpaControllerConfig,
    metric: MetricSpec,
    current: i32,
    pods: &[kubesim_api::Pod],
    metrics: &MetricsSnapshot,
) -> Calculation {
    let spec = HpaSpec::new(1, 100, vec![metric.clone()]);
    let input = HpaInput {
        spec: &spec,
        scale: Scale { spec_replicas: current, status_replicas: current },
        pods,
        metrics,
        now: NOW,
    };
    compute_metric(config, &input, Tolerances::symmetric(config.tolerance), &metric).expect("metric computes")
}

fn calc(
    metric: MetricSpec,
    current: i32,
    pods: &[kubesim_api::Pod],
    metrics: &MetricsSnapshot,
) -> Calculation {
    calc_with(&HpaControllerConfig::upstream_unit_tests(), metric, current, pods, metrics)
}

#[test]
fn cpu_scale_up_uses_truncated_utilization_times_ready_pods() {
    // 300+500+700 = 1500m of 3000m → 50 %; 50/30 = 1.667; ceil(1.667 × 3) = 5.
    let c = calc(cpu_util(30), 3, &pods(&[1000, 1000, 1000]), &cpu_usage(&[300, 500, 700]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli), (5, Some(50), 500));
    assert_eq!(c.ready_pods, 3);
}

#[test]
fn an_unready_pod_on_scale_up_counts_as_zero_usage() {
    // Ready pods: 1200m of 2000m → 60 % (ratio 2.0 > 1 with an unready pod → rebalance);
    // unready pod at 0: 1200/3000 = 40 % → 1.333; ceil(1.333 × 3) = 4.
    let p = with_readiness(pods(&[1000, 1000, 1000]), &[false, true, true]);
    let c = calc(cpu_util(30), 3, &p, &cpu_usage(&[300, 500, 700]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli), (4, Some(60), 600));
    assert_eq!((c.ready_pods, c.unready_pods), (2, 1));
    assert!((c.usage_ratio - 2.0).abs() < 1e-12);
}

#[test]
fn unready_pods_can_cancel_a_scale_up() {
    // Ready: 400m of 1000m → 40 % → 1.333; with two unready pods at 0: 400/3000 = 13 % → 0.433,
    // which flips direction → keep 3.
    let p = with_readiness(pods(&[1000, 1000, 1000]), &[true, false, false]);
    let c = calc(cpu_util(30), 3, &p, &cpu_usage(&[400, 500, 700]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli), (3, Some(40), 400));
}

#[test]
fn a_hot_cpu_sample_of_an_initializing_pod_is_not_trusted() {
    // pod-0 started 60 s ago and turned ready 50 s ago; its sample (ending 10 s ago, window 60 s)
    // began before the readiness change → unready. As in the unready case: 4 replicas.
    let mut p = pods(&[1000, 1000, 1000]);
    p[0].status.start_time = Some(NOW.saturating_sub(SimDuration::from_secs(60)));
    set_ready(&mut p[0], ConditionStatus::True, NOW.saturating_sub(SimDuration::from_secs(50)));
    let c = calc(cpu_util(30), 3, &p, &cpu_usage(&[300, 500, 700]));
    assert_eq!((c.replicas, c.utilization_percent), (4, Some(60)));
    assert_eq!(c.unready_pods, 1);
}

#[test]
fn cpu_scale_down_rounds_up() {
    // 1400m of 5000m → 28 %; 28/50 = 0.56; ceil(0.56 × 5) = ceil(2.8) = 3.
    let c = calc(cpu_util(50), 5, &pods(&[1000; 5]), &cpu_usage(&[100, 300, 500, 250, 250]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli), (3, Some(28), 280));
}

#[test]
fn scale_down_ignores_unready_pods() {
    // Ready pods 900m of 3000m → 30 % → 0.6; no rebalance on scale-down: ceil(0.6 × 3) = 2.
    let p = with_readiness(pods(&[1000; 5]), &[true, true, true, false, false]);
    let c = calc(cpu_util(50), 5, &p, &cpu_usage(&[100, 300, 500, 250, 250]));
    assert_eq!((c.replicas, c.utilization_percent), (2, Some(30)));
}

#[test]
fn scale_down_ignores_terminating_and_failed_pods() {
    let mut p = pods(&[1000; 5]);
    p[3].meta.deletion_timestamp = Some(NOW);
    p[4].status.phase = kubesim_api::PodPhase::Failed;
    let c = calc(cpu_util(50), 5, &p, &cpu_usage(&[100, 300, 500, 250, 250]));
    assert_eq!((c.replicas, c.utilization_percent, c.ignored_pods), (2, Some(30), 2));
}

#[test]
fn a_ratio_within_tolerance_keeps_the_current_count() {
    // 3120m of 3000m → 104 %: |1 − 1.04| ≤ 0.1 → 3.
    let c = calc(cpu_util(100), 3, &pods(&[900, 1000, 1100]), &cpu_usage(&[1020, 1040, 1060]));
    assert_eq!((c.replicas, c.utilization_percent), (3, Some(104)));
}

#[test]
fn superfluous_metrics_are_skipped_and_utilization_truncates_587_5_to_587() {
    // Only pod-0..3 exist: 23500m of 4000m = 587.5 % → 587; 5.87 × 4 = 23.48 → 24.
    let c = calc(cpu_util(100), 4, &pods(&[1000; 4]), &cpu_usage(&[4000, 9500, 3000, 7000, 3200, 2000]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli), (24, Some(587), 5875));
}

#[test]
fn missing_pods_count_as_full_request_on_scale_down() {
    // pod-0,1: 495m of 2000m → 24 % → 0.24; missing pod-2,3 at 1000m: 2495/4000 = 62 % → 0.62;
    // ceil(0.62 × 4) = 3.
    let c = calc(cpu_util(100), 4, &pods(&[1000; 4]), &cpu_usage(&[400, 95]));
    assert_eq!((c.replicas, c.utilization_percent, c.value_milli, c.missing_pods), (3, Some(24), 247, 2));
}

#[test]
fn missing_pods_count_as_zero_on_scale_up() {
    // 6000m of 2000m → 300 %; missing at 0: 6000/4000 = 150 % → 1.5; ceil(1.5 × 4) = 6.
    let c = calc(cpu_util(100), 4, &pods(&[1000; 4]), &cpu_usage(&[3000, 3000]));
    assert_eq!((c.replicas, c.utilization_percent), (6, Some(300)));
    // 4000m → 200 %; missing at 0 → 100 %: within tolerance → keep 4.
    let c = calc(cpu_util(100), 4, &pods(&[1000; 4]), &cpu_usage(&[2000, 2000]));
    assert_eq!(c.replicas, 4);
}

#[test]
fn rolling_update_with_max_surge_extra_pod_missing_metric_stays_at_two() {
    // current 2, a third (surge) pod has no sample. 200m of 2000m → 10 % → 0.2; the missing pod
    // at 1000m: 1200/3000 = 40 % → 0.8; ceil(0.8 × 3) = 3 > 2 while scaling down → keep 2.
    let c = calc(cpu_util(50), 2, &pods(&[1000; 3]), &cpu_usage(&[100, 100]));
    assert_eq!((c.replicas, c.utilization_percent), (2, Some(10)));
}

#[test]
fn scale_down_with_target_over_100_fills_missing_pods_at_the_target() {
    // target 200 %: 1000m of 2000m → 50 % → 0.25. Missing pods at 200 % of 1000m = 2000m:
    // 5000/4000 = 125 % → 0.625; ceil(2.5) = 3. The older rule (100 %) gives 3000/4000 = 75 %
    // → 0.375; ceil(1.5) = 2.
    let c = calc(cpu_util(200), 4, &pods(&[1000; 4]), &cpu_usage(&[500, 500]));
    assert_eq!(c.replicas, 3);
    let old = HpaControllerConfig {
        missing_fallback_uses_target: false,
        ..HpaControllerConfig::upstream_unit_tests()
    };
    let c = calc_with(&old, cpu_util(200), 4, &pods(&[1000; 4]), &cpu_usage(&[500, 500]));
    assert_eq!(c.replicas, 2);
}

#[test]
fn memory_ignores_readiness() {
    // Ready=False pods still count for memory: 3 GiB of 3 GiB requests at 50 % target → 2.0 → 6.
    let p = with_readiness(pods(&[1000; 3]), &[false, false, true]);
    let snap = MetricsSnapshot {
        pod_metrics: (0..3)
            .map(|i| std::sync::Arc::new(sample(&format!("pod-{i}"), ResourceName::Memory, 1 << 30)))
            .collect(),
        ..Default::default()
    };
    let m = MetricSpec::Resource { resource: ResourceName::Memory, target: ResourceTarget::Utilization(50) };
    let c = calc(m, 3, &p, &snap);
    assert_eq!((c.replicas, c.ready_pods, c.utilization_percent), (6, 3, Some(100)));
}

#[test]
fn resource_average_value_divides_the_mean_usage_by_the_target() {
    // mean(300, 500, 700) = 500m against 200m → 2.5; ceil(2.5 × 3) = 8.
    let m = MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::AverageValue(200) };
    let c = calc(m, 3, &pods(&[1000; 3]), &cpu_usage(&[300, 500, 700]));
    assert_eq!((c.replicas, c.value_milli), (8, 500));
}

#[test]
fn container_resource_uses_only_the_named_container() {
    // Each pod: app 500m (request 1000m), sidecar 900m (request 100m). App only: 50 % vs 25 %
    // → 2.0 → 6. (Pod total would be 1400/1100 = 127 %.)
    let mut p = pods(&[1000; 3]);
    let mut snap = cpu_usage(&[500, 500, 500]);
    for pod in &mut p {
        let mut side = pod.spec.containers[0].clone();
        side.name = "sidecar".into();
        side.resources.requests = kubesim_api::ResourceList::new().with_cpu_millis(100);
        pod.spec.containers.push(side);
    }
    for m in snap.pod_metrics.own_mut() {
        std::sync::Arc::make_mut(m).containers.push(super::samples::ContainerMetrics {
            name: "sidecar".into(),
            usage: kubesim_api::ResourceList::new().with_cpu_millis(900),
        });
    }
    let m = MetricSpec::ContainerResource {
        resource: ResourceName::Cpu,
        container: "app".into(),
        target: ResourceTarget::Utilization(25),
    };
    let c = calc(m, 3, &p, &snap);
    assert_eq!((c.replicas, c.utilization_percent), (6, Some(50)));
    let c = calc(cpu_util(25), 3, &p, &snap);
    assert_eq!(c.utilization_percent, Some(127));
}

#[test]
fn pods_metric_scale_up_from_the_average() {
    // mean(20, 10, 30) = 20 against 15 → 1.333; ceil(1.333 × 3) = 4.
    let m = MetricSpec::Pods { metric: "qps".into(), average_value_milli: 15_000 };
    let c = calc(m, 3, &pods(&[1000; 3]), &custom_values("qps", &[20_000, 10_000, 30_000]));
    assert_eq!((c.replicas, c.value_milli), (4, 20_000));
}

#[test]
fn pods_metric_missing_pods_count_as_the_target_on_scale_down() {
    // pod-0,1 mean 5 vs target 10 → 0.5; pod-2,3 missing at 10: mean 7.5 → 0.75; ceil(3) = 3.
    let m = MetricSpec::Pods { metric: "qps".into(), average_value_milli: 10_000 };
    let c = calc(m, 4, &pods(&[1000; 4]), &custom_values("qps", &[5_000, 5_000]));
    assert_eq!((c.replicas, c.missing_pods), (3, 2));
}

#[test]
fn pods_metric_ignores_cpu_readiness() {
    // Ready=False pods are ready for custom metrics: mean 20 vs 10 → 2.0 → 6.
    let p = with_readiness(pods(&[1000; 3]), &[false, false, true]);
    let m = MetricSpec::Pods { metric: "qps".into(), average_value_milli: 10_000 };
    let c = calc(m, 3, &p, &custom_values("qps", &[20_000, 20_000, 20_000]));
    assert_eq!((c.replicas, c.ready_pods), (6, 3));
}

#[test]
fn object_value_scales_ready_running_pods() {
    // 50 / 10 = 5.0 × 2 Running+Ready pods (the third is not ready) = 10.
    let p = with_readiness(pods(&[1000; 3]), &[true, true, false]);
    let snap = MetricsSnapshot {
        objects: [(("hits".to_string(), "Ingress/main".to_string()), 50_000)].into(),
        ..Default::default()
    };
    let m = MetricSpec::Object {
        metric: "hits".into(),
        described_object: "Ingress/main".into(),
        target: ValueTarget::Value(10_000),
    };
    let c = calc(m, 3, &p, &snap);
    assert_eq!((c.replicas, c.ready_pods), (10, 2));
}

#[test]
fn value_target_scales_from_zero_without_pods() {
    // current 0: ceil(25 / 10) = 3, no pods needed.
    let c = value_replicas::<kubesim_api::Pod>(&[], 0, 25_000, 10_000, Tolerances::symmetric(0.1)).unwrap();
    assert_eq!(c.replicas, 3);
}

#[test]
fn average_value_targets_divide_among_status_replicas() {
    // 30 total, 5 per pod, 3 replicas: ratio 2.0 → ceil(30/5) = 6; reported average 10.
    let c = per_pod_value_replicas(3, 30_000, 5_000, Tolerances::symmetric(0.1));
    assert_eq!((c.replicas, c.value_milli), (6, 10_000));
    // 16 total: 16/15 = 1.067 within tolerance → keep 3; average ceil(5.33) = 6 (milli).
    let c = per_pod_value_replicas(3, 16_000, 5_000, Tolerances::symmetric(0.1));
    assert_eq!((c.replicas, c.value_milli), (3, 5_334));
}

#[test]
fn external_values_sum_every_series_saturating() {
    let snap = MetricsSnapshot {
        external: [("queue".to_string(), vec![4_000, 6_000])].into(),
        ..Default::default()
    };
    // 10 vs Value 2 → 5.0 × 3 ready = 15.
    let m = MetricSpec::External { metric: "queue".into(), target: ValueTarget::Value(2_000) };
    assert_eq!(calc(m, 3, &pods(&[1000; 3]), &snap).replicas, 15);
    // 10 vs AverageValue 2 per pod → ceil(10/2) = 5.
    let m = MetricSpec::External { metric: "queue".into(), target: ValueTarget::AverageValue(2_000) };
    assert_eq!(calc(m, 3, &pods(&[1000; 3]), &snap).replicas, 5);
    assert_eq!(saturating_total(&[i64::MAX - 1, 5]), i64::MAX);
}

#[test]
fn per_direction_tolerances_apply_to_each_side() {
    // 108 % vs 100 %: symmetric 0.1 holds; an up tolerance of 0.05 scales to ceil(1.08 × 3) = 4.
    let t = Tolerances { scale_down: 0.1, scale_up: 0.05 };
    assert!(!t.is_within(1.08));
    assert!(t.is_within(0.9));
    assert!(Tolerances::symmetric(0.1).is_within(1.1) && Tolerances::symmetric(0.1).is_within(0.9));
}

#[test]
fn a_failing_sample_set_is_an_error_not_a_panic() {
    let config = HpaControllerConfig::upstream_unit_tests();
    let spec = HpaSpec::new(1, 10, vec![cpu_util(50)]);
    let p = with_readiness(pods(&[1000; 2]), &[false, false]);
    let snap = cpu_usage(&[100, 100]);
    let input = HpaInput {
        spec: &spec,
        scale: Scale { spec_replicas: 2, status_replicas: 2 },
        pods: &p,
        metrics: &snap,
        now: NOW,
    };
    let err = compute_metric(&config, &input, Tolerances::symmetric(0.1), &cpu_util(50)).unwrap_err();
    assert_eq!(err, super::HpaError::NoMetricsForReadyPods);
    let empty = HpaInput { pods: &[], ..input };
    assert!(compute_metric(&config, &empty, Tolerances::symmetric(0.1), &cpu_util(50)).is_err());
    let _ = SimTime::ZERO;
}
