//! The `kubesim` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` for command output that ends the process quietly when stdout is closed early
/// (`kubesim … | head`): a closed pipe is the reader's choice, not an error worth a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::commands::write_out(format_args!($($arg)*), true)
    };
}

/// `print!` for command output, with `outln!`'s handling of a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::write_out(format_args!($($arg)*), false)
    };
}

mod commands;

use commands::bench_nodes::BenchNodesArgs;
use commands::bench_scheduler::BenchSchedulerArgs;
use commands::schedule::ScheduleArgs;

/// kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "kubesim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario: events.jsonl, metrics.csv, summary.json, plots and report.html.
    Run(commands::run::RunArgs),
    /// Run a scenario and evaluate its `expect:` assertions (exit 0 pass, 1 fail, 2 invalid).
    Check(commands::check::CheckArgs),
    /// Compare scheduler policies over many seeds: mean ± 95 % CI.
    Compare(commands::compare::CompareArgs),
    /// Run a sweep file (scenarios × overrides × policies × seeds), or one shard of it (`--shard K/N`).
    Sweep(commands::sweep::SweepArgs),
    /// Combine the shard folders of a sweep into the unsharded result, byte for byte.
    Merge(commands::merge::MergeArgs),
    /// Replay a cluster trace (openb, alibaba-2018, google-2019, generic) and report what a planner asks.
    Replay(Box<commands::replay::ReplayArgs>),
    /// Run a small scenario on real processes (cgroups, namespaces) and in the simulator, and report where they diverge.
    Validate(commands::validate::ValidateArgs),
    /// Check a scenario file without running it.
    ValidateScenario(commands::validate_scenario::ValidateScenarioArgs),
    /// Where would these pods land, and why? Runs the real scheduling cycle on a cluster dump.
    Schedule(ScheduleArgs),
    /// Explain a controller's decision from a cluster dump.
    #[command(subcommand)]
    Explain(ExplainCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Plays a container's workload as a real process (used by the Linux backend; not for people).
    #[command(hide = true)]
    WorkloadProgram(commands::workload_program::WorkloadProgramArgs),
    /// Parse a duration the way scenario files do and print it back (e.g. `kubesim duration 1h30m`).
    Duration {
        /// A human duration such as 250ms, 90s, 1h30m or 2d.
        text: String,
    },
}

#[derive(Debug, Subcommand)]
enum ExplainCommand {
    /// What the HPA controller decides now, and why.
    Hpa(commands::explain_hpa::ExplainHpaArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Scheduling throughput on the scheduler_perf SchedulingBasic shape.
    Scheduler(BenchSchedulerArgs),
    /// The node layer at scale: kubelets, probes and the simulated runtime.
    Nodes(BenchNodesArgs),
}

/// mimalloc instead of the system allocator: a simulation allocates and frees millions of small
/// objects (pod versions, events, records); at 50,000 pods this takes about a quarter less CPU
/// time than glibc's malloc for the same steady-state memory (docs/performance.md, session 9).
/// Built without transparent huge pages (`no_thp`), which otherwise added 10-25 % to peak RSS,
/// and as mimalloc 2.x (`v2`): 3.x, the crate's default, held 20 % more memory at 150,000 pods
/// and ran 8 % slower on the scale-5k day (docs/performance.md, session 15).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => commands::run::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Compare(args) => commands::compare::run(&args),
        Command::Sweep(args) => commands::sweep::run(&args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::ValidateScenario(args) => commands::validate_scenario::run(&args),
        Command::Schedule(args) => commands::schedule::run(&args),
        Command::Explain(ExplainCommand::Hpa(args)) => commands::explain_hpa::run(&args),
        Command::Bench(BenchCommand::Scheduler(args)) => commands::bench_scheduler::run(&args),
        Command::Bench(BenchCommand::Nodes(args)) => commands::bench_nodes::run(&args),
        Command::WorkloadProgram(args) => commands::workload_program::run(&args),
        Command::Duration { text } => match text.parse::<sim_core::SimDuration>() {
            Ok(d) => {
                outln!("{d} = {} ns", d.as_nanos());
                ExitCode::SUCCESS
            }
            Err(e) => commands::fail(&commands::CliError::invalid(e.to_string())),
        },
    }
}
