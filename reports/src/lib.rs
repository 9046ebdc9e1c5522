//! kubesim reports: everything a run, a check or a comparison writes for people and scripts.
//!
//! This crate reads only plain data — metric samples, per-run numbers, verdicts, a JSON summary —
//! never model internals (DESIGN.md: *reports reads only the event log and metrics stream*). It
//! depends on `sim-core` for [`sim_core::SimTime`] and nothing else of ours.
//!
//! # Tour
//!
//! | module | job | main entry points |
//! |---|---|---|
//! | [`metrics`] | the tidy metrics stream `metrics.csv` (`time_s,metric,object,value`) and its compact in-memory table | [`MetricsWriter`], [`MetricsTable`], [`metrics::Retention`], [`MetricsSink`], [`metrics::names`] |
//! | [`format`] | exact text for times (from integer ns) and values (shortest round-trip) | [`format::format_time_s`], [`format::format_value`] |
//! | [`stats`] | mean, sample sd, Student-t 95 % CI, nearest-rank percentiles; the `compare` table and `compare.csv` | [`stats::Summary`], [`stats::ComparisonBuilder`], [`stats::ComparisonTable`] |
//! | [`summary`] | distributions (p50/p90/p99) and series summaries for `summary.json` | [`summary::Distribution`], [`summary::SeriesSummary`] |
//! | [`plots`] | SVG line plots over time, rollout timeline, comparison bars | [`plots::time_series_svg`], [`plots::standard_plots`], [`plots::comparison_plots`], [`plots::write_plots`] |
//! | [`html`] | one self-contained `report.html` (no JS, no external assets) | [`html::render_html`], [`html::write_html`] |
//! | [`junit`] | JUnit XML for `kubesim check` | [`junit::junit_xml`], [`junit::write_junit`] |
//! | [`demo`] | a small synthetic run for docs, examples and tests | [`demo::demo_metrics`] |
//! | [`error`] | the crate's error type | [`ReportError`] |
//!
//! # The file contracts
//!
//! The exact formats users script against are documented where they are produced:
//! `metrics.csv` in [`metrics`], `compare.csv` in [`stats`], the JUnit layout in [`junit`], the
//! HTML layout in [`html`]. All text output is a pure function of the input: maps are walked in
//! sorted order, floats are printed by Rust's own (platform-independent) shortest formatter, the
//! Student-t quantile uses only correctly rounded IEEE operations, and nothing reads a clock.
//!
//! # A run's outputs in a few lines
//!
//! ```
//! use kubesim_reports::{MetricsSink, MetricsTable, MetricsWriter};
//! use kubesim_reports::metrics::names;
//! use sim_core::SimTime;
//!
//! // Stream samples to metrics.csv (here: a Vec) and keep them for plots.
//! let mut csv = MetricsWriter::new(Vec::new())?;
//! let mut table = MetricsTable::new();
//! let now = SimTime::from_millis(15_250);
//! csv.record(now, names::PENDING_PODS, "cluster", 2.0)?;
//! table.record(now, names::PENDING_PODS, "cluster", 2.0)?;
//! assert_eq!(csv.finish()?, b"time_s,metric,object,value\n15.25,pending_pods,cluster,2\n");
//!
//! let plots = kubesim_reports::plots::standard_plots(&table)?;
//! assert_eq!(plots[0].stem, "pending-pods");
//! let html = kubesim_reports::html::render_html(&kubesim_reports::html::HtmlReport {
//!     title: "quickstart",
//!     summary: None,
//!     comparison: None,
//!     plots: &plots,
//! });
//! assert!(html.contains("<svg"));
//! # Ok::<(), kubesim_reports::ReportError>(())
//! ```
//!
//! PNG output is not produced: see [`plots`] for why (text rendering would need system fonts).

#![warn(missing_docs)]

pub mod canonical;
pub mod demo;
pub mod error;
pub mod format;
pub mod html;
pub mod junit;
pub mod metrics;
pub mod plots;
pub mod stats;
pub mod summary;

pub use error::ReportError;
pub use metrics::{MetricsSink, MetricsTable, MetricsWriter};
