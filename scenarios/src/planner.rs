//! What a capacity planner asks of a trace replay, read from the event log as it is written:
//! pending times, pods never scheduled and why, requested/allocatable per resource over time,
//! fragmentation, evictions, and pod counts.
//!
//! [`TraceLog`] is fed every log record by the run's [`crate::analysis::LogTap`]; it keeps one
//! entry per live pod and per node, nothing per record. Requests of the pods the trace submits
//! (and of its Jobs' pods, from their template) are registered before they are created, so the
//! accounting follows binding (`PodScheduled`) and release (`PodPhase` Succeeded/Failed,
//! `PodDeleted`) at their exact log times. Pods of other origins (scenario Deployments) are
//! resolved from the API store at the replay's next stop.
//!
//! # Definitions
//!
//! * **utilisation** of resource *r*: Σ requests of pods bound and not finished ÷ Σ allocatable of
//!   the nodes present, cluster wide; min/max over every change, mean weighted by time.
//! * **fragmentation** of resource *r*: the share of the cluster's free *r* that sits on nodes
//!   which cannot fit the *typical pod* of *r* — the per-resource median request of the pods
//!   submitted so far that ask for *r* (for GPUs: the median GPU pod). Free capacity that no
//!   typical pod can use is stranded. 0 = all free *r* is usable, 1 = none is.
//! * **pending time**: from `PodCreated` to `PodScheduled` (the log's `latency_ns`).
//! * **unschedulable**: created and still not bound at the end; its *reason* is the dominant
//!   term of its last FitError (`0/3 nodes are available: 2 Insufficient cpu, 1 …` →
//!   `Insufficient cpu`).

// Per-resource vectors are parallel fixed arrays: one index walks them together.
#![allow(clippy::needless_range_loop)]

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{Pod, ResourceList, ResourceName};
use serde::Deserialize;
use serde_json::{json, Value};
use sim_core::{SimDuration, SimTime};

/// Resources the planner report follows, with their short names.
pub const RESOURCES: [(&str, &str); 4] = [
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("nvidia.com/gpu", "gpu"),
    ("alibabacloud.com/gpu-milli", "gpu-milli"),
];
const R: usize = RESOURCES.len();

/// Metric: cluster-wide requested / allocatable of one resource (object = the resource).
pub const REQUESTED_RATIO: &str = "cluster_requested_ratio";
/// Metric: fragmentation of one resource (object = the resource), see the module docs.
pub const FRAGMENTATION: &str = "cluster_fragmentation_ratio";
/// Metric: pods bound and not finished (cluster).
pub const PODS_BOUND: &str = "pods_bound";

/// Upper bounds of the pending-time histogram buckets, seconds (the last bucket is open).
pub const WAIT_BUCKETS_S: [(u64, &str); 7] = [
    (1, "<1s"),
    (10, "<10s"),
    (60, "<1m"),
    (600, "<10m"),
    (3600, "<1h"),
    (86_400, "<1d"),
    (u64::MAX, ">=1d"),
];

type Vector = [i64; R];

fn vector(list: &ResourceList) -> Vector {
    let mut v = [0; R];
    for (i, (name, _)) in RESOURCES.iter().enumerate() {
        v[i] = list.get_or_zero(&ResourceName::parse(name));
    }
    v
}

/// A pod's effective request: Σ containers, at least each init container, plus overhead
/// (the scheduler's `computePodResourceRequest`).
pub fn pod_request(pod: &Pod) -> ResourceList {
    let mut sum = ResourceList::new();
    for c in &pod.spec.containers {
        sum.add_all(&c.resources.requests);
    }
    for c in &pod.spec.init_containers {
        sum.max_with(&c.resources.requests);
    }
    sum.add_all(&pod.spec.extras.overhead);
    sum
}

#[derive(Debug, Clone, Default)]
struct NodeAcc {
    alloc: Vector,
    requested: Vector,
}

