//! Controller-level cases (upstream `horizontal_test.go`): reconcile order, failed metrics,
//! legacy normalization, `behavior` stabilization and policies, conditions.

use kubesim_api::{ConditionStatus, ResourceName};
use sim_core::{SimDuration, SimTime};

use super::normalize::{normalize_with_behavior, scale_down_limit, scale_up_limit};
use super::reconcile::{HpaConditionType, HpaInput};
use super::samples::MetricsSnapshot;
use super::spec::{
    Behavior, HpaControllerConfig, HpaSpec, MetricSpec, ResourceTarget, Scale, ScalingPolicy, ScalingRules,
    SelectPolicy, ValueTarget,
};
use super::state::{HpaState, Recommendation, ScaleEvent};
use super::testutil::*;
use super::*;

fn cpu_util(target: i32) -> MetricSpec {
    MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::Utilization(target) }
}

fn secs_ago(s: u64) -> SimTime {
    NOW.saturating_sub(SimDuration::from_secs(s))
}

fn run(
    config: &HpaControllerConfig,
    spec: &HpaSpec,
    current: i32,
    pods: &[kubesim_api::Pod],
    metrics: &MetricsSnapshot,
    state: &mut HpaState,
) -> Decision {
    let input = HpaInput {
        spec,
        scale: Scale { spec_replicas: current, status_replicas: current },
        pods,
        metrics,
        now: NOW,
    };
    reconcile(config, &input, state)
}

fn condition(d: &Decision, kind: HpaConditionType) -> Option<(ConditionStatus, String)> {
    d.conditions.iter().find(|c| c.kind == kind).map(|c| (c.status, c.reason.to_string()))
}

/// `n` pods at 1000m request, each using `usage` millicores.
fn load(n: usize, usage: i64) -> (Vec<kubesim_api::Pod>, MetricsSnapshot) {
    (pods(&vec![1000; n]), cpu_usage(&vec![usage; n]))
}

#[test]
fn a_target_scaled_to_zero_disables_autoscaling() {
    let spec = HpaSpec::new(1, 10, vec![cpu_util(50)]);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        0,
        &[],
        &MetricsSnapshot::default(),
        &mut HpaState::default(),
    );
    assert_eq!((d.desired_replicas, d.rescale), (0, false));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingActive),
        Some((ConditionStatus::False, "ScalingDisabled".into()))
    );
}

#[test]
fn counts_outside_the_bounds_are_clamped_without_reading_metrics() {
    let spec = HpaSpec::new(2, 5, vec![cpu_util(50)]);
    let none = MetricsSnapshot::default();
    let d = run(&HpaControllerConfig::default(), &spec, 8, &[], &none, &mut HpaState::default());
    assert_eq!((d.desired_replicas, d.limited_by, d.metrics.len()), (5, LimitedBy::Max, 0));
    let d = run(&HpaControllerConfig::default(), &spec, 1, &[], &none, &mut HpaState::default());
    assert_eq!((d.desired_replicas, d.limited_by), (2, LimitedBy::Min));
}

#[test]
fn the_highest_metric_proposal_wins() {
    // CPU: 3 pods at 100 % vs 50 % → 6. External: 4 vs Value 1 per ready pod → 4 × 3 = 12.
    let (p, mut snap) = load(3, 1000);
    snap.external.insert("queue".into(), vec![4_000]);
    let spec = HpaSpec::new(
        1,
        20,
        vec![
            cpu_util(50),
            MetricSpec::External { metric: "queue".into(), target: ValueTarget::Value(1_000) },
        ],
    );
    let config = HpaControllerConfig { scale_up_limit_factor: 8.0, ..Default::default() };
    let d = run(&config, &spec, 3, &p, &snap, &mut HpaState::default());
    assert_eq!(d.metrics.iter().map(|m| m.proposal).collect::<Vec<_>>(), vec![Some(6), Some(12)]);
    assert_eq!(d.desired_replicas, 12);
    assert_eq!(
        condition(&d, HpaConditionType::ScalingActive),
        Some((ConditionStatus::True, "ValidMetricFound".into()))
    );
}

