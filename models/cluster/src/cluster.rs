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
use kubesim_kubelet::{
    Kubelet, KubeletConfig, KubeletEffect, KubeletInput, NodeRuntime, RuntimeEvent, TimerToken,
};
use kubesim_runtime_sim::SimNodeRuntime;
use kubesim_scheduler::policies::policy_by_name;
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use kubesim_workload::PodWorkload;
use serde::Serialize;
use sim_core::{
    Digest, EventId, EventLog, EventQueue, LogError, RngStream, RngStreams, SimDuration, SimTime,
};

use crate::config::ClusterConfig;
use crate::records as rec;
use crate::store::ApiStore;

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
    /// Taint-based eviction of a pod is due.
    TaintEviction(ObjectKey),
    /// A scheduled action from the caller (a scenario).
    Action(Action),
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
    /// A name that does not exist.
    #[error("unknown {kind} {name:?}")]
    Unknown {
        /// Object kind.
        kind: &'static str,
        /// Its name.
        name: String,
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
    runtime: SimNodeRuntime,
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
    nodes: Vec<NodeSlot>,
    node_index: BTreeMap<String, u32>,
    timers: BTreeMap<(u32, TimerToken), EventId>,
    dirty_rs: BTreeSet<ObjectKey>,
    dirty_deploy: BTreeSet<ObjectKey>,
    controller_sync: Option<EventId>,
    deployment_status: BTreeMap<ObjectKey, DeploymentStatus>,
    completed_revision: BTreeMap<ObjectKey, i64>,
    taint_evictions: BTreeMap<ObjectKey, EventId>,
    counters: Counters,
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
                nodes: Vec::new(),
                node_index: BTreeMap::new(),
                timers: BTreeMap::new(),
                dirty_rs: BTreeSet::new(),
                dirty_deploy: BTreeSet::new(),
                controller_sync: None,
                deployment_status: BTreeMap::new(),
                completed_revision: BTreeMap::new(),
                taint_evictions: BTreeMap::new(),
                counters: Counters::default(),
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
        self.world.store.priority_classes.insert(pc.meta.name.clone(), pc);
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
            self.world.handle(now, event, &mut self.queue);
            self.world.take_error()?;
        }
        if self.queue.now() < until {
            let _ = self.queue.advance_to(until);
        }
        Ok(())
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

