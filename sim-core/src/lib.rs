//! # sim-core: the deterministic event engine under kubesim
//!
//! sim-core knows nothing about Kubernetes. It gives the rest of kubesim five things:
//!
//! | module | what | guarantee |
//! |---|---|---|
//! | [`time`] | [`SimTime`], [`SimDuration`] | integer nanoseconds; human forms (`250ms`, `1h30m`, `2d`) parse and print exactly |
//! | [`queue`] | [`EventQueue`] | total order on `(time, insertion sequence)`; cancel, reschedule, refuse the past |
//! | [`timers`] | [`TimerSet`] | one timer per key, moved in place; same FIFO rule |
//! | [`rng`] | [`RngStreams`] | one root seed, independent named ChaCha12 streams |
//! | [`run`] | [`RunLoop`] | `step`, `run_until`, event budget, observers |
//! | [`log`] | [`EventLog`] | canonical JSONL whose SHA-256 is the run's digest |
//!
//! ```text
//!   schedule_at / schedule_in ──► EventQueue ──pop──► observers (log, metrics) ──► Model::handle
//!            ▲                                                                        │
//!            └───────────────────────────── new events ───────────────────────────────┘
//! ```
//!
//! ## The ordering guarantee
//!
//! Events fire in increasing time. Events scheduled for the *same* instant fire in the order they
//! were scheduled (FIFO); a rescheduled event counts as scheduled at the moment of the reschedule.
//! Time never goes backwards: scheduling before [`EventQueue::now`] returns
//! [`ScheduleError::InThePast`]. Together with integer time this makes a run a pure function of
//! its inputs and its seed.
//!
//! ## Seed derivation
//!
//! Every random draw comes from a stream named after its purpose (`"scheduler.tiebreak"`,
//! `"kubelet.probe-jitter"`). Stream `(name, index)` under root seed `s` is ChaCha12 keyed with
//! `SHA-256("kubesim/rng/v1\0" ‖ s_le ‖ len(name)_le ‖ name ‖ index_le)`, so streams are
//! independent of each other, of creation order, and of the platform; see [`rng`].
//!
//! ## Example: a seeded M/M/1 queue, reproduced bit for bit
//!
//! ```
//! use sim_core::{EventLog, EventQueue, Model, RngStream, RngStreams, RunLoop, SimDuration, SimTime};
//!
//! enum Ev { Arrive, Depart }
//! #[derive(serde::Serialize)]
//! struct QueueLen { len: u32 }
//! struct Mm1 { rng: RngStream, busy: u32, log: EventLog<std::io::Sink> }
//! impl Model<Ev> for Mm1 {
//!     fn handle(&mut self, now: SimTime, ev: Ev, q: &mut EventQueue<Ev>) {
//!         match ev {
//!             Ev::Arrive => {
//!                 self.busy += 1;
//!                 if self.busy == 1 { q.schedule_in(SimDuration::from_nanos(self.rng.exp_nanos(800)), Ev::Depart).unwrap(); }
//!                 q.schedule_in(SimDuration::from_nanos(self.rng.exp_nanos(1000)), Ev::Arrive).unwrap();
//!             }
//!             Ev::Depart => {
//!                 self.busy -= 1;
//!                 if self.busy > 0 { q.schedule_in(SimDuration::from_nanos(self.rng.exp_nanos(800)), Ev::Depart).unwrap(); }
//!             }
//!         }
//!         self.log.record(now, "queue", &QueueLen { len: self.busy }).unwrap();
//!     }
//! }
//!
//! let run_once = |seed| {
//!     let mut model = Mm1 { rng: RngStreams::new(seed).stream("mm1"), busy: 0, log: EventLog::digest_only() };
//!     let mut run = RunLoop::new(EventQueue::new()).with_budget(10_000);
//!     run.queue_mut().schedule_at(SimTime::ZERO, Ev::Arrive).unwrap();
//!     run.run(&mut model);
//!     model.log.finish().unwrap().1
//! };
//! assert_eq!(run_once(7), run_once(7));   // same seed, same digest
//! assert_ne!(run_once(7), run_once(8));
//! ```

#![warn(missing_docs, unreachable_pub)]

mod heap4;
pub mod log;
pub mod queue;
pub mod rng;
pub mod run;
pub mod time;
pub mod timers;

pub use log::{digest_of, Digest, EventLog, LogError};
pub use queue::{EventId, EventQueue, ScheduleError};
pub use rng::{RngStream, RngStreams};
pub use run::{Model, Observer, RunLoop, RunStop};
pub use time::{ParseDurationError, SimDuration, SimTime};
pub use timers::TimerSet;
