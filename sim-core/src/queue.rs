//! The pending-event set.
//!
//! [`EventQueue`] hands events back in a **total order on `(time, insertion sequence)`**: earlier
//! times first, and events scheduled for the same instant in the order they were scheduled
//! (first-in first-out). Rescheduling an event counts as a new insertion.
//!
//! # Structure (chosen by measurement, see `docs/performance.md`)
//!
//! The heap holds 16-byte keys only: `time << 64 | seq << 24 | slot`, compared as one `u128`. The
//! payloads live in a slab indexed by `slot`, so sifting moves no payload bytes and the key already
//! carries the FIFO tie-break. Cancelling an event frees its slab slot at once and leaves its key in
//! the heap as a tombstone, recognised on pop because the slot's current key differs; tombstones are
//! swept when they outnumber live events. This keeps `pop` within a few percent of a bare
//! `BinaryHeap<(time, seq)>`, where a keyed structure (the `priority-queue` crate, measured too) pays
//! a hash-map update on every operation.
//!
//! The slab does not keep its peak size: a run's pending set can spike (at full scale 150,000 pod
//! starts are pending at t = 0, then about 2,000 timers), and slab slots are 100 bytes or more. When
//! at most a quarter of the slots are live, new events are steered into the lowest slots (the free
//! list then holds only slots below twice the live count) and the vacant tail is cut off once the
//! events above it have fired. Which slot an event occupies is invisible: order is by time and
//! sequence, and a handle to a cut-off slot is simply stale.
//!
//! Limits, each reported as a typed error rather than a panic: at most 2^24 − 1 (16.7 million)
//! events pending at once, and at most 2^40 (1.1 × 10^12) insertions over one queue's life.

use std::fmt;

use crate::heap4::Heap4;

use crate::time::{SimDuration, SimTime};

const SLOT_BITS: u32 = 24;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// Largest number of events pending at once.
pub const MAX_PENDING: usize = (SLOT_MASK as usize) - 1;
const MAX_SEQ: u64 = (1 << (64 - SLOT_BITS)) - 1;

/// Handle to a scheduled event, used to cancel or reschedule it. Handles are never reused: a handle
/// to an event that already fired or was cancelled is simply stale.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u64);

impl EventId {
    /// Insertion sequence number of the event (0 for the first event ever scheduled).
    pub fn seq(self) -> u64 {
        self.0 >> SLOT_BITS
    }
    fn slot(self) -> usize {
        (self.0 & SLOT_MASK) as usize
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId(seq={})", self.seq())
    }
}

/// Why an event could not be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The requested time is before the queue's current time. Not fatal: the queue is unchanged.
    #[error("cannot schedule an event at {at}, which is before the current time {now}")]
    InThePast {
        /// The requested time.
        at: SimTime,
        /// The queue's current time.
        now: SimTime,
    },
    /// `now + delay` does not fit in a [`SimTime`].
    #[error("cannot schedule an event {delay} after {now}: past the end of representable time")]
    Overflow {
        /// The queue's current time.
        now: SimTime,
        /// The requested delay.
        delay: SimDuration,
    },
    /// More than [`MAX_PENDING`] events pending. Not fatal: pop or cancel some first.
    #[error("more than {MAX_PENDING} events pending")]
    Full,
    /// The queue has handed out all 2^40 insertion sequence numbers; fatal for this queue.
    #[error("event sequence numbers exhausted after 2^40 insertions")]
    SequenceExhausted,
}

#[derive(Debug)]
enum Slot<E> {
    Occupied { key: u64, event: E },
    Vacant { next_free: u32 },
}

