//! The scenario file as written (`apiVersion: kubesim/v1`, `kind: Scenario`): serde shapes only.
//!
//! Field names follow Kubernetes style (camelCase). Everything here is *syntax*; meaning (units,
//! references, defaults that depend on other fields) is checked by [`crate::compile`]. The full
//! reference is `docs/scenario-format.md`. This is a contract: fields are added, never renamed.

use std::collections::BTreeMap;

use kubesim_workload::{DemandSpec, ShutdownSpec};
use serde::Deserialize;
use sim_core::SimDuration;

/// Externally tagged enums of the workload crate (`{constant: 200m}`) read through JSON's data
/// model: the YAML deserializer expects `!tag` syntax for enums, scenario files use mappings.
fn via_json<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    v.map(|v| serde_json::from_value(v).map_err(serde::de::Error::custom)).transpose()
}

fn via_json_required<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    serde_json::from_value(v).map_err(serde::de::Error::custom)
}

/// The `apiVersion` every scenario file carries.
pub const API_VERSION: &str = "kubesim/v1";
/// The `kind` every scenario file carries.
pub const KIND: &str = "Scenario";

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioFile {
    /// Must be `kubesim/v1`.
    pub api_version: String,
    /// Must be `Scenario`.
    pub kind: String,
    /// Name and description.
    #[serde(default)]
    pub metadata: Metadata,
    /// Everything else.
    pub spec: ScenarioSpec,
}

/// `metadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The scenario's name (default: the file name without extension).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

fn default_seed() -> u64 {
    42
}

fn default_version() -> String {
    "1.35".into()
}

/// `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioSpec {
    /// Root seed (default 42); `--seed` overrides.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long to simulate. Required, except with `trace`, where it defaults to `to − from`
    /// (or, without `to`, until the trace has ended and its pods have run their durations).
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Kubernetes release whose behaviour to reproduce (default `1.35`).
    #[serde(default = "default_version")]
    pub kubernetes_version: String,
    /// Feature gates (`{SchedulerPopFromBackoffQ: false}`).
    #[serde(default)]
    pub feature_gates: BTreeMap<String, bool>,
    /// Nodes.
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// Image layers and sizes (pull times).
    #[serde(default)]
    pub images: Vec<ImageSpec>,
    /// Scheduler policy or configuration.
    #[serde(default)]
    pub scheduler: SchedulerSpec,
    /// Kubernetes manifests: paths (files or folders, relative to the scenario) or inline objects.
    #[serde(default)]
    pub manifests: Vec<ManifestSource>,
    /// Container behaviour, by pod label selector.
    #[serde(default)]
    pub workloads: Vec<WorkloadEntry>,
    /// Timed actions.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Sampling of `metrics.csv`.
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// Assertions for `kubesim check`.
    #[serde(default)]
    pub expect: Vec<ExpectSpec>,
    /// Cluster timing knobs (controller and scheduler delays, toleration seconds).
    #[serde(default)]
    pub control_plane: ControlPlaneSpec,
    /// A cluster trace to replay (nodes, pods and Jobs arriving over time).
    #[serde(default)]
    pub trace: Option<TraceSpec>,
}

/// `spec.trace`: a cluster trace replayed into the run (see `docs/scenario-format.md`, "Traces").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSpec {
    /// `openb`, `alibaba-2018`, `google-2019` or `generic`.
    pub format: String,
    /// The trace folder (or, for `openb` and `generic`, the pod list file), relative to the scenario.
    pub path: String,
    /// Start of the window, from the trace start (default 0s).
    #[serde(default)]
    pub from: Option<SimDuration>,
    /// End of the window (exclusive; default: the end of the trace).
    #[serde(default)]
    pub to: Option<SimDuration>,
    /// Fraction of the trace's machines kept (`10%`, `0.1`); workloads are thinned alike.
    #[serde(default)]
    pub sample_machines: Option<QuantityValue>,
    /// Fraction of the trace's nodes kept, the workload untouched ("20 % fewer nodes": `80%`).
    #[serde(default)]
    pub keep_nodes: Option<QuantityValue>,
    /// `fromTrace` or `cluster` (default: `cluster` when the scenario defines nodes, else `fromTrace`).
    #[serde(default)]
    pub nodes: Option<String>,
    /// Skip malformed records (counted, with warnings) instead of failing.
    #[serde(default)]
    pub lenient: bool,
    /// Namespace of the replayed pods and Jobs (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// `pods` capacity of trace nodes (default 110, the kubelet's maxPods).
    #[serde(default)]
    pub pods_per_node: Option<i64>,
    /// `openb`/`generic` with a folder: the pod list in it (default `pods.csv`, or for openb
    /// `openb_pod_list_default.csv`).
    #[serde(default)]
    pub pods_file: Option<String>,
    /// `openb`/`generic`: the node list (in the folder, or next to the scenario when `path` is
    /// a file; default `nodes.csv`, or for openb `openb_node_list_all_node.csv`, when present).
    #[serde(default)]
    pub nodes_file: Option<String>,
    /// `alibaba-2018`: the memory the normalised size 100 stands for (`512Gi`); required.
    #[serde(default)]
    pub max_memory: Option<QuantityValue>,
    /// `google-2019`: what normalised capacity 1.0 stands for; required.
    #[serde(default)]
    pub machine_shape: Option<MachineShapeSpec>,
}

