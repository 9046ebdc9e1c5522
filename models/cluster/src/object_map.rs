//! [`ObjectMap`]: objects by `namespace/name`, walked in key order, found by hash.
//!
//! The store's maps of Deployments and the Deployment controller's status map are walked in key
//! order (every walk must be deterministic) but read far more often by key: each of thousands of
//! HPAs looks its target Deployment and that Deployment's status up every 15 s. In a `BTreeMap`
//! each lookup compares the key with a dozen others (`namespace` then `name`, two `memcmp`s per
//! node), with a cache miss per B-tree node; a hashed lookup compares one key. The order is kept
//! in a `BTreeMap` of keys beside the hash index, so walks are as before.
//!
//! The hash ([`key_hash`]) has no per-process seed, and the hash index is only searched, never
//! walked: nothing about it can reach an answer's order.

use std::collections::BTreeMap;
use std::fmt;

use kubesim_api::ObjectKey;

/// Objects by key: ordered walks, hashed lookups. Values sit in slots that removals free and
/// inserts reuse; the slot of a key never reaches any answer.
pub struct ObjectMap<V> {
    /// Keys in order, with the slot of each.
    order: BTreeMap<ObjectKey, u32>,
    /// The key and value in each slot (`None`: free).
    slots: Vec<Option<(ObjectKey, V)>>,
    free: Vec<u32>,
    /// Slots by [`key_hash`] of their key.
    by_hash: hashbrown::HashTable<u32>,
    /// Per slot, the stamp of the key that last took it (unique within the map): a [`Handle`]
    /// names a slot and a stamp, so it stops answering once its key is removed.
    stamps: Vec<u64>,
    last_stamp: u64,
}

/// Where one key's value sits while the key has it: [`ObjectMap::get_by_handle`] reads it without
/// hashing or comparing the key (a reader that looks the same key up again and again, such as an
/// HPA's target every sync, keeps one). Stale once the key is removed, even if it comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    slot: u32,
    stamp: u64,
}

impl<V> Default for ObjectMap<V> {
    fn default() -> Self {
        ObjectMap {
            order: BTreeMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_hash: hashbrown::HashTable::new(),
            stamps: Vec::new(),
            last_stamp: 0,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for ObjectMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: PartialEq> PartialEq for ObjectMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// FxHash of `namespace/name`: the namespace, a byte no UTF-8 string contains, then the name. No
/// per-process seed, so the index it places keys in is the same on every run. The store's pod
/// index uses it too.
pub(crate) fn key_hash(namespace: &str, name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(namespace.as_bytes());
    hasher.write_u8(0xff);
    hasher.write(name.as_bytes());
    hasher.finish()
}

impl<V> ObjectMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot holding `key`.
    fn slot_of(&self, key: &ObjectKey) -> Option<u32> {
        let slots = &self.slots;
        self.by_hash
            .find(key_hash(&key.namespace, &key.name), |&slot| {
                slots[slot as usize].as_ref().is_some_and(|(k, _)| k == key)
            })
            .copied()
    }

    fn value(&self, slot: u32) -> &V {
        &self.slots[slot as usize].as_ref().expect("an indexed slot is filled").1
    }

    /// The value of `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<&V> {
        self.slot_of(key).map(|slot| self.value(slot))
    }

    /// A handle to `key`'s value, if it has one.
    pub fn handle(&self, key: &ObjectKey) -> Option<Handle> {
        self.slot_of(key).map(|slot| Handle { slot, stamp: self.stamps[slot as usize] })
    }

    /// The value `handle` names, unless its key was removed since.
    pub fn get_by_handle(&self, handle: Handle) -> Option<&V> {
        let live = self.stamps.get(handle.slot as usize) == Some(&handle.stamp);
        live.then(|| self.slots[handle.slot as usize].as_ref().map(|(_, v)| v)).flatten()
    }

    /// The value of `key` through `handle` when it still names it, else by key (and `handle`
    /// is set to the key's current handle).
    pub fn get_remembered(&self, key: &ObjectKey, handle: &mut Option<Handle>) -> Option<&V> {
        if let Some(value) = handle.and_then(|h| self.get_by_handle(h)) {
            debug_assert!(self.slot_of(key) == handle.map(|h| h.slot), "a handle is used for its own key");
            return Some(value);
        }
        *handle = self.handle(key);
        handle.and_then(|h| self.get_by_handle(h))
    }

    /// The value of `key`, to change in place.
    pub fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut V> {
        let slot = self.slot_of(key)?;
        self.slots[slot as usize].as_mut().map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.slot_of(key).is_some()
    }

    /// Sets the value of `key`; the value it replaces, if any.
    pub fn insert(&mut self, key: ObjectKey, value: V) -> Option<V> {
        if let Some(slot) = self.slot_of(&key) {
            let (_, old) = self.slots[slot as usize].as_mut().expect("an indexed slot is filled");
            return Some(std::mem::replace(old, value));
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.stamps.push(0);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 objects")
            }
        };
        self.last_stamp += 1;
        self.stamps[slot as usize] = self.last_stamp;
        let hash = key_hash(&key.namespace, &key.name);
        self.order.insert(key.clone(), slot);
        self.slots[slot as usize] = Some((key, value));
        let slots = &self.slots;
        self.by_hash.insert_unique(hash, slot, |&s| {
            let (k, _) = slots[s as usize].as_ref().expect("an indexed slot is filled");
            key_hash(&k.namespace, &k.name)
        });
        None
    }

