//! Metric samples of the cluster's state, for the tidy `metrics.csv` (`time_s,metric,object,value`).
//!
//! Sampling reads the store and the node runtimes; it never touches the event queue, so a run's
//! event log and digest do not depend on the sampling interval.

use serde::Serialize;

/// One metric value at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSample {
    /// Metric name (see [`names`]).
    pub metric: &'static str,
    /// The object it is about (`cluster`, a node name, `namespace/name`).
    pub object: String,
    /// The value.
    pub value: f64,
}

/// Metric names emitted by [`Cluster::sample_metrics`](crate::Cluster::sample_metrics).
pub mod names {
    /// Pods not yet bound (cluster).
    pub const PODS_PENDING: &str = "pods_pending";
    /// Pods in phase Running (cluster).
    pub const PODS_RUNNING: &str = "pods_running";
    /// Nodes whose Ready condition is True (cluster).
    pub const NODES_READY: &str = "nodes_ready";
    /// Σ pod CPU requests / allocatable (per node), 0..1.
    pub const NODE_CPU_ALLOCATED: &str = "node_cpu_allocated_ratio";
    /// Σ pod memory requests / allocatable (per node), 0..1.
    pub const NODE_MEMORY_ALLOCATED: &str = "node_memory_allocated_ratio";
    /// Deployment `spec.replicas`.
    pub const DEPLOYMENT_DESIRED: &str = "deployment_replicas_desired";
    /// Deployment `status.replicas`.
    pub const DEPLOYMENT_REPLICAS: &str = "deployment_replicas";
    /// Deployment `status.updatedReplicas`.
    pub const DEPLOYMENT_UPDATED: &str = "deployment_replicas_updated";
    /// Deployment `status.readyReplicas`.
    pub const DEPLOYMENT_READY: &str = "deployment_replicas_ready";
    /// Deployment `status.availableReplicas`.
    pub const DEPLOYMENT_AVAILABLE: &str = "deployment_replicas_available";
    /// Cumulative OOM kills (cluster).
    pub const OOM_KILLS: &str = "oom_kills_total";
    /// Cumulative container restarts (cluster).
    pub const RESTARTS: &str = "container_restarts_total";
    /// Cumulative evictions (cluster).
    pub const EVICTIONS: &str = "evictions_total";
    /// Average CPU of a container over the last sampling interval, millicores
    /// (`namespace/pod/container`; [`Cluster::sample_node_metrics`](crate::Cluster::sample_node_metrics)).
    pub const CONTAINER_CPU_USAGE: &str = "container_cpu_usage_millicores";
    /// Throttled / quota periods of a container over the last interval, 0..1.
    pub const CONTAINER_CPU_THROTTLED: &str = "container_cpu_throttled_ratio";
    /// Working set of a container, bytes.
    pub const CONTAINER_MEMORY_WORKING_SET: &str = "container_memory_working_set_bytes";
    /// Σ container CPU usage over the last interval / allocatable (per node).
    pub const NODE_CPU_USED: &str = "node_cpu_used_ratio";
    /// Σ container working sets / allocatable (per node).
    pub const NODE_MEMORY_USED: &str = "node_memory_used_ratio";
}

/// The object name of cluster-wide metrics.
pub const CLUSTER: &str = "cluster";