/// Facts the replay reads from the event log (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct TraceLog {
    nodes: BTreeMap<String, NodeAcc>,
    /// Requests of pods known before binding (trace pods, Job pods).
    requests: BTreeMap<String, Vector>,
    /// Job (`ns/name`) → its pods' request.
    job_requests: BTreeMap<String, Vector>,
    /// Pods holding resources: node and request.
    bound: BTreeMap<String, (String, Vector)>,
    /// Bindings of pods whose request is not known yet: resolved from the store.
    pub(crate) unresolved: Vec<(String, String)>,
    /// Bindings since the replay last looked: `(bind time, pod)`.
    pub(crate) new_bindings: Vec<(SimTime, String)>,
    /// Pod → its Job (`ns/name`).
    pub(crate) job_of: BTreeMap<String, String>,
    /// Pods created and not bound or deleted yet, with their creation time.
    pending: BTreeMap<String, SimTime>,
    last_fit_error: BTreeMap<String, String>,
    /// Pending time of every bound pod, ns, in binding order.
    pub waits_ns: Vec<u64>,
    /// Pods the replay deleted because they had run their duration (or whose Job it deleted).
    pub(crate) finishing: BTreeSet<String>,
    /// Pods being deleted (a deletion, not a crash, ends them).
    deleting: BTreeSet<String>,
    /// Jobs the replay deleted.
    pub(crate) jobs_done: BTreeSet<String>,
    /// Pods created.
    pub created: u64,
    /// Pods bound.
    pub scheduled: u64,
    /// Pods finished: Succeeded, or ended by the replay after their duration.
    pub completed: u64,
    /// Pods that failed on their own (Failed without a deletion).
    pub failed: u64,
    /// Pods deleted before they were ever bound.
    pub deleted_pending: u64,
    /// Bound pods deleted otherwise (preemption, taint eviction, drains, …).
    pub deleted_running: u64,
    /// `PodDeleting` records by who asked.
    pub deleting_by: BTreeMap<String, u64>,
    /// Kubelet node-pressure evictions (`PodEvicted`).
    pub evicted: u64,
    /// Per resource: submitted pods asking for it → counts of each resource's request value.
    submitted: Vec<[BTreeMap<i64, u64>; R]>,
    totals_alloc: Vector,
    totals_requested: Vector,
    last_change: SimTime,
    started: Option<SimTime>,
    ratio_integral: [f64; R],
    ratio_min: [f64; R],
    ratio_max: [f64; R],
}

#[derive(Deserialize)]
struct Rec<'a> {
    #[serde(borrow, default)]
    pod: Option<&'a str>,
    #[serde(borrow, default)]
    node: Option<&'a str>,
    #[serde(default)]
    latency_ns: Option<u64>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(borrow, default)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    phase: Option<&'a str>,
    #[serde(borrow, default)]
    by: Option<&'a str>,
}

impl TraceLog {
    /// An empty log reader.
    pub fn new() -> Self {
        TraceLog {
            submitted: vec![Default::default(); R],
            ratio_min: [f64::INFINITY; R],
            ratio_max: [f64::NEG_INFINITY; R],
            ..Default::default()
        }
    }

    /// A node joins the accounting.
    pub fn add_node(&mut self, name: &str, allocatable: &ResourceList, now: SimTime) {
        self.advance(now);
        let alloc = vector(allocatable);
        let acc = self.nodes.entry(name.to_string()).or_default();
        for i in 0..R {
            self.totals_alloc[i] += alloc[i] - acc.alloc[i];
        }
        acc.alloc = alloc;
        self.changed();
    }

    /// A node leaves the accounting (its pods' requests leave as they are deleted).
    pub fn remove_node(&mut self, name: &str, now: SimTime) {
        self.advance(now);
        if let Some(acc) = self.nodes.get_mut(name) {
            for i in 0..R {
                self.totals_alloc[i] -= acc.alloc[i];
            }
            acc.alloc = [0; R];
        }
        self.changed();
    }

    /// The request of a pod about to be created (key `ns/name`).
    pub fn expect_pod(&mut self, key: &str, requests: &ResourceList) {
        let v = vector(requests);
        self.requests.insert(key.to_string(), v);
        self.count_submitted(&v);
    }

