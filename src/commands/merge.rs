//! `kubesim merge`: combines the shard folders of one sweep into the folder an unsharded
//! `kubesim sweep` writes, byte for byte. Refuses shards of different sweeps or kubesim versions,
//! and missing or duplicate shards (exit 2).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kubesim_scenarios::sweep::{merge_shards, read_results, write_results};

use super::sweep::cli_error;
use super::{fail, CliError};

/// Arguments of `kubesim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard folders written by `kubesim sweep --shard K/N`, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

fn execute(args: &MergeArgs) -> Result<(), CliError> {
    let mut shards = Vec::with_capacity(args.shards.len());
    for dir in &args.shards {
        let (manifest, results) = read_results(dir).map_err(cli_error)?;
        shards.push((dir.clone(), manifest, results));
    }
    let (manifest, results) = merge_shards(shards).map_err(cli_error)?;
    write_results(&args.out, &manifest, &results).map_err(cli_error)?;
    outln!(
        "{}: merged {} shards, {} tasks; outputs: {}",
        manifest.sweep,
        args.shards.len(),
        results.len(),
        args.out.display()
    );
    Ok(())
}

/// Runs the command.
pub fn run(args: &MergeArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
