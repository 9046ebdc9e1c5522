//! Keyed timers whose due time changes often: one timer per key (a node's next kubelet sync, a
//! pod's next probe transition), set, moved or cleared by key without keeping a handle.
//!
//! Built on the `priority-queue` crate, whose indexed heap changes a key's priority in place in
//! O(log n). Order is `(due time, order of the last `set`)`, so equal due times fire FIFO exactly as
//! in [`EventQueue`](crate::EventQueue). The crate indexes keys by hash; its hasher here is the
//! fixed-key SipHash of `std`, and iteration order is never observed, only priority order.

use std::cmp::Reverse;
use std::fmt;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash};

use priority_queue::PriorityQueue;

use crate::time::SimTime;

type FixedHasher = BuildHasherDefault<DefaultHasher>;

/// A set of timers keyed by `K`, at most one per key.
pub struct TimerSet<K: Hash + Eq> {
    heap: PriorityQueue<K, Reverse<(SimTime, u64)>, FixedHasher>,
    next_seq: u64,
}

impl<K: Hash + Eq> Default for TimerSet<K> {
    fn default() -> Self {
        TimerSet { heap: PriorityQueue::with_default_hasher(), next_seq: 0 }
    }
}

impl<K: Hash + Eq> fmt::Debug for TimerSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerSet").field("len", &self.heap.len()).field("next", &self.peek_time()).finish()
    }
}

impl<K: Hash + Eq> TimerSet<K> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or moves) the timer for `key` to `due`.
    pub fn set(&mut self, key: K, due: SimTime) {
        let prio = Reverse((due, self.next_seq));
        self.next_seq += 1;
        self.heap.push(key, prio);
    }

    /// Clears the timer for `key`; returns its due time if it was set.
    pub fn clear(&mut self, key: &K) -> Option<SimTime> {
        self.heap.remove(key).map(|(_, Reverse((t, _)))| t)
    }

    /// Due time of `key`'s timer.
    pub fn due(&self, key: &K) -> Option<SimTime> {
        self.heap.get_priority(key).map(|Reverse((t, _))| *t)
    }

    /// Earliest due time.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|(_, Reverse((t, _)))| *t)
    }

    /// Removes and returns the earliest timer if it is due at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, K)> {
        match self.peek_time() {
            Some(t) if t <= now => self.heap.pop().map(|(k, Reverse((t, _)))| (t, k)),
            _ => None,
        }
    }

    /// Number of timers set.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no timer is set.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_a_timer_reorders_it_and_ties_are_fifo() {
        let mut t = TimerSet::new();
        t.set("a", SimTime::from_secs(5));
        t.set("b", SimTime::from_secs(3));
        t.set("c", SimTime::from_secs(3));
        t.set("a", SimTime::from_secs(3)); // moved: now last among the t=3 timers
        assert_eq!(t.len(), 3);
        assert_eq!(t.due(&"a"), Some(SimTime::from_secs(3)));
        assert_eq!(t.pop_due(SimTime::from_secs(2)), None);
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(SimTime::from_secs(3)).map(|(_, k)| k)).collect();
        assert_eq!(order, vec!["b", "c", "a"]);
        assert!(t.is_empty());
    }

    #[test]
    fn clear_removes() {
        let mut t = TimerSet::new();
        t.set(1u32, SimTime::from_secs(1));
        assert_eq!(t.clear(&1), Some(SimTime::from_secs(1)));
        assert_eq!(t.clear(&1), None);
        assert_eq!(t.peek_time(), None);
    }
}
