//! `kubesim workload-program` (hidden): the process the real Linux backend runs in each container.
//!
//! It plays one container's workload for real — burns CPU per its demand, allocates and touches
//! memory per its curve (leaks included), crashes or completes on cue, answers `/healthz`,
//! `/ready` and `/startup` over HTTP, handles SIGTERM per the shutdown spec and reaps orphans as
//! PID 1. The backend passes the compiled spec as JSON in `KSIM_WORKLOAD` (or a file named by
//! `KSIM_WORKLOAD_FILE`); `--spec FILE` overrides both for running it by hand.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kubesim workload-program`.
#[derive(Debug, clap::Args)]
pub struct WorkloadProgramArgs {
    /// Read the workload spec (JSON) from this file instead of the environment.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

/// Plays the workload until it exits; the process exits with the workload's exit code.
#[cfg(target_os = "linux")]
pub fn run(args: &WorkloadProgramArgs) -> ExitCode {
    use kubesim_backend_linux::program::ProgramSpec;
    let spec = match &args.spec {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| ProgramSpec::from_json(&text)),
        None => ProgramSpec::from_env(),
    };
    match spec {
        // Exit codes above 255 (none today) would be truncated by the kernel anyway.
        Ok(spec) => std::process::exit(kubesim_backend_linux::player::play(spec)),
        Err(e) => super::fail(&super::CliError::invalid(e)),
    }
}

/// The workload program needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn run(_args: &WorkloadProgramArgs) -> ExitCode {
    super::fail(&super::CliError::invalid("the workload program runs on Linux only"))
}
