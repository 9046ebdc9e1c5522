//! The scheduling queue (upstream `pkg/scheduler/backend/queue`), sans-IO: every call takes `now`
//! and [`SchedulingQueue::next_wakeup`] says when the queue next needs [`SchedulingQueue::flush`].
//!
//! * **activeQ**: PrioritySort order — priority desc, then queue timestamp, then arrival order.
//! * **backoffQ**: ordered by backoff expiry (`timestamp + initial·2^(n−1)` capped at max,
//!   truncated to whole seconds), then PrioritySort. When activeQ is empty, `pop` takes the head
//!   of backoffQ even before it expires (SchedulerPopFromBackoffQ, on by default since 1.33).
//! * **unschedulable pool**: pods rejected by plugins wait for a cluster event one of those
//!   plugins registered, or for the 30-s flush of pods older than 5 minutes.
//! * **gated**: pods with scheduling gates, until an update removes the gates.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use crate::framework::ClusterEvent;

/// Dense id of a pod the queue holds (assigned by the caller).
pub type QueuedPodId = u32;

/// Queue timing parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// `podInitialBackoffSeconds` (1 s).
    pub initial_backoff: SimDuration,
    /// `podMaxBackoffSeconds` (10 s); zero disables backoff.
    pub max_backoff: SimDuration,
    /// Pods in the unschedulable pool longer than this are flushed (5 min).
    pub max_in_unschedulable: SimDuration,
    /// Period of the unschedulable flush (30 s).
    pub unschedulable_flush_period: SimDuration,
    /// SchedulerPopFromBackoffQ: pop from backoffQ when activeQ is empty; expiry truncated to seconds.
    pub pop_from_backoff: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            initial_backoff: SimDuration::from_secs(1),
            max_backoff: SimDuration::from_secs(10),
            max_in_unschedulable: SimDuration::from_mins(5),
            unschedulable_flush_period: SimDuration::from_secs(30),
            pop_from_backoff: true,
        }
    }
}

/// Where a pod is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Location {
    /// activeQ.
    #[default]
    Active,
    /// backoffQ.
    Backoff,
    /// Unschedulable pool.
    Unschedulable,
    /// Waiting for scheduling gates.
    Gated,
    /// Popped, being scheduled.
    InFlight,
}

/// Bit of an event in an event mask.
pub fn event_bit(e: ClusterEvent) -> u8 {
    1u8 << (e as u8)
}

/// Mask matching every event.
pub const ALL_EVENTS: u8 = u8::MAX;

#[derive(Clone, Debug)]
struct Entry {
    priority: i32,
    timestamp: SimTime,
    seq: u64,
    unschedulable_count: u32,
    events: u8,
    location: Location,
}

type ActiveKey = (Reverse<i32>, SimTime, u64);
type BackoffKey = (SimTime, Reverse<i32>, SimTime, u64);

