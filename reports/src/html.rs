//! `report.html`: one self-contained page with the summary and the plots.
//!
//! The page has no external assets and no JavaScript: styles are inline in a `<style>` element,
//! plots are inline `<svg>` elements, so the file can be mailed, archived as a CI artefact or
//! opened offline. It is a pure function of its input — maps are walked in sorted key order
//! whatever `serde_json` feature (`preserve_order`) another crate enables — so the same run
//! gives the same bytes.
//!
//! # How the JSON summary is laid out
//!
//! * Top-level scalars and arrays go into the first table, one row per key.
//! * A top-level object whose values are all objects (e.g. `deployments: {web: {...}}`) becomes
//!   its own table: one row per entry, one column per field (the union of fields, sorted).
//! * Any other top-level object becomes a table of its leaves with dotted keys (`a.b.c`).
//! * Arrays and deeper nesting are shown as compact JSON text.

use std::path::Path;

use serde_json::Value;

use crate::error::ReportError;
use crate::plots::NamedPlot;
use crate::stats::{format_mean_ci, ComparisonTable};

/// What goes into a report page.
#[derive(Debug, Clone, Copy)]
pub struct HtmlReport<'a> {
    /// Page title and top heading (usually the scenario name).
    pub title: &'a str,
    /// A JSON summary (`summary.json`), if any.
    pub summary: Option<&'a Value>,
    /// A policy comparison (from `kubesim compare`), if any.
    pub comparison: Option<&'a ComparisonTable>,
    /// Plots to inline, in this order.
    pub plots: &'a [NamedPlot],
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0 1em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\
figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}\
figure svg{max-width:100%;height:auto;border:1px solid #eee}";

/// Map entries in sorted key order.
fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Compact JSON with object keys sorted.
fn compact_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let inner: Vec<String> = sorted_entries(map)
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), compact_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(compact_json).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// A table cell for a JSON value: numbers right-aligned, strings verbatim, the rest compact JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("<td class=\"num\">{}</td>", escape_html(&n.to_string())),
        Value::String(s) => format!("<td>{}</td>", escape_html(s)),
        Value::Null => "<td>—</td>".to_string(),
        other => format!("<td>{}</td>", escape_html(&compact_json(other))),
    }
}

fn flatten<'v>(prefix: &str, value: &'v Value, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in sorted_entries(map) {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other)),
    }
}

fn key_value_table(rows: &[(String, &Value)]) -> String {
    let mut h = String::from("<table>\n");
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{}</th>{}</tr>\n", escape_html(k), cell(v)));
    }
    h.push_str("</table>\n");
    h
}

