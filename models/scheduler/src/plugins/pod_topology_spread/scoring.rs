//! PreScore, Score and NormalizeScore of PodTopologySpread (soft constraints, `ScheduleAnyway`).
//! Upstream: `podtopologyspread/scoring.go`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kubesim_api::meta::well_known;
use kubesim_api::Pod;

use super::common::{count_matching, node_has_all_keys, SpreadConstraint};
use super::NodePods;

/// MaxNodeScore.
const MAX_NODE_SCORE: i64 = 100;

/// State computed once per cycle at PreScore and read by Score and NormalizeScore.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpreadScoreState {
    /// Soft constraints (pod's own or the defaults), shared with the plugin's memo.
    pub constraints: Arc<Vec<SpreadConstraint>>,
    /// Feasible nodes lacking some topology key (scored 0).
    pub ignored_nodes: BTreeSet<String>,
    /// `[constraint][topology value]` → matching pods, for values present among feasible nodes
    /// (hostname constraints are counted per node at Score and have no entries here).
    pub topology_value_to_pod_counts: Vec<BTreeMap<String, i64>>,
    /// `[constraint]` → ln(number of domains + 2).
    pub topology_normalizing_weight: Vec<f64>,
}

/// Upstream `topologyNormalizingWeight`.
pub fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// Upstream `scoreForCount`: `cnt·weight + (maxSkew − 1)`.
pub fn score_for_count(cnt: i64, max_skew: i32, weight: f64) -> f64 {
    cnt as f64 * weight + f64::from(max_skew - 1)
}

/// `x.round() as i64`: Go's `math.Round` (half away from zero) then the conversion, without
/// the libm call `f64::round` compiles to on baseline x86-64 (it was a visible share of
/// PreScore). Below 2^52 in magnitude the truncation and the fractional part `x − trunc(x)` are
/// exact, so comparing the fraction with ±0.5 rounds exactly as `round` does; larger values,
/// infinities and NaN go through `round` itself.
#[inline]
pub fn round_half_away_from_zero(x: f64) -> i64 {
    const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
    if x.abs() < TWO_POW_52 {
        let t = x as i64;
        let frac = x - t as f64;
        if frac >= 0.5 {
            t + 1
        } else if frac <= -0.5 {
            t - 1
        } else {
            t
        }
    } else {
        x.round() as i64
    }
}

/// Upstream `NormalizeScore` for one node, given the smallest and largest raw score of the
/// nodes that are not ignored: ignored nodes get 0; if the largest is 0 everyone else gets 100;
/// otherwise `100·(max + min − s)/max`.
#[inline]
pub fn normalized_score(ignored: bool, score: i64, min_score: i64, max_score: i64) -> i64 {
    if ignored {
        0
    } else if max_score == 0 {
        MAX_NODE_SCORE
    } else {
        MAX_NODE_SCORE * (max_score + min_score - score) / max_score
    }
}

/// Entries of [`Normalizer`]'s table: raw scores of one cycle usually span a few dozen values.
const NORMALIZER_TABLE: usize = 128;

/// [`normalized_score`] of nodes that are not ignored, for one (min, max): when the scores
/// span fewer values than there are nodes, each value's result is computed once into a table
/// (by the same formula), so a node costs a lookup instead of a division.
#[derive(Debug)]
pub struct Normalizer {
    min_score: i64,
    max_score: i64,
    /// `table[s − min]` for `s` in `min..=max`, when `len > 0`.
    table: [i64; NORMALIZER_TABLE],
    len: usize,
}

impl Normalizer {
    /// For scores in `min_score..=max_score` (the smallest and largest raw score of the nodes
    /// that are not ignored, `max_score ≥ 0`), about `nodes` of them.
    pub fn new(min_score: i64, max_score: i64, nodes: usize) -> Self {
        let mut n = Normalizer { min_score, max_score, table: [0; NORMALIZER_TABLE], len: 0 };
        let span = max_score.checked_sub(min_score).and_then(|d| usize::try_from(d).ok());
        if let Some(span) = span.filter(|&d| max_score != 0 && d < NORMALIZER_TABLE && d < nodes) {
            for (d, t) in n.table[..=span].iter_mut().enumerate() {
                *t = normalized_score(false, min_score + d as i64, min_score, max_score);
            }
            n.len = span + 1;
        }
        n
    }

    /// `normalized_score(false, score, min_score, max_score)`.
    #[inline]
    pub fn normalized(&self, score: i64) -> i64 {
        match score.checked_sub(self.min_score).and_then(|d| usize::try_from(d).ok()) {
            Some(d) if d < self.len => self.table[d],
            _ => normalized_score(false, score, self.min_score, self.max_score),
        }
    }
}

