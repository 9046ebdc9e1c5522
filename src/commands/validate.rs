//! `kubesim validate <scenario>`: runs a small scenario on the real Linux backend (wall-clock time,
//! real processes in cgroups and namespaces) and in the simulator, then compares what each showed.
//!
//! Order and calibration: the real run goes first; the simulated node's container start latency is
//! then set to what the real node measured (median of scheduling → first start), so systematic
//! start-up offsets do not pass for divergences. The report says which latency it used.
//!
//! Outputs in `--out` (default `out/validate/<scenario name>`): `real/` and `sim/` (each the usual
//! `events.jsonl`, `metrics.csv`, `summary.json`, plots, report), `divergence.txt` (the table) and
//! `divergence.json`. Exit 0 when every observable is within its tolerance, 1 when one is not,
//! 2 for an invalid or too large scenario, 3 when this machine cannot run the real backend.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
#[cfg(target_os = "linux")]
use kubesim_backend_linux::{
    host::{preflight, Host},
    runtime::WorkloadProgram,
    shell::{LinuxRuntimeFactory, WallClock},
};
use kubesim_cluster::{Cluster, ClusterError, RuntimeFactory};
use kubesim_kubelet::ProbeMode;
use kubesim_scenarios::output::{run_into_dir_in, write_reports};
use kubesim_scenarios::validation::{compare, Observations, Tolerances};
use kubesim_scenarios::{RunOptions, RunResult, Scenario, Shell};
use sim_core::{SimDuration, SimTime};

use super::run::{progress_bar, run_with_progress, timed};
use super::validate_scenario::load_scenario;
use super::{fail, CliError};

/// The largest scenario `validate` accepts: real processes, real time.
const MAX_NODES: usize = 5;
const MAX_PODS: i64 = 20;
const MAX_DURATION: SimDuration = SimDuration::from_mins(10);

/// Exit code when the machine cannot run the real backend (not root, no cgroup controllers).
const EXIT_UNSUPPORTED: u8 = 3;

/// Arguments of `kubesim validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The scenario file (at most 5 nodes, 20 pods, 10 minutes).
    pub scenario: PathBuf,
    /// Output folder (default `out/validate/<scenario name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed instead of the scenario's `spec.seed` (both runs).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// The wall-clock shell with real node runtimes, as the scenario runner sees it.
#[cfg(target_os = "linux")]
struct RealShell {
    clock: WallClock,
    factory: Option<LinuxRuntimeFactory>,
}

#[cfg(target_os = "linux")]
impl Shell for RealShell {
    fn runtime_factory(&mut self) -> Box<dyn RuntimeFactory> {
        Box::new(self.factory.take().expect("one cluster per real run"))
    }
    fn advance<W: std::io::Write>(
        &mut self,
        cluster: &mut Cluster<W>,
        until: SimTime,
    ) -> Result<(), ClusterError> {
        self.clock.advance(cluster, until)
    }
}

/// How many pods the scenario starts with (bare pods plus Deployment replicas).
fn initial_pods(scenario: &Scenario) -> i64 {
    scenario.pods.len() as i64 + scenario.deployments.iter().map(|d| i64::from(d.replicas)).sum::<i64>()
}

fn check_size(scenario: &Scenario) -> Result<(), CliError> {
    let mut problems = Vec::new();
    if scenario.nodes.len() > MAX_NODES {
        problems.push(format!("{} nodes (at most {MAX_NODES})", scenario.nodes.len()));
    }
    if initial_pods(scenario) > MAX_PODS {
        problems.push(format!("{} pods at the start (at most {MAX_PODS})", initial_pods(scenario)));
    }
    if scenario.duration > MAX_DURATION {
        problems.push(format!("duration {} (at most {MAX_DURATION})", scenario.duration));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::invalid(format!(
            "{} is too large to validate on real processes: {}",
            scenario.name,
            problems.join(", ")
        )))
    }
}