    /// The request of every pod of a Job about to be created (key `ns/name`).
    pub fn expect_job(&mut self, key: &str, requests: &ResourceList) {
        self.job_requests.insert(key.to_string(), vector(requests));
    }

    fn count_submitted(&mut self, v: &Vector) {
        for r in 0..R {
            if v[r] > 0 {
                for s in 0..R {
                    *self.submitted[r][s].entry(v[s]).or_default() += 1;
                }
            }
        }
    }

    /// Feeds one record (already known to be `kind` at `t`).
    pub(crate) fn record(&mut self, t: SimTime, kind: &str, line: &[u8]) {
        if !kind.starts_with("Pod") {
            return;
        }
        let Ok(rec) = serde_json::from_slice::<Rec<'_>>(line) else { return };
        let Some(pod) = rec.pod else { return };
        match kind {
            "PodCreated" => {
                self.created += 1;
                self.pending.insert(pod.to_string(), t);
                if let Some(job) = rec.owner.as_deref().and_then(|o| o.strip_prefix("Job/")) {
                    let ns = pod.split_once('/').map_or("default", |(ns, _)| ns);
                    let job = format!("{ns}/{job}");
                    if let Some(v) = self.job_requests.get(&job).copied() {
                        self.requests.insert(pod.to_string(), v);
                        self.count_submitted(&v);
                    }
                    self.job_of.insert(pod.to_string(), job);
                }
            }
            "PodScheduled" => {
                let node = rec.node.unwrap_or_default().to_string();
                self.scheduled += 1;
                self.pending.remove(pod);
                self.last_fit_error.remove(pod);
                self.waits_ns.push(rec.latency_ns.unwrap_or(0));
                self.new_bindings.push((t, pod.to_string()));
                match self.requests.remove(pod) {
                    Some(v) => self.bind(pod, node, v, t),
                    None => self.unresolved.push((pod.to_string(), node)),
                }
            }
            "PodUnschedulable" => {
                if let Some(m) = rec.message {
                    self.last_fit_error.insert(pod.to_string(), m.into_owned());
                }
            }
            "PodPhase" => {
                if let Some(phase @ ("Succeeded" | "Failed")) = rec.phase {
                    self.finished(pod, phase == "Succeeded", t);
                }
            }
            "PodDeleting" => {
                self.deleting.insert(pod.to_string());
                *self.deleting_by.entry(rec.by.unwrap_or("unknown").to_string()).or_default() += 1;
            }
            "PodEvicted" => self.evicted += 1,
            "PodDeleted" => {
                if self.pending.remove(pod).is_some() {
                    self.deleted_pending += 1;
                    self.requests.remove(pod);
                    self.last_fit_error.remove(pod);
                } else {
                    self.finished(pod, false, t);
                }
                self.finishing.remove(pod);
                self.deleting.remove(pod);
                self.job_of.remove(pod);
            }
            _ => {}
        }
    }

    /// A binding of a pod of other origin whose request was read from the store.
    pub(crate) fn bind_resolved(&mut self, pod: &str, node: String, request: &ResourceList, now: SimTime) {
        self.bind(pod, node, vector(request), now);
    }

    /// A bound pod stops holding resources (terminal phase or deletion; only the first counts):
    /// completed when it succeeded or the replay ended it after its duration.
    fn finished(&mut self, pod: &str, succeeded: bool, t: SimTime) {
        if !self.bound.contains_key(pod) {
            return;
        }
        let by_replay =
            self.finishing.contains(pod) || self.job_of.get(pod).is_some_and(|j| self.jobs_done.contains(j));
        if succeeded || by_replay {
            self.completed += 1;
        } else if self.deleting.contains(pod) {
            self.deleted_running += 1;
        } else {
            self.failed += 1;
        }
        self.release(pod, t);
    }

    pub(crate) fn bind(&mut self, pod: &str, node: String, v: Vector, t: SimTime) {
        self.advance(t);
        if let Some(acc) = self.nodes.get_mut(&node) {
            for i in 0..R {
                acc.requested[i] += v[i];
                self.totals_requested[i] += v[i];
            }
        }
        self.bound.insert(pod.to_string(), (node, v));
        self.changed();
    }

