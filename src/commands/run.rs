//! `kubesim run`: runs a scenario and writes its outputs (events.jsonl, metrics.csv, summary.json,
//! plots, report.html) into an output folder; ends by printing `digest: <hex>`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kubesim_scenarios::output::{run_into_dir, write_reports};
use kubesim_scenarios::{RunOptions, RunResult, Scenario};
use sim_core::{SimDuration, SimTime};

use super::validate_scenario::load_scenario;
use super::{fail, CliError};

/// Arguments of `kubesim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Seed instead of the scenario's `spec.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder (default `out/<scenario name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop at this simulated time instead of `spec.duration` (e.g. `30m`).
    #[arg(long)]
    pub until: Option<SimDuration>,
}

/// A progress bar over simulated time on a terminal; hidden otherwise.
pub fn progress_bar(end: SimDuration) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(end.as_secs().max(1));
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} simulated s")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Wall-clock seconds of `f` (the progress display and `wall_s` are the only wall-clock readers).
#[allow(clippy::disallowed_methods)] // wall time for the summary, never fed into the simulation
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = std::time::Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

/// Runs a loaded scenario into `dir` with a progress bar; returns the result and wall seconds.
pub fn run_with_progress(
    scenario: &Scenario,
    options: &RunOptions,
    dir: &Path,
) -> Result<(RunResult, f64), CliError> {
    let end = options.until.map_or(scenario.duration, |u| u.min(scenario.duration));
    let bar = progress_bar(end);
    let (result, wall_s) = timed(|| {
        run_into_dir(scenario, options, dir, &mut |now: SimTime, _| bar.set_position(now.as_secs()))
    });
    bar.finish_and_clear();
    let result = result.map_err(|e| CliError::internal(e.to_string()))?;
    Ok((result, wall_s))
}

fn execute(args: &RunArgs) -> Result<(), CliError> {
    let scenario = load_scenario(&args.scenario)?;
    let dir = args.out.clone().unwrap_or_else(|| Path::new("out").join(&scenario.name));
    let options = RunOptions { seed: args.seed, until: args.until };
    let (result, wall_s) = run_with_progress(&scenario, &options, &dir)?;
    write_reports(&dir, &result, Some(wall_s)).map_err(|e| CliError::internal(e.to_string()))?;
    let c = &result.counters;
    outln!(
        "{}: simulated {} in {wall_s:.2}s wall, {} events; pods created {}, scheduled {}; OOM kills {}, restarts {}, evictions {}",
        result.scenario,
        result.end.since_start(),
        c.events_processed,
        c.pods_created,
        c.pods_scheduled,
        c.oom_kills,
        c.container_restarts,
        c.evictions
    );
    outln!("outputs: {}", dir.display());
    outln!("digest: {}", result.digest);
    Ok(())
}

/// Runs the command.
pub fn run(args: &RunArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
