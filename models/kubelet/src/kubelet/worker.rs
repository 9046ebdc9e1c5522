//! Per-pod and per-container kubelet state, kept compact (no copy of the pod, no strings), and the
//! status it reports.

use std::sync::Arc;

use kubesim_api::{
    ConditionStatus, Container, ContainerState, ContainerStatus, Pod, PodCondition, PodConditionType,
    PodPhase, PodStatus, ResourceList, RestartPolicy,
};
use kubesim_workload::{ContainerHealth, ContainerWorkload, PodWorkload};
use sim_core::SimTime;

use crate::probes::{
    ContainerProbes, ExecutedProbes, NaiveProbes, ProbeRequest, ProbeSpec, ProbeSpecError, ProbeTransition,
};
use crate::runtime::{ContainerId, ContainerRole, ImagePullError};

use super::types::ProbeMode;

/// Probes of one container, in any mode.
#[derive(Clone, Debug)]
pub(crate) enum ProbeEngine {
    Analytic(ContainerProbes),
    Naive(NaiveProbes),
    Executed(ExecutedProbes),
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
                ProbeEngine::Analytic(ContainerProbes::new(origin, specs[0], specs[1], specs[2]))
            }
            ProbeMode::PerPeriod => {
                ProbeEngine::Naive(NaiveProbes::new(origin, specs[0], specs[1], specs[2]))
            }
            ProbeMode::Executed => {
                let with_actions =
                    [0, 1, 2].map(|i| specs[i].zip(probes[i].as_ref().map(|p| p.action.clone())));
                ProbeEngine::Executed(ExecutedProbes::new(origin, with_actions))
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
    pub(crate) probes: Option<Box<ProbeEngine>>,
    pub(crate) probe_due: Option<SimTime>,
    pub(crate) action_due: Option<SimTime>,
    pub(crate) workload: Arc<ContainerWorkload>,
}

impl ContainerWorker {
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

/// One admitted pod.
#[derive(Clone, Debug)]
pub(crate) struct PodWorker {
    pub(crate) pod: Arc<Pod>,
    pub(crate) admitted_at: SimTime,
    pub(crate) sandbox_ready: bool,
    pub(crate) sandbox_removed: bool,
    pub(crate) n_init: u8,
    /// First init container not yet finished (sidecars: not yet started).
    pub(crate) next_init: u8,
    pub(crate) containers: Vec<ContainerWorker>,
    /// Initialized, ContainersReady, Ready.
    pub(crate) conds: [Cond; 3],
    pub(crate) teardown: Teardown,
    /// Terminal phase, once decided.
    pub(crate) terminal: Option<PodPhase>,
    pub(crate) dirty: bool,
    /// Effective pod requests (admission accounting, eviction ranking).
    pub(crate) requests: ResourceList,
}

impl PodWorker {
    pub(crate) fn new(
        pod: Arc<Pod>,
        workload: Option<Arc<PodWorkload>>,
        now: SimTime,
        mode: ProbeMode,
        requests: ResourceList,
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
            let probes = if role == ContainerRole::Init {
                None
            } else {
                ProbeEngine::for_container(mode, now, c)?.map(Box::new)
            };
            let workload = match &workload {
                Some(w) => w.container(i, is_init),
                None => PodWorkload::default_for(is_init),
            };
            containers.push(ContainerWorker {
                role,
                instance: 0,
                restart_count: 0,
                phase: Phase::Idle,
                last: None,
                prev: None,
                done: false,
                stopping: false,
                probes,
                probe_due: None,
                action_due: None,
                workload,
            });
        }
        let off = Cond { on: false, since: now };
        Ok(PodWorker {
            pod,
            admitted_at: now,
            sandbox_ready: false,
            sandbox_removed: false,
            n_init,
            next_init: 0,
            containers,
            conds: [Cond { on: n_init == 0, since: now }, off, off],
            teardown: Teardown::None,
            terminal: None,
            dirty: true,
            requests,
        })
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
        for (i, on) in [initialized, containers_ready, containers_ready].into_iter().enumerate() {
            if self.conds[i].on != on {
                self.conds[i] = Cond { on, since: now };
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
                cond(PodConditionType::Initialized, self.conds[0]),
                cond(PodConditionType::ContainersReady, self.conds[1]),
                cond(PodConditionType::Ready, self.conds[2]),
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
