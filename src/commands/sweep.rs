//! `kubesim sweep`: scenarios × overrides × policies × seeds from a sweep file, in parallel, or one
//! deterministic shard of it (`--shard K/N`, K 0-based); identical results for any `--jobs`.
//! Shards combine with `kubesim merge` into the bytes an unsharded run writes (docs/sweeps.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kubesim_scenarios::sweep::{group_tables, load_sweep, run_sweep, write_results, Shard, SweepError};

use super::run::timed;
use super::{fail, CliError};

/// Arguments of `kubesim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (`kind: Sweep`).
    pub sweep: PathBuf,
    /// Run only shard K of N: the tasks i with i mod N == K (K is 0-based, as
    /// `$JOB_COMPLETION_INDEX`).
    #[arg(long)]
    pub shard: Option<String>,
    /// Parallel runs (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// Maps a sweep error to its exit code: bad input 2, failures 1.
pub fn cli_error(e: SweepError) -> CliError {
    if e.is_invalid_input() {
        CliError::invalid(e.to_string())
    } else {
        CliError::internal(e.to_string())
    }
}

fn execute(args: &SweepArgs) -> Result<(), CliError> {
    let shard = match &args.shard {
        Some(s) => s.parse::<Shard>().map_err(CliError::invalid)?,
        None => Shard::ALL,
    };
    if args.jobs == Some(0) {
        return Err(CliError::invalid("--jobs: must be at least 1"));
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let sweep = load_sweep(&args.sweep).map_err(cli_error)?;
    let manifest = sweep.manifest(shard);
    let (results, wall_s) = timed(|| run_sweep(&sweep, shard, jobs));
    let results = results.map_err(cli_error)?;
    write_results(&args.out, &manifest, &results).map_err(cli_error)?;
    outln!(
        "{}: {} scenarios × {} overrides × {} policies × {} seeds = {} tasks; shard {}/{} ran {} on {jobs} threads in {wall_s:.2}s",
        sweep.name,
        sweep.scenarios.len(),
        sweep.overrides.len(),
        sweep.policies.len(),
        sweep.seeds.len(),
        sweep.len(),
        shard.index,
        shard.count,
        results.len()
    );
    if shard == Shard::ALL {
        for (scenario, o, table) in group_tables(&manifest, &results).map_err(cli_error)? {
            outln!("\n{scenario} / {o} (mean ± 95 % CI)");
            out!("{}", table.to_terminal());
        }
    } else {
        outln!("combine the shards with: kubesim merge <shard folders> --out <folder>");
    }
    outln!("outputs: {}", args.out.display());
    Ok(())
}

/// Runs the command.
pub fn run(args: &SweepArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
