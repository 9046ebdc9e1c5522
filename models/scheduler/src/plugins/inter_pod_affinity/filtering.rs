//! PreFilter state and Filter of InterPodAffinity (required terms).
//! Upstream: `interpodaffinity/filtering.go`.

use std::collections::BTreeMap;

use kubesim_api::{Labels, Node, Pod};

use super::terms::{pod_matches_all_terms, AffinityTerm, NamespaceLabels, PodAffinityTerms};
use crate::plugins::pod_topology_spread::NodePods;

/// Reason: the node fails the pod's required affinity (UnschedulableAndUnresolvable).
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Reason: the node fails the pod's required anti-affinity (Unschedulable).
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";
/// Reason: an existing pod's required anti-affinity rejects the pod (Unschedulable).
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Outcome of Filter, before the framework wraps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AffinityVerdict {
    /// The node passes.
    Fits,
    /// Anti-affinity conflict: removing pods may help.
    Unschedulable(&'static str),
    /// Required affinity unsatisfiable on this node.
    UnschedulableAndUnresolvable(&'static str),
}

/// `(topology key, topology value)` → count, nested so lookups borrow. Zero entries are removed,
/// as upstream deletes them, so `is_empty` means "no pair counted".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopologyCounts(BTreeMap<String, BTreeMap<String, i64>>);

impl TopologyCounts {
    /// The count of one pair (0 when absent).
    pub fn get(&self, key: &str, value: &str) -> i64 {
        self.0.get(key).and_then(|m| m.get(value)).copied().unwrap_or(0)
    }

    /// True when no pair has a non-zero count.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `delta` at the node's value of `key` (nothing if the node lacks the key).
    fn bump(&mut self, node: &Node, key: &str, delta: i64) {
        let Some(value) = node.meta.labels.get(key) else { return };
        let inner = self.0.entry(key.to_string()).or_default();
        let slot = inner.entry(value.clone()).or_insert(0);
        *slot += delta;
        if *slot == 0 {
            inner.remove(value);
            if inner.is_empty() {
                self.0.remove(key);
            }
        }
    }
}

/// Per-cycle state of the filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AffinityFilterState {
    /// Existing pods whose required anti-affinity terms match the incoming pod, per domain.
    pub existing_anti_affinity_counts: TopologyCounts,
    /// Existing pods matching *all* the incoming pod's required affinity terms, per domain of each term.
    pub affinity_counts: TopologyCounts,
    /// Existing pods matching each of the incoming pod's required anti-affinity terms, per domain.
    pub anti_affinity_counts: TopologyCounts,
    /// The incoming pod's required affinity terms (namespace selectors unrolled).
    pub required_affinity: Vec<AffinityTerm>,
    /// The incoming pod's required anti-affinity terms (namespace selectors unrolled).
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Labels of the incoming pod's namespace (`None`: namespace unknown), for existing pods'
    /// namespace selectors.
    pub namespace_labels: Option<Labels>,
}

impl AffinityFilterState {
    /// Upstream `PreFilter`. Returns `None` (Skip) when the pod has no required terms and no
    /// existing pod's anti-affinity matches it.
    pub fn compute<'a, N: NodePods + 'a>(
        pod: &Pod,
        all_nodes: impl IntoIterator<Item = &'a N> + Clone,
        namespaces: &NamespaceLabels,
    ) -> Option<Self> {
        let terms = PodAffinityTerms::of(pod);
        let mut s = AffinityFilterState {
            required_affinity: terms.required_affinity,
            required_anti_affinity: terms.required_anti_affinity,
            namespace_labels: namespaces.get(pod.meta.namespace.as_str()).cloned(),
            ..Default::default()
        };
        for t in s.required_affinity.iter_mut().chain(s.required_anti_affinity.iter_mut()) {
            t.unroll_namespace_selector(namespaces);
        }
        for info in all_nodes.clone() {
            let node = info.node();
            for existing in info.pods() {
                if existing.spec.extras.affinity.pod_anti_affinity.required.is_empty() {
                    continue;
                }
                for t in PodAffinityTerms::required_anti_affinity_of(existing) {
                    if t.matches(pod, s.namespace_labels.as_ref()) {
                        s.existing_anti_affinity_counts.bump(node, &t.topology_key, 1);
                    }
                }
            }
        }
        if !s.required_affinity.is_empty() || !s.required_anti_affinity.is_empty() {
            for info in all_nodes {
                let node = info.node();
                for existing in info.pods() {
                    s.count_incoming_terms(existing, node, 1);
                }
            }
        }
        if s.existing_anti_affinity_counts.is_empty()
            && s.required_affinity.is_empty()
            && s.required_anti_affinity.is_empty()
        {
            return None;
        }
        Some(s)
    }

    fn count_incoming_terms(&mut self, existing: &Pod, node: &Node, delta: i64) {
        if pod_matches_all_terms(&self.required_affinity, existing) {
            for t in &self.required_affinity {
                self.affinity_counts.bump(node, &t.topology_key, delta);
            }
        }
        for t in &self.required_anti_affinity {
            if t.matches(existing, None) {
                self.anti_affinity_counts.bump(node, &t.topology_key, delta);
            }
        }
    }

    /// Upstream `updateWithPod` (AddPod/RemovePod with `delta` ±1).
    pub fn update_with_pod(&mut self, incoming: &Pod, updated: &Pod, node: &Node, delta: i64) {
        for t in PodAffinityTerms::required_anti_affinity_of(updated) {
            if t.matches(incoming, self.namespace_labels.as_ref()) {
                self.existing_anti_affinity_counts.bump(node, &t.topology_key, delta);
            }
        }
        self.count_incoming_terms(updated, node, delta);
    }

    /// Upstream `Filter`: required affinity, then the pod's anti-affinity, then existing pods'.
    pub fn filter(&self, pod: &Pod, node: &Node) -> AffinityVerdict {
        if !self.satisfies_pod_affinity(pod, node) {
            return AffinityVerdict::UnschedulableAndUnresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        if !self.anti_affinity_counts.is_empty() {
            for t in &self.required_anti_affinity {
                if let Some(v) = node.meta.labels.get(&t.topology_key) {
                    if self.anti_affinity_counts.get(&t.topology_key, v) > 0 {
                        return AffinityVerdict::Unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
                    }
                }
            }
        }
        if !self.existing_anti_affinity_counts.is_empty() {
            for (k, v) in &node.meta.labels {
                if self.existing_anti_affinity_counts.get(k, v) > 0 {
                    return AffinityVerdict::Unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
                }
            }
        }
        AffinityVerdict::Fits
    }

    fn satisfies_pod_affinity(&self, pod: &Pod, node: &Node) -> bool {
        let mut pods_exist = true;
        for t in &self.required_affinity {
            let Some(v) = node.meta.labels.get(&t.topology_key) else {
                // Every topology key must exist on the node.
                return false;
            };
            if self.affinity_counts.get(&t.topology_key, v) <= 0 {
                pods_exist = false;
            }
        }
        // The first pod of a group with affinity to itself: allowed when no pod anywhere matches
        // and the pod matches all its own terms.
        pods_exist || (self.affinity_counts.is_empty() && pod_matches_all_terms(&self.required_affinity, pod))
    }
}