    fn release(&mut self, pod: &str, t: SimTime) {
        let Some((node, v)) = self.bound.remove(pod) else { return };
        self.advance(t);
        if let Some(acc) = self.nodes.get_mut(&node) {
            for i in 0..R {
                acc.requested[i] -= v[i];
                self.totals_requested[i] -= v[i];
            }
        }
        self.changed();
    }

    fn ratio(&self, i: usize) -> Option<f64> {
        (self.totals_alloc[i] > 0).then(|| self.totals_requested[i] as f64 / self.totals_alloc[i] as f64)
    }

    fn advance(&mut self, t: SimTime) {
        if t > self.last_change {
            if self.started.is_some() {
                let dt = t.saturating_duration_since(self.last_change).as_secs_f64();
                for i in 0..R {
                    if let Some(r) = self.ratio(i) {
                        self.ratio_integral[i] += r * dt;
                    }
                }
            }
            self.last_change = t;
        }
    }

    fn changed(&mut self) {
        if self.started.is_none() && self.totals_alloc.iter().any(|&a| a > 0) {
            self.started = Some(self.last_change);
        }
        for i in 0..R {
            if let Some(r) = self.ratio(i) {
                self.ratio_min[i] = self.ratio_min[i].min(r);
                self.ratio_max[i] = self.ratio_max[i].max(r);
            }
        }
    }

    /// Pods created and not yet bound.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Pods holding resources.
    pub fn bound_count(&self) -> usize {
        self.bound.len()
    }

    /// Cluster-wide requested / allocatable now, per followed resource present on some node.
    pub fn requested_ratios(&self) -> Vec<(&'static str, f64)> {
        (0..R).filter_map(|i| self.ratio(i).map(|r| (RESOURCES[i].0, r))).collect()
    }

    fn median(counts: &BTreeMap<i64, u64>) -> i64 {
        let total: u64 = counts.values().sum();
        let mut seen = 0;
        for (&v, &n) in counts {
            seen += n;
            if 2 * seen >= total {
                return v;
            }
        }
        0
    }

    /// Fragmentation now, per followed resource with free capacity and submitted pods asking for
    /// it (module docs).
    pub fn fragmentation(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        for r in 0..R {
            if self.submitted[r][r].is_empty() || self.totals_alloc[r] == 0 {
                continue;
            }
            let typical: Vector = std::array::from_fn(|s| Self::median(&self.submitted[r][s]));
            let (mut free, mut stranded) = (0i128, 0i128);
            for acc in self.nodes.values() {
                let f = acc.alloc[r] - acc.requested[r];
                if f <= 0 {
                    continue;
                }
                free += i128::from(f);
                if (0..R).any(|s| acc.alloc[s] - acc.requested[s] < typical[s]) {
                    stranded += i128::from(f);
                }
            }
            let frag = if free > 0 { stranded as f64 / free as f64 } else { 0.0 };
            out.push((RESOURCES[r].0, frag));
        }
        out
    }

    /// Pods still pending at `end`, grouped by the dominant reason of their last FitError.
    pub fn unschedulable(&self, end: SimTime) -> (Vec<(String, u64)>, Vec<f64>) {
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        let mut waits = Vec::new();
        for (pod, created) in &self.pending {
            let reason = self
                .last_fit_error
                .get(pod)
                .map_or_else(|| "not yet tried".to_string(), |m| dominant_reason(m));
            *reasons.entry(reason).or_default() += 1;
            waits.push(end.saturating_duration_since(*created).as_secs_f64());
        }
        let mut list: Vec<(String, u64)> = reasons.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        (list, waits)
    }

    /// Closes the time-weighted means at `end`.
    pub fn finish(&mut self, end: SimTime) {
        self.advance(end);
    }

