//! `kubesim check`: runs a scenario and evaluates its `expect:` assertions.
//!
//! Exit code 0 when every assertion holds, 1 when one fails (or cannot be evaluated), 2 for an
//! invalid scenario. `--junit FILE` writes the verdicts as JUnit XML for CI systems.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kubesim_reports::junit::{write_junit, ScenarioVerdicts, Verdict};
use kubesim_scenarios::run::NullSink;
use kubesim_scenarios::{run_scenario, RunOptions};
use sim_core::SimDuration;

use super::run::{progress_bar, timed};
use super::validate_scenario::load_scenario;
use super::{fail, CliError};

/// Arguments of `kubesim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Write the verdicts as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Seed instead of the scenario's `spec.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop at this simulated time instead of `spec.duration`.
    #[arg(long)]
    pub until: Option<SimDuration>,
}

fn execute(args: &CheckArgs) -> Result<bool, CliError> {
    let scenario = load_scenario(&args.scenario)?;
    if scenario.expectations.is_empty() {
        eprintln!("warning: {}: no expect: entries, nothing to check", args.scenario.display());
    }
    let options = RunOptions { seed: args.seed, until: args.until };
    let end = options.until.map_or(scenario.duration, |u| u.min(scenario.duration));
    let bar = progress_bar(end);
    let (result, wall_s) = timed(|| {
        run_scenario(&scenario, &options, std::io::sink(), &mut NullSink, &mut |now, _| {
            bar.set_position(now.as_secs())
        })
    });
    bar.finish_and_clear();
    let (run, _) = result.map_err(|e| CliError::internal(e.to_string()))?;
    let verdicts: Vec<_> = scenario.expectations.iter().map(|e| e.evaluate(&run)).collect();
    let mut all_pass = true;
    for v in &verdicts {
        let tag = match v.verdict {
            Verdict::Pass => "PASS ",
            Verdict::Fail => "FAIL ",
            Verdict::Error => "ERROR",
        };
        all_pass &= v.verdict == Verdict::Pass;
        outln!("{tag} {}: {}", v.name, v.message());
    }
    let passed = verdicts.iter().filter(|v| v.verdict == Verdict::Pass).count();
    outln!(
        "{}: {passed} of {} expectations hold (seed {}, {wall_s:.2}s wall)",
        scenario.name,
        verdicts.len(),
        run.seed
    );
    if let Some(path) = &args.junit {
        let suite = ScenarioVerdicts {
            scenario: scenario.name.clone(),
            properties: vec![
                ("file".into(), args.scenario.display().to_string()),
                ("seed".into(), run.seed.to_string()),
                ("digest".into(), run.digest.to_hex()),
            ],
            expectations: verdicts,
        };
        let file = std::fs::File::create(path)
            .map_err(|e| CliError::internal(format!("{}: {e}", path.display())))?;
        write_junit(std::io::BufWriter::new(file), &[suite])
            .map_err(|e| CliError::internal(format!("{}: {e}", path.display())))?;
    }
    outln!("digest: {}", run.digest);
    Ok(all_pass)
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> ExitCode {
    match execute(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => fail(&e),
    }
}
