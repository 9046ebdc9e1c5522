//! # kubesim-cluster: the simulated cluster
//!
//! The simulation shell of kubesim's architecture: the API store, kube-scheduler, the controllers
//! and one kubelet plus simulated runtime per node, all driven by one deterministic
//! [`sim_core::EventQueue`]. The components are the sans-IO state machines of the `kubesim-*`
//! model crates, unchanged; this crate only delivers their inputs and carries out their effects.
//!
//! ```text
//!  scenario actions ─┐
//!                    ▼
//!   ApiStore ◄── writes ── controllers (ReplicaSet, Deployment, node lifecycle, taint eviction)
//!     │  └────── writes ── scheduler (bind)          ▲ dirty keys + ControllerSync event
//!     │  └────── writes ── kubelets (pod status, leases, conditions)
//!     └─ notifications ─► scheduler cache, kubelets (pod assigned / deleted), controllers
//!   kubelet ⇄ SimNodeRuntime: commands now, runtime events at their future times
//! ```
//!
//! | module | contents |
//! |---|---|
//! | [`store`] | `ApiStore`: objects in ordered maps, resourceVersion, pods by owner and by node |
//! | [`cluster`] | `Cluster`: the driver, its event types and scenario actions |
//! | [`config`] | `ClusterConfig`: seed, scheduler, timing knobs, workloads |
//! | [`records`] | the canonical event-log records |
//! | [`metrics`] | metric samples for `metrics.csv` |

#![warn(missing_docs)]

pub mod cluster;
pub mod config;
pub mod metrics;
pub mod records;
pub mod store;

pub use cluster::{Action, Cluster, ClusterError, Counters, Event};
pub use config::ClusterConfig;
pub use metrics::MetricSample;
pub use store::ApiStore;