    /// Utilisation summaries `(resource, min, mean, max)` over `[first node, end]`.
    pub fn utilisation(&self, end: SimTime) -> Vec<(&'static str, f64, f64, f64)> {
        let Some(start) = self.started else { return Vec::new() };
        let span = end.saturating_duration_since(start).as_secs_f64();
        (0..R)
            .filter(|&i| {
                self.ratio_max[i].is_finite() && self.totals_alloc[i] > 0 || self.ratio_integral[i] > 0.0
            })
            .map(|i| {
                let mean =
                    if span > 0.0 { self.ratio_integral[i] / span } else { self.ratio(i).unwrap_or(0.0) };
                (RESOURCES[i].0, self.ratio_min[i].max(0.0), mean, self.ratio_max[i].max(0.0))
            })
            .collect()
    }
}

/// The dominant term of a FitError: `0/5 nodes are available: 3 Insufficient cpu, 2 node(s)
/// didn't match Pod's node affinity/selector.` → `Insufficient cpu`.
pub fn dominant_reason(message: &str) -> String {
    let Some((_, terms)) = message.split_once(": ") else { return message.trim().to_string() };
    let terms = terms.split(". preemption:").next().unwrap_or(terms);
    let mut best: Option<(u64, &str)> = None;
    for term in terms.trim_end_matches('.').split(", ") {
        let term = term.trim();
        let (n, text) = match term.split_once(' ') {
            Some((n, text)) => match n.parse::<u64>() {
                Ok(n) => (n, text),
                Err(_) => (0, term),
            },
            None => (0, term),
        };
        if best.is_none_or(|(b, _)| n > b) {
            best = Some((n, text));
        }
    }
    best.map_or_else(|| message.to_string(), |(_, t)| t.trim_end_matches('.').to_string())
}

/// Counts of `waits_s` per [`WAIT_BUCKETS_S`] bucket.
pub fn wait_histogram(waits_ns: &[u64]) -> Vec<(&'static str, u64)> {
    let mut counts = [0u64; WAIT_BUCKETS_S.len()];
    for &ns in waits_ns {
        let i =
            WAIT_BUCKETS_S.iter().position(|(b, _)| *b == u64::MAX || ns < b * 1_000_000_000).unwrap_or(0);
        counts[i] += 1;
    }
    WAIT_BUCKETS_S.iter().zip(counts).map(|((_, l), n)| (*l, n)).collect()
}

/// What the replay driver itself counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Trace events consumed.
    pub events: u64,
    /// Nodes added from the trace.
    pub nodes_added: u64,
    /// Trace nodes left out by `keepNodes`.
    pub nodes_left_out: u64,
    /// Nodes that left (replayed as a node crash).
    pub nodes_removed: u64,
    /// Nodes that came back after leaving (replayed as a recovery).
    pub nodes_returned: u64,
    /// Node updates not replayed (capacity changes).
    pub node_updates_ignored: u64,
    /// Node events not replayed because the scenario's own nodes are used.
    pub node_events_skipped: u64,
    /// Pods submitted.
    pub pods_submitted: u64,
    /// Jobs submitted.
    pub jobs_submitted: u64,
    /// Pods whose trace usage series drive their containers.
    pub usage_series_replayed: u64,
    /// Usage series not replayed (Jobs' tasks: see the fidelity notes).
    pub usage_series_ignored: u64,
    /// Stops of the replay loop (trace times, binding polls, completions).
    pub stops: u64,
}