/// `spec.trace.machineShape`: `{cpu: 96, memory: 512Gi}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineShapeSpec {
    /// CPU of normalised 1.0 (a quantity: `96`, `96000m`).
    pub cpu: QuantityValue,
    /// Memory of normalised 1.0 (a quantity: `512Gi`).
    pub memory: QuantityValue,
}

/// `spec.controlPlane`: timing knobs of the simulated control plane (extension).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneSpec {
    /// Delay between a write and the controllers acting on it (default 0).
    #[serde(default)]
    pub controller_delay: Option<SimDuration>,
    /// Delay between a pod becoming schedulable and the scheduling cycle (default 0).
    #[serde(default)]
    pub scheduler_delay: Option<SimDuration>,
    /// `tolerationSeconds` of the default not-ready/unreachable tolerations (default 300).
    #[serde(default)]
    pub default_toleration_seconds: Option<i64>,
    /// Probe evaluation: `analytic` (default) or `periodic` (the per-period oracle).
    #[serde(default)]
    pub probe_mode: Option<String>,
    /// How the metrics pipeline stores served PodMetrics: `classes` (default: pods with identical
    /// usage share one sample) or `per-pod` (the oracle).
    #[serde(default)]
    pub metrics_mode: Option<String>,
}

/// A quantity as YAML gives it: `"8"`, `8`, `32Gi`, `0.5`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum QuantityValue {
    /// An integer.
    Int(i64),
    /// A float (`0.5`).
    Float(f64),
    /// A Kubernetes quantity string.
    Text(String),
}

impl QuantityValue {
    /// The text form, for `kubesim_manifests::Quantity::parse`.
    pub fn text(&self) -> String {
        match self {
            QuantityValue::Int(i) => i.to_string(),
            QuantityValue::Float(f) => f.to_string(),
            QuantityValue::Text(t) => t.clone(),
        }
    }
}

/// `spec.cluster`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Groups of identical nodes.
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
}

fn one() -> u32 {
    1
}

/// One node pool: `count` nodes named `<name>-<i>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    /// Pool name (node name prefix).
    pub name: String,
    /// Number of nodes (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Allocatable resources (`cpu`, `memory`, `pods`, `ephemeral-storage`, extended resources).
    #[serde(default)]
    pub allocatable: BTreeMap<String, QuantityValue>,
    /// Capacity (default: allocatable).
    #[serde(default)]
    pub capacity: Option<BTreeMap<String, QuantityValue>>,
    /// Node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Zones, assigned round-robin to `topology.kubernetes.io/zone`.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Taints.
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Image pull bandwidth per second (a quantity of bytes, e.g. `100Mi`).
    #[serde(default)]
    pub image_bandwidth: Option<QuantityValue>,
}

/// A node taint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaintSpec {
    /// Key.
    pub key: String,
    /// Value (default empty).
    #[serde(default)]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// One image of the registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Image reference as pods name it (`web:v1`).
    pub name: String,
    /// Layers; layers with one digest are shared between images.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// Shortcut for one layer of this size (its digest is the image name).
    #[serde(default)]
    pub size: Option<QuantityValue>,
    /// The registry does not have it: pulls fail (`ErrImagePull`, `ImagePullBackOff`).
    #[serde(default)]
    pub missing: bool,
}

/// One image layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerSpec {
    /// Digest (any name; equal digests are one layer).
    pub digest: String,
    /// Size in bytes (a quantity).
    pub size: QuantityValue,
}

/// `spec.scheduler`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerSpec {
    /// `default`, `least-allocated`, `most-allocated` or a research policy (`first-fit`, …).
    #[serde(default)]
    pub policy: Option<String>,
    /// A KubeSchedulerConfiguration file, relative to the scenario.
    #[serde(default)]
    pub config: Option<String>,
}

/// One entry of `spec.manifests`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ManifestSource {
    /// A file or folder, relative to the scenario file.
    Path(String),
    /// `{path, copies}`: `copies` copies of a manifest file with `{{i}}` templates
    /// ([`crate::generate`]).
    Copies(CopiesSource),
    /// An inline Kubernetes object.
    Inline(yaml_serde::Value),
}

