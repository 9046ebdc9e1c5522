//! Worked cases over the fixtures in `tests/fixtures/hpa/` (numbers derived in each fixture's
//! header comment).

use kubesim_api::ConditionStatus;
use kubesim_controllers::hpa::{HpaConditionType, LimitedBy, MetricType};

use super::*;

const SCALE_UP: &str = include_str!("../../../tests/fixtures/hpa/scale-up-cpu.yaml");
const STABILIZED: &str = include_str!("../../../tests/fixtures/hpa/scale-down-stabilized.yaml");
const BEHAVIOR: &str = include_str!("../../../tests/fixtures/hpa/behavior-limited.yaml");
const MISSING: &str = include_str!("../../../tests/fixtures/hpa/missing-metrics.yaml");
const EXTERNAL: &str = include_str!("../../../tests/fixtures/hpa/external.yaml");

fn condition(x: &Explanation, kind: HpaConditionType) -> (ConditionStatus, &str) {
    let c = x.conditions.iter().find(|c| c.kind == kind).unwrap();
    (c.status, c.reason)
}

#[test]
fn cpu_at_115_percent_of_a_60_percent_target_scales_4_pods_to_8() {
    let x = explain(SCALE_UP, "scale-up-cpu.yaml").unwrap();
    assert_eq!(x.hpa, "default/web");
    assert_eq!(x.target, "Deployment/web");
    // No HPAState: now is the newest timestamp, the PodMetrics' 00:09:50.
    assert_eq!(x.now, "2026-01-01T00:09:50Z");
    assert_eq!((x.current_replicas, x.desired_replicas, x.recommendation), (4, 8, Some(8)));
    let m = &x.metrics[0];
    assert_eq!((m.metric_type, m.name.as_str()), (MetricType::Resource, "cpu"));
    // 250 + 232 (231456789n rounds up) + 210 + 228 = 920m of 800m: 115 %.
    assert_eq!(m.current.as_deref(), Some("115%"));
    assert_eq!(m.usage_ratio, Some(115.0 / 60.0));
    assert_eq!((m.ready_pods, m.unready_pods, m.missing_pods, m.ignored_pods), (4, 0, 0, 0));
    assert_eq!(m.proposal, Some(8));
    assert_eq!(x.limited_by, LimitedBy::None);
    assert_eq!(condition(&x, HpaConditionType::AbleToScale), (ConditionStatus::True, "SucceededRescale"));
    assert_eq!(condition(&x, HpaConditionType::ScalingActive), (ConditionStatus::True, "ValidMetricFound"));
    assert_eq!(
        condition(&x, HpaConditionType::ScalingLimited),
        (ConditionStatus::False, "DesiredWithinRange")
    );
}

#[test]
fn a_scale_down_is_held_by_recommendations_inside_the_window() {
    let x = explain(STABILIZED, "scale-down-stabilized.yaml").unwrap();
    assert_eq!(x.now, "2026-01-01T00:10:00Z");
    assert_eq!(x.metrics[0].proposal, Some(3));
    assert_eq!(x.metrics[0].current.as_deref(), Some("30%"));
    // max(3, 6 @ 00:06, 5 @ 00:08:30) = 6; 8 @ 00:04 is older than 5 min.
    assert_eq!((x.recommendation, x.desired_replicas), (Some(6), 6));
    assert_eq!(x.limited_by, LimitedBy::Stabilization);
    assert_eq!(condition(&x, HpaConditionType::AbleToScale), (ConditionStatus::True, "ScaleDownStabilized"));
}

#[test]
fn a_pods_policy_of_2_per_minute_caps_the_scale_up_at_5() {
    let x = explain(BEHAVIOR, "behavior-limited.yaml").unwrap();
    let m = &x.metrics[0];
    assert_eq!((m.metric_type, m.usage_ratio, m.proposal), (MetricType::Pods, Some(2.0), Some(8)));
    assert_eq!(m.current.as_deref(), Some("20 per pod"));
    assert_eq!((x.recommendation, x.desired_replicas), (Some(8), 5));
    assert_eq!(x.limited_by, LimitedBy::Policy);
    assert_eq!(condition(&x, HpaConditionType::ScalingLimited), (ConditionStatus::True, "ScaleUpLimit"));
}

