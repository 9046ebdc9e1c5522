//! The classic hold model on several event engines, on identical inputs.
//!
//! A pending set of `pending` events is filled at times drawn from Exp(mean); then each of `events`
//! steps pops the minimum and pushes one event at `now + Exp(mean)`. All delays are drawn up front
//! from the `hold.delays` stream, so every engine sees the same inputs and only queue work is timed.
//! The digest is the SHA-256 of the popped times (u64 nanoseconds, little-endian; simcore's f64
//! seconds are hashed as their bit patterns, so its digest differs by construction). Popped times
//! are recorded into a pre-sized buffer inside the timed loop and hashed after it, so the hash's
//! fixed cost does not blur the comparison of the engines.
#![allow(dead_code)] // the bench uses a subset

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::rc::Rc;

use sha2::{Digest as _, Sha256};
use sim_core::{EventQueue, RngStreams, SimTime};

/// Mean inter-event delay of the hold distribution: 1 ms.
pub const MEAN_DELAY_NANOS: u64 = 1_000_000;

/// Engines that can run the hold model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    SimCore,
    Heap,
    Simcore,
    PriorityQueue,
}

impl Engine {
    pub const ALL: [Engine; 4] = [Engine::SimCore, Engine::Heap, Engine::Simcore, Engine::PriorityQueue];

    pub fn name(self) -> &'static str {
        match self {
            Engine::SimCore => "sim-core",
            Engine::Heap => "heap",
            Engine::Simcore => "simcore",
            Engine::PriorityQueue => "priority-queue",
        }
    }

    pub fn parse(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// The delays for one run: `pending` initial offsets then `events` hold delays.
pub fn delays(pending: usize, events: usize, seed: u64) -> Vec<u64> {
    let mut s = RngStreams::new(seed).stream("hold.delays");
    (0..pending + events).map(|_| s.exp_nanos(MEAN_DELAY_NANOS)).collect()
}

/// Runs the hold loop; returns the popped times. Only the `events` steps after the initial fill
/// are meant to be timed: `fill` then `hold`.
pub fn run(engine: Engine, pending: usize, delays: &[u64]) -> Popped {
    match engine {
        Engine::SimCore => {
            let mut st = SimCoreHold::fill(pending, delays);
            st.hold(&delays[pending..])
        }
        Engine::Heap => {
            let mut st = HeapHold::fill(pending, delays);
            st.hold(&delays[pending..])
        }
        Engine::PriorityQueue => {
            let mut st = PqHold::fill(pending, delays);
            st.hold(&delays[pending..])
        }
        Engine::Simcore => {
            let st = SimcoreHold::fill(pending, delays);
            st.hold(delays.len() - pending)
        }
    }
}

/// Popped times, recorded during the timed loop.
pub struct Popped(Vec<u64>);

impl Popped {
    fn with_capacity(n: usize) -> Self {
        Popped(Vec::with_capacity(n))
    }
    #[inline]
    fn push(&mut self, bits: u64) {
        self.0.push(bits);
    }
    /// SHA-256 of the popped times, lower-case hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for t in &self.0 {
            h.update(t.to_le_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

pub struct SimCoreHold {
    q: EventQueue<u32>,
}

impl SimCoreHold {
    pub fn fill(pending: usize, delays: &[u64]) -> Self {
        let mut q = EventQueue::with_capacity(pending);
        for (i, d) in delays[..pending].iter().enumerate() {
            q.schedule_at(SimTime::from_nanos(*d), i as u32).unwrap();
        }
        SimCoreHold { q }
    }

    pub fn hold(&mut self, delays: &[u64]) -> Popped {
        let mut h = Popped::with_capacity(delays.len());
        for d in delays {
            let (t, e) = self.q.pop().unwrap();
            h.push(t.as_nanos());
            self.q.schedule_at(SimTime::from_nanos(t.as_nanos() + d), e).unwrap();
        }
        h
    }
}

pub struct HeapHold {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    seq: u64,
}

impl HeapHold {
    pub fn fill(pending: usize, delays: &[u64]) -> Self {
        let mut heap = BinaryHeap::with_capacity(pending);
        for (i, d) in delays[..pending].iter().enumerate() {
            heap.push(Reverse((*d, i as u64)));
        }
        HeapHold { heap, seq: pending as u64 }
    }

    pub fn hold(&mut self, delays: &[u64]) -> Popped {
        let mut h = Popped::with_capacity(delays.len());
        for d in delays {
            let Reverse((t, _)) = self.heap.pop().unwrap();
            h.push(t);
            self.heap.push(Reverse((t + d, self.seq)));
            self.seq += 1;
        }
        h
    }
}

pub struct PqHold {
    pq: priority_queue::PriorityQueue<u64, Reverse<(u64, u64)>, BuildHasherDefault<DefaultHasher>>,
    seq: u64,
}

impl PqHold {
    pub fn fill(pending: usize, delays: &[u64]) -> Self {
        let mut pq = priority_queue::PriorityQueue::with_capacity_and_default_hasher(pending);
        for (i, d) in delays[..pending].iter().enumerate() {
            pq.push(i as u64, Reverse((*d, i as u64)));
        }
        PqHold { pq, seq: pending as u64 }
    }

    pub fn hold(&mut self, delays: &[u64]) -> Popped {
        let mut h = Popped::with_capacity(delays.len());
        for d in delays {
            let (_, Reverse((t, _))) = self.pq.pop().unwrap();
            h.push(t);
            self.pq.push(self.seq, Reverse((t + d, self.seq)));
            self.seq += 1;
        }
        h
    }
}

#[derive(Clone, serde::Serialize)]
struct Tick;

struct SimcoreHolder {
    ctx: simcore::SimulationContext,
    delays: Vec<f64>,
    next: usize,
    popped: Option<Popped>,
}

impl simcore::EventHandler for SimcoreHolder {
    fn on(&mut self, event: simcore::Event) {
        if let Some(h) = self.popped.as_mut() {
            h.push(event.time.to_bits());
        }
        let d = self.delays[self.next];
        self.next += 1;
        self.ctx.emit_self(Tick, d);
    }
}

pub struct SimcoreHold {
    sim: simcore::Simulation,
    holder: Rc<RefCell<SimcoreHolder>>,
}

impl SimcoreHold {
    pub fn fill(pending: usize, delays: &[u64]) -> Self {
        let mut sim = simcore::Simulation::new(0);
        let ctx = sim.create_context("hold");
        let secs: Vec<f64> = delays.iter().map(|d| *d as f64 / 1e9).collect();
        for d in &secs[..pending] {
            ctx.emit_self(Tick, *d);
        }
        let holder = Rc::new(RefCell::new(SimcoreHolder {
            ctx,
            delays: secs[pending..].to_vec(),
            next: 0,
            popped: Some(Popped::with_capacity(delays.len() - pending)),
        }));
        sim.add_handler("hold", holder.clone());
        SimcoreHold { sim, holder }
    }

    pub fn hold(mut self, events: usize) -> Popped {
        self.sim.steps(events as u64);
        let h = self.holder.borrow_mut().popped.take().unwrap();
        h
    }
}