impl SpreadScoreState {
    /// Upstream `PreScore` (after the constraints were chosen). Returns `None` for Skip: no soft
    /// constraints, or no nodes at all.
    ///
    /// `require_all_topologies` is true when the pod has its own constraints or the plugin is not
    /// system-defaulted.
    pub fn compute<'a, N: NodePods + 'a>(
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        require_all_topologies: bool,
        feasible_nodes: &[&'a N],
        all_nodes: impl IntoIterator<Item = &'a N>,
        taint_comparison_operators: bool,
    ) -> Option<Self> {
        let mut all_nodes = all_nodes.into_iter().peekable();
        if all_nodes.peek().is_none() || constraints.is_empty() {
            return None;
        }
        let mut state = Self::with_domains(constraints, require_all_topologies, feasible_nodes);
        for info in all_nodes {
            let node = info.node();
            if require_all_topologies && !node_has_all_keys(node, &state.constraints) {
                continue;
            }
            for (i, c) in state.constraints.iter().enumerate() {
                if !c.includes_node(pod, node, taint_comparison_operators) {
                    continue;
                }
                let value = node.meta.labels.get(&c.topology_key).map(String::as_str).unwrap_or_default();
                // Only domains present among the feasible nodes are counted (hostname has none).
                if let Some(slot) = state.topology_value_to_pod_counts[i].get_mut(value) {
                    *slot += count_matching(info.pods(), c, &pod.meta.namespace);
                }
            }
        }
        Some(state)
    }

    /// The first half of [`compute`](Self::compute): the constraints, ignored nodes, the domains
    /// present among the feasible nodes (counts all 0) and the normalizing weights. The caller adds
    /// each included node's matching-pod count to its domain (see `add_count`).
    pub fn with_domains<'a, N: NodePods + 'a>(
        constraints: Vec<SpreadConstraint>,
        require_all_topologies: bool,
        feasible_nodes: &[&'a N],
    ) -> Self {
        let mut state = SpreadScoreState {
            topology_value_to_pod_counts: vec![BTreeMap::new(); constraints.len()],
            ..Default::default()
        };
        let mut topo_size = vec![0usize; constraints.len()];
        for info in feasible_nodes {
            let node = info.node();
            if require_all_topologies && !node_has_all_keys(node, &constraints) {
                state.ignored_nodes.insert(node.meta.name.to_string());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == well_known::HOSTNAME {
                    continue;
                }
                // A node without the key lands in the "" domain, as upstream's map lookup does.
                let value = node.meta.labels.get(&c.topology_key).map(String::as_str).unwrap_or_default();
                if !state.topology_value_to_pod_counts[i].contains_key(value) {
                    state.topology_value_to_pod_counts[i].insert(value.to_string(), 0);
                    topo_size[i] += 1;
                }
            }
        }
        state.topology_normalizing_weight = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == well_known::HOSTNAME {
                    feasible_nodes.len() - state.ignored_nodes.len()
                } else {
                    topo_size[i]
                };
                topology_normalizing_weight(size)
            })
            .collect();
        state.constraints = Arc::new(constraints);
        state
    }

    /// Adds `count` matching pods on `node` to constraint `i`'s domain, if `node` counts for it
    /// (has every key when `require_all_topologies`, passes the inclusion policies) and its domain
    /// is among the feasible nodes'. [`compute`](Self::compute) does this for every node with the
    /// count of its pods.
    pub fn add_count(
        &mut self,
        i: usize,
        pod: &Pod,
        node: &kubesim_api::Node,
        count: i64,
        require_all_topologies: bool,
        taint_comparison_operators: bool,
    ) {
        if require_all_topologies && !node_has_all_keys(node, &self.constraints) {
            return;
        }
        let c = &self.constraints[i];
        if !c.includes_node(pod, node, taint_comparison_operators) {
            return;
        }
        let value = node.meta.labels.get(&c.topology_key).map(String::as_str).unwrap_or_default();
        if let Some(slot) = self.topology_value_to_pod_counts[i].get_mut(value) {
            *slot += count;
        }
    }

    /// Upstream `Score`: `round(Σ_c count_c·weight_c + (maxSkew_c − 1))` over the constraints whose
    /// key the node has; ignored nodes score 0.
    pub fn score<N: NodePods>(&self, pod: &Pod, info: &N) -> i64 {
        self.score_with(info.node(), |_, c| count_matching(info.pods(), c, &pod.meta.namespace))
    }