fn summary_html(summary: &Value) -> String {
    let mut h = String::from("<h2>Summary</h2>\n");
    let Value::Object(map) = summary else {
        return h + &key_value_table(&[("value".to_string(), summary)]);
    };
    let entries = sorted_entries(map);
    let scalars: Vec<(String, &Value)> =
        entries.iter().filter(|(_, v)| !v.is_object()).map(|(k, v)| ((*k).clone(), *v)).collect();
    if !scalars.is_empty() {
        h.push_str(&key_value_table(&scalars));
    }
    for (name, value) in entries.iter().filter(|(_, v)| v.is_object()) {
        let Value::Object(inner) = value else { continue };
        h.push_str(&format!("<h3>{}</h3>\n", escape_html(name)));
        let records = !inner.is_empty() && inner.values().all(Value::is_object);
        if records {
            let mut columns: Vec<&String> =
                inner.values().filter_map(Value::as_object).flat_map(|o| o.keys()).collect();
            columns.sort();
            columns.dedup();
            h.push_str("<table>\n<tr><th></th>");
            for c in &columns {
                h.push_str(&format!("<th>{}</th>", escape_html(c)));
            }
            h.push_str("</tr>\n");
            for (row, record) in sorted_entries(inner) {
                h.push_str(&format!("<tr><th>{}</th>", escape_html(row)));
                for c in &columns {
                    h.push_str(&record.get(c.as_str()).map_or("<td></td>".to_string(), cell));
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        } else {
            let mut leaves = Vec::new();
            for (k, v) in sorted_entries(inner) {
                flatten(k, v, &mut leaves);
            }
            h.push_str(&key_value_table(&leaves));
        }
    }
    h
}

fn comparison_html(table: &ComparisonTable) -> String {
    let mut h = String::from("<h2>Comparison (mean ± 95 % CI over runs)</h2>\n<table>\n<tr><th>policy</th>");
    for m in table.metrics() {
        h.push_str(&format!("<th>{}</th>", escape_html(m)));
    }
    h.push_str("</tr>\n");
    for p in table.policies() {
        h.push_str(&format!("<tr><th>{}</th>", escape_html(p)));
        for m in table.metrics() {
            let text = table.cell(p, m).map_or("-".to_string(), format_mean_ci);
            h.push_str(&format!("<td class=\"num\">{}</td>", escape_html(&text)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    h
}

/// An SVG document ready to inline: any XML prolog or doctype removed.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// Renders the page.
pub fn render_html(report: &HtmlReport<'_>) -> String {
    let title = escape_html(report.title);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!("<title>{title} — kubesim report</title>\n<style>{STYLE}</style>\n"));
    h.push_str("</head>\n<body>\n");
    h.push_str(&format!("<h1>{title}</h1>\n"));
    if let Some(summary) = report.summary {
        h.push_str(&summary_html(summary));
    }
    if let Some(table) = report.comparison {
        h.push_str(&comparison_html(table));
    }
    if !report.plots.is_empty() {
        h.push_str("<h2>Plots</h2>\n");
        for plot in report.plots {
            h.push_str(&format!(
                "<figure id=\"{}\">\n<figcaption>{}</figcaption>\n{}\n</figure>\n",
                escape_html(&plot.stem),
                escape_html(&plot.title),
                inline_svg(&plot.svg).trim_end()
            ));
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// Writes [`render_html`] to `path`.
pub fn write_html(path: &Path, report: &HtmlReport<'_>) -> Result<(), ReportError> {
    std::fs::write(path, render_html(report)).map_err(|e| ReportError::io(path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_metrics;
    use crate::plots::standard_plots;
    use serde_json::json;

    fn summary() -> Value {
        json!({
            "seed": 42,
            "scenario": "demo <1>",
            "digest": "ab12",
            "scheduling_latency_s": {"p50": 0.5, "p99": 2.25},
            "deployments": {
                "web": {"rollout_duration_s": 300, "min_available_ratio": 0.6666666666666666, "replicas_final": 6},
                "api": {"replicas_final": 7}
            },
            "tags": ["a", "b"]
        })
    }

    #[test]
    fn the_page_is_deterministic_and_inlines_every_plot() {
        let plots = standard_plots(&demo_metrics()).unwrap();
        let s = summary();
        let report = HtmlReport { title: "demo", summary: Some(&s), comparison: None, plots: &plots };
        let a = render_html(&report);
        assert_eq!(a, render_html(&report));
        assert_eq!(a.matches("<svg ").count(), plots.len());
        for p in &plots {
            assert!(a.contains(&format!("<figure id=\"{}\">", p.stem)));
        }
    }

    #[test]
    fn the_page_is_self_contained() {
        let plots = standard_plots(&demo_metrics()).unwrap();
        let s = summary();
        let html =
            render_html(&HtmlReport { title: "demo", summary: Some(&s), comparison: None, plots: &plots });
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("src="));
        assert!(!html.contains("<?xml"));
        // The only URL is the SVG namespace identifier, which is never fetched.
        let urls = html.matches("http").count();
        assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
    }

    #[test]
    fn summary_tables_use_sorted_keys_and_records_become_columns() {
        let s = summary();
        let html = render_html(&HtmlReport { title: "t", summary: Some(&s), comparison: None, plots: &[] });
        let run_table = concat!(
            "<table>\n",
            "<tr><th>digest</th><td>ab12</td></tr>\n",
            "<tr><th>scenario</th><td>demo &lt;1&gt;</td></tr>\n",
            "<tr><th>seed</th><td class=\"num\">42</td></tr>\n",
            "<tr><th>tags</th><td>[&quot;a&quot;,&quot;b&quot;]</td></tr>\n",
            "</table>\n",
        );
        assert!(html.contains(run_table), "{html}");
        let deployments = concat!(
            "<h3>deployments</h3>\n<table>\n",
            "<tr><th></th><th>min_available_ratio</th><th>replicas_final</th><th>rollout_duration_s</th></tr>\n",
            "<tr><th>api</th><td></td><td class=\"num\">7</td><td></td></tr>\n",
            "<tr><th>web</th><td class=\"num\">0.6666666666666666</td><td class=\"num\">6</td><td class=\"num\">300</td></tr>\n",
            "</table>\n",
        );
        assert!(html.contains(deployments), "{html}");
        assert!(html.contains(
            "<h3>scheduling_latency_s</h3>\n<table>\n<tr><th>p50</th><td class=\"num\">0.5</td></tr>"
        ));
    }

    #[test]
    fn a_comparison_table_is_rendered_with_mean_and_ci() {
        let mut b = crate::stats::ComparisonBuilder::new();
        for v in [1.0, 2.0, 3.0] {
            b.add("default", "pending_time_s", v);
        }
        let table = b.build().unwrap();
        let html =
            render_html(&HtmlReport { title: "c", summary: None, comparison: Some(&table), plots: &[] });
        assert!(html.contains("<td class=\"num\">2.0 ± 2.5</td>"), "{html}");
    }

    #[test]
    fn an_xml_prolog_is_stripped_before_inlining() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg a=\"1\"></svg>"), "<svg a=\"1\"></svg>");
    }
}
