//! Selector lookups without walking every selector: items (Services, workload entries, Service
//! loads) indexed by one label their selector requires.
//!
//! An item whose selector requires `k = v` can only select a pod carrying that label, so the
//! candidates for a pod are the items indexed under one of its labels plus those that require no
//! label at all. Callers still check the full selector on each candidate; the index only skips the
//! items that cannot match, so every answer is the one a linear scan would give.

use std::collections::BTreeMap;

use kubesim_api::Labels;

/// Item positions by the first `matchLabels` entry of their selector.
#[derive(Debug, Default, Clone)]
pub(super) struct FirstLabelIndex {
    /// key → value → items (nested so that lookups borrow the pod's strings).
    by_label: BTreeMap<String, BTreeMap<String, Vec<usize>>>,
    /// Items whose selector requires no label (they may match any pod).
    unlabelled: Vec<usize>,
}

/// What an item's selector requires, for the index.
pub(super) enum Required<'a> {
    /// It matches no pod at all (no selector, or one the caller treats as matching nothing).
    Nothing,
    /// It requires this label (any one of its `matchLabels`).
    Label(&'a str, &'a str),
    /// It requires no label: check it for every pod.
    Anything,
}

impl FirstLabelIndex {
    /// The index of `items` in order.
    pub(super) fn new<'a>(items: impl IntoIterator<Item = Required<'a>>) -> Self {
        let mut index = FirstLabelIndex::default();
        for (i, r) in items.into_iter().enumerate() {
            match r {
                Required::Nothing => {}
                Required::Label(k, v) => {
                    index.by_label.entry(k.to_string()).or_default().entry(v.to_string()).or_default().push(i)
                }
                Required::Anything => index.unlabelled.push(i),
            }
        }
        index
    }

    /// The positions of the items that may select a pod with `labels`, ascending.
    pub(super) fn candidates(&self, labels: &Labels) -> Vec<usize> {
        let mut out = self.unlabelled.clone();
        if !self.by_label.is_empty() {
            for (k, v) in labels {
                if let Some(items) = self.by_label.get(k).and_then(|values| values.get(v)) {
                    out.extend_from_slice(items);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// What a `matchLabels`-only selector (a Service's) requires.
pub(super) fn required_by_labels(selector: Option<&Labels>) -> Required<'_> {
    match selector.and_then(|s| s.iter().next()) {
        Some((k, v)) => Required::Label(k, v),
        None => Required::Nothing,
    }
}

/// What a `LabelSelector` requires (expressions only: no label, check it always).
pub(super) fn required_by_selector(selector: &kubesim_api::LabelSelector) -> Required<'_> {
    match selector.match_labels.iter().next() {
        Some((k, v)) => Required::Label(k, v),
        None => Required::Anything,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn candidates_are_the_items_under_the_pods_labels_plus_the_unlabelled_ones() {
        let a = labels(&[("app", "a")]);
        let b = labels(&[("app", "b"), ("tier", "x")]);
        let index = FirstLabelIndex::new([
            required_by_labels(Some(&a)),
            Required::Anything,
            required_by_labels(Some(&b)),
            required_by_labels(None),
            required_by_labels(Some(&a)),
        ]);
        assert_eq!(index.candidates(&labels(&[("app", "a")])), [0, 1, 4]);
        assert_eq!(index.candidates(&labels(&[("app", "b"), ("tier", "x")])), [1, 2]);
        assert_eq!(index.candidates(&labels(&[])), [1]);
    }
}
