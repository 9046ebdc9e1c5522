//! A 4-ary min-heap of packed `u128` keys, the storage under [`EventQueue`](crate::EventQueue).
//!
//! Four children per node halve the depth of a binary heap; the four children of a node sit in one
//! 64-byte cache line, so a sift-down step costs one line fill instead of one per level. Sifts move a
//! "hole" rather than swapping. Measured against `std::collections::BinaryHeap` in
//! `docs/performance.md`.

#[derive(Debug, Default, Clone)]
pub(crate) struct Heap4 {
    keys: Vec<u128>,
}

impl Heap4 {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Heap4 { keys: Vec::with_capacity(capacity) }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u128> {
        self.keys.first().copied()
    }

    /// Gives back memory when at most a quarter of the capacity is used (after a spike of
    /// pending events), keeping room for the heap to double.
    pub(crate) fn shrink_to_fit_loosely(&mut self) {
        if self.keys.capacity() >= 4 * self.keys.len().max(256) {
            self.keys.shrink_to(2 * self.keys.len());
        }
    }

    /// The keys in heap order (children of `i` at `4i + 1 ..= 4i + 4`).
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u128] {
        &self.keys
    }

    #[inline]
    pub(crate) fn push(&mut self, key: u128) {
        let mut i = self.keys.len();
        self.keys.push(key);
        while i > 0 {
            let parent = (i - 1) / 4;
            let p = self.keys[parent];
            if p <= key {
                break;
            }
            self.keys[i] = p;
            i = parent;
        }
        self.keys[i] = key;
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<u128> {
        let last = self.keys.pop()?;
        if self.keys.is_empty() {
            return Some(last);
        }
        let top = self.keys[0];
        let n = self.keys.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            // Smallest of up to four children.
            let end = (first + 4).min(n);
            let mut c = first;
            let mut ck = self.keys[first];
            for j in first + 1..end {
                let k = self.keys[j];
                if k < ck {
                    c = j;
                    ck = k;
                }
            }
            if last <= ck {
                break;
            }
            self.keys[i] = ck;
            i = c;
        }
        self.keys[i] = last;
        Some(top)
    }

    /// Keeps only the keys for which `keep` holds, then restores the heap order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u128) -> bool) {
        let mut keys = std::mem::take(&mut self.keys);
        keys.retain(|k| keep(*k));
        keys.sort_unstable();
        // A sorted array is a valid heap.
        self.keys = keys;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_sorted_order() {
        let mut h = Heap4::with_capacity(0);
        let mut x: u128 = 12345;
        let mut all = Vec::new();
        for _ in 0..1000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) % 1_000_003;
            h.push(x);
            all.push(x);
        }
        all.sort_unstable();
        let popped: Vec<u128> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(popped, all);
    }
}
