//! Running a [`Scenario`]: build the cluster, schedule the actions, step from one metrics sample to
//! the next, and collect what summaries and expectations need.
//!
//! The event log goes to the caller's writer (through a [`LogTap`]); metric samples go to the
//! caller's [`MetricsSink`] and to an in-memory [`MetricsTable`] for plots and assertions.
//! Sampling only reads the cluster, so the digest does not depend on `metrics.interval`.
//!
//! Each sample holds the cluster's object counts (`sample_metrics`), the usage of every container
//! and node since the previous sample (`sample_node_metrics`: CPU, throttling, working set), and
//! per HorizontalPodAutoscaler its last decision (`hpa_desired_replicas`, `hpa_current_replicas`;
//! nothing before its first sync).
//!
//! # What the in-memory table keeps
//!
//! `metrics.csv` gets every row. [`RunResult::metrics`] keeps every row too, except for the
//! metrics whose objects grow with the pod count ([`run_retention`]): per-container usage
//! (`container_cpu_usage_millicores`, `container_cpu_throttled_ratio`,
//! `container_memory_working_set_bytes`) and per-pod `scheduling_latency_s`. Each of those keeps its
//! series while it has at most [`BULKY_MAX_OBJECTS`] objects and [`BULKY_MAX_ROWS`] rows, and is
//! dropped from the table as a whole past either (a large run: 150,000 pods would otherwise hold
//! ~65 M rows, 8 GB). Nothing computed in-process reads them — summary, plots, expectations,
//! sweeps and compare read deployment, HPA, node and cluster series, scheduling latency comes from
//! the event log, and `kubesim validate` reads container usage back from `metrics.csv` — so every
//! output is the same whether they are kept or not.

use std::collections::BTreeMap;
use std::io::Write;

use kubesim_api::ObjectKey;
use kubesim_cluster::{Action, Cluster, ClusterError, Counters, RuntimeFactory, SimRuntimeFactory};
use kubesim_reports::metrics::names;
use kubesim_reports::metrics::Retention;
use kubesim_reports::{MetricsSink, MetricsTable};
use sim_core::{Digest, SimDuration, SimTime};

use crate::analysis::{AnalysisHandle, LogAnalysis, LogTap};
use crate::compile::Scenario;
use crate::diag::RunError;

/// Per-run overrides.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Seed instead of `spec.seed`.
    pub seed: Option<u64>,
    /// Stop earlier than `spec.duration`.
    pub until: Option<SimDuration>,
}

/// Everything a finished run knows.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Scenario name.
    pub scenario: String,
    /// Scheduler policy name.
    pub policy: String,
    /// Seed used.
    pub seed: u64,
    /// SHA-256 of the event log.
    pub digest: Digest,
    /// Simulated end time.
    pub end: SimTime,
    /// Cluster counters.
    pub counters: Counters,
    /// Facts from the event log.
    pub analysis: LogAnalysis,
    /// Every metric sample, except the bulky per-container and per-pod metrics of large runs
    /// ([`run_retention`]; `metrics.csv` has every row).
    pub metrics: MetricsTable,
    /// Per deployment: when scenario events changed its template.
    pub rollout_starts: BTreeMap<String, Vec<SimTime>>,
    /// Per deployment: when it was created.
    pub created_at: BTreeMap<String, SimTime>,
    /// Trace replays: what the trace did and what the planner report reads.
    pub replay: Option<crate::replay::ReplayFacts>,
}

/// The `metrics.csv` name of a cluster metric: the cluster's names are mapped onto the report
/// crate's standard names (which its plots look for); others pass through.
pub fn report_metric_name(cluster_name: &str) -> &str {
    match cluster_name {
        "pods_pending" => names::PENDING_PODS,
        "deployment_replicas_desired" => names::DEPLOYMENT_DESIRED_REPLICAS,
        "deployment_replicas_updated" => names::DEPLOYMENT_UPDATED_REPLICAS,
        "deployment_replicas_ready" => names::DEPLOYMENT_READY_REPLICAS,
        "deployment_replicas_available" => names::DEPLOYMENT_AVAILABLE_REPLICAS,
        other => other,
    }
}

/// Metric: scheduling latency of one pod, recorded at its binding time (object = pod).
pub const SCHEDULING_LATENCY: &str = names::SCHEDULING_LATENCY_S;

/// Objects a bulky metric of [`RunResult::metrics`] may have before it is dropped (see the
/// [module docs](self)).
pub const BULKY_MAX_OBJECTS: usize = 10_000;

/// Rows a bulky metric of [`RunResult::metrics`] may have before it is dropped (16 MB of samples).
pub const BULKY_MAX_ROWS: usize = 1_000_000;

/// What [`RunResult::metrics`] keeps: every row, except that the per-container usage metrics and
/// per-pod scheduling latency are dropped past [`BULKY_MAX_OBJECTS`] objects or
/// [`BULKY_MAX_ROWS`] rows each.
pub fn run_retention() -> Retention {
    use kubesim_cluster::metrics::names as cluster;
    Retention::bulky(
        [
            cluster::CONTAINER_CPU_USAGE,
            cluster::CONTAINER_CPU_THROTTLED,
            cluster::CONTAINER_MEMORY_WORKING_SET,
            SCHEDULING_LATENCY,
        ]
        .map(report_metric_name),
        BULKY_MAX_OBJECTS,
        BULKY_MAX_ROWS,
    )
}

