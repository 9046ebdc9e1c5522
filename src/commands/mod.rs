//! One module per subcommand.

pub mod bench_nodes;
pub mod bench_scheduler;
pub mod check;
pub mod compare;
pub mod explain_hpa;
pub mod merge;
pub mod replay;
pub mod run;
pub mod schedule;
pub mod schedule_report;
pub mod sweep;
pub mod validate;
pub mod validate_scenario;
pub mod workload_program;

use std::process::ExitCode;

/// Exit code for invalid input (bad files, bad flags, bad configuration).
pub const EXIT_INVALID: u8 = 2;

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// What to tell the user.
    pub message: String,
    /// Exit code.
    pub code: u8,
}

impl CliError {
    /// Invalid input: exit code 2.
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError { message: message.into(), code: EXIT_INVALID }
    }

    /// A bug or an I/O failure on output: exit code 1.
    pub fn internal(message: impl Into<String>) -> Self {
        CliError { message: message.into(), code: 1 }
    }
}

/// Prints `error: …` and returns the exit code.
pub fn fail(e: &CliError) -> ExitCode {
    eprintln!("error: {}", e.message);
    ExitCode::from(e.code)
}
