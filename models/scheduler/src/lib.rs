//! # kubesim-scheduler: kube-scheduler as a sans-IO state machine
//!
//! The default profile of kube-scheduler, reproduced exactly (integer arithmetic included), plus
//! research placement policies. The scheduler never reads a clock: every call takes `now`.
//! See `FRAMEWORK.md` for the plugin API.
//!
//! | module | contents |
//! |---|---|
//! | [`framework`] | `Status`, `NodeInfo`, `Snapshot` (node-tree order), `CycleState`, plugin traits, registry, `Framework` (a built profile), `NodeMemo` (memoised node-local results) |
//! | [`plugins`] | the in-tree plugins, one module each, upstream names |
//! | [`preemption`] | DefaultPreemption (PostFilter) |
//! | [`config`] | `KubeSchedulerConfiguration`: args, profiles, YAML, defaulting, validation |
//! | [`options`] | Kubernetes version and feature gates |
//! | [`queue`] | activeQ / backoffQ / unschedulable pool, sans-IO |
//! | [`scheduler`] | [`Scheduler`]: cache + queue + profiles and the scheduling cycle |
//! | [`diagnosis`] | per-cycle record of filter and score results |
//! | [`policies`] | research policies (first-fit, best-fit, worst-fit, random, dot-product) |
//!
//! ```
//! use kubesim_scheduler::{Scheduler, ScheduleOutcome};
//! use kubesim_api::{Node, Pod, ResourceList};
//! use sim_core::SimTime;
//!
//! let mut s = Scheduler::with_defaults(42);
//! let mut node = Node::default();
//! node.meta.name = "n1".into();
//! node.status.allocatable = ResourceList::new().with_cpu_millis(4000).with_memory_bytes(8 << 30)
//!     .with(kubesim_api::ResourceName::Pods, 110);
//! s.add_node(node, SimTime::ZERO);
//! let mut pod = Pod::default();
//! pod.meta.name = "p".into();
//! pod.meta.namespace = "default".into();
//! s.add_pod(pod, SimTime::ZERO);
//! match s.schedule_next(SimTime::ZERO) {
//!     Some(ScheduleOutcome::Bound { node, .. }) => assert_eq!(node, "n1"),
//!     other => panic!("{other:?}"),
//! }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod diagnosis;
pub mod framework;
pub mod options;
pub mod plugins;
pub mod policies;
pub mod preemption;
pub mod queue;
pub mod scheduler;

pub use config::{ProfileConfig, SchedulerConfig};
pub use diagnosis::{Diagnosis, NodeDiagnosis};
pub use options::{KubeVersion, SchedulerOptions};
pub use policies::{policy_by_name, Policy, PolicyContext};
pub use scheduler::{num_feasible_nodes_to_find, ScheduleOutcome, Scheduler, SchedulerError};
