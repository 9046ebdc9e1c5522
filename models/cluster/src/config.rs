//! How a simulated cluster is set up: seed, versions, timing knobs, node runtime parameters and
//! which workload each pod runs.

use std::sync::Arc;

use kubesim_api::{LabelSelector, Labels, ObjectKey};
use kubesim_controllers::hpa::HpaControllerConfig;
use kubesim_controllers::node_lifecycle::health::NodeLifecycleConfig;
use kubesim_kubelet::ProbeMode;
use kubesim_runtime_sim::{ImageCatalog, RuntimeConfig};
use kubesim_scheduler::config::SchedulerConfig;
use kubesim_scheduler::SchedulerOptions;
use kubesim_workload::{Curve, PodWorkload};
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
    /// Default 0: upstream has no fixed delay (informer delivery takes milliseconds and the work
    /// queues' rate limiters only delay *retries*, 5 ms doubling); raise it to study slow control planes.
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
    /// HPA controller flags (`--horizontal-pod-autoscaler-*`): sync period 15 s, tolerance 0.1,
    /// CPU initialization 5 min, initial readiness delay 30 s, downscale stabilization 5 min.
    pub hpa: HpaControllerConfig,
    /// metrics-server `--metric-resolution` (15 s): the scrape period of the resource metrics
    /// pipeline, and of the custom (Pods) metrics derived from the request load.
    pub metrics_resolution: SimDuration,
    /// How the metrics pipeline serves pods whose usage is identical: through shared usage
    /// classes (the default), or one sample per pod (the oracle the classes are checked against).
    pub metrics_mode: MetricsMode,
    /// Request load offered to Services: what request-driven workloads spread over their Service's
    /// ready endpoints, and the source of the `requests_per_second` Pods metric.
    pub service_loads: Vec<ServiceLoad>,
    /// External metric series (`external.metrics.k8s.io`), read live by the HPA at each sync.
    pub external_metrics: Vec<ExternalSeries>,
    /// How long a drain waits before retrying an eviction the API refused with 429 (kubectl drain: 5 s).
    pub drain_retry: SimDuration,
    /// The seeded random node-failure process (crash after an exponential up time, recover after
    /// an exponential repair time), if any.
    pub node_failures: Option<crate::cluster::NodeFailureProcess>,
}

/// How the metrics pipeline materialises served PodMetrics. Both serve the same values; the
/// per-pod mode is the simple model the usage classes are tested against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsMode {
    /// Pods whose samples are identical but for their names share one sample per scrape.
    #[default]
    UsageClasses,
    /// Every pod's sample is computed and stored on its own at every scrape.
    PerPod,
}

/// A Service's offered request rate over absolute simulated time.
#[derive(Debug, Clone)]
pub struct ServiceLoad {
    /// The Service (`namespace/name`).
    pub service: ObjectKey,
    /// Requests per second in milli-units (1 req/s = 1000) as a function of the time since the
    /// start of the run (not of any container's start).
    pub requests_per_second_milli: Curve,
}

/// One series of an external metric, over absolute simulated time.
#[derive(Debug, Clone)]
pub struct ExternalSeries {
    /// Metric name.
    pub name: String,
    /// The series' labels (HPA metric selectors match them).
    pub labels: Labels,
    /// Value in milli-units as a function of the time since the start of the run.
    pub value_milli: Curve,
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
            hpa: HpaControllerConfig::default(),
            metrics_resolution: SimDuration::from_secs(15),
            metrics_mode: MetricsMode::default(),
            service_loads: Vec::new(),
            external_metrics: Vec::new(),
            drain_retry: SimDuration::from_secs(5),
            node_failures: None,
        }
    }
}
