//! # kubesim-runtime-sim: the simulated container runtime
//!
//! The cgroup accounting model that stands behind the kubelet's `NodeRuntime` in simulation: how a
//! node's CPU is shared and throttled, and when memory runs out. Fast models skip time
//! analytically; each keeps a simple stepping oracle beside it for the tests.
//!
//! | module | contents |
//! |---|---|
//! | [`cpu`] | water-filling by shares under quota caps; CFS throttling counters per 100 ms period; per-tick oracle |
//! | [`memory`] | OOM crossing time under a working-set curve; `memory.available`; eviction ranking (re-exported from the kubelet) |
//! | [`images`] | image catalog (layers and sizes, shared layers), per-node cache with a serialized puller |
//! | [`node_cpu`] | [`NodeCpu`]: lazy per-node CPU accounting between changes (demand sampled on a grid), with a per-tick oracle |
//! | [`node`] | [`SimNodeRuntime`]: the kubelet's `NodeRuntime` in virtual time (start latency, pulls, own exits, OOM kills, SIGTERM/SIGKILL, CPU counters, crash, kill) |
//! | `sorted` | `SortedVec`: the runtime's per-node maps as sorted lists (private) |
//! | [`fleet`] | [`NodeFleet`]: N kubelets + runtimes on one `EventQueue`; the `bench nodes` benchmark |

#![warn(missing_docs, unreachable_pub)]

pub mod cpu;
pub mod fleet;
pub mod images;
pub mod memory;
pub mod node;
pub mod node_cpu;
mod sorted;

pub use fleet::{bench, BenchConfig, BenchReport, NodeFleet};
pub use images::{ImageCache, ImageCatalog};
pub use node::{ContainerSample, ContainerUsage, RuntimeConfig, SimNodeRuntime};
pub use node_cpu::NodeCpu;