#[test]
fn a_missing_pod_is_assumed_busy_on_a_scale_down() {
    let x = explain(MISSING, "missing-metrics.yaml").unwrap();
    let m = &x.metrics[0];
    assert_eq!((m.ready_pods, m.unready_pods, m.missing_pods, m.ignored_pods), (3, 1, 1, 1));
    assert_eq!(m.usage_ratio, Some(10.0 / 50.0));
    // Rebalanced: floor(100 * 1300 / 4000) = 32 % → 0.64 → ceil(0.64 * 4) = 3.
    assert_eq!(m.proposal, Some(3));
    // `recommendations: []` is an empty log: nothing holds the scale-down.
    assert_eq!((x.current_replicas, x.desired_replicas), (5, 3));
    assert_eq!(x.limited_by, LimitedBy::None);
    let g = x.detail.pod_groups[0].as_ref().unwrap();
    assert_eq!(g.missing, vec!["web-7d9f8c6b5d-q4"]);
    assert_eq!(g.ignored, vec!["web-7d9f8c6b5d-q6 (terminating)"]);
}

#[test]
fn an_external_average_value_divides_the_selected_series_among_status_replicas() {
    let x = explain(EXTERNAL, "external.yaml").unwrap();
    let m = &x.metrics[0];
    assert_eq!(m.metric_type, MetricType::External);
    assert_eq!(m.usage_ratio, Some(130_000.0 / (30_000.0 * 3.0)));
    assert_eq!(m.proposal, Some(5));
    // ceil(130000m / 3) = 43334m per pod, as the HPA status reports it.
    assert_eq!(m.current.as_deref(), Some("43334m per pod"));
    assert_eq!((x.current_replicas, x.desired_replicas), (3, 5));
}

#[test]
fn the_json_has_every_contract_field() {
    let x = explain(SCALE_UP, "scale-up-cpu.yaml").unwrap();
    let v: serde_json::Value = serde_json::to_value(&x).unwrap();
    for key in
        ["desired_replicas", "current_replicas", "metrics", "recommendation", "limited_by", "conditions"]
    {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    let m = &v["metrics"][0];
    for key in [
        "type",
        "name",
        "proposal",
        "usage_ratio",
        "ready_pods",
        "unready_pods",
        "missing_pods",
        "ignored_pods",
    ] {
        assert!(m.get(key).is_some(), "missing metrics[0].{key}: {m}");
    }
    assert_eq!(v["limited_by"], "none");
    assert_eq!(
        v["conditions"][0],
        serde_json::json!({"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"})
    );
    assert!(v.get("detail").is_none());
}

#[test]
fn the_table_walks_from_metrics_to_the_decision() {
    let x = explain(BEHAVIOR, "behavior-limited.yaml").unwrap();
    let t = table::render(&x);
    assert!(t.contains("Pods http_requests_per_second: target 10 per pod"), "{t}");
    assert!(t.contains("ceil(2.000 × 4 ready pods) = 8"), "{t}");
    assert!(t.contains("scale up: selectPolicy Max over [2 pods/1m] → at most 5"), "{t}");
    assert!(t.contains("limited by: a behavior rate policy"), "{t}");
    assert!(t.contains("Decision: scale Deployment/web from 4 to 5 replicas"), "{t}");
}

#[test]
fn a_missing_scale_target_names_the_hpa_and_its_field() {
    let text = SCALE_UP.replace("kind: Deployment\n    name: web", "kind: Deployment\n    name: nope");
    let err = explain(&text, "dump.yaml").unwrap_err();
    let ExplainError::Invalid(d) = &err else { panic!("{err}") };
    assert_eq!(d.object.as_deref(), Some("HorizontalPodAutoscaler default/web"));
    assert_eq!(d.field.as_deref(), Some("spec.scaleTargetRef"));
    assert!(err.to_string().starts_with("dump.yaml:"), "{err}");
}

#[test]
fn a_bad_cpu_quantity_in_pod_metrics_is_an_input_error() {
    let text = SCALE_UP.replace("cpu: 228m", "cpu: fast");
    let err = explain(&text, "dump.yaml").unwrap_err();
    assert!(err.to_string().contains("items[3].containers[0].usage.cpu"), "{err}");
}

#[test]
fn an_input_without_an_hpa_is_an_error() {
    let err = explain("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", "x.yaml").unwrap_err();
    assert!(err.to_string().contains("no HorizontalPodAutoscaler"), "{err}");
}

#[test]
fn timestamps_print_as_rfc3339() {
    assert_eq!(rfc3339(SimTime::ZERO), "1970-01-01T00:00:00Z");
    // 2026-01-01T00:10:00Z = 1767226200 s.
    assert_eq!(rfc3339(SimTime::from_secs(1_767_226_200)), "2026-01-01T00:10:00Z");
    assert_eq!(rfc3339(SimTime::from_millis(951_782_400_250)), "2000-02-29T00:00:00.25Z");
}
