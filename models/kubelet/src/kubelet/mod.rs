//! The kubelet of one node as an event-driven, sans-IO state machine.
//!
//! [`Kubelet::handle`] takes `now` and one [`KubeletInput`] and pushes [`KubeletEffect`]s: runtime
//! commands, pod status writes, timer requests, node lease/condition transitions, evictions. It
//! never reads a clock and never touches a queue; the driver (simulation or wall clock) does.
//!
//! Costs are proportional to transitions: probes wake the kubelet only when a cached result will
//! change ([`ProbeMode::Analytic`]; [`ProbeMode::PerPeriod`] ticks every period as upstream, and
//! [`ProbeMode::Executed`] ticks every period and has the runtime run each probe); the eviction manager checks only while the running
//! containers' memory curves make pressure possible ([`crate::eviction::next_possible_pressure`]);
//! heartbeats are a single up/down transition ([`KubeletEffect::NodeLease`]). A pod whose
//! containers are ready and steady costs no events at all.
//!
//! Pod life: admission (requests vs allocatable, else `Failed`/`OutOf<resource>`) → sandbox →
//! init containers in order (a sidecar counts as done once started; it keeps running) → regular
//! containers → probes, restarts per policy with CrashLoopBackOff → termination (deletion:
//! SIGTERM, grace, SIGKILL; terminal phase; removal confirmed) or eviction.

mod table;
mod types;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{
    ConditionStatus, NodeConditionType, ObjectKey, Pod, PodConditionType, PodPhase, ResourceName,
};
use kubesim_workload::PodWorkload;
use sim_core::{SimDuration, SimTime};

use crate::backoff::{BackoffConfig, CrashLoopBackoff, RestartDecision};
use crate::cgroups::{container_cgroup, effective_pod_resources, pod_cgroup};
use crate::eviction::{rank_for_memory_eviction, EvictionCandidate, RunningMemory, WorkingSetTally};
use crate::probes::ProbeKind;
use crate::qos::container_oom_score_adj;
use crate::runtime::{ContainerId, ContainerRole, RuntimeCommand, RuntimeEvent, SandboxId};
use crate::termination::plan_kill;

use table::PodTable;
use types::TimerKind;
pub use types::{KubeletConfig, KubeletEffect, KubeletInput, ProbeMode, TimerToken};
use worker::{Phase, PodWorker, Teardown, Termination};

/// Grace override for hard evictions (the pod worker's minimum).
const EVICTION_GRACE: SimDuration = SimDuration::from_secs(1);

/// Image pull back-off: `flowcontrol.Backoff` `Next` semantics per (pod, container).
#[derive(Clone, Copy, Debug)]
struct PullBackoff {
    backoff: SimDuration,
    last_update: SimTime,
}

#[derive(Clone, Copy, Debug, Default)]
struct EvictionState {
    due: Option<SimTime>,
    pressure: bool,
    last_observed: Option<SimTime>,
}

/// The kubelet of one node.
#[derive(Debug)]
pub struct Kubelet {
    config: KubeletConfig,
    up: bool,
    /// When the kubelet last started (origin of the eviction manager's ticks).
    started_at: SimTime,
    next_pod: u32,
    /// Admitted pods by local number, with an index by key.
    pods: PodTable,
    crash_backoff: CrashLoopBackoff<(u32, u8)>,
    pull_backoff: BTreeMap<(u32, u8), PullBackoff>,
    eviction: EvictionState,
    /// Last eviction check (one eviction per monitoring tick).
    last_eviction_check: Option<SimTime>,
    /// Pods with status changes not yet written, each once (a worker is in it iff its `queued`
    /// flag is set: no search of the list, which a resync fills with every pod).
    dirty: Vec<u32>,
    /// Inputs that arrived while the kubelet was stopped, replayed on start.
    backlog: Vec<KubeletInput>,
    /// Status reason of each pod, e.g. `Evicted`.
    reasons: BTreeMap<u32, &'static str>,
    /// The running containers' working sets (updated where a container enters or leaves
    /// [`Phase::Running`]), so that planning the eviction check need not walk them.
    working_sets: WorkingSetTally,
}

