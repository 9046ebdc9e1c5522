//! The simulation driver: every component on one event queue, the API store between them.
//!
//! Components stay sans-IO. The driver owns the [`EventQueue`], hands each component its inputs
//! with `now`, and carries out the effects they return: store writes, runtime commands, timers.
//! A write notifies exactly the components that watch it, at once for the scheduler cache and the
//! kubelets, and through a dirty set plus one `ControllerSync` event (after the configured watch
//! delay) for the controllers — so controllers are level-triggered and never see why they run.
//!
//! Everything observable goes to the canonical event log as it happens.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use kubesim_api::meta::well_known::{POD_TEMPLATE_HASH, TAINT_UNREACHABLE};
use kubesim_api::{
    ConditionStatus, ContainerState, Deployment, DeploymentStrategy, LabelSelectorOperator,
    LabelSelectorRequirement, Node, NodeCondition, NodeConditionType, ObjectKey, ObjectMeta, OwnerReference,
    Pod, PodCondition, PodConditionType, PodPhase, PriorityClass, ReplicaSet, Taint, TaintEffect,
};
use kubesim_controllers::deployment::fenceposts::max_surge;
use kubesim_controllers::deployment::history::{find_new_replica_set, next_revision};
use kubesim_controllers::deployment::proportional::proportional_scale;
use kubesim_controllers::deployment::recreate::{recreate_step, RecreateStep};
use kubesim_controllers::deployment::rolling::{new_rs_new_replicas, rolling_step, RollingStep};
use kubesim_controllers::deployment::status::{
    is_complete, is_pod_available, sync_rollout_status, DeploymentStatus,
};
use kubesim_controllers::deployment::{
    RsSummary, ScaleAction, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION,
};
use kubesim_controllers::node_lifecycle::eviction::{add_default_tolerations, eviction_time, EvictionTime};
use kubesim_controllers::node_lifecycle::health::{unknown_detected_at, NodeHealth};
use kubesim_controllers::replicaset::manage::{replica_diff, ReplicaDiff, BURST_REPLICAS};
use kubesim_controllers::replicaset::ranking::{pods_to_delete, RankingGates};
use kubesim_kubelet::{Kubelet, KubeletConfig, KubeletEffect, KubeletInput, RuntimeEvent, TimerToken};
use kubesim_scheduler::policies::policy_by_name;
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use kubesim_workload::PodWorkload;
use serde::Serialize;
use sim_core::{
    Digest, EventId, EventLog, EventQueue, LogError, RngStream, RngStreams, SimDuration, SimTime,
};

use crate::config::ClusterConfig;
use crate::node_runtime::{ClusterNodeRuntime, RuntimeContext, RuntimeFactory, SimRuntimeFactory};
use crate::object_map::ObjectMap;
use crate::records as rec;
use crate::store::ApiStore;

mod actions;
mod ctl;
mod deployment;
mod disruption;
mod endpoints;
mod faults;
mod gc;
mod hpa;
mod job;
mod label_index;
mod metrics_pipeline;
mod node_metrics;
mod nodes;
mod pods;
mod replicaset;
mod scheduling;
mod usage_classes;
mod workqueue;
mod zones;

pub use ctl::CtlEvent;
pub use faults::{FaultEvent, FaultKind, NodeFailureProcess};
pub use job::{JobStatus, CONTROLLER_UID_LABEL, JOB_NAME_LABEL};
pub use metrics_pipeline::REQUESTS_PER_SECOND;

