//! `spec.expect` assertions: compiled at load time (references checked), evaluated on a finished
//! run. Every verdict carries the measured value.
//!
//! | assertion | holds when |
//! |---|---|
//! | `rolloutCompletes: {deployment, within}` | every rollout the events start (or, without such events, the initial creation) reaches `DeploymentRolloutComplete` within `within` |
//! | `availabilityAtLeast: {deployment, ratio}` | available / desired replicas, sampled every `metrics.interval`, never drops below `ratio` once the deployment is fully available (the ramp after creation or a scale-up is not counted) |
//! | `maxPendingTime: D` | no pod waits longer than `D` from creation to binding (pods still pending at the end count their wait so far) |
//! | `noOOMKills: true` | no container is OOM-killed |
//! | `maxContainerRestarts: N` | at most `N` container restarts in total |
//! | `maxEvictions: N` | at most `N` evictions (node pressure and taint based) |
//! | `allPodsScheduled: true` | no pod is pending at the end |
//! | `finalReplicas: {deployment, minAvailable?, desired?}` | at the end, available ≥ `minAvailable` and `spec.replicas` = `desired` |
//! | `schedulingLatencyP99: D` | the nearest-rank 99th percentile of creation→binding latency is at most `D` |

use std::collections::BTreeSet;

use kubesim_reports::junit::{ExpectationResult, Verdict};
use kubesim_reports::metrics::names;
use kubesim_reports::stats::percentile;
use sim_core::{SimDuration, SimTime};

use crate::compile::{object_key, Checker};
use crate::format::ExpectSpec;
use crate::locate::FieldPath;
use crate::run::RunResult;

/// One compiled assertion.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Rollouts complete in time.
    RolloutCompletes {
        /// `namespace/name`.
        deployment: String,
        /// Deadline per rollout.
        within: SimDuration,
    },
    /// Availability floor.
    AvailabilityAtLeast {
        /// `namespace/name`.
        deployment: String,
        /// Lowest acceptable ratio.
        ratio: f64,
    },
    /// Longest pending time.
    MaxPendingTime(SimDuration),
    /// No OOM kill.
    NoOomKills,
    /// Restart budget.
    MaxContainerRestarts(u64),
    /// Eviction budget.
    MaxEvictions(u64),
    /// Nothing pending at the end.
    AllPodsScheduled,
    /// Replica counts at the end.
    FinalReplicas {
        /// `namespace/name`.
        deployment: String,
        /// Least available replicas.
        min_available: Option<i64>,
        /// Exact `spec.replicas`.
        desired: Option<i64>,
    },
    /// Scheduling latency p99 bound.
    SchedulingLatencyP99(SimDuration),
}

pub(crate) fn compile(
    c: &mut Checker<'_>,
    specs: &[ExpectSpec],
    path: &FieldPath,
    deployments: &BTreeSet<String>,
) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (i, e) in specs.iter().enumerate() {
        let p = path.index(i);
        let mut found: Vec<(&str, Expectation)> = Vec::new();
        let deployment = |c: &mut Checker<'_>, field: &str, name: &str| -> String {
            let key = object_key(name).to_string();
            if !deployments.contains(&key) {
                c.error(&p.key(field).key("deployment"), format!("unknown deployment {key}"));
            }
            key
        };
        if let Some(r) = &e.rollout_completes {
            let d = deployment(c, "rolloutCompletes", &r.deployment);
            found.push((
                "rolloutCompletes",
                Expectation::RolloutCompletes { deployment: d, within: r.within },
            ));
        }
        if let Some(a) = &e.availability_at_least {
            let d = deployment(c, "availabilityAtLeast", &a.deployment);
            if !(0.0..=1.0).contains(&a.ratio) {
                c.error(&p.key("availabilityAtLeast").key("ratio"), "must be between 0 and 1");
            }
            found.push((
                "availabilityAtLeast",
                Expectation::AvailabilityAtLeast { deployment: d, ratio: a.ratio },
            ));
        }
        if let Some(d) = e.max_pending_time {
            found.push(("maxPendingTime", Expectation::MaxPendingTime(d)));
        }
        match e.no_oom_kills {
            Some(true) => found.push(("noOOMKills", Expectation::NoOomKills)),
            Some(false) => {
                c.error(&p.key("noOOMKills"), "only `true` is meaningful (drop the entry otherwise)")
            }
            None => {}
        }
        if let Some(n) = e.max_container_restarts {
            found.push(("maxContainerRestarts", Expectation::MaxContainerRestarts(n)));
        }
        if let Some(n) = e.max_evictions {
            found.push(("maxEvictions", Expectation::MaxEvictions(n)));
        }
        match e.all_pods_scheduled {
            Some(true) => found.push(("allPodsScheduled", Expectation::AllPodsScheduled)),
            Some(false) => {
                c.error(&p.key("allPodsScheduled"), "only `true` is meaningful (drop the entry otherwise)")
            }
            None => {}
        }
        if let Some(f) = &e.final_replicas {
            let d = deployment(c, "finalReplicas", &f.deployment);
            if f.min_available.is_none() && f.desired.is_none() {
                c.error(&p.key("finalReplicas"), "needs minAvailable or desired");
            }
            found.push((
                "finalReplicas",
                Expectation::FinalReplicas {
                    deployment: d,
                    min_available: f.min_available,
                    desired: f.desired,
                },
            ));
        }
        if let Some(d) = e.scheduling_latency_p99 {
            found.push(("schedulingLatencyP99", Expectation::SchedulingLatencyP99(d)));
        }
        match found.len() {
            1 => out.push(found.pop().expect("one").1),
            0 => c.error(
                &p,
                "needs exactly one assertion (rolloutCompletes, availabilityAtLeast, maxPendingTime, noOOMKills, maxContainerRestarts, maxEvictions, allPodsScheduled, finalReplicas, schedulingLatencyP99)",
            ),
            _ => {
                let names: Vec<&str> = found.iter().map(|(n, _)| *n).collect();
                c.error(&p, format!("has more than one assertion ({}): one per entry", names.join(", ")));
            }
        }
    }
    out
}

