//! Per node, the number of assigned pods matching a (namespace, label selector), kept up to date
//! as pods are added to and removed from the [`Snapshot`](super::Snapshot).
//!
//! PodTopologySpread counts, on every node, the pods in the incoming pod's namespace that its
//! spreading selector selects and that are not terminating (upstream `countPodsMatchSelector`).
//! Done naively that is O(all pods) per scheduling cycle. Here each (namespace, selector) in use
//! is registered on first use, then maintained on every pod add/remove, so a cycle reads counts
//! instead of matching pods.
//!
//! Registration is cheap too: a label-pair index — (namespace, key, value) → the nodes holding
//! non-terminating pods with that label, and how many — is kept for every assigned pod, and a
//! selector is counted by scanning only the pods of the nodes in the smallest node set among its
//! required pairs (`matchLabels` entries, single-value `In` expressions). A selector whose pair
//! has no pods at all (a brand-new ReplicaSet's `pod-template-hash`) costs a few map lookups;
//! only a selector without any required pair scans every pod.
//!
//! On add/remove a pod is tested only against the selectors that could select it: each selector
//! is filed under one label pair it requires (the one with the fewest nodes when it registered),
//! and a pod looks up its own label pairs; selectors without such a pair are tested against every
//! pod of their namespace. An entry whose counts fall to zero on a pod removal is evicted (its id
//! is reused), so selectors of ReplicaSets scaled away do not accumulate; using it again
//! re-registers it from the current pods. Hence a [`SelectorId`] is valid only until the next pod
//! removal.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{LabelSelector, LabelSelectorOperator, Pod};

use super::types::{NodeId, PodInfo};

/// Index of a registered (namespace, selector) in a [`SelectorCounts`].
pub type SelectorId = usize;

#[derive(Clone, Debug)]
struct Entry {
    /// Its key in `SelectorCounts::ids` ([`fingerprint`]).
    key: u64,
    namespace: String,
    selector: LabelSelector,
    /// The pair it is filed under (`None`: in `unindexed`).
    filed_under: Option<(String, String)>,
    /// Nodes with at least one matching pod, and how many.
    per_node: BTreeMap<NodeId, u32>,
}

/// One (namespace, key, value) of the label-pair index.
#[derive(Clone, Debug, Default)]
struct PairSlot {
    /// Nodes with at least one non-terminating pod of the namespace carrying the pair, and how many.
    nodes: BTreeMap<NodeId, u32>,
    /// Registered selectors filed under the pair.
    selectors: Vec<SelectorId>,
}

impl PairSlot {
    fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.selectors.is_empty()
    }
}

/// (namespace, label key, label value) → slot. Hashed: every pod assigned or removed looks up
/// each of its labels here (two levels of string-keyed B-trees per label before), and the index
/// is only searched, never walked. FxHash has no per-process seed.
type PairIndex = hashbrown::HashMap<(String, String, String), PairSlot, rustc_hash::FxBuildHasher>;

/// A borrowed (namespace, key, value) that hashes as the owned triple does (a derived `Hash`
/// hashes each field in order, and a `String` hashes as its `str`).
#[derive(Hash)]
struct PairRef<'a>(&'a str, &'a str, &'a str);

impl hashbrown::Equivalent<(String, String, String)> for PairRef<'_> {
    fn equivalent(&self, key: &(String, String, String)) -> bool {
        self.2 == key.2 && self.1 == key.1 && self.0 == key.0
    }
}

/// The slot of (namespace, key, value), made when there is none.
fn slot_or_default<'a>(
    pairs: &'a mut PairIndex,
    namespace: &str,
    key: &str,
    value: &str,
) -> &'a mut PairSlot {
    let at = PairRef(namespace, key, value);
    if !pairs.contains_key(&at) {
        pairs.insert((namespace.to_string(), key.to_string(), value.to_string()), PairSlot::default());
    }
    pairs.get_mut(&at).expect("present")
}