/// The three queues plus gated pods.
#[derive(Clone, Debug, Default)]
pub struct SchedulingQueue {
    config: QueueConfig,
    entries: Vec<Option<Entry>>,
    active: BTreeMap<ActiveKey, QueuedPodId>,
    backoff: BTreeMap<BackoffKey, QueuedPodId>,
    unschedulable: BTreeMap<(SimTime, u64), QueuedPodId>,
    /// Pods in the pool per event bit, so an event nobody waits for costs nothing.
    waiting_per_event: [u32; 8],
    gated: usize,
    seq: u64,
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        SchedulingQueue { config, ..Default::default() }
    }

    /// The configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn entry(&self, id: QueuedPodId) -> Option<&Entry> {
        self.entries.get(id as usize).and_then(Option::as_ref)
    }

    /// Where a pod is, if queued.
    pub fn location(&self, id: QueuedPodId) -> Option<Location> {
        self.entry(id).map(|e| e.location)
    }

    /// Number of pods in (activeQ, backoffQ, unschedulable pool, gated).
    pub fn lens(&self) -> (usize, usize, usize, usize) {
        (self.active.len(), self.backoff.len(), self.unschedulable.len(), self.gated)
    }

    /// True when nothing is queued anywhere (in-flight pods excluded).
    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.backoff.is_empty() && self.unschedulable.is_empty() && self.gated == 0
    }

    /// Backoff duration after `count` unschedulable attempts: initial·2^(count−1) capped at max.
    pub fn backoff_duration(&self, count: u32) -> SimDuration {
        if count == 0 || self.config.max_backoff.is_zero() {
            return SimDuration::ZERO;
        }
        let mut d = self.config.initial_backoff;
        for _ in 1..count {
            d = d.saturating_mul(2);
            if d >= self.config.max_backoff {
                return self.config.max_backoff;
            }
        }
        d.min(self.config.max_backoff)
    }

    fn backoff_expiry(&self, e: &Entry) -> SimTime {
        let t = e.timestamp.saturating_add(self.backoff_duration(e.unschedulable_count));
        if self.config.pop_from_backoff {
            SimTime::from_secs(t.as_secs())
        } else {
            t
        }
    }

    /// When the pod's backoff ends.
    pub fn backoff_expiry_of(&self, id: QueuedPodId) -> Option<SimTime> {
        self.entry(id).map(|e| self.backoff_expiry(e))
    }

    fn place(&mut self, id: QueuedPodId, loc: Location) {
        let e = self.entries[id as usize].as_mut().expect("entry");
        e.location = loc;
        let e = e.clone();
        match loc {
            Location::Active => {
                self.active.insert((Reverse(e.priority), e.timestamp, e.seq), id);
            }
            Location::Backoff => {
                let exp = self.backoff_expiry(&e);
                self.backoff.insert((exp, Reverse(e.priority), e.timestamp, e.seq), id);
            }
            Location::Unschedulable => {
                self.unschedulable.insert((e.timestamp, e.seq), id);
                for bit in 0..8 {
                    if e.events & (1 << bit) != 0 {
                        self.waiting_per_event[bit] += 1;
                    }
                }
            }
            Location::Gated => self.gated += 1,
            Location::InFlight => {}
        }
    }

    fn unplace(&mut self, id: QueuedPodId) -> Option<Location> {
        let e = self.entry(id)?.clone();
        match e.location {
            Location::Active => {
                self.active.remove(&(Reverse(e.priority), e.timestamp, e.seq));
            }
            Location::Backoff => {
                let exp = self.backoff_expiry(&e);
                self.backoff.remove(&(exp, Reverse(e.priority), e.timestamp, e.seq));
            }
            Location::Unschedulable => {
                self.unschedulable.remove(&(e.timestamp, e.seq));
                for bit in 0..8 {
                    if e.events & (1 << bit) != 0 {
                        self.waiting_per_event[bit] -= 1;
                    }
                }
            }
            Location::Gated => self.gated -= 1,
            Location::InFlight => {}
        }
        Some(e.location)
    }

    /// Adds a new pod (upstream `Add`): gated pods wait, others go to activeQ stamped `now`.
    pub fn add(&mut self, id: QueuedPodId, priority: i32, gated: bool, now: SimTime) {
        if self.entry(id).is_some() {
            self.unplace(id);
        }
        if self.entries.len() <= id as usize {
            self.entries.resize(id as usize + 1, None);
        }
        self.seq += 1;
        self.entries[id as usize] = Some(Entry {
            priority,
            timestamp: now,
            seq: self.seq,
            unschedulable_count: 0,
            events: 0,
            location: Location::Active,
        });
        self.place(id, if gated { Location::Gated } else { Location::Active });
    }

    /// Forgets every number once no pod is queued (the scheduler numbers pods from 0 again), keeping
    /// room for `retained` numbers.
    pub fn release_ids(&mut self, retained: usize) {
        debug_assert!(self.entries.iter().all(Option::is_none), "no pod queued, no entry");
        self.entries.clear();
        self.entries.shrink_to(retained);
    }

    /// How many numbers the entry list has room for.
    #[cfg(test)]
    pub(crate) fn entries_capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Removes a pod wherever it is (deleted, or bound).
    pub fn remove(&mut self, id: QueuedPodId) {
        self.unplace(id);
        if let Some(slot) = self.entries.get_mut(id as usize) {
            *slot = None;
        }
    }

    /// A queued pod changed (upstream `Update`): new priority; gates now empty ⇒ leaves the gated
    /// set; an unschedulable pod is moved to activeQ/backoffQ since the change may help it.
    pub fn update(&mut self, id: QueuedPodId, priority: i32, gated: bool, now: SimTime) {
        let Some(loc) = self.location(id) else { return };
        if loc == Location::InFlight {
            if let Some(e) = self.entries[id as usize].as_mut() {
                e.priority = priority;
            }
            return;
        }
        self.unplace(id);
        let e = self.entries[id as usize].as_mut().expect("entry");
        e.priority = priority;
        let next = match loc {
            Location::Gated if gated => Location::Gated,
            Location::Gated => {
                e.timestamp = now;
                Location::Active
            }
            Location::Unschedulable => {
                let e = e.clone();
                if self.backoff_expiry(&e) > now {
                    Location::Backoff
                } else {
                    Location::Active
                }
            }
            other => other,
        };
        self.place(id, next);
    }

    /// Moves backoffQ pods whose backoff has expired to activeQ (the 1-s flush).
    pub fn flush_backoff_completed(&mut self, now: SimTime) {
        while let Some((&key, &id)) = self.backoff.iter().next() {
            if key.0 > now {
                break;
            }
            self.backoff.remove(&key);
            self.entries[id as usize].as_mut().expect("entry").location = Location::InFlight;
            self.place(id, Location::Active);
        }
    }

    /// Moves pods that stayed over 5 minutes in the pool, as the 30-s flush at the last period
    /// boundary ≤ `now` would (upstream `flushUnschedulablePodsLeftover`).
    pub fn flush_unschedulable_leftover(&mut self, now: SimTime) {
        let period = self.config.unschedulable_flush_period.as_nanos().max(1);
        let boundary = SimTime::from_nanos(now.as_nanos() / period * period);
        let mut to_move = Vec::new();
        for (&(ts, _), &id) in &self.unschedulable {
            if boundary.saturating_duration_since(ts) > self.config.max_in_unschedulable {
                to_move.push(id);
            } else {
                break;
            }
        }
        for id in to_move {
            self.move_to_active_or_backoff(id, now);
        }
    }

    /// Both periodic flushes.
    pub fn flush(&mut self, now: SimTime) {
        self.flush_backoff_completed(now);
        self.flush_unschedulable_leftover(now);
    }

    fn move_to_active_or_backoff(&mut self, id: QueuedPodId, now: SimTime) {
        self.unplace(id);
        let e = self.entry(id).expect("entry").clone();
        let loc = if self.backoff_expiry(&e) > now { Location::Backoff } else { Location::Active };
        self.place(id, loc);
    }

    /// A cluster event: pods in the pool whose rejecting plugins registered it move to
    /// activeQ (backoff over) or backoffQ. Returns how many moved.
    pub fn on_event(&mut self, event: ClusterEvent, now: SimTime) -> usize {
        let bit = event as usize;
        if self.waiting_per_event[bit] == 0 {
            return 0;
        }
        let ids: Vec<QueuedPodId> = self
            .unschedulable
            .values()
            .copied()
            .filter(|id| self.entry(*id).is_some_and(|e| e.events & (1 << bit) != 0))
            .collect();
        for &id in &ids {
            self.move_to_active_or_backoff(id, now);
        }
        ids.len()
    }

    /// Pops the next pod: flushes expired backoffs, then activeQ head, else (SchedulerPopFromBackoffQ)
    /// backoffQ head.
    pub fn pop(&mut self, now: SimTime) -> Option<QueuedPodId> {
        self.flush(now);
        let id = match self.active.pop_first() {
            Some((_, id)) => id,
            None if self.config.pop_from_backoff => self.backoff.pop_first()?.1,
            None => return None,
        };
        self.entries[id as usize].as_mut().expect("entry").location = Location::InFlight;
        Some(id)
    }

    /// The popped pod could not be scheduled (upstream `AddUnschedulableIfNotPresent`): stamped
    /// `now`, its count raised, parked until one of `events` (mask from the rejecting plugins;
    /// [`ALL_EVENTS`] if none) or the flush. `error` sends it straight to backoffQ.
    pub fn requeue_unschedulable(&mut self, id: QueuedPodId, events: u8, error: bool, now: SimTime) {
        let Some(e) = self.entries.get_mut(id as usize).and_then(Option::as_mut) else { return };
        if e.location != Location::InFlight {
            return;
        }
        e.timestamp = now;
        e.unschedulable_count += 1;
        e.events = events;
        self.seq += 1;
        e.seq = self.seq;
        self.place(id, if error { Location::Backoff } else { Location::Unschedulable });
    }

    /// When the queue next needs a [`flush`](Self::flush): the earliest backoff expiry and the
    /// first 30-s boundary at which the oldest pool entry exceeds 5 minutes.
    pub fn next_wakeup(&self, now: SimTime) -> Option<SimTime> {
        let mut next: Option<SimTime> = None;
        if let Some((&(exp, ..), _)) = self.backoff.iter().next() {
            next = Some(exp.max(now));
        }
        if let Some((&(ts, _), _)) = self.unschedulable.iter().next() {
            let period = self.config.unschedulable_flush_period.as_nanos().max(1);
            let due = ts.saturating_add(self.config.max_in_unschedulable).as_nanos();
            let boundary = SimTime::from_nanos((due / period + 1) * period);
            next = Some(next.map_or(boundary, |n| n.min(boundary)));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn active_queue_pops_by_priority_then_timestamp_then_arrival() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        q.add(0, 0, false, secs(1));
        q.add(1, 10, false, secs(2));
        q.add(2, 0, false, secs(0));
        q.add(3, 0, false, secs(0));
        let order: Vec<_> = std::iter::from_fn(|| q.pop(secs(3))).collect();
        assert_eq!(order, [1, 2, 3, 0]);
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_ten() {
        let q = SchedulingQueue::new(QueueConfig::default());
        let d: Vec<u64> = (0..7).map(|n| q.backoff_duration(n).as_secs()).collect();
        assert_eq!(d, [0, 1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn backoff_expiry_is_truncated_to_whole_seconds() {
        // Failed at 5.7 s for the 2nd time: 5.7 + 2 = 7.7 → 7 s.
        let mut q = SchedulingQueue::new(QueueConfig::default());
        q.add(0, 0, false, SimTime::ZERO);
        q.pop(SimTime::ZERO);
        q.requeue_unschedulable(0, ALL_EVENTS, false, SimTime::from_millis(1000));
        q.on_event(ClusterEvent::NodeAdded, SimTime::from_millis(1200));
        assert_eq!(q.location(0), Some(Location::Backoff));
        q.pop(SimTime::from_millis(1200));
        q.requeue_unschedulable(0, ALL_EVENTS, false, SimTime::from_millis(5700));
        assert_eq!(q.backoff_expiry_of(0), Some(secs(7)));
    }

    #[test]
    fn an_event_moves_only_pods_whose_plugins_registered_it() {
        let mut q = SchedulingQueue::new(QueueConfig { pop_from_backoff: false, ..Default::default() });
        q.add(0, 0, false, secs(0));
        q.add(1, 0, false, secs(0));
        q.pop(secs(0));
        q.pop(secs(0));
        q.requeue_unschedulable(0, event_bit(ClusterEvent::AssignedPodDeleted), false, secs(0));
        q.requeue_unschedulable(1, event_bit(ClusterEvent::NodeAdded), false, secs(0));
        assert_eq!(q.on_event(ClusterEvent::AssignedPodDeleted, secs(0)), 1);
        // Backoff of 1 s not over: to backoffQ; not poppable before 1 s without pop-from-backoff.
        assert_eq!(q.location(0), Some(Location::Backoff));
        assert_eq!(q.location(1), Some(Location::Unschedulable));
        assert_eq!(q.pop(SimTime::from_millis(500)), None);
        assert_eq!(q.pop(secs(1)), Some(0));
    }

    #[test]
    fn pop_takes_from_backoff_when_active_is_empty() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        q.add(0, 0, false, secs(0));
        q.pop(secs(0));
        q.requeue_unschedulable(0, ALL_EVENTS, true, secs(0));
        assert_eq!(q.location(0), Some(Location::Backoff));
        assert_eq!(q.pop(SimTime::from_millis(10)), Some(0));
    }

    #[test]
    fn unschedulable_pods_are_flushed_at_the_first_30s_tick_after_five_minutes() {
        // Parked at 10 s: over 5 min at 310 s; ticks at 300 s (290 s waited) and 330 s (320 s) ⇒ 330 s.
        let mut q = SchedulingQueue::new(QueueConfig::default());
        q.add(0, 0, false, secs(0));
        q.pop(secs(0));
        q.requeue_unschedulable(0, 0, false, secs(10));
        assert_eq!(q.next_wakeup(secs(10)), Some(secs(330)));
        q.flush(secs(329));
        assert_eq!(q.location(0), Some(Location::Unschedulable));
        q.flush(secs(330));
        assert_eq!(q.location(0), Some(Location::Active));
    }

    #[test]
    fn gated_pods_wait_until_their_gates_are_removed() {
        let mut q = SchedulingQueue::new(QueueConfig::default());
        q.add(0, 0, true, secs(0));
        assert_eq!(q.pop(secs(1)), None);
        q.update(0, 0, false, secs(2));
        assert_eq!(q.pop(secs(2)), Some(0));
    }
}
