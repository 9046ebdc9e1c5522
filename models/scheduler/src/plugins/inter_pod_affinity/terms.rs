//! Affinity terms as the scheduler evaluates them: namespaces resolved, `matchLabelKeys` /
//! `mismatchLabelKeys` merged into the selector. Upstream `framework/types.go :: AffinityTerm,
//! newAffinityTerm, getNamespacesFromPodAffinityTerm` and `interpodaffinity/plugin.go ::
//! mergeAffinityTermNamespacesIfNotEmpty`.

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, Node, Pod, PodAffinityTerm,
};

/// Labels of every Namespace object, by name (the caller's namespace lister).
pub type NamespaceLabels = BTreeMap<String, Labels>;

/// A pod (anti-)affinity term ready for matching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AffinityTerm {
    /// Namespaces named by the term (or the owning pod's namespace when the term names none and
    /// has no namespace selector).
    pub namespaces: BTreeSet<String>,
    /// `namespaceSelector`: `None` selects no namespace, `Some(empty)` every namespace.
    pub namespace_selector: Option<LabelSelector>,
    /// Pod selector, with match/mismatch label keys merged; `None` selects no pod.
    pub selector: Option<LabelSelector>,
    /// `topologyKey`.
    pub topology_key: String,
}

/// A term with its weight (preferred terms; required terms scored with hardPodAffinityWeight).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Weight 1..=100.
    pub weight: i32,
}

impl AffinityTerm {
    /// Resolves `term` as written in `owner`'s spec.
    ///
    /// `matchLabelKeys`/`mismatchLabelKeys` become `key In/NotIn (owner's value)` requirements —
    /// kube-apiserver merges them at pod creation (MatchLabelKeysInPodAffinity, GA in v1.33); a
    /// key the owner lacks is ignored, and a nil selector stays nil.
    pub fn new(owner: &Pod, term: &PodAffinityTerm) -> Self {
        let namespaces = if term.namespaces.is_empty() && term.namespace_selector.is_none() {
            BTreeSet::from([owner.meta.namespace.to_string()])
        } else {
            term.namespaces.iter().cloned().collect()
        };
        let selector = term.label_selector.as_ref().map(|sel| {
            let mut sel = sel.clone();
            let keyed = |keys: &[String], operator| {
                keys.iter()
                    .filter_map(|k| owner.meta.labels.get(k).map(|v| (k, v)))
                    .map(move |(k, v)| LabelSelectorRequirement {
                        key: k.clone(),
                        operator,
                        values: vec![v.clone()],
                    })
                    .collect::<Vec<_>>()
            };
            sel.match_expressions.extend(keyed(&term.match_label_keys, LabelSelectorOperator::In));
            sel.match_expressions.extend(keyed(&term.mismatch_label_keys, LabelSelectorOperator::NotIn));
            sel
        });
        AffinityTerm {
            namespaces,
            namespace_selector: term.namespace_selector.clone(),
            selector,
            topology_key: term.topology_key.clone(),
        }
    }

    /// Upstream `AffinityTerm.Matches`: the pod is in one of the term's namespaces (by name, or
    /// by the namespace selector applied to `pod_namespace_labels`) and its labels match.
    pub fn matches(&self, pod: &Pod, pod_namespace_labels: Option<&Labels>) -> bool {
        let empty = Labels::new();
        let in_namespace = self.namespaces.contains(pod.meta.namespace.as_str())
            || self
                .namespace_selector
                .as_ref()
                .is_some_and(|s| s.matches(pod_namespace_labels.unwrap_or(&empty)));
        in_namespace && self.selector.as_ref().is_some_and(|s| s.matches(&pod.meta.labels))
    }

    /// Upstream `mergeAffinityTermNamespacesIfNotEmpty`, applied to the incoming pod's terms: a
    /// non-empty namespace selector is replaced by the names of the namespaces it selects, so
    /// matching needs no per-pod namespace lookup. An empty selector (all namespaces) is kept.
    pub fn unroll_namespace_selector(&mut self, namespaces: &NamespaceLabels) {
        let Some(sel) = &self.namespace_selector else { return };
        if sel.is_empty() {
            return;
        }
        for (name, labels) in namespaces {
            if sel.matches(labels) {
                self.namespaces.insert(name.clone());
            }
        }
        self.namespace_selector = None;
    }

    /// The node's value for the term's topology key.
    pub fn topology_value<'n>(&self, node: &'n Node) -> Option<&'n String> {
        node.meta.labels.get(&self.topology_key)
    }
}

/// The four term lists of a pod, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerms {
    /// Required affinity.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required anti-affinity.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred affinity.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred anti-affinity.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

impl PodAffinityTerms {
    /// Resolves every term of `pod`.
    pub fn of(pod: &Pod) -> Self {
        let a = &pod.spec.extras.affinity;
        let req = |terms: &[PodAffinityTerm]| terms.iter().map(|t| AffinityTerm::new(pod, t)).collect();
        let pref = |terms: &[kubesim_api::WeightedPodAffinityTerm]| {
            terms
                .iter()
                .map(|t| WeightedAffinityTerm { term: AffinityTerm::new(pod, &t.term), weight: t.weight })
                .collect()
        };
        PodAffinityTerms {
            required_affinity: req(&a.pod_affinity.required),
            required_anti_affinity: req(&a.pod_anti_affinity.required),
            preferred_affinity: pref(&a.pod_affinity.preferred),
            preferred_anti_affinity: pref(&a.pod_anti_affinity.preferred),
        }
    }

    /// Resolves only the required anti-affinity terms (what existing pods contribute to Filter).
    pub fn required_anti_affinity_of(pod: &Pod) -> Vec<AffinityTerm> {
        pod.spec
            .extras
            .affinity
            .pod_anti_affinity
            .required
            .iter()
            .map(|t| AffinityTerm::new(pod, t))
            .collect()
    }
}

/// Upstream `podMatchesAllAffinityTerms`: false for an empty list; the terms are the incoming
/// pod's (namespace selectors unrolled), so no namespace labels are needed.
pub fn pod_matches_all_terms(terms: &[AffinityTerm], pod: &Pod) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, None))
}
