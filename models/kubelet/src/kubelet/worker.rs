//! Per-pod and per-container kubelet state, kept compact (no copy of the pod, no strings), and the
//! status it reports.

use std::sync::Arc;

use kubesim_api::{
    ConditionStatus, Container, ContainerState, ContainerStatus, Pod, PodCondition, PodConditionType,
    PodPhase, PodStatus, ResourceList, RestartPolicy,
};
use kubesim_workload::{ContainerHealth, ContainerWorkload, PodWorkload};
use sim_core::SimTime;

use crate::cgroups::effective_pod_resources;
use crate::probes::{
    ContainerProbes, ExecutedProbes, NaiveProbes, ProbeRequest, ProbeSpec, ProbeSpecError, ProbeTransition,
};
use crate::runtime::{ContainerId, ContainerRole, ImagePullError};

use super::types::ProbeMode;

/// Probes of one container, in any mode. Each mode's state is boxed on its own, so a container
/// pays for the mode it runs in (the analytic workers are the smallest), not for the largest.
#[derive(Clone, Debug)]
pub(crate) enum ProbeEngine {
    Analytic(Box<ContainerProbes>),
    Naive(Box<NaiveProbes>),
    Executed(Box<ExecutedProbes>),
}

impl ProbeEngine {
    /// The engine for container `c`'s probes, or `None` if it has none.
    pub(crate) fn for_container(
        mode: ProbeMode,
        origin: SimTime,
        c: &Container,
    ) -> Result<Option<Self>, ProbeSpecError> {
        let probes = [&c.startup_probe, &c.liveness_probe, &c.readiness_probe];
        if probes.iter().all(|p| p.is_none()) {
            return Ok(None);
        }
        let mut specs = [None; 3];
        for (spec, probe) in specs.iter_mut().zip(probes) {
            *spec = probe.as_ref().map(ProbeSpec::from_api).transpose()?;
        }
        Ok(Some(match mode {
            ProbeMode::Analytic => {
                ProbeEngine::Analytic(Box::new(ContainerProbes::new(origin, specs[0], specs[1], specs[2])))
            }
            ProbeMode::PerPeriod => {
                ProbeEngine::Naive(Box::new(NaiveProbes::new(origin, specs[0], specs[1], specs[2])))
            }
            ProbeMode::Executed => {
                let with_actions =
                    [0, 1, 2].map(|i| specs[i].zip(probes[i].as_ref().map(|p| p.action.clone())));
                ProbeEngine::Executed(Box::new(ExecutedProbes::new(origin, with_actions)))
            }
        }))
    }
    pub(crate) fn container_started(&mut self, at: SimTime) {
        match self {
            ProbeEngine::Analytic(p) => p.container_started(at),
            ProbeEngine::Naive(p) => p.container_started(at),
            ProbeEngine::Executed(p) => p.container_started(at),
        }
    }
    /// The instance stopped at `at`. The analytic workers first apply the ticks before `at` that
    /// changed no result (they still move the run counter, which survives into the next
    /// instance upstream); the per-period workers have run them already.
    pub(crate) fn container_stopped(&mut self, at: SimTime, health: &ContainerHealth) {
        match self {
            ProbeEngine::Analytic(p) => {
                p.container_stopped(at);
                // Ticks strictly before `at`; any result change there was a wake-up already.
                let _ = p.advance_to(at, health);
            }
            ProbeEngine::Naive(p) => p.container_stopped(at),
            ProbeEngine::Executed(p) => p.container_stopped(at),
        }
    }
    /// When the kubelet must next look at this container's probes.
    pub(crate) fn wakeup(&self, health: &ContainerHealth) -> Option<SimTime> {
        match self {
            ProbeEngine::Analytic(p) => p.next_change(health).map(|t| t.at),
            ProbeEngine::Naive(p) => p.next_tick(),
            ProbeEngine::Executed(p) => p.next_tick(),
        }
    }
    /// Applies what is due at `now`: the analytic and per-period workers probe the health
    /// timeline themselves and return the result changes; the executed workers return the probes
    /// the runtime must run (their outcomes come back through [`ExecutedProbes::finish`]).
    pub(crate) fn advance(
        &mut self,
        now: SimTime,
        health: &ContainerHealth,
    ) -> (Vec<ProbeTransition>, Vec<ProbeRequest>) {
        match self {
            ProbeEngine::Analytic(p) => (p.advance_to(now, health), Vec::new()),
            ProbeEngine::Naive(p) => (p.tick(now, health), Vec::new()),
            ProbeEngine::Executed(p) => (Vec::new(), p.start_due(now)),
        }
    }
    pub(crate) fn started(&self) -> bool {
        match self {
            ProbeEngine::Analytic(p) => p.started(),
            ProbeEngine::Naive(p) => p.started(),
            ProbeEngine::Executed(p) => p.started(),
        }
    }
    pub(crate) fn ready(&self) -> bool {
        match self {
            ProbeEngine::Analytic(p) => p.ready(),
            ProbeEngine::Naive(p) => p.ready(),
            ProbeEngine::Executed(p) => p.ready(),
        }
    }
}

