//! The human report of `kubesim explain hpa`: per metric the ratio, pod classification and
//! proposal, then stabilization, rate limits and bounds, the conditions and the decision.

use std::fmt::Write as _;

use kubesim_api::{ConditionStatus, Pod, PodPhase};
use kubesim_controllers::hpa::classify::{group_pods, CpuReadiness};
use kubesim_controllers::hpa::normalize::{scale_down_limit, scale_up_limit};
use kubesim_controllers::hpa::samples::{custom_pod_metrics, resource_metrics};
use kubesim_controllers::hpa::spec::ResolvedRules;
use kubesim_controllers::hpa::{
    Decision, HpaControllerConfig, HpaSpec, LimitedBy, MetricDecision, MetricSpec, MetricsSnapshot,
    PolicyKind, ResourceTarget, SelectPolicy, ValueTarget,
};
use sim_core::{SimDuration, SimTime};

use super::Explanation;

/// Names of the pods a metric did not use as is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodNames {
    /// Unready pods, each with why.
    pub unready: Vec<String>,
    /// Pods without a sample.
    pub missing: Vec<String>,
    /// Terminating or Failed pods.
    pub ignored: Vec<String>,
}

/// Re-runs the classification of each pod-based metric to name the pods behind the counts.
pub fn pod_groups(
    config: &HpaControllerConfig,
    spec: &HpaSpec,
    pods: &[Pod],
    snapshot: &MetricsSnapshot,
    now: SimTime,
    decision: &Decision,
) -> Vec<Option<PodNames>> {
    let cpu = CpuReadiness {
        cpu_initialization_period: config.cpu_initialization_period,
        initial_readiness_delay: config.initial_readiness_delay,
    };
    if decision.metrics.is_empty() {
        return Vec::new();
    }
    spec.effective_metrics()
        .iter()
        .map(|m| {
            let (info, resource) = match m {
                MetricSpec::Resource { resource, .. } => {
                    (resource_metrics(snapshot, resource, None), Some(resource))
                }
                MetricSpec::ContainerResource { resource, container, .. } => {
                    (resource_metrics(snapshot, resource, Some(container)), Some(resource))
                }
                MetricSpec::Pods { metric, .. } => (custom_pod_metrics(snapshot, metric), None),
                _ => return None,
            };
            let info = info.ok()?;
            let g = group_pods(pods, &info, resource, cpu, now);
            let why = |name: &String| {
                let pod = pods.iter().find(|p| &p.meta.name == name);
                let reason = match pod {
                    Some(p) if p.status.phase == PodPhase::Pending => "Pending",
                    Some(p) if !p.is_ready() => "not Ready",
                    _ => "CPU sample too soon after start or readiness change",
                };
                format!("{name} ({reason})")
            };
            Some(PodNames {
                unready: g.unready.iter().map(why).collect(),
                missing: g.missing.iter().cloned().collect(),
                ignored: g
                    .ignored
                    .iter()
                    .map(|n| {
                        let terminating =
                            pods.iter().any(|p| &p.meta.name == n && p.meta.deletion_timestamp.is_some());
                        format!("{n} ({})", if terminating { "terminating" } else { "Failed" })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A milli-value as a quantity: `250m`, `3`, `1.5`.
fn milli(v: i64) -> String {
    if v % 1000 == 0 {
        (v / 1000).to_string()
    } else if v % 100 == 0 {
        format!("{}.{}", v / 1000, (v % 1000).abs() / 100)
    } else {
        format!("{v}m")
    }
}

/// The target as written.
pub fn target_text(m: &MetricSpec) -> String {
    match m {
        MetricSpec::Resource { target, .. } | MetricSpec::ContainerResource { target, .. } => match target {
            ResourceTarget::Utilization(p) => format!("{p}%"),
            ResourceTarget::AverageValue(v) => format!("{} per pod", milli(*v)),
        },
        MetricSpec::Pods { average_value_milli, .. } => format!("{} per pod", milli(*average_value_milli)),
        MetricSpec::Object { target, .. } | MetricSpec::External { target, .. } => match target {
            ValueTarget::Value(v) => milli(*v),
            ValueTarget::AverageValue(v) => format!("{} per pod", milli(*v)),
        },
    }
}

/// The current value as the HPA status reports it.
pub fn current_text(m: &MetricSpec, d: &MetricDecision) -> String {
    match m {
        MetricSpec::Resource { target: ResourceTarget::Utilization(_), .. }
        | MetricSpec::ContainerResource { target: ResourceTarget::Utilization(_), .. } => {
            format!("{}%", d.utilization_percent.unwrap_or(0))
        }
        MetricSpec::Object { target: ValueTarget::Value(_), .. }
        | MetricSpec::External { target: ValueTarget::Value(_), .. } => milli(d.value_milli),
        _ => format!("{} per pod", milli(d.value_milli)),
    }
}

fn dur(secs: i32) -> String {
    SimDuration::from_secs(u64::try_from(secs).unwrap_or(0)).to_string()
}

fn age(now: SimTime, t: SimTime) -> String {
    if t <= now {
        format!("{} ago", now.saturating_duration_since(t))
    } else {
        format!("in {}", t.saturating_duration_since(now))
    }
}

/// Why one metric proposed what it did.
fn metric_reason(
    x: &Explanation,
    spec: &MetricSpec,
    m: &super::MetricExplanation,
    tol: (f64, f64),
) -> String {
    let Some(ratio) = m.usage_ratio else { return String::new() };
    let Some(proposal) = m.proposal else { return String::new() };
    let current = x.current_replicas;
    let within = (1.0 - tol.0) <= ratio && ratio <= 1.0 + tol.1;
    let band = format!("[{:.2}, {:.2}]", 1.0 - tol.0, 1.0 + tol.1);
    match spec {
        MetricSpec::Object { target: ValueTarget::AverageValue(_), .. }
        | MetricSpec::External { target: ValueTarget::AverageValue(_), .. } => {
            if within {
                format!("ratio within tolerance {band}: keep status.replicas {}", x.detail.status_replicas)
            } else {
                format!("total / target per pod, rounded up = {proposal}")
            }
        }
        MetricSpec::Object { .. } | MetricSpec::External { .. } => {
            if within {
                format!("ratio within tolerance {band}: keep {current}")
            } else {
                format!("ceil({ratio:.3} × {} Running and Ready pods) = {proposal}", m.ready_pods)
            }
        }
        _ => {
            let unready_matter = m.unready_pods > 0 && ratio > 1.0;
            if m.missing_pods == 0 && !unready_matter {
                if within {
                    format!("ratio within tolerance {band}: keep {current}")
                } else {
                    format!("ceil({ratio:.3} × {} ready pods) = {proposal}", m.ready_pods)
                }
            } else {
                let mut parts = Vec::new();
                if m.missing_pods > 0 && ratio < 1.0 {
                    let at = match spec {
                        MetricSpec::Resource { target: ResourceTarget::Utilization(p), .. }
                        | MetricSpec::ContainerResource { target: ResourceTarget::Utilization(p), .. } => {
                            let pct = if x.detail.config.missing_fallback_uses_target {
                                (*p).max(100)
                            } else {
                                100
                            };
                            format!("{pct}% of their request")
                        }
                        _ => "the target".to_string(),
                    };
                    parts.push(format!("{} missing pod(s) assumed at {at}", m.missing_pods));
                } else if m.missing_pods > 0 && ratio > 1.0 {
                    parts.push(format!("{} missing pod(s) assumed idle", m.missing_pods));
                }
                if unready_matter {
                    parts.push(format!("{} unready pod(s) assumed idle", m.unready_pods));
                }
                let tail = if proposal == current {
                    format!("the recomputed ratio is within tolerance or reverses direction: keep {current}")
                } else {
                    format!("recomputed over every pod: {proposal}")
                };
                format!("{}; {tail}", parts.join(", "))
            }
        }
    }
}

fn policies_text(r: &ResolvedRules) -> String {
    let ps: Vec<String> = r
        .policies
        .iter()
        .map(|p| match p.kind {
            PolicyKind::Pods => format!("{} pods/{}", p.value, dur(p.period_seconds)),
            PolicyKind::Percent => format!("{}%/{}", p.value, dur(p.period_seconds)),
        })
        .collect();
    let select = match r.select_policy {
        SelectPolicy::Max => "Max",
        SelectPolicy::Min => "Min",
        SelectPolicy::Disabled => "Disabled",
    };
    format!("selectPolicy {select} over [{}]", ps.join(", "))
}

/// The whole report.
pub fn render(x: &Explanation) -> String {
    let d = &x.detail;
    let mut o = String::new();
    let Some(spec) = &d.spec else { return o };
    let now_src = if d.now_given { "HPAState.now" } else { "newest timestamp in the input" };
    let _ = writeln!(o, "HorizontalPodAutoscaler {} → {}", x.hpa, x.target);
    let _ = writeln!(o, "Evaluated at {} ({now_src})", x.now);
    let _ = writeln!(
        o,
        "Replicas: current {} (status {}), min {}, max {}",
        x.current_replicas, d.status_replicas, spec.min_replicas, spec.max_replicas
    );
    let state_src = if d.state_given {
        "from HPAState"
    } else {
        "no HPAState: freshly started controller, log seeded with the current count"
    };
    let _ = writeln!(o, "Controller state: {state_src}");

    let mut tol = (d.config.tolerance, d.config.tolerance);
    if let (true, Some(b)) = (d.config.configurable_tolerance, &spec.behavior) {
        tol.0 = b.scale_down.as_ref().and_then(|r| r.tolerance).unwrap_or(tol.0);
        tol.1 = b.scale_up.as_ref().and_then(|r| r.tolerance).unwrap_or(tol.1);
    }

    let _ = writeln!(o, "\nMetrics");
    if x.metrics.is_empty() {
        let why = if x.current_replicas == 0 && spec.min_replicas != 0 {
            "scaling is disabled (the target has 0 replicas)"
        } else if x.current_replicas > spec.max_replicas {
            "current replicas are above maxReplicas: metrics are not read, desired = maxReplicas"
        } else {
            "current replicas are below minReplicas: metrics are not read, desired = minReplicas"
        };
        let _ = writeln!(o, "  none read: {why}");
    }
    let specs = spec.effective_metrics();
    for (i, (m, s)) in x.metrics.iter().zip(&specs).enumerate() {
        let _ = writeln!(o, "  {:?} {}: target {}", m.metric_type, m.name, m.target);
        if let Some(e) = &m.error {
            let _ = writeln!(o, "    error: {e}");
            continue;
        }
        let _ = writeln!(
            o,
            "    current {}, usage ratio {:.3}",
            m.current.as_deref().unwrap_or("-"),
            m.usage_ratio.unwrap_or(0.0)
        );
        let uses_pods = !matches!(s, MetricSpec::Object { .. } | MetricSpec::External { .. });
        if uses_pods {
            let _ = writeln!(
                o,
                "    pods: {} ready, {} unready, {} missing, {} ignored",
                m.ready_pods, m.unready_pods, m.missing_pods, m.ignored_pods
            );
            if let Some(Some(g)) = d.pod_groups.get(i) {
                for (label, names) in
                    [("unready", &g.unready), ("missing", &g.missing), ("ignored", &g.ignored)]
                {
                    if !names.is_empty() {
                        let _ = writeln!(o, "      {label}: {}", names.join(", "));
                    }
                }
            }
        }
        let _ = writeln!(
            o,
            "    proposal: {} ({})",
            m.proposal.map_or("-".into(), |p| p.to_string()),
            metric_reason(x, s, m, tol)
        );
    }

    let proposal = x.metrics.iter().filter_map(|m| m.proposal).max();
    let _ = writeln!(o, "\nNormalization");
    match (x.recommendation, proposal) {
        (Some(rec), Some(p)) => {
            let _ = writeln!(o, "  proposal (largest over metrics): {p}");
            let log = d.state_before.recommendations.clone().unwrap_or_default();
            match &spec.behavior {
                None => {
                    let w = d.config.downscale_stabilization_window;
                    let _ = writeln!(
                        o,
                        "  stabilization (no behavior): the largest of the proposal and the recommendations of the last {w}"
                    );
                    if log.is_empty() {
                        let _ = writeln!(o, "    (the log is empty)");
                    }
                    for r in &log {
                        let inside = r.timestamp >= d.now.saturating_sub(w);
                        let _ = writeln!(
                            o,
                            "    {} replicas, {}{}",
                            r.replicas,
                            age(d.now, r.timestamp),
                            if inside { "" } else { " (outside the window)" }
                        );
                    }
                    let _ = writeln!(o, "  recommendation: {rec}");
                    let limit = (d.config.scale_up_limit_factor * f64::from(x.current_replicas))
                        .max(d.config.scale_up_limit_minimum) as i32;
                    let _ = writeln!(
                        o,
                        "  bounds: minReplicas {}, maxReplicas {}, scale-up limit max({}×{}, {}) = {limit}",
                        spec.min_replicas,
                        spec.max_replicas,
                        d.config.scale_up_limit_factor,
                        x.current_replicas,
                        d.config.scale_up_limit_minimum
                    );
                }
                Some(b) => {
                    let r = b.resolve(d.config.downscale_stabilization_window);
                    let _ = writeln!(
                        o,
                        "  stabilization windows: scale up {}, scale down {}",
                        dur(r.scale_up.stabilization_window_seconds),
                        dur(r.scale_down.stabilization_window_seconds)
                    );
                    for rec in &log {
                        let _ = writeln!(o, "    {} replicas, {}", rec.replicas, age(d.now, rec.timestamp));
                    }
                    let _ = writeln!(o, "  recommendation: {rec}");
                    let up = scale_up_limit(&d.state_before, d.now, x.current_replicas, &r.scale_up);
                    let down = scale_down_limit(&d.state_before, d.now, x.current_replicas, &r.scale_down);
                    let _ = writeln!(o, "  scale up: {} → at most {up}", policies_text(&r.scale_up));
                    let _ = writeln!(o, "  scale down: {} → at least {down}", policies_text(&r.scale_down));
                    for (dir, events) in
                        [("up", &d.state_before.scale_up_events), ("down", &d.state_before.scale_down_events)]
                    {
                        for e in events {
                            let _ = writeln!(
                                o,
                                "    scale-{dir} event: {} replicas, {}",
                                e.replica_change,
                                age(d.now, e.timestamp)
                            );
                        }
                    }
                    let _ = writeln!(
                        o,
                        "  bounds: minReplicas {}, maxReplicas {}",
                        spec.min_replicas, spec.max_replicas
                    );
                }
            }
        }
        _ => {
            let _ = writeln!(o, "  not run");
        }
    }
    let limited = match x.limited_by {
        LimitedBy::None => "nothing",
        LimitedBy::Stabilization => "the stabilization window",
        LimitedBy::Policy => "a behavior rate policy",
        LimitedBy::Min => "minReplicas",
        LimitedBy::Max => "maxReplicas",
        LimitedBy::ScaleUpLimit => "the scale-up limit",
    };
    let _ = writeln!(o, "  limited by: {limited}");

    let _ = writeln!(o, "\nConditions");
    for c in &x.conditions {
        let status = match c.status {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        };
        let _ = writeln!(o, "  {:<15} {:<6} {}", format!("{:?}", c.kind), status, c.reason);
    }
    let _ = writeln!(o);
    if x.desired_replicas == x.current_replicas {
        let _ = writeln!(o, "Decision: keep {} at {} replicas", x.target, x.current_replicas);
    } else {
        let _ = writeln!(
            o,
            "Decision: scale {} from {} to {} replicas",
            x.target, x.current_replicas, x.desired_replicas
        );
    }
    o
}
