//! Node name → [`NodeId`] without string comparisons on the way: an open-addressing table
//! (linear probing, backward-shift deletion) of (name fingerprint, id), the fingerprint a fixed
//! function of the bytes. A hit is confirmed by comparing the name with the node's own.
//!
//! Every bound pod's status update looks its node up by name; in a `BTreeMap<String, NodeId>`
//! of thousands of nodes that is a dozen comparisons of names sharing long prefixes, each a
//! cache miss. The table is never iterated, so its layout cannot leak into any result.

use super::types::{name_hash, NodeId};

/// An empty slot (ids are stored plus one).
const EMPTY: u32 = 0;

/// See the module docs.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameIndex {
    /// `(fingerprint, id + 1)`; a power-of-two length, at most half full.
    table: Vec<(u64, u32)>,
    len: usize,
}

impl NameIndex {
    #[inline]
    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// The id of the node named `name`; `name_of(id)` gives a live node's name.
    #[inline]
    pub(crate) fn get<'a>(&self, name: &str, name_of: impl Fn(NodeId) -> Option<&'a str>) -> Option<NodeId> {
        if self.len == 0 {
            return None;
        }
        let h = name_hash(name);
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let (eh, eid) = self.table[i];
            if eid == EMPTY {
                return None;
            }
            if eh == h {
                let id = NodeId(eid - 1);
                if name_of(id) == Some(name) {
                    return Some(id);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Files `id` under `name` (which must not be filed yet).
    pub(crate) fn insert(&mut self, name: &str, id: NodeId) {
        if (self.len + 1) * 2 > self.table.len() {
            self.grow();
        }
        self.place(name_hash(name), id.0 + 1);
        self.len += 1;
    }

    fn place(&mut self, h: u64, stored: u32) {
        let mask = self.mask();
        let mut i = h as usize & mask;
        while self.table[i].1 != EMPTY {
            i = (i + 1) & mask;
        }
        self.table[i] = (h, stored);
    }

    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(16);
        let old = std::mem::replace(&mut self.table, vec![(0, EMPTY); size]);
        for (h, stored) in old.into_iter().filter(|e| e.1 != EMPTY) {
            self.place(h, stored);
        }
    }

    /// Forgets `id`, filed under `name`.
    pub(crate) fn remove(&mut self, name: &str, id: NodeId) {
        if self.len == 0 {
            return;
        }
        let h = name_hash(name);
        let mask = self.mask();
        let mut i = h as usize & mask;
        loop {
            let (eh, eid) = self.table[i];
            if eid == EMPTY {
                return;
            }
            if eh == h && eid == id.0 + 1 {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward shift: move later entries of the run into the hole unless their home slot
        // lies cyclically in (hole, their slot].
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let (eh, eid) = self.table[j];
            if eid == EMPTY {
                break;
            }
            let home = eh as usize & mask;
            let stays = if i <= j { i < home && home <= j } else { i < home || home <= j };
            if stays {
                continue;
            }
            self.table[i] = self.table[j];
            i = j;
        }
        self.table[i] = (0, EMPTY);
        self.len -= 1;
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