/// How a container instance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Termination {
    pub(crate) exit_code: i32,
    pub(crate) oom_killed: bool,
    pub(crate) at: SimTime,
    /// The instance vanished with its node (a reboot): exit 255, reason `Unknown`, as upstream
    /// reports containers whose runtime state was lost.
    pub(crate) lost: bool,
}

impl Termination {
    /// What a container that was running when its node went down shows after the reboot.
    pub(crate) fn lost_at(at: SimTime) -> Self {
        Termination { exit_code: 255, oom_killed: false, at, lost: true }
    }

    pub(crate) fn reason(&self) -> &'static str {
        if self.lost {
            "Unknown"
        } else if self.oom_killed {
            "OOMKilled"
        } else if self.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        }
    }
    fn state(&self) -> ContainerState {
        ContainerState::Terminated {
            exit_code: self.exit_code,
            reason: self.reason().to_string(),
            finished_at: self.at,
        }
    }
}

/// Where a container is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not asked for yet (waiting for the sandbox or earlier init containers).
    Idle,
    /// Image pull requested.
    Pulling,
    /// Start requested.
    Starting,
    /// Running since.
    Running(SimTime),
    /// The pull failed; retry at `retry_at`. `shown_backoff`: ImagePullBackOff is displayed.
    PullFailed { error: ImagePullError, retry_at: SimTime, shown_backoff: bool },
    /// CrashLoopBackOff until.
    CrashLoop(SimTime),
    /// Exited (see `last`), not restarting (for now or for good: see `done`).
    Exited,
}

/// One container of a pod (init containers first, then regular ones).
///
/// The two pending timers are kept as an instant and a flag each rather than `Option<SimTime>`
/// (which pads to 16 bytes): the flags share the padding of the other small fields.
#[derive(Clone, Debug)]
pub(crate) struct ContainerWorker {
    pub(crate) role: ContainerRole,
    /// Current (or next) instance number.
    pub(crate) instance: u32,
    pub(crate) restart_count: u32,
    pub(crate) phase: Phase,
    pub(crate) last: Option<Termination>,
    /// The termination before `last` (shown as `lastState` while `last` is the current state).
    pub(crate) prev: Option<Termination>,
    /// Finished for good (init completed, or no restart per policy).
    pub(crate) done: bool,
    /// A stop was requested for the running instance.
    pub(crate) stopping: bool,
    pub(crate) probes: Option<ProbeEngine>,
    /// The pending probe timer, if `probe_set` (see [`Self::probe_due`]).
    probe_at: SimTime,
    probe_set: bool,
    /// The pending action timer, if `action_set` (see [`Self::action_due`]).
    action_at: SimTime,
    action_set: bool,
    pub(crate) workload: Arc<ContainerWorkload>,
}