/// What sits in the event queue.
#[derive(Debug, Clone)]
pub enum Event {
    /// A runtime event of node `node`, due at its own time.
    Runtime(u32, RuntimeEvent),
    /// A kubelet timer of node `node`.
    KubeletTimer(u32, TimerToken),
    /// The scheduler runs its queue.
    SchedulerWake,
    /// The controllers process their dirty keys.
    ControllerSync,
    /// Re-check one ReplicaSet (a pod becomes available after minReadySeconds).
    ResyncReplicaSet(ObjectKey),
    /// Re-check one Deployment (progress deadline).
    ResyncDeployment(ObjectKey),
    /// The node lifecycle controller's monitor tick that may declare node `node` Unknown.
    NodeMonitor(u32),
    /// A zone's NoExecute tainting limiter has a token again.
    ZoneTaintPass(String),
    /// Taint-based eviction of a pod is due.
    TaintEviction(ObjectKey),
    /// A scheduled action from the caller (a scenario).
    Action(Action),
    /// Timers of the metrics pipeline and the HPA, disruption, drain and Job controllers.
    Ctl(CtlEvent),
    /// A fault from the random node-failure process or the end of a zone outage.
    Fault(FaultEvent),
}

/// Things a scenario does to the cluster at a given time.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create or update a Deployment (a template change starts a rollout).
    ApplyDeployment(Box<Deployment>),
    /// Change a Deployment's image (every container whose name matches, or all if `None`).
    SetImage {
        /// The Deployment.
        deployment: ObjectKey,
        /// Container name; `None` = every container.
        container: Option<String>,
        /// New image.
        image: String,
    },
    /// Change a Deployment's replicas.
    Scale {
        /// The Deployment.
        deployment: ObjectKey,
        /// New `spec.replicas`.
        replicas: i32,
    },
    /// Stop a node's kubelet (heartbeats stop; containers keep running).
    StopKubelet(String),
    /// Start it again.
    StartKubelet(String),
    /// Delete a pod (graceful).
    DeletePod(ObjectKey),
    /// Create or update a HorizontalPodAutoscaler (autoscaling/v2).
    ApplyHpa(Box<kubesim_api::autoscaling::HorizontalPodAutoscaler>),
    /// Create or update a Service.
    ApplyService(Box<kubesim_api::services::Service>),
    /// Create or update a PodDisruptionBudget.
    ApplyPdb(Box<kubesim_api::disruption::PodDisruptionBudget>),
    /// Create a Job.
    ApplyJob(Box<kubesim_api::Job>),
    /// `kubectl drain`: cordon the node, then evict every pod on it through the Eviction API,
    /// retrying refused (429) evictions every `drain_retry`.
    Drain {
        /// Node name.
        node: String,
    },
    /// One `POST pods/<name>/eviction` (no retry).
    Evict {
        /// The pod.
        pod: ObjectKey,
    },
    /// Delete a Deployment with background propagation: its ReplicaSets and their pods follow.
    DeleteDeployment(ObjectKey),
    /// Delete a Job with background propagation: its pods follow.
    DeleteJob(ObjectKey),
    /// Crash a node: kubelet and runtime state gone, containers die, heartbeats stop.
    CrashNode(String),
    /// Boot a crashed node again: a fresh kubelet restarts the pods still bound to it.
    RecoverNode(String),
    /// Cut a node off the control plane (containers keep running, the kubelet acts locally).
    PartitionNode(String),
    /// Reconnect a partitioned node.
    HealNode(String),
    /// Partition every node of a zone (`topology.kubernetes.io/zone`) for `duration`.
    ZoneOutage {
        /// Zone label value.
        zone: String,
        /// How long until the nodes reconnect.
        duration: SimDuration,
    },
    /// Kill a running container's process now.
    KillContainer {
        /// The pod.
        pod: ObjectKey,
        /// Container name.
        container: String,
        /// Exit code: 1 (a crash) or 137 (SIGKILL).
        exit_code: i32,
    },
    /// Remove an image from the registry (pulls fail with `ErrImagePull`) or put it back.
    SetImageMissing {
        /// Image reference.
        image: String,
        /// Missing from now on (`true`) or available again.
        missing: bool,
    },
    /// Set a node's container start latency (a slow-start fault).
    SetStartLatency {
        /// Node name.
        node: String,
        /// Create + start latency from now on.
        latency: SimDuration,
    },
}