/// Median time from a pod's scheduling to its first container start in a run's event log.
fn median_start_latency(events: &str) -> Option<SimDuration> {
    let mut scheduled = std::collections::BTreeMap::new();
    let mut latencies = Vec::new();
    for line in events.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(t), Some(kind), Some(pod)) = (v["t"].as_u64(), v["kind"].as_str(), v["pod"].as_str())
        else {
            continue;
        };
        match kind {
            "PodScheduled" => {
                scheduled.insert(pod.to_string(), t);
            }
            "ContainerStarted" if v["restart_count"].as_i64() == Some(0) => {
                if let Some(s) = scheduled.remove(pod) {
                    latencies.push(t.saturating_sub(s));
                }
            }
            _ => {}
        }
    }
    latencies.sort_unstable();
    latencies.get(latencies.len() / 2).map(|&ns| SimDuration::from_nanos(ns))
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::internal(format!("{}: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::internal(format!("{}: {e}", path.display())))
}

/// The real run: a fresh run root on this host, removed (with every process) when it ends.
#[cfg(target_os = "linux")]
#[allow(clippy::disallowed_methods)] // the wall-clock shell's epoch is real time by definition
fn run_real(
    scenario: &Scenario,
    options: &RunOptions,
    dir: &Path,
) -> Result<(RunResult, f64, Vec<String>), CliError> {
    let host = Host::open()
        .map_err(|e| CliError { message: format!("real backend: {e}"), code: EXIT_UNSUPPORTED })?;
    let host = Arc::new(host);
    let epoch = std::time::Instant::now();
    let logs = dir.join("containers");
    std::fs::create_dir_all(&logs).map_err(|e| CliError::internal(format!("{}: {e}", logs.display())))?;
    let factory = LinuxRuntimeFactory::new(host.clone(), epoch, WorkloadProgram::SelfExe, scenario.duration)
        .with_log_dir(logs);
    let errors = factory.errors();
    let mut shell = RealShell { clock: WallClock::new(epoch).interruptible(), factory: Some(factory) };
    let mut real = scenario.clone();
    // A real node's probes are real requests, run by the kubelet's per-period workers.
    real.config.probe_mode = ProbeMode::Executed;
    let end = options.until.map_or(scenario.duration, |u| u.min(scenario.duration));
    let bar = progress_bar(end);
    let (result, wall_s) = timed(|| {
        run_into_dir_in(&mut shell, &real, options, dir, &mut |now: SimTime, _| {
            bar.set_position(now.as_secs())
        })
    });
    bar.finish_and_clear();
    drop(shell);
    let leftover = host.close();
    drop(host);
    let result = result.map_err(|e| CliError::internal(format!("real run: {e}")))?;
    let mut errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
    if let Err(e) = leftover {
        errors.push(format!("cleanup: {e}"));
    }
    Ok((result, wall_s, errors))
}

#[cfg(target_os = "linux")]
fn execute(args: &ValidateArgs) -> Result<bool, CliError> {
    let scenario = load_scenario(&args.scenario)?;
    check_size(&scenario)?;
    preflight().map_err(|e| CliError {
        message: format!("the real backend cannot run on this machine: {e}"),
        code: EXIT_UNSUPPORTED,
    })?;
    let dir = args.out.clone().unwrap_or_else(|| Path::new("out").join("validate").join(&scenario.name));
    let options = RunOptions { seed: args.seed, until: None };

    eprintln!("{}: real run ({} of wall-clock time)…", scenario.name, scenario.duration);
    let real_dir = dir.join("real");
    let (real, real_wall_s, errors) = run_real(&scenario, &options, &real_dir)?;
    write_reports(&real_dir, &real, Some(real_wall_s)).map_err(|e| CliError::internal(e.to_string()))?;
    for e in &errors {
        eprintln!("warning: real node: {e}");
    }

    let real_events = read(&real_dir.join("events.jsonl"))?;
    let latency = median_start_latency(&real_events);
    let mut sim = scenario.clone();
    if let Some(latency) = latency {
        sim.config.runtime.sandbox_latency = SimDuration::ZERO;
        sim.config.runtime.container_start_latency = latency;
    }
    let sim_dir = dir.join("sim");
    let (sim_result, sim_wall_s) = run_with_progress(&sim, &options, &sim_dir)?;
    write_reports(&sim_dir, &sim_result, Some(sim_wall_s)).map_err(|e| CliError::internal(e.to_string()))?;

    let parse = |d: &Path, which: &str| -> Result<Observations, CliError> {
        Observations::from_outputs(&read(&d.join("events.jsonl"))?, &read(&d.join("metrics.csv"))?)
            .map_err(|e| CliError::internal(format!("{which} run's outputs: {e}")))
    };
    let report = compare(&parse(&sim_dir, "simulated")?, &parse(&real_dir, "real")?, &Tolerances::default());
    let calibration = match latency {
        Some(l) => format!(
            "simulated node calibrated to the real start latency: {l} (median scheduling → first start)"
        ),
        None => "no container started on the real node: simulator left uncalibrated".to_string(),
    };
    let table = format!(
        "validate {}: simulator vs real Linux backend (seed {})\n{calibration}\nreal run {real_wall_s:.1}s wall, {} real-node errors\n\n{}",
        scenario.name,
        real.seed,
        errors.len(),
        report.to_table()
    );
    write(&dir.join("divergence.txt"), &table)?;
    write(&dir.join("divergence.json"), &report.to_json())?;
    outln!("{table}");
    let passed = report.passed() && errors.is_empty();
    outln!(
        "{}: {} (outputs: {})",
        scenario.name,
        if passed {
            "PASS — every observable within its tolerance"
        } else {
            "FAIL — divergence beyond tolerance"
        },
        dir.display()
    );
    Ok(passed)
}

#[cfg(not(target_os = "linux"))]
fn execute(args: &ValidateArgs) -> Result<bool, CliError> {
    let scenario = load_scenario(&args.scenario)?;
    check_size(&scenario)?;
    Err(CliError {
        message: "the real backend needs Linux (cgroups and namespaces); run `kubesim validate` on a Linux machine as root"
            .into(),
        code: EXIT_UNSUPPORTED,
    })
}

/// Runs the command.
pub fn run(args: &ValidateArgs) -> ExitCode {
    match execute(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => fail(&e),
    }
}
