//! The node-layer benchmark outside the CLI:
//! `cargo run --release -p kubesim-runtime-sim --example fleet -- --nodes 5000 --pods 150000 --duration 1h`
//! Prints the same JSON line as `kubesim bench nodes`.

use kubesim_runtime_sim::{bench, BenchConfig};
use sim_core::SimDuration;

/// Peak resident set (VmHWM) in MiB, from /proc/self/status (0 where unavailable).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let mut cfg = BenchConfig {
        nodes: 100,
        pods: 3000,
        duration: SimDuration::from_hours(1),
        seed: 1,
        probe_period: SimDuration::from_secs(10),
        naive: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--nodes" => cfg.nodes = val.parse().expect("--nodes N"),
            "--pods" => cfg.pods = val.parse().expect("--pods M"),
            "--duration" => cfg.duration = val.parse().expect("--duration like 1h"),
            "--seed" => cfg.seed = val.parse().expect("--seed S"),
            "--probe-period" => cfg.probe_period = val.parse().expect("--probe-period like 10s"),
            "--naive" => {
                cfg.naive = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    // Wall-clock measurement is the benchmark shell's job, outside the simulated world.
    #[allow(clippy::disallowed_methods)]
    // wall time of the benchmark, printed only; never fed into the simulation
    let t0 = std::time::Instant::now();
    let report = bench(&cfg);
    let wall_s = t0.elapsed().as_secs_f64();
    println!("{}", report.json_line(wall_s, peak_rss_mb()));
}