    /// [`score`](Self::score) with the node's matching-pod count for a hostname constraint given
    /// by `host_count(constraint index, constraint)`.
    pub fn score_with(
        &self,
        node: &kubesim_api::Node,
        mut host_count: impl FnMut(usize, &SpreadConstraint) -> i64,
    ) -> i64 {
        if self.ignored_nodes.contains(node.meta.name.as_str()) {
            return 0;
        }
        let mut score = 0.0f64;
        for (i, c) in self.constraints.iter().enumerate() {
            let Some(value) = node.meta.labels.get(&c.topology_key) else { continue };
            let cnt = if c.topology_key == well_known::HOSTNAME {
                host_count(i, c)
            } else {
                self.topology_value_to_pod_counts[i].get(value).copied().unwrap_or(0)
            };
            score += score_for_count(cnt, c.max_skew, self.topology_normalizing_weight[i]);
        }
        // Go's math.Round rounds half away from zero, as f64::round does.
        round_half_away_from_zero(score)
    }

    /// Upstream `NormalizeScore` over `(node name, raw score)` pairs: ignored nodes get 0; if the
    /// largest raw score is 0 everyone else gets 100; otherwise `100·(max + min − s)/max`.
    pub fn normalize(&self, scores: &mut [(String, i64)]) {
        let ignored = &self.ignored_nodes;
        self.normalize_flags(scores.iter_mut().map(|(name, s)| (ignored.contains(name.as_str()), s)));
    }

    /// [`normalize`](Self::normalize) over `(is ignored, score)` pairs.
    pub fn normalize_flags<'s>(&self, scores: impl Iterator<Item = (bool, &'s mut i64)>) {
        let scores: Vec<(bool, &mut i64)> = scores.collect();
        let mut min_score = i64::MAX;
        let mut max_score = 0i64;
        for (ignored, s) in &scores {
            if !*ignored {
                min_score = min_score.min(**s);
                max_score = max_score.max(**s);
            }
        }
        for (ignored, s) in scores {
            *s = normalized_score(ignored, *s, min_score, max_score);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The values `round` treats specially: halves, their neighbours, and the edges of the
    /// exact range.
    fn tricky(k: i64) -> Vec<f64> {
        let half = k as f64 + 0.5;
        vec![
            half,
            -half,
            half.next_up(),
            half.next_down(),
            (-half).next_up(),
            (-half).next_down(),
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            -4_503_599_627_370_495.5,
            9.3e18,
            -9.3e18,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
        ]
    }

    proptest! {
        #[test]
        fn rounding_without_libm_equals_f64_round(x in any::<f64>(), k in -1_000_000i64..1_000_000) {
            prop_assert_eq!(round_half_away_from_zero(x), x.round() as i64, "{}", x);
            for y in tricky(k) {
                prop_assert_eq!(round_half_away_from_zero(y), y.round() as i64, "{}", y);
            }
        }

        #[test]
        fn rounding_scores_of_every_size_equals_f64_round(
            cnt in 0i64..2_000_000,
            max_skew in 1i32..100,
            size in 0usize..100_000,
        ) {
            let x = score_for_count(cnt, max_skew, topology_normalizing_weight(size));
            prop_assert_eq!(round_half_away_from_zero(x), x.round() as i64);
        }
    }

    proptest! {
        #[test]
        fn the_normalizer_table_equals_the_division(
            min_score in 0i64..400,
            span in 0i64..300,
            nodes in 0usize..600,
            probes in proptest::collection::vec(-50i64..800, 1..40),
        ) {
            let max_score = min_score + span;
            let n = Normalizer::new(min_score, max_score, nodes);
            for s in (min_score..=max_score).chain(probes) {
                prop_assert_eq!(n.normalized(s), normalized_score(false, s, min_score, max_score), "{}", s);
            }
        }
    }

    #[test]
    fn the_normalizer_handles_a_zero_maximum_and_no_nodes() {
        // max 0: every node gets 100 (upstream's special case), with or without a table.
        let n = Normalizer::new(0, 0, 500);
        assert_eq!(n.normalized(0), 100);
        // No scores at all: min stays i64::MAX, max 0.
        let n = Normalizer::new(i64::MAX, 0, 0);
        assert_eq!(n.normalized(7), 100);
        // [10, 20, 30]: 100·(30 + 10 − s)/30 = 100, 66, 33.
        let n = Normalizer::new(10, 30, 1000);
        assert_eq!([n.normalized(10), n.normalized(20), n.normalized(30)], [100, 66, 33]);
    }

    #[test]
    fn halves_round_away_from_zero() {
        // Go's math.Round: 2.5 → 3, −2.5 → −3, 0.49999999999999994 → 0.
        assert_eq!(round_half_away_from_zero(2.5), 3);
        assert_eq!(round_half_away_from_zero(-2.5), -3);
        assert_eq!(round_half_away_from_zero(0.499_999_999_999_999_94), 0);
        assert_eq!(round_half_away_from_zero(2.499_999_999_999_999_6), 2);
    }
}
