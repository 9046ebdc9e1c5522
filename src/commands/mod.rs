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

/// Writes command output to stdout (the `out!` and `outln!` macros). A closed pipe ends the
/// process with success, as `head` and `grep -q` expect of the writer; any other write error
/// ends it with exit code 1.
pub fn write_out(text: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(text).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Prints `error: …` and returns the exit code.
pub fn fail(e: &CliError) -> ExitCode {
    eprintln!("error: {}", e.message);
    ExitCode::from(e.code)
}
