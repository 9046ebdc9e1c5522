//! Runs a scenario as `kubesim run` does and reports what a scale benchmark needs besides wall
//! time and peak memory (take those from `/usr/bin/time -v`): events processed, the size of the
//! pending event set over time, pod objects over time.
//!
//! ```sh
//! cargo run --release -p kubesim-scenarios --example scale_probe -- scenarios/library/scale-5k.yaml \
//!     [--events FILE | --no-events] [--metrics FILE | --no-metrics] [--until 1h] [--every 1h]
//! ```
//!
//! Without `--events`, the event log is hashed but not written (`--no-events`); without
//! `--metrics`, samples go to the in-memory table only.

#![allow(clippy::disallowed_methods)] // wall time for the progress lines only, never fed into the simulation

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use kubesim_cluster::{Cluster, ClusterError, RuntimeFactory, SimRuntimeFactory};
use kubesim_scenarios::run::{NullSink, Shell};
use kubesim_scenarios::RunOptions;
use sim_core::{SimDuration, SimTime};

/// The allocator the `kubesim` binary uses, so the probe measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Probe {
    every: SimDuration,
    next: SimTime,
    max_pending: usize,
    rows: Vec<(SimTime, usize, usize, u64)>,
    /// Wall time since the start, for the progress lines only (never fed into the simulation).
    started: std::time::Instant,
}

impl Shell for Probe {
    fn runtime_factory(&mut self) -> Box<dyn RuntimeFactory> {
        Box::new(SimRuntimeFactory)
    }
    fn advance<W: Write>(&mut self, cluster: &mut Cluster<W>, until: SimTime) -> Result<(), ClusterError> {
        cluster.run_until(until)?;
        let pending = cluster.pending_events();
        self.max_pending = self.max_pending.max(pending);
        if until >= self.next {
            self.rows.push((
                until,
                pending,
                cluster.store().pod_count(),
                cluster.counters().events_processed,
            ));
            eprintln!(
                "t={:>8.0}s wall={:>7.1}s rss={:>6} MB pending_events={pending} pods={} events={}",
                until.as_secs_f64(),
                self.started.elapsed().as_secs_f64(),
                resident_mb(),
                cluster.store().pod_count(),
                cluster.counters().events_processed
            );
            self.next = until + self.every;
        }
        Ok(())
    }
}

/// The process's resident set now (Linux `/proc/self/status` `VmRSS`), for steady-state memory
/// (`/usr/bin/time` reports only the peak); 0 where unavailable.
fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut scenario_path = None;
    let mut events: Option<PathBuf> = None;
    let mut metrics: Option<PathBuf> = None;
    let mut until = None;
    let mut every = SimDuration::from_secs(3600);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--events" => events = args.next().map(PathBuf::from),
            "--no-events" => events = None,
            "--metrics" => metrics = args.next().map(PathBuf::from),
            "--no-metrics" => metrics = None,
            "--until" => until = Some(args.next().ok_or("--until needs a duration")?.parse::<SimDuration>()?),
            "--every" => every = args.next().ok_or("--every needs a duration")?.parse::<SimDuration>()?,
            other => scenario_path = Some(PathBuf::from(other)),
        }
    }
    let path =
        scenario_path.ok_or("usage: scale_probe SCENARIO [--events FILE] [--metrics FILE] [--until T]")?;
    let scenario = kubesim_scenarios::load(&path)?;
    let mut probe = Probe {
        every,
        next: SimTime::ZERO,
        max_pending: 0,
        rows: Vec::new(),
        // Wall time for the progress lines only; the run reads simulated time alone.
        started: std::time::Instant::now(),
    };
    let options = RunOptions { until, ..Default::default() };
    let log: Box<dyn Write> = match &events {
        Some(p) => Box::new(BufWriter::with_capacity(1 << 20, std::fs::File::create(p)?)),
        None => Box::new(std::io::sink()),
    };
    let (result, _) = match &metrics {
        Some(p) => {
            let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(p)?);
            let mut sink = kubesim_reports::MetricsWriter::new(file)?;
            let r = kubesim_scenarios::run::run_scenario_in(
                &mut probe,
                &scenario,
                &options,
                log,
                &mut sink,
                &mut |_, _| {},
            )?;
            sink.finish()?;
            r
        }
        None => kubesim_scenarios::run::run_scenario_in(
            &mut probe,
            &scenario,
            &options,
            log,
            &mut NullSink,
            &mut |_, _| {},
        )?,
    };
    let c = result.counters;
    println!(
        "events_processed={} pods_created={} pods_scheduled={} evictions={} max_pending_events={} metric_rows={} digest={}",
        c.events_processed,
        c.pods_created,
        c.pods_scheduled,
        c.evictions,
        probe.max_pending,
        result.metrics.len(),
        result.digest
    );
    Ok(())
}