impl<W: Write> World<W> {
    fn record<T: Serialize>(&mut self, now: SimTime, kind: &str, body: &T) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.log.record(now, kind, body) {
            self.error = Some(e);
        }
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
            Event::ResyncReplicaSet(key) => self.mark_rs(key, now, q),
            Event::ResyncDeployment(key) => self.mark_deploy(key, now, q),
            Event::NodeMonitor(node) => self.node_monitor(node, now, q),
            Event::TaintEviction(key) => self.taint_evict(key, now, q),
            Event::Action(action) => self.action(action, now, q),
        }
    }

    // ---------------------------------------------------------------- nodes and kubelets

    fn add_node(
        &mut self,
        mut node: Node,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> Result<(), ClusterError> {
        let name = node.meta.name.clone();
        if self.node_index.contains_key(&name) {
            return Err(ClusterError::Duplicate { kind: "Node", name });
        }
        node.meta.creation_timestamp = now;
        node.meta
            .labels
            .entry(kubesim_api::meta::well_known::HOSTNAME.into())
            .or_insert_with(|| name.clone());
        let index = self.nodes.len() as u32;
        let mut kcfg = KubeletConfig::new(&name, node.status.allocatable.clone());
        kcfg.probe_mode = self.config.probe_mode;
        let runtime = SimNodeRuntime::new(
            self.config.runtime.clone(),
            self.config.images.clone(),
            self.streams,
            u64::from(index),
        );
        self.nodes.push(NodeSlot {
            name: name.clone(),
            kubelet: Kubelet::new(kcfg),
            runtime,
            health: NodeHealth { created: now, last_heartbeat: None, reported_ready: ConditionStatus::False },
            lease_renewing: false,
            monitor: None,
            tainted_at: None,
        });
        self.node_index.insert(name.clone(), index);
        self.store.nodes.insert(name.clone(), node.clone());
        self.scheduler.add_node(node, now);
        self.record(now, "NodeAdded", &rec::NodeRef { node: &name });
        self.nodes[index as usize].kubelet.handle(now, KubeletInput::NodeStart, &mut self.effects);
        self.apply_kubelet_effects(index, now, q);
        self.wake_scheduler(now, q);
        Ok(())
    }

    fn apply_kubelet_effects(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            match effect {
                KubeletEffect::Runtime(cmd) => {
                    let slot = &mut self.nodes[node as usize];
                    slot.runtime.execute(now, cmd, &mut self.runtime_events);
                    for ev in self.runtime_events.drain(..) {
                        let at = ev.at().max(now);
                        q.schedule_at(at, Event::Runtime(node, ev)).expect("not in the past");
                    }
                }
                KubeletEffect::SetTimer { at, token } => {
                    if let Some(old) = self.timers.remove(&(node, token)) {
                        q.cancel(old);
                    }
                    let id = q
                        .schedule_at(at.max(now), Event::KubeletTimer(node, token))
                        .expect("not in the past");
                    self.timers.insert((node, token), id);
                }
                KubeletEffect::CancelTimer { token } => {
                    if let Some(old) = self.timers.remove(&(node, token)) {
                        q.cancel(old);
                    }
                }
                KubeletEffect::PodStatusUpdate { key, status } => {
                    self.pod_status_update(&key, status, now, q)
                }
                KubeletEffect::NodeLease { renewing } => self.node_lease(node, renewing, now, q),
                KubeletEffect::NodeCondition { kind, status } => {
                    self.set_node_condition(node, kind, status, "kubelet", now);
                }
                KubeletEffect::PodEvicted { key } => {
                    self.counters.evictions += 1;
                    let name = self.nodes[node as usize].name.clone();
                    self.record(now, "PodEvicted", &rec::PodEvicted { pod: &key.to_string(), node: &name });
                }
                KubeletEffect::PodRemoved { key } => self.remove_pod(&key, now, q),
            }
        }
        self.effects = effects;
    }

    fn set_node_condition(
        &mut self,
        node: u32,
        kind: NodeConditionType,
        status: ConditionStatus,
        by: &str,
        now: SimTime,
    ) {
        let name = self.nodes[node as usize].name.clone();
        if kind == NodeConditionType::Ready && by == "kubelet" {
            self.nodes[node as usize].health.reported_ready = status;
        }
        let Some(obj) = self.store.nodes.get_mut(&name) else { return };
        let changed = match obj.status.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) if c.status == status => false,
            Some(c) => {
                c.status = status;
                c.last_transition_time = Some(now);
                true
            }
            None => {
                obj.status.conditions.push(NodeCondition {
                    kind: kind.clone(),
                    status,
                    last_heartbeat_time: Some(now),
                    last_transition_time: Some(now),
                    reason: None,
                });
                true
            }
        };
        if changed {
            let updated = obj.clone();
            self.scheduler.update_node(updated, now);
            let condition = match &kind {
                NodeConditionType::Ready => "Ready",
                NodeConditionType::MemoryPressure => "MemoryPressure",
                NodeConditionType::DiskPressure => "DiskPressure",
                NodeConditionType::PidPressure => "PIDPressure",
                NodeConditionType::NetworkUnavailable => "NetworkUnavailable",
                NodeConditionType::Other(s) => s.as_str(),
            }
            .to_string();
            self.record(
                now,
                "NodeCondition",
                &rec::NodeConditionChanged {
                    node: &name,
                    condition: &condition,
                    status: status_str(status),
                    by,
                },
            );
        }
    }

    /// Lease transitions: while renewing, the node is healthy as of `now`; when renewals stop, the
    /// lifecycle controller notices at the first monitor tick after the grace period.
    fn node_lease(&mut self, node: u32, renewing: bool, now: SimTime, q: &mut EventQueue<Event>) {
        let slot = &mut self.nodes[node as usize];
        slot.lease_renewing = renewing;
        slot.health.last_heartbeat = Some(now);
        if let Some(id) = slot.monitor.take() {
            q.cancel(id);
        }
        if renewing {
            if slot.tainted_at.take().is_some() {
                self.untaint_node(node, now, q);
            }
        } else {
            let at = unknown_detected_at(&slot.health, &self.config.node_lifecycle);
            slot.monitor =
                Some(q.schedule_at(at.max(now), Event::NodeMonitor(node)).expect("not in the past"));
        }
    }

    fn node_monitor(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        self.nodes[node as usize].monitor = None;
        if self.nodes[node as usize].lease_renewing {
            return;
        }
        self.set_node_condition(
            node,
            NodeConditionType::Ready,
            ConditionStatus::Unknown,
            "node-lifecycle",
            now,
        );
        self.taint_node(node, now, q);
    }

    fn taint_node(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        self.nodes[node as usize].tainted_at = Some(now);
        let Some(obj) = self.store.nodes.get_mut(&name) else { return };
        for effect in [TaintEffect::NoSchedule, TaintEffect::NoExecute] {
            if !obj.spec.taints.iter().any(|t| t.key == TAINT_UNREACHABLE && t.effect == effect) {
                obj.spec.taints.push(Taint {
                    key: TAINT_UNREACHABLE.into(),
                    value: String::new(),
                    effect,
                    time_added: Some(now),
                });
            }
        }
        let updated = obj.clone();
        let taints = updated.spec.taints.clone();
        self.scheduler.update_node(updated, now);
        for effect in ["NoSchedule", "NoExecute"] {
            self.record(now, "NodeTainted", &rec::NodeTaint { node: &name, key: TAINT_UNREACHABLE, effect });
        }
        let pods: Vec<Pod> = self.store.pods_on_node(&name).cloned().collect();
        for pod in pods {
            if pod.meta.is_terminating() {
                continue;
            }
            let key = pod.meta.key();
            match eviction_time(&pod, &taints, now, now) {
                EvictionTime::At(at) => {
                    let id = q
                        .schedule_at(at.max(now), Event::TaintEviction(key.clone()))
                        .expect("not in the past");
                    if let Some(old) = self.taint_evictions.insert(key, id) {
                        q.cancel(old);
                    }
                }
                EvictionTime::Never | EvictionTime::NotTainted => {}
            }
        }
    }

    fn untaint_node(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        let Some(obj) = self.store.nodes.get_mut(&name) else { return };
        obj.spec.taints.retain(|t| t.key != TAINT_UNREACHABLE);
        let updated = obj.clone();
        self.scheduler.update_node(updated, now);
        for effect in ["NoSchedule", "NoExecute"] {
            self.record(
                now,
                "NodeUntainted",
                &rec::NodeTaint { node: &name, key: TAINT_UNREACHABLE, effect },
            );
        }
        let keys: Vec<ObjectKey> = self.store.pods_on_node(&name).map(|p| p.meta.key()).collect();
        for key in keys {
            if let Some(id) = self.taint_evictions.remove(&key) {
                q.cancel(id);
            }
        }
        self.wake_scheduler(now, q);
    }

    fn taint_evict(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.taint_evictions.remove(&key);
        if self.store.pod(&key).is_some_and(|p| !p.meta.is_terminating()) {
            self.counters.evictions += 1;
            self.delete_pod(&key, "taint-eviction", now, q);
        }
    }

    // ---------------------------------------------------------------- pods

    fn workload_for(&self, pod: &Pod) -> Option<Arc<PodWorkload>> {
        self.config.workloads.iter().find(|(sel, _)| sel.matches(&pod.meta.labels)).map(|(_, w)| w.clone())
    }

    /// Admission (priority, default tolerations), then the store; the scheduler sees it at once.
    fn create_pod(&mut self, mut pod: Pod, now: SimTime, q: &mut EventQueue<Event>) {
        if pod.meta.namespace.is_empty() {
            pod.meta.namespace = "default".into();
        }
        if pod.meta.uid.is_empty() {
            pod.meta.uid = self.store.next_uid("pod");
        }
        pod.meta.creation_timestamp = now;
        if pod.spec.priority.is_none() {
            let class = match &pod.spec.priority_class_name {
                Some(name) => self.store.priority_classes.get(name),
                None => self.store.priority_classes.values().find(|pc| pc.global_default),
            };
            if let Some(pc) = class {
                pod.spec.priority = Some(pc.value);
            }
        }
        add_default_tolerations(&mut pod, self.config.default_toleration_seconds);
        let key = pod.meta.key();
        let owner = pod.meta.controller_ref().map(|o| format!("{}/{}", o.kind, o.name));
        self.counters.pods_created += 1;
        self.record(
            now,
            "PodCreated",
            &rec::PodCreated { pod: &key.to_string(), owner, priority: pod.priority() },
        );
        self.store.put_pod(pod.clone());
        if pod.spec.node_name.is_some() {
            self.scheduler.add_pod(pod.clone(), now);
            self.assign_to_kubelet(&pod, now, q);
        } else {
            self.scheduler.add_pod(pod, now);
            self.wake_scheduler(now, q);
        }
    }

    fn assign_to_kubelet(&mut self, pod: &Pod, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(node) = pod.spec.node_name.as_ref().and_then(|n| self.node_index.get(n)).copied() else {
            return;
        };
        let workload = self.workload_for(pod);
        self.nodes[node as usize].kubelet.handle(
            now,
            KubeletInput::PodAssigned { pod: Arc::new(pod.clone()), workload },
            &mut self.effects,
        );
        self.apply_kubelet_effects(node, now, q);
    }

    fn pod_status_update(
        &mut self,
        key: &ObjectKey,
        status: kubesim_api::PodStatus,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let Some(old) = self.store.pod(key).cloned() else { return };
        let pod_name = key.to_string();
        if old.status.phase != status.phase {
            self.record(
                now,
                "PodPhase",
                &rec::PodPhaseChanged {
                    pod: &pod_name,
                    phase: phase_str(status.phase),
                    reason: status.reason.as_deref(),
                },
            );
        }
        let was_ready = old.is_ready();
        let mut pod = old.clone();
        pod.status = status;
        let is_ready = pod.is_ready();
        for cs in &pod.status.container_statuses {
            let before = old.status.container_statuses.iter().find(|c| c.name == cs.name);
            if cs.restart_count > before.map_or(0, |b| b.restart_count) {
                self.counters.container_restarts +=
                    u64::from((cs.restart_count - before.map_or(0, |b| b.restart_count)) as u32);
            }
            let same_state = before.is_some_and(|b| b.state == cs.state);
            if same_state {
                continue;
            }
            match &cs.state {
                ContainerState::Running { .. } => self.record(
                    now,
                    "ContainerStarted",
                    &rec::ContainerStarted {
                        pod: &pod_name,
                        container: &cs.name,
                        restart_count: cs.restart_count,
                    },
                ),
                ContainerState::Terminated { exit_code, reason, .. } => {
                    if reason == "OOMKilled" {
                        self.counters.oom_kills += 1;
                    }
                    self.record(
                        now,
                        "ContainerTerminated",
                        &rec::ContainerTerminated {
                            pod: &pod_name,
                            container: &cs.name,
                            exit_code: *exit_code,
                            reason,
                        },
                    )
                }
                ContainerState::Waiting { reason }
                    if matches!(
                        reason.as_str(),
                        "CrashLoopBackOff" | "ImagePullBackOff" | "ErrImagePull"
                    ) =>
                {
                    let reason = reason.clone();
                    self.record(
                        now,
                        "ContainerWaiting",
                        &rec::ContainerWaiting { pod: &pod_name, container: &cs.name, reason: &reason },
                    )
                }
                _ => {}
            }
        }
        if was_ready != is_ready {
            let kind = if is_ready { "PodReady" } else { "PodNotReady" };
            self.record(now, kind, &rec::PodReadiness { pod: &pod_name });
        }
        let terminal = matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed);
        self.store.put_pod(pod.clone());
        self.scheduler.update_pod(pod.clone(), now);
        if was_ready != is_ready || terminal || old.status.phase != pod.status.phase {
            self.notify_owner(&pod, now, q);
        }
    }

    /// Graceful deletion: set deletionTimestamp; the kubelet stops the containers and then the
    /// object goes. An unbound pod, or one on a node without a kubelet object, goes at once.
    fn delete_pod(&mut self, key: &ObjectKey, by: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(mut pod) = self.store.pod(key).cloned() else { return };
        if pod.meta.is_terminating() {
            return;
        }
        self.record(now, "PodDeleting", &rec::PodDeleting { pod: &key.to_string(), by });
        pod.meta.deletion_timestamp = Some(now);
        pod.meta.deletion_grace_period_seconds = Some(pod.spec.termination_grace_period.as_secs() as i64);
        let node = pod.spec.node_name.as_ref().and_then(|n| self.node_index.get(n)).copied();
        let terminal = matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed);
        match node {
            Some(node) if !terminal => {
                self.store.put_pod(pod.clone());
                self.scheduler.update_pod(pod.clone(), now);
                self.notify_owner(&pod, now, q);
                self.nodes[node as usize].kubelet.handle(
                    now,
                    KubeletInput::PodDeletionRequested { key: key.clone(), grace: None },
                    &mut self.effects,
                );
                self.apply_kubelet_effects(node, now, q);
            }
            _ => self.remove_pod(key, now, q),
        }
    }

    fn remove_pod(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(pod) = self.store.remove_pod(key) else { return };
        if let Some(id) = self.taint_evictions.remove(key) {
            q.cancel(id);
        }
        self.scheduler.delete_pod(key, now);
        self.record(now, "PodDeleted", &rec::PodDeleted { pod: &key.to_string() });
        self.notify_owner(&pod, now, q);
        self.wake_scheduler(now, q);
    }

    fn notify_owner(&mut self, pod: &Pod, now: SimTime, q: &mut EventQueue<Event>) {
        if let Some(owner) = pod.meta.controller_ref() {
            if owner.kind == "ReplicaSet" {
                self.mark_rs(ObjectKey::new(&pod.meta.namespace, &owner.name), now, q);
            }
        }
    }

    // ---------------------------------------------------------------- scheduler

    fn wake_scheduler(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        let at = now + self.config.scheduler_delay;
        self.wake_scheduler_at(at, q);
    }

    fn wake_scheduler_at(&mut self, at: SimTime, q: &mut EventQueue<Event>) {
        match self.scheduler_wake {
            Some((t, _)) if t <= at => {}
            Some((_, id)) => {
                q.cancel(id);
                self.scheduler_wake =
                    Some((at, q.schedule_at(at, Event::SchedulerWake).expect("not in the past")));
            }
            None => {
                self.scheduler_wake =
                    Some((at, q.schedule_at(at, Event::SchedulerWake).expect("not in the past")));
            }
        }
    }

    fn run_scheduler(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        self.scheduler.tick(now);
        let mut attempts_left = self.scheduler.pending_pods() + 1;
        while attempts_left > 0 {
            attempts_left -= 1;
            let Some(outcome) = self.scheduler.schedule_next(now) else { break };
            match outcome {
                ScheduleOutcome::Bound { pod, node } => self.bind(&pod, &node, now, q),
                ScheduleOutcome::Unschedulable { pod, message } | ScheduleOutcome::Error { pod, message } => {
                    self.record(
                        now,
                        "PodUnschedulable",
                        &rec::PodUnschedulable { pod: &pod.to_string(), message: &message },
                    );
                }
                ScheduleOutcome::Preempting { pod, node, victims } => {
                    self.record(
                        now,
                        "PodPreempting",
                        &rec::PodPreempting {
                            pod: &pod.to_string(),
                            node: &node,
                            victims: victims.iter().map(ToString::to_string).collect(),
                        },
                    );
                    for v in victims {
                        self.delete_pod(&v, "preemption", now, q);
                    }
                }
            }
        }
        if let Some(at) = self.scheduler.next_wakeup(now) {
            self.wake_scheduler_at(at.max(now), q);
        }
    }

    fn bind(&mut self, key: &ObjectKey, node: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(mut pod) = self.store.pod(key).cloned() else { return };
        pod.spec.node_name = Some(node.to_string());
        pod.status.conditions.retain(|c| c.kind != PodConditionType::PodScheduled);
        pod.status.conditions.push(PodCondition {
            kind: PodConditionType::PodScheduled,
            status: ConditionStatus::True,
            last_transition_time: Some(now),
            reason: None,
        });
        self.counters.pods_scheduled += 1;
        let latency = now.saturating_duration_since(pod.meta.creation_timestamp);
        self.record(
            now,
            "PodScheduled",
            &rec::PodScheduled { pod: &key.to_string(), node, latency_ns: latency.as_nanos() },
        );
        self.store.put_pod(pod.clone());
        self.assign_to_kubelet(&pod, now, q);
    }

    // ---------------------------------------------------------------- controllers

    fn schedule_controller_sync(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        if self.controller_sync.is_none() {
            let at = now + self.config.controller_delay;
            self.controller_sync = Some(q.schedule_at(at, Event::ControllerSync).expect("not in the past"));
        }
    }

    fn mark_rs(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.dirty_rs.insert(key);
        self.schedule_controller_sync(now, q);
    }

    fn mark_deploy(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.dirty_deploy.insert(key);
        self.schedule_controller_sync(now, q);
    }

    /// Processes dirty keys until quiet (bounded: a controller that keeps dirtying itself yields
    /// to the next sync rather than spinning).
    fn run_controllers(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        for _round in 0..16 {
            if self.dirty_rs.is_empty() && self.dirty_deploy.is_empty() {
                return;
            }
            let deploys = std::mem::take(&mut self.dirty_deploy);
            for key in deploys {
                self.sync_deployment(&key, now, q);
            }
            let rss = std::mem::take(&mut self.dirty_rs);
            for key in rss {
                self.sync_replica_set(&key, now, q);
            }
        }
        if !self.dirty_rs.is_empty() || !self.dirty_deploy.is_empty() {
            self.schedule_controller_sync(now, q);
        }
    }

    /// The ReplicaSet controller's `syncReplicaSet`.
    fn sync_replica_set(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(rs) = self.store.replica_sets.get(key).cloned() else { return };
        if rs.meta.is_terminating() {
            return;
        }
        let owned: Vec<Pod> = self.store.pods_of_owner(&rs.meta.uid).cloned().collect();
        let active: Vec<Pod> = owned.iter().filter(|p| p.is_active()).cloned().collect();
        match replica_diff(&active, rs.replicas, BURST_REPLICAS) {
            ReplicaDiff::Create(n) => {
                for _ in 0..n {
                    let pod = self.pod_from_template(&rs);
                    self.create_pod(pod, now, q);
                }
            }
            ReplicaDiff::Delete(n) => {
                let related: Vec<Pod> = match rs.meta.controller_ref() {
                    Some(owner) => {
                        let uids: Vec<String> = self
                            .store
                            .replica_sets_of(&owner.uid)
                            .iter()
                            .map(|r| r.meta.uid.clone())
                            .collect();
                        uids.iter()
                            .flat_map(|u| self.store.pods_of_owner(u).cloned().collect::<Vec<_>>())
                            .collect()
                    }
                    None => active.clone(),
                };
                let victims = pods_to_delete(&active, &related, n, now, RankingGates::default());
                for i in victims {
                    self.delete_pod(&active[i].meta.key(), "replicaset", now, q);
                }
            }
            ReplicaDiff::None => {}
        }
        // calculateStatus over the pods as they are after this sync.
        let owned: Vec<Pod> = self.store.pods_of_owner(&rs.meta.uid).cloned().collect();
        let active: Vec<&Pod> = owned.iter().filter(|p| p.is_active()).collect();
        let ready = active.iter().filter(|p| p.is_ready()).count() as i32;
        let available =
            active.iter().filter(|p| is_pod_available(p, rs.min_ready_seconds, now, false)).count() as i32;
        let terminating = owned.iter().filter(|p| p.meta.is_terminating()).count() as i32;
        let mut status = rs.status.clone();
        status.replicas = active.len() as i32;
        status.ready_replicas = ready;
        status.available_replicas = available;
        status.terminating_replicas = terminating;
        status.observed_generation = rs.meta.generation;
        if available < ready && rs.min_ready_seconds > 0 {
            // Requeue when the next ready pod becomes available.
            let wait = SimDuration::from_secs(rs.min_ready_seconds as u64);
            let next = active
                .iter()
                .filter(|p| p.is_ready() && !is_pod_available(p, rs.min_ready_seconds, now, false))
                .filter_map(|p| p.condition(PodConditionType::Ready).and_then(|c| c.last_transition_time))
                .map(|t| t.saturating_add(wait))
                .min();
            if let Some(at) = next {
                q.schedule_at(at.max(now), Event::ResyncReplicaSet(key.clone())).expect("not in the past");
            }
        }
        if status != rs.status {
            let rv = self.store.next_resource_version();
            if let Some(obj) = self.store.replica_sets.get_mut(key) {
                obj.status = status;
                obj.meta.resource_version = rv;
            }
            if let Some(owner) = rs.meta.controller_ref() {
                if owner.kind == "Deployment" {
                    self.mark_deploy(ObjectKey::new(&rs.meta.namespace, &owner.name), now, q);
                }
            }
        }
    }

    /// A pod for `rs`, named as `generateName` would: `<rs>-` plus five seeded characters.
    fn pod_from_template(&mut self, rs: &ReplicaSet) -> Pod {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let name = loop {
            let suffix: String =
                (0..5).map(|_| ALPHABET[self.names.below(ALPHABET.len() as u64) as usize] as char).collect();
            let name = format!("{}-{suffix}", rs.meta.name);
            if self.store.pod(&ObjectKey::new(&rs.meta.namespace, &name)).is_none() {
                break name;
            }
        };
        let mut meta = ObjectMeta::named(&rs.meta.namespace, &name);
        meta.labels = rs.template.labels.clone();
        meta.annotations = rs.template.annotations.clone();
        meta.owner_references.push(OwnerReference {
            kind: "ReplicaSet".into(),
            name: rs.meta.name.clone(),
            uid: rs.meta.uid.clone(),
            controller: true,
        });
        Pod { meta, spec: rs.template.spec.clone(), status: Default::default() }
    }

    fn apply_deployment(&mut self, mut d: Deployment, now: SimTime, q: &mut EventQueue<Event>) {
        if d.meta.namespace.is_empty() {
            d.meta.namespace = "default".into();
        }
        let key = d.meta.key();
        match self.store.deployments.get(&key) {
            Some(old) => {
                let changed = old.template != d.template
                    || old.replicas != d.replicas
                    || old.strategy != d.strategy
                    || old.paused != d.paused
                    || old.min_ready_seconds != d.min_ready_seconds;
                d.meta.uid = old.meta.uid.clone();
                d.meta.creation_timestamp = old.meta.creation_timestamp;
                d.meta.generation = old.meta.generation + i64::from(changed);
            }
            None => {
                if d.meta.uid.is_empty() {
                    d.meta.uid = self.store.next_uid("deployment");
                }
                d.meta.creation_timestamp = now;
                d.meta.generation = 1;
            }
        }
        d.meta.resource_version = self.store.next_resource_version();
        self.record(
            now,
            "DeploymentUpdated",
            &rec::DeploymentUpdated {
                deployment: &key.to_string(),
                replicas: d.replicas,
                generation: d.meta.generation,
            },
        );
        self.store.deployments.insert(key.clone(), d);
        self.mark_deploy(key, now, q);
    }

    /// The Deployment controller's `syncDeployment`.
    fn sync_deployment(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(d) = self.store.deployments.get(key).cloned() else { return };
        let mut rss: Vec<ReplicaSet> = self.store.replica_sets_of(&d.meta.uid).into_iter().cloned().collect();
        let recreate = matches!(d.strategy, DeploymentStrategy::Recreate);
        // Recreate creates the new RS only once no old pod runs (`rolloutRecreate`); RollingUpdate
        // creates it at once (`getAllReplicaSetsAndSyncRevision(createIfNotExisted=true)`).
        let may_create = !d.paused && (!recreate || self.recreate_old_gone(&d, &rss));
        if find_new_replica_set(&d.template, &rss).is_none() && may_create {
            let rs = self.new_replica_set(&d, &rss, now);
            rss.push(rs);
        }
        let new_name = find_new_replica_set(&d.template, &rss).map(|rs| rs.meta.name.clone());
        let summaries: Vec<RsSummary> = rss.iter().map(RsSummary::from_replica_set).collect();
        let new = new_name.as_ref().and_then(|n| summaries.iter().find(|s| &s.name == n)).cloned();
        let old: Vec<RsSummary> =
            summaries.iter().filter(|s| Some(&s.name) != new_name.as_ref()).cloned().collect();
        let previous = self.deployment_status.get(key).cloned().unwrap_or_default();

        // A scaling event (spec.replicas differs from what the active RSs were sized for) is handled
        // proportionally before any rollout step (`isScalingEvent` → `scale`).
        let scaling = summaries
            .iter()
            .filter(|s| s.spec_replicas > 0)
            .any(|s| s.desired_annotation.is_some_and(|a| a != d.replicas));
        let mut actions: Vec<ScaleAction> = Vec::new();
        if scaling && !recreate {
            actions = proportional_scale(&d, new.as_ref(), &old, previous.replicas);
        } else if !d.paused {
            match &d.strategy {
                DeploymentStrategy::RollingUpdate { .. } => {
                    if let Some(new) = &new {
                        match rolling_step(&d, new, &old) {
                            RollingStep::ScaledNew(a) => actions.push(a),
                            RollingStep::ScaledDownOld(v) => actions = v,
                            RollingStep::Idle => {}
                        }
                    }
                }
                DeploymentStrategy::Recreate => {
                    let old_pods = self.old_pods(&rss, new_name.as_deref());
                    match recreate_step(&d, new.as_ref(), &old, &old_pods) {
                        RecreateStep::ScaleDownOld(v) => actions = v,
                        RecreateStep::ScaleUpNew(a) => actions.push(a),
                        RecreateStep::WaitForOldPods | RecreateStep::Idle => {}
                    }
                }
            }
        }
        for a in &actions {
            self.scale_replica_set(&d, &ObjectKey::new(&d.meta.namespace, &a.name), a.replicas, now, q);
        }
        // Status from the RSs as they are now.
        let rss: Vec<ReplicaSet> = self.store.replica_sets_of(&d.meta.uid).into_iter().cloned().collect();
        let summaries: Vec<RsSummary> = rss.iter().map(RsSummary::from_replica_set).collect();
        let new = new_name.as_ref().and_then(|n| summaries.iter().find(|s| &s.name == n));
        let rollout = sync_rollout_status(&d, &summaries, new, &previous, now);
        if let Some(after) = rollout.requeue_after {
            q.schedule_at(now + after, Event::ResyncDeployment(key.clone())).expect("not in the past");
        }
        let complete = is_complete(&d, &rollout.status);
        let revision = new.map_or(0, |n| n.revision);
        self.deployment_status.insert(key.clone(), rollout.status);
        if complete && self.completed_revision.get(key) != Some(&revision) {
            self.completed_revision.insert(key.clone(), revision);
            self.record(
                now,
                "DeploymentRolloutComplete",
                &rec::RolloutComplete { deployment: &key.to_string(), revision },
            );
        }
    }

    /// Pods of the deployment's RSs other than `new_name`.
    fn old_pods(&self, rss: &[ReplicaSet], new_name: Option<&str>) -> Vec<Pod> {
        rss.iter()
            .filter(|rs| Some(rs.meta.name.as_str()) != new_name)
            .flat_map(|rs| self.store.pods_of_owner(&rs.meta.uid).cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Recreate may start the new RS: every old RS is at 0 and no old pod runs.
    fn recreate_old_gone(&self, d: &Deployment, rss: &[ReplicaSet]) -> bool {
        let new_name = find_new_replica_set(&d.template, rss).map(|rs| rs.meta.name.clone());
        let old: Vec<RsSummary> = rss
            .iter()
            .filter(|rs| Some(&rs.meta.name) != new_name.as_ref())
            .map(RsSummary::from_replica_set)
            .collect();
        old.iter().all(|r| r.spec_replicas == 0)
            && !kubesim_controllers::deployment::recreate::old_pods_running(
                &old,
                &self.old_pods(rss, new_name.as_deref()),
            )
    }

    fn new_replica_set(&mut self, d: &Deployment, existing: &[ReplicaSet], now: SimTime) -> ReplicaSet {
        let hash = d.template.template_hash();
        let name = format!("{}-{hash}", d.meta.name);
        let mut template = d.template.clone();
        template.labels.insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = d.selector.clone();
        selector.match_expressions.push(LabelSelectorRequirement {
            key: POD_TEMPLATE_HASH.into(),
            operator: LabelSelectorOperator::In,
            values: vec![hash],
        });
        let summaries: Vec<RsSummary> = existing.iter().map(RsSummary::from_replica_set).collect();
        let mut rs = ReplicaSet {
            meta: ObjectMeta::named(&d.meta.namespace, &name),
            replicas: 0,
            selector,
            template,
            min_ready_seconds: d.min_ready_seconds,
            status: Default::default(),
        };
        rs.meta.uid = self.store.next_uid("replicaset");
        rs.meta.creation_timestamp = now;
        rs.meta.generation = 1;
        rs.meta.labels = d.template.labels.clone();
        rs.meta.owner_references.push(OwnerReference {
            kind: "Deployment".into(),
            name: d.meta.name.clone(),
            uid: d.meta.uid.clone(),
            controller: true,
        });
        let revision = next_revision(existing);
        rs.meta.annotations.insert(REVISION_ANNOTATION.into(), revision.to_string());
        let fresh = RsSummary { name: name.clone(), created: now, ..Default::default() };
        rs.replicas = new_rs_new_replicas(d, &summaries, &fresh);
        rs.meta.annotations.insert(DESIRED_REPLICAS_ANNOTATION.into(), d.replicas.to_string());
        rs.meta.annotations.insert(MAX_REPLICAS_ANNOTATION.into(), (d.replicas + max_surge(d)).to_string());
        rs.meta.resource_version = self.store.next_resource_version();
        let key = rs.meta.key();
        self.record(
            now,
            "ReplicaSetCreated",
            &rec::ReplicaSetCreated {
                replicaset: &key.to_string(),
                deployment: &d.meta.key().to_string(),
                revision,
                replicas: rs.replicas,
            },
        );
        self.store.replica_sets.insert(key.clone(), rs.clone());
        self.dirty_rs.insert(key);
        rs
    }

    fn scale_replica_set(
        &mut self,
        d: &Deployment,
        key: &ObjectKey,
        replicas: i32,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let rv = self.store.next_resource_version();
        let Some(rs) = self.store.replica_sets.get_mut(key) else { return };
        let from = rs.replicas;
        rs.replicas = replicas;
        rs.meta.annotations.insert(DESIRED_REPLICAS_ANNOTATION.into(), d.replicas.to_string());
        rs.meta.annotations.insert(MAX_REPLICAS_ANNOTATION.into(), (d.replicas + max_surge(d)).to_string());
        if from != replicas {
            rs.meta.generation += 1;
        }
        rs.meta.resource_version = rv;
        if from != replicas {
            self.record(
                now,
                "ReplicaSetScaled",
                &rec::ReplicaSetScaled { replicaset: &key.to_string(), from, to: replicas },
            );
        }
        self.mark_rs(key.clone(), now, q);
        // The deployment controller watches its ReplicaSets: an RS update requeues the owner.
        self.mark_deploy(d.meta.key(), now, q);
    }

    // ---------------------------------------------------------------- scenario actions

    fn action(&mut self, action: Action, now: SimTime, q: &mut EventQueue<Event>) {
        match action {
            Action::ApplyDeployment(d) => self.apply_deployment(*d, now, q),
            Action::SetImage { deployment, container, image } => {
                let Some(mut d) = self.store.deployments.get(&deployment).cloned() else { return };
                for c in &mut d.template.spec.containers {
                    if container.as_ref().is_none_or(|n| n == &c.name) {
                        c.image = image.clone();
                    }
                }
                self.apply_deployment(d, now, q);
            }
            Action::Scale { deployment, replicas } => {
                let Some(mut d) = self.store.deployments.get(&deployment).cloned() else { return };
                d.replicas = replicas;
                self.apply_deployment(d, now, q);
            }
            Action::StopKubelet(node) | Action::StartKubelet(node)
                if !self.node_index.contains_key(&node) => {}
            Action::StopKubelet(node) => {
                let i = self.node_index[&node];
                self.record(now, "KubeletStopped", &rec::KubeletState { node: &node, reason: "scenario" });
                self.nodes[i as usize].kubelet.handle(now, KubeletInput::NodeStop, &mut self.effects);
                self.apply_kubelet_effects(i, now, q);
            }
            Action::StartKubelet(node) => {
                let i = self.node_index[&node];
                self.record(now, "KubeletStarted", &rec::KubeletState { node: &node, reason: "scenario" });
                self.nodes[i as usize].kubelet.handle(now, KubeletInput::NodeStart, &mut self.effects);
                self.apply_kubelet_effects(i, now, q);
            }
            Action::DeletePod(key) => self.delete_pod(&key, "scenario", now, q),
        }
    }
}
