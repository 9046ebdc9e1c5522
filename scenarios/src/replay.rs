//! The run loop of a scenario with `spec.trace`: the trace is streamed (one event in hand at a
//! time), the cluster is advanced to each event's time and the event applied.
//!
//! | trace event | what the cluster gets (nodes from the trace only) |
//! |---|---|
//! | `AddNode` | `add_node`; a node that left and comes back: `RecoverNode` |
//! | `RemoveNode` | `CrashNode` (the cluster has no node deletion: its pods go by taint eviction) |
//! | `UpdateNode` | nothing (counted: the cluster cannot change a node's capacity) |
//! | `SubmitPod` | `create_pod`; with a duration, `DeletePod` at *bind time + duration* |
//! | `SubmitJob` | `ApplyJob`; with a pod duration, `DeleteJob` once all its pods are bound + duration |
//!
//! # When the loop stops, and why the digest does not depend on the metrics interval
//!
//! Bind times come from the event log (`PodScheduled`), which the replay sees only when it stops
//! the cluster. The loop stops at trace event times, and while pods with a duration wait for a
//! node, at least every `max(shortest waiting duration, 1 s)`: a pod bound after the previous
//! stop then has bind + duration ≥ the next stop, so its deletion is scheduled exactly (only
//! durations under 1 s can be late, by under 1 s). Metric samples run the cluster to their time
//! but never schedule anything, so stops — and with them the digest — are the same for every
//! sampling interval.
//!
//! Without `spec.duration` or `to` the run lasts until the trace is exhausted, every scheduled
//! completion has happened, and 5 min 10 s (upstream's unschedulable-pod flush plus a margin)
//! pass without a new binding.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use kubesim_api::{ObjectKey, ResourceList};
use kubesim_cluster::{Action, Cluster};
use kubesim_reports::metrics::names;
use kubesim_reports::MetricsSink;
use kubesim_traces::{ReadStats, TraceEvent, TraceEventKind, TraceStream};
use kubesim_workload::PodWorkload;
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::analysis::{AnalysisHandle, LogTap};
use crate::compile::{object_key, Scenario};
use crate::diag::RunError;
use crate::planner::{pod_request, ReplayCounts, TraceLog, FRAGMENTATION, PODS_BOUND, REQUESTED_RATIO};
use crate::run::{sample, Shell, TeeSink, SCHEDULING_LATENCY};
use crate::trace::TraceSource;

/// Shortest gap between binding polls.
pub const POLL_FLOOR: SimDuration = SimDuration::from_secs(1);
/// Quiet time after the last completion before a run "until the trace ends" stops.
pub const SETTLE: SimDuration = SimDuration::from_secs(310);
/// Adaptive sampling (runs of unknown length): the interval doubles every this many samples.
pub const SAMPLES_PER_LEVEL: u64 = 256;
/// Runs longer than this many metric intervals sample cluster-wide replay metrics only.
pub const MAX_FULL_SAMPLES: u64 = 5000;
/// Stream family of `keepNodes` draws.
pub const KEEP_NODES_STREAM: &str = "replay.keep-nodes";

/// What a trace replay adds to a run's result.
#[derive(Debug, Clone)]
pub struct ReplayFacts {
    /// `openb path (from..to)`.
    pub description: String,
    /// The reader's counters.
    pub stats: ReadStats,
    /// The driver's counters.
    pub counts: ReplayCounts,
    /// Facts from the event log.
    pub log: TraceLog,
}

struct JobTrack {
    parallelism: i32,
    bound: i32,
    duration: SimDuration,
}

struct Driver<'a, W: Write> {
    source: &'a TraceSource,
    cluster: &'a mut Cluster<LogTap<W>>,
    analysis: AnalysisHandle,
    streams: RngStreams,
    counts: ReplayCounts,
    /// Nodes the cluster has, and those that left.
    known_nodes: BTreeSet<String>,
    removed_nodes: BTreeSet<String>,
    left_out: BTreeSet<String>,
    /// Pods with a duration, waiting for a node.
    awaiting: BTreeMap<String, SimDuration>,
    jobs: BTreeMap<String, JobTrack>,
    /// Durations of what waits (a multiset): the poll gap.
    waiting_durations: BTreeMap<SimDuration, u32>,
    /// Latest completion scheduled.
    horizon: SimTime,
    saw_binding: bool,
}