#[test]
fn a_failed_metric_allows_scale_up_but_blocks_scale_down() {
    let failing = MetricSpec::External { metric: "absent".into(), target: ValueTarget::Value(1_000) };
    let spec = HpaSpec::new(1, 20, vec![cpu_util(50), failing]);
    // CPU asks for 6 from 3: the scale-up proceeds.
    let (p, snap) = load(3, 1000);
    let d = run(&HpaControllerConfig::default(), &spec, 3, &p, &snap, &mut HpaState::default());
    assert_eq!(d.desired_replicas, 6);
    assert!(d.metrics[1].error.is_some());
    // CPU asks for 2 from 4: the reconcile aborts with the failed metric's reason.
    let (p, snap) = load(4, 200);
    let d = run(&HpaControllerConfig::default(), &spec, 4, &p, &snap, &mut HpaState::default());
    assert_eq!((d.desired_replicas, d.rescale, d.recommendation), (4, false, None));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingActive),
        Some((ConditionStatus::False, "FailedGetExternalMetric".into()))
    );
}

#[test]
fn legacy_stabilization_holds_the_highest_recent_recommendation() {
    let spec = HpaSpec::new(1, 10, vec![cpu_util(50)]);
    let (p, snap) = load(8, 250); // 25 % vs 50 % → ceil(0.5 × 8) = 4
                                  // A recommendation of 8 exactly 300 s old is still inside the window (cutoff is inclusive).
    let mut state =
        HpaState::with_recommendations(vec![Recommendation { timestamp: secs_ago(300), replicas: 8 }]);
    let d = run(&HpaControllerConfig::default(), &spec, 8, &p, &snap, &mut state);
    assert_eq!((d.desired_replicas, d.recommendation, d.limited_by), (8, Some(8), LimitedBy::Stabilization));
    assert_eq!(
        condition(&d, HpaConditionType::AbleToScale),
        Some((ConditionStatus::True, "ScaleDownStabilized".into()))
    );
    assert_eq!(state.recommendations.as_ref().map(Vec::len), Some(2));
    // 301 s old: outside; its slot is reused for the new proposal and the scale-down happens.
    let mut state =
        HpaState::with_recommendations(vec![Recommendation { timestamp: secs_ago(301), replicas: 8 }]);
    let d = run(&HpaControllerConfig::default(), &spec, 8, &p, &snap, &mut state);
    assert_eq!((d.desired_replicas, d.limited_by), (4, LimitedBy::None));
    assert_eq!(state.recommendations, Some(vec![Recommendation { timestamp: NOW, replicas: 4 }]));
    assert_eq!(
        condition(&d, HpaConditionType::AbleToScale),
        Some((ConditionStatus::True, "SucceededRescale".into()))
    );
}

#[test]
fn a_fresh_controller_cannot_scale_down_for_one_window() {
    let spec = HpaSpec::new(1, 10, vec![cpu_util(50)]);
    let (p, snap) = load(8, 250);
    let mut state = HpaState::default();
    let d = run(&HpaControllerConfig::default(), &spec, 8, &p, &snap, &mut state);
    assert_eq!((d.desired_replicas, d.limited_by), (8, LimitedBy::Stabilization));
}

#[test]
fn legacy_scale_up_is_capped_at_twice_current_or_four() {
    // 3 pods at 200 % vs 10 % → ratio 20 → 60 proposed.
    let spec = HpaSpec::new(1, 100, vec![cpu_util(10)]);
    let (p, snap) = load(3, 2000);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        3,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (6, LimitedBy::ScaleUpLimit));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingLimited),
        Some((ConditionStatus::True, "ScaleUpLimit".into()))
    );
    // horizontal_test.go's factor 8: max(24, 4) = 24.
    let eight = HpaControllerConfig { scale_up_limit_factor: 8.0, ..Default::default() };
    let d = run(&eight, &spec, 3, &p, &snap, &mut HpaState::with_recommendations(vec![]));
    assert_eq!(d.desired_replicas, 24);
    // From 1 replica the floor of 4 applies.
    let (p1, snap1) = load(1, 2000);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        1,
        &p1,
        &snap1,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!(d.desired_replicas, 4);
    // maxReplicas tighter than the cap: TooManyReplicas.
    let spec = HpaSpec::new(1, 5, vec![cpu_util(10)]);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        3,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (5, LimitedBy::Max));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingLimited),
        Some((ConditionStatus::True, "TooManyReplicas".into()))
    );
}

#[test]
fn legacy_minimum_reports_too_few_replicas() {
    let spec = HpaSpec::new(3, 10, vec![cpu_util(50)]);
    let (p, snap) = load(4, 100); // 10 % vs 50 % → ceil(0.2 × 4) = 1
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        4,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (3, LimitedBy::Min));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingLimited),
        Some((ConditionStatus::True, "TooFewReplicas".into()))
    );
}

fn with_behavior(spec: HpaSpec, up: ScalingRules, down: ScalingRules) -> HpaSpec {
    HpaSpec { behavior: Some(Behavior { scale_up: Some(up), scale_down: Some(down) }), ..spec }
}