impl ContainerWorker {
    fn new(role: ContainerRole, probes: Option<ProbeEngine>, workload: Arc<ContainerWorkload>) -> Self {
        ContainerWorker {
            role,
            instance: 0,
            restart_count: 0,
            phase: Phase::Idle,
            last: None,
            prev: None,
            done: false,
            stopping: false,
            probes,
            probe_at: SimTime::ZERO,
            probe_set: false,
            action_at: SimTime::ZERO,
            action_set: false,
            workload,
        }
    }
    /// When the pending probe timer fires, if one is pending.
    pub(crate) fn probe_due(&self) -> Option<SimTime> {
        self.probe_set.then_some(self.probe_at)
    }
    pub(crate) fn set_probe_due(&mut self, at: Option<SimTime>) {
        self.probe_set = at.is_some();
        self.probe_at = at.unwrap_or(SimTime::ZERO);
    }
    /// Forgets the pending probe timer, returning it.
    pub(crate) fn take_probe_due(&mut self) -> Option<SimTime> {
        let due = self.probe_due();
        self.set_probe_due(None);
        due
    }
    /// When the pending action timer (restart, back-off display, pull retry) fires, if pending.
    pub(crate) fn action_due(&self) -> Option<SimTime> {
        self.action_set.then_some(self.action_at)
    }
    pub(crate) fn set_action_due(&mut self, at: Option<SimTime>) {
        self.action_set = at.is_some();
        self.action_at = at.unwrap_or(SimTime::ZERO);
    }
    pub(crate) fn running(&self) -> bool {
        matches!(self.phase, Phase::Running(_))
    }
    /// Between start request and exit (the runtime may be running it).
    pub(crate) fn active(&self) -> bool {
        matches!(self.phase, Phase::Starting | Phase::Running(_))
    }
    pub(crate) fn started(&self) -> bool {
        self.running() && self.probes.as_ref().is_none_or(|p| p.started())
    }
    pub(crate) fn ready(&self) -> bool {
        self.running() && self.probes.as_ref().is_none_or(|p| p.ready())
    }
    pub(crate) fn id(&self, pod: u32, index: u8) -> ContainerId {
        ContainerId::new(pod, index, self.instance)
    }
    /// `restartPolicy` for this container's exits.
    pub(crate) fn restarts(&self, policy: RestartPolicy, exit_code: i32) -> bool {
        match self.role {
            ContainerRole::Sidecar => true,
            ContainerRole::Init => exit_code != 0 && policy != RestartPolicy::Never,
            ContainerRole::Regular => match policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => exit_code != 0,
                RestartPolicy::Never => false,
            },
        }
    }

    fn status(&self, spec: &Container, waiting_reason: &'static str) -> ContainerStatus {
        let waiting = |r: &str| ContainerState::Waiting { reason: r.to_string() };
        // `lastState` is the previous instance's end, unless that end is still the current state.
        let mut last_state = self.last;
        let state = match self.phase {
            Phase::Idle => waiting(waiting_reason),
            Phase::Pulling | Phase::Starting => match self.last {
                Some(t) => {
                    last_state = self.prev;
                    t.state()
                }
                None => waiting("ContainerCreating"),
            },
            Phase::Running(since) => ContainerState::Running { started_at: since },
            Phase::PullFailed { error, shown_backoff, .. } => {
                if shown_backoff && error == ImagePullError::NotFound {
                    waiting("ImagePullBackOff")
                } else {
                    waiting(error.reason())
                }
            }
            Phase::CrashLoop(_) => waiting("CrashLoopBackOff"),
            Phase::Exited => {
                last_state = self.prev;
                self.last.map_or(ContainerState::Unknown, |t| t.state())
            }
        };
        ContainerStatus {
            name: spec.name.clone(),
            ready: self.ready(),
            started: self.started(),
            restart_count: i32::try_from(self.restart_count).unwrap_or(i32::MAX),
            state,
            last_state: last_state.map_or(ContainerState::Unknown, |t| t.state()),
        }
    }
}

