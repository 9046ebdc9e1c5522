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
//!   ApiStore ◄── writes ── controllers (ReplicaSet, Deployment, node lifecycle, taint eviction,
//!     │                     HPA, EndpointSlice, disruption, Job, garbage collector)
//!     │  └────── writes ── scheduler (bind)          ▲ dirty keys + ControllerSync event
//!     │  └────── writes ── kubelets (pod status, leases, conditions)
//!     └─ notifications ─► scheduler cache, kubelets (pod assigned / deleted), controllers
//!   kubelet ⇄ SimNodeRuntime: commands now, runtime events at their future times
//!   metrics-server scrape (every 15 s) ──► HPA (every 15 s) ──► Deployment spec.replicas
//! ```
//!
//! | module | contents |
//! |---|---|
//! | [`store`] | `ApiStore`: objects in ordered maps, resourceVersion, pods by owner and by node |
//! | [`cluster`] | `Cluster`: the driver, its event types and scenario actions |
//! | `cluster::{nodes, pods, scheduling}` | kubelet effects, node lifecycle and taint eviction; pod admission and deletion; scheduler cycles |
//! | `cluster::{replicaset, deployment}` | the ReplicaSet and Deployment controllers and the controller sync round |
//! | `cluster::ctl` | the second controller group's state, timers ([`CtlEvent`](cluster::CtlEvent)), pod-change hook and the scheduler's view of Services, ReplicaSet selectors and PDBs |
//! | `cluster::metrics_pipeline` | metrics-server model: 15 s scrapes, PodMetrics with its freshness rules, the `requests_per_second` Pods metric, external series |
//! | `cluster::usage_classes` | the pods whose served usage is identical but for the name share one sample per scrape (`MetricsMode`) |
//! | `cluster::hpa` | the HPA controller: reconcile every sync period, scale the target Deployment, `HpaDecision`/`HpaScaled` records |
//! | `cluster::endpoints` | the EndpointSlice controller: ready endpoints per Service (what request-driven load spreads over) |
//! | `cluster::disruption` | PDB status, the Eviction API, `kubectl drain` with 5 s retries |
//! | `cluster::job` | the Job controller |
//! | `cluster::gc` | garbage collection of a deleted Deployment's or Job's dependents (background propagation) |
//! | [`object_map`] | `ObjectMap`: objects by key, walked in key order, found by hash (Deployments and their status) |
//! | [`node_runtime`] | `ClusterNodeRuntime` (what faults and metrics need from a node's runtime) and the per-node `RuntimeFactory` (simulated by default; real in the wall-clock shell) |
//! | [`config`] | `ClusterConfig`: seed, scheduler, timing knobs, workloads |
//! | [`records`] | the canonical event-log records |
//! | [`metrics`] | metric samples for `metrics.csv` |

#![warn(missing_docs)]

pub mod cluster;
pub mod config;
pub mod metrics;
pub mod node_runtime;
pub mod object_map;
pub mod records;
pub mod store;

pub use cluster::{Action, Cluster, ClusterError, Counters, CtlEvent, Event, JobStatus};
pub use config::{ClusterConfig, MetricsMode};
pub use metrics::MetricSample;
pub use node_runtime::{ClusterNodeRuntime, RuntimeContext, RuntimeFactory, SimRuntimeFactory};
pub use store::ApiStore;