fn trace_log(a: &AnalysisHandle) -> std::cell::RefMut<'_, TraceLog> {
    std::cell::RefMut::map(a.get(), |a| a.trace.get_or_insert_with(|| Box::new(TraceLog::new())).as_mut())
}

impl<W: Write> Driver<'_, W> {
    fn wait_for(&mut self, d: SimDuration) {
        *self.waiting_durations.entry(d).or_default() += 1;
    }

    fn done_waiting(&mut self, d: SimDuration) {
        if let Some(n) = self.waiting_durations.get_mut(&d) {
            *n -= 1;
            if *n == 0 {
                self.waiting_durations.remove(&d);
            }
        }
    }

    fn poll_time(&self, now: SimTime) -> Option<SimTime> {
        let (&shortest, _) = self.waiting_durations.first_key_value()?;
        Some(now.saturating_add(shortest.max(POLL_FLOOR)))
    }

    fn schedule(&mut self, at: SimTime, action: Action) -> Result<(), RunError> {
        self.cluster.schedule_action(at, action)?;
        Ok(())
    }

    /// Reads new bindings from the log; schedules completions. Returns whether it scheduled
    /// anything at `now` or earlier (the caller then runs the cluster again at `now`).
    fn observe(&mut self, now: SimTime) -> Result<bool, RunError> {
        let (bindings, unresolved) = {
            let mut log = trace_log(&self.analysis);
            (std::mem::take(&mut log.new_bindings), std::mem::take(&mut log.unresolved))
        };
        for (pod, node) in unresolved {
            let request = self.cluster.store().pod(&object_key(&pod)).map(|p| pod_request(p));
            if let Some(r) = request {
                trace_log(&self.analysis).bind_resolved(&pod, node, &r, now);
            }
        }
        let mut due_now = false;
        for (bound_at, pod) in bindings {
            self.saw_binding = true;
            if let Some(d) = self.awaiting.remove(&pod) {
                self.done_waiting(d);
                let at = bound_at.saturating_add(d);
                due_now |= at <= now;
                trace_log(&self.analysis).finishing.insert(pod.clone());
                self.schedule(at, Action::DeletePod(object_key(&pod)))?;
                self.horizon = self.horizon.max(at.max(now));
                continue;
            }
            let job = trace_log(&self.analysis).job_of.get(&pod).cloned();
            if let Some(job) = job {
                let Some(track) = self.jobs.get_mut(&job) else { continue };
                track.bound += 1;
                if track.bound >= track.parallelism {
                    let d = track.duration;
                    self.jobs.remove(&job);
                    self.done_waiting(d);
                    let at = bound_at.saturating_add(d);
                    due_now |= at <= now;
                    trace_log(&self.analysis).jobs_done.insert(job.clone());
                    self.schedule(at, Action::DeleteJob(object_key(&job)))?;
                    self.horizon = self.horizon.max(at.max(now));
                }
            }
        }
        Ok(due_now)
    }

    fn keeps_node(&self, name: &str) -> bool {
        match self.source.keep_nodes {
            None => true,
            Some(f) => kubesim_traces::options::sample_draw(&self.streams, KEEP_NODES_STREAM, name) < f,
        }
    }

    fn apply(&mut self, ev: TraceEvent, now: SimTime) -> Result<(), RunError> {
        self.counts.events += 1;
        let from_trace = self.source.nodes_from_trace;
        match ev.kind {
            TraceEventKind::AddNode(_)
            | TraceEventKind::UpdateNode(_)
            | TraceEventKind::RemoveNode { .. }
                if !from_trace =>
            {
                self.counts.node_events_skipped += 1;
            }
            TraceEventKind::AddNode(node) => {
                let name = node.meta.name.to_string();
                if self.left_out.contains(&name) {
                    return Ok(());
                }
                if self.removed_nodes.remove(&name) {
                    self.counts.nodes_returned += 1;
                    self.schedule(now, Action::RecoverNode(name.clone()))?;
                    trace_log(&self.analysis).add_node(&name, &node.status.allocatable, now);
                } else if self.known_nodes.contains(&name) {
                    self.counts.node_updates_ignored += 1;
                } else if !self.keeps_node(&name) {
                    self.counts.nodes_left_out += 1;
                    self.left_out.insert(name);
                } else {
                    trace_log(&self.analysis).add_node(&name, &node.status.allocatable, now);
                    self.cluster.add_node(*node)?;
                    self.known_nodes.insert(name);
                    self.counts.nodes_added += 1;
                }
            }
            TraceEventKind::UpdateNode(_) => self.counts.node_updates_ignored += 1,
            TraceEventKind::RemoveNode { name } => {
                if self.known_nodes.contains(&name) && self.removed_nodes.insert(name.clone()) {
                    self.counts.nodes_removed += 1;
                    trace_log(&self.analysis).remove_node(&name, now);
                    self.schedule(now, Action::CrashNode(name))?;
                }
            }
            TraceEventKind::SubmitPod { pod, duration, usage } => {
                let key = ObjectKey::new(&pod.meta.namespace, &pod.meta.name).to_string();
                trace_log(&self.analysis).expect_pod(&key, &pod_request(&pod));
                match usage {
                    // The trace's usage series drive every container's CPU and working set.
                    Some(usage) => {
                        let container = Arc::new(usage.workload(None));
                        let workload =
                            PodWorkload { containers: vec![container; pod.spec.containers.len().max(1)] };
                        self.cluster.create_pod_with_workload(*pod, Arc::new(workload))?;
                        self.counts.usage_series_replayed += 1;
                    }
                    None => self.cluster.create_pod(*pod)?,
                }
                self.counts.pods_submitted += 1;
                if let Some(d) = duration {
                    if self.awaiting.insert(key, d).is_none() {
                        self.wait_for(d);
                    }
                }
            }
            TraceEventKind::SubmitJob { job, pod_duration, usage } => {
                if usage.is_some() {
                    self.counts.usage_series_ignored += 1;
                }
                let key = job.meta.key().to_string();
                let mut request = ResourceList::new();
                for c in &job.template.spec.containers {
                    request.add_all(&c.resources.requests);
                }
                trace_log(&self.analysis).expect_job(&key, &request);
                if let Some(d) = pod_duration {
                    self.jobs
                        .insert(key, JobTrack { parallelism: job.parallelism.max(1), bound: 0, duration: d });
                    self.wait_for(d);
                }
                self.schedule(now, Action::ApplyJob(job))?;
                self.counts.jobs_submitted += 1;
            }
        }
        Ok(())
    }
}

