//! The event queue against the simplest possible model: a `BTreeMap<(time, seq), event>`.
//! Any sequence of schedule / pop / cancel / reschedule / advance must give identical results.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sim_core::{EventId, EventQueue, SimTime};

#[derive(Debug, Clone)]
enum Op {
    /// Schedule at now + offset (offset may be 0: same-time FIFO is exercised a lot).
    Schedule {
        offset: u64,
    },
    /// Schedule at now - back (must be refused when back > 0).
    SchedulePast {
        back: u64,
    },
    Pop,
    /// Pop up to this many (drains a spike so the queue compacts its slab).
    PopMany {
        count: usize,
    },
    /// Cancel the handle at this index (modulo the handles seen so far).
    Cancel {
        pick: usize,
    },
    Reschedule {
        pick: usize,
        offset: u64,
    },
    Advance {
        offset: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    // Small offsets so many events collide on the same time.
    prop_oneof![
        4 => (0u64..8).prop_map(|offset| Op::Schedule { offset }),
        1 => (1u64..4).prop_map(|back| Op::SchedulePast { back }),
        3 => Just(Op::Pop),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => (any::<usize>(), 0u64..8).prop_map(|(pick, offset)| Op::Reschedule { pick, offset }),
        1 => (0u64..3).prop_map(|offset| Op::Advance { offset }),
    ]
}

/// After a spike of pending events: long drains, so the slab falls below a quarter live and is
/// compacted while events keep coming and going.
fn op_after_spike() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => op(),
        1 => (100usize..800).prop_map(|count| Op::PopMany { count }),
    ]
}

/// The oracle: sorted map keyed by (time, seq); a handle maps to its current key.
#[derive(Default)]
struct Model {
    now: u64,
    next_seq: u64,
    pending: BTreeMap<(u64, u64), u32>,
}

impl Model {
    fn schedule(&mut self, t: u64, e: u32) -> Option<u64> {
        if t < self.now {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.insert((t, seq), e);
        Some(seq)
    }
    fn find(&self, seq: u64) -> Option<(u64, u64)> {
        self.pending.keys().find(|(_, s)| *s == seq).copied()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn queue_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..300)) {
        check_against_model(&[], ops)?;
    }

    #[test]
    fn queue_matches_btreemap_model_through_a_spike_and_compaction(
        spike in proptest::collection::vec(0u64..64, 1100..2500),
        ops in proptest::collection::vec(op_after_spike(), 1..400),
    ) {
        check_against_model(&spike, ops)?;
    }

    #[test]
    fn heavy_cancellation_keeps_order(times in proptest::collection::vec(0u64..50, 1..500), keep_every in 2usize..6) {
        let mut q = EventQueue::new();
        let ids: Vec<_> = times.iter().enumerate().map(|(i, t)| q.schedule_at(SimTime::from_nanos(*t), i).unwrap()).collect();
        let mut want: Vec<(u64, usize)> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if i % keep_every == 0 { want.push((times[i], i)); } else { q.cancel(*id); }
        }
        want.sort();
        let got: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.as_nanos(), e))).collect();
        prop_assert_eq!(got, want);
    }
}

/// Runs `ops` on a queue and on the model after scheduling `spike` (offsets from zero) on both.
fn check_against_model(spike: &[u64], ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut q: EventQueue<u32> = EventQueue::new();
    let mut m = Model::default();
    let mut handles: Vec<(EventId, u64)> = Vec::new(); // (queue handle, model seq)
    let mut next_payload = 0u32;
    for &t in spike {
        let id = q.schedule_at(SimTime::from_nanos(t), next_payload).unwrap();
        let seq = m.schedule(t, next_payload).unwrap();
        handles.push((id, seq));
        next_payload += 1;
    }
    for op in ops {
        match op {
            Op::Schedule { offset } => {
                let t = m.now + offset;
                let id = q.schedule_at(SimTime::from_nanos(t), next_payload).unwrap();
                let seq = m.schedule(t, next_payload).unwrap();
                prop_assert_eq!(id.seq(), seq);
                handles.push((id, seq));
                next_payload += 1;
            }
            Op::SchedulePast { back } => {
                let t = m.now.saturating_sub(back);
                let r = q.schedule_at(SimTime::from_nanos(t), next_payload);
                prop_assert_eq!(r.is_ok(), m.schedule(t, next_payload).is_some());
                if let Ok(id) = r {
                    handles.push((id, id.seq()));
                }
                next_payload += 1;
            }
            Op::Pop | Op::PopMany { .. } => {
                let count = if let Op::PopMany { count } = op { count } else { 1 };
                for _ in 0..count {
                    let got = q.pop().map(|(t, e)| (t.as_nanos(), e));
                    let want = m.pending.pop_first().map(|((t, _), e)| (t, e));
                    if let Some((t, _)) = want {
                        m.now = t;
                    }
                    prop_assert_eq!(got, want);
                }
            }
            Op::Cancel { pick } => {
                if handles.is_empty() {
                    continue;
                }
                let (id, seq) = handles[pick % handles.len()];
                let got = q.cancel(id);
                let want = m.find(seq).and_then(|k| m.pending.remove(&k));
                prop_assert_eq!(got, want);
            }
            Op::Reschedule { pick, offset } => {
                if handles.is_empty() {
                    continue;
                }
                let i = pick % handles.len();
                let (id, seq) = handles[i];
                let t = m.now + offset;
                let got = q.reschedule(id, SimTime::from_nanos(t)).unwrap();
                match m.find(seq) {
                    Some(k) => {
                        let e = m.pending.remove(&k).unwrap();
                        let new_seq = m.schedule(t, e).unwrap();
                        let new_id = got.expect("queue lost a pending event");
                        prop_assert_eq!(new_id.seq(), new_seq);
                        handles[i] = (new_id, new_seq);
                    }
                    None => prop_assert!(got.is_none()),
                }
            }
            Op::Advance { offset } => {
                let t = m.now + offset;
                let allowed = m.pending.keys().next().is_none_or(|(first, _)| *first >= t);
                let r = q.advance_to(SimTime::from_nanos(t));
                prop_assert_eq!(r.is_ok(), allowed);
                if allowed {
                    m.now = t;
                }
            }
        }
        prop_assert_eq!(q.len(), m.pending.len());
        prop_assert_eq!(q.peek_time().map(|t| t.as_nanos()), m.pending.keys().next().map(|(t, _)| *t));
        prop_assert_eq!(q.now().as_nanos(), m.now);
    }
    // Drain: the rest must come out in model order.
    while let Some(((t, _), e)) = m.pending.pop_first() {
        prop_assert_eq!(q.pop().map(|(t, e)| (t.as_nanos(), e)), Some((t, e)));
    }
    prop_assert!(q.pop().is_none());
    Ok(())
}