/// Matching-pod counts per node for every registered (namespace, selector).
#[derive(Clone, Debug, Default)]
pub struct SelectorCounts {
    /// [`fingerprint`] of (namespace, selector) → the ids with it (equal selectors compared in full).
    ids: BTreeMap<u64, Vec<SelectorId>>,
    /// Number of registered selectors.
    live: usize,
    /// By id; `None` for an evicted id awaiting reuse (in `free`).
    entries: Vec<Option<Entry>>,
    free: Vec<SelectorId>,
    pairs: PairIndex,
    /// namespace → selectors requiring no single pair (tested against every pod).
    unindexed: BTreeMap<String, Vec<SelectorId>>,
}

/// The label pairs every pod the selector selects must carry: its `matchLabels` entries and its
/// single-value `In` expressions.
fn required_pairs(selector: &LabelSelector) -> impl Iterator<Item = (&String, &String)> {
    selector.match_labels.iter().chain(
        selector
            .match_expressions
            .iter()
            .filter(|r| r.operator == LabelSelectorOperator::In && r.values.len() == 1)
            .map(|r| (&r.key, &r.values[0])),
    )
}

/// Does the counted pod predicate (upstream `countPodsMatchSelector`) hold?
fn counts(pod: &Pod, namespace: &str, selector: &LabelSelector) -> bool {
    !pod.meta.is_terminating() && pod.meta.namespace == namespace && selector.matches(&pod.meta.labels)
}

/// A deterministic 64-bit FNV-1a hash of (namespace, selector) in its structural order: the
/// lookup key of a registration, cheaper than formatting one (collisions are resolved by
/// comparing the selectors themselves).
fn fingerprint(namespace: &str, selector: &LabelSelector) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(namespace.as_bytes());
    for (k, v) in &selector.match_labels {
        eat(k.as_bytes());
        eat(v.as_bytes());
    }
    eat(b"expr");
    for r in &selector.match_expressions {
        eat(r.key.as_bytes());
        eat(&[r.operator as u8]);
        for v in &r.values {
            eat(v.as_bytes());
        }
        eat(b"end");
    }
    h
}

impl SelectorCounts {
    /// The id of a registered (namespace, selector), if it is.
    pub fn id_of(&self, namespace: &str, selector: &LabelSelector) -> Option<SelectorId> {
        self.id_with(fingerprint(namespace, selector), namespace, selector)
    }

    fn id_with(&self, key: u64, namespace: &str, selector: &LabelSelector) -> Option<SelectorId> {
        self.ids
            .get(&key)?
            .iter()
            .copied()
            .find(|id| self.entry(*id).is_some_and(|e| e.namespace == namespace && e.selector == *selector))
    }

    fn slot(&self, namespace: &str, key: &str, value: &str) -> Option<&PairSlot> {
        self.pairs.get(&PairRef(namespace, key, value))
    }