fn pull(stream: &mut TraceStream) -> Result<Option<TraceEvent>, RunError> {
    stream.next().transpose().map_err(RunError::Trace)
}

/// The replay metrics at `t` (cluster-wide): requested ratio and fragmentation per resource,
/// pods bound; with `standalone`, also pending pods and evictions (otherwise the full sampler
/// writes them).
fn replay_sample<M: MetricsSink>(
    log: &TraceLog,
    t: SimTime,
    evictions: u64,
    standalone: bool,
    sink: &mut TeeSink<'_, M>,
) -> Result<(), RunError> {
    for (r, v) in log.requested_ratios() {
        sink.record(t, REQUESTED_RATIO, r, v)?;
    }
    for (r, v) in log.fragmentation() {
        sink.record(t, FRAGMENTATION, r, v)?;
    }
    sink.record(t, PODS_BOUND, names_cluster(), log.bound_count() as f64)?;
    if standalone {
        sink.record(t, names::PENDING_PODS, names_cluster(), log.pending_count() as f64)?;
        sink.record(t, names::EVICTIONS_TOTAL, names_cluster(), evictions as f64)?;
    }
    Ok(())
}

fn names_cluster() -> &'static str {
    kubesim_reports::metrics::CLUSTER_OBJECT
}

struct Sampling {
    /// The scenario's full sampler runs too (known, bounded length).
    full: bool,
    interval: SimDuration,
    samples: u64,
}

impl Sampling {
    fn take<W: Write, M: MetricsSink>(
        &mut self,
        d: &mut Driver<'_, W>,
        t: SimTime,
        hpas: &[ObjectKey],
        sink: &mut TeeSink<'_, M>,
    ) -> Result<(), RunError> {
        if self.full {
            let latencies = std::mem::take(&mut d.analysis.get().new_latencies);
            for (at, pod, ns) in latencies {
                sink.record(at, SCHEDULING_LATENCY, &pod, ns as f64 / 1e9)?;
            }
            sample(d.cluster, hpas, t, sink)?;
        } else {
            d.analysis.get().new_latencies.clear();
        }
        let evictions = d.cluster.counters().evictions;
        replay_sample(&trace_log(&d.analysis), t, evictions, !self.full, sink)?;
        self.samples += 1;
        if !self.full && self.samples % SAMPLES_PER_LEVEL == 0 {
            self.interval = self.interval.saturating_mul(2);
        }
        Ok(())
    }
}