/// `{path: manifests/app.yaml, copies: 1500}`: copy `i` of the file has its `{{i}}` templates
/// evaluated (see [`crate::generate`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopiesSource {
    /// The manifest file, relative to the scenario file.
    pub path: String,
    /// How many copies.
    pub copies: u64,
}

/// A label selector: `{app: web}` (matchLabels) or `{matchLabels: …, matchExpressions: …}`.
pub type SelectorSpec = BTreeMap<String, yaml_serde::Value>;

/// `spec.workloads[]`: how the containers of matching pods behave. The behaviour fields apply to
/// every regular container of a matching pod; `containers` overrides them per container name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEntry {
    /// Pod label selector; the first entry that matches a pod wins.
    pub selector: SelectorSpec,
    /// CPU demand model.
    #[serde(default, deserialize_with = "via_json")]
    pub cpu: Option<DemandSpec>,
    /// Request-driven CPU.
    #[serde(default)]
    pub requests: Option<RequestsSpec>,
    /// Memory working set.
    #[serde(default)]
    pub memory: Option<MemoryBehaviour>,
    /// Unhealthy for this long after each start.
    #[serde(default)]
    pub startup: Option<SimDuration>,
    /// Probe health and crashes.
    #[serde(default)]
    pub health: Option<HealthBehaviour>,
    /// Exits on its own after this long.
    #[serde(default)]
    pub completes_after: Option<SimDuration>,
    /// Exit code when it completes.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// SIGTERM reaction.
    #[serde(default, deserialize_with = "via_json")]
    pub shutdown: Option<ShutdownSpec>,
    /// Per container name, overriding the shared behaviour.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerBehaviour>,
}

impl WorkloadEntry {
    /// The behaviour shared by every container.
    pub fn shared(&self) -> ContainerBehaviour {
        ContainerBehaviour {
            cpu: self.cpu.clone(),
            requests: self.requests.clone(),
            memory: self.memory.clone(),
            startup: self.startup,
            health: self.health.clone(),
            completes_after: self.completes_after,
            exit_code: self.exit_code,
            shutdown: self.shutdown,
        }
    }
}

/// What one container does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerBehaviour {
    /// CPU demand model (`{constant: 200m}`, `{diurnal: …}`, `{steps: …}`, `{ramp: …}`, `{series: …}`).
    #[serde(default, deserialize_with = "via_json")]
    pub cpu: Option<DemandSpec>,
    /// Request-driven CPU: `rate` (requests/s, a demand model) × `cpuPerRequest`.
    #[serde(default)]
    pub requests: Option<RequestsSpec>,
    /// Memory working set.
    #[serde(default)]
    pub memory: Option<MemoryBehaviour>,
    /// Unhealthy (every probe fails) for this long after each start.
    #[serde(default)]
    pub startup: Option<SimDuration>,
    /// Probe health and crashes.
    #[serde(default)]
    pub health: Option<HealthBehaviour>,
    /// Exits on its own after this long (batch work).
    #[serde(default)]
    pub completes_after: Option<SimDuration>,
    /// Exit code when it completes (default 0).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// SIGTERM reaction: `die` (default), `ignore`, `{graceful: {after: 5s}}`.
    #[serde(default, deserialize_with = "via_json")]
    pub shutdown: Option<ShutdownSpec>,
}

/// `requests:`: request-driven CPU.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestsSpec {
    /// Requests per second (a demand model of plain numbers): for pods behind a Service, the
    /// Service's total rate, spread over its ready endpoints; otherwise what reaches each pod.
    #[serde(deserialize_with = "via_json_required")]
    pub rate: DemandSpec,
    /// CPU per request per second (`5m` = 5 millicores per req/s).
    pub cpu_per_request: QuantityValue,
    /// Idle CPU besides the requests (default 0).
    #[serde(default)]
    pub base_cpu: Option<QuantityValue>,
}

/// `memory:`: working set = base + leak.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryBehaviour {
    /// A quantity (`200Mi`) or a demand model of quantities.
    pub base: kubesim_workload::spec::MemoryBase,
    /// Leak rate: `1Mi/min`, `10Ki/s`, or a number of bytes per second (`0`).
    #[serde(default)]
    pub leak: Option<QuantityValue>,
}

/// `health:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthBehaviour {
    /// Unhealthy until this long after start.
    #[serde(default)]
    pub startup: Option<SimDuration>,
    /// From this offset liveness and readiness fail (the process hangs).
    #[serde(default)]
    pub hang_at: Option<SimDuration>,
    /// Exits with code 1 at this offset.
    #[serde(default)]
    pub crash_at: Option<SimDuration>,
    /// Mean time between crashes (seeded exponential lifetimes).
    #[serde(default)]
    pub crash_mtbf: Option<SimDuration>,
}

