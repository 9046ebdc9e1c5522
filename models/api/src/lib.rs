//! # kubesim-api: the cluster's objects
//!
//! Compact, typed Rust structs for the Kubernetes objects kubesim simulates — what the scheduler,
//! controllers and kubelet read and write. They hold only what the simulation needs, in canonical
//! integer units ([`resources`]), with upstream defaults already applied. Real Kubernetes YAML is
//! turned into these by the `kubesim-manifests` crate (so this crate stays free of the large
//! generated `k8s-openapi` types and compiles fast for every component).
//!
//! | module | contents |
//! |---|---|
//! | [`meta`] | `ObjectMeta`, `ObjectKey`, owner references, well-known labels |
//! | [`resources`] | `ResourceName`, `ResourceList` (cpu in millicores, the rest in base units) |
//! | [`selectors`] | label selectors and node selectors with upstream matching rules |
//! | [`scheduling`] | taints, tolerations, affinity, topology spread, host ports |
//! | [`pod`] | `Pod`, containers, probes, status; `PodSpec` keeps its rarely set fields in one shared `PodSpecExtras` |
//! | [`node`] | `Node`, conditions, images |
//! | [`shared`] | `Shared<T>`: copy-on-write values, so pods stamped from one template share labels and containers |
//! | [`workloads`] | PriorityClass, ReplicaSet, Deployment, Job |

#![warn(missing_docs, unreachable_pub)]

pub mod meta;
pub mod name;
pub mod node;
pub mod pod;
pub mod resources;
pub mod scheduling;
pub mod selectors;
pub mod shared;
pub mod workloads;

pub use meta::{Labels, ObjectKey, ObjectMeta, OwnerReference};
pub use name::Name;
pub use node::{ContainerImage, Node, NodeCondition, NodeConditionType, NodeSpec, NodeStatus};
pub use pod::{
    ConditionStatus, Container, ContainerState, ContainerStatus, Pod, PodCondition, PodConditionType,
    PodPhase, PodSpec, PodSpecExtras, PodStatus, PreemptionPolicy, Probe, ProbeAction, PullPolicy,
    RestartPolicy,
};
pub use resources::{ResourceList, ResourceName, ResourceRequirements};
pub use scheduling::{
    Affinity, ContainerPort, NodeAffinity, NodeInclusionPolicy, PodAffinity, PodAffinityTerm,
    PreferredSchedulingTerm, Protocol, Taint, TaintEffect, Toleration, TolerationOperator,
    TopologySpreadConstraint, UnsatisfiableConstraintAction, WeightedPodAffinityTerm,
};
pub use selectors::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, NodeSelector, NodeSelectorOperator,
    NodeSelectorRequirement, NodeSelectorTerm,
};
pub use shared::Shared;
pub use workloads::{
    Deployment, DeploymentStrategy, IntOrPercent, Job, PodTemplateSpec, PriorityClass, ReplicaSet,
    ReplicaSetStatus,
};
pub mod autoscaling;
pub mod disruption;
pub mod services;
