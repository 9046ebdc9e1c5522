//! PreFilter state and Filter of PodTopologySpread (hard constraints, `DoNotSchedule`).
//! Upstream: `podtopologyspread/filtering.go :: calPreFilterState, updateWithPod, Filter`.

use std::collections::BTreeMap;

use kubesim_api::{Node, Pod};

use super::common::{node_has_all_keys, SpreadConstraint};
use super::NodePods;

/// Reason when the node lacks a topology key (UnschedulableAndUnresolvable).
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// Reason when the skew would exceed maxSkew (Unschedulable).
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";

/// Outcome of a Filter call, before it is wrapped into the framework's status type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpreadVerdict {
    /// The node passes every hard constraint.
    Fits,
    /// Skew too large: preemption may help.
    Unschedulable(&'static str),
    /// Missing topology label: preemption cannot help.
    UnschedulableAndUnresolvable(&'static str),
}

/// Per-cycle counts of matching pods per topology domain, one map per hard constraint.
///
/// Follows the current upstream layout (per-constraint index, exact minimum kept by a histogram
/// of domain counts) rather than the older two-entry "critical paths" keyed by topology key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpreadFilterState {
    /// Hard constraints of the incoming pod (empty: nothing to check).
    pub constraints: Vec<SpreadConstraint>,
    /// `[constraint][topology value]` → matching pods on eligible nodes of that domain.
    pub tp_value_to_match_num: Vec<BTreeMap<String, i64>>,
    /// `[constraint]` → minimum over the eligible domains (i32::MAX when there are none).
    pub min_match_num: Vec<i64>,
    /// `[constraint][count]` → number of domains holding exactly `count` matching pods.
    domains_at_count: Vec<BTreeMap<i64, i64>>,
}

impl SpreadFilterState {
    /// Upstream `calPreFilterState`: counts over *all* nodes of the snapshot.
    pub fn compute<'a, N: NodePods + 'a>(
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        all_nodes: impl IntoIterator<Item = &'a N>,
        taint_comparison_operators: bool,
    ) -> Self {
        Self::compute_counted(pod, constraints, all_nodes, taint_comparison_operators, |info, _, c| {
            super::common::count_matching(info.pods(), c, &pod.meta.namespace)
        })
    }

    /// [`compute`](Self::compute) with each node's matching-pod count for constraint `i` given by
    /// `count(node, i, constraint)` (the framework plugin reads the snapshot's incremental counts).
    pub fn compute_counted<'a, N: NodePods + 'a>(
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        all_nodes: impl IntoIterator<Item = &'a N>,
        taint_comparison_operators: bool,
        mut count: impl FnMut(&'a N, usize, &SpreadConstraint) -> i64,
    ) -> Self {
        if constraints.is_empty() {
            return SpreadFilterState::default();
        }
        let mut tp_value_to_match_num = vec![BTreeMap::new(); constraints.len()];
        for info in all_nodes {
            let node = info.node();
            if !node_has_all_keys(node, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !c.includes_node(pod, node, taint_comparison_operators) {
                    continue;
                }
                let value = node.meta.labels.get(&c.topology_key).cloned().unwrap_or_default();
                *tp_value_to_match_num[i].entry(value).or_insert(0) += count(info, i, c);
            }
        }
        let mut min_match_num = Vec::with_capacity(constraints.len());
        let mut domains_at_count = Vec::with_capacity(constraints.len());
        for counts in &tp_value_to_match_num {
            let mut hist = BTreeMap::new();
            let mut min = i64::from(i32::MAX);
            for &n in counts.values() {
                *hist.entry(n).or_insert(0) += 1;
                min = min.min(n);
            }
            min_match_num.push(min);
            domains_at_count.push(hist);
        }
        SpreadFilterState { constraints, tp_value_to_match_num, min_match_num, domains_at_count }
    }

    /// The global minimum used for skew: 0 when fewer than `minDomains` domains are eligible.
    pub fn min_match(&self, i: usize) -> i64 {
        if (self.tp_value_to_match_num[i].len() as i64) < i64::from(self.constraints[i].min_domains) {
            0
        } else {
            self.min_match_num[i]
        }
    }

    /// Upstream `updateWithPod` (PreFilter extensions AddPod/RemovePod, `delta` = ±1): keeps the
    /// counts right while nominated pods are added or preemption victims removed.
    pub fn update_with_pod(
        &mut self,
        updated: &Pod,
        preemptor: &Pod,
        node: &Node,
        delta: i64,
        taint_comparison_operators: bool,
    ) {
        if self.constraints.is_empty() || updated.meta.namespace != preemptor.meta.namespace {
            return;
        }
        if !node_has_all_keys(node, &self.constraints) {
            return;
        }
        for i in 0..self.constraints.len() {
            let c = &self.constraints[i];
            if !c.selects(&updated.meta.labels)
                || !c.includes_node(preemptor, node, taint_comparison_operators)
            {
                continue;
            }
            let value = node.meta.labels.get(&c.topology_key).cloned().unwrap_or_default();
            let old = self.tp_value_to_match_num[i].get(&value).copied().unwrap_or(0);
            let cur = old + delta;
            self.tp_value_to_match_num[i].insert(value, cur);
            self.update_min(i, old, cur);
        }
    }

    /// Exact minimum under a ±1 move of one domain (upstream `updateMin`). A domain appearing for
    /// the first time moves from "0 matching" as upstream does (its old count is read as 0).
    fn update_min(&mut self, i: usize, old: i64, cur: i64) {
        let hist = &mut self.domains_at_count[i];
        if let Some(n) = hist.get_mut(&old) {
            *n -= 1;
            if *n <= 0 {
                hist.remove(&old);
            }
        }
        *hist.entry(cur).or_insert(0) += 1;
        // Either a domain dropped below the minimum (−1), or the last domain at the minimum moved
        // up by one (+1) and so is the new minimum: nothing needs scanning.
        let last_at_min_moved_up = old == self.min_match_num[i] && !hist.contains_key(&old);
        if cur < self.min_match_num[i] || last_at_min_moved_up {
            self.min_match_num[i] = cur;
        }
    }

    /// Upstream `Filter`.
    pub fn filter(&self, pod: &Pod, node: &Node) -> SpreadVerdict {
        for (i, c) in self.constraints.iter().enumerate() {
            let Some(value) = node.meta.labels.get(&c.topology_key) else {
                return SpreadVerdict::UnschedulableAndUnresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selects(&pod.meta.labels));
            let match_num = self.tp_value_to_match_num[i].get(value).copied().unwrap_or(0);
            let skew = match_num + self_match - self.min_match(i);
            if skew > i64::from(c.max_skew) {
                return SpreadVerdict::Unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        SpreadVerdict::Fits
    }
}
