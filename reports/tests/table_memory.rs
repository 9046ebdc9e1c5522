//! Heap bytes per row of [`MetricsTable`] at the scale benchmark's shape: 150,000 containers × 3
//! usage metrics per sample, plus per-node and per-deployment rows. A counting global allocator
//! (this test binary only) measures what the table really holds, allocator slack excluded.
//!
//! `cargo test -p kubesim-reports --release --test table_memory -- --nocapture` prints the numbers.

// A global allocator is `unsafe` to implement; this one only counts and forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use kubesim_reports::metrics::Retention;
use kubesim_reports::MetricsTable;
use sim_core::SimTime;

/// Counts live and peak heap bytes (requested sizes).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The two tests would count each other's allocations: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONTAINER_METRICS: [&str; 3] =
    ["container_cpu_usage_millicores", "container_cpu_throttled_ratio", "container_memory_working_set_bytes"];
const NODE_METRICS: [&str; 4] = [
    "node_cpu_allocated_ratio",
    "node_memory_allocated_ratio",
    "node_cpu_used_ratio",
    "node_memory_used_ratio",
];

/// One sample of the scale benchmark's shape (scaled by `containers`): 3 rows per container, 4
/// per node (one node per 30 containers), 6 per deployment (one per 100 containers).
fn record_sample(table: &mut MetricsTable, t: SimTime, containers: usize) -> usize {
    let mut rows = 0;
    for d in 0..containers / 100 {
        for m in ["deployment_desired_replicas", "deployment_replicas", "deployment_updated_replicas"]
            .iter()
            .chain(&[
                "deployment_ready_replicas",
                "deployment_available_replicas",
                "deployment_availability_ratio",
            ])
        {
            table.push(t, m, &format!("default/app-{d}"), 100.0);
            rows += 1;
        }
    }
    for c in 0..containers {
        // Realistic names: `namespace/deployment-<rs hash>-<pod hash>/container`.
        let object = format!("default/app-{}-7d9f8c6b{}-x{:05}/app", c / 100, c % 10, c);
        for (i, m) in CONTAINER_METRICS.iter().enumerate() {
            table.push(t, m, &object, (c * 3 + i) as f64 * 0.5);
            rows += 1;
        }
    }
    for n in 0..containers / 30 {
        for m in NODE_METRICS {
            table.push(t, m, &format!("node-{n}"), 0.25);
            rows += 1;
        }
    }
    rows
}

/// (retained heap bytes per recorded row, peak heap bytes per recorded row, rows kept) of a
/// table filled by `fill`.
fn bytes_per_row(table: MetricsTable, fill: impl FnOnce(&mut MetricsTable) -> usize) -> (f64, f64, usize) {
    let mut table = table;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let rows = fill(&mut table);
    let after = LIVE.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed);
    let kept = table.len();
    drop(table);
    ((after - before) as f64 / rows as f64, (peak - before) as f64 / rows as f64, kept)
}

const SAMPLES: u64 = 4;
const CONTAINERS: usize = 150_000;

fn scale_samples(table: &mut MetricsTable) -> usize {
    (0..SAMPLES).map(|i| record_sample(table, SimTime::from_secs(600 * i), CONTAINERS)).sum()
}

/// Every row kept: names interned, 12 bytes a sample, the recording order run-length coded,
/// series grown by half. (The table of `Vec<MetricRow>` with two `String`s a row and a
/// `BTreeMap<(String, String), Vec<usize>>` index it replaced measured 186 B/row here, and 175
/// B/row in the day-long test below.)
#[test]
fn a_scale_sample_costs_few_bytes_per_row_when_every_row_is_kept() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (retained, peak, kept) = bytes_per_row(MetricsTable::new(), scale_samples);
    eprintln!(
        "keep-all table, {CONTAINERS} containers × {SAMPLES} samples: {kept} rows, {retained:.1} B/row retained, {peak:.1} B/row peak"
    );
    // 4 samples is the worst case for the fixed per-series costs (names, index entries); a day
    // of 145 samples spreads them thinner.
    assert!(retained < 45.0, "{retained:.1} B/row");
}

/// A run's retention (the limits of `kubesim_scenarios::run::run_retention`): per-container
/// metrics are dropped in the first sample, and what stays (per node, per deployment) is a few
/// bytes per recorded row; the peak is the first sample's bulky series before their drop.
#[test]
fn a_scale_sample_costs_almost_nothing_when_bulky_metrics_are_dropped() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let retention = Retention::bulky(CONTAINER_METRICS, 10_000, 1_000_000);
    let (retained, peak, kept) = bytes_per_row(MetricsTable::with_retention(retention), scale_samples);
    eprintln!(
        "run-retention table, {CONTAINERS} containers × {SAMPLES} samples: {kept} rows kept, {retained:.1} B/row retained, {peak:.1} B/row peak"
    );
    // Kept: per sample 1,500 deployments × 6 + 5,000 nodes × 4 = 29,000 rows.
    assert_eq!(kept, 29_000 * SAMPLES as usize);
    assert!(retained < 4.0 && peak < 10.0, "{retained:.1} / {peak:.1} B/row");
}

/// A day at 10-minute samples (145) of a 1,500-container run, every row kept: the fixed costs
/// per series are spread over 145 samples, so a row costs about its 12 bytes plus growth slack.
#[test]
fn a_day_of_samples_costs_under_twenty_bytes_per_row() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (retained, peak, kept) = bytes_per_row(MetricsTable::new(), |table| {
        (0..145).map(|i| record_sample(table, SimTime::from_secs(600 * i), 1_500)).sum()
    });
    eprintln!("keep-all table, 1500 containers × 145 samples: {kept} rows, {retained:.1} B/row retained, {peak:.1} B/row peak");
    assert!(retained < 20.0, "{retained:.1} B/row");
}
