//! The output of `kubesim schedule`: a stable JSON contract and a table for people.
//!
//! JSON (a contract others script against; extend, never rename):
//!
//! ```text
//! {"results": [ {"pod": "ns/name", "node": "node-a" | null,
//!                "status": "Scheduled" | "Unschedulable",
//!                "evaluated_nodes": 120, "feasible_nodes": 37,
//!                "nodes": [ {"name": "node-a",
//!                            "filters": [{"plugin": "NodeResourcesFit", "code": "Unschedulable", "reasons": ["Insufficient cpu"]}],
//!                            "scores":  [{"plugin": "NodeResourcesFit", "raw": 37, "normalized": 37, "weight": 1}],
//!                            "total": 137} ],
//!                "preemption": {"node": "node-b", "victims": ["ns/low-1"]} | null } ]}
//! ```
//!
//! `filters` lists every filter plugin that ran on the node, in order; `scores` every score plugin
//! on feasible nodes; `total` is null on nodes that were filtered out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct ScheduleReport {
    /// One entry per pod, in input order.
    pub results: Vec<PodResult>,
}

/// `Scheduled` or `Unschedulable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PodStatus {
    /// Bound to `node`.
    Scheduled,
    /// No node fits (possibly after preemption was nominated).
    Unschedulable,
}

/// What happened to one pod.
#[derive(Debug, Serialize)]
pub struct PodResult {
    /// `namespace/name`.
    pub pod: String,
    /// The chosen node.
    pub node: Option<String>,
    /// Outcome.
    pub status: PodStatus,
    /// Nodes run through the filters.
    pub evaluated_nodes: u32,
    /// Nodes that passed every filter.
    pub feasible_nodes: u32,
    /// Per evaluated node, in examination order.
    pub nodes: Vec<NodeResult>,
    /// Preemption nominated for this pod, if any.
    pub preemption: Option<Preemption>,
}

/// Per node detail.
#[derive(Debug, Serialize)]
pub struct NodeResult {
    /// Node name.
    pub name: String,
    /// Every filter plugin that ran, in order.
    pub filters: Vec<FilterResult>,
    /// Every score plugin, for feasible nodes.
    pub scores: Vec<ScoreResult>,
    /// Weighted total for feasible nodes.
    pub total: Option<i64>,
}

/// One filter plugin's verdict.
#[derive(Debug, Serialize)]
pub struct FilterResult {
    /// Upstream plugin name.
    pub plugin: String,
    /// Upstream code name: `Success`, `Unschedulable`, `UnschedulableAndUnresolvable`, ….
    pub code: String,
    /// Reasons, upstream wording.
    pub reasons: Vec<String>,
}

/// One score plugin's numbers.
#[derive(Debug, Serialize)]
pub struct ScoreResult {
    /// Upstream plugin name.
    pub plugin: String,
    /// Before NormalizeScore.
    pub raw: i64,
    /// After NormalizeScore.
    pub normalized: i64,
    /// Profile weight.
    pub weight: i64,
}

/// A preemption decision.
#[derive(Debug, Serialize)]
pub struct Preemption {
    /// Nominated node.
    pub node: String,
    /// Pods to evict, `namespace/name`.
    pub victims: Vec<String>,
}

impl PodResult {
    /// Upstream's FitError message: `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had
    /// untolerated taint(s).` — reasons counted over rejected nodes and sorted by text.
    pub fn fit_error_message(&self, total_nodes: usize) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for n in &self.nodes {
            for f in n.filters.iter().filter(|f| f.code != "Success" && f.code != "Skip") {
                for r in &f.reasons {
                    *counts.entry(r.as_str()).or_default() += 1;
                }
            }
        }
        let mut msg = format!("0/{total_nodes} nodes are available");
        if !counts.is_empty() {
            msg.push_str(": ");
            let parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
            msg.push_str(&parts.join(", "));
        }
        msg.push('.');
        msg
    }
}

