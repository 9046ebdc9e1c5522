//! Node name → [`NodeId`] without string comparisons on the way: a `hashbrown::HashTable` of
//! (name fingerprint, id), the fingerprint a fixed function of the bytes. A hit is confirmed by
//! comparing the name with the node's own.
//!
//! Every bound pod's status update looks its node up by name; in a `BTreeMap<String, NodeId>`
//! of thousands of nodes that is a dozen comparisons of names sharing long prefixes, each a
//! cache miss. The table is never iterated, so its layout cannot leak into any result.

use super::types::{name_hash, NodeId};

/// See the module docs.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameIndex {
    /// `(fingerprint, id)`.
    table: hashbrown::HashTable<(u64, u32)>,
}

impl NameIndex {
    /// The id of the node named `name`; `name_of(id)` gives a live node's name.
    #[inline]
    pub(crate) fn get<'a>(&self, name: &str, name_of: impl Fn(NodeId) -> Option<&'a str>) -> Option<NodeId> {
        let h = name_hash(name);
        self.table
            .find(h, |&(eh, id)| eh == h && name_of(NodeId(id)) == Some(name))
            .map(|&(_, id)| NodeId(id))
    }

    /// Files `id` under `name` (which must not be filed yet).
    pub(crate) fn insert(&mut self, name: &str, id: NodeId) {
        let h = name_hash(name);
        self.table.insert_unique(h, (h, id.0), |&(eh, _)| eh);
    }

    /// Forgets `id`, filed under `name`.
    pub(crate) fn remove(&mut self, name: &str, id: NodeId) {
        let h = name_hash(name);
        if let Ok(entry) = self.table.find_entry(h, |&(eh, eid)| eh == h && eid == id.0) {
            entry.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Inserts and removes names as `ops` say, checking every lookup against a plain map.
    fn check_against_a_map(ops: &[(bool, u8)]) {
        let mut index = NameIndex::default();
        let mut model: BTreeMap<String, NodeId> = BTreeMap::new();
        // Slot names, as the snapshot's nodes would answer.
        let mut names: Vec<Option<String>> = Vec::new();
        for &(insert, n) in ops {
            let name = format!("node-{n}");
            if insert && !model.contains_key(&name) {
                let id = NodeId(names.len() as u32);
                names.push(Some(name.clone()));
                index.insert(&name, id);
                model.insert(name, id);
            } else if !insert {
                if let Some(id) = model.remove(&name) {
                    index.remove(&name, id);
                    names[id.index()] = None;
                }
            }
            for k in 0..=u8::MAX / 4 {
                let probe = format!("node-{k}");
                let found = index.get(&probe, |id| names.get(id.index()).and_then(|n| n.as_deref()));
                assert_eq!(found, model.get(&probe).copied(), "{probe} after {ops:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn lookups_agree_with_a_plain_map(
            ops in proptest::collection::vec((proptest::bool::weighted(0.7), 0u8..64), 0..200),
        ) {
            check_against_a_map(&ops);
        }

        #[test]
        fn lookups_agree_with_a_plain_map_when_fingerprints_collide(
            ops in proptest::collection::vec((proptest::bool::weighted(0.7), 0u8..64), 0..120),
        ) {
            super::super::types::test_collisions::ON.with(|c| c.set(true));
            check_against_a_map(&ops);
            super::super::types::test_collisions::ON.with(|c| c.set(false));
        }
    }
}
