//! From the metrics' proposal to the replica count written: stabilization and rate limits.
//! Legacy path without `behavior` (`normalizeDesiredReplicas`) and the `behavior` path
//! (`normalizeDesiredReplicasWithBehaviors`).

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use super::spec::{PolicyKind, ResolvedBehavior, ResolvedRules, SelectPolicy};
use super::state::{replicas_changed_in_period, HpaState, Recommendation};

/// What bound the final count, for decision records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitedBy {
    /// The proposal went through unchanged.
    None,
    /// A stabilization window held the count.
    Stabilization,
    /// A `behavior` rate policy.
    Policy,
    /// `minReplicas`.
    Min,
    /// `maxReplicas`.
    Max,
    /// The legacy `max(2 × current, 4)` cap.
    ScaleUpLimit,
}

/// Result of normalization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The count to write.
    pub desired: i32,
    /// The recommendation after stabilization, before rate limits and bounds.
    pub stabilized: i32,
    /// AbleToScale reason (`ReadyForNewScale`, `ScaleDownStabilized`, `ScaleUpStabilized`).
    pub able_to_scale_reason: &'static str,
    /// ScalingLimited reason (`DesiredWithinRange`, `TooManyReplicas`, …).
    pub limited_reason: &'static str,
    /// ScalingLimited status.
    pub limited: bool,
    /// What bound the count.
    pub limited_by: LimitedBy,
}

fn limited_by(proposal: i32, stabilized: i32, desired: i32, reason: &'static str) -> LimitedBy {
    if desired != stabilized {
        match reason {
            "TooManyReplicas" => LimitedBy::Max,
            "TooFewReplicas" => LimitedBy::Min,
            "ScaleUpLimit" | "ScaleDownLimit" => LimitedBy::Policy,
            _ => LimitedBy::None,
        }
    } else if stabilized != proposal {
        LimitedBy::Stabilization
    } else {
        LimitedBy::None
    }
}

/// Legacy normalization: stabilize over the down window (max of recent recommendations), log
/// the proposal, then clamp to `[min, min(max, scaleUpLimit)]`.
#[allow(clippy::too_many_arguments)]
pub fn normalize_legacy(
    state: &mut HpaState,
    now: SimTime,
    window: SimDuration,
    current: i32,
    proposal: i32,
    min: i32,
    max: i32,
    scale_up_limit_factor: f64,
    scale_up_limit_minimum: f64,
) -> Normalized {
    let cutoff = now.saturating_sub(window);
    let mut stabilized = proposal;
    let mut reuse = None;
    for (i, rec) in state.recommendations.iter().flatten().enumerate() {
        if rec.timestamp < cutoff {
            reuse = Some(i);
        } else if rec.replicas > stabilized {
            stabilized = rec.replicas;
        }
    }
    state.log_recommendation(reuse, Recommendation { timestamp: now, replicas: proposal });
    let able = if stabilized != proposal { "ScaleDownStabilized" } else { "ReadyForNewScale" };

    let scale_up_limit = (scale_up_limit_factor * f64::from(current)).max(scale_up_limit_minimum) as i32;
    let (max_allowed, max_reason) =
        if max > scale_up_limit { (scale_up_limit, "ScaleUpLimit") } else { (max, "TooManyReplicas") };
    let (desired, reason) = if stabilized < min {
        (min, "TooFewReplicas")
    } else if stabilized > max_allowed {
        (max_allowed, max_reason)
    } else {
        (stabilized, "DesiredWithinRange")
    };
    let mut lb = limited_by(proposal, stabilized, desired, reason);
    if lb == LimitedBy::Policy {
        lb = LimitedBy::ScaleUpLimit;
    }
    Normalized {
        desired,
        stabilized,
        able_to_scale_reason: able,
        limited_reason: reason,
        limited: desired != stabilized,
        limited_by: lb,
    }
}