/// A condition's status and when it last changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cond {
    pub(crate) on: bool,
    pub(crate) since: SimTime,
}

/// Which pod condition the kubelet keeps. Ready is always ContainersReady (upstream adds
/// readiness gates, not modelled), so one entry serves both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CondKind {
    Initialized = 0,
    ContainersReady = 1,
}

/// The containers of a pod: nearly every pod has one, kept inline; more go to one exact-size
/// allocation (the list never grows after admission).
#[derive(Clone, Debug)]
pub(crate) enum Containers {
    One(ContainerWorker),
    Many(Box<[ContainerWorker]>),
}

impl Containers {
    fn from_vec(mut all: Vec<ContainerWorker>) -> Self {
        if all.len() == 1 {
            if let Some(only) = all.pop() {
                return Containers::One(only);
            }
        }
        Containers::Many(all.into_boxed_slice())
    }
}

impl std::ops::Deref for Containers {
    type Target = [ContainerWorker];
    fn deref(&self) -> &[ContainerWorker] {
        match self {
            Containers::One(c) => std::slice::from_ref(c),
            Containers::Many(all) => all,
        }
    }
}

impl std::ops::DerefMut for Containers {
    fn deref_mut(&mut self) -> &mut [ContainerWorker] {
        match self {
            Containers::One(c) => std::slice::from_mut(c),
            Containers::Many(all) => all,
        }
    }
}

/// Why a pod is being torn down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Teardown {
    /// Running normally.
    None,
    /// All regular containers finished for good: stop sidecars, then remove the sandbox.
    Completed,
    /// Evicted by the kubelet.
    Evicted,
    /// Deletion requested: stop everything, then confirm removal.
    Deleted,
}

/// One admitted pod. Kept small: it holds no copy of what the pod object has (requests are
/// recomputed from the spec when needed).
#[derive(Clone, Debug)]
pub(crate) struct PodWorker {
    /// The kubelet's local pod number (timer tokens, container and sandbox ids).
    pub(crate) id: u32,
    pub(crate) pod: Arc<Pod>,
    pub(crate) admitted_at: SimTime,
    pub(crate) sandbox_ready: bool,
    pub(crate) sandbox_removed: bool,
    pub(crate) n_init: u8,
    /// First init container not yet finished (sidecars: not yet started).
    pub(crate) next_init: u8,
    pub(crate) containers: Containers,
    /// Initialized and ContainersReady (= Ready): whether on, by [`CondKind`] …
    cond_on: [bool; 2],
    /// … and since when (apart from the flags, which would pad each to 16 bytes).
    cond_since: [SimTime; 2],
    pub(crate) teardown: Teardown,
    /// Terminal phase, once decided (set through [`super::table::PodTable::set_terminal`], which
    /// keeps the active pods' request sum).
    terminal: Option<PodPhase>,
    pub(crate) dirty: bool,
    /// In the kubelet's list of pods to write (see `Kubelet::mark`).
    pub(crate) queued: bool,
}

impl PodWorker {
    pub(crate) fn new(
        id: u32,
        pod: Arc<Pod>,
        workload: Option<Arc<PodWorkload>>,
        now: SimTime,
        mode: ProbeMode,
    ) -> Result<Self, ProbeSpecError> {
        let spec = &pod.spec;
        let n_init = spec.init_containers.len().min(255 / 2) as u8;
        let mut containers = Vec::with_capacity(spec.init_containers.len() + spec.containers.len());
        let all = spec
            .init_containers
            .iter()
            .take(n_init as usize)
            .map(|c| (c, true))
            .chain(spec.containers.iter().take(255 - n_init as usize).map(|c| (c, false)));
        for (i, (c, is_init)) in all.enumerate() {
            let role = match (is_init, c.is_sidecar()) {
                (true, true) => ContainerRole::Sidecar,
                (true, false) => ContainerRole::Init,
                (false, _) => ContainerRole::Regular,
            };
            let probes =
                if role == ContainerRole::Init { None } else { ProbeEngine::for_container(mode, now, c)? };
            let workload = match &workload {
                Some(w) => w.container(i, is_init),
                None => PodWorkload::default_for(is_init),
            };
            containers.push(ContainerWorker::new(role, probes, workload));
        }
        Ok(PodWorker {
            id,
            pod,
            admitted_at: now,
            sandbox_ready: false,
            sandbox_removed: false,
            n_init,
            next_init: 0,
            containers: Containers::from_vec(containers),
            cond_on: [n_init == 0, false],
            cond_since: [now, now],
            teardown: Teardown::None,
            terminal: None,
            dirty: true,
            queued: false,
        })
    }