#[test]
fn upscale_cap_from_a_percent_policy() {
    // TestUpscaleCap: Percent 700 / 60 s from 3 → ceil(3 × 8) = 24 (proposal 60).
    let up = ScalingRules { policies: Some(vec![ScalingPolicy::percent(700, 60)]), ..Default::default() };
    let spec = with_behavior(HpaSpec::new(1, 100, vec![cpu_util(10)]), up.clone(), ScalingRules::default());
    let (p, snap) = load(3, 2000);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        3,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (24, LimitedBy::Policy));
    assert_eq!(
        condition(&d, HpaConditionType::ScalingLimited),
        Some((ConditionStatus::True, "ScaleUpLimit".into()))
    );
    // With maxReplicas 20 the bound is TooManyReplicas.
    let spec = with_behavior(HpaSpec::new(1, 20, vec![cpu_util(10)]), up, ScalingRules::default());
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        3,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (20, LimitedBy::Max));
}

fn resolved(up: ScalingRules, down: ScalingRules) -> super::spec::ResolvedBehavior {
    Behavior { scale_up: Some(up), scale_down: Some(down) }.resolve(SimDuration::from_secs(300))
}

#[test]
fn default_scale_up_policy_takes_the_larger_of_four_pods_and_double() {
    let b = resolved(ScalingRules::default(), ScalingRules::default());
    let state = HpaState::default();
    // From 5: max(5 + 4, ceil(5 × 2)) = 10. From 1: max(5, 2) = 5.
    assert_eq!(scale_up_limit(&state, NOW, 5, &b.scale_up), 10);
    assert_eq!(scale_up_limit(&state, NOW, 1, &b.scale_up), 5);
}

#[test]
fn recent_scale_events_move_the_period_start() {
    let b = resolved(ScalingRules::default(), ScalingRules::default());
    let mut state = HpaState::default();
    // +3 ten seconds ago: period start 5 − 3 = 2 → max(2 + 4, 4) = 6.
    state.scale_up_events.push(ScaleEvent { timestamp: secs_ago(10), replica_change: 3, outdated: false });
    assert_eq!(scale_up_limit(&state, NOW, 5, &b.scale_up), 6);
    // An event exactly 15 s old is outside the strict window.
    state.scale_up_events[0].timestamp = secs_ago(15);
    assert_eq!(scale_up_limit(&state, NOW, 5, &b.scale_up), 10);
}

#[test]
fn scale_down_policies_truncate_and_select_by_largest_change() {
    let down = ScalingRules {
        policies: Some(vec![ScalingPolicy::pods(1, 60), ScalingPolicy::percent(50, 60)]),
        ..Default::default()
    };
    let b = resolved(ScalingRules::default(), down.clone());
    let mut state = HpaState::default();
    // Max (default): min(10 − 1, floor(10 × 0.5)) = 5.
    assert_eq!(scale_down_limit(&state, NOW, 10, &b.scale_down), 5);
    // −3 thirty seconds ago: start 13 → min(12, floor(6.5) = 6) = 6.
    state.scale_down_events.push(ScaleEvent { timestamp: secs_ago(30), replica_change: 3, outdated: false });
    assert_eq!(scale_down_limit(&state, NOW, 10, &b.scale_down), 6);
    // Min: the smallest change wins: max(12, 6) = 12 (then capped at current by the caller).
    let min = resolved(
        ScalingRules::default(),
        ScalingRules { select_policy: Some(SelectPolicy::Min), ..down.clone() },
    );
    assert_eq!(scale_down_limit(&state, NOW, 10, &min.scale_down), 12);
    let off = resolved(
        ScalingRules::default(),
        ScalingRules { select_policy: Some(SelectPolicy::Disabled), ..down },
    );
    assert_eq!(scale_down_limit(&state, NOW, 10, &off.scale_down), 10);
}

#[test]
fn behavior_stabilization_holds_between_both_windows() {
    // Up window 60 s, down window 300 s. Log: 6 at −100 s, 9 at −30 s. Current 8.
    let b = resolved(
        ScalingRules { stabilization_window_seconds: Some(60), ..Default::default() },
        ScalingRules::default(),
    );
    let log = vec![
        Recommendation { timestamp: secs_ago(100), replicas: 6 },
        Recommendation { timestamp: secs_ago(30), replicas: 9 },
    ];
    // Proposal 12: up = min(12, 9) = 9 → raised from 8 to 9; down = max(12, 6, 9) = 12.
    let mut state = HpaState::with_recommendations(log.clone());
    let n = normalize_with_behavior(&mut state, NOW, &b, 8, 12, 1, 100);
    assert_eq!((n.stabilized, n.desired, n.able_to_scale_reason), (9, 9, "ScaleUpStabilized"));
    // Proposal 4: up = min(4, 9) = 4; down = max(4, 6, 9) = 9 → current 8 stays.
    let mut state = HpaState::with_recommendations(log);
    let n = normalize_with_behavior(&mut state, NOW, &b, 8, 4, 1, 100);
    assert_eq!(
        (n.stabilized, n.limited_by, n.able_to_scale_reason),
        (8, LimitedBy::Stabilization, "ScaleDownStabilized")
    );
    assert_eq!(state.recommendations.as_ref().map(Vec::len), Some(3));
}

