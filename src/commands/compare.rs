//! `kubesim compare`: one scenario under several scheduler policies and many seeds, in parallel;
//! prints mean ± 95 % CI per policy and writes compare.csv, runs.csv, plots and report.html.
//! Results are identical for any `--jobs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use kubesim_scenarios::compare::{comparison_table, parse_seeds, run_compare, write_compare, CompareError};
use sim_core::SimDuration;

use super::run::timed;
use super::validate_scenario::load_scenario;
use super::{fail, CliError};

/// Arguments of `kubesim compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Policies to compare, comma-separated (default, least-allocated, most-allocated, first-fit, …).
    #[arg(long, value_delimiter = ',', required = true)]
    pub policies: Vec<String>,
    /// Seeds: a range `1..30` (inclusive), a list `1,2,5`, or one seed.
    #[arg(long, default_value = "1..10")]
    pub seeds: String,
    /// Parallel runs (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default `out/<scenario name>-compare`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop each run at this simulated time.
    #[arg(long)]
    pub until: Option<SimDuration>,
}

fn execute(args: &CompareArgs) -> Result<(), CliError> {
    let scenario = load_scenario(&args.scenario)?;
    let seeds = parse_seeds(&args.seeds).map_err(|e| CliError::invalid(format!("--seeds: {e}")))?;
    if args.jobs == Some(0) {
        return Err(CliError::invalid("--jobs: must be at least 1"));
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let policies: Vec<String> =
        args.policies.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    let map_err = |e: CompareError| match e {
        CompareError::Invalid(m) => CliError::invalid(m),
        other => CliError::internal(other.to_string()),
    };
    let (runs, wall_s) = timed(|| run_compare(&scenario, &policies, &seeds, jobs, args.until));
    let runs = runs.map_err(map_err)?;
    let table = comparison_table(&runs, &policies).map_err(map_err)?;
    let dir = args.out.clone().unwrap_or_else(|| Path::new("out").join(format!("{}-compare", scenario.name)));
    write_compare(&dir, &format!("{} — policy comparison", scenario.name), &runs, &table).map_err(map_err)?;
    outln!(
        "{}: {} policies × {} seeds = {} runs on {jobs} threads in {wall_s:.2}s (mean ± 95 % CI)",
        scenario.name,
        policies.len(),
        seeds.len(),
        runs.len()
    );
    out!("{}", table.to_terminal());
    outln!("outputs: {}", dir.display());
    Ok(())
}

/// Runs the command.
pub fn run(args: &CompareArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