/// Why the cluster could not be built or an action refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The scheduler configuration is invalid.
    #[error("scheduler: {0}")]
    Scheduler(String),
    /// Writing the event log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The shell driving the cluster stopped the run (the wall-clock shell on Ctrl-C).
    #[error("run stopped: {0}")]
    Stopped(String),
    /// A name that does not exist.
    #[error("unknown {kind} {name:?}")]
    Unknown {
        /// Object kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// An object that fails validation.
    #[error("{kind} {name:?}: {message}")]
    Invalid {
        /// Object kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Two objects with one name.
    #[error("{kind} {name:?} already exists")]
    Duplicate {
        /// Object kind.
        kind: &'static str,
        /// Its name.
        name: String,
    },
}

/// One node: its kubelet, its runtime, and what the control plane knows of its heartbeats.
#[derive(Debug)]
struct NodeSlot {
    name: String,
    kubelet: Kubelet,
    runtime: Box<dyn ClusterNodeRuntime>,
    health: NodeHealth,
    lease_renewing: bool,
    monitor: Option<EventId>,
    /// When the node lifecycle controller put the unreachable taint on (taint eviction counts from it).
    tainted_at: Option<SimTime>,
}

/// Counters for summaries and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Events popped from the queue.
    pub events_processed: u64,
    /// Pods created.
    pub pods_created: u64,
    /// Scheduling decisions that bound a pod.
    pub pods_scheduled: u64,
    /// Containers OOM-killed.
    pub oom_kills: u64,
    /// Container restarts observed.
    pub container_restarts: u64,
    /// Pods evicted (kubelet pressure or taint eviction).
    pub evictions: u64,
}

/// The simulated cluster.
pub struct Cluster<W: Write> {
    queue: EventQueue<Event>,
    world: World<W>,
}

struct World<W: Write> {
    config: ClusterConfig,
    streams: RngStreams,
    names: RngStream,
    log: EventLog<W>,
    store: ApiStore,
    scheduler: Scheduler,
    scheduler_wake: Option<(SimTime, EventId)>,
    runtime_factory: Box<dyn RuntimeFactory>,
    nodes: Vec<NodeSlot>,
    /// Node slots by name. Hashed but only ever searched, never walked (walks go over `nodes` in
    /// slot order), and FxHash has no per-process seed: no answer's order depends on it.
    node_index: hashbrown::HashMap<String, u32, rustc_hash::FxBuildHasher>,
    timers: BTreeMap<(u32, TimerToken), EventId>,
    dirty_rs: BTreeSet<ObjectKey>,
    dirty_deploy: BTreeSet<ObjectKey>,
    controller_sync: Option<EventId>,
    deployment_status: ObjectMap<DeploymentStatus>,
    /// The Deployment workqueue's rate limiter (`enqueueRateLimited`).
    deployment_queue_limiter: kubesim_controllers::rate_limit::ControllerRateLimiter,
    /// Deployments waiting in the Deployment workqueue's delaying queue.
    deployment_waiting: workqueue::DelayedKeys,
    /// ReplicaSets waiting in the ReplicaSet workqueue's delaying queue.
    replica_set_waiting: workqueue::DelayedKeys,
    completed_revision: BTreeMap<ObjectKey, i64>,
    taint_evictions: BTreeMap<ObjectKey, EventId>,
    zone_tainting: zones::ZoneTainting,
    /// State of the HPA, metrics, endpoints, disruption, Job and GC controllers.
    ctl: ctl::CtlState,
    /// Per-node fault state (crashed, partitioned, held messages, failure streams).
    faults: faults::FaultState,
    counters: Counters,
    /// Workloads given to single pods at creation (trace replay), by pod key; before the selectors.
    pod_workloads: BTreeMap<ObjectKey, Arc<PodWorkload>>,
    effects: Vec<KubeletEffect>,
    runtime_events: Vec<RuntimeEvent>,
    error: Option<LogError>,
}

impl<W: Write> std::fmt::Debug for Cluster<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("now", &self.queue.now())
            .field("pending_events", &self.queue.len())
            .field("nodes", &self.world.nodes.len())
            .field("pods", &self.world.store.pod_count())
            .finish()
    }
}

