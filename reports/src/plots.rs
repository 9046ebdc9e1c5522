//! SVG plots: time series, a rollout timeline and policy comparisons.
//!
//! Every function takes plain data (series of [`Point`]s, [`RolloutSpan`]s, [`Summary`]s) plus a
//! title and axis labels, and returns the SVG document as a `String` (write it with
//! [`write_plots`] or inline it in HTML). The output bytes depend only on the input: plotters'
//! SVG backend prints integer pixel coordinates, we use no clock, no randomness and no system
//! fonts.
//!
//! **Text and fonts.** Text is emitted as SVG `<text>` with `font-family="sans-serif"` and laid
//! out by the viewer (browser, `rsvg-convert`). PNG output is deliberately not offered: plotters'
//! bitmap backend can only draw text through `font-kit` (system fontconfig/freetype) or an
//! embedded TTF, and neither fits a dependency-free, bit-reproducible build. Convert an SVG with
//! `rsvg-convert -o plot.png plot.svg` when a raster image is needed.
//!
//! **Time axis.** Times are plotted in the largest unit that keeps numbers readable: seconds up to
//! 10 minutes, minutes up to 3 hours, hours up to 3 days, days beyond; the axis label names it.
//!
//! [`standard_plots`] builds the run's plots from a [`MetricsTable`] using the names in
//! [`crate::metrics::names`]; [`comparison_plots`] builds one bar chart per metric from a
//! [`ComparisonTable`].

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim_core::{SimDuration, SimTime};

use crate::error::ReportError;
use crate::metrics::{names, MetricsTable, Point, CLUSTER_OBJECT};
use crate::stats::{ComparisonTable, Summary};

/// Size of every plot in pixels (width, height).
pub const PLOT_SIZE: (u32, u32) = (960, 480);
/// Width of the legend panel at the right of time-series plots.
const LEGEND_WIDTH: u32 = 230;
const FONT: &str = "sans-serif";

/// Okabe–Ito colours (distinguishable with common colour-vision deficiencies), yellow dropped
/// for contrast on white.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// A colour of the palette, cycling.
fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One line of a time-series plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Samples; non-finite values are skipped. Need not be sorted.
    pub points: Vec<Point>,
    /// Draw as a staircase (value holds until the next sample), right for counts such as
    /// replicas; otherwise straight segments between samples.
    pub step: bool,
    /// Draw dashed (e.g. a target such as desired replicas).
    pub dashed: bool,
    /// Palette slot; `None` takes the series' position. Give related series (a deployment's
    /// desired and available replicas) the same slot so they share a colour.
    pub colour: Option<usize>,
}

impl Series {
    /// A solid line with straight segments.
    pub fn line(name: impl Into<String>, points: Vec<Point>) -> Self {
        Series { name: name.into(), points, step: false, dashed: false, colour: None }
    }

    /// A solid staircase line.
    pub fn step(name: impl Into<String>, points: Vec<Point>) -> Self {
        Series { step: true, ..Series::line(name, points) }
    }

    /// The same series, dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// The same series in palette slot `slot`.
    pub fn in_colour(mut self, slot: usize) -> Self {
        self.colour = Some(slot);
        self
    }
}

/// A line plot over simulated time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeriesPlot {
    /// Title above the plot.
    pub title: String,
    /// Y-axis label, with units (`replicas`, `CPU utilisation (fraction of allocatable)`).
    pub y_label: String,
    /// X-axis label; `None` means `simulated time (<unit>)` with the automatic unit.
    pub x_label: Option<String>,
    /// Fixed y range; `None` fits the data (always including 0).
    pub y_range: Option<(f64, f64)>,
    /// The lines, drawn and listed in the legend in this order.
    pub series: Vec<Series>,
}

/// A rendered plot with the file name it should get.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPlot {
    /// File name without extension (`replicas` → `replicas.svg`).
    pub stem: String,
    /// The plot's title (for captions).
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// A display unit for the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeUnit {
    name: &'static str,
    nanos: u64,
}

