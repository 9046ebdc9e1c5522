//! The `kubesim` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "kubesim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a duration the way scenario files do and print it back (e.g. `kubesim duration 1h30m`).
    Duration {
        /// A human duration such as 250ms, 90s, 1h30m or 2d.
        text: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Duration { text } => match text.parse::<sim_core::SimDuration>() {
            Ok(d) => {
                println!("{d} = {} ns", d.as_nanos());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