impl<W: Write> Cluster<W> {
    /// An empty cluster at time zero writing its event log to `log`.
    pub fn new(config: ClusterConfig, log: W) -> Result<Self, ClusterError> {
        Self::with_runtime_factory(config, log, Box::new(SimRuntimeFactory))
    }

    /// An empty cluster whose nodes get their runtimes from `factory` (the wall-clock shell's
    /// real runtimes; [`Cluster::new`] uses simulated ones).
    pub fn with_runtime_factory(
        config: ClusterConfig,
        log: W,
        factory: Box<dyn RuntimeFactory>,
    ) -> Result<Self, ClusterError> {
        let mut scheduler =
            Scheduler::new(config.scheduler.clone(), config.scheduler_options.clone(), config.seed)
                .map_err(|e| ClusterError::Scheduler(e.to_string()))?;
        if let Some(name) = &config.scheduler_policy {
            let policy = policy_by_name(name)
                .ok_or_else(|| ClusterError::Unknown { kind: "scheduler policy", name: name.clone() })?;
            scheduler.set_policy(Some(policy));
        }
        let streams = RngStreams::new(config.seed);
        Ok(Cluster {
            queue: EventQueue::new(),
            world: World {
                names: streams.stream("cluster.names"),
                streams,
                config,
                log: EventLog::new(log),
                store: ApiStore::default(),
                scheduler,
                scheduler_wake: None,
                runtime_factory: factory,
                nodes: Vec::new(),
                node_index: Default::default(),
                timers: BTreeMap::new(),
                dirty_rs: BTreeSet::new(),
                dirty_deploy: BTreeSet::new(),
                controller_sync: None,
                deployment_status: ObjectMap::new(),
                deployment_queue_limiter: Default::default(),
                deployment_waiting: Default::default(),
                replica_set_waiting: Default::default(),
                completed_revision: BTreeMap::new(),
                taint_evictions: BTreeMap::new(),
                zone_tainting: Default::default(),
                ctl: ctl::CtlState::default(),
                faults: faults::FaultState::default(),
                counters: Counters::default(),
                pod_workloads: BTreeMap::new(),
                effects: Vec::new(),
                runtime_events: Vec::new(),
                error: None,
            },
        })
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// The API store (read-only).
    pub fn store(&self) -> &ApiStore {
        &self.world.store
    }

    /// What the scheduler's plugins read besides nodes and pods (Service and controller
    /// selectors for default topology spreading, PodDisruptionBudgets for preemption), as last
    /// handed over (refreshed before each scheduling pass).
    pub fn scheduler_objects(&self) -> &kubesim_scheduler::framework::ClusterObjects {
        &self.world.scheduler.snapshot().objects
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.world.counters
    }

    /// Events pending in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// A Deployment's status as the controller last wrote it.
    pub fn deployment_status(&self, key: &ObjectKey) -> Option<&DeploymentStatus> {
        self.world.deployment_status.get(key)
    }

    /// Adds a PriorityClass.
    pub fn add_priority_class(&mut self, pc: PriorityClass) {
        self.world.store.priority_classes.insert(pc.meta.name.to_string(), pc);
    }

    /// Adds a node now: the scheduler sees it and its kubelet starts.
    pub fn add_node(&mut self, node: Node) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.add_node(node, now, &mut self.queue)?;
        self.world.take_error()
    }