fn short_name(deployment: &str) -> &str {
    deployment.strip_prefix("default/").unwrap_or(deployment)
}

fn ratio_text(r: f64) -> String {
    kubesim_reports::format::format_value((r * 1000.0).round() / 1000.0)
}

/// A rollout's measured duration: `None` if it never completed.
pub fn rollout_durations(run: &RunResult, deployment: &str) -> Vec<(SimTime, Option<SimDuration>)> {
    let starts: Vec<SimTime> = match run.rollout_starts.get(deployment) {
        Some(s) if !s.is_empty() => s.clone(),
        _ => run.created_at.get(deployment).map(|t| vec![*t]).unwrap_or_default(),
    };
    let completions = run.analysis.rollout_complete.get(deployment).cloned().unwrap_or_default();
    starts
        .into_iter()
        .filter(|s| *s <= run.end)
        .map(|s| {
            let done_before = completions.iter().filter(|(t, _)| *t < s).map(|(_, r)| *r).max().unwrap_or(0);
            let done = completions
                .iter()
                .find(|(t, r)| *t >= s && *r > done_before)
                .map(|(t, _)| t.saturating_duration_since(s));
            (s, done)
        })
        .collect()
}

/// Lowest available / desired replicas, counting only samples taken while the deployment is
/// "warm": it has been fully available since `spec.replicas` last grew (creation counts as
/// growth from 0). A scale-up is capacity arriving, not availability lost, so its ramp is not
/// counted; rollouts, node failures and scale-downs are. `None` if it is never fully available.
pub fn min_available_ratio(run: &RunResult, deployment: &str) -> Option<f64> {
    let ratio = run.metrics.series(names::DEPLOYMENT_AVAILABILITY_RATIO, deployment);
    let desired: std::collections::BTreeMap<SimTime, f64> = run
        .metrics
        .series(names::DEPLOYMENT_DESIRED_REPLICAS, deployment)
        .into_iter()
        .map(|p| (p.time, p.value))
        .collect();
    let (mut warm, mut last_desired, mut min) = (false, 0.0, None::<f64>);
    for p in ratio {
        let d = desired.get(&p.time).copied().unwrap_or(last_desired);
        if d > last_desired {
            warm = false;
        }
        last_desired = d;
        if p.value >= 1.0 {
            warm = true;
        }
        if warm {
            min = Some(min.map_or(p.value, |m| m.min(p.value)));
        }
    }
    min
}

fn last_value(run: &RunResult, metric: &str, object: &str) -> Option<f64> {
    run.metrics.series(metric, object).last().map(|p| p.value)
}

/// Nearest-rank p99 of scheduling latency in seconds.
pub fn latency_percentile_s(run: &RunResult, percent: f64) -> Option<f64> {
    let samples: Vec<f64> = run.analysis.latencies_ns.iter().map(|&ns| ns as f64 / 1e9).collect();
    percentile(&samples, percent).ok()
}

impl Expectation {
    /// A readable name, e.g. `rolloutCompletes web within 15m`.
    pub fn name(&self) -> String {
        match self {
            Expectation::RolloutCompletes { deployment, within } => {
                format!("rolloutCompletes {} within {within}", short_name(deployment))
            }
            Expectation::AvailabilityAtLeast { deployment, ratio } => {
                format!("availabilityAtLeast {} {ratio}", short_name(deployment))
            }
            Expectation::MaxPendingTime(d) => format!("maxPendingTime {d}"),
            Expectation::NoOomKills => "noOOMKills".into(),
            Expectation::MaxContainerRestarts(n) => format!("maxContainerRestarts {n}"),
            Expectation::MaxEvictions(n) => format!("maxEvictions {n}"),
            Expectation::AllPodsScheduled => "allPodsScheduled".into(),
            Expectation::FinalReplicas { deployment, .. } => {
                format!("finalReplicas {}", short_name(deployment))
            }
            Expectation::SchedulingLatencyP99(d) => format!("schedulingLatencyP99 {d}"),
        }
    }

