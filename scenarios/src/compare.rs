//! `kubesim compare`: every policy × seed, in parallel, then one table of mean ± 95 % CI.
//!
//! Runs are independent (each has its own cluster and RNG streams from its seed) and are mapped in
//! parallel with rayon ([`crate::sweep::map_ordered`] and [`crate::sweep::run_task`], shared with
//! sweeps); the results come back in task order (policy-major, then seed) and are reduced
//! sequentially, so every output is identical for `--jobs 1` and `--jobs N`.

use std::path::Path;

use kubesim_reports::html::{write_html, HtmlReport};
use kubesim_reports::plots::{comparison_plots, write_plots};
use kubesim_reports::stats::{ComparisonBuilder, ComparisonTable};
use sim_core::SimDuration;

use crate::compile::{policy_names, Scenario};
use crate::diag::RunError;

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRun {
    /// Policy.
    pub policy: String,
    /// Seed.
    pub seed: u64,
    /// Digest of its event log.
    pub digest: String,
    /// Key metrics in column order.
    pub metrics: Vec<(&'static str, f64)>,
}

/// Why a comparison cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A bad argument (`--policies`, `--seeds`, `--jobs`).
    #[error("{0}")]
    Invalid(String),
    /// A run failed.
    #[error("policy {policy}, seed {seed}: {source}")]
    Run {
        /// Policy.
        policy: String,
        /// Seed.
        seed: u64,
        /// Error.
        source: RunError,
    },
    /// The statistics could not be computed or written.
    #[error("{0}")]
    Report(String),
}

/// `1..30` (inclusive), `7`, or `1,2,5`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once("..") {
            let a: u64 = a.trim().parse().map_err(|_| format!("bad seed range {part:?}"))?;
            let b: u64 =
                b.trim().trim_start_matches('=').parse().map_err(|_| format!("bad seed range {part:?}"))?;
            if b < a {
                return Err(format!("empty seed range {part:?}"));
            }
            if b - a >= 100_000 {
                return Err(format!("seed range {part:?} is too large"));
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| format!("bad seed {part:?}"))?);
        }
    }
    if out.is_empty() {
        return Err("no seeds".into());
    }
    Ok(out)
}

/// Runs every policy × seed on `jobs` threads; results in policy-major, seed order.
pub fn run_compare(
    scenario: &Scenario,
    policies: &[String],
    seeds: &[u64],
    jobs: usize,
    until: Option<SimDuration>,
) -> Result<Vec<CompareRun>, CompareError> {
    let mut variants = Vec::new();
    for p in policies {
        let v = scenario.with_policy(p).ok_or_else(|| {
            CompareError::Invalid(format!(
                "unknown policy {p:?} (expected one of: {})",
                policy_names().join(", ")
            ))
        })?;
        variants.push(v);
    }
    let tasks: Vec<(usize, u64)> =
        (0..variants.len()).flat_map(|i| seeds.iter().map(move |s| (i, *s))).collect();
    let results = crate::sweep::map_ordered(jobs, &tasks, |&(i, seed)| {
        let v = &variants[i];
        crate::sweep::run_task(v, seed, until).map_err(|source| CompareError::Run {
            policy: v.policy.clone(),
            seed,
            source,
        })
    })
    .map_err(CompareError::Invalid)?;
    results.into_iter().collect()
}

/// The policy × metric table of a sweep.
pub fn comparison_table(runs: &[CompareRun], policies: &[String]) -> Result<ComparisonTable, CompareError> {
    let mut b = ComparisonBuilder::new();
    for p in policies {
        b.policy(p);
    }
    for r in runs {
        for (m, v) in &r.metrics {
            b.add(&r.policy, m, *v);
        }
    }
    b.build().map_err(|e| CompareError::Report(e.to_string()))
}

/// `runs.csv`: one row per run and metric (`policy,seed,digest,metric,value`).
pub fn runs_csv(runs: &[CompareRun]) -> String {
    let mut s = String::from("policy,seed,digest,metric,value\n");
    for r in runs {
        for (m, v) in &r.metrics {
            s.push_str(&format!(
                "{},{},{},{},{}\n",
                r.policy,
                r.seed,
                r.digest,
                m,
                kubesim_reports::format::format_value(*v)
            ));
        }
    }
    s
}

/// Writes `compare.csv`, `runs.csv`, `plots/compare-*.svg` and `report.html` into `dir`.
pub fn write_compare(
    dir: &Path,
    title: &str,
    runs: &[CompareRun],
    table: &ComparisonTable,
) -> Result<(), CompareError> {
    let err = |e: &dyn std::fmt::Display| CompareError::Report(e.to_string());
    std::fs::create_dir_all(dir).map_err(|e| err(&format!("{}: {e}", dir.display())))?;
    let csv = table.write_csv(Vec::new()).map_err(|e| err(&e))?;
    std::fs::write(dir.join("compare.csv"), csv).map_err(|e| err(&e))?;
    std::fs::write(dir.join("runs.csv"), runs_csv(runs)).map_err(|e| err(&e))?;
    let plots = comparison_plots(table).map_err(|e| err(&e))?;
    write_plots(&dir.join("plots"), &plots).map_err(|e| err(&e))?;
    write_html(
        &dir.join("report.html"),
        &HtmlReport { title, summary: None, comparison: Some(table), plots: &plots },
    )
    .map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_read_ranges_lists_and_single_values() {
        assert_eq!(parse_seeds("1..3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seeds("1..=2,7").unwrap(), vec![1, 2, 7]);
        assert_eq!(parse_seeds("5").unwrap(), vec![5]);
        assert!(parse_seeds("3..1").is_err());
        assert!(parse_seeds("x").is_err());
    }
}
