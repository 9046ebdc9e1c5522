//! Node label values as small integers, per node slot, for the few label keys plugins ask about
//! (topology keys), kept in the [`Snapshot`](super::Snapshot).
//!
//! PodTopologySpread reads each feasible node's topology labels every cycle. Looking them up in
//! the node's label map touches several scattered heap blocks per node (the node object, the
//! map's nodes, the key strings), which at thousands of nodes per cycle is most of its PreScore.
//! Here a node's values are read once per [`Snapshot::node_stamp`](super::Snapshot::node_stamp)
//! of its slot (that stamp changes whenever the node object may have changed, not with its pods,
//! and is never reused for a slot) and kept in flat per-slot arrays; values are interned per key.

use std::collections::BTreeMap;

use kubesim_api::Node;

use super::types::NodeId;

/// A value id of a node that lacks the key.
pub const ABSENT: u32 = u32::MAX;

/// Interned values of one label key.
#[derive(Clone, Debug, Default)]
struct Interned {
    ids: BTreeMap<String, u32>,
    values: Vec<String>,
}

/// Per node slot, the value ids of the registered label keys (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct NodeLabelCache {
    keys: Vec<String>,
    interned: Vec<Interned>,
    /// Per slot, the snapshot stamp its row was read at (0: never).
    stamps: Vec<u64>,
    /// Row-major, `keys.len()` ids per slot.
    rows: Vec<u32>,
}

impl NodeLabelCache {
    /// The index of `key`, registering it (which drops every cached row) if new. The empty value
    /// has id 0 under every key.
    pub fn key_index(&mut self, key: &str) -> usize {
        if let Some(k) = self.keys.iter().position(|k| k == key) {
            return k;
        }
        self.keys.push(key.to_string());
        self.interned
            .push(Interned { ids: [(String::new(), 0)].into_iter().collect(), values: vec![String::new()] });
        self.stamps.iter_mut().for_each(|s| *s = 0);
        self.rows.clear();
        self.rows.resize(self.stamps.len() * self.keys.len(), ABSENT);
        self.keys.len() - 1
    }

    /// The value ids (by key index; [`ABSENT`] where the node lacks the key) of the node in slot
    /// `id`, whose current [`node_stamp`](super::Snapshot::node_stamp) is `stamp`; `node` gives
    /// the node when its row must be re-read.
    #[inline]
    pub fn row<'n>(&mut self, id: NodeId, stamp: u64, node: impl FnOnce() -> &'n Node) -> &[u32] {
        let stride = self.keys.len();
        let at = id.index();
        // PreScore asks for every feasible node every cycle; rows are almost always current.
        if self.stamps.get(at) != Some(&stamp) {
            self.reread(at, stamp, node());
        }
        &self.rows[at * stride..(at + 1) * stride]
    }

    /// Reads the row of slot `at` from `node`, which has stamp `stamp`.
    #[cold]
    #[inline(never)]
    fn reread(&mut self, at: usize, stamp: u64, node: &Node) {
        let stride = self.keys.len();
        if self.stamps.len() <= at {
            self.stamps.resize(at + 1, 0);
            self.rows.resize((at + 1) * stride, ABSENT);
        }
        let labels = &node.meta.labels;
        for (k, key) in self.keys.iter().enumerate() {
            self.rows[at * stride + k] = match labels.get(key) {
                None => ABSENT,
                Some(v) => {
                    let interned = &mut self.interned[k];
                    match interned.ids.get(v) {
                        Some(i) => *i,
                        None => {
                            let i = interned.values.len() as u32;
                            interned.values.push(v.clone());
                            interned.ids.insert(v.clone(), i);
                            i
                        }
                    }
                }
            };
        }
        self.stamps[at] = stamp;
    }

    /// The label value with this id under key index `key`.
    pub fn value(&self, key: usize, id: u32) -> &str {
        &self.interned[key].values[id as usize]
    }

    /// Number of distinct values seen for key index `key` (ids are below it).
    pub fn value_count(&self, key: usize) -> usize {
        self.interned[key].values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(zone: Option<&str>) -> Node {
        let mut n = Node::default();
        if let Some(z) = zone {
            n.meta.labels.insert("zone".into(), z.into());
        }
        n
    }

    #[test]
    fn rows_are_reread_only_when_the_stamp_changes() {
        let mut c = NodeLabelCache::default();
        let k = c.key_index("zone");
        let a = node(Some("a"));
        // Id 0 is the empty value.
        assert_eq!(c.row(NodeId(2), 5, || &a), [1]);
        // Same stamp: the node is not consulted (it would now say "b").
        let b = node(Some("b"));
        assert_eq!(c.row(NodeId(2), 5, || &b), [1]);
        assert_eq!(c.row(NodeId(2), 6, || &b), [2]);
        let (none, empty) = (node(None), node(Some("")));
        assert_eq!(c.row(NodeId(0), 7, || &none), [ABSENT]);
        assert_eq!(c.row(NodeId(1), 8, || &empty), [0]);
        assert_eq!((c.value(k, 2), c.value(k, 0), c.value_count(k)), ("b", "", 3));
    }

    #[test]
    fn a_new_key_drops_every_row() {
        let mut c = NodeLabelCache::default();
        c.key_index("zone");
        let mut n = node(Some("a"));
        n.meta.labels.insert("rack".into(), "r1".into());
        assert_eq!(c.row(NodeId(0), 1, || &n), [1]);
        assert_eq!(c.key_index("rack"), 1);
        assert_eq!(c.row(NodeId(0), 1, || &n), [1, 1]);
        assert_eq!(c.key_index("zone"), 0);
    }
}
