//! The scheduler: cache + queue + profiles, and the scheduling cycle (upstream `schedule_one.go`).
//!
//! ```text
//! add_node / update_node / remove_node ─┐
//! add_pod / update_pod / delete_pod ────┼─► Snapshot (bound pods)  +  SchedulingQueue (pending pods)
//!                                       │
//! schedule_next(now) ── pop ─► PreFilter ─► nominated node? ─► Filter (round robin, numFeasibleNodesToFind)
//!        ▲                        └─► none fit ─► PostFilter (preemption) ─► requeue unschedulable
//!        │                        └─► 1 fits ─► bind;  more ─► PreScore/Score/Normalize ─► seeded tie-break ─► Reserve ─► Bind
//!        └── next_wakeup(now): when the queue needs its backoff / unschedulable flush
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{Node, ObjectKey, Pod};
use sim_core::{RngStream, RngStreams, SimDuration, SimTime};

use crate::config::profile::SchedulerConfig;
use crate::diagnosis::{Diagnosis, NodeDiagnosis, StatusRecord};
use crate::framework::{
    ClusterEvent, Code, CycleState, FilterRecord, Framework, FrameworkError, NodeId, NodeMemo, NodeToStatus,
    Nominator, PodInfo, PodResourcesOptions, PostFilterContext, Registry, ScoreRecord, ScoreScratch,
    Snapshot, Status,
};
use crate::options::SchedulerOptions;
use crate::policies::{Policy, PolicyContext};
use crate::queue::{event_bit, QueueConfig, QueuedPodId, SchedulingQueue, ALL_EVENTS};

/// Upstream `minFeasibleNodesToFind`.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// Upstream `minFeasibleNodesPercentageToFind`.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;

/// How many queued-pod numbers' worth of lists the scheduler keeps once no pod is pending (see
/// [`Scheduler::release_ids`]).
const RETAINED_PENDING_IDS: usize = 1024;

