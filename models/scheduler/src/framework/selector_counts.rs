//! Per node, the number of assigned pods matching a (namespace, label selector), kept up to date
//! as pods are added to and removed from the [`Snapshot`](super::Snapshot).
//!
//! PodTopologySpread counts, on every node, the pods in the incoming pod's namespace that its
//! spreading selector selects and that are not terminating (upstream `countPodsMatchSelector`).
//! Done naively that is O(all pods) per scheduling cycle. Here each (namespace, selector) in use
//! is registered on first use (one scan of the cluster), then maintained on every pod add/remove,
//! so a cycle reads counts instead of matching pods. Entries are never evicted: their number is
//! bounded by the distinct selectors pods have been scheduled with (Services/controllers).
//!
//! On add/remove a pod is tested only against the selectors that could select it: each selector is
//! filed under one label pair it requires (its first `matchLabels` entry, else its first `In`
//! expression with a single value), and a pod looks up its own label pairs; selectors without such
//! a pair are tested against every pod of their namespace.

use std::collections::BTreeMap;

use kubesim_api::{LabelSelector, LabelSelectorOperator, Pod};

use super::types::NodeId;

/// Index of a registered (namespace, selector) in a [`SelectorCounts`].
pub type SelectorId = usize;

#[derive(Clone, Debug)]
struct Entry {
    namespace: String,
    selector: LabelSelector,
    /// Nodes with at least one matching pod, and how many.
    per_node: BTreeMap<NodeId, u32>,
}

/// Matching-pod counts per node for every registered (namespace, selector).
#[derive(Clone, Debug, Default)]
pub struct SelectorCounts {
    /// Canonical key (namespace and the selector's debug form) → id.
    ids: BTreeMap<String, SelectorId>,
    entries: Vec<Entry>,
    /// namespace → label key → label value → selectors requiring that pair.
    by_pair: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<SelectorId>>>>,
    /// namespace → selectors requiring no single pair (tested against every pod).
    unindexed: BTreeMap<String, Vec<SelectorId>>,
}

/// A label pair every pod the selector selects must carry, if the selector has an obvious one.
fn required_pair(selector: &LabelSelector) -> Option<(&String, &String)> {
    if let Some(pair) = selector.match_labels.iter().next() {
        return Some(pair);
    }
    selector
        .match_expressions
        .iter()
        .find(|r| r.operator == LabelSelectorOperator::In && r.values.len() == 1)
        .map(|r| (&r.key, &r.values[0]))
}

/// Does the counted pod predicate (upstream `countPodsMatchSelector`) hold?
fn counts(pod: &Pod, namespace: &str, selector: &LabelSelector) -> bool {
    !pod.meta.is_terminating() && pod.meta.namespace == namespace && selector.matches(&pod.meta.labels)
}

fn key_of(namespace: &str, selector: &LabelSelector) -> String {
    format!("{namespace}\u{0}{selector:?}")
}

impl SelectorCounts {
    /// The id of a registered (namespace, selector), if it is.
    pub fn id_of(&self, namespace: &str, selector: &LabelSelector) -> Option<SelectorId> {
        self.ids.get(&key_of(namespace, selector)).copied()
    }

    /// Registers a (namespace, selector), counting the pods of `nodes` (every node of the
    /// snapshot with its pods) once. Returns its id (the existing one if already registered).
    pub fn register<'a>(
        &mut self,
        namespace: &str,
        selector: &LabelSelector,
        nodes: impl IntoIterator<Item = (NodeId, &'a [std::sync::Arc<super::types::PodInfo>])>,
    ) -> SelectorId {
        let key = key_of(namespace, selector);
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let mut per_node = BTreeMap::new();
        for (id, pods) in nodes {
            let n = pods.iter().filter(|p| counts(&p.pod, namespace, selector)).count();
            if n > 0 {
                per_node.insert(id, n as u32);
            }
        }
        let id = self.entries.len();
        match required_pair(selector) {
            Some((k, v)) => self
                .by_pair
                .entry(namespace.to_string())
                .or_default()
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .push(id),
            None => self.unindexed.entry(namespace.to_string()).or_default().push(id),
        }
        self.entries.push(Entry { namespace: namespace.to_string(), selector: selector.clone(), per_node });
        self.ids.insert(key, id);
        id
    }

    /// The nodes with matching pods of a registered selector, and how many (absent = 0).
    pub fn per_node(&self, id: SelectorId) -> &BTreeMap<NodeId, u32> {
        &self.entries[id].per_node
    }

    /// Number of matching pods on one node.
    pub fn count(&self, id: SelectorId, node: NodeId) -> u32 {
        self.entries[id].per_node.get(&node).copied().unwrap_or(0)
    }

    /// Number of registered selectors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True with none registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A pod was assigned to `node`.
    pub fn pod_added(&mut self, node: NodeId, pod: &Pod) {
        self.apply(node, pod, true);
    }

    /// A pod left `node` (deleted, unassigned, or its node removed).
    pub fn pod_removed(&mut self, node: NodeId, pod: &Pod) {
        self.apply(node, pod, false);
    }

    fn apply(&mut self, node: NodeId, pod: &Pod, add: bool) {
        if self.entries.is_empty() || pod.meta.is_terminating() {
            return;
        }
        let ns = pod.meta.namespace.as_str();
        let mut candidates: Vec<SelectorId> = Vec::new();
        if let Some(by_key) = self.by_pair.get(ns) {
            for (k, v) in &pod.meta.labels {
                if let Some(ids) = by_key.get(k).and_then(|by_value| by_value.get(v)) {
                    candidates.extend_from_slice(ids);
                }
            }
        }
        if let Some(ids) = self.unindexed.get(ns) {
            candidates.extend_from_slice(ids);
        }
        for id in candidates {
            let e = &mut self.entries[id];
            if !counts(pod, &e.namespace, &e.selector) {
                continue;
            }
            if add {
                *e.per_node.entry(node).or_insert(0) += 1;
            } else if let Some(n) = e.per_node.get_mut(&node) {
                *n -= 1;
                if *n == 0 {
                    e.per_node.remove(&node);
                }
            }
        }
    }
}
