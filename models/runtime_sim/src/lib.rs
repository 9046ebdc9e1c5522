//! # kubesim-runtime-sim: the simulated container runtime
//!
//! The cgroup accounting model that stands behind the kubelet's `NodeRuntime` in simulation: how a
//! node's CPU is shared and throttled, and when memory runs out. Fast models skip time
//! analytically; each keeps a simple stepping oracle beside it for the tests.
//!
//! | module | contents |
//! |---|---|
//! | [`cpu`] | water-filling by shares under quota caps; CFS throttling counters per 100 ms period; per-tick oracle |
//! | [`memory`] | OOM crossing time under a working-set curve; `memory.available`; eviction ranking |

#![warn(missing_docs, unreachable_pub)]

pub mod cpu;
pub mod memory;