    /// Evaluates the assertion on a finished run.
    pub fn evaluate(&self, run: &RunResult) -> ExpectationResult {
        let (verdict, measured, expected) = match self {
            Expectation::RolloutCompletes { deployment, within } => {
                let durations = rollout_durations(run, deployment);
                if durations.is_empty() {
                    (Verdict::Error, "no rollout in the run".to_string(), format!("at most {within}"))
                } else if let Some((s, _)) = durations.iter().find(|(_, d)| d.is_none()) {
                    let waited = run.end.saturating_duration_since(*s);
                    (
                        Verdict::Fail,
                        format!("not complete after {waited} (started at {})", s.since_start()),
                        format!("at most {within}"),
                    )
                } else {
                    let worst = durations.iter().filter_map(|(_, d)| *d).max().unwrap_or_default();
                    let ok = worst <= *within;
                    (
                        if ok { Verdict::Pass } else { Verdict::Fail },
                        worst.to_string(),
                        format!("at most {within}"),
                    )
                }
            }
            Expectation::AvailabilityAtLeast { deployment, ratio } => {
                match min_available_ratio(run, deployment) {
                    Some(r) => (
                        if r >= *ratio { Verdict::Pass } else { Verdict::Fail },
                        ratio_text(r),
                        format!("at least {ratio}"),
                    ),
                    None => (Verdict::Fail, "never fully available".into(), format!("at least {ratio}")),
                }
            }
            Expectation::MaxPendingTime(limit) => {
                let m = run.analysis.max_pending(run.end);
                (
                    if m <= *limit { Verdict::Pass } else { Verdict::Fail },
                    m.to_string(),
                    format!("at most {limit}"),
                )
            }
            Expectation::NoOomKills => {
                let n = run.counters.oom_kills.max(run.analysis.oom_killed);
                (if n == 0 { Verdict::Pass } else { Verdict::Fail }, format!("{n} OOM kills"), "0".into())
            }
            Expectation::MaxContainerRestarts(limit) => {
                let n = run.counters.container_restarts;
                (
                    if n <= *limit { Verdict::Pass } else { Verdict::Fail },
                    format!("{n} restarts"),
                    format!("at most {limit}"),
                )
            }
            Expectation::MaxEvictions(limit) => {
                let n = run.counters.evictions;
                (
                    if n <= *limit { Verdict::Pass } else { Verdict::Fail },
                    format!("{n} evictions"),
                    format!("at most {limit}"),
                )
            }
            Expectation::AllPodsScheduled => {
                let n = run.analysis.pending_since.len();
                (
                    if n == 0 { Verdict::Pass } else { Verdict::Fail },
                    format!("{n} pending at the end"),
                    "0".into(),
                )
            }
            Expectation::FinalReplicas { deployment, min_available, desired } => {
                let avail = last_value(run, names::DEPLOYMENT_AVAILABLE_REPLICAS, deployment);
                let want = last_value(run, names::DEPLOYMENT_DESIRED_REPLICAS, deployment);
                match (avail, want) {
                    (Some(a), Some(w)) => {
                        let ok_a = min_available.is_none_or(|m| a >= m as f64);
                        let ok_d = desired.is_none_or(|d| w == d as f64);
                        let mut exp = Vec::new();
                        if let Some(m) = min_available {
                            exp.push(format!("available ≥ {m}"));
                        }
                        if let Some(d) = desired {
                            exp.push(format!("desired = {d}"));
                        }
                        (
                            if ok_a && ok_d { Verdict::Pass } else { Verdict::Fail },
                            format!("available {a}, desired {w}"),
                            exp.join(", "),
                        )
                    }
                    _ => (Verdict::Error, "no samples of the deployment".into(), String::new()),
                }
            }
            Expectation::SchedulingLatencyP99(limit) => match latency_percentile_s(run, 99.0) {
                Some(p99) => {
                    let measured = SimDuration::from_nanos((p99 * 1e9).round() as u64);
                    (
                        if measured <= *limit { Verdict::Pass } else { Verdict::Fail },
                        measured.to_string(),
                        format!("at most {limit}"),
                    )
                }
                None => (Verdict::Pass, "no pod scheduled".into(), format!("at most {limit}")),
            },
        };
        ExpectationResult { name: self.name(), verdict, measured, expected }
    }
}