pub(crate) struct TeeSink<'a, M: MetricsSink> {
    out: &'a mut M,
    table: MetricsTable,
}

impl<M: MetricsSink> TeeSink<'_, M> {
    pub(crate) fn record(
        &mut self,
        t: SimTime,
        metric: &str,
        object: &str,
        value: f64,
    ) -> Result<(), RunError> {
        self.out.record(t, metric, object, value)?;
        self.table.record(t, metric, object, value)?;
        Ok(())
    }

    /// False when both the output and the table would discard `metric`'s rows.
    fn wants(&self, metric: &str) -> bool {
        self.out.wants(metric) || self.table.keeps(metric)
    }

    /// Counts `rows` rows of `metric` that were not built because nothing wanted them.
    fn count_skipped(&mut self, t: SimTime, metric: &str, rows: u64) {
        self.table.count_skipped(t, metric, rows);
    }
}

/// A sink that drops everything (for sweeps that only need the table).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl MetricsSink for NullSink {
    fn record(&mut self, _: SimTime, _: &str, _: &str, _: f64) -> Result<(), kubesim_reports::ReportError> {
        Ok(())
    }

    fn wants(&self, _: &str) -> bool {
        false
    }
}

/// What moves a cluster through time: virtual time ([`VirtualTime`], the simulator) or a real
/// clock (the wall-clock shell of the Linux backend, which also supplies real node runtimes).
pub trait Shell {
    /// The runtime of each node the scenario adds.
    fn runtime_factory(&mut self) -> Box<dyn RuntimeFactory>;
    /// Brings `cluster` to `until`: every event due by then handled, the clock there.
    fn advance<W: Write>(&mut self, cluster: &mut Cluster<W>, until: SimTime) -> Result<(), ClusterError>;
}

/// The simulator's shell: simulated runtimes, and time jumps from event to event.
#[derive(Debug, Default, Clone, Copy)]
pub struct VirtualTime;

impl Shell for VirtualTime {
    fn runtime_factory(&mut self) -> Box<dyn RuntimeFactory> {
        Box::new(SimRuntimeFactory)
    }
    fn advance<W: Write>(&mut self, cluster: &mut Cluster<W>, until: SimTime) -> Result<(), ClusterError> {
        cluster.run_until(until)
    }
}