/// Runs the trace part of a scenario on a cluster already holding the scenario's own objects.
/// Returns the end time and the replay's facts.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_trace<S: Shell, W: Write, M: MetricsSink>(
    shell: &mut S,
    scenario: &Scenario,
    source: &TraceSource,
    seed: u64,
    limit: Option<SimTime>,
    cluster: &mut Cluster<LogTap<W>>,
    analysis: &AnalysisHandle,
    hpas: &[ObjectKey],
    sink: &mut TeeSink<'_, M>,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<(SimTime, ReplayFacts), RunError> {
    let mut stream = source.open(seed)?;
    {
        let mut log = trace_log(analysis);
        for n in &scenario.nodes {
            log.add_node(&n.meta.name, &n.status.allocatable, SimTime::ZERO);
        }
    }
    let mut d = Driver {
        source,
        cluster,
        analysis: analysis.clone(),
        streams: RngStreams::new(seed),
        counts: ReplayCounts::default(),
        known_nodes: scenario.nodes.iter().map(|n| n.meta.name.to_string()).collect(),
        removed_nodes: BTreeSet::new(),
        left_out: BTreeSet::new(),
        awaiting: BTreeMap::new(),
        jobs: BTreeMap::new(),
        waiting_durations: BTreeMap::new(),
        horizon: SimTime::ZERO,
        saw_binding: false,
    };
    let base_interval = scenario.metrics_interval.max(SimDuration::from_nanos(1));
    let full_sampling = limit.is_some_and(|l| l.as_nanos() / base_interval.as_nanos() <= MAX_FULL_SAMPLES);
    let mut sampling = Sampling { full: full_sampling, interval: base_interval, samples: 0 };
    let mut tick = SimTime::ZERO;
    let mut last_sampled: Option<SimTime> = None;
    let mut next = pull(&mut stream)?;
    let mut now = SimTime::ZERO;
    let mut settle_until: Option<SimTime> = None;

    loop {
        // Where the cluster must stop next.
        let exhausted = next.is_none();
        let mut stop = next.as_ref().map(|e| e.at);
        if let Some(p) = d.poll_time(now) {
            stop = Some(stop.map_or(p, |s| s.min(p)));
        }
        let mut finishing = false;
        if exhausted && source.until_trace_ends && limit.is_none() {
            if now < d.horizon {
                stop = Some(stop.map_or(d.horizon, |s| s.min(d.horizon)));
            } else {
                let settle = *settle_until.get_or_insert(now.saturating_add(SETTLE));
                finishing = stop.is_none_or(|s| s >= settle);
                stop = Some(stop.map_or(settle, |s| s.min(settle)));
            }
        }
        let mut stop = match (stop, limit) {
            (Some(s), Some(l)) => s.min(l),
            (Some(s), None) => s,
            (None, Some(l)) => l,
            (None, None) => now,
        };
        stop = stop.max(now);
        let at_limit = limit == Some(stop);

        // Samples before the stop only read the cluster.
        while tick < stop {
            shell.advance(d.cluster, tick)?;
            sampling.take(&mut d, tick, hpas, sink)?;
            last_sampled = Some(tick);
            tick = tick.saturating_add(sampling.interval);
        }

        shell.advance(d.cluster, stop)?;
        now = stop;
        d.counts.stops += 1;
        d.saw_binding = false;
        let mut again = d.observe(now)?;
        while !at_limit && next.as_ref().is_some_and(|e| e.at <= now) {
            let ev = next.take().expect("checked");
            d.apply(ev, now)?;
            next = pull(&mut stream)?;
            again = true;
        }
        while again {
            shell.advance(d.cluster, now)?;
            again = d.observe(now)?;
        }
        if d.saw_binding {
            settle_until = None;
        }
        if tick == stop {
            sampling.take(&mut d, tick, hpas, sink)?;
            last_sampled = Some(tick);
            tick = tick.saturating_add(sampling.interval);
        }
        let estimate = limit.unwrap_or_else(|| next.as_ref().map_or(now, |e| e.at).max(d.horizon).max(now));
        progress(now, estimate);
        let done = at_limit || (finishing && settle_until == Some(now) && next.is_none());
        if done {
            break;
        }
    }
    if last_sampled != Some(now) {
        sampling.take(&mut d, now, hpas, sink)?;
    }
    let counts = d.counts.clone();
    let mut log = trace_log(analysis).clone();
    log.finish(now);
    Ok((now, ReplayFacts { description: source.describe(), stats: stream.stats(), counts, log }))
}