/// Everything `planner.json` says, as a canonical JSON value (write it with
/// `kubesim_reports::canonical`).
pub fn planner_json(run: &crate::RunResult) -> Value {
    let Some(replay) = &run.replay else { return Value::Null };
    let log = &replay.log;
    let end = run.end;
    let dist =
        |v: &[f64]| kubesim_reports::summary::Distribution::of(v).map(|d| d.to_json()).unwrap_or(Value::Null);
    let waits: Vec<f64> = log.waits_ns.iter().map(|&ns| ns as f64 / 1e9).collect();
    let histogram: Vec<Value> =
        wait_histogram(&log.waits_ns).into_iter().map(|(b, n)| json!({"bucket": b, "pods": n})).collect();
    let (reasons, still_waiting) = log.unschedulable(end);
    let reasons: Vec<Value> = reasons.into_iter().map(|(r, n)| json!({"reason": r, "pods": n})).collect();
    let utilisation: serde_json::Map<String, Value> = log
        .utilisation(end)
        .into_iter()
        .map(|(r, min, mean, max)| (r.to_string(), json!({"min": min, "mean": mean, "max": max})))
        .collect();
    let frag: serde_json::Map<String, Value> = RESOURCES
        .iter()
        .filter_map(|(r, _)| {
            let s = kubesim_reports::summary::SeriesSummary::of(&run.metrics.series(FRAGMENTATION, r))?;
            Some((
                r.to_string(),
                json!({"min": s.min, "mean": s.time_weighted_mean, "max": s.max, "final": s.last}),
            ))
        })
        .collect();
    let c = &replay.counts;
    let stats = &replay.stats;
    json!({
        "scenario": run.scenario,
        "policy": run.policy,
        "seed": run.seed,
        "digest": run.digest.to_hex(),
        "trace": replay.description,
        "sim_end_s": end.as_secs_f64(),
        "trace_read": {
            "records": stats.records,
            "events": stats.events,
            "skipped_malformed": stats.skipped_malformed,
            "skipped_invalid": stats.skipped_invalid,
            "outside_window": stats.outside_window,
            "machines_sampled_out": stats.machines_sampled_out,
            "workloads_sampled_out": stats.workloads_sampled_out,
        },
        "replay": {
            "nodes_added": c.nodes_added,
            "nodes_left_out": c.nodes_left_out,
            "nodes_removed": c.nodes_removed,
            "nodes_returned": c.nodes_returned,
            "node_updates_ignored": c.node_updates_ignored,
            "node_events_skipped": c.node_events_skipped,
            "pods_submitted": c.pods_submitted,
            "jobs_submitted": c.jobs_submitted,
            "usage_series_ignored": c.usage_series_ignored,
            "usage_series_replayed": c.usage_series_replayed,
        },
        "pods": {
            "created": log.created,
            "scheduled": log.scheduled,
            "completed": log.completed,
            "failed": log.failed,
            "running_at_end": log.bound_count(),
            "unschedulable": log.pending_count(),
            "deleted_before_scheduling": log.deleted_pending,
            "deleted_while_running": log.deleted_running,
        },
        "pending_time_s": {
            "scheduled": dist(&waits),
            "histogram": histogram,
            "unschedulable_waited": dist(&still_waiting),
        },
        "unschedulable_reasons": reasons,
        "utilisation": Value::Object(utilisation),
        "fragmentation": Value::Object(frag),
        "evictions": {
            "total": run.counters.evictions,
            "node_pressure": log.evicted,
            "deletions_by": log.deleting_by.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        },
    })
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn secs(v: &Value) -> String {
    v.as_f64().map_or_else(|| "–".to_string(), |s| SimDuration::from_nanos((s * 1e9) as u64).to_string())
}

/// `planner.md`: the report as Markdown tables (also printed by `kubesim replay`).
pub fn planner_markdown(p: &Value) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Trace replay: {}\n", p["scenario"].as_str().unwrap_or(""));
    let _ = writeln!(
        s,
        "trace {} · policy {} · seed {} · simulated {}\n",
        p["trace"].as_str().unwrap_or(""),
        p["policy"].as_str().unwrap_or(""),
        p["seed"],
        secs(&p["sim_end_s"])
    );
    let pods = &p["pods"];
    let _ = writeln!(s, "## Pods\n\n| created | scheduled | completed | failed | running at end | unschedulable | deleted before scheduling | deleted while running |\n|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        pods["created"],
        pods["scheduled"],
        pods["completed"],
        pods["failed"],
        pods["running_at_end"],
        pods["unschedulable"],
        pods["deleted_before_scheduling"],
        pods["deleted_while_running"]
    );
    let w = &p["pending_time_s"]["scheduled"];
    let _ = writeln!(
        s,
        "## Pending time (creation → binding)\n\n| pods | p50 | p90 | p99 | max |\n|---|---|---|---|---|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} |\n",
        w["count"],
        secs(&w["p50"]),
        secs(&w["p90"]),
        secs(&w["p99"]),
        secs(&w["max"])
    );
    if let Some(h) = p["pending_time_s"]["histogram"].as_array() {
        let heads: Vec<&str> = h.iter().map(|b| b["bucket"].as_str().unwrap_or("")).collect();
        let counts: Vec<String> = h.iter().map(|b| b["pods"].to_string()).collect();
        let _ = writeln!(
            s,
            "| {} |\n|{}\n| {} |\n",
            heads.join(" | "),
            "---|".repeat(heads.len()),
            counts.join(" | ")
        );
    }
    if let Some(r) = p["unschedulable_reasons"].as_array().filter(|r| !r.is_empty()) {
        let _ = writeln!(s, "## Never scheduled\n\n| pods | dominant reason |\n|---|---|");
        for x in r {
            let _ = writeln!(s, "| {} | {} |", x["pods"], x["reason"].as_str().unwrap_or(""));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Utilisation (requested / allocatable) and fragmentation\n\n| resource | min | mean | max | fragmentation mean | fragmentation max |\n|---|---|---|---|---|---|");
    if let Some(u) = p["utilisation"].as_object() {
        for (r, v) in u {
            let f = &p["fragmentation"][r.as_str()];
            let fv = |k: &str| f[k].as_f64().map_or_else(|| "–".to_string(), pct);
            let _ = writeln!(
                s,
                "| {r} | {} | {} | {} | {} | {} |",
                pct(v["min"].as_f64().unwrap_or(0.0)),
                pct(v["mean"].as_f64().unwrap_or(0.0)),
                pct(v["max"].as_f64().unwrap_or(0.0)),
                fv("mean"),
                fv("max")
            );
        }
    }
    let e = &p["evictions"];
    let _ = writeln!(
        s,
        "\n## Evictions\n\ntotal {} (node pressure {}); deletions by: {}",
        e["total"], e["node_pressure"], e["deletions_by"]
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dominant_fit_error_term_is_the_one_with_most_nodes() {
        let m = "0/5 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 4 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod.";
        assert_eq!(dominant_reason(m), "Insufficient nvidia.com/gpu");
        assert_eq!(dominant_reason("0/0 nodes are available"), "0/0 nodes are available");
    }

    #[test]
    fn waits_fall_into_their_buckets() {
        // 0 s and 0.5 s → <1s; 5 s → <10s; 2 h → <1d; 3 d → >=1d.
        let h = wait_histogram(&[0, 500_000_000, 5_000_000_000, 7_200_000_000_000, 259_200_000_000_000]);
        let n: Vec<u64> = h.iter().map(|(_, n)| *n).collect();
        assert_eq!(n, vec![2, 1, 0, 0, 0, 1, 1]);
    }

    #[test]
    fn free_capacity_that_no_typical_pod_fits_is_fragmented() {
        // Two nodes of 4 cpu / 8 Gi. Submitted pods ask 2 cpu / 1 Gi (median). Node a holds
        // 3 cpu: its 1 free cpu cannot fit the typical pod; node b is empty (4 free, fits).
        // CPU fragmentation = 1 / (1 + 4) = 0.2.
        let mut log = TraceLog::new();
        let gi = 1 << 30;
        let node = ResourceList::new().with_cpu_millis(4000).with_memory_bytes(8 * gi);
        log.add_node("a", &node, SimTime::ZERO);
        log.add_node("b", &node, SimTime::ZERO);
        let small = ResourceList::new().with_cpu_millis(2000).with_memory_bytes(gi);
        for k in ["p1", "p2", "p3"] {
            log.expect_pod(k, &small);
        }
        log.bind("x", "a".into(), vector(&ResourceList::new().with_cpu_millis(3000)), SimTime::from_secs(10));
        let frag = log.fragmentation();
        assert_eq!(frag[0], ("cpu", 0.2));
        // Requested cpu 3 of 8 from 10 s: at 20 s the time-weighted mean is 3/8 × 10/20.
        log.finish(SimTime::from_secs(20));
        let u = log.utilisation(SimTime::from_secs(20));
        assert_eq!(u[0].0, "cpu");
        assert!((u[0].2 - 0.1875).abs() < 1e-12, "{u:?}");
        assert_eq!((u[0].1, u[0].3), (0.0, 0.375));
    }
}