    /// Creates a bare pod now (no owner).
    pub fn create_pod(&mut self, pod: Pod) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.create_pod(pod, now, &mut self.queue);
        self.world.take_error()
    }

    /// Creates a bare pod now whose containers behave as `workload` says (a trace's usage series),
    /// instead of the workload its labels would select.
    pub fn create_pod_with_workload(
        &mut self,
        pod: Pod,
        workload: Arc<PodWorkload>,
    ) -> Result<(), ClusterError> {
        self.world.pod_workloads.insert(pod.meta.key(), workload);
        self.create_pod(pod)
    }

    /// Creates or updates a Deployment now.
    pub fn apply_deployment(&mut self, d: Deployment) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.apply_deployment(d, now, &mut self.queue);
        self.world.take_error()
    }

    /// Schedules `action` at `at` (not before now).
    pub fn schedule_action(&mut self, at: SimTime, action: Action) -> Result<(), ClusterError> {
        let at = at.max(self.queue.now());
        self.queue.schedule_at(at, Event::Action(action)).expect("not in the past");
        Ok(())
    }

    /// Runs every event due at or before `until`, then moves the clock there.
    pub fn run_until(&mut self, until: SimTime) -> Result<(), ClusterError> {
        while let Some((now, event)) = self.queue.pop_until(until) {
            self.world.counters.events_processed += 1;
            if let Event::Ctl(CtlEvent::HpaSync(id)) = event {
                // With the syncs of the same instant queued right behind it (see `hpa.rs`).
                self.run_hpa_syncs(id, now)?;
                continue;
            }
            self.world.handle(now, event, &mut self.queue);
            self.world.take_error()?;
        }
        if self.queue.now() < until {
            let _ = self.queue.advance_to(until);
        }
        Ok(())
    }

    /// When the next queued event is due (`None` when nothing is pending). The wall-clock shell
    /// sleeps until then, or until a runtime reports something.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Collects what every node's runtime saw happen on its own since the last call (a real node's
    /// exits, OOM kills, probe results) and queues each at its time (never before now); returns
    /// how many. A simulated runtime plans its events up front, so this finds nothing there.
    pub fn poll_runtimes(&mut self) -> usize {
        let now = self.queue.now();
        let mut found = 0;
        let mut events = std::mem::take(&mut self.world.runtime_events);
        for (node, slot) in self.world.nodes.iter_mut().enumerate() {
            slot.runtime.poll(now, &mut events);
            for ev in events.drain(..) {
                found += 1;
                let at = ev.at().max(now);
                self.queue.schedule_at(at, Event::Runtime(node as u32, ev)).expect("not in the past");
            }
        }
        self.world.runtime_events = events;
        found
    }

    /// Samples the cluster's state now (pending pods, per-node allocation, per-deployment replicas,
    /// cumulative counters), in a deterministic order.
    pub fn sample_metrics(&self) -> Vec<crate::metrics::MetricSample> {
        use crate::metrics::{names, MetricSample, CLUSTER};
        let w = &self.world;
        let mut out = Vec::new();
        let mut push = |metric, object: &str, value: f64| {
            out.push(MetricSample { metric, object: object.to_string(), value })
        };
        push(names::PODS_PENDING, CLUSTER, w.store.unbound_pod_count() as f64);
        push(names::PODS_RUNNING, CLUSTER, w.store.running_pod_count() as f64);
        push(names::NODES_READY, CLUSTER, w.store.nodes.values().filter(|n| n.is_ready()).count() as f64);
        push(names::OOM_KILLS, CLUSTER, w.counters.oom_kills as f64);
        push(names::RESTARTS, CLUSTER, w.counters.container_restarts as f64);
        push(names::EVICTIONS, CLUSTER, w.counters.evictions as f64);
        // Requests of the non-terminal pods bound to each node, as the store keeps them.
        for (name, node) in &w.store.nodes {
            let requested = w.store.node_requests(name);
            let ratio = |used: i64, alloc: i64| if alloc > 0 { used as f64 / alloc as f64 } else { 0.0 };
            push(
                names::NODE_CPU_ALLOCATED,
                name,
                ratio(requested.cpu_millis, node.status.allocatable.cpu_millis()),
            );
            push(
                names::NODE_MEMORY_ALLOCATED,
                name,
                ratio(requested.memory_bytes, node.status.allocatable.memory_bytes()),
            );
        }
        for (key, d) in &w.store.deployments {
            let object = key.to_string();
            let s = w.deployment_status.get(key).cloned().unwrap_or_default();
            push(names::DEPLOYMENT_DESIRED, &object, f64::from(d.replicas));
            push(names::DEPLOYMENT_REPLICAS, &object, f64::from(s.replicas));
            push(names::DEPLOYMENT_UPDATED, &object, f64::from(s.updated_replicas));
            push(names::DEPLOYMENT_READY, &object, f64::from(s.ready_replicas));
            push(names::DEPLOYMENT_AVAILABLE, &object, f64::from(s.available_replicas));
        }
        out
    }

    /// Computes the event log's digest on a thread of its own from here on (same digest; see
    /// [`EventLog::hash_on_a_thread`](sim_core::EventLog::hash_on_a_thread)): for long runs,
    /// where SHA-256 would otherwise be a few per cent of the simulation's own thread.
    pub fn hash_log_on_a_thread(&mut self) {
        self.world.log.hash_on_a_thread();
    }

    /// Flushes the log and returns the writer and the run's digest.
    pub fn finish(self) -> Result<(W, Digest), ClusterError> {
        Ok(self.world.log.finish()?)
    }
}

