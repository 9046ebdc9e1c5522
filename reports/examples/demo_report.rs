//! Renders the demo run's artefacts into a directory, to look at them:
//! `metrics.csv`, `plots/*.svg`, `compare.csv` and `report.html`.
//!
//! `cargo run -p kubesim-reports --example demo_report -- /tmp/demo-report`

use std::path::PathBuf;

use kubesim_reports::demo::demo_metrics;
use kubesim_reports::html::{write_html, HtmlReport};
use kubesim_reports::metrics::names;
use kubesim_reports::plots::{comparison_plots, standard_plots, write_plots};
use kubesim_reports::stats::ComparisonBuilder;
use kubesim_reports::summary::SeriesSummary;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("demo-report"));
    std::fs::create_dir_all(&dir)?;
    let table = demo_metrics();
    table.write_csv(std::fs::File::create(dir.join("metrics.csv"))?)?;

    let mut plots = standard_plots(&table)?;

    // A made-up comparison of three policies over ten seeds, plus a single run.
    let mut compare = ComparisonBuilder::new();
    for seed in 0..10u32 {
        let jitter = f64::from(seed % 4) * 0.3;
        compare.add("default", "pending_time_s", 4.0 + jitter);
        compare.add("most-allocated", "pending_time_s", 6.5 - jitter);
        compare.add("spread", "pending_time_s", 3.0 + 2.0 * jitter);
    }
    compare.add("single-run", "pending_time_s", 5.0);
    let compare = compare.build()?;
    print!("{}", compare.to_terminal());
    compare.write_csv(std::fs::File::create(dir.join("compare.csv"))?)?;
    plots.extend(comparison_plots(&compare)?);
    write_plots(&dir.join("plots"), &plots)?;

    let mut deployments = serde_json::Map::new();
    for (name, s) in SeriesSummary::of_metric(&table, names::DEPLOYMENT_AVAILABILITY_RATIO) {
        deployments.insert(name, serde_json::json!({"min_available_ratio": s.min}));
    }
    let summary = serde_json::json!({
        "scenario": "demo",
        "seed": 42,
        "sim_duration_s": 2400,
        "deployments": deployments,
    });
    let report =
        HtmlReport { title: "demo", summary: Some(&summary), comparison: Some(&compare), plots: &plots };
    write_html(&dir.join("report.html"), &report)?;
    println!("wrote {}", dir.display());
    Ok(())
}