/// A pending-event set with FIFO order among equal times, cancellation and rescheduling.
///
/// ```
/// use sim_core::{EventQueue, SimDuration, SimTime};
///
/// let mut q = EventQueue::new();
/// q.schedule_at(SimTime::from_secs(5), "b").unwrap();
/// let a = q.schedule_at(SimTime::from_secs(5), "a2").unwrap();
/// q.schedule_in(SimDuration::from_secs(1), "first").unwrap();
/// q.cancel(a);
/// assert_eq!(q.pop(), Some((SimTime::from_secs(1), "first")));
/// assert_eq!(q.pop(), Some((SimTime::from_secs(5), "b")));
/// assert_eq!(q.pop(), None);
/// assert!(q.schedule_at(SimTime::from_secs(4), "late").is_err()); // the past is closed
/// ```
pub struct EventQueue<E> {
    heap: Heap4,
    slab: Vec<Slot<E>>,
    /// Head of the list of vacant slots below `soft_end`, lowest first after a compaction.
    free_head: u32,
    /// Slots at or above this index are not handed out while lower ones are free: a vacant slot
    /// there is left off the free list, so the events above it drain and the tail can be cut.
    soft_end: usize,
    /// Releases left before the next look at whether the slab should be compacted (see
    /// `compact` for why the looks cost O(1) per release).
    releases_to_compact_check: usize,
    next_seq: u64,
    live: usize,
    now: SimTime,
}

const NO_FREE: u32 = u32::MAX;