    /// Removes `key`; its value, if it had one.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<V> {
        let slot = self.slot_of(key)?;
        if let Ok(entry) = self.by_hash.find_entry(key_hash(&key.namespace, &key.name), |&s| s == slot) {
            entry.remove();
        }
        self.order.remove(key);
        self.free.push(slot);
        // Stale at once: the slot names no key until it is taken again.
        self.last_stamp += 1;
        self.stamps[slot as usize] = self.last_stamp;
        self.slots[slot as usize].take().map(|(_, v)| v)
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Keys and values in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &V)> + '_ {
        self.order.iter().map(|(k, &slot)| (k, self.value(slot)))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> + '_ {
        self.order.keys()
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.order.values().map(|&slot| self.value(slot))
    }
}

impl<V> std::ops::Index<&ObjectKey> for ObjectMap<V> {
    type Output = V;

    fn index(&self, key: &ObjectKey) -> &V {
        self.get(key).expect("no value for the key")
    }
}

impl<'a, V> IntoIterator for &'a ObjectMap<V> {
    type Item = (&'a ObjectKey, &'a V);
    type IntoIter = Box<dyn Iterator<Item = (&'a ObjectKey, &'a V)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8, u32),
        Remove(u8, u8),
        GetMut(u8, u8, u32),
        /// Reads a key through the handle remembered for it (kept across the other ops).
        Remembered(u8, u8),
    }

    fn key(ns: u8, name: u8) -> ObjectKey {
        // Few namespaces and names, so that keys repeat, collide in prefixes and get removed.
        ObjectKey::new(&format!("ns-{}", ns % 3), &format!("obj-{}", name % 40))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(a, b, v)| Op::Insert(a, b, v)),
            2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Remove(a, b)),
            1 => (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(a, b, v)| Op::GetMut(a, b, v)),
            2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Remembered(a, b)),
        ]
    }

    proptest! {
        /// Every answer is a `BTreeMap`'s: lookups, replaced and removed values, and the walks.
        #[test]
        fn behaves_like_a_btreemap(ops in proptest::collection::vec(op(), 0..300)) {
            let mut map: ObjectMap<u32> = ObjectMap::new();
            let mut model: BTreeMap<ObjectKey, u32> = BTreeMap::new();
            let mut handles: BTreeMap<ObjectKey, Option<Handle>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Remembered(a, b) => {
                        let handle = handles.entry(key(a, b)).or_default();
                        prop_assert_eq!(map.get_remembered(&key(a, b), handle), model.get(&key(a, b)));
                        // Every other key's handle answers for its own key or not at all.
                        for (k, h) in &handles {
                            if let Some(value) = h.and_then(|h| map.get_by_handle(h)) {
                                prop_assert_eq!(Some(value), model.get(k));
                            }
                        }
                    }
                    Op::Insert(a, b, v) => prop_assert_eq!(map.insert(key(a, b), v), model.insert(key(a, b), v)),
                    Op::Remove(a, b) => prop_assert_eq!(map.remove(&key(a, b)), model.remove(&key(a, b))),
                    Op::GetMut(a, b, v) => {
                        let (ours, theirs) = (map.get_mut(&key(a, b)), model.get_mut(&key(a, b)));
                        prop_assert_eq!(ours.is_some(), theirs.is_some());
                        if let (Some(x), Some(y)) = (ours, theirs) {
                            *x = v;
                            *y = v;
                        }
                    }
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert_eq!(map.is_empty(), model.is_empty());
            }
            prop_assert!(map.iter().eq(model.iter()));
            prop_assert!(map.keys().eq(model.keys()));
            prop_assert!(map.values().eq(model.values()));
            for a in 0..3u8 {
                for b in 0..40u8 {
                    prop_assert_eq!(map.get(&key(a, b)), model.get(&key(a, b)));
                    prop_assert_eq!(map.contains_key(&key(a, b)), model.contains_key(&key(a, b)));
                }
            }
        }
    }

    #[test]
    fn a_freed_slot_is_reused_and_the_walk_stays_in_key_order() {
        let mut map = ObjectMap::new();
        map.insert(ObjectKey::new("default", "b"), 2);
        map.insert(ObjectKey::new("default", "a"), 1);
        assert_eq!(map.remove(&ObjectKey::new("default", "b")), Some(2));
        map.insert(ObjectKey::new("default", "c"), 3);
        assert_eq!(map.slots.len(), 2, "the freed slot holds c");
        let walk: Vec<_> = map.iter().map(|(k, v)| (k.name.as_str(), *v)).collect();
        assert_eq!(walk, [("a", 1), ("c", 3)]);
        assert_eq!(map[&ObjectKey::new("default", "c")], 3);
        assert!(map.get(&ObjectKey::new("default", "b")).is_none());
    }
}
