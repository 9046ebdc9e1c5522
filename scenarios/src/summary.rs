//! `summary.json`: the run in numbers.
//!
//! ```json
//! {"scenario": "quickstart", "seed": 42, "policy": "default", "digest": "…",
//!  "sim_duration_s": 600, "wall_s": 0.41, "events_processed": 1234,
//!  "pods_created": 12, "pods_scheduled": 12, "oom_kills": 0, "container_restarts": 0, "evictions": 0,
//!  "max_pending_time_s": 0.0, "pods_pending_at_end": 0,
//!  "scheduling_latency_s": {"count": 12, "mean": …, "min": …, "p50": …, "p90": …, "p99": …, "max": …},
//!  "deployments": {"default/web": {"rollout_duration_s": 42.5, "rollouts": [...],
//!                  "min_available_ratio": 0.75, "replicas_final": 4, "available_final": 4}},
//!  "hpas": {"default/web": {"replicas_min": 2, "replicas_max": 9, "replicas_final": 4, "scale_events": 5}}}
//! ```
//!
//! Every field except `wall_s` is a pure function of the scenario and the seed.

use kubesim_reports::metrics::names;
use kubesim_reports::summary::Distribution;
use serde_json::{json, Map, Value};

use crate::expect::{min_available_ratio, rollout_durations};
use crate::run::RunResult;

/// Builds `summary.json`; `wall_s` is the wall-clock time of the run, if measured.
pub fn summary_json(run: &RunResult, wall_s: Option<f64>) -> Value {
    let c = &run.counters;
    let mut deployments = Map::new();
    let objects: std::collections::BTreeSet<String> =
        run.metrics.objects(names::DEPLOYMENT_DESIRED_REPLICAS).into_iter().map(str::to_string).collect();
    for d in &objects {
        let rollouts = rollout_durations(run, d);
        let last_complete = rollouts.iter().rev().find_map(|(_, dur)| *dur);
        let list: Vec<Value> = rollouts
            .iter()
            .map(|(s, dur)| {
                json!({
                    "started_s": s.as_secs_f64(),
                    "duration_s": dur.map(|d| d.as_secs_f64()),
                })
            })
            .collect();
        let last = |metric: &str| run.metrics.series(metric, d).last().map(|p| p.value);
        deployments.insert(
            d.clone(),
            json!({
                "rollout_duration_s": last_complete.map(|d| d.as_secs_f64()),
                "rollouts": list,
                "min_available_ratio": min_available_ratio(run, d),
                "replicas_final": last(names::DEPLOYMENT_REPLICAS),
                "desired_final": last(names::DEPLOYMENT_DESIRED_REPLICAS),
                "available_final": last(names::DEPLOYMENT_AVAILABLE_REPLICAS),
            }),
        );
    }
    let mut hpas = Map::new();
    for (hpa, points) in run.metrics.series_by_object(names::HPA_DESIRED_REPLICAS) {
        let current = run.metrics.series(names::HPA_CURRENT_REPLICAS, &hpa);
        let values: Vec<f64> = if current.is_empty() {
            points.iter().map(|p| p.value).collect()
        } else {
            current.iter().map(|p| p.value).collect()
        };
        let changes = points.windows(2).filter(|w| w[0].value != w[1].value).count();
        hpas.insert(
            hpa,
            json!({
                "replicas_min": values.iter().copied().fold(f64::INFINITY, f64::min),
                "replicas_max": values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "replicas_final": values.last(),
                "scale_events": changes,
            }),
        );
    }
    let latency = {
        let samples: Vec<f64> = run.analysis.latencies_ns.iter().map(|&ns| ns as f64 / 1e9).collect();
        Distribution::of(&samples).map(|d| d.to_json()).unwrap_or(Value::Null)
    };
    json!({
        "scenario": run.scenario,
        "policy": run.policy,
        "seed": run.seed,
        "digest": run.digest.to_hex(),
        "sim_duration_s": run.end.as_secs_f64(),
        "wall_s": wall_s,
        "events_processed": c.events_processed,
        "log_records": run.analysis.records,
        "pods_created": c.pods_created,
        "pods_scheduled": c.pods_scheduled,
        "oom_kills": c.oom_kills,
        "container_restarts": c.container_restarts,
        "evictions": c.evictions,
        "max_pending_time_s": run.analysis.max_pending(run.end).as_secs_f64(),
        "pods_pending_at_end": run.analysis.pending_since.len(),
        "scheduling_latency_s": latency,
        "deployments": Value::Object(deployments),
        "hpas": Value::Object(hpas),
    })
}

/// The per-run numbers `kubesim compare` tabulates, in column order.
pub fn key_metrics(run: &RunResult) -> Vec<(&'static str, f64)> {
    let latency = |p| crate::expect::latency_percentile_s(run, p).unwrap_or(0.0);
    let last_by_node = |metric: &str| -> Vec<f64> {
        run.metrics.series_by_object(metric).values().filter_map(|s| s.last().map(|p| p.value)).collect()
    };
    let cpu = last_by_node("node_cpu_allocated_ratio");
    let nodes_in_use = cpu.iter().filter(|v| **v > 0.0).count() as f64;
    let max_cpu = cpu.iter().copied().fold(0.0, f64::max);
    let min_avail = run
        .metrics
        .objects(names::DEPLOYMENT_AVAILABILITY_RATIO)
        .into_iter()
        .filter_map(|d| min_available_ratio(run, d))
        .fold(1.0, f64::min);
    vec![
        ("scheduling_latency_p50_s", latency(50.0)),
        ("scheduling_latency_p99_s", latency(99.0)),
        ("max_pending_time_s", run.analysis.max_pending(run.end).as_secs_f64()),
        ("pods_pending_at_end", run.analysis.pending_since.len() as f64),
        ("nodes_in_use", nodes_in_use),
        ("node_cpu_allocated_max", max_cpu),
        ("min_available_ratio", min_avail),
        ("evictions", run.counters.evictions as f64),
        ("container_restarts", run.counters.container_restarts as f64),
        ("oom_kills", run.counters.oom_kills as f64),
    ]
}
