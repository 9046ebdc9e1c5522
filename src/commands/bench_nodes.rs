//! `kubesim bench nodes`: the node-layer benchmark (issue 4 target: 5,000 nodes, 150,000 pods with
//! liveness and readiness probes every 10 s, 1 simulated hour, < 1 % of the per-probe events,
//! < 10 s wall, < 2 GB peak). Prints one JSON line:
//!
//! ```text
//! {"nodes":5000,"pods":150000,"sim_duration_s":3600,"events_processed":600000,
//!  "per_probe_events_equivalent":108000000,"event_ratio":0.005556,"pods_ready":150000,
//!  "status_updates":450000,"wall_s":2.8,"peak_rss_mb":537.4}
//! ```

use std::process::ExitCode;

use kubesim_runtime_sim::{bench, BenchConfig};
use sim_core::SimDuration;

/// Arguments of `kubesim bench nodes`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchNodesArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 5000)]
    pub nodes: u32,
    /// Number of pods, assigned round-robin at time zero.
    #[arg(long, default_value_t = 150_000)]
    pub pods: u32,
    /// Simulated duration (e.g. 1h, 90m).
    #[arg(long, default_value = "1h")]
    pub duration: SimDuration,
    /// Root seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Liveness and readiness periodSeconds.
    #[arg(long, default_value = "10s")]
    pub probe_period: SimDuration,
    /// Probe every period (the naive oracle) to measure the per-probe event count for real.
    #[arg(long)]
    pub naive: bool,
}

/// Peak resident set (VmHWM) in MiB from /proc/self/status; 0 where unavailable.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs the benchmark and prints its JSON line.
pub fn run(args: &BenchNodesArgs) -> ExitCode {
    if args.nodes == 0 || args.probe_period.is_zero() {
        eprintln!("error: --nodes and --probe-period must be positive");
        return ExitCode::from(2);
    }
    let cfg = BenchConfig {
        nodes: args.nodes,
        pods: args.pods,
        duration: args.duration,
        seed: args.seed,
        probe_period: args.probe_period,
        naive: args.naive,
    };
    // Wall-clock time is what this benchmark measures; it never feeds the simulation.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let report = bench(&cfg);
    let wall_s = started.elapsed().as_secs_f64();
    outln!("{}", report.json_line(wall_s, peak_rss_mb()));
    ExitCode::SUCCESS
}