    /// The terminal phase, once decided.
    pub(crate) fn terminal(&self) -> Option<PodPhase> {
        self.terminal
    }

    /// Sets the terminal phase; only [`super::table::PodTable::set_terminal`] calls it.
    pub(super) fn make_terminal(&mut self, phase: PodPhase) {
        self.terminal = Some(phase);
    }

    /// Effective pod requests (admission accounting, eviction ranking), from the spec.
    pub(crate) fn requests(&self) -> ResourceList {
        effective_pod_resources(&self.pod.spec, |c| &c.resources.requests)
    }

    pub(crate) fn cond(&self, kind: CondKind) -> Cond {
        Cond { on: self.cond_on[kind as usize], since: self.cond_since[kind as usize] }
    }

    /// The Ready condition is on.
    pub(crate) fn ready(&self) -> bool {
        self.cond(CondKind::ContainersReady).on
    }

    pub(crate) fn spec_of(&self, index: usize) -> &Container {
        let n = self.n_init as usize;
        if index < n {
            &self.pod.spec.init_containers[index]
        } else {
            &self.pod.spec.containers[index - n]
        }
    }

    pub(crate) fn regular(&self) -> &[ContainerWorker] {
        &self.containers[self.n_init as usize..]
    }

    pub(crate) fn initialized(&self) -> bool {
        self.next_init >= self.n_init
    }

    /// Upstream `getPhase` (simplified, see the crate's fidelity notes).
    pub(crate) fn phase(&self) -> PodPhase {
        if let Some(p) = self.terminal {
            return p;
        }
        if !self.initialized() {
            return PodPhase::Pending;
        }
        let (mut waiting, mut running, mut stopped) = (0, 0, 0);
        for c in self.regular() {
            match c.phase {
                Phase::Running(_) => running += 1,
                _ if c.last.is_some() => stopped += 1,
                _ => waiting += 1,
            }
        }
        if waiting > 0 {
            PodPhase::Pending
        } else if running > 0 || stopped > 0 {
            PodPhase::Running
        } else {
            PodPhase::Pending
        }
    }

    /// The terminal phase when every regular container is done: Succeeded iff all exited 0.
    pub(crate) fn completed_phase(&self) -> PodPhase {
        if self.regular().iter().all(|c| c.last.is_some_and(|t| t.exit_code == 0)) {
            PodPhase::Succeeded
        } else {
            PodPhase::Failed
        }
    }

    /// Recomputes the conditions; marks dirty on any change.
    pub(crate) fn update_conditions(&mut self, now: SimTime) {
        let initialized = self.initialized();
        let containers_ready = initialized
            && self.terminal.is_none()
            && self.containers.iter().filter(|c| c.role != ContainerRole::Init).all(ContainerWorker::ready);
        for (i, on) in [initialized, containers_ready].into_iter().enumerate() {
            if self.cond_on[i] != on {
                self.cond_on[i] = on;
                self.cond_since[i] = now;
                self.dirty = true;
            }
        }
    }

