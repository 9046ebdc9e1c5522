//! How a simulated cluster is set up: seed, versions, timing knobs, node runtime parameters and
//! which workload each pod runs.

use std::sync::Arc;

use kubesim_api::LabelSelector;
use kubesim_controllers::node_lifecycle::health::NodeLifecycleConfig;
use kubesim_kubelet::ProbeMode;
use kubesim_runtime_sim::{ImageCatalog, RuntimeConfig};
use kubesim_scheduler::config::SchedulerConfig;
use kubesim_scheduler::SchedulerOptions;
use kubesim_workload::PodWorkload;
use sim_core::SimDuration;

/// Everything a [`Cluster`](crate::Cluster) needs besides its objects.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Root seed of every random stream in the run.
    pub seed: u64,
    /// The scheduler's configuration (profiles, plugins, args).
    pub scheduler: SchedulerConfig,
    /// Kubernetes version and feature gates.
    pub scheduler_options: SchedulerOptions,
    /// A research policy instead of the profile's scoring (`first-fit`, …), if any.
    pub scheduler_policy: Option<String>,
    /// Node lifecycle controller timings (grace period, monitor period).
    pub node_lifecycle: NodeLifecycleConfig,
    /// Delay between a write and the controllers acting on it (watch delivery + work queue).
    pub controller_delay: SimDuration,
    /// Delay between a pod becoming schedulable and the scheduler's cycle.
    pub scheduler_delay: SimDuration,
    /// Kubelet probe evaluation (analytic, or per period as an oracle).
    pub probe_mode: ProbeMode,
    /// Simulated runtime latencies and pull bandwidth.
    pub runtime: RuntimeConfig,
    /// Images with their layers.
    pub images: Arc<ImageCatalog>,
    /// Workloads by pod label selector: the first match gives a pod's container behaviour.
    pub workloads: Vec<(LabelSelector, Arc<PodWorkload>)>,
    /// Default `tolerationSeconds` of the not-ready/unreachable tolerations added at admission.
    pub default_toleration_seconds: i64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            seed: 42,
            scheduler: SchedulerConfig::default(),
            scheduler_options: SchedulerOptions::default(),
            scheduler_policy: None,
            node_lifecycle: NodeLifecycleConfig::default(),
            controller_delay: SimDuration::ZERO,
            scheduler_delay: SimDuration::ZERO,
            probe_mode: ProbeMode::Analytic,
            runtime: RuntimeConfig::default(),
            images: Arc::new(ImageCatalog::open()),
            workloads: Vec::new(),
            default_toleration_seconds: 300,
        }
    }
}