/// Runs `scenario`, writing the event log to `log` and samples to `metrics`. `progress` is called
/// after each sample with `(now, end)`. Returns the result and the log writer (flushed).
pub fn run_scenario<W: Write, M: MetricsSink>(
    scenario: &Scenario,
    options: &RunOptions,
    log: W,
    metrics: &mut M,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<(RunResult, W), RunError> {
    run_scenario_in(&mut VirtualTime, scenario, options, log, metrics, progress)
}

/// [`run_scenario`] in a given [`Shell`].
pub fn run_scenario_in<S: Shell, W: Write, M: MetricsSink>(
    shell: &mut S,
    scenario: &Scenario,
    options: &RunOptions,
    log: W,
    metrics: &mut M,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<(RunResult, W), RunError> {
    run_scenario_retaining(shell, scenario, options, run_retention(), log, metrics, progress)
}

/// [`run_scenario_in`] with the table keeping what `retention` says (tests compare retentions).
pub(crate) fn run_scenario_retaining<S: Shell, W: Write, M: MetricsSink>(
    shell: &mut S,
    scenario: &Scenario,
    options: &RunOptions,
    retention: Retention,
    log: W,
    metrics: &mut M,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<(RunResult, W), RunError> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let mut config = scenario.config.clone();
    config.seed = seed;
    let duration = options.until.map_or(scenario.duration, |u| u.min(scenario.duration));
    let end = SimTime::ZERO.saturating_add(duration);

    // A trace replay reads the analysis after every trace event: its lines are read inline.
    let (tap, analysis) = if scenario.trace.is_some() { LogTap::new(log) } else { LogTap::threaded(log) };
    if scenario.trace.is_some() {
        analysis.get().trace = Some(Box::new(crate::planner::TraceLog::new()));
    }
    let mut cluster = Cluster::with_runtime_factory(config, tap, shell.runtime_factory())?;
    // The digest is the same either way; off this thread, the hashing runs beside the simulation.
    cluster.hash_log_on_a_thread();
    for pc in &scenario.priority_classes {
        cluster.add_priority_class(pc.clone());
    }
    for node in &scenario.nodes {
        cluster.add_node(node.clone())?;
    }
    for pod in &scenario.pods {
        cluster.create_pod(pod.clone())?;
    }
    for d in &scenario.deployments {
        cluster.apply_deployment(d.clone())?;
    }
    for a in &scenario.actions {
        if a.at <= end {
            cluster.schedule_action(a.at, a.action.clone())?;
        }
    }

    let mut hpas: Vec<ObjectKey> = Vec::new();
    for a in &scenario.actions {
        if let Action::ApplyHpa(h) = &a.action {
            let ns = if h.meta.namespace.is_empty() { "default" } else { h.meta.namespace.as_str() };
            let key = ObjectKey::new(ns, &h.meta.name);
            if !hpas.contains(&key) {
                hpas.push(key);
            }
        }
    }
    hpas.sort();

    let mut sink = TeeSink { out: metrics, table: MetricsTable::with_retention(retention) };
    let mut replay = None;
    let end = if let Some(source) = &scenario.trace {
        // A run until the trace ends has no fixed end unless `--until` gives one.
        let limit = (!source.until_trace_ends || options.until.is_some()).then_some(end);
        let (end, facts) = crate::replay::run_trace(
            shell,
            scenario,
            source,
            seed,
            limit,
            &mut cluster,
            &analysis,
            &hpas,
            &mut sink,
            progress,
        )?;
        replay = Some(facts);
        end
    } else {
        run_plain(
            shell,
            &mut cluster,
            &analysis,
            &hpas,
            scenario.metrics_interval,
            end,
            &mut sink,
            progress,
        )?;
        end
    };
    let counters = cluster.counters();
    let (tap, digest) = cluster.finish()?;
    // Taken, not cloned: the log is finished, and at scale the latencies alone are megabytes.
    let analysis = std::mem::take(&mut *analysis.get());
    Ok((
        RunResult {
            scenario: scenario.name.clone(),
            policy: scenario.policy.clone(),
            seed,
            digest,
            end,
            counters,
            analysis,
            metrics: sink.table,
            rollout_starts: scenario.rollout_starts.clone(),
            created_at: scenario.created_at.clone(),
            replay,
        },
        tap.into_inner(),
    ))
}

/// The loop of a scenario without a trace: step from one metrics sample to the next.
#[allow(clippy::too_many_arguments)]
fn run_plain<S: Shell, W: Write, M: MetricsSink>(
    shell: &mut S,
    cluster: &mut Cluster<LogTap<W>>,
    analysis: &AnalysisHandle,
    hpas: &[ObjectKey],
    metrics_interval: SimDuration,
    end: SimTime,
    sink: &mut TeeSink<'_, M>,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<(), RunError> {
    let interval = metrics_interval.max(SimDuration::from_nanos(1));
    let mut t = SimTime::ZERO;
    loop {
        shell.advance(cluster, t)?;
        // Latencies first (their times are ≤ t), so rows stay in time order.
        let latencies = std::mem::take(&mut analysis.get().new_latencies);
        for (at, pod, ns) in latencies {
            sink.record(at, SCHEDULING_LATENCY, &pod, ns as f64 / 1e9)?;
        }
        sample(cluster, hpas, t, sink)?;
        progress(t, end);
        if t >= end {
            break;
        }
        t = t.saturating_add(interval).min(end);
    }
    Ok(())
}

pub(crate) fn sample<W: Write, M: MetricsSink>(
    cluster: &mut Cluster<W>,
    hpas: &[ObjectKey],
    t: SimTime,
    sink: &mut TeeSink<'_, M>,
) -> Result<(), RunError> {
    let mut desired: BTreeMap<String, f64> = BTreeMap::new();
    let mut available: BTreeMap<String, f64> = BTreeMap::new();
    for s in cluster.sample_metrics() {
        let name = report_metric_name(s.metric);
        if name == names::DEPLOYMENT_DESIRED_REPLICAS {
            desired.insert(s.object.clone(), s.value);
        } else if name == names::DEPLOYMENT_AVAILABLE_REPLICAS {
            available.insert(s.object.clone(), s.value);
        }
        sink.record(t, name, &s.object, s.value)?;
    }
    for (d, want) in &desired {
        let have = available.get(d).copied().unwrap_or(0.0);
        let ratio = if *want > 0.0 { have / want } else { 1.0 };
        sink.record(t, names::DEPLOYMENT_AVAILABILITY_RATIO, d, ratio)?;
    }
    // Per-container rows are built only for a sink that keeps them.
    let container_metrics = [
        kubesim_cluster::metrics::names::CONTAINER_CPU_USAGE,
        kubesim_cluster::metrics::names::CONTAINER_CPU_THROTTLED,
        kubesim_cluster::metrics::names::CONTAINER_MEMORY_WORKING_SET,
    ]
    .map(report_metric_name);
    let per_container = container_metrics.iter().any(|m| sink.wants(m));
    let (samples, skipped) = cluster.sample_node_metrics_where(per_container);
    for s in samples {
        sink.record(t, report_metric_name(s.metric), &s.object, s.value)?;
    }
    for metric in container_metrics {
        sink.count_skipped(t, metric, skipped);
    }
    for key in hpas {
        if let Some(d) = cluster.hpa_decision(key) {
            let object = key.to_string();
            sink.record(t, names::HPA_DESIRED_REPLICAS, &object, f64::from(d.desired_replicas))?;
            sink.record(t, names::HPA_CURRENT_REPLICAS, &object, f64::from(d.current_replicas))?;
        }
    }
    Ok(())
}