fn time_unit(span: SimTime) -> TimeUnit {
    let secs = span.as_nanos() / 1_000_000_000;
    if secs <= 600 {
        TimeUnit { name: "s", nanos: 1_000_000_000 }
    } else if secs <= 3 * 3600 {
        TimeUnit { name: "min", nanos: 60_000_000_000 }
    } else if secs <= 3 * 86_400 {
        TimeUnit { name: "h", nanos: 3_600_000_000_000 }
    } else {
        TimeUnit { name: "d", nanos: 86_400_000_000_000 }
    }
}

fn to_unit(t: SimTime, unit: TimeUnit) -> f64 {
    // Whole units plus remainder, so large times keep their precision.
    (t.as_nanos() / unit.nanos) as f64 + (t.as_nanos() % unit.nanos) as f64 / unit.nanos as f64
}

fn plot_error(title: &str) -> impl Fn(&dyn Display) -> ReportError + '_ {
    move |e| ReportError::Plot { title: title.to_string(), message: e.to_string() }
}

/// Replaces characters XML cannot carry (plotters escapes `<>&"'` but not control characters).
fn clean_text(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Shortens legend text that would not fit the legend panel.
fn fit(text: &str, max_chars: usize) -> String {
    let text = clean_text(text);
    if text.chars().count() <= max_chars {
        text
    } else {
        let mut t: String = text.chars().take(max_chars - 1).collect();
        t.push('…');
        t
    }
}

/// Tick text: integers without `.0`, otherwise at most six decimals, trailing zeros trimmed.
fn tick_label(v: &f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Nice y bounds: include 0, pad 5 % at the top, never an empty range.
fn fit_y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (if lo < 0.0 { lo - pad } else { lo }, hi + pad);
    if hi - lo <= 0.0 {
        (lo, lo + 1.0)
    } else {
        (lo, hi)
    }
}

/// Vertices of a series in plot units, as a staircase when `step`.
fn vertices(series: &Series, unit: TimeUnit) -> Vec<(f64, f64)> {
    let mut points: Vec<Point> = series.points.iter().copied().filter(|p| p.value.is_finite()).collect();
    points.sort_by_key(|p| p.time);
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        let x = to_unit(p.time, unit);
        if series.step && i > 0 {
            out.push((x, points[i - 1].value));
        }
        out.push((x, p.value));
    }
    out
}

fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[(String, ShapeStyle, bool)],
) -> Result<(), String> {
    let line_height = 20i32;
    let top = 40i32;
    let room = ((area.dim_in_pixel().1 as i32 - top) / line_height).max(1) as usize;
    let shown = if entries.len() > room { room - 1 } else { entries.len() };
    let font = (FONT, 14).into_font().color(&BLACK);
    for (i, (name, style, dashed)) in entries.iter().take(shown).enumerate() {
        let y = top + i as i32 * line_height;
        if *dashed {
            for x in [8, 20] {
                area.draw(&PathElement::new(vec![(x, y), (x + 8, y)], *style)).map_err(|e| e.to_string())?;
            }
        } else {
            area.draw(&PathElement::new(vec![(8, y), (36, y)], *style)).map_err(|e| e.to_string())?;
        }
        area.draw(&Text::new(fit(name, 26), (42, y - 8), font.clone())).map_err(|e| e.to_string())?;
    }
    if shown < entries.len() {
        let y = top + shown as i32 * line_height;
        let more = format!("… and {} more", entries.len() - shown);
        area.draw(&Text::new(more, (42, y - 8), font)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Renders a time-series line plot to SVG.
pub fn time_series_svg(plot: &TimeSeriesPlot) -> Result<String, ReportError> {
    let err = plot_error(&plot.title);
    let t_min =
        plot.series.iter().flat_map(|s| s.points.iter().map(|p| p.time)).min().unwrap_or(SimTime::ZERO);
    let t_max =
        plot.series.iter().flat_map(|s| s.points.iter().map(|p| p.time)).max().unwrap_or(SimTime::ZERO);
    let unit = time_unit(t_max);
    let (x0, mut x1) = (to_unit(t_min, unit), to_unit(t_max, unit));
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = plot
        .y_range
        .unwrap_or_else(|| fit_y_range(plot.series.iter().flat_map(|s| s.points.iter().map(|p| p.value))));
    let x_label = plot.x_label.clone().unwrap_or_else(|| format!("simulated time ({})", unit.name));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root.titled(&clean_text(&plot.title), (FONT, 22)).map_err(|e| err(&e))?;
        let (chart_area, legend_area) = root.split_horizontally(PLOT_SIZE.0 - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&chart_area)
            .margin(10)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(clean_text(&x_label))
            .y_desc(clean_text(&plot.y_label))
            .x_label_formatter(&tick_label)
            .y_label_formatter(&tick_label)
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| err(&e))?;
        let mut legend = Vec::new();
        for (i, series) in plot.series.iter().enumerate() {
            let style = colour(series.colour.unwrap_or(i)).stroke_width(2);
            let points = vertices(series, unit);
            if series.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style)).map_err(|e| err(&e))?;
            } else {
                chart.draw_series(LineSeries::new(points, style)).map_err(|e| err(&e))?;
            }
            legend.push((series.name.clone(), style, series.dashed));
        }
        if plot.series.iter().all(|s| s.points.is_empty()) {
            chart_area
                .draw(&Text::new("no data", (300, 200), (FONT, 18).into_font()))
                .map_err(|e| err(&e))?;
        }
        draw_legend(&legend_area, &legend).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// One rollout of one deployment, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSpan {
    /// The deployment (`namespace/name`).
    pub deployment: String,
    /// When the rollout started.
    pub start: SimTime,
    /// When it completed; `None` if it had not completed when the run ended.
    pub end: Option<SimTime>,
}