fn status_str(s: ConditionStatus) -> &'static str {
    match s {
        ConditionStatus::True => "True",
        ConditionStatus::False => "False",
        ConditionStatus::Unknown => "Unknown",
    }
}

fn phase_str(p: PodPhase) -> &'static str {
    match p {
        PodPhase::Pending => "Pending",
        PodPhase::Running => "Running",
        PodPhase::Succeeded => "Succeeded",
        PodPhase::Failed => "Failed",
        PodPhase::Unknown => "Unknown",
    }
}

/// Appends a record to `log`, unless an earlier write failed; a failure is kept in `error` (the
/// caller reports it). For code that holds other parts of the world borrowed.
fn record_to<W: Write, T: Serialize>(
    log: &mut EventLog<W>,
    error: &mut Option<LogError>,
    now: SimTime,
    kind: &str,
    body: &T,
) {
    if error.is_some() {
        return;
    }
    if let Err(e) = log.record(now, kind, body) {
        *error = Some(e);
    }
}

impl<W: Write> World<W> {
    fn record<T: Serialize>(&mut self, now: SimTime, kind: &str, body: &T) {
        record_to(&mut self.log, &mut self.error, now, kind, body);
    }

    fn take_error(&mut self) -> Result<(), ClusterError> {
        match self.error.take() {
            Some(e) => Err(ClusterError::Log(e)),
            None => Ok(()),
        }
    }

    fn handle(&mut self, now: SimTime, event: Event, q: &mut EventQueue<Event>) {
        match event {
            Event::Runtime(node, ev) => {
                let slot = &mut self.nodes[node as usize];
                if let Some(ev) = slot.runtime.commit(now, ev) {
                    slot.kubelet.handle(now, KubeletInput::Runtime(ev), &mut self.effects);
                    self.apply_kubelet_effects(node, now, q);
                }
            }
            Event::KubeletTimer(node, token) => {
                self.timers.remove(&(node, token));
                self.nodes[node as usize].kubelet.handle(
                    now,
                    KubeletInput::TimerFired(token),
                    &mut self.effects,
                );
                self.apply_kubelet_effects(node, now, q);
            }
            Event::SchedulerWake => {
                self.scheduler_wake = None;
                self.run_scheduler(now, q);
            }
            Event::ControllerSync => {
                self.controller_sync = None;
                self.run_controllers(now, q);
            }
            Event::ResyncReplicaSet(key) => {
                self.replica_set_waiting.fired(&key);
                self.mark_rs(key, now, q)
            }
            Event::ResyncDeployment(key) => {
                self.deployment_waiting.fired(&key);
                self.mark_deploy(key, now, q)
            }
            Event::NodeMonitor(node) => self.node_monitor(node, now, q),
            Event::ZoneTaintPass(zone) => self.zone_taint_pass(&zone, now, q),
            Event::TaintEviction(key) => self.taint_evict(key, now, q),
            Event::Action(action) => self.action(action, now, q),
            Event::Ctl(ev) => self.ctl_event(ev, now, q),
            Event::Fault(ev) => self.fault_event(ev, now, q),
        }
    }
}
