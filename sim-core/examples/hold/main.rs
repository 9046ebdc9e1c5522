//! The hold-model benchmark as a whole process, for timing with `time` or `hyperfine`:
//!
//! ```text
//! cargo run --release -p sim-core --example hold -- --engine sim-core --pending 100000 --events 1000000 --seed 1
//! engine=sim-core pending=100000 events=1000000 ns_per_event=52.1 digest=…
//! ```
//!
//! Engines: `sim-core` (this crate's `EventQueue`), `heap` (a bare `BinaryHeap` of `(time, seq)`,
//! the floor), `simcore` (the DSLab engine from crates.io) and `priority-queue` (the indexed heap
//! crate, measured for the design record). `sim-core` and `heap` print the same digest.
#![allow(clippy::disallowed_methods)] // wall-clock timing is this example's job

mod engines;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// sim-core | heap | simcore | priority-queue
    #[arg(long)]
    engine: String,
    /// Events pending at all times (N).
    #[arg(long)]
    pending: usize,
    /// Hold steps to time (M).
    #[arg(long)]
    events: usize,
    /// Seed of the delay stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(engine) = engines::Engine::parse(&args.engine) else {
        eprintln!(
            "error: unknown engine {:?} (expected one of: {})",
            args.engine,
            engines::Engine::ALL.map(|e| e.name()).join(", ")
        );
        return ExitCode::from(2);
    };
    if args.pending == 0 {
        eprintln!("error: --pending must be at least 1");
        return ExitCode::from(2);
    }
    let delays = engines::delays(args.pending, args.events, args.seed);
    let hold_delays = &delays[args.pending..];
    let (elapsed, digest) = match engine {
        engines::Engine::SimCore => {
            let mut st = engines::SimCoreHold::fill(args.pending, &delays);
            timed(|| st.hold(hold_delays))
        }
        engines::Engine::Heap => {
            let mut st = engines::HeapHold::fill(args.pending, &delays);
            timed(|| st.hold(hold_delays))
        }
        engines::Engine::PriorityQueue => {
            let mut st = engines::PqHold::fill(args.pending, &delays);
            timed(|| st.hold(hold_delays))
        }
        engines::Engine::Simcore => {
            let st = engines::SimcoreHold::fill(args.pending, &delays);
            timed(|| st.hold(args.events))
        }
    };
    let digest = digest.digest();
    let ns_per_event = elapsed.as_nanos() as f64 / args.events.max(1) as f64;
    println!(
        "engine={} pending={} events={} ns_per_event={:.1} digest={}",
        engine.name(),
        args.pending,
        args.events,
        ns_per_event,
        digest
    );
    ExitCode::SUCCESS
}

/// Runs `hold` and measures its wall time: the benchmark's measurement, printed only; the digest
/// it returns comes from simulated times alone.
fn timed<T>(hold: impl FnOnce() -> T) -> (Duration, T) {
    let t0 = Instant::now();
    let out = hold();
    (t0.elapsed(), out)
}