    pub(crate) fn status(&self, reason: Option<&'static str>) -> PodStatus {
        let cond = |kind, c: Cond| PodCondition {
            kind,
            status: if c.on { ConditionStatus::True } else { ConditionStatus::False },
            last_transition_time: Some(c.since),
            reason: None,
        };
        let scheduled_at = self
            .pod
            .condition(PodConditionType::PodScheduled)
            .and_then(|c| c.last_transition_time)
            .unwrap_or(self.admitted_at);
        let n = self.n_init as usize;
        let regular_waiting = if self.initialized() { "ContainerCreating" } else { "PodInitializing" };
        PodStatus {
            phase: self.phase(),
            conditions: vec![
                cond(PodConditionType::PodScheduled, Cond { on: true, since: scheduled_at }),
                cond(PodConditionType::Initialized, self.cond(CondKind::Initialized)),
                cond(PodConditionType::ContainersReady, self.cond(CondKind::ContainersReady)),
                cond(PodConditionType::Ready, self.cond(CondKind::ContainersReady)),
            ],
            start_time: Some(self.admitted_at),
            nominated_node_name: self.pod.status.nominated_node_name.clone(),
            container_statuses: (n..self.containers.len())
                .map(|i| self.containers[i].status(self.spec_of(i), regular_waiting))
                .collect(),
            init_container_statuses: (0..n)
                .map(|i| self.containers[i].status(self.spec_of(i), "PodInitializing"))
                .collect(),
            reason: reason.map(str::to_string),
        }
    }
}

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    use super::*;

    // What a running pod costs the kubelet is mostly these (15,000 pods at the 15k scale point):
    // the worker lives inline in the pod table, its one container inline in the worker, and the
    // analytic probe state in one allocation of its own size. The bounds are today's sizes on
    // 64-bit targets; growing them is a memory regression to decide on, not an accident.
    #[test]
    fn a_one_container_pod_worker_fits_in_152_bytes_with_its_container_inline() {
        assert!(size_of::<ContainerWorker>() <= 104, "{}", size_of::<ContainerWorker>());
        assert!(size_of::<Containers>() <= size_of::<ContainerWorker>(), "the one container is inline");
        assert!(size_of::<PodWorker>() <= 152, "{}", size_of::<PodWorker>());
    }

    #[test]
    fn a_probe_engine_is_a_pointer_and_the_analytic_state_is_boxed_at_its_own_size() {
        assert_eq!(size_of::<Option<ProbeEngine>>(), 16);
        assert!(size_of::<ContainerProbes>() <= 184, "{}", size_of::<ContainerProbes>());
    }

    #[test]
    fn pending_timers_read_back_as_set_including_the_zero_instant() {
        let workload = PodWorkload::default_for(false);
        let mut c = ContainerWorker::new(ContainerRole::Regular, None, workload);
        assert_eq!((c.probe_due(), c.action_due()), (None, None));
        c.set_probe_due(Some(SimTime::ZERO));
        c.set_action_due(Some(SimTime::MAX));
        assert_eq!((c.probe_due(), c.action_due()), (Some(SimTime::ZERO), Some(SimTime::MAX)));
        assert_eq!(c.take_probe_due(), Some(SimTime::ZERO));
        assert_eq!(c.probe_due(), None);
        c.set_action_due(None);
        assert_eq!(c.action_due(), None);
    }

    #[test]
    fn containers_deref_to_all_of_them_in_order_whether_one_or_many() {
        let mk = |instance| {
            let mut c = ContainerWorker::new(ContainerRole::Regular, None, PodWorkload::default_for(false));
            c.instance = instance;
            c
        };
        let one = Containers::from_vec(vec![mk(7)]);
        assert!(matches!(one, Containers::One(_)));
        assert_eq!(one.iter().map(|c| c.instance).collect::<Vec<_>>(), [7]);
        let mut many = Containers::from_vec(vec![mk(1), mk(2), mk(3)]);
        many[1].instance = 5;
        assert_eq!(many.iter().map(|c| c.instance).collect::<Vec<_>>(), [1, 5, 3]);
        assert!(Containers::from_vec(Vec::new()).is_empty());
    }
}
