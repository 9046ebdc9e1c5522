//! [`SortedVec`]: a small map kept as one list sorted by key.
//!
//! A node holds tens of sandboxes and containers. A `BTreeMap` of that size is a few half-full
//! leaves of eleven slots each (plus their headers), about twice the entries' own size; the list
//! is the entries alone, contiguous, and its binary search touches a few cache lines where the
//! tree walks node pointers. Inserting or removing shifts the entries after it, tens of them.

/// Makes room for one more entry in `v`, growing it by a quarter (at least 4) rather than
/// doubling: these lists live as long as their node and hover around a few tens of entries, where
/// doubling past 32 would leave up to half of each list unused for good.
pub(crate) fn make_room<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(4));
    }
}

/// Entries `(key, value)` sorted by key, each key once.
///
/// The keys are kept in a list of their own beside the values: a lookup's binary search reads
/// only the dense keys (a node's few tens of container ids fit in a few cache lines) and touches
/// one value, where a list of pairs would bring in a whole entry at every probe.
#[derive(Clone, Debug)]
pub(crate) struct SortedVec<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
}

impl<K, V> Default for SortedVec<K, V> {
    fn default() -> Self {
        SortedVec { keys: Vec::new(), values: Vec::new() }
    }
}

impl<K: Ord + Copy, V> SortedVec<K, V> {
    fn position(&self, key: &K) -> Result<usize, usize> {
        self.keys.binary_search(key)
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().map(|i| &self.values[i])
    }

    /// The value of `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.position(key).ok().map(|i| &mut self.values[i])
    }

    /// True if `key` is present.
    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, replacing what it had.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.position(&key) {
            Ok(i) => self.values[i] = value,
            Err(i) => {
                make_room(&mut self.keys);
                make_room(&mut self.values);
                self.keys.insert(i, key);
                self.values.insert(i, value);
            }
        }
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key).ok()?;
        self.keys.remove(i);
        Some(self.values.remove(i))
    }

    /// The keys in `lo..=hi`, ascending.
    pub(crate) fn keys_in(&self, lo: K, hi: K) -> impl Iterator<Item = K> + '_ {
        let from = self.keys.partition_point(|k| *k < lo);
        self.keys[from..].iter().take_while(move |k| **k <= hi).copied()
    }

    /// Every entry, by ascending key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &V)> + '_ {
        self.keys.iter().copied().zip(&self.values)
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_sorted_and_each_key_is_found_replaced_and_removed() {
        let mut m = SortedVec::default();
        for k in [5u64, 1, 9, 3, 7] {
            m.insert(k, k * 10);
        }
        m.insert(3, 33);
        assert_eq!(m.len(), 5);
        assert_eq!((m.get(&3), m.get(&4), m.contains_key(&9)), (Some(&33), None, true));
        *m.get_mut(&9).unwrap() += 1;
        assert_eq!(m.remove(&9), Some(91));
        assert_eq!(m.remove(&9), None);
        assert_eq!(m.keys_in(2, 7).collect::<Vec<_>>(), [3, 5, 7]);
        assert_eq!(m.keys_in(8, 100).count(), 0);
        let all: Vec<(u64, u64)> = m.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(all, [(1, 10), (3, 33), (5, 50), (7, 70)]);
        m.clear();
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn lists_grow_by_a_quarter_not_by_doubling() {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..33 {
            make_room(&mut v);
            v.push(i);
        }
        // 4, 8, 12, 16, 20, 25, 31, 38: a 33-entry list has room for 38, not 64.
        assert!(v.capacity() < 40, "{}", v.capacity());
    }
}
