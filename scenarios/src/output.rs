//! A run's files in its output folder:
//!
//! | file | content |
//! |---|---|
//! | `events.jsonl` | the canonical event log (its SHA-256 is the digest), streamed during the run |
//! | `metrics.csv` | tidy samples `time_s,metric,object,value`, streamed during the run |
//! | `summary.json` | [`crate::summary::summary_json`] |
//! | `plots/*.svg` | the standard plots of `kubesim-reports` plus node CPU allocation |
//! | `report.html` | one self-contained page: summary and plots |

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use kubesim_reports::html::{write_html, HtmlReport};
use kubesim_reports::plots::{
    standard_plots, time_series_svg, write_plots, NamedPlot, Series, TimeSeriesPlot,
};
use kubesim_reports::MetricsWriter;
use sim_core::SimTime;

use crate::compile::Scenario;
use crate::diag::RunError;
use crate::run::{run_scenario_in, RunOptions, RunResult, Shell, VirtualTime};
use crate::summary::summary_json;

fn io_err(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::Output { path: path.display().to_string(), message: e.to_string() }
}

/// Runs `scenario` streaming `events.jsonl` and `metrics.csv` into `dir` (created if needed).
pub fn run_into_dir(
    scenario: &Scenario,
    options: &RunOptions,
    dir: &Path,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<RunResult, RunError> {
    run_into_dir_in(&mut VirtualTime, scenario, options, dir, progress)
}

/// [`run_into_dir`] in a given [`Shell`] (the wall-clock shell of `kubesim validate`).
pub fn run_into_dir_in<S: Shell>(
    shell: &mut S,
    scenario: &Scenario,
    options: &RunOptions,
    dir: &Path,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<RunResult, RunError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let events_path = dir.join("events.jsonl");
    let metrics_path = dir.join("metrics.csv");
    let events = BufWriter::new(File::create(&events_path).map_err(|e| io_err(&events_path, e))?);
    let metrics_file = BufWriter::new(File::create(&metrics_path).map_err(|e| io_err(&metrics_path, e))?);
    let mut metrics = MetricsWriter::new(metrics_file)?;
    let (result, events) = run_scenario_in(shell, scenario, options, events, &mut metrics, progress)?;
    drop(events);
    metrics.finish()?;
    Ok(result)
}

/// Node CPU allocation (requests / allocatable) per node, or summarised beyond 8 nodes.
fn allocation_plot(run: &RunResult) -> Result<Option<NamedPlot>, RunError> {
    let by_node = run.metrics.series_by_object("node_cpu_allocated_ratio");
    if by_node.is_empty() {
        return Ok(None);
    }
    let series: Vec<Series> = if by_node.len() <= kubesim_reports::plots::MAX_NODE_LINES {
        by_node.into_iter().map(|(n, p)| Series::step(n, p)).collect()
    } else {
        let mut by_time: std::collections::BTreeMap<SimTime, Vec<f64>> = std::collections::BTreeMap::new();
        for points in by_node.values() {
            for p in points {
                by_time.entry(p.time).or_default().push(p.value);
            }
        }
        let pick = |f: &dyn Fn(&[f64]) -> f64| {
            by_time
                .iter()
                .map(|(t, v)| kubesim_reports::metrics::Point { time: *t, value: f(v) })
                .collect::<Vec<_>>()
        };
        vec![
            Series::step(
                format!("mean of {} nodes", by_node.len()),
                pick(&|v| v.iter().sum::<f64>() / v.len() as f64),
            ),
            Series::step("fullest node", pick(&|v| v.iter().copied().fold(f64::MIN, f64::max))).dashed(),
            Series::step("emptiest node", pick(&|v| v.iter().copied().fold(f64::MAX, f64::min))).dashed(),
        ]
    };
    let plot = TimeSeriesPlot {
        title: "Node CPU allocation".into(),
        y_label: "CPU requests / allocatable".into(),
        y_range: Some((0.0, 1.05)),
        series,
        ..Default::default()
    };
    Ok(Some(NamedPlot {
        stem: "node-allocation".into(),
        title: plot.title.clone(),
        svg: time_series_svg(&plot)?,
    }))
}

/// Trace replays: requested / allocatable and fragmentation per resource, cluster wide.
fn replay_plots(run: &RunResult) -> Result<Vec<NamedPlot>, RunError> {
    use crate::planner::{FRAGMENTATION, REQUESTED_RATIO};
    let mut out = Vec::new();
    for (metric, stem, title, y) in [
        (REQUESTED_RATIO, "cluster-requested", "Cluster requests / allocatable", "requested / allocatable"),
        (
            FRAGMENTATION,
            "cluster-fragmentation",
            "Fragmentation (free capacity no typical pod fits)",
            "share of free capacity",
        ),
    ] {
        let by_resource = run.metrics.series_by_object(metric);
        if by_resource.is_empty() {
            continue;
        }
        let plot = TimeSeriesPlot {
            title: title.into(),
            y_label: y.into(),
            y_range: Some((0.0, 1.05)),
            series: by_resource.into_iter().map(|(r, p)| Series::step(r, p)).collect(),
            ..Default::default()
        };
        out.push(NamedPlot { stem: stem.into(), title: plot.title.clone(), svg: time_series_svg(&plot)? });
    }
    Ok(out)
}

/// `summary.json`'s value and the plots of a finished run.
fn report_contents(
    run: &RunResult,
    wall_s: Option<f64>,
) -> Result<(serde_json::Value, Vec<NamedPlot>), RunError> {
    let summary = summary_json(run, wall_s);
    let mut plots = standard_plots(&run.metrics)?;
    if let Some(p) = allocation_plot(run)? {
        plots.push(p);
    }
    plots.extend(replay_plots(run)?);
    Ok((summary, plots))
}

/// Writes `summary.json`, `plots/*.svg` and `report.html` for a finished run.
pub fn write_reports(
    dir: &Path,
    run: &RunResult,
    wall_s: Option<f64>,
) -> Result<serde_json::Value, RunError> {
    let (summary, plots) = report_contents(run, wall_s)?;
    let summary_path = dir.join("summary.json");
    // Sorted keys whatever serde_json features the build enables (see kubesim_reports::canonical).
    let text = kubesim_reports::canonical::to_string_pretty(&summary);
    std::fs::write(&summary_path, text + "\n").map_err(|e| io_err(&summary_path, e))?;
    write_plots(&dir.join("plots"), &plots)?;
    write_html(
        &dir.join("report.html"),
        &HtmlReport { title: &run.scenario, summary: Some(&summary), comparison: None, plots: &plots },
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use kubesim_reports::metrics::Retention;
    use kubesim_reports::MetricsTable;

    use super::*;
    use crate::run::{run_retention, run_scenario_retaining, SCHEDULING_LATENCY};

    fn run_with(file: &str, retention: Retention) -> (RunResult, MetricsTable) {
        let mut csv = MetricsTable::new();
        let run = run_into(file, retention, &mut csv);
        (run, csv)
    }

    fn run_into<M: kubesim_reports::MetricsSink>(file: &str, retention: Retention, out: &mut M) -> RunResult {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("library").join(file);
        let scenario = crate::load(&path).expect("library scenario loads");
        let options = RunOptions::default();
        let (run, _) = run_scenario_retaining(
            &mut VirtualTime,
            &scenario,
            &options,
            retention,
            std::io::sink(),
            out,
            &mut |_, _| {},
        )
        .expect("runs");
        run
    }

    /// A run whose output discards the metrics (`NullSink`) does not build the per-container
    /// rows its table has dropped, and its table is the same as when every row is built and
    /// streamed to an output that keeps them.
    #[test]
    fn skipped_container_rows_are_counted_as_dropped_rows() {
        let bulky = [
            "container_cpu_usage_millicores",
            "container_cpu_throttled_ratio",
            "container_memory_working_set_bytes",
        ];
        let file = "hpa-flash-crowd.yaml";
        let (built, csv) = run_with(file, Retention::bulky(bulky, 0, 0));
        let skipped = run_into(file, Retention::bulky(bulky, 0, 0), &mut crate::run::NullSink);
        let dropped: usize =
            bulky.iter().map(|m| csv.series_by_object(m).values().map(Vec::len).sum::<usize>()).sum();
        assert!(dropped > 0, "the run records container metrics");
        assert_eq!(built.metrics.dropped_rows() as usize, dropped);
        assert_eq!(skipped.metrics.dropped_rows(), built.metrics.dropped_rows());
        assert_eq!(skipped.metrics.dropped_metrics(), built.metrics.dropped_metrics());
        assert_eq!(skipped.metrics.last_time(), built.metrics.last_time());
        assert_eq!(skipped.metrics.len(), built.metrics.len());
        assert!(skipped.metrics.rows().into_iter().map(|r| r.to_row()).eq(built
            .metrics
            .rows()
            .into_iter()
            .map(|r| r.to_row())));
    }

    /// The per-container and per-pod metrics a large run drops from its table feed no output:
    /// summary, plots, compare's key metrics and expectation verdicts are the same whether the
    /// table keeps them all or drops them at their first row.
    #[test]
    fn outputs_do_not_depend_on_keeping_the_bulky_metrics() {
        let bulky = [
            "container_cpu_usage_millicores",
            "container_cpu_throttled_ratio",
            "container_memory_working_set_bytes",
            SCHEDULING_LATENCY,
        ];
        assert!(bulky.iter().all(|m| run_retention().is_bulky(m)));
        for file in ["hpa-flash-crowd.yaml", "rolling-update-under-load.yaml"] {
            let (kept, csv) = run_with(file, Retention::keep_all());
            let (dropped, _) = run_with(file, Retention::bulky(bulky, 0, 0));
            // The keep-all table is the stream itself; the other lost exactly the bulky rows.
            assert_eq!(kept.metrics.rows(), csv.rows(), "{file}");
            let bulky_rows: usize = bulky
                .iter()
                .map(|m| kept.metrics.series_by_object(m).values().map(Vec::len).sum::<usize>())
                .sum();
            assert!(bulky_rows > 0, "{file}: the run records bulky metrics");
            assert_eq!(dropped.metrics.dropped_rows() as usize, bulky_rows, "{file}");
            assert_eq!(dropped.metrics.len() + bulky_rows, kept.metrics.len(), "{file}");

            let (kept_summary, kept_plots) = report_contents(&kept, None).unwrap();
            let (dropped_summary, dropped_plots) = report_contents(&dropped, None).unwrap();
            assert_eq!(
                kubesim_reports::canonical::to_string_pretty(&kept_summary),
                kubesim_reports::canonical::to_string_pretty(&dropped_summary),
                "{file}"
            );
            assert!(!kept_plots.is_empty());
            assert_eq!(kept_plots, dropped_plots, "{file}");
            let key = |r: &RunResult| -> Vec<(&str, u64)> {
                crate::summary::key_metrics(r).into_iter().map(|(m, v)| (m, v.to_bits())).collect()
            };
            assert_eq!(key(&kept), key(&dropped), "{file}");
            let scenario =
                crate::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("library").join(file)).unwrap();
            for e in &scenario.expectations {
                assert_eq!(e.evaluate(&kept), e.evaluate(&dropped), "{file}: {}", e.name());
            }
        }
    }
}
