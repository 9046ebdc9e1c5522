//! # kubesim-scenarios: scenario files, runs, checks and comparisons
//!
//! A scenario file (`apiVersion: kubesim/v1`, `kind: Scenario`; reference in
//! `docs/scenario-format.md`) describes a cluster, the Kubernetes manifests deployed on it, how
//! the containers behave, timed events and assertions. This crate loads and validates it (every
//! error names file, line and field), runs it on `kubesim-cluster`, and turns the event log and
//! metric samples into summaries, verdicts and comparisons via `kubesim-reports`.
//!
//! | module | job | entry points |
//! |---|---|---|
//! | [`format`] | the file's serde shapes (syntax only) | [`format::ScenarioFile`] |
//! | [`compile`] | validation and resolution into a runnable scenario | [`load`], [`load_str`], [`Scenario`] |
//! | [`generate`] | `copies:` stamps with `{{i}}` templates (manifests, workloads, events) | [`generate::expand_stamps`], [`generate::load_copies`] |
//! | [`locate`] | field path → line, for diagnostics | [`locate::line_of`] |
//! | [`diag`] | errors and warnings | [`Diagnostic`], [`ScenarioError`], [`RunError`] |
//! | [`workload`] | `workloads:` → per-pod container behaviour | [`workload::pod_workload`] |
//! | [`events`] | `events:` → timed cluster actions | (internal) |
//! | [`run`] | the run loop, metric sampling | [`run_scenario`], [`RunOptions`], [`RunResult`] |
//! | [`analysis`] | facts read from the event log as it is written | [`analysis::LogTap`] |
//! | [`expect`] | `expect:` assertions and their verdicts | [`Expectation`] |
//! | [`summary`] | `summary.json`, compare's key metrics | [`summary::summary_json`] |
//! | [`output`] | a run's output folder | [`output::run_into_dir`], [`output::write_reports`] |
//! | [`compare`] | policy × seed sweeps in parallel | [`compare::run_compare`] |
//! | [`trace`] | `spec.trace` → which reader, files, window and sample | [`trace::TraceSource`] |
//! | [`replay`] | the run loop of a trace scenario: stream, apply, complete pods after their duration | [`replay::ReplayFacts`] |
//! | [`planner`] | the planner report: pending times, unschedulable pods, utilisation, fragmentation | [`planner::planner_json`], [`planner::planner_markdown`] |
//! | [`sweep`] | scenario × override × policy × seed sweeps, shards and merge | [`sweep::load_sweep`], [`sweep::run_sweep`], [`sweep::merge_shards`] |
//! | [`validation`] | `kubesim validate`'s divergence analysis: sim vs real observables and tolerances | [`validation::Observations`], [`validation::compare`] |
//!
//! ```no_run
//! let scenario = kubesim_scenarios::load(std::path::Path::new("scenarios/library/quickstart.yaml"))?;
//! let (run, _log) = kubesim_scenarios::run_scenario(
//!     &scenario,
//!     &Default::default(),
//!     std::io::sink(),
//!     &mut kubesim_scenarios::run::NullSink,
//!     &mut |_, _| {},
//! )?;
//! println!("digest: {}", run.digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod analysis;
pub mod compare;
pub mod compile;
pub mod diag;
pub mod events;
pub mod expect;
pub mod format;
pub mod generate;
pub mod locate;
pub mod output;
pub mod planner;
pub mod replay;
pub mod run;
pub mod summary;
pub mod sweep;
pub mod trace;
pub mod validation;
pub mod workload;

pub use compile::{load, load_str, Scenario, TimedAction};
pub use diag::{Diagnostic, RunError, ScenarioError};
pub use expect::Expectation;
pub use run::{run_scenario, run_scenario_in, RunOptions, RunResult, Shell, VirtualTime};