#[test]
fn disabled_scale_down_keeps_current() {
    let down = ScalingRules {
        select_policy: Some(SelectPolicy::Disabled),
        stabilization_window_seconds: Some(0),
        ..Default::default()
    };
    let spec = with_behavior(HpaSpec::new(1, 10, vec![cpu_util(50)]), ScalingRules::default(), down);
    let (p, snap) = load(8, 100);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        8,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!((d.desired_replicas, d.limited_by), (8, LimitedBy::Policy));
}

#[test]
fn behavior_tolerance_overrides_one_direction() {
    // 3 pods at 54 % vs 50 % → 1.08: inside the default 10 %, outside a 5 % up tolerance.
    let up = ScalingRules { tolerance: Some(0.05), ..Default::default() };
    let spec = with_behavior(HpaSpec::new(1, 10, vec![cpu_util(50)]), up, ScalingRules::default());
    let (p, snap) = load(3, 540);
    let d = run(
        &HpaControllerConfig::default(),
        &spec,
        3,
        &p,
        &snap,
        &mut HpaState::with_recommendations(vec![]),
    );
    assert_eq!(d.desired_replicas, 4); // ceil(1.08 × 3) = 4
    let gate_off = HpaControllerConfig { configurable_tolerance: false, ..Default::default() };
    let d = run(&gate_off, &spec, 3, &p, &snap, &mut HpaState::with_recommendations(vec![]));
    assert_eq!(d.desired_replicas, 3);
}

#[test]
fn an_autoscaling_episode_with_behavior_follows_policies_and_windows() {
    // Load of 6 pods' worth (6000m) spread over the replicas; target 50 % of 1000m.
    // Up: Pods 2 / 60 s. Down: window 60 s, Percent 50 / 30 s. Current 2.
    let up = ScalingRules { policies: Some(vec![ScalingPolicy::pods(2, 60)]), ..Default::default() };
    let down = ScalingRules {
        stabilization_window_seconds: Some(60),
        policies: Some(vec![ScalingPolicy::percent(50, 30)]),
        ..Default::default()
    };
    let spec = with_behavior(HpaSpec::new(1, 20, vec![cpu_util(50)]), up, down);
    let config = HpaControllerConfig::default();
    let mut state = HpaState::with_recommendations(vec![]);
    let mut current = 2;
    let mut history = Vec::new();
    for step in 0..12u64 {
        let now = NOW + SimDuration::from_secs(15 * step);
        let total_millis = if step < 6 { 6000 } else { 600 };
        let per_pod = total_millis / i64::from(current);
        let p = pods(&vec![1000; current as usize]);
        let mut snap = cpu_usage(&vec![per_pod; current as usize]);
        for m in snap.pod_metrics.own_mut() {
            std::sync::Arc::make_mut(m).timestamp = now;
        }
        let input = HpaInput {
            spec: &spec,
            scale: Scale { spec_replicas: current, status_replicas: current },
            pods: &p,
            metrics: &snap,
            now,
        };
        let d = reconcile_and_commit(&config, &input, &mut state);
        current = d.desired_replicas;
        history.push(current);
    }
    // t=0: 300 % → 12, Pods 2 / 60 s caps at 2 + 2 = 4 (event +2). t=15…45: the +2 is inside the
    // window, period start 2 → limit 4 = current. t=60: the t=0 event is exactly 60 s old, outside
    // the strict window → 6. t=75: held at 6. Load drops at t=90 (proposal 2), but the 60 s down
    // window still holds a 12 until t=135: then Percent 50 / 30 s allows floor(6 × 0.5) = 3.
    // t=150: the −3 at t=135 moves the period start to 6 → limit 3 = current. t=165: that event
    // is 30 s old (outside) → floor(3 × 0.5) = 1, so the proposal 2 goes through.
    assert_eq!(history, vec![4, 4, 4, 4, 6, 6, 6, 6, 6, 3, 3, 2]);
}