/// One timed event: `at` plus exactly one action.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSpec {
    /// When, since the start.
    pub at: SimDuration,
    /// Change a Deployment's image (starts a rollout).
    #[serde(default)]
    pub rollout: Option<RolloutEvent>,
    /// Change a Deployment's replicas.
    #[serde(default)]
    pub scale: Option<ScaleEvent>,
    /// A node fails (stops heartbeating, its containers die).
    #[serde(default)]
    pub fail_node: Option<NodeRef>,
    /// A failed node comes back.
    #[serde(default)]
    pub recover_node: Option<NodeRef>,
    /// Every node of a zone fails for `duration`.
    #[serde(default)]
    pub zone_outage: Option<ZoneOutageEvent>,
    /// Apply manifests (a file, or inline objects).
    #[serde(default)]
    pub apply: Option<ApplyEvent>,
    /// Stop a node's kubelet (heartbeats stop; containers keep running).
    #[serde(default)]
    pub stop_kubelet: Option<NodeRef>,
    /// Start a stopped kubelet.
    #[serde(default)]
    pub start_kubelet: Option<NodeRef>,
    /// `kubectl drain`.
    #[serde(default)]
    pub drain: Option<NodeRef>,
    /// Delete a pod (graceful).
    #[serde(default)]
    pub delete_pod: Option<PodRef>,
}

/// `rollout:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutEvent {
    /// `name` (namespace `default`) or `namespace/name`.
    pub deployment: String,
    /// New image.
    pub image: String,
    /// Only this container (default: every container).
    #[serde(default)]
    pub container: Option<String>,
}

/// `scale:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleEvent {
    /// `name` or `namespace/name`.
    pub deployment: String,
    /// New `spec.replicas`.
    pub replicas: i32,
}

/// `{node: name}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRef {
    /// Node name.
    pub node: String,
}

/// `{pod: name}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRef {
    /// `name` or `namespace/name`.
    pub pod: String,
}

/// `zoneOutage:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneOutageEvent {
    /// The zone (a value of `topology.kubernetes.io/zone`).
    pub zone: String,
    /// How long it lasts.
    pub duration: SimDuration,
}

/// `apply:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyEvent {
    /// A file or folder of manifests, relative to the scenario.
    #[serde(default)]
    pub file: Option<String>,
    /// Inline objects.
    #[serde(default)]
    pub objects: Vec<yaml_serde::Value>,
}

/// `spec.metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// Sampling interval (default 15s).
    #[serde(default = "default_interval")]
    pub interval: SimDuration,
}

fn default_interval() -> SimDuration {
    SimDuration::from_secs(15)
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec { interval: default_interval() }
    }
}

/// One assertion of `spec.expect`: exactly one field set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectSpec {
    /// Every rollout of the deployment completes within `within` of its start.
    #[serde(default)]
    pub rollout_completes: Option<RolloutCompletesSpec>,
    /// available / desired replicas never drops below `ratio` (after the first full availability).
    #[serde(default)]
    pub availability_at_least: Option<AvailabilitySpec>,
    /// No pod waits longer than this for a node.
    #[serde(default)]
    pub max_pending_time: Option<SimDuration>,
    /// `true`: no container is OOM-killed.
    #[serde(default, rename = "noOOMKills")]
    pub no_oom_kills: Option<bool>,
    /// At most this many container restarts in total.
    #[serde(default)]
    pub max_container_restarts: Option<u64>,
    /// At most this many evictions in total.
    #[serde(default)]
    pub max_evictions: Option<u64>,
    /// `true`: no pod is left pending at the end.
    #[serde(default)]
    pub all_pods_scheduled: Option<bool>,
    /// A deployment's replica counts at the end.
    #[serde(default)]
    pub final_replicas: Option<FinalReplicasSpec>,
    /// The 99th percentile of scheduling latency is at most this.
    #[serde(default)]
    pub scheduling_latency_p99: Option<SimDuration>,
}

/// `rolloutCompletes:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutCompletesSpec {
    /// The deployment.
    pub deployment: String,
    /// Deadline from each rollout's start.
    pub within: SimDuration,
}

/// `availabilityAtLeast:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilitySpec {
    /// The deployment.
    pub deployment: String,
    /// Lowest acceptable available / desired.
    pub ratio: f64,
}

/// `finalReplicas:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalReplicasSpec {
    /// The deployment.
    pub deployment: String,
    /// At least this many available replicas at the end.
    #[serde(default)]
    pub min_available: Option<i64>,
    /// `spec.replicas` at the end equals this.
    #[serde(default)]
    pub desired: Option<i64>,
}