/// Renders a rollout timeline (one row per deployment, one bar per rollout, labelled with its
/// duration; unfinished rollouts run to `run_end`, lighter, labelled `incomplete`).
pub fn rollout_timeline_svg(
    title: &str,
    spans: &[RolloutSpan],
    run_end: SimTime,
) -> Result<String, ReportError> {
    let err = plot_error(title);
    let deployments: Vec<&str> = {
        let mut d: Vec<&str> = spans.iter().map(|s| s.deployment.as_str()).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    let rows = deployments.len().max(1);
    // Row i (sorted by name) is drawn top-down: its band is [rows-i-1, rows-i] on the y axis.
    let band = |name: &str| -> f64 {
        let i = deployments.iter().position(|d| *d == name).unwrap_or(0);
        (rows - i - 1) as f64
    };
    let t_max = spans.iter().map(|s| s.end.unwrap_or(run_end)).chain([run_end]).max().unwrap_or(run_end);
    let unit = time_unit(t_max);
    let x1 = to_unit(t_max, unit).max(1e-9) * 1.12; // room for the duration labels
    let mut svg = String::new();
    {
        let full = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        full.fill(&WHITE).map_err(|e| err(&e))?;
        let root = full.titled(&clean_text(title), (FONT, 22)).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(48)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..x1, 0.0..rows as f64)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(format!("simulated time ({})", unit.name))
            .y_desc("deployment")
            .x_label_formatter(&tick_label)
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        // Row names, right-aligned against the axis, drawn in backend pixels.
        let name_style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for name in &deployments {
            let (x, y) = chart.backend_coord(&(0.0, band(name) + 0.5));
            full.draw(&Text::new(fit(name, 22), (x - 8, y), name_style.clone())).map_err(|e| err(&e))?;
        }
        let label_style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for span in spans {
            let y = band(&span.deployment);
            let end = span.end.unwrap_or(run_end).max(span.start);
            let (a, b) = (to_unit(span.start, unit), to_unit(end, unit));
            let c = colour(deployments.iter().position(|d| *d == span.deployment).unwrap_or(0));
            let fill = if span.end.is_some() { c.filled() } else { c.mix(0.35).filled() };
            chart.draw_series([Rectangle::new([(a, y + 0.2), (b, y + 0.8)], fill)]).map_err(|e| err(&e))?;
            let label = match span.end {
                Some(e) => format!("{}", SimDuration::from_nanos(e.as_nanos() - span.start.as_nanos())),
                None => "incomplete".to_string(),
            };
            chart
                .draw_series([EmptyElement::at((b, y + 0.5)) + Text::new(label, (6, 0), label_style.clone())])
                .map_err(|e| err(&e))?;
        }
        if spans.is_empty() {
            root.draw(&Text::new("no rollouts", (400, 200), (FONT, 18).into_font())).map_err(|e| err(&e))?;
        }
        full.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Renders a bar chart of one metric across policies: bar = mean, whiskers = 95 % CI (none for
/// a single run), in the order given.
pub fn comparison_bar_svg(
    title: &str,
    y_label: &str,
    bars: &[(&str, Summary)],
) -> Result<String, ReportError> {
    let err = plot_error(title);
    let (y0, y1) = fit_y_range(bars.iter().flat_map(|(_, s)| {
        let ci = s.ci95.unwrap_or(0.0);
        [s.mean - ci, s.mean + ci]
    }));
    let n = bars.len().max(1) as u32;
    let names: Vec<String> = bars.iter().map(|(p, s)| format!("{} (n={})", fit(p, 24), s.n)).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root.titled(&clean_text(title), (FONT, 22)).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((0u32..n - 1).into_segmented(), y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("policy (bar: mean, whiskers: 95 % CI)")
            .y_desc(clean_text(y_label))
            .y_label_formatter(&tick_label)
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .x_labels(n as usize)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (_, s)) in bars.iter().enumerate() {
            let i = i as u32;
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), s.mean)],
                colour(i as usize).mix(0.8).filled(),
            );
            bar.set_margin(0, 0, 25, 25);
            chart.draw_series([bar]).map_err(|e| err(&e))?;
            if let Some(ci) = s.ci95 {
                let (lo, hi) = (s.mean - ci, s.mean + ci);
                let x = SegmentValue::CenterOf(i);
                let style = BLACK.stroke_width(2);
                chart
                    .draw_series([PathElement::new(vec![(x.clone(), lo), (x.clone(), hi)], style)])
                    .map_err(|e| err(&e))?;
                for v in [lo, hi] {
                    chart
                        .draw_series([EmptyElement::at((x.clone(), v))
                            + PathElement::new(vec![(-10, 0), (10, 0)], style)])
                        .map_err(|e| err(&e))?;
                }
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// One bar chart per metric of the comparison, named `compare-<metric>`.
pub fn comparison_plots(table: &ComparisonTable) -> Result<Vec<NamedPlot>, ReportError> {
    let mut out = Vec::new();
    for metric in table.metrics() {
        let bars = table.column(metric);
        if bars.is_empty() {
            continue;
        }
        let title = format!("{metric} by policy");
        let svg = comparison_bar_svg(&title, metric, &bars)?;
        out.push(NamedPlot { stem: format!("compare-{}", file_stem(metric)), title, svg });
    }
    Ok(out)
}

/// A file-name-safe version of `name` (ASCII alphanumerics, `-`, `_`; everything else `_`).
pub fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// Rollouts seen in the metrics stream, at sample resolution.
///
/// For each deployment with `deployment_updated_replicas` samples, a rollout is *in progress*
/// from the first sample where old pods exist (`deployment_replicas > updated`) or new ones are
/// missing (`updated < deployment_desired_replicas`), until the first sample where
/// `updated == desired == replicas` and `deployment_available_replicas ≥ updated` — the
/// condition `kubectl rollout status` waits for. An availability dip alone (a node failure) does
/// not start a rollout. Missing companion metrics are treated as equal to `updated`.
pub fn rollout_spans_from_metrics(table: &MetricsTable) -> Vec<RolloutSpan> {
    let mut spans = Vec::new();
    for (deployment, updated) in table.series_by_object(names::DEPLOYMENT_UPDATED_REPLICAS) {
        let lookup = |metric: &str| -> BTreeMap<SimTime, f64> {
            table.series(metric, &deployment).into_iter().map(|p| (p.time, p.value)).collect()
        };
        let desired = lookup(names::DEPLOYMENT_DESIRED_REPLICAS);
        let replicas = lookup(names::DEPLOYMENT_REPLICAS);
        let available = lookup(names::DEPLOYMENT_AVAILABLE_REPLICAS);
        let mut start: Option<SimTime> = None;
        for p in updated {
            let u = p.value;
            let d = desired.get(&p.time).copied().unwrap_or(u);
            let r = replicas.get(&p.time).copied().unwrap_or(u);
            let a = available.get(&p.time).copied().unwrap_or(u);
            let changing = r > u || u < d;
            match start {
                None if changing => start = Some(p.time),
                Some(s) if !changing && u == d && r == u && a >= u => {
                    spans.push(RolloutSpan { deployment: deployment.clone(), start: s, end: Some(p.time) });
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push(RolloutSpan { deployment: deployment.clone(), start: s, end: None });
        }
    }
    spans
}

/// The largest sample time in the table (the run's end as far as the metrics know).
fn last_time(table: &MetricsTable) -> SimTime {
    table.last_time().unwrap_or(SimTime::ZERO)
}

/// Nodes beyond which utilisation is summarised (mean/min/max) instead of one line per node.
pub const MAX_NODE_LINES: usize = 8;

fn node_utilisation_series(table: &MetricsTable, metric: &str) -> Vec<Series> {
    let by_node = table.series_by_object(metric);
    if by_node.len() <= MAX_NODE_LINES {
        return by_node.into_iter().map(|(node, points)| Series::line(node, points)).collect();
    }
    let mut by_time: BTreeMap<SimTime, Vec<f64>> = BTreeMap::new();
    for points in by_node.values() {
        for p in points.iter().filter(|p| p.value.is_finite()) {
            by_time.entry(p.time).or_default().push(p.value);
        }
    }
    let pick = |f: &dyn Fn(&[f64]) -> f64| -> Vec<Point> {
        by_time.iter().map(|(&time, values)| Point { time, value: f(values) }).collect()
    };
    vec![
        Series::line(
            format!("mean of {} nodes", by_node.len()),
            pick(&|v| v.iter().sum::<f64>() / v.len() as f64),
        ),
        Series::line("busiest node", pick(&|v| v.iter().copied().fold(f64::MIN, f64::max))).dashed(),
        Series::line("idlest node", pick(&|v| v.iter().copied().fold(f64::MAX, f64::min))).dashed(),
    ]
}

/// The run's standard plots, from whichever of the [`names`] metrics the table has:
///
/// | stem | content |
/// |------|---------|
/// | `replicas` | desired (dashed) and available replicas per deployment |
/// | `availability` | available / desired per deployment |
/// | `node-utilisation` | CPU utilisation per node (mean/busiest/idlest above [`MAX_NODE_LINES`] nodes) |
/// | `pending-pods` | pods waiting for a node |
/// | `hpa` | desired and current replicas per HPA |
/// | `rollouts` | the rollout timeline from [`rollout_spans_from_metrics`] |
///
/// Plots whose metrics are absent are left out.
pub fn standard_plots(table: &MetricsTable) -> Result<Vec<NamedPlot>, ReportError> {
    let mut out = Vec::new();
    let mut push = |stem: &str, plot: TimeSeriesPlot| -> Result<(), ReportError> {
        if plot.series.is_empty() {
            return Ok(());
        }
        let svg = time_series_svg(&plot)?;
        out.push(NamedPlot { stem: stem.to_string(), title: plot.title, svg });
        Ok(())
    };

    let mut replicas = Vec::new();
    let available = table.series_by_object(names::DEPLOYMENT_AVAILABLE_REPLICAS);
    let desired = table.series_by_object(names::DEPLOYMENT_DESIRED_REPLICAS);
    let deployments: std::collections::BTreeSet<&String> = available.keys().chain(desired.keys()).collect();
    for (slot, d) in deployments.into_iter().enumerate() {
        // One colour per deployment; available solid, desired dashed on top so a shortfall
        // shows as a gap between the two.
        if let Some(points) = available.get(d) {
            replicas.push(Series::step(format!("{d} available"), points.clone()).in_colour(slot));
        }
        if let Some(points) = desired.get(d) {
            replicas.push(Series::step(format!("{d} desired"), points.clone()).dashed().in_colour(slot));
        }
    }
    push(
        "replicas",
        TimeSeriesPlot {
            title: "Deployment replicas".into(),
            y_label: "replicas (pods)".into(),
            series: replicas,
            ..Default::default()
        },
    )?;
    push(
        "availability",
        TimeSeriesPlot {
            title: "Deployment availability".into(),
            y_label: "available / desired replicas".into(),
            y_range: Some((0.0, 1.05)),
            series: table
                .series_by_object(names::DEPLOYMENT_AVAILABILITY_RATIO)
                .into_iter()
                .map(|(d, p)| Series::step(d, p))
                .collect(),
            ..Default::default()
        },
    )?;
    push(
        "node-utilisation",
        TimeSeriesPlot {
            title: "Node CPU utilisation".into(),
            y_label: "CPU in use (fraction of allocatable)".into(),
            y_range: Some((0.0, 1.05)),
            series: node_utilisation_series(table, names::NODE_CPU_UTILISATION),
            ..Default::default()
        },
    )?;
    let pending = table.series(names::PENDING_PODS, CLUSTER_OBJECT);
    push(
        "pending-pods",
        TimeSeriesPlot {
            title: "Pending pods".into(),
            y_label: "pods waiting for a node".into(),
            series: if pending.is_empty() { Vec::new() } else { vec![Series::step("pending pods", pending)] },
            ..Default::default()
        },
    )?;
    let mut hpa = Vec::new();
    let hpa_desired = table.series_by_object(names::HPA_DESIRED_REPLICAS);
    let hpa_current = table.series_by_object(names::HPA_CURRENT_REPLICAS);
    for (slot, (h, points)) in hpa_desired.iter().enumerate() {
        if let Some(current) = hpa_current.get(h) {
            hpa.push(Series::step(format!("{h} current"), current.clone()).in_colour(slot));
        }
        hpa.push(Series::step(format!("{h} desired"), points.clone()).dashed().in_colour(slot));
    }
    push(
        "hpa",
        TimeSeriesPlot {
            title: "HPA decisions".into(),
            y_label: "replicas (pods)".into(),
            series: hpa,
            ..Default::default()
        },
    )?;
    let spans = rollout_spans_from_metrics(table);
    if !spans.is_empty() {
        let title = "Rollout timeline".to_string();
        let svg = rollout_timeline_svg(&title, &spans, last_time(table))?;
        out.push(NamedPlot { stem: "rollouts".into(), title, svg });
    }
    Ok(out)
}

/// Writes each plot to `dir/<stem>.svg` and a PNG copy `dir/<stem>.png` (creating `dir`), returning
/// the paths in order (each SVG followed by its PNG).
pub fn write_plots(dir: &Path, plots: &[NamedPlot]) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir.display().to_string(), e))?;
    let mut paths = Vec::new();
    for plot in plots {
        let path = dir.join(format!("{}.svg", plot.stem));
        std::fs::write(&path, &plot.svg).map_err(|e| ReportError::io(path.display().to_string(), e))?;
        paths.push(path);
        if let Some(png) = svg_to_png(&plot.svg) {
            let path = dir.join(format!("{}.png", plot.stem));
            std::fs::write(&path, png).map_err(|e| ReportError::io(path.display().to_string(), e))?;
            paths.push(path);
        }
    }
    Ok(paths)
}

/// Renders an SVG plot to PNG at its own size, with the bundled Ubuntu Light font standing in for
/// every family the SVG names (so the bytes do not depend on the fonts a machine has). `None` if
/// the SVG cannot be parsed (the SVG file is still written).
pub fn svg_to_png(svg: &str) -> Option<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> = std::sync::OnceLock::new();
    let fontdb = FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
            let family = db.faces().next().and_then(|f| f.families.first().map(|(name, _)| name.clone()));
            if let Some(family) = family {
                db.set_sans_serif_family(family.clone());
                db.set_serif_family(family.clone());
                db.set_monospace_family(family);
            }
            std::sync::Arc::new(db)
        })
        .clone();
    let options = usvg::Options { fontdb, ..Default::default() };
    let tree = usvg::Tree::from_str(svg, &options).ok()?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_metrics;
    use crate::stats::ComparisonBuilder;

    fn pts(values: &[(u64, f64)]) -> Vec<Point> {
        values.iter().map(|&(s, value)| Point { time: SimTime::from_secs(s), value }).collect()
    }

    #[test]
    fn png_copies_render_with_the_bundled_font_deterministically() {
        let plots = standard_plots(&demo_metrics()).unwrap();
        let svg = &plots.first().expect("a plot").svg;
        let a = svg_to_png(svg).expect("renders");
        let b = svg_to_png(svg).expect("renders");
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(a, b);
        let dir = std::env::temp_dir().join(format!("kubesim-png-{}", std::process::id()));
        let written = write_plots(&dir, &plots[..1]).unwrap();
        assert!(written.iter().any(|p| p.extension().is_some_and(|e| e == "png")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn tick_labels_drop_float_noise_and_trailing_zeros() {
        assert_eq!(tick_label(&7.0), "7");
        assert_eq!(tick_label(&0.30000000000000004), "0.3");
        assert_eq!(tick_label(&2.5), "2.5");
        assert_eq!(tick_label(&-0.0), "0");
        assert_eq!(tick_label(&-1.25), "-1.25");
    }

    #[test]
    fn the_time_axis_unit_follows_the_run_length() {
        assert_eq!(time_unit(SimTime::from_secs(600)).name, "s");
        assert_eq!(time_unit(SimTime::from_secs(601)).name, "min");
        assert_eq!(time_unit(SimTime::from_secs(3 * 3600)).name, "min");
        assert_eq!(time_unit(SimTime::from_secs(3 * 3600 + 1)).name, "h");
        assert_eq!(time_unit(SimTime::from_secs(4 * 86_400)).name, "d");
        // 90 s in minutes is exactly 1.5.
        assert_eq!(to_unit(SimTime::from_secs(90), time_unit(SimTime::from_secs(700))), 1.5);
    }

    #[test]
    fn steps_hold_the_value_until_the_next_sample() {
        let s = Series::step("x", pts(&[(20, 2.0), (0, 1.0), (40, f64::NAN)]));
        // Unsorted input is sorted; NaN is dropped.
        let unit = time_unit(SimTime::from_secs(60));
        assert_eq!(vertices(&s, unit), vec![(0.0, 1.0), (20.0, 1.0), (20.0, 2.0)]);
        let l = Series::line("x", pts(&[(0, 1.0), (20, 2.0)]));
        assert_eq!(vertices(&l, unit), vec![(0.0, 1.0), (20.0, 2.0)]);
    }

    #[test]
    fn a_time_series_plot_is_byte_identical_when_rendered_twice() {
        let plot = TimeSeriesPlot {
            title: "Pending <pods> & more".into(),
            y_label: "pods waiting for a node".into(),
            series: vec![
                Series::step("pending", pts(&[(0, 0.0), (600, 3.0), (1200, 1.0)])),
                Series::line("other", pts(&[(0, 1.0), (1200, 2.0)])).dashed(),
            ],
            ..Default::default()
        };
        let a = time_series_svg(&plot).unwrap();
        let b = time_series_svg(&plot).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("<svg "), "{}", &a[..40]);
        // Title escaped, axis labels with the time unit, legend entries present.
        assert!(a.contains("Pending &lt;pods&gt; &amp; more"));
        assert!(a.contains("simulated time (min)"));
        assert!(a.contains("pods waiting for a node"));
        assert!(a.contains(">\npending\n</text>") && a.contains(">\nother\n</text>"), "{a}");
    }

    #[test]
    fn an_empty_plot_says_no_data_instead_of_failing() {
        let plot = TimeSeriesPlot {
            title: "nothing".into(),
            y_label: "y".into(),
            series: vec![Series::line("a", vec![])],
            ..Default::default()
        };
        assert!(time_series_svg(&plot).unwrap().contains("no data"));
    }

    #[test]
    fn a_long_legend_is_cut_with_a_count_of_the_rest() {
        let series =
            (0..40).map(|i| Series::line(format!("node-{i:02}"), pts(&[(0, 0.1), (60, 0.2)]))).collect();
        let svg = time_series_svg(&TimeSeriesPlot {
            title: "many".into(),
            y_label: "y".into(),
            series,
            ..Default::default()
        })
        .unwrap();
        assert!(svg.contains("node-00") && svg.contains("more"), "legend truncated");
        assert!(!svg.contains(">\nnode-39\n<"));
    }

    #[test]
    fn rollout_spans_follow_kubectl_rollout_status() {
        // The demo's web rollout starts at 600 s (updated 1 < 6) and is complete at 900 s
        // (updated = desired = replicas = available = 6); the node failure at 1500 s lowers only
        // availability and is not a rollout. api scales up through its HPA: each step starts a
        // short "rollout" only if updated < desired, which the demo never has (updated tracks
        // desired), so api has none.
        let spans = rollout_spans_from_metrics(&demo_metrics());
        assert_eq!(
            spans,
            vec![RolloutSpan {
                deployment: "default/web".into(),
                start: SimTime::from_secs(600),
                end: Some(SimTime::from_secs(900)),
            }]
        );
    }

    #[test]
    fn an_unfinished_rollout_has_no_end() {
        let mut t = MetricsTable::new();
        for (s, updated) in [(0, 2.0), (15, 1.0), (30, 1.0)] {
            t.push(SimTime::from_secs(s), names::DEPLOYMENT_UPDATED_REPLICAS, "d", updated);
            t.push(SimTime::from_secs(s), names::DEPLOYMENT_DESIRED_REPLICAS, "d", 2.0);
        }
        let spans = rollout_spans_from_metrics(&t);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (SimTime::from_secs(15), None));
        let svg = rollout_timeline_svg("t", &spans, SimTime::from_secs(30)).unwrap();
        assert!(svg.contains("incomplete"));
    }

    #[test]
    fn standard_plots_cover_every_metric_family_and_are_deterministic() {
        let table = demo_metrics();
        let a = standard_plots(&table).unwrap();
        let b = standard_plots(&table).unwrap();
        assert_eq!(a, b);
        let stems: Vec<&str> = a.iter().map(|p| p.stem.as_str()).collect();
        assert_eq!(
            stems,
            vec!["replicas", "availability", "node-utilisation", "pending-pods", "hpa", "rollouts"]
        );
        let rollouts = &a[5].svg;
        assert!(rollouts.contains("default/web") && rollouts.contains("5m"), "duration label");
    }

    #[test]
    fn many_nodes_are_summarised_as_mean_busiest_and_idlest() {
        let mut t = MetricsTable::new();
        for n in 0..10 {
            t.push(SimTime::ZERO, names::NODE_CPU_UTILISATION, &format!("n{n}"), n as f64 / 10.0);
        }
        let series = node_utilisation_series(&t, names::NODE_CPU_UTILISATION);
        let firsts: Vec<(String, f64)> = series.iter().map(|s| (s.name.clone(), s.points[0].value)).collect();
        assert_eq!(
            firsts,
            vec![
                ("mean of 10 nodes".to_string(), 0.45),
                ("busiest node".to_string(), 0.9),
                ("idlest node".to_string(), 0.0)
            ]
        );
    }

    #[test]
    fn comparison_plots_have_one_chart_per_metric_with_policy_labels() {
        let mut b = ComparisonBuilder::new();
        for v in [1.0, 2.0, 3.0] {
            b.add("default", "pending_time_s", v);
            b.add("most-allocated", "pending_time_s", v * 2.0);
        }
        b.add("default", "nodes/used", 4.0);
        let table = b.build().unwrap();
        let plots = comparison_plots(&table).unwrap();
        assert_eq!(plots.len(), 2);
        assert_eq!(plots[1].stem, "compare-nodes_used");
        assert!(plots[0].svg.contains("most-allocated (n=3)"));
        assert_eq!(plots, comparison_plots(&table).unwrap());
    }

    #[test]
    fn write_plots_creates_an_svg_and_a_png_file_per_plot() {
        let dir = std::env::temp_dir().join(format!("kubesim-reports-plots-{}", std::process::id()));
        let plots = standard_plots(&demo_metrics()).unwrap();
        let paths = write_plots(&dir, &plots).unwrap();
        assert_eq!(paths.len(), 2 * plots.len());
        assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), plots[0].svg);
        assert!(paths[1].extension().is_some_and(|e| e == "png"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