/// Fewest slab slots worth compacting: below this the slab's size does not matter.
const COMPACT_MIN_SLOTS: usize = 1024;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("now", &self.now)
            .field("pending", &self.live)
            .field("next_time", &self.peek_time())
            .finish()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `capacity` pending events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: Heap4::with_capacity(capacity),
            slab: Vec::with_capacity(capacity),
            free_head: NO_FREE,
            soft_end: 0,
            releases_to_compact_check: COMPACT_MIN_SLOTS,
            next_seq: 0,
            live: 0,
            now: SimTime::ZERO,
        }
    }

    /// The current time: that of the last event popped, or the last [`advance_to`](Self::advance_to).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending (not yet popped, not cancelled) events.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Total number of events ever scheduled on this queue.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }

    /// Schedules `event` at `time`, which must not be before [`now`](Self::now).
    pub fn schedule_at(&mut self, time: SimTime, event: E) -> Result<EventId, ScheduleError> {
        if time < self.now {
            return Err(ScheduleError::InThePast { at: time, now: self.now });
        }
        if self.next_seq > MAX_SEQ {
            return Err(ScheduleError::SequenceExhausted);
        }
        let slot = self.alloc_slot()?;
        let key = (self.next_seq << SLOT_BITS) | slot as u64;
        self.next_seq += 1;
        self.slab[slot] = Slot::Occupied { key, event };
        self.heap.push(pack(time, key));
        self.live += 1;
        Ok(EventId(key))
    }

    /// Schedules `event` at `now + delay`.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> Result<EventId, ScheduleError> {
        let time = self.now.checked_add(delay).ok_or(ScheduleError::Overflow { now: self.now, delay })?;
        self.schedule_at(time, event)
    }

    /// Time of the next pending event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        // Invariant: the heap top is never a tombstone (see `drop_dead_top`).
        self.heap.peek().map(unpack_time)
    }

    /// The events due at the next event's time, in the order [`pop`](Self::pop) would hand them
    /// out, mapped by `take` while it returns `Some` (the run stops at the first `None`, at the
    /// first event of a later time, or after `max` events). The queue is unchanged.
    ///
    /// This lets a caller see a run of like events before popping them one by one (e.g. to
    /// compute their effects in parallel and then apply them in order). Costs
    /// O(k log k) for a run of k events: the heap is walked from its root in key order, with a
    /// frontier of the nodes whose parents were taken.
    pub fn peek_head_run<T>(&self, max: usize, mut take: impl FnMut(&E) -> Option<T>) -> Vec<T> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let keys = self.heap.as_slice();
        let mut out = Vec::new();
        let Some(&top) = keys.first() else { return out };
        let time = top >> 64;
        let mut frontier = BinaryHeap::new();
        frontier.push(Reverse((top, 0usize)));
        while out.len() < max {
            let Some(Reverse((packed, i))) = frontier.pop() else { break };
            if packed >> 64 != time {
                break;
            }
            for child in (4 * i + 1..(4 * i + 5).min(keys.len())).map(|c| (keys[c], c)) {
                frontier.push(Reverse(child));
            }
            // A tombstone is skipped, as `pop` skips it.
            let key = packed as u64;
            let event = match self.slab.get((key & SLOT_MASK) as usize) {
                Some(Slot::Occupied { key: k, event }) if *k == key => event,
                _ => continue,
            };
            match take(event) {
                Some(t) => out.push(t),
                None => break,
            }
        }
        out
    }

    /// Removes the next event and advances [`now`](Self::now) to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let packed = self.heap.pop()?;
        let key = packed as u64;
        let slot = (key & SLOT_MASK) as usize;
        let event = self.release_slot(slot);
        self.live -= 1;
        let time = unpack_time(packed);
        self.now = time;
        self.drop_dead_top();
        Some((time, event))
    }

    /// Removes the next event only if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        match self.peek_time() {
            Some(t) if t <= limit => self.pop(),
            _ => None,
        }
    }

    /// Cancels a pending event and returns it; `None` if it already fired or was cancelled.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        let slot = id.slot();
        match self.slab.get(slot) {
            Some(Slot::Occupied { key, .. }) if *key == id.0 => {}
            _ => return None,
        }
        let event = self.release_slot(slot);
        self.live -= 1;
        self.drop_dead_top();
        if self.heap.len() > 64 && self.heap.len() > 2 * self.live {
            self.sweep_tombstones();
        }
        Some(event)
    }

    /// True if `id` is still pending.
    pub fn is_pending(&self, id: EventId) -> bool {
        matches!(self.slab.get(id.slot()), Some(Slot::Occupied { key, .. }) if *key == id.0)
    }

    /// Moves a pending event to `time`. It then orders after every event already scheduled for
    /// that time (a reschedule is a new insertion). Returns the new handle, or `None` if `id` is
    /// stale; on error the event stays where it was.
    pub fn reschedule(&mut self, id: EventId, time: SimTime) -> Result<Option<EventId>, ScheduleError> {
        if !self.is_pending(id) {
            return Ok(None);
        }
        if time < self.now {
            return Err(ScheduleError::InThePast { at: time, now: self.now });
        }
        if self.next_seq > MAX_SEQ {
            return Err(ScheduleError::SequenceExhausted);
        }
        let event = self.cancel(id).expect("checked pending above");
        self.schedule_at(time, event).map(Some)
    }

    /// Advances the clock to `time` without popping anything (used by `run_until` so that later
    /// relative scheduling counts from the horizon). Refuses to move past a pending event or back.
    pub fn advance_to(&mut self, time: SimTime) -> Result<(), ScheduleError> {
        if time < self.now {
            return Err(ScheduleError::InThePast { at: time, now: self.now });
        }
        if let Some(next) = self.peek_time() {
            if next < time {
                return Err(ScheduleError::InThePast { at: next, now: time });
            }
        }
        self.now = time;
        Ok(())
    }

    fn alloc_slot(&mut self) -> Result<usize, ScheduleError> {
        if self.free_head == NO_FREE && self.soft_end < self.slab.len() {
            // Every steered slot is taken: open as many again above them (the cost stays in
            // proportion to the live events, however long the slab).
            let to = self.slab.len().min(2 * self.soft_end.max(COMPACT_MIN_SLOTS / 2));
            self.open_slots(self.soft_end, to);
        }
        if self.free_head != NO_FREE {
            let slot = self.free_head as usize;
            if let Slot::Vacant { next_free } = self.slab[slot] {
                self.free_head = next_free;
            }
            return Ok(slot);
        }
        let slot = self.slab.len();
        if slot >= MAX_PENDING {
            return Err(ScheduleError::Full);
        }
        self.slab.push(Slot::Vacant { next_free: NO_FREE });
        self.soft_end = self.slab.len();
        Ok(slot)
    }

    fn release_slot(&mut self, slot: usize) -> E {
        let vacant = if slot < self.soft_end {
            let v = Slot::Vacant { next_free: self.free_head };
            self.free_head = slot as u32;
            v
        } else {
            Slot::Vacant { next_free: NO_FREE }
        };
        let old = std::mem::replace(&mut self.slab[slot], vacant);
        self.releases_to_compact_check = self.releases_to_compact_check.saturating_sub(1);
        if self.releases_to_compact_check == 0 {
            self.compact();
        }
        match old {
            Slot::Occupied { event, .. } => event,
            Slot::Vacant { .. } => unreachable!("released a vacant slot"),
        }
    }

    /// Cuts off the vacant tail of the slab and steers new events into the lowest slots, when at
    /// most a quarter of the slots are live. A look that compacts costs the tail it cuts (each
    /// slot is cut once), a pass over twice the live count and, when the slab's room halves, one
    /// copy; looks come every `max(live, COMPACT_MIN_SLOTS)` releases, so this is O(1) per release.
    fn compact(&mut self) {
        if self.slab.len() < COMPACT_MIN_SLOTS || self.live > self.slab.len() / 4 {
            // Not before the live events could be down to a quarter of the slots.
            self.releases_to_compact_check = self.live.saturating_sub(self.slab.len() / 4).max(1);
            return;
        }
        self.releases_to_compact_check = self.live.max(COMPACT_MIN_SLOTS);
        let end = self.slab.iter().rposition(|s| matches!(s, Slot::Occupied { .. })).map_or(0, |i| i + 1);
        self.slab.truncate(end);
        if self.slab.capacity() >= 2 * end.max(COMPACT_MIN_SLOTS) {
            self.slab.shrink_to(end + end / 4);
        }
        self.free_head = NO_FREE;
        self.open_slots(0, (2 * self.live).clamp(COMPACT_MIN_SLOTS.min(end), end));
        self.heap.shrink_to_fit_loosely();
    }

    /// Puts the vacant slots in `from..to` on the free list, lowest first, and hands out slots up
    /// to `to` (the vacant ones above it stay off the list).
    fn open_slots(&mut self, from: usize, to: usize) {
        for slot in (from..to).rev() {
            if let Slot::Vacant { next_free } = &mut self.slab[slot] {
                *next_free = self.free_head;
                self.free_head = slot as u32;
            }
        }
        self.soft_end = to;
    }

    fn is_live(&self, packed: u128) -> bool {
        let key = packed as u64;
        matches!(self.slab.get((key & SLOT_MASK) as usize), Some(Slot::Occupied { key: k, .. }) if *k == key)
    }

    fn drop_dead_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.is_live(top) {
                break;
            }
            self.heap.pop();
        }
    }

    fn sweep_tombstones(&mut self) {
        let mut heap = std::mem::take(&mut self.heap);
        heap.retain(|k| self.is_live(k));
        self.heap = heap;
    }
}