impl Kubelet {
    /// A stopped kubelet; send [`KubeletInput::NodeStart`] to start it.
    pub fn new(config: KubeletConfig) -> Self {
        Kubelet {
            crash_backoff: CrashLoopBackoff::new(config.crash_backoff),
            config,
            up: false,
            started_at: SimTime::ZERO,
            next_pod: 0,
            pods: PodTable::default(),
            pull_backoff: BTreeMap::new(),
            eviction: EvictionState::default(),
            last_eviction_check: None,
            dirty: Vec::new(),
            backlog: Vec::new(),
            reasons: BTreeMap::new(),
            working_sets: WorkingSetTally::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &KubeletConfig {
        &self.config
    }

    /// True while running.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Number of pods the kubelet manages (admitted, not yet removed).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Ready pods (Ready condition True).
    pub fn ready_pods(&self) -> usize {
        self.pods.values().filter(|p| p.ready()).count()
    }

    /// The running instance of container `name` of pod `key`, if it runs here.
    pub fn running_container(&self, key: &ObjectKey, name: &str) -> Option<ContainerId> {
        let id = self.pods.id_of(&key.namespace, &key.name)?;
        let p = self.pods.get(&id)?;
        let idx = (0..p.containers.len()).find(|&i| p.spec_of(i).name == name)?;
        let c = &p.containers[idx];
        c.running().then(|| c.id(id, idx as u8))
    }

    /// The pod and container name of a container instance this kubelet started (the pod object,
    /// not its key: usage sampling asks for every container, and the key would be two new
    /// strings each time).
    pub fn container_owner(&self, container: ContainerId) -> Option<(&Pod, &str)> {
        let p = self.pods.get(&container.pod())?;
        let idx = usize::from(container.index());
        (idx < p.containers.len()).then(|| (&*p.pod, p.spec_of(idx).name.as_str()))
    }

    /// True iff [`Self::container_owner`] knows `container`, found in the pod table's dense lists
    /// without reading the worker, the pod object or its spec (a caller that only counts the
    /// containers it would report needs no more).
    pub fn knows_container(&self, container: ContainerId) -> bool {
        self.pods.has_container(container.pod(), container.index())
    }

    /// The pod object the kubelet runs `key` from, if it runs it.
    pub fn pod(&self, key: &ObjectKey) -> Option<&Arc<Pod>> {
        self.pods.get(&self.pods.id_of(&key.namespace, &key.name)?).map(|w| &w.pod)
    }

    /// Shares `pod`, a newer version of a pod this kubelet runs that differs from the one it was
    /// given only outside the spec (its own status write, typically), instead of keeping the old
    /// version alive beside it: a memory saving, not an input. The kubelet reads only the spec,
    /// the key and status fields it wrote itself, so nothing it does changes. Ignored for a pod it
    /// does not run, another incarnation (uid) or a different spec.
    pub fn share_pod(&mut self, pod: &Arc<Pod>) {
        let Some(id) = self.pods.id_of(&pod.meta.namespace, &pod.meta.name) else { return };
        let Some(worker) = self.pods.get_mut(&id) else { return };
        if Arc::ptr_eq(&worker.pod, pod) {
            return;
        }
        let held = &worker.pod;
        let same = held.meta.uid == pod.meta.uid
            && held.meta.deletion_timestamp == pod.meta.deletion_timestamp
            && held.status.nominated_node_name == pod.status.nominated_node_name
            && held.condition(PodConditionType::PodScheduled)
                == pod.condition(PodConditionType::PodScheduled)
            && held.spec == pod.spec;
        if same {
            worker.pod = Arc::clone(pod);
        }
    }

    /// The node crashed (or rebooted): the kubelet process dies with all it knew — pods, timers,
    /// back-off state. Heartbeats stop. Only the pod numbering survives, so that events planned
    /// before the crash can never be mistaken for a new pod's. Send
    /// [`KubeletInput::NodeStart`] and re-assign the pods still bound to the node to recover, as
    /// a rebooted kubelet that lists its pods from the API server does.
    pub fn crash(&mut self, out: &mut Vec<KubeletEffect>) {
        if self.up {
            self.stop(out);
        }
        self.pods.clear();
        self.crash_backoff = CrashLoopBackoff::new(self.config.crash_backoff);
        self.pull_backoff.clear();
        self.eviction = EvictionState::default();
        self.last_eviction_check = None;
        self.dirty.clear();
        self.backlog.clear();
        self.reasons.clear();
        self.working_sets = WorkingSetTally::default();
    }

    /// Writes every pod's current status again (the status manager's re-sync after the API
    /// server was unreachable or changed the status behind the kubelet's back).
    pub fn resync_statuses(&mut self, out: &mut Vec<KubeletEffect>) {
        if !self.up {
            return;
        }
        let ids: Vec<u32> = self.pods.keys().copied().collect();
        for id in ids {
            self.touch(id);
        }
        self.flush(out);
    }

    /// Handles one input at `now`, pushing effects to `out`.
    pub fn handle(&mut self, now: SimTime, input: KubeletInput, out: &mut Vec<KubeletEffect>) {
        if !self.up {
            match input {
                KubeletInput::NodeStart => self.start(now, out),
                KubeletInput::NodeStop | KubeletInput::TimerFired(_) => {}
                other => self.backlog.push(other),
            }
            return;
        }
        match input {
            KubeletInput::PodAssigned { pod, workload } => self.admit(now, pod, workload, out),
            KubeletInput::PodDeletionRequested { key, grace } => self.delete(now, &key, grace, out),
            KubeletInput::Runtime(ev) => self.on_runtime(now, ev, out),
            KubeletInput::TimerFired(token) => self.on_timer(now, token, out),
            KubeletInput::NodeStop => self.stop(out),
            KubeletInput::NodeStart => {}
        }
        self.flush(out);
    }

    // ---------------------------------------------------------------- node up / down

    fn start(&mut self, now: SimTime, out: &mut Vec<KubeletEffect>) {
        self.up = true;
        self.started_at = now;
        out.push(KubeletEffect::NodeLease { renewing: true });
        out.push(KubeletEffect::NodeCondition {
            kind: NodeConditionType::Ready,
            status: ConditionStatus::True,
        });
        // Probe workers restart with the kubelet: new tick origin, running containers re-probed.
        let ids: Vec<u32> = self.pods.keys().copied().collect();
        for id in &ids {
            let mode = self.config.probe_mode;
            let Some(p) = self.pods.get_mut(id) else { continue };
            for i in 0..p.containers.len() {
                let c = &p.containers[i];
                let Phase::Running(since) = c.phase else { continue };
                if c.probes.is_none() {
                    continue;
                }
                // Validated at admission, so the engine is rebuilt as it was first built.
                let Ok(Some(mut engine)) = worker::ProbeEngine::for_container(mode, now, p.spec_of(i)) else {
                    continue;
                };
                engine.container_started(since);
                if let (worker::ProbeEngine::Executed(new), Some(worker::ProbeEngine::Executed(old))) =
                    (&mut engine, c.probes.as_ref())
                {
                    new.discard_answers_due_to(old);
                }
                p.containers[i].probes = Some(engine);
                p.containers[i].set_probe_due(None);
            }
        }
        for id in ids {
            let n = self.pods.get(&id).map_or(0, |p| p.containers.len());
            for i in 0..n {
                self.probe_step(now, id, i as u8, out);
                // Actions that came due while stopped run now.
                if self.pods.get(&id).and_then(|p| p.containers[i].action_due()).is_some_and(|t| t <= now) {
                    self.on_action(now, id, i as u8, out);
                }
            }
            self.mark(id);
        }
        for input in std::mem::take(&mut self.backlog) {
            match input {
                KubeletInput::PodAssigned { pod, workload } => self.admit(now, pod, workload, out),
                KubeletInput::PodDeletionRequested { key, grace } => self.delete(now, &key, grace, out),
                KubeletInput::Runtime(ev) => self.on_runtime(now, ev, out),
                _ => {}
            }
        }
        self.eviction.due = None;
        self.plan_eviction(now, out);
        self.flush(out);
    }

    fn stop(&mut self, out: &mut Vec<KubeletEffect>) {
        self.up = false;
        out.push(KubeletEffect::NodeLease { renewing: false });
        // Timers die with the process; forget them (the driver may still deliver them: ignored).
        for (id, p) in self.pods.iter_mut() {
            for (i, c) in p.containers.iter_mut().enumerate() {
                if c.take_probe_due().is_some() {
                    out.push(KubeletEffect::CancelTimer {
                        token: TimerToken::container(TimerKind::Probe, id, i as u8),
                    });
                }
            }
        }
        if self.eviction.due.take().is_some() {
            out.push(KubeletEffect::CancelTimer { token: TimerToken::node(TimerKind::Eviction) });
        }
    }

    // ---------------------------------------------------------------- admission

    fn admit(
        &mut self,
        now: SimTime,
        pod: Arc<Pod>,
        workload: Option<Arc<PodWorkload>>,
        out: &mut Vec<KubeletEffect>,
    ) {
        if self.pods.id_of(&pod.meta.namespace, &pod.meta.name).is_some() {
            return; // already known: assignment is idempotent
        }
        let requests = effective_pod_resources(&pod.spec, |c| &c.resources.requests);
        if let Some(resource) = self.admission_failure(&requests) {
            let mut status = pod.status.clone();
            status.phase = PodPhase::Failed;
            status.reason = Some(format!("OutOf{resource}"));
            out.push(KubeletEffect::PodStatusUpdate { key: pod.meta.key(), status });
            return;
        }
        let id = self.next_pod;
        self.next_pod = self.next_pod.wrapping_add(1);
        let worker = match PodWorker::new(id, pod.clone(), workload.clone(), now, self.config.probe_mode) {
            Ok(w) => w,
            Err(e) => {
                // Upstream validation would have rejected the pod; fail it rather than panic.
                let mut status = pod.status.clone();
                status.phase = PodPhase::Failed;
                status.reason = Some(format!("InvalidProbe: {e}"));
                out.push(KubeletEffect::PodStatusUpdate { key: pod.meta.key(), status });
                return;
            }
        };
        let mut worker = worker;
        recover_from_status(&mut worker, now);
        self.pods.insert(worker, &requests);
        self.mark(id);
        out.push(KubeletEffect::Runtime(RuntimeCommand::CreateSandbox {
            sandbox: SandboxId(u64::from(id)),
            cgroup: pod_cgroup(&pod.spec),
            workload,
        }));
    }

    /// The first resource the pod does not fit in, as upstream names it (`cpu`, `memory`, `pods`).
    fn admission_failure(&self, requests: &kubesim_api::ResourceList) -> Option<String> {
        #[cfg(debug_assertions)]
        self.check_active_sums();
        let alloc = &self.config.allocatable;
        if let Some(max_pods) = alloc.get(&ResourceName::Pods) {
            if self.pods.active_pods() + 1 > max_pods {
                return Some("pods".into());
            }
        }
        // The resources to check, in the order upstream checks them, against what the active
        // pods use of each (kept summed by the pod table).
        for (name, amount) in requests.iter() {
            if amount <= 0 || *name == ResourceName::Pods {
                continue;
            }
            let used = self.pods.active_requests(name);
            if used.saturating_add(amount) > alloc.get_or_zero(name) {
                return Some(name.as_str().to_string());
            }
        }
        None
    }

    /// The pod table's running sums equal the walk over the active pods they replace (wrapping
    /// additions, as a release build's `+=` in that walk).
    #[cfg(debug_assertions)]
    fn check_active_sums(&self) {
        let mut active = 0i64;
        let mut sums = kubesim_api::ResourceList::new();
        for worker in self.pods.values().filter(|p| p.terminal().is_none()) {
            active += 1;
            for (name, amount) in worker.requests().iter() {
                sums.set(name.clone(), sums.get_or_zero(name).wrapping_add(amount));
            }
        }
        assert_eq!(active, self.pods.active_pods(), "active pod count");
        for (name, sum) in sums.iter() {
            assert_eq!(sum, self.pods.active_requests(name), "active requests of {name}");
        }
    }

    // ---------------------------------------------------------------- runtime events

    fn on_runtime(&mut self, now: SimTime, ev: RuntimeEvent, out: &mut Vec<KubeletEffect>) {
        match ev {
            RuntimeEvent::SandboxReady { sandbox, .. } => {
                let Ok(id) = u32::try_from(sandbox.0) else { return };
                let Some(p) = self.pods.get_mut(&id) else { return };
                if p.sandbox_ready || p.teardown != Teardown::None {
                    return;
                }
                p.sandbox_ready = true;
                self.progress(now, id, out);
            }
            RuntimeEvent::ImagePulled { container, result, .. } => {
                let (id, idx) = (container.pod(), container.index());
                let Some(p) = self.pods.get_mut(&id) else { return };
                let Some(c) = p.containers.get_mut(idx as usize) else { return };
                if c.id(id, idx) != container || c.phase != Phase::Pulling {
                    return;
                }
                if p.teardown != Teardown::None {
                    c.phase = if c.last.is_some() { Phase::Exited } else { Phase::Idle };
                    self.after_stop(now, id, out);
                    return;
                }
                match result {
                    Ok(()) => {
                        c.phase = Phase::Starting;
                        let role = c.role;
                        let spec = p.spec_of(idx as usize);
                        let cmd = RuntimeCommand::StartContainer {
                            container,
                            role,
                            cgroup: container_cgroup(spec),
                            oom_score_adj: container_oom_score_adj(
                                &p.pod.spec,
                                spec,
                                self.config.memory_capacity_bytes,
                            ),
                        };
                        out.push(KubeletEffect::Runtime(cmd));
                    }
                    Err(error) => {
                        let backoff = self.next_pull_backoff((id, idx), now);
                        let retry_at = now.saturating_add(backoff);
                        let show_at = now.saturating_add(self.config.image_backoff_report_delay);
                        let p = self.pods.get_mut(&id).expect("looked up above");
                        let c = &mut p.containers[idx as usize];
                        c.phase = Phase::PullFailed { error, retry_at, shown_backoff: false };
                        p.dirty = true;
                        self.mark(id);
                        self.set_action(id, idx, Some(show_at.min(retry_at)), out);
                    }
                }
            }
            RuntimeEvent::ContainerStarted { container, at } => {
                let (id, idx) = (container.pod(), container.index());
                let Some(p) = self.pods.get_mut(&id) else { return };
                let Some(c) = p.containers.get_mut(idx as usize) else { return };
                if c.id(id, idx) != container || c.phase != Phase::Starting {
                    return;
                }
                c.phase = Phase::Running(at);
                self.working_sets.started(&c.workload.memory_bytes);
                c.stopping = false;
                c.restart_count = c.instance;
                if let Some(pr) = &mut c.probes {
                    pr.container_started(at);
                }
                let tearing_down = p.teardown != Teardown::None;
                self.touch(id);
                if tearing_down {
                    let grace = self.teardown_grace(id, None);
                    self.stop_container(now, id, idx, grace, out);
                }
                self.probe_step(now, id, idx, out);
                self.progress(now, id, out);
                self.plan_eviction(now, out);
            }
            RuntimeEvent::ContainerExited { container, exit_code, oom_killed, at, .. } => {
                self.on_exit(now, container, Termination { exit_code, oom_killed, at, lost: false }, out);
            }
            RuntimeEvent::ProbeResult { container, kind, success, at } => {
                self.on_probe_result(now, container, (kind, success, at), out);
            }
        }
    }

    fn on_exit(
        &mut self,
        now: SimTime,
        container: ContainerId,
        term: Termination,
        out: &mut Vec<KubeletEffect>,
    ) {
        let (id, idx) = (container.pod(), container.index());
        let Some(p) = self.pods.get_mut(&id) else { return };
        let Some(c) = p.containers.get_mut(idx as usize) else { return };
        if c.id(id, idx) != container || !c.active() {
            return;
        }
        if c.running() {
            self.working_sets.stopped(&c.workload.memory_bytes);
        }
        c.phase = Phase::Exited;
        c.prev = c.last;
        c.last = Some(term);
        c.stopping = false;
        if let Some(pr) = &mut c.probes {
            pr.container_stopped(term.at, &c.workload.health);
        }
        let probe_token = c.take_probe_due().map(|_| TimerToken::container(TimerKind::Probe, id, idx));
        let policy = p.pod.spec.restart_policy;
        let restarts = p.teardown == Teardown::None && c.restarts(policy, term.exit_code);
        let role = c.role;
        if let Some(token) = probe_token {
            out.push(KubeletEffect::CancelTimer { token });
        }
        self.touch(id);
        if restarts {
            self.restart_or_back_off(now, id, idx, term.at, out);
        } else {
            let p = self.pods.get_mut(&id).expect("looked up above");
            let c = &mut p.containers[idx as usize];
            c.done = true;
            if p.teardown == Teardown::None && role == ContainerRole::Init && term.exit_code != 0 {
                // An init container failed under restartPolicy Never: the pod fails.
                p.teardown = Teardown::Completed;
                self.pods.set_terminal(id, PodPhase::Failed);
            }
        }
        self.progress(now, id, out);
        self.after_stop(now, id, out);
        self.plan_eviction(now, out);
    }

    fn restart_or_back_off(
        &mut self,
        now: SimTime,
        id: u32,
        idx: u8,
        finished_at: SimTime,
        out: &mut Vec<KubeletEffect>,
    ) {
        match self.crash_backoff.on_exited((id, idx), finished_at, now) {
            RestartDecision::RestartNow => self.launch(now, id, idx, out),
            RestartDecision::BackOff { until } => {
                let Some(p) = self.pods.get_mut(&id) else { return };
                p.containers[idx as usize].phase = Phase::CrashLoop(until);
                p.dirty = true;
                self.mark(id);
                self.set_action(id, idx, Some(until), out);
            }
        }
    }

    /// Starts a new instance of container `idx`: pull (per policy), then start.
    fn launch(&mut self, _now: SimTime, id: u32, idx: u8, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        let c = &mut p.containers[idx as usize];
        if c.last.is_some() && !matches!(c.phase, Phase::PullFailed { .. }) {
            c.instance = c.instance.wrapping_add(1);
        }
        c.phase = Phase::Pulling;
        c.done = false;
        let container = c.id(id, idx);
        let spec = p.spec_of(idx as usize);
        out.push(KubeletEffect::Runtime(RuntimeCommand::PullImage {
            container,
            image: spec.image.clone(),
            policy: spec.image_pull_policy,
        }));
    }

    fn next_pull_backoff(&mut self, key: (u32, u8), now: SimTime) -> SimDuration {
        let cfg: BackoffConfig = self.config.image_backoff;
        let next = match self.pull_backoff.get(&key) {
            Some(e) if now.saturating_duration_since(e.last_update) <= cfg.max.saturating_mul(2) => {
                e.backoff.saturating_mul(2).min(cfg.max)
            }
            _ => cfg.initial,
        };
        self.pull_backoff.insert(key, PullBackoff { backoff: next, last_update: now });
        next
    }

    // ---------------------------------------------------------------- pod progress

    /// Moves the pod forward: start the next init container, or the regular containers; decide
    /// completion.
    fn progress(&mut self, now: SimTime, id: u32, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        if !p.sandbox_ready || p.teardown != Teardown::None {
            p.update_conditions(now);
            return;
        }
        let mut to_launch = Vec::new();
        while p.next_init < p.n_init {
            let c = &p.containers[p.next_init as usize];
            let finished = match c.role {
                ContainerRole::Sidecar => c.started(),
                _ => c.done && c.last.is_some_and(|t| t.exit_code == 0),
            };
            if finished {
                p.next_init += 1;
                p.dirty = true;
                continue;
            }
            if c.phase == Phase::Idle {
                to_launch.push(p.next_init);
            }
            break;
        }
        if p.initialized() {
            for i in p.n_init as usize..p.containers.len() {
                if p.containers[i].phase == Phase::Idle && !p.containers[i].done {
                    to_launch.push(i as u8);
                }
            }
            // Completion: every regular container finished for good.
            if p.regular().iter().all(|c| c.done) && !p.regular().is_empty() {
                let phase = p.completed_phase();
                p.teardown = Teardown::Completed;
                p.dirty = true;
                self.pods.set_terminal(id, phase);
            }
        }
        let Some(p) = self.pods.get_mut(&id) else { return };
        p.update_conditions(now);
        self.mark(id);
        for idx in to_launch {
            self.launch(now, id, idx, out);
        }
        let completed = self.pods.get(&id).is_some_and(|p| p.teardown == Teardown::Completed);
        if completed {
            self.stop_all(now, id, None, out);
        }
    }

    fn teardown_grace(&self, id: u32, grace: Option<SimDuration>) -> (SimDuration, Option<SimDuration>) {
        let pod_grace =
            self.pods.get(&id).map_or(SimDuration::from_secs(30), |p| p.pod.spec.termination_grace_period);
        match self.pods.get(&id).map(|p| p.teardown) {
            Some(Teardown::Evicted) => (pod_grace, Some(EVICTION_GRACE)),
            _ => (grace.unwrap_or(pod_grace), None),
        }
    }

    /// SIGTERM (then SIGKILL) to container `idx` unless already stopping.
    fn stop_container(
        &mut self,
        now: SimTime,
        id: u32,
        idx: u8,
        grace: (SimDuration, Option<SimDuration>),
        out: &mut Vec<KubeletEffect>,
    ) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        let c = &mut p.containers[idx as usize];
        if !c.active() || c.stopping {
            return;
        }
        c.stopping = true;
        let plan = plan_kill(now, grace.0, None, grace.1);
        out.push(KubeletEffect::Runtime(RuntimeCommand::StopContainer {
            container: c.id(id, idx),
            timeout: plan.sigkill_at.saturating_duration_since(plan.sigterm_at),
        }));
    }

    /// Stops every container of a pod that is being torn down; cancels pending actions.
    fn stop_all(&mut self, now: SimTime, id: u32, grace: Option<SimDuration>, out: &mut Vec<KubeletEffect>) {
        let g = self.teardown_grace(id, grace);
        let n = self.pods.get(&id).map_or(0, |p| p.containers.len());
        for i in 0..n {
            self.set_action(id, i as u8, None, out);
            let Some(p) = self.pods.get_mut(&id) else { return };
            let c = &mut p.containers[i];
            match c.phase {
                Phase::PullFailed { .. } | Phase::CrashLoop(_) => {
                    c.phase = if c.last.is_some() { Phase::Exited } else { Phase::Idle };
                    p.dirty = true;
                }
                _ => {}
            }
            self.stop_container(now, id, i as u8, g, out);
        }
        self.mark(id);
        self.after_stop(now, id, out);
    }

    /// Once a torn-down pod has nothing running: remove the sandbox; confirm a deletion.
    fn after_stop(&mut self, now: SimTime, id: u32, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        if p.teardown == Teardown::None
            || p.containers.iter().any(|c| c.active() || c.phase == Phase::Pulling)
        {
            return;
        }
        if p.terminal().is_none() {
            let phase = p.completed_phase();
            p.dirty = true;
            self.pods.set_terminal(id, phase);
        }
        let Some(p) = self.pods.get_mut(&id) else { return };
        p.update_conditions(now);
        if !p.sandbox_removed {
            p.sandbox_removed = true;
            out.push(KubeletEffect::Runtime(RuntimeCommand::RemoveSandbox {
                sandbox: SandboxId(u64::from(id)),
            }));
        }
        if p.teardown == Teardown::Deleted {
            // Final status, then the removal confirmation.
            let p = self.pods.remove(&id).expect("present");
            let key = p.pod.meta.key();
            out.push(KubeletEffect::PodStatusUpdate {
                key: key.clone(),
                status: p.status(self.reasons.get(&id).copied()),
            });
            out.push(KubeletEffect::PodRemoved { key });
            self.reasons.remove(&id);
            for i in 0..p.containers.len() as u8 {
                self.crash_backoff.remove(&(id, i));
                self.pull_backoff.remove(&(id, i));
            }
        }
    }

    // ---------------------------------------------------------------- deletion and eviction

    fn delete(
        &mut self,
        now: SimTime,
        key: &ObjectKey,
        grace: Option<SimDuration>,
        out: &mut Vec<KubeletEffect>,
    ) {
        let Some(id) = self.pods.id_of(&key.namespace, &key.name) else {
            // Unknown or rejected at admission: nothing runs, removal is immediate.
            out.push(KubeletEffect::PodRemoved { key: key.clone() });
            return;
        };
        let Some(p) = self.pods.get_mut(&id) else { return };
        if p.teardown == Teardown::Deleted {
            return;
        }
        p.teardown = Teardown::Deleted;
        p.dirty = true;
        self.stop_all(now, id, grace, out);
    }

    fn evict(&mut self, now: SimTime, id: u32, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        p.teardown = Teardown::Evicted;
        p.dirty = true;
        let key = p.pod.meta.key();
        self.pods.set_terminal(id, PodPhase::Failed);
        self.reasons.insert(id, "Evicted");
        out.push(KubeletEffect::PodEvicted { key });
        self.stop_all(now, id, None, out);
    }

    fn working_set(&self, now: SimTime) -> (Vec<(u32, i64)>, i64) {
        let mut per_pod = Vec::with_capacity(self.pods.len());
        let mut total = 0i64;
        for (id, p) in self.pods.iter() {
            let mut ws = 0i64;
            for c in p.containers.iter() {
                if let Phase::Running(since) = c.phase {
                    ws = ws.saturating_add(
                        c.workload.memory_bytes.value_at(now.saturating_duration_since(since)),
                    );
                }
            }
            total = total.saturating_add(ws);
            per_pod.push((*id, ws));
        }
        (per_pod, total)
    }

    /// Schedules the next eviction check: the first monitoring tick at or after the earliest
    /// instant pressure is possible (every tick while the condition is on).
    fn plan_eviction(&mut self, now: SimTime, out: &mut Vec<KubeletEffect>) {
        let limit =
            self.config.memory_capacity_bytes.saturating_sub(self.config.eviction_memory_available_bytes);
        let bound = if self.eviction.pressure {
            Some(now.saturating_add(SimDuration::from_nanos(1)))
        } else if let Some(bound) = self.working_sets.next_possible_pressure(now, limit) {
            #[cfg(debug_assertions)]
            assert_eq!(bound, self.walk_possible_pressure(now, limit), "tallied working sets");
            bound
        } else {
            self.walk_possible_pressure(now, limit)
        };
        let after_last = self.last_eviction_check.map(|t| t.saturating_add(SimDuration::from_nanos(1)));
        let due = bound.map(|b| {
            let b = after_last.map_or(b, |a| a.max(b));
            let period = self.config.eviction_monitoring_interval.as_nanos().max(1);
            let k = b.saturating_duration_since(self.started_at).as_nanos().div_ceil(period);
            self.started_at.saturating_add(SimDuration::from_nanos(k.saturating_mul(period)))
        });
        if due != self.eviction.due {
            let token = TimerToken::node(TimerKind::Eviction);
            match due {
                Some(at) => out.push(KubeletEffect::SetTimer { at, token }),
                None => out.push(KubeletEffect::CancelTimer { token }),
            }
            self.eviction.due = due;
        }
    }

    /// [`crate::eviction::next_possible_pressure`] over every running container.
    fn walk_possible_pressure(&self, now: SimTime, limit: i64) -> Option<SimTime> {
        let running = self.pods.values().flat_map(|p| p.containers.iter()).filter_map(|c| match c.phase {
            Phase::Running(start) => Some(RunningMemory { curve: &c.workload.memory_bytes, start }),
            _ => None,
        });
        crate::eviction::next_possible_pressure_of(now, running, limit)
    }

    fn on_eviction_check(&mut self, now: SimTime, out: &mut Vec<KubeletEffect>) {
        self.eviction.due = None;
        self.last_eviction_check = Some(now);
        let (per_pod, total) = self.working_set(now);
        let available = self.config.memory_capacity_bytes.saturating_sub(total);
        let under = available < self.config.eviction_memory_available_bytes;
        if under {
            self.eviction.last_observed = Some(now);
            if !self.eviction.pressure {
                self.eviction.pressure = true;
                out.push(KubeletEffect::NodeCondition {
                    kind: NodeConditionType::MemoryPressure,
                    status: ConditionStatus::True,
                });
            }
            let mut candidates: Vec<EvictionCandidate<u32>> = per_pod
                .into_iter()
                .filter(|(id, _)| self.pods.get(id).is_some_and(|p| p.teardown == Teardown::None))
                .map(|(id, ws)| {
                    let p = &self.pods[&id];
                    EvictionCandidate {
                        key: id,
                        memory_usage_bytes: Some(ws),
                        memory_request_bytes: p.requests().memory_bytes(),
                        priority: p.pod.priority(),
                    }
                })
                .collect();
            rank_for_memory_eviction(&mut candidates);
            if let Some(first) = candidates.first() {
                self.evict(now, first.key, out);
            }
        } else if self.eviction.pressure
            && self
                .eviction
                .last_observed
                .is_none_or(|t| now.saturating_duration_since(t) >= self.config.pressure_transition_period)
        {
            self.eviction.pressure = false;
            out.push(KubeletEffect::NodeCondition {
                kind: NodeConditionType::MemoryPressure,
                status: ConditionStatus::False,
            });
        }
        self.plan_eviction(now, out);
    }

    // ---------------------------------------------------------------- timers and probes

    fn on_timer(&mut self, now: SimTime, token: TimerToken, out: &mut Vec<KubeletEffect>) {
        let (kind, id, idx) = token.decode();
        match kind {
            TimerKind::Eviction => {
                if self.eviction.due == Some(now) {
                    self.on_eviction_check(now, out);
                }
            }
            TimerKind::Probe => {
                let due = self
                    .pods
                    .get(&id)
                    .and_then(|p| p.containers.get(idx as usize))
                    .and_then(|c| c.probe_due());
                if due == Some(now) {
                    self.pods.get_mut(&id).expect("checked").containers[idx as usize].set_probe_due(None);
                    self.probe_step(now, id, idx, out);
                }
            }
            TimerKind::Action => {
                let due = self
                    .pods
                    .get(&id)
                    .and_then(|p| p.containers.get(idx as usize))
                    .and_then(|c| c.action_due());
                if due == Some(now) {
                    self.pods.get_mut(&id).expect("checked").containers[idx as usize].set_action_due(None);
                    self.on_action(now, id, idx, out);
                }
            }
        }
    }

    fn on_action(&mut self, now: SimTime, id: u32, idx: u8, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        if p.teardown != Teardown::None {
            return;
        }
        let c = &mut p.containers[idx as usize];
        c.set_action_due(None);
        match c.phase {
            Phase::PullFailed { error, retry_at, shown_backoff } => {
                if now < retry_at {
                    if !shown_backoff {
                        c.phase = Phase::PullFailed { error, retry_at, shown_backoff: true };
                        p.dirty = true;
                        self.mark(id);
                    }
                    self.set_action(id, idx, Some(retry_at), out);
                } else {
                    self.launch(now, id, idx, out);
                }
            }
            Phase::CrashLoop(until) => {
                if now >= until {
                    let finished = c.last.map_or(now, |t| t.at);
                    self.restart_or_back_off(now, id, idx, finished, out);
                } else {
                    self.set_action(id, idx, Some(until), out);
                }
            }
            _ => {}
        }
    }

    /// Applies probe results due at `now` (or, in [`ProbeMode::Executed`], asks the runtime to
    /// run the probes due now) and schedules the next wake-up.
    fn probe_step(&mut self, now: SimTime, id: u32, idx: u8, out: &mut Vec<KubeletEffect>) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        let Some(c) = p.containers.get_mut(idx as usize) else { return };
        if !c.running() {
            return;
        }
        let was = (c.started(), c.ready());
        let container = c.id(id, idx);
        let workload = c.workload.clone();
        let Some(engine) = c.probes.as_mut() else { return };
        let (transitions, requests) = engine.advance(now, &workload.health);
        for r in requests {
            out.push(KubeletEffect::Runtime(RuntimeCommand::RunProbe {
                container,
                kind: r.kind,
                action: r.action,
                timeout: r.timeout,
            }));
        }
        self.after_probes(now, id, idx, was, &transitions, out);
    }

