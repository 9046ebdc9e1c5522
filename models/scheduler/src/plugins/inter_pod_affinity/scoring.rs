//! PreScore, Score and NormalizeScore of InterPodAffinity (preferred terms, and existing pods'
//! required affinity weighted by hardPodAffinityWeight). Upstream: `interpodaffinity/scoring.go`.

use std::collections::BTreeMap;

use kubesim_api::{Labels, Node, Pod};

use super::terms::{AffinityTerm, NamespaceLabels, PodAffinityTerms, WeightedAffinityTerm};
use crate::plugins::pod_topology_spread::NodePods;

/// MaxNodeScore.
const MAX_NODE_SCORE: f64 = 100.0;

/// `InterPodAffinityArgs`, the part scoring reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AffinityScoreArgs {
    /// Weight of an existing pod's required affinity term matching the incoming pod (default 1).
    pub hard_pod_affinity_weight: i32,
    /// Skip existing pods' preferred terms when the incoming pod has no preferred terms.
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for AffinityScoreArgs {
    fn default() -> Self {
        AffinityScoreArgs { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

/// Per-cycle scoring state: `topology key → value → Σ signed weights`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AffinityScoreState {
    /// The accumulated scores.
    pub topology_score: BTreeMap<String, BTreeMap<String, i64>>,
}

impl AffinityScoreState {
    fn process_term(
        &mut self,
        term: &AffinityTerm,
        weight: i32,
        pod: &Pod,
        ns: Option<&Labels>,
        node: &Node,
        sign: i32,
    ) {
        if !term.matches(pod, ns) {
            return;
        }
        if let Some(value) = node.meta.labels.get(&term.topology_key) {
            *self
                .topology_score
                .entry(term.topology_key.clone())
                .or_default()
                .entry(value.clone())
                .or_insert(0) += i64::from(weight * sign);
        }
    }

    fn process_terms(
        &mut self,
        terms: &[WeightedAffinityTerm],
        pod: &Pod,
        ns: Option<&Labels>,
        node: &Node,
        sign: i32,
    ) {
        for t in terms {
            self.process_term(&t.term, t.weight, pod, ns, node, sign);
        }
    }

    /// Upstream `PreScore`. Returns `None` (Skip) when existing pods' preferences are ignored and
    /// the pod has no preferred terms, or when nothing was accumulated.
    pub fn compute<'a, N: NodePods + 'a>(
        pod: &Pod,
        all_nodes: impl IntoIterator<Item = &'a N>,
        args: AffinityScoreArgs,
        namespaces: &NamespaceLabels,
    ) -> Option<Self> {
        let mut incoming = PodAffinityTerms::of(pod);
        let has_constraints =
            !incoming.preferred_affinity.is_empty() || !incoming.preferred_anti_affinity.is_empty();
        if args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return None;
        }
        for t in incoming.preferred_affinity.iter_mut().chain(incoming.preferred_anti_affinity.iter_mut()) {
            t.term.unroll_namespace_selector(namespaces);
        }
        let ns_labels = namespaces.get(pod.meta.namespace.as_str());
        let mut s = AffinityScoreState::default();
        for info in all_nodes {
            let node = info.node();
            if node.meta.labels.is_empty() {
                continue;
            }
            for existing in info.pods() {
                let a = &existing.spec.extras.affinity;
                let existing_has_affinity = !a.pod_affinity.is_empty() || !a.pod_anti_affinity.is_empty();
                // Without preferred terms of its own, only pods with affinity can contribute.
                if !has_constraints && !existing_has_affinity {
                    continue;
                }
                s.process_terms(&incoming.preferred_affinity, existing, None, node, 1);
                s.process_terms(&incoming.preferred_anti_affinity, existing, None, node, -1);
                if existing_has_affinity {
                    let theirs = PodAffinityTerms::of(existing);
                    if args.hard_pod_affinity_weight > 0 {
                        for t in &theirs.required_affinity {
                            s.process_term(t, args.hard_pod_affinity_weight, pod, ns_labels, node, 1);
                        }
                    }
                    s.process_terms(&theirs.preferred_affinity, pod, ns_labels, node, 1);
                    s.process_terms(&theirs.preferred_anti_affinity, pod, ns_labels, node, -1);
                }
            }
        }
        // Upstream skips when no node produced an entry (even a zero-valued one).
        if s.topology_score.is_empty() {
            return None;
        }
        Some(s)
    }

    /// Upstream `Score`: Σ over keys of the score at the node's value.
    pub fn score(&self, node: &Node) -> i64 {
        self.topology_score
            .iter()
            .filter_map(|(k, values)| node.meta.labels.get(k).and_then(|v| values.get(v)))
            .sum()
    }

    /// Upstream `NormalizeScore`: `trunc(100·(s − min)/(max − min))` in float64, all 0 when
    /// max == min; untouched when nothing was accumulated. min/max start at ±∞ (current upstream;
    /// before ~v1.22 they were clamped at 0).
    pub fn normalize(&self, scores: &mut [i64]) {
        if self.topology_score.is_empty() {
            return;
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            let f = if diff > 0 { MAX_NODE_SCORE * ((*s - min) as f64 / diff as f64) } else { 0.0 };
            *s = f as i64;
        }
    }
}