/// `behavior` normalization: stabilize between the up and down windows, log the proposal, then
/// apply the rate policies and the bounds in the direction of the change.
pub fn normalize_with_behavior(
    state: &mut HpaState,
    now: SimTime,
    behavior: &ResolvedBehavior,
    current: i32,
    proposal: i32,
    min: i32,
    max: i32,
) -> Normalized {
    let stabilized = stabilize_with_behavior(state, now, behavior, current, proposal);
    let able = if stabilized == proposal {
        "ReadyForNewScale"
    } else if proposal >= current {
        "ScaleUpStabilized"
    } else {
        "ScaleDownStabilized"
    };
    let (desired, reason) = rate_limit(state, now, behavior, current, stabilized, min, max);
    Normalized {
        desired,
        stabilized,
        able_to_scale_reason: able,
        limited_reason: reason,
        limited: desired != stabilized,
        limited_by: limited_by(proposal, stabilized, desired, reason),
    }
}

fn secs(s: i32) -> SimDuration {
    SimDuration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// `stabilizeRecommendationWithBehaviors`.
fn stabilize_with_behavior(
    state: &mut HpaState,
    now: SimTime,
    behavior: &ResolvedBehavior,
    current: i32,
    proposal: i32,
) -> i32 {
    let up_cutoff = now.saturating_sub(secs(behavior.scale_up.stabilization_window_seconds));
    let down_cutoff = now.saturating_sub(secs(behavior.scale_down.stabilization_window_seconds));
    let (mut up, mut down) = (proposal, proposal);
    let mut reuse = None;
    for (i, rec) in state.recommendations.iter().flatten().enumerate() {
        if rec.timestamp > up_cutoff {
            up = up.min(rec.replicas);
        }
        if rec.timestamp > down_cutoff {
            down = down.max(rec.replicas);
        }
        if rec.timestamp < up_cutoff && rec.timestamp < down_cutoff {
            reuse = Some(i);
        }
    }
    let mut recommendation = current;
    if recommendation < up {
        recommendation = up;
    }
    if recommendation > down {
        recommendation = down;
    }
    state.log_recommendation(reuse, Recommendation { timestamp: now, replicas: proposal });
    recommendation
}

/// `convertDesiredReplicasWithBehaviorRate`: returns the count and the ScalingLimited reason.
fn rate_limit(
    state: &HpaState,
    now: SimTime,
    behavior: &ResolvedBehavior,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
) -> (i32, &'static str) {
    if desired > current {
        let limit = scale_up_limit(state, now, current, &behavior.scale_up).max(current);
        let (allowed, reason) = if max > limit { (limit, "ScaleUpLimit") } else { (max, "TooManyReplicas") };
        if desired > allowed {
            return (allowed, reason);
        }
    } else if desired < current {
        let limit = scale_down_limit(state, now, current, &behavior.scale_down).min(current);
        let (allowed, reason) = if min < limit { (limit, "ScaleDownLimit") } else { (min, "TooFewReplicas") };
        if desired < allowed {
            return (allowed, reason);
        }
    }
    (desired, "DesiredWithinRange")
}

fn period_start(state: &HpaState, now: SimTime, current: i32, period_seconds: i32) -> i32 {
    let period = secs(period_seconds);
    current - replicas_changed_in_period(&state.scale_up_events, period, now)
        + replicas_changed_in_period(&state.scale_down_events, period, now)
}

/// `calculateScaleUpLimitWithScalingRules`.
pub fn scale_up_limit(state: &HpaState, now: SimTime, current: i32, rules: &ResolvedRules) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, std::cmp::min),
        SelectPolicy::Max => (i32::MIN, std::cmp::max),
    };
    for p in &rules.policies {
        let start = period_start(state, now, current, p.period_seconds);
        let proposed = match p.kind {
            PolicyKind::Pods => start + p.value,
            PolicyKind::Percent => (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32,
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`.
pub fn scale_down_limit(state: &HpaState, now: SimTime, current: i32, rules: &ResolvedRules) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, std::cmp::max),
        SelectPolicy::Max => (i32::MAX, std::cmp::min),
    };
    for p in &rules.policies {
        let start = period_start(state, now, current, p.period_seconds);
        let proposed = match p.kind {
            PolicyKind::Pods => start - p.value,
            // Go's int32(float64) conversion truncates toward zero.
            PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}