    /// An executed probe's outcome: applied to the worker if it is for the current, running
    /// instance and that worker awaits it; ignored otherwise (a late answer for a container that
    /// has been replaced or stopped, or one from before a kubelet restart).
    fn on_probe_result(
        &mut self,
        now: SimTime,
        container: ContainerId,
        (kind, success, at): (ProbeKind, bool, SimTime),
        out: &mut Vec<KubeletEffect>,
    ) {
        let (id, idx) = (container.pod(), container.index());
        let Some(c) = self.pods.get_mut(&id).and_then(|p| p.containers.get_mut(idx as usize)) else { return };
        if c.id(id, idx) != container || !c.running() {
            return;
        }
        let was = (c.started(), c.ready());
        let Some(worker::ProbeEngine::Executed(engine)) = c.probes.as_mut() else { return };
        let Some(transition) = engine.finish(kind, success, at) else {
            // Counted, but no cached result changed: nothing observable happens.
            return;
        };
        self.after_probes(now, id, idx, was, &[transition], out);
    }

    /// What follows cached-result changes of container `idx` (in any probe mode): the status,
    /// the next probe wake-up, a liveness/startup kill, and pod progress (a sidecar that started
    /// lets the next init container run).
    fn after_probes(
        &mut self,
        now: SimTime,
        id: u32,
        idx: u8,
        was: (bool, bool),
        transitions: &[crate::probes::ProbeTransition],
        out: &mut Vec<KubeletEffect>,
    ) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        let Some(c) = p.containers.get_mut(idx as usize) else { return };
        let mut kill = None;
        for t in transitions {
            if t.kills_container() {
                kill = Some(t.kind);
            }
        }
        if was != (c.started(), c.ready()) {
            p.dirty = true;
        }
        let next = c.probes.as_ref().and_then(|e| e.wakeup(&c.workload.health));
        self.mark(id);
        self.set_probe(id, idx, next, out);
        if let Some(kind) = kill {
            let p = &self.pods[&id];
            let spec = p.spec_of(idx as usize);
            let probe = match kind {
                ProbeKind::Liveness => spec.liveness_probe.as_ref(),
                _ => spec.startup_probe.as_ref(),
            };
            let grace = probe
                .and_then(|pr| pr.termination_grace_period_seconds)
                .map(|s| SimDuration::from_secs(s.max(0) as u64))
                .unwrap_or(p.pod.spec.termination_grace_period);
            self.stop_container(now, id, idx, (grace, None), out);
        }
        self.progress(now, id, out);
    }

    fn set_probe(&mut self, id: u32, idx: u8, at: Option<SimTime>, out: &mut Vec<KubeletEffect>) {
        let Some(c) = self.pods.get_mut(&id).and_then(|p| p.containers.get_mut(idx as usize)) else { return };
        if c.probe_due() != at {
            let token = TimerToken::container(TimerKind::Probe, id, idx);
            out.push(match at {
                Some(at) => KubeletEffect::SetTimer { at, token },
                None => KubeletEffect::CancelTimer { token },
            });
            c.set_probe_due(at);
        }
    }

    fn set_action(&mut self, id: u32, idx: u8, at: Option<SimTime>, out: &mut Vec<KubeletEffect>) {
        let Some(c) = self.pods.get_mut(&id).and_then(|p| p.containers.get_mut(idx as usize)) else { return };
        if c.action_due() != at {
            let token = TimerToken::container(TimerKind::Action, id, idx);
            out.push(match at {
                Some(at) => KubeletEffect::SetTimer { at, token },
                None => KubeletEffect::CancelTimer { token },
            });
            c.set_action_due(at);
        }
    }

    // ---------------------------------------------------------------- status

    /// Marks the pod's status as changed.
    fn touch(&mut self, id: u32) {
        if let Some(p) = self.pods.get_mut(&id) {
            p.dirty = true;
        }
        self.mark(id);
    }

    /// Queues the pod for a status write if anything changed.
    fn mark(&mut self, id: u32) {
        if let Some(p) = self.pods.get_mut(&id) {
            if p.dirty && !p.queued {
                p.queued = true;
                self.dirty.push(id);
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<KubeletEffect>) {
        for id in std::mem::take(&mut self.dirty) {
            let reason = self.reasons.get(&id).copied();
            let Some(p) = self.pods.get_mut(&id) else { continue };
            p.queued = false;
            if !p.dirty {
                continue;
            }
            p.dirty = false;
            out.push(KubeletEffect::PodStatusUpdate { key: p.pod.meta.key(), status: p.status(reason) });
        }
    }
}

/// A pod handed to a fresh kubelet (after a node reboot) whose status shows containers that ran
/// before: each such container restarts as a new instance (restart count + 1) whose `lastState`
/// is how the old one ended — exit 255, reason `Unknown` if it was running or backing off when
/// the node went down (upstream reports lost containers so), or its recorded termination. A
/// container whose policy does not restart it after that end stays finished.
fn recover_from_status(worker: &mut PodWorker, now: SimTime) {
    let policy = worker.pod.spec.restart_policy;
    let n_init = worker.n_init as usize;
    for i in 0..worker.containers.len() {
        let name = worker.spec_of(i).name.clone();
        let statuses = if i < n_init {
            &worker.pod.status.init_container_statuses
        } else {
            &worker.pod.status.container_statuses
        };
        let Some(old) = statuses.iter().find(|s| s.name == name) else { continue };
        let end = match &old.state {
            kubesim_api::ContainerState::Terminated { exit_code, reason, finished_at } => Termination {
                exit_code: *exit_code,
                oom_killed: reason == "OOMKilled",
                at: *finished_at,
                lost: false,
            },
            kubesim_api::ContainerState::Running { .. } => Termination::lost_at(now),
            _ if old.restart_count > 0 => Termination::lost_at(now),
            _ => continue,
        };
        let c = &mut worker.containers[i];
        let restarts = u32::try_from(old.restart_count.max(0)).unwrap_or(0);
        c.instance = restarts;
        c.restart_count = restarts;
        c.last = Some(end);
        // Init containers run again in the new sandbox, as upstream does after a reboot.
        c.done = c.role != ContainerRole::Init && !c.restarts(policy, end.exit_code);
    }
}

#[cfg(test)]
mod share_tests {
    use kubesim_api::{Container, ObjectMeta, PodSpec, ResourceList};

    use super::*;

    /// `default/p` with one container, `app`.
    fn one_container_pod() -> Pod {
        Pod {
            meta: ObjectMeta::named("default", "p"),
            spec: PodSpec {
                containers: vec![Container { name: "app".into(), ..Default::default() }].into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
    }

    fn running_kubelet(pod: &Arc<Pod>) -> Kubelet {
        let alloc = ResourceList::new()
            .with_cpu_millis(8000)
            .with_memory_bytes(16 << 30)
            .with(ResourceName::Pods, 110);
        let mut k = Kubelet::new(KubeletConfig::new("node-0", alloc));
        let mut out = Vec::new();
        k.handle(SimTime::ZERO, KubeletInput::NodeStart, &mut out);
        k.handle(SimTime::ZERO, KubeletInput::PodAssigned { pod: Arc::clone(pod), workload: None }, &mut out);
        k
    }

    #[test]
    fn knows_container_answers_as_container_owner_does() {
        let pod = one_container_pod();
        let k = running_kubelet(&Arc::new(pod));
        // Pod number 0 has one container: index 0 (any instance) is known, index 1 and pod 1 not.
        for (pod, index, instance) in [(0, 0, 0), (0, 0, 3), (0, 1, 0), (1, 0, 0)] {
            let id = ContainerId::new(pod, index, instance);
            assert_eq!(k.knows_container(id), k.container_owner(id).is_some(), "{id:?}");
        }
        assert_eq!(
            k.container_owner(ContainerId::new(0, 0, 0)).map(|(p, c)| (p.meta.name.as_str(), c)),
            Some(("p", "app"))
        );
        assert!(!k.knows_container(ContainerId::new(0, 1, 0)));
    }

    #[test]
    fn a_status_only_newer_version_is_shared_and_a_changed_spec_is_not() {
        let mut pod = one_container_pod();
        pod.meta.uid = "u1".into();
        let admitted = Arc::new(pod);
        let mut k = running_kubelet(&admitted);
        let key = admitted.meta.key();
        assert!(Arc::ptr_eq(k.pod(&key).unwrap(), &admitted));

        // The API server's copy after the kubelet's own status write: shared.
        let mut written = Pod::clone(&admitted);
        written.status.phase = PodPhase::Running;
        written.meta.resource_version += 1;
        let written = Arc::new(written);
        k.share_pod(&written);
        assert!(Arc::ptr_eq(k.pod(&key).unwrap(), &written));

        // Another spec, another incarnation, or a deletion in flight: kept as it was.
        for change in [
            |p: &mut Pod| p.spec.containers[0].image = "v2".into(),
            |p: &mut Pod| p.meta.uid = "u2".into(),
            |p: &mut Pod| p.meta.deletion_timestamp = Some(SimTime::from_secs(1)),
        ] {
            let mut other = Pod::clone(&written);
            change(&mut other);
            k.share_pod(&Arc::new(other));
            assert!(Arc::ptr_eq(k.pod(&key).unwrap(), &written));
        }
    }
}