/// Upstream `numFeasibleNodesToFind` (§3.3): how many feasible nodes to look for among `num_nodes`.
pub fn num_feasible_nodes_to_find(percentage: Option<i32>, num_nodes: usize) -> usize {
    if num_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_nodes;
    }
    let mut p = i64::from(percentage.unwrap_or(0));
    if p >= 100 {
        return num_nodes;
    }
    if p <= 0 {
        p = (50 - num_nodes as i64 / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = (num_nodes as i64 * p / 100) as usize;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The result of one scheduling attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// Bound: the caller should set `spec.nodeName` (the scheduler has already counted the pod on the node).
    Bound {
        /// The pod.
        pod: ObjectKey,
        /// The node.
        node: String,
    },
    /// No node fits; the pod went back to the queue. `message` is upstream's FitError text.
    Unschedulable {
        /// The pod.
        pod: ObjectKey,
        /// "0/3 nodes are available: 3 Insufficient cpu."
        message: String,
    },
    /// No node fits, but preemption found room: the caller should delete `victims`; the pod is
    /// nominated to `node` and retried after the deletions.
    Preempting {
        /// The preemptor.
        pod: ObjectKey,
        /// The nominated node.
        node: String,
        /// Pods to delete.
        victims: Vec<ObjectKey>,
    },
    /// An internal error (a plugin returned Error); the pod is retried after backoff.
    Error {
        /// The pod.
        pod: ObjectKey,
        /// The error.
        message: String,
    },
}

impl ScheduleOutcome {
    /// The pod concerned.
    pub fn pod(&self) -> &ObjectKey {
        match self {
            ScheduleOutcome::Bound { pod, .. }
            | ScheduleOutcome::Unschedulable { pod, .. }
            | ScheduleOutcome::Preempting { pod, .. }
            | ScheduleOutcome::Error { pod, .. } => pod,
        }
    }
}

/// Why a scheduler could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// A profile failed to build.
    #[error(transparent)]
    Framework(#[from] FrameworkError),
    /// No profile configured.
    #[error("no profiles configured")]
    NoProfiles,
}

#[derive(Debug)]
struct PendingPod {
    info: Arc<PodInfo>,
    profile: usize,
}

#[derive(Debug, Default)]
struct Scratch {
    nodes: Vec<NodeId>,
    feasible: Vec<NodeId>,
    score: ScoreScratch,
    filter_rec: Vec<FilterRecord>,
}

enum CycleResult {
    Selected { node: NodeId, state: CycleState },
    Fit { statuses: NodeToStatus, state: CycleState, num_nodes: usize, pre_filter_msg: Option<String> },
    Error(Status),
}

/// kube-scheduler: feed it nodes and pods, call [`schedule_next`](Self::schedule_next).
#[derive(Debug)]
pub struct Scheduler {
    options: SchedulerOptions,
    global_percentage: Option<i32>,
    profiles: Vec<Framework>,
    /// Per profile: memoised node-local plugin results (`framework::memo`).
    memos: Vec<NodeMemo>,
    snapshot: Snapshot,
    queue: SchedulingQueue,
    nominator: Nominator,
    pending: Vec<Option<PendingPod>>,
    pending_ids: BTreeMap<ObjectKey, QueuedPodId>,
    free_ids: Vec<QueuedPodId>,
    next_start_node_index: usize,
    tiebreak: RngStream,
    preemption_rng: RngStream,
    policy_rng: RngStream,
    record: bool,
    policy: Option<Box<dyn Policy>>,
    pod_opts: PodResourcesOptions,
    scratch: Scratch,
    last_diagnosis: Option<Diagnosis>,
}

impl Scheduler {
    /// A scheduler with the in-tree registry. `seed` roots the `scheduler.*` RNG streams.
    pub fn new(
        config: SchedulerConfig,
        options: SchedulerOptions,
        seed: u64,
    ) -> Result<Self, SchedulerError> {
        Self::with_registry(config, options, seed, &Registry::in_tree())
    }

    /// The default profile, version 1.35 defaults.
    pub fn with_defaults(seed: u64) -> Self {
        Self::new(SchedulerConfig::default(), SchedulerOptions::default(), seed)
            .expect("the default profile builds")
    }

    /// A scheduler with a custom registry (out-of-tree plugins).
    pub fn with_registry(
        config: SchedulerConfig,
        options: SchedulerOptions,
        seed: u64,
        registry: &Registry,
    ) -> Result<Self, SchedulerError> {
        if config.profiles.is_empty() {
            return Err(SchedulerError::NoProfiles);
        }
        let profiles = config
            .profiles
            .iter()
            .map(|p| Framework::new(p, registry, &options))
            .collect::<Result<Vec<_>, _>>()?;
        let pop_from_backoff = options.feature_enabled("SchedulerPopFromBackoffQ");
        let queue = SchedulingQueue::new(QueueConfig {
            initial_backoff: SimDuration::from_secs(config.pod_initial_backoff_seconds.max(0) as u64),
            max_backoff: SimDuration::from_secs(config.pod_max_backoff_seconds.max(0) as u64),
            pop_from_backoff,
            ..QueueConfig::default()
        });
        let streams = RngStreams::new(seed);
        Ok(Scheduler {
            pod_opts: PodResourcesOptions {
                pod_level_resources: options.feature_enabled("PodLevelResources"),
            },
            options,
            global_percentage: config.percentage_of_nodes_to_score,
            memos: profiles.iter().map(|_| NodeMemo::new(true)).collect(),
            profiles,
            snapshot: Snapshot::new(),
            queue,
            nominator: Nominator::new(),
            pending: Vec::new(),
            pending_ids: BTreeMap::new(),
            free_ids: Vec::new(),
            next_start_node_index: 0,
            tiebreak: streams.stream("scheduler.tiebreak"),
            preemption_rng: streams.stream("scheduler.preemption"),
            policy_rng: streams.stream("scheduler.policy"),
            record: false,
            policy: None,
            scratch: Scratch::default(),
            last_diagnosis: None,
        })
    }

    /// Replaces scoring and selection by a research policy (filters still apply).
    pub fn set_policy(&mut self, policy: Option<Box<dyn Policy>>) {
        self.policy = policy;
    }

    /// Records a [`Diagnosis`] for every cycle (slower; for `kubesim schedule`).
    pub fn set_record_diagnosis(&mut self, on: bool) {
        self.record = on;
    }

    /// Memoises node-local Filter and Score results across pods with the same scheduling
    /// signature (on by default; see `framework::memo`). Decisions, scores and diagnoses are the
    /// same either way; off is the plain upstream walk, kept for differential tests and benchmarks.
    pub fn set_node_memo(&mut self, on: bool) {
        for m in &mut self.memos {
            m.set_enabled(on);
        }
    }

    /// Replaces the Services, controller selectors, PDBs and Namespace labels plugins read
    /// (the informer caches upstream plugins use). Added for kubesim-cluster.
    pub fn set_cluster_objects(&mut self, objects: Arc<crate::framework::ClusterObjects>) {
        self.snapshot.objects = objects;
    }

    /// The diagnosis of the last cycle, if recording.
    pub fn take_last_diagnosis(&mut self) -> Option<Diagnosis> {
        self.last_diagnosis.take()
    }

    /// Version and gates.
    pub fn options(&self) -> &SchedulerOptions {
        &self.options
    }

    /// The cluster view.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The queue (read-only).
    pub fn queue(&self) -> &SchedulingQueue {
        &self.queue
    }

    /// The profiles.
    pub fn profiles(&self) -> &[Framework] {
        &self.profiles
    }

    /// Pods nominated by preemption.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// The round-robin start index of the next cycle.
    pub fn next_start_node_index(&self) -> usize {
        self.next_start_node_index
    }

    /// Number of pods waiting to be scheduled (all queues, gated included).
    pub fn pending_pods(&self) -> usize {
        self.pending_ids.len()
    }

    // ---- cluster changes -------------------------------------------------------------------

    /// Adds a node (or updates it when the name exists). Moves pods waiting for NodeAdded.
    pub fn add_node(&mut self, node: Node, now: SimTime) {
        let existed = self.snapshot.id_of(&node.meta.name).is_some();
        self.snapshot.upsert_node(node);
        let ev = if existed { ClusterEvent::NodeUpdated } else { ClusterEvent::NodeAdded };
        self.queue.on_event(ev, now);
    }

    /// Updates a node (adds it if unknown).
    pub fn update_node(&mut self, node: Node, now: SimTime) {
        self.add_node(node, now);
    }

    /// Removes a node; its pods are forgotten (returned).
    pub fn remove_node(&mut self, name: &str, now: SimTime) -> Vec<ObjectKey> {
        let pods = self.snapshot.remove_node(name);
        self.queue.on_event(ClusterEvent::NodeDeleted, now);
        pods.iter().map(|p| p.key()).collect()
    }

    fn profile_for(&self, pod: &Pod) -> Option<usize> {
        self.profiles.iter().position(|f| f.profile_name() == pod.spec.extras.scheduler_name)
    }

    /// Adds a pod. Bound pods (`spec.nodeName`) count against their node; unbound pods whose
    /// `schedulerName` matches a profile are queued; others are ignored. Returns false if
    /// ignored (unknown node or foreign scheduler).
    ///
    /// Takes a `Pod` or an `Arc<Pod>`: a caller that keeps its pods in `Arc`s (the cluster's
    /// store) shares them with the scheduler's cache instead of copying them.
    pub fn add_pod(&mut self, pod: impl Into<Arc<Pod>>, now: SimTime) -> bool {
        self.add_shared_pod(pod.into(), now)
    }

    fn add_shared_pod(&mut self, pod: Arc<Pod>, now: SimTime) -> bool {
        if let Some(node) = pod.spec.node_name.as_deref() {
            let Some(id) = self.snapshot.id_of(node) else { return false };
            // Most calls are status updates of pods bound long ago: no key to build when no
            // pod is pending or nominated.
            if !self.pending_ids.is_empty() || !self.nominator.is_empty() {
                let key = pod.meta.key();
                self.remove_pending(&key);
                self.nominator.remove(&key);
            }
            // A new version of a pod already on this node (most calls) keeps what its spec gives.
            let info = match self.snapshot.node(id).version_of(&pod) {
                Some(old) => old.new_version(pod, self.pod_opts),
                None => PodInfo::new(pod, self.pod_opts),
            };
            self.snapshot.replace_pod(id, Arc::new(info));
            self.queue.on_event(ClusterEvent::AssignedPodAdded, now);
            return true;
        }
        let Some(profile) = self.profile_for(&pod) else { return false };
        let key = pod.meta.key();
        if let Some(&id) = self.pending_ids.get(&key) {
            return self.update_pending(id, pod, now);
        }
        let info = Arc::new(PodInfo::new(pod, self.pod_opts));
        if let Some(n) = &info.pod.status.nominated_node_name {
            self.nominator.add(info.clone(), n);
        }
        let gated = !self.profiles[profile].run_pre_enqueue_plugins(&info).is_success();
        let id = self.free_ids.pop().unwrap_or(self.pending.len() as QueuedPodId);
        if self.pending.len() <= id as usize {
            self.pending.resize_with(id as usize + 1, || None);
        }
        self.queue.add(id, info.priority(), gated, now);
        self.pending[id as usize] = Some(PendingPod { info, profile });
        self.pending_ids.insert(key, id);
        true
    }

    fn update_pending(&mut self, id: QueuedPodId, pod: Arc<Pod>, now: SimTime) -> bool {
        let Some(p) = self.pending[id as usize].as_mut() else { return false };
        let info = Arc::new(PodInfo::new(pod, self.pod_opts));
        let gated = !self.profiles[p.profile].run_pre_enqueue_plugins(&info).is_success();
        p.info = info.clone();
        self.queue.update(id, info.priority(), gated, now);
        true
    }

    /// Updates a pod: a bound pod is replaced on its node; a pending one is re-queued as upstream
    /// `Update`; a pod that just got `spec.nodeName` is treated as bound. Takes a `Pod` or an
    /// `Arc<Pod>`, as [`add_pod`](Self::add_pod).
    pub fn update_pod(&mut self, pod: impl Into<Arc<Pod>>, now: SimTime) -> bool {
        let pod: Arc<Pod> = pod.into();
        if pod.spec.node_name.is_some() {
            let ok = self.add_shared_pod(pod, now);
            if ok {
                self.queue.on_event(ClusterEvent::AssignedPodUpdated, now);
            }
            return ok;
        }
        let key = pod.meta.key();
        if let Some(&id) = self.pending_ids.get(&key) {
            return self.update_pending(id, pod, now);
        }
        self.add_shared_pod(pod, now)
    }

    fn remove_pending(&mut self, key: &ObjectKey) -> bool {
        let Some(id) = self.pending_ids.remove(key) else { return false };
        self.queue.remove(id);
        self.pending[id as usize] = None;
        self.free_ids.push(id);
        if self.pending_ids.is_empty() {
            self.release_ids();
        }
        true
    }

    /// With no pod pending every number is free: numbering starts again from 0, and the lists
    /// indexed by number give back what a burst of pending pods grew them to. A scale run creates
    /// 150,000 pods at once; without this their numbers' lists (about 90 bytes per pod) would stay
    /// at that size for the rest of the run though a handful of pods is pending at a time. The
    /// numbers are never compared (the queue orders by priority, time and sequence), so which ones
    /// a pod gets changes no decision.
    fn release_ids(&mut self) {
        debug_assert!(self.pending.iter().all(Option::is_none), "no pod pending, no pod in a slot");
        self.pending.clear();
        self.free_ids.clear();
        self.pending.shrink_to(RETAINED_PENDING_IDS);
        self.free_ids.shrink_to(RETAINED_PENDING_IDS);
        self.queue.release_ids(RETAINED_PENDING_IDS);
    }

    /// Deletes a pod wherever it is. Moves pods waiting for AssignedPodDeleted.
    pub fn delete_pod(&mut self, key: &ObjectKey, now: SimTime) -> bool {
        self.nominator.remove(key);
        if self.remove_pending(key) {
            return true;
        }
        if self.snapshot.remove_pod(key).is_some() {
            self.queue.on_event(ClusterEvent::AssignedPodDeleted, now);
            return true;
        }
        false
    }

    // ---- time ----------------------------------------------------------------------------

    /// When the queue next needs [`tick`](Self::tick) (backoff expiry or the unschedulable flush).
    pub fn next_wakeup(&self, now: SimTime) -> Option<SimTime> {
        self.queue.next_wakeup(now)
    }

    /// Runs the queue's periodic flushes as of `now`.
    pub fn tick(&mut self, now: SimTime) {
        self.queue.flush(now);
    }

    /// True if a pod could be popped now.
    pub fn has_ready_pod(&self) -> bool {
        let (a, b, _, _) = self.queue.lens();
        a > 0 || (b > 0 && self.queue.config().pop_from_backoff)
    }

    // ---- the cycle -----------------------------------------------------------------------

    /// Pops one pod and runs a scheduling cycle for it. `None` when nothing is ready.
    pub fn schedule_next(&mut self, now: SimTime) -> Option<ScheduleOutcome> {
        self.schedule_one(now, self.record)
    }

    /// Like [`schedule_next`](Self::schedule_next), recording the [`Diagnosis`] of this cycle.
    pub fn schedule_one_with_diagnosis(&mut self, now: SimTime) -> Option<(ScheduleOutcome, Diagnosis)> {
        let out = self.schedule_one(now, true)?;
        let d = self.last_diagnosis.take().unwrap_or_default();
        Some((out, d))
    }

    fn schedule_one(&mut self, now: SimTime, record: bool) -> Option<ScheduleOutcome> {
        let id = self.queue.pop(now)?;
        let (info, profile) = {
            let p = self.pending[id as usize].as_ref().expect("queued pods are pending");
            (p.info.clone(), p.profile)
        };
        self.snapshot.refresh_order();
        let mut diag = record.then(|| Diagnosis {
            pod: info.key().to_string(),
            profile: match &self.policy {
                Some(p) => p.name().to_string(),
                None => self.profiles[profile].profile_name().to_string(),
            },
            ..Default::default()
        });
        let result = self.schedule_pod(&info, profile, diag.as_mut());
        let outcome = match result {
            CycleResult::Selected { node, mut state } => {
                self.assume_and_bind(id, info, profile, node, &mut state, now)
            }
            CycleResult::Fit { statuses, state, num_nodes, pre_filter_msg } => self.handle_fit_error(
                id,
                &info,
                profile,
                statuses,
                state,
                num_nodes,
                pre_filter_msg,
                diag.as_mut(),
                now,
            ),
            CycleResult::Error(s) => {
                self.queue.requeue_unschedulable(id, ALL_EVENTS, true, now);
                ScheduleOutcome::Error { pod: info.key(), message: s.to_string() }
            }
        };
        if let (Some(d), ScheduleOutcome::Bound { node, .. }) = (diag.as_mut(), &outcome) {
            d.selected = Some(node.clone());
        }
        self.last_diagnosis = diag;
        Some(outcome)
    }

    fn assume_and_bind(
        &mut self,
        id: QueuedPodId,
        info: Arc<PodInfo>,
        profile: usize,
        node: NodeId,
        state: &mut CycleState,
        now: SimTime,
    ) -> ScheduleOutcome {
        let node_name = self.snapshot.node(node).name().to_string();
        let fw = &self.profiles[profile];
        let s = fw.run_reserve_plugins(state, &info, &node_name);
        if !s.is_success() {
            fw.run_unreserve_plugins(state, &info, &node_name);
            self.queue.requeue_unschedulable(id, ALL_EVENTS, !s.is_rejected(), now);
            return ScheduleOutcome::Error { pod: info.key(), message: s.to_string() };
        }
        let s = fw.run_bind_plugins(state, &info, &node_name);
        if !s.is_success() {
            fw.run_unreserve_plugins(state, &info, &node_name);
            self.queue.requeue_unschedulable(id, ALL_EVENTS, true, now);
            return ScheduleOutcome::Error { pod: info.key(), message: s.to_string() };
        }
        // Bound: the pod now counts on the node. Dropping the queue's reference first usually
        // leaves `info` as the only one, so it is updated in place rather than cloned; the pod
        // itself is copied when the caller's store still shares it (until the caller's next
        // `update_pod` hands over the bound object).
        let key = info.key();
        self.remove_pending(&key);
        self.nominator.remove(&key);
        let mut bound = Arc::unwrap_or_clone(info);
        let pod = Arc::make_mut(&mut bound.pod);
        pod.spec.node_name = Some(node_name.clone());
        pod.status.nominated_node_name = None;
        self.snapshot.add_pod(node, Arc::new(bound));
        self.queue.on_event(ClusterEvent::AssignedPodAdded, now);
        ScheduleOutcome::Bound { pod: key, node: node_name }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_fit_error(
        &mut self,
        id: QueuedPodId,
        info: &Arc<PodInfo>,
        profile: usize,
        statuses: NodeToStatus,
        state: CycleState,
        num_nodes: usize,
        pre_filter_msg: Option<String>,
        diag: Option<&mut Diagnosis>,
        now: SimTime,
    ) -> ScheduleOutcome {
        let fw = &self.profiles[profile];
        let mut ctx = PostFilterContext {
            framework: fw,
            snapshot: &self.snapshot,
            nominator: &self.nominator,
            rng: &mut self.preemption_rng,
        };
        let (result, post_status) = fw.run_post_filter_plugins(&mut ctx, &state, info, &statuses);
        if let Some(d) = diag {
            d.post_filter = Some(StatusRecord::from(&post_status));
        }
        // The events that may help: those registered by the plugins that rejected nodes.
        let mut events: u8 = 0;
        let mut rejectors: Vec<&'static str> = statuses.statuses.values().map(|s| s.plugin()).collect();
        rejectors.sort_unstable();
        rejectors.dedup();
        for name in &rejectors {
            if let Some(p) = fw.plugin_by_name(name) {
                for e in p.events_to_register() {
                    events |= event_bit(*e);
                }
            }
        }
        if rejectors.is_empty() || rejectors.iter().any(|r| r.is_empty()) {
            events = ALL_EVENTS;
        }
        let message = fit_error_message(num_nodes, &statuses, pre_filter_msg.as_deref(), &post_status);
        let outcome = match result {
            Some(r) if post_status.is_success() && !r.nominated_node.is_empty() => {
                // Upstream `prepareCandidate`: lower-priority pods nominated to that node may no
                // longer fit there, so they lose their nomination.
                for key in
                    crate::preemption::lower_priority_nominated_pods(&self.nominator, info, &r.nominated_node)
                {
                    self.set_nomination(&key, None);
                }
                self.set_nomination(&info.key(), Some(&r.nominated_node));
                ScheduleOutcome::Preempting {
                    pod: info.key(),
                    node: r.nominated_node,
                    victims: r.victims.iter().map(|v| v.key()).collect(),
                }
            }
            Some(r) => {
                // A rejecting PostFilter's nominating info still applies (upstream
                // `handleSchedulingFailure`): an empty node clears the nomination.
                let node = (!r.nominated_node.is_empty()).then_some(r.nominated_node.as_str());
                self.set_nomination(&info.key(), node);
                ScheduleOutcome::Unschedulable { pod: info.key(), message }
            }
            None => ScheduleOutcome::Unschedulable { pod: info.key(), message },
        };
        self.queue.requeue_unschedulable(id, events, false, now);
        outcome
    }

    /// Nominates a pending pod to `node`, or clears its nomination: the nominator and the pod's
    /// `status.nominatedNodeName` (upstream patches the status; a status-only update does not
    /// move the pod between queues). Unknown pods only leave the nominator.
    fn set_nomination(&mut self, key: &ObjectKey, node: Option<&str>) {
        let pending = self.pending_ids.get(key).and_then(|&id| self.pending[id as usize].as_mut());
        let Some(p) = pending else {
            self.nominator.remove(key);
            return;
        };
        let mut info = PodInfo::clone(&p.info);
        Arc::make_mut(&mut info.pod).status.nominated_node_name = node.map(str::to_string);
        let info = Arc::new(info);
        match node {
            Some(n) => self.nominator.add(info.clone(), n),
            None => {
                self.nominator.remove(key);
            }
        }
        p.info = info;
    }

    /// Runs PreFilter, Filter and (if needed) Score for `pod`; picks a node.
    fn schedule_pod(
        &mut self,
        pod: &Arc<PodInfo>,
        profile: usize,
        mut diag: Option<&mut Diagnosis>,
    ) -> CycleResult {
        let fw = &self.profiles[profile];
        let num_all = self.snapshot.len();
        let mut state = CycleState::new();
        if num_all == 0 {
            let mut statuses = NodeToStatus::new();
            statuses.absent_nodes_code = Code::UnschedulableAndUnresolvable;
            return CycleResult::Fit {
                statuses,
                state,
                num_nodes: 0,
                pre_filter_msg: Some("no nodes available to schedule pods".into()),
            };
        }
        let (pre_result, s) = fw.run_pre_filter_plugins(&mut state, pod, &self.snapshot);
        if !s.is_success() {
            if !s.is_rejected() {
                return CycleResult::Error(s);
            }
            if let Some(d) = diag.as_deref_mut() {
                d.pre_filter = Some(StatusRecord::from(&s));
            }
            let mut statuses = NodeToStatus::new();
            statuses.absent_nodes_code = s.code();
            return CycleResult::Fit {
                statuses,
                state,
                num_nodes: num_all,
                pre_filter_msg: Some(s.message()),
            };
        }

        self.memos[profile].begin_cycle(fw, pod, &state, &self.snapshot);

        // Nominated node first (upstream `evaluateNominatedNode`).
        if self.policy.is_none() {
            if let Some(nn) = &pod.pod.status.nominated_node_name {
                if let Some(nid) = self.snapshot.id_of(nn) {
                    let allowed = pre_result.as_ref().is_none_or(|r| r.node_names.contains(nn));
                    if allowed {
                        let node = self.snapshot.node(nid);
                        let s = fw.run_filter_plugins_with_nominated_pods(
                            &state,
                            pod,
                            node,
                            &self.nominator,
                            None,
                        );
                        if s.is_success() {
                            if let Some(d) = diag.as_deref_mut() {
                                d.used_nominated_node = true;
                                d.evaluated_nodes = 1;
                                d.feasible_nodes = 1;
                            }
                            return CycleResult::Selected { node: nid, state };
                        }
                    }
                }
            }
        }

        // The nodes to examine: all, or those a PreFilter allowed, in node-tree order.
        if let Some(r) = &pre_result {
            let (snapshot, scratch_nodes) = (&self.snapshot, &mut self.scratch.nodes);
            scratch_nodes.clear();
            scratch_nodes.extend(
                snapshot
                    .order()
                    .iter()
                    .copied()
                    .filter(|id| r.node_names.contains(snapshot.node(*id).name())),
            );
        }
        let nodes: &[NodeId] = if pre_result.is_some() { &self.scratch.nodes } else { self.snapshot.order() };
        let n = nodes.len();
        let (start, to_find) = match &self.policy {
            Some(p) => (0, p.feasible_nodes_wanted(n).min(n)),
            None if !fw.has_score_plugins() => (self.next_start_node_index % n.max(1), n.min(1)),
            None => {
                let pct = fw.percentage_of_nodes_to_score().or(self.global_percentage);
                (self.next_start_node_index % n.max(1), num_feasible_nodes_to_find(pct, n))
            }
        };
        let mut feasible = std::mem::take(&mut self.scratch.feasible);
        feasible.clear();
        let mut statuses = NodeToStatus::new();
        let mut diag_index: Vec<usize> = Vec::new();
        let mut processed = 0usize;
        let memo = &mut self.memos[profile];
        // Memoised verdicts need neither the node nor a Status: take them in stretches.
        let memo_alone = diag.is_none() && memo.decides_filters_alone(&self.nominator);
        let mut next = start;
        while processed < n && feasible.len() < to_find {
            if memo_alone {
                processed += memo.scan_filter_verdicts(
                    &self.snapshot,
                    nodes,
                    &mut next,
                    n - processed,
                    to_find,
                    &mut feasible,
                    &mut statuses.statuses,
                );
                if processed == n || feasible.len() >= to_find {
                    break;
                }
            }
            let i = processed;
            let id = nodes[next];
            next = if next + 1 == n { 0 } else { next + 1 };
            processed += 1;
            let s = if let Some(d) = diag.as_deref_mut() {
                let mut rec = std::mem::take(&mut self.scratch.filter_rec);
                rec.clear();
                let s = fw.run_filter_plugins_memoized(
                    memo,
                    &self.snapshot,
                    id,
                    &state,
                    pod,
                    &self.nominator,
                    Some(&mut rec),
                );
                d.nodes.push(NodeDiagnosis {
                    name: self.snapshot.node(id).name().to_string(),
                    filters: rec.clone(),
                    ..Default::default()
                });
                self.scratch.filter_rec = rec;
                s
            } else {
                fw.run_filter_plugins_memoized(memo, &self.snapshot, id, &state, pod, &self.nominator, None)
            };
            if s.is_success() {
                feasible.push(id);
                if diag.is_some() {
                    diag_index.push(i);
                }
            } else if s.is_rejected() {
                statuses.statuses.insert(id, s);
            } else {
                self.next_start_node_index = (start + processed) % n;
                self.scratch.feasible = feasible;
                return CycleResult::Error(s);
            }
        }
        if self.policy.is_none() {
            self.next_start_node_index = (start + processed) % n.max(1);
        }
        if let Some(d) = diag.as_deref_mut() {
            d.evaluated_nodes = processed;
            d.feasible_nodes = feasible.len();
        }
        let result = if feasible.is_empty() {
            CycleResult::Fit { statuses, state, num_nodes: num_all, pre_filter_msg: None }
        } else if let Some(policy) = self.policy.as_mut() {
            let mut ctx = PolicyContext { snapshot: &self.snapshot, rng: &mut self.policy_rng };
            match policy.select(&mut ctx, pod, &feasible) {
                Some(i) if i < feasible.len() => CycleResult::Selected { node: feasible[i], state },
                _ => CycleResult::Fit { statuses, state, num_nodes: num_all, pre_filter_msg: None },
            }
        } else if feasible.len() == 1 {
            CycleResult::Selected { node: feasible[0], state }
        } else {
            self.prioritize_and_select(pod, profile, &feasible, state, diag, &diag_index)
        };
        self.scratch.feasible = feasible;
        result
    }

    fn prioritize_and_select(
        &mut self,
        pod: &Arc<PodInfo>,
        profile: usize,
        feasible: &[NodeId],
        mut state: CycleState,
        diag: Option<&mut Diagnosis>,
        diag_index: &[usize],
    ) -> CycleResult {
        let fw = &self.profiles[profile];
        let s = fw.run_pre_score_plugins(&mut state, pod, feasible, &self.snapshot);
        if !s.is_success() {
            return CycleResult::Error(s);
        }
        let record = diag.is_some();
        let scratch = &mut self.scratch.score;
        let memo = &mut self.memos[profile];
        let s = fw.run_score_plugins_memoized(memo, &state, pod, feasible, &self.snapshot, scratch, record);
        if !s.is_success() {
            return CycleResult::Error(s);
        }
        if let Some(d) = diag {
            for (i, &di) in diag_index.iter().enumerate() {
                let nd = &mut d.nodes[di];
                nd.scores = fw
                    .score_plugins()
                    .iter()
                    .enumerate()
                    .map(|(k, e)| ScoreRecord {
                        plugin: fw.plugin(e.slot).name(),
                        raw: scratch.raw[k][i],
                        normalized: scratch.scores[k][i].score,
                        weight: e.weight,
                    })
                    .collect();
                nd.total = Some(scratch.totals[i]);
            }
        }
        // Upstream `selectHost`: keep the first max; each later tie replaces it with prob 1/cnt.
        let totals = &scratch.totals;
        let mut best = 0usize;
        let mut max = totals[0];
        let mut count = 1u64;
        for (i, &t) in totals.iter().enumerate().skip(1) {
            if t > max {
                max = t;
                best = i;
                count = 1;
            } else if t == max {
                count += 1;
                if below(&mut self.tiebreak, count) == 0 {
                    best = i;
                }
            }
        }
        CycleResult::Selected { node: feasible[best], state }
    }
}

/// `rng.below(n)`: the same draws and the same value (Lemire's multiply-and-reject), but the
/// rejection threshold `2^64 mod n` (a 64-bit division) is computed only when the low word is
/// below `n` — the threshold is smaller than `n`, so every other draw is accepted outright. The
/// tie-break calls this once per tied node, so the division was a visible share of a cycle.
#[inline]
pub(crate) fn below(rng: &mut RngStream, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        let low = m as u64;
        if low >= n || low >= n.wrapping_neg() % n {
            return (m >> 64) as u64;
        }
    }
}

/// Upstream `FitError.Error()`: `"0/N nodes are available: <pre-filter msg>. <sorted histogram>. <post-filter msg>"`.
pub fn fit_error_message(
    num_nodes: usize,
    statuses: &NodeToStatus,
    pre_filter_msg: Option<&str>,
    post_filter: &Status,
) -> String {
    let mut msg = format!("0/{num_nodes} nodes are available:");
    if let Some(p) = pre_filter_msg {
        msg.push_str(&format!(" {p}."));
    }
    let mut hist: BTreeMap<&str, usize> = BTreeMap::new();
    for s in statuses.statuses.values() {
        for r in s.reasons() {
            *hist.entry(r.as_ref()).or_insert(0) += 1;
        }
    }
    if !hist.is_empty() {
        let mut parts: Vec<String> = hist.iter().map(|(r, c)| format!("{c} {r}")).collect();
        parts.sort();
        msg.push_str(&format!(" {}.", parts.join(", ")));
    }
    if !post_filter.is_success() && !post_filter.reasons().is_empty() {
        msg.push_str(&format!(" {}", post_filter.message()));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::tests::{container, node, pod_with};

    fn pod(name: &str, cpu_millis: i64) -> Pod {
        let mut p = Arc::unwrap_or_clone(pod_with(vec![container(cpu_millis, 0)]).pod);
        p.meta.name = name.into();
        p
    }

    fn schedule_all(s: &mut Scheduler) -> usize {
        let mut bound = 0;
        while let Some(out) = s.schedule_next(SimTime::ZERO) {
            bound += usize::from(matches!(out, ScheduleOutcome::Bound { .. }));
        }
        bound
    }

    #[test]
    fn a_burst_of_pending_pods_gives_its_numbers_back_once_none_is_pending() {
        let mut s = Scheduler::with_defaults(1);
        for i in 0..30 {
            s.add_node(node(&format!("n{i}"), 64_000, 256 << 30), SimTime::ZERO);
        }
        // 3,000 pods at once, one of them too big for any node: it keeps every number in use.
        for i in 0..3000 {
            s.add_pod(pod(&format!("p{i}"), 10), SimTime::ZERO);
        }
        s.add_pod(pod("huge", 100_000), SimTime::ZERO);
        assert_eq!(schedule_all(&mut s), 3000);
        assert_eq!(s.pending_pods(), 1, "the huge pod waits");
        assert!(s.pending.len() > 3000, "a pending pod keeps the numbers as they are");

        assert!(s.delete_pod(&ObjectKey::new("default", "huge"), SimTime::ZERO));
        assert_eq!(s.pending_pods(), 0);
        assert!(s.pending.capacity() <= RETAINED_PENDING_IDS, "{}", s.pending.capacity());
        assert!(s.free_ids.capacity() <= RETAINED_PENDING_IDS, "{}", s.free_ids.capacity());
        assert!(s.queue.entries_capacity() <= RETAINED_PENDING_IDS, "{}", s.queue.entries_capacity());

        // Numbering starts again from 0, and the next pods schedule as before.
        s.add_pod(pod("late-0", 10), SimTime::ZERO);
        s.add_pod(pod("late-1", 10), SimTime::ZERO);
        assert_eq!(s.pending_ids.values().copied().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(schedule_all(&mut s), 2);
        assert_eq!(s.pending_pods(), 0);
    }

    #[test]
    fn below_draws_exactly_what_the_stream_below_draws() {
        // Same seed, same bounds ⇒ same values and the same number of words consumed. Bounds
        // just above 2^63 reject about half of all draws, so the rejection path is exercised.
        let streams = RngStreams::new(42);
        let (mut fast, mut reference) = (streams.stream("t"), streams.stream("t"));
        let bounds =
            [0u64, 1, 2, 3, 7, 500, 1 << 20, u64::MAX / 3, (1 << 63) + 1, (1 << 63) + 12_345, u64::MAX];
        for round in 0..2000u64 {
            for &n in &bounds {
                assert_eq!(below(&mut fast, n), reference.below(n), "round {round}, n {n}");
            }
            let n = round + 1;
            assert_eq!(below(&mut fast, n), reference.below(n));
        }
        assert_eq!(fast.next_u64(), reference.next_u64(), "both streams consumed the same words");
    }
}