#[inline]
fn pack(time: SimTime, key: u64) -> u128 {
    (u128::from(time.as_nanos()) << 64) | u128::from(key)
}

#[inline]
fn unpack_time(packed: u128) -> SimTime {
    SimTime::from_nanos((packed >> 64) as u64)
}

// Sequence and slot must share one u64 without overlap.
const _: () = assert!(MAX_SEQ.leading_zeros() >= SLOT_BITS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_fire_first_in_first_out() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.schedule_at(SimTime::from_secs(7), i).unwrap();
        }
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_past_is_refused_with_a_typed_error() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime::from_secs(10), ()).unwrap();
        q.pop();
        let e = q.schedule_at(SimTime::from_secs(9), ()).unwrap_err();
        assert_eq!(e, ScheduleError::InThePast { at: SimTime::from_secs(9), now: SimTime::from_secs(10) });
        assert!(q.is_empty());
        q.schedule_at(SimTime::from_secs(10), ()).unwrap();
    }

    #[test]
    fn cancel_and_reschedule_keep_len_and_peek_right() {
        let mut q = EventQueue::new();
        let a = q.schedule_at(SimTime::from_secs(1), 'a').unwrap();
        let b = q.schedule_at(SimTime::from_secs(2), 'b').unwrap();
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(1)));
        assert_eq!(q.cancel(a), Some('a'));
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(2)));
        let b2 = q.reschedule(b, SimTime::from_secs(5)).unwrap().unwrap();
        assert!(!q.is_pending(b));
        assert!(q.is_pending(b2));
        assert_eq!(q.reschedule(b, SimTime::from_secs(6)).unwrap(), None);
        assert_eq!(q.pop(), Some((SimTime::from_secs(5), 'b')));
        assert_eq!(q.now(), SimTime::from_secs(5));
    }

    /// The t = 0 spike of a large run: many events pending at once, then a few timers that keep
    /// re-arming themselves. The slab gives the spike's slots back, and a handle into a slot that
    /// was cut off is stale, not someone else's event.
    #[test]
    fn the_slab_shrinks_after_a_spike_of_pending_events() {
        let mut q = EventQueue::new();
        let spike: Vec<EventId> =
            (0..100_000).map(|i| q.schedule_at(SimTime::from_secs(1), i).unwrap()).collect();
        // A few long-lived timers scheduled at the top of the slab.
        let timers: Vec<EventId> =
            (0..8).map(|i| q.schedule_at(SimTime::from_secs(2), 1_000_000 + i).unwrap()).collect();
        assert!(q.slab.capacity() >= 100_008);
        let last_of_spike = *spike.last().unwrap();
        for _ in 0..100_000 {
            q.pop().unwrap();
        }
        // Each timer fires and re-arms itself 15 s later, for a simulated hour.
        let mut fired = 0;
        while let Some((t, e)) = q.pop() {
            fired += 1;
            if t < SimTime::from_secs(3600) {
                q.schedule_at(t + SimDuration::from_secs(15), e).unwrap();
            }
            assert!(q.len() <= 8);
        }
        assert!(fired > 8 * 200);
        assert!(q.slab.len() <= COMPACT_MIN_SLOTS, "slab kept {} slots", q.slab.len());
        assert!(q.slab.capacity() < 4 * COMPACT_MIN_SLOTS, "slab kept room for {}", q.slab.capacity());
        assert!(q.heap.as_slice().len() <= 8);
        // Handles from before are stale, including those into cut-off slots.
        assert!(!q.is_pending(last_of_spike) && !q.is_pending(timers[7]));
        assert_eq!(q.cancel(last_of_spike), None);
        let later = q.now() + SimDuration::from_secs(1);
        let id = q.schedule_at(later, 7).unwrap();
        assert!(q.is_pending(id));
        assert_eq!(q.pop(), Some((later, 7)));
    }

    #[test]
    fn reused_slots_do_not_resurrect_cancelled_events() {
        let mut q = EventQueue::new();
        let a = q.schedule_at(SimTime::from_secs(1), 1).unwrap();
        q.cancel(a);
        let b = q.schedule_at(SimTime::from_secs(3), 2).unwrap();
        assert_eq!(a.slot(), b.slot());
        assert_eq!(q.pop(), Some((SimTime::from_secs(3), 2)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn the_head_run_is_seen_in_pop_order_without_popping() {
        let mut q = EventQueue::new();
        // Interleave times so that the run's events sit all over the heap.
        let mut ids = Vec::new();
        for i in 0..200u32 {
            let t = if i % 3 == 0 { 9 } else { 5 };
            ids.push(q.schedule_at(SimTime::from_secs(t), i).unwrap());
        }
        q.cancel(ids[1]);
        q.cancel(ids[4]);
        let expected: Vec<u32> = (0..200).filter(|i| i % 3 != 0 && *i != 1 && *i != 4).collect();
        assert_eq!(q.peek_head_run(usize::MAX, |e| Some(*e)), expected);
        // `take` ends the run at its first `None`; `max` caps it.
        assert_eq!(q.peek_head_run(usize::MAX, |e| (*e < 10).then_some(*e)), vec![2, 5, 7, 8]);
        assert_eq!(q.peek_head_run(3, |e| Some(*e)), vec![2, 5, 7]);
        // Nothing was popped.
        assert_eq!(q.len(), 198);
        let popped: Vec<u32> =
            std::iter::from_fn(|| q.pop_until(SimTime::from_secs(5)).map(|(_, e)| e)).collect();
        assert_eq!(popped, expected);
        assert!(EventQueue::<u32>::new().peek_head_run(10, |e| Some(*e)).is_empty());
    }

    #[test]
    fn tombstones_are_swept() {
        let mut q = EventQueue::new();
        let ids: Vec<_> = (0..1000).map(|i| q.schedule_at(SimTime::from_secs(i + 1), i).unwrap()).collect();
        for id in &ids[1..] {
            q.cancel(*id);
        }
        assert!(q.heap.len() <= 2 * q.len() + 64);
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 0)));
    }

    #[test]
    fn advance_to_moves_the_clock_but_not_past_pending_events() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime::from_secs(5), ()).unwrap();
        q.advance_to(SimTime::from_secs(3)).unwrap();
        assert!(q.advance_to(SimTime::from_secs(6)).is_err());
        assert_eq!(q.schedule_in(SimDuration::from_secs(1), ()).unwrap().seq(), 1);
        assert_eq!(q.pop().unwrap().0, SimTime::from_secs(4));
    }
}