/// Renders the report as a table for people: one line per pod, then the reasons for failures.
pub fn render_table(report: &ScheduleReport, total_nodes: usize) -> String {
    let pod_w = report.results.iter().map(|r| r.pod.len()).max().unwrap_or(3).max(3);
    let node_w =
        report.results.iter().filter_map(|r| r.node.as_ref().map(String::len)).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<pod_w$}  {:<node_w$}  {:<13}  {:>9}  {:>8}  {:>5}",
        "POD", "NODE", "STATUS", "EVALUATED", "FEASIBLE", "SCORE"
    );
    for r in &report.results {
        let node = r.node.as_deref().unwrap_or("-");
        let score = r
            .node
            .as_ref()
            .and_then(|n| r.nodes.iter().find(|x| &x.name == n))
            .and_then(|x| x.total)
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        let status = match r.status {
            PodStatus::Scheduled => "Scheduled",
            PodStatus::Unschedulable => "Unschedulable",
        };
        let _ = writeln!(
            out,
            "{:<pod_w$}  {:<node_w$}  {:<13}  {:>9}  {:>8}  {:>5}",
            r.pod, node, status, r.evaluated_nodes, r.feasible_nodes, score
        );
    }
    let notes: Vec<&PodResult> = report
        .results
        .iter()
        .filter(|r| r.status == PodStatus::Unschedulable || r.preemption.is_some())
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out);
        for r in notes {
            if r.status == PodStatus::Unschedulable || r.feasible_nodes == 0 {
                let _ = writeln!(out, "{}: {}", r.pod, r.fit_error_message(total_nodes));
            }
            if let Some(p) = &r.preemption {
                let _ =
                    writeln!(out, "  preemption: nominated {}, evicting {}", p.node, p.victims.join(", "));
            }
        }
    }
    let scheduled = report.results.iter().filter(|r| r.status == PodStatus::Scheduled).count();
    let _ = writeln!(out, "\n{scheduled}/{} pods scheduled onto {total_nodes} nodes", report.results.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(name: &str, reasons: &[&str]) -> NodeResult {
        NodeResult {
            name: name.into(),
            filters: vec![
                FilterResult { plugin: "NodeUnschedulable".into(), code: "Success".into(), reasons: vec![] },
                FilterResult {
                    plugin: "NodeResourcesFit".into(),
                    code: "Unschedulable".into(),
                    reasons: reasons.iter().map(|s| s.to_string()).collect(),
                },
            ],
            scores: vec![],
            total: None,
        }
    }

    #[test]
    fn fit_error_counts_reasons_like_upstream() {
        let r = PodResult {
            pod: "default/big".into(),
            node: None,
            status: PodStatus::Unschedulable,
            evaluated_nodes: 3,
            feasible_nodes: 0,
            nodes: vec![
                rejected("a", &["Insufficient cpu"]),
                rejected("b", &["Insufficient cpu", "Insufficient memory"]),
                rejected("c", &["Insufficient memory"]),
            ],
            preemption: None,
        };
        assert_eq!(
            r.fit_error_message(3),
            "0/3 nodes are available: 2 Insufficient cpu, 2 Insufficient memory."
        );
    }

    #[test]
    fn json_keeps_the_contract_field_names() {
        let report = ScheduleReport {
            results: vec![PodResult {
                pod: "default/p".into(),
                node: Some("n1".into()),
                status: PodStatus::Scheduled,
                evaluated_nodes: 1,
                feasible_nodes: 1,
                nodes: vec![NodeResult {
                    name: "n1".into(),
                    filters: vec![],
                    scores: vec![ScoreResult {
                        plugin: "NodeResourcesFit".into(),
                        raw: 37,
                        normalized: 37,
                        weight: 1,
                    }],
                    total: Some(37),
                }],
                preemption: None,
            }],
        };
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(
            text,
            r#"{"results":[{"pod":"default/p","node":"n1","status":"Scheduled","evaluated_nodes":1,"feasible_nodes":1,"nodes":[{"name":"n1","filters":[],"scores":[{"plugin":"NodeResourcesFit","raw":37,"normalized":37,"weight":1}],"total":37}],"preemption":null}]}"#
        );
        assert!(render_table(&report, 1).contains("default/p"));
    }
}
