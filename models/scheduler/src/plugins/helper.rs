//! Shared helpers (upstream `framework/plugins/helper`).

use crate::framework::{NodeScore, MAX_NODE_SCORE};

/// Upstream `DefaultNormalizeScore` (§3.5): scales to 0..=100 by the maximum (integer), optionally
/// reversed; with a maximum of 0, reverse gives 100 everywhere and forward leaves all 0.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [NodeScore]) {
    let max = scores.iter().map(|s| s.score).max().unwrap_or(0).max(0);
    if max == 0 {
        if reverse {
            for s in scores.iter_mut() {
                s.score = max_priority;
            }
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut v = max_priority * s.score / max;
        if reverse {
            v = max_priority - v;
        }
        s.score = v;
    }
}

/// [`default_normalize_score`] with `MAX_NODE_SCORE`.
pub fn normalize(reverse: bool, scores: &mut [NodeScore]) {
    default_normalize_score(MAX_NODE_SCORE, reverse, scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::NodeId;

    fn scores(v: &[i64]) -> Vec<NodeScore> {
        v.iter().enumerate().map(|(i, &s)| NodeScore { node: NodeId(i as u32), score: s }).collect()
    }

    fn values(v: &[NodeScore]) -> Vec<i64> {
        v.iter().map(|s| s.score).collect()
    }

    #[test]
    fn default_normalize_scales_by_the_maximum_with_truncation() {
        // Cases of upstream normalize_score_test.go: [10, 20, 30] → [33, 66, 100]; reverse → [67, 34, 0].
        let mut s = scores(&[10, 20, 30]);
        normalize(false, &mut s);
        assert_eq!(values(&s), [33, 66, 100]);
        let mut s = scores(&[10, 20, 30]);
        normalize(true, &mut s);
        assert_eq!(values(&s), [67, 34, 0]);
    }

    #[test]
    fn all_zero_scores_stay_zero_or_become_max_when_reversed() {
        let mut s = scores(&[0, 0]);
        normalize(false, &mut s);
        assert_eq!(values(&s), [0, 0]);
        normalize(true, &mut s);
        assert_eq!(values(&s), [100, 100]);
    }
}