    /// The nodes holding non-terminating pods of `namespace` labelled `key=value`, and how many
    /// such pods each holds (`None`: no such pod anywhere).
    pub fn nodes_with_label(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<&BTreeMap<NodeId, u32>> {
        self.slot(namespace, key, value).map(|s| &s.nodes).filter(|n| !n.is_empty())
    }

    /// Registers a (namespace, selector) and counts its pods once. Returns its id (the existing
    /// one if already registered).
    ///
    /// `pods_of` gives the pods of a live node; `all_nodes` lists every node with its pods, for a
    /// selector without a required label pair. Otherwise only the pods of the nodes holding the
    /// rarest required pair are matched.
    pub fn register<'a>(
        &mut self,
        namespace: &str,
        selector: &LabelSelector,
        pods_of: impl Fn(NodeId) -> Option<&'a [Arc<PodInfo>]>,
        all_nodes: impl IntoIterator<Item = (NodeId, &'a [Arc<PodInfo>])>,
    ) -> SelectorId {
        let key = fingerprint(namespace, selector);
        if let Some(id) = self.id_with(key, namespace, selector) {
            return id;
        }
        // The required pair with the fewest nodes (the first such on ties).
        let mut rarest: Option<((&String, &String), usize)> = None;
        for (k, v) in required_pairs(selector) {
            let n = self.slot(namespace, k, v).map_or(0, |s| s.nodes.len());
            if rarest.is_none_or(|(_, best)| n < best) {
                rarest = Some(((k, v), n));
            }
        }
        let mut per_node = BTreeMap::new();
        let mut tally = |id: NodeId, pods: &[Arc<PodInfo>]| {
            let n = pods.iter().filter(|p| counts(&p.pod, namespace, selector)).count();
            if n > 0 {
                per_node.insert(id, n as u32);
            }
        };
        match rarest {
            Some(((k, v), _)) => {
                if let Some(slot) = self.slot(namespace, k, v) {
                    for id in slot.nodes.keys() {
                        if let Some(pods) = pods_of(*id) {
                            tally(*id, pods);
                        }
                    }
                }
            }
            None => {
                for (id, pods) in all_nodes {
                    tally(id, pods);
                }
            }
        }
        let id = self.free.pop().unwrap_or(self.entries.len());
        let filed_under = rarest.map(|((k, v), _)| (k.clone(), v.clone()));
        match &filed_under {
            Some((k, v)) => slot_or_default(&mut self.pairs, namespace, k, v).selectors.push(id),
            None => self.unindexed.entry(namespace.to_string()).or_default().push(id),
        }
        let entry = Entry {
            key,
            namespace: namespace.to_string(),
            selector: selector.clone(),
            filed_under,
            per_node,
        };
        if id == self.entries.len() {
            self.entries.push(Some(entry));
        } else {
            self.entries[id] = Some(entry);
        }
        self.ids.entry(key).or_default().push(id);
        self.live += 1;
        id
    }

    fn entry(&self, id: SelectorId) -> Option<&Entry> {
        self.entries.get(id).and_then(Option::as_ref)
    }

    /// The nodes with matching pods of a registered selector, and how many (absent = 0; an
    /// unknown or evicted id has none).
    pub fn per_node(&self, id: SelectorId) -> &BTreeMap<NodeId, u32> {
        static NONE: BTreeMap<NodeId, u32> = BTreeMap::new();
        self.entry(id).map_or(&NONE, |e| &e.per_node)
    }

    /// Number of matching pods on one node.
    pub fn count(&self, id: SelectorId, node: NodeId) -> u32 {
        self.entry(id).and_then(|e| e.per_node.get(&node)).copied().unwrap_or(0)
    }

    /// Number of registered selectors.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True with none registered.
    pub fn is_empty(&self) -> bool {
        self.live == 0
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
        if pod.meta.is_terminating() {
            return;
        }
        let ns = pod.meta.namespace.as_str();
        let mut candidates: Vec<SelectorId> = Vec::new();
        for (k, v) in &pod.meta.labels {
            let slot = if add {
                slot_or_default(&mut self.pairs, ns, k, v)
            } else {
                let Some(slot) = self.pairs.get_mut(&PairRef(ns, k, v)) else { continue };
                slot
            };
            candidates.extend_from_slice(&slot.selectors);
            bump(&mut slot.nodes, node, add);
            if slot.is_empty() {
                self.pairs.remove(&PairRef(ns, k, v));
            }
        }
        if let Some(ids) = self.unindexed.get(ns) {
            candidates.extend_from_slice(ids);
        }
        for id in candidates {
            let Some(e) = self.entries[id].as_mut() else { continue };
            if !counts(pod, &e.namespace, &e.selector) {
                continue;
            }
            bump(&mut e.per_node, node, add);
            if !add && e.per_node.is_empty() {
                self.evict(id);
            }
        }
    }

    /// Forgets a selector whose counts are all zero: using it again re-registers it.
    fn evict(&mut self, id: SelectorId) {
        let Some(e) = self.entries[id].take() else { return };
        self.live -= 1;
        if let Some(ids) = self.ids.get_mut(&e.key) {
            ids.retain(|s| *s != id);
            if ids.is_empty() {
                self.ids.remove(&e.key);
            }
        }
        match &e.filed_under {
            Some((k, v)) => {
                let at = PairRef(&e.namespace, k, v);
                if let Some(slot) = self.pairs.get_mut(&at) {
                    slot.selectors.retain(|s| *s != id);
                    if slot.is_empty() {
                        self.pairs.remove(&at);
                    }
                }
            }
            None => {
                if let Some(ids) = self.unindexed.get_mut(&e.namespace) {
                    ids.retain(|s| *s != id);
                    if ids.is_empty() {
                        self.unindexed.remove(&e.namespace);
                    }
                }
            }
        }
        self.free.push(id);
    }
}

/// Adds or takes one from `node`'s count, dropping it at zero.
fn bump(per_node: &mut BTreeMap<NodeId, u32>, node: NodeId, add: bool) {
    if add {
        *per_node.entry(node).or_insert(0) += 1;
    } else if let Some(n) = per_node.get_mut(&node) {
        *n -= 1;
        if *n == 0 {
            per_node.remove(&node);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use kubesim_api::{LabelSelectorRequirement, ObjectMeta};

    use super::*;

    fn pod(name: &str, labels: &[(&str, &str)]) -> Arc<PodInfo> {
        let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
        for (k, v) in labels {
            p.meta.labels.insert(k.to_string(), v.to_string());
        }
        Arc::new(PodInfo::new(p, Default::default()))
    }

    /// `app=web` plus `pod-template-hash In (hash)`: a default spreading selector's shape.
    fn rs_selector(hash: &str) -> LabelSelector {
        let mut s = LabelSelector::from_labels([("app", "web")]);
        s.match_expressions.push(LabelSelectorRequirement {
            key: "pod-template-hash".into(),
            operator: LabelSelectorOperator::In,
            values: vec![hash.into()],
        });
        s
    }

    /// Three nodes: n0 holds two `web/h1` pods, n1 one `web/h1` pod, n2 one `db` pod.
    fn cluster() -> (SelectorCounts, Vec<Vec<Arc<PodInfo>>>) {
        let nodes = vec![
            vec![
                pod("a", &[("app", "web"), ("pod-template-hash", "h1")]),
                pod("b", &[("app", "web"), ("pod-template-hash", "h1")]),
            ],
            vec![pod("c", &[("app", "web"), ("pod-template-hash", "h1")])],
            vec![pod("d", &[("app", "db")])],
        ];
        let mut counts = SelectorCounts::default();
        for (i, pods) in nodes.iter().enumerate() {
            for p in pods {
                counts.pod_added(NodeId(i as u32), &p.pod);
            }
        }
        (counts, nodes)
    }

    #[test]
    fn a_selector_whose_rarest_pair_has_no_pods_registers_without_reading_any_node() {
        let (mut counts, nodes) = cluster();
        let reads = Cell::new(0);
        let id = counts.register(
            "default",
            &rs_selector("h2"),
            |id: NodeId| {
                reads.set(reads.get() + 1);
                Some(nodes[id.index()].as_slice())
            },
            nodes.iter().enumerate().map(|(i, p)| {
                reads.set(reads.get() + 1);
                (NodeId(i as u32), p.as_slice())
            }),
        );
        assert_eq!(reads.get(), 0);
        assert!(counts.per_node(id).is_empty());
    }

    #[test]
    fn registration_reads_only_the_nodes_holding_the_rarest_required_pair() {
        let (mut counts, nodes) = cluster();
        let reads = Cell::new(0);
        let id = counts.register(
            "default",
            &rs_selector("h1"),
            |id: NodeId| {
                reads.set(reads.get() + 1);
                Some(nodes[id.index()].as_slice())
            },
            std::iter::empty(),
        );
        // app=web and the hash are both on n0 and n1: two node reads, counts 2 and 1.
        assert_eq!(reads.get(), 2);
        assert_eq!(
            (counts.count(id, NodeId(0)), counts.count(id, NodeId(1)), counts.count(id, NodeId(2))),
            (2, 1, 0)
        );
        assert_eq!(counts.nodes_with_label("default", "app", "db").map(|n| n.len()), Some(1));
        assert_eq!(counts.nodes_with_label("other", "app", "db"), None);
    }

    #[test]
    fn a_selector_whose_counts_fall_to_zero_is_evicted_and_its_id_reused() {
        let (mut counts, nodes) = cluster();
        let pods_of = |id: NodeId| Some(nodes[id.index()].as_slice());
        let old = counts.register("default", &rs_selector("h1"), pods_of, std::iter::empty());
        let db = counts.register(
            "default",
            &LabelSelector::from_labels([("app", "db")]),
            pods_of,
            std::iter::empty(),
        );
        assert_eq!(counts.len(), 2);
        // The rollout scales the old ReplicaSet away.
        counts.pod_removed(NodeId(0), &nodes[0][0].pod);
        counts.pod_removed(NodeId(0), &nodes[0][1].pod);
        assert_eq!(counts.len(), 2, "one pod is left on n1");
        counts.pod_removed(NodeId(1), &nodes[1][0].pod);
        assert_eq!(counts.len(), 1);
        assert_eq!(counts.id_of("default", &rs_selector("h1")), None);
        assert_eq!(counts.nodes_with_label("default", "app", "web"), None);
        assert_eq!(counts.count(db, NodeId(2)), 1);
        let new = counts.register("default", &rs_selector("h2"), |_| None, std::iter::empty());
        assert_eq!(new, old);
        assert!(counts.per_node(new).is_empty());
    }

    #[test]
    fn an_unlabelled_pod_leaves_the_counts_of_a_selector_requiring_no_pair() {
        // `app Exists` requires no single pair (filed as unindexed); `tier NotIn (db)` matches a
        // pod without labels. The pod's removal must take it out again even when no pod of the
        // namespace carries any label (the namespace then has no pair slots at all).
        let mut counts = SelectorCounts::default();
        let bare = pod("bare", &[]);
        let mut not_db = LabelSelector::default();
        not_db.match_expressions.push(LabelSelectorRequirement {
            key: "tier".into(),
            operator: LabelSelectorOperator::NotIn,
            values: vec!["db".into()],
        });
        let id = counts.register("default", &not_db, |_| None, std::iter::empty());
        counts.pod_added(NodeId(0), &bare.pod);
        assert_eq!(counts.count(id, NodeId(0)), 1);
        counts.pod_removed(NodeId(0), &bare.pod);
        assert_eq!(counts.count(id, NodeId(0)), 0);
        assert_eq!(counts.id_of("default", &not_db), None, "evicted once its counts fell to zero");
    }

    #[test]
    fn terminating_pods_are_neither_indexed_nor_counted() {
        let mut counts = SelectorCounts::default();
        let mut p = Pod { meta: ObjectMeta::named("default", "t"), ..Default::default() };
        p.meta.labels.insert("app".into(), "web".into());
        p.meta.deletion_timestamp = Some(sim_core::SimTime::ZERO);
        let pods = vec![Arc::new(PodInfo::new(p, Default::default()))];
        counts.pod_added(NodeId(0), &pods[0].pod);
        assert_eq!(counts.nodes_with_label("default", "app", "web"), None);
        let id = counts.register(
            "default",
            &LabelSelector::default(),
            |_| None,
            std::iter::once((NodeId(0), pods.as_slice())),
        );
        assert_eq!(counts.count(id, NodeId(0)), 0);
    }
}
