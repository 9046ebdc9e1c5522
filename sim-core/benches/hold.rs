//! Criterion version of the hold model: all engines at N = 1e3 … 1e6 on identical inputs.
//! Each iteration runs a batch of hold steps against a pre-filled pending set.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../examples/hold/engines.rs"]
mod engines;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

const STEPS: usize = 100_000;

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.sample_size(10);
    group.throughput(Throughput::Elements(STEPS as u64));
    for pending in [1_000usize, 10_000, 100_000, 1_000_000] {
        let delays = engines::delays(pending, STEPS, 1);
        let hold = &delays[pending..];
        group.bench_with_input(BenchmarkId::new("sim-core", pending), &pending, |b, &n| {
            b.iter_batched_ref(
                || engines::SimCoreHold::fill(n, &delays),
                |st| st.hold(hold),
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("heap", pending), &pending, |b, &n| {
            b.iter_batched_ref(
                || engines::HeapHold::fill(n, &delays),
                |st| st.hold(hold),
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("priority-queue", pending), &pending, |b, &n| {
            b.iter_batched_ref(
                || engines::PqHold::fill(n, &delays),
                |st| st.hold(hold),
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("simcore", pending), &pending, |b, &n| {
            b.iter_batched(
                || engines::SimcoreHold::fill(n, &delays),
                |st| st.hold(STEPS),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
