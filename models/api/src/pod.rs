//! Pods and containers.

use std::fmt;
use std::sync::OnceLock;

use sim_core::{SimDuration, SimTime};

use crate::meta::{Labels, ObjectMeta};
use crate::resources::{ResourceList, ResourceRequirements};
use crate::scheduling::{Affinity, ContainerPort, Toleration, TopologySpreadConstraint};
use crate::shared::Shared;

/// A pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pod {
    /// Metadata.
    pub meta: ObjectMeta,
    /// Desired state, shared by the versions of the pod that only differ in status or metadata
    /// (copied on the first write to a shared one, e.g. binding).
    pub spec: Shared<PodSpec>,
    /// Observed state.
    pub status: PodStatus,
}

/// `imagePullPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull every time a container starts.
    Always,
    /// Pull only when the image is not cached (default unless the tag is `latest`).
    #[default]
    IfNotPresent,
    /// Never pull; a missing image is an error.
    Never,
}

/// Pod `restartPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Restart on every exit (default).
    #[default]
    Always,
    /// Restart on non-zero exit.
    OnFailure,
    /// Never restart.
    Never,
}

/// What a probe does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    /// `httpGet`: success on a 2xx/3xx answer.
    HttpGet {
        /// Request path.
        path: String,
        /// Port number (named ports are resolved by the loader).
        port: i32,
    },
    /// `tcpSocket`: success when the connection opens.
    TcpSocket {
        /// Port number.
        port: i32,
    },
    /// `exec`: success on exit code 0.
    Exec {
        /// Command and arguments.
        command: Vec<String>,
    },
    /// `grpc`: the standard gRPC health check.
    Grpc {
        /// Port number.
        port: i32,
        /// Service name.
        service: Option<String>,
    },
}

/// A liveness, readiness or startup probe, with upstream defaults applied by the loader
/// (period 10 s, timeout 1 s, success threshold 1, failure threshold 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The check.
    pub action: ProbeAction,
    /// `initialDelaySeconds` (default 0).
    pub initial_delay_seconds: i32,
    /// `periodSeconds` (default 10).
    pub period_seconds: i32,
    /// `timeoutSeconds` (default 1).
    pub timeout_seconds: i32,
    /// `successThreshold` (default 1; must be 1 for liveness and startup).
    pub success_threshold: i32,
    /// `failureThreshold` (default 3).
    pub failure_threshold: i32,
    /// Probe-level `terminationGracePeriodSeconds`, overriding the pod's for liveness kills.
    pub termination_grace_period_seconds: Option<i64>,
}

impl Probe {
    /// A probe with upstream defaults.
    pub fn with_defaults(action: ProbeAction) -> Self {
        Probe {
            action,
            initial_delay_seconds: 0,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            termination_grace_period_seconds: None,
        }
    }
}

/// A container (regular or init).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Image reference (`web:v1`).
    pub image: String,
    /// Pull policy (defaulted by the loader from the tag, as upstream).
    pub image_pull_policy: PullPolicy,
    /// Requests and limits.
    pub resources: ResourceRequirements,
    /// Ports (host ports matter to the scheduler).
    pub ports: Vec<ContainerPort>,
    /// Liveness probe.
    pub liveness_probe: Option<Probe>,
    /// Readiness probe.
    pub readiness_probe: Option<Probe>,
    /// Startup probe.
    pub startup_probe: Option<Probe>,
    /// Container-level `restartPolicy`: `Some(Always)` on an init container makes it a sidecar.
    pub restart_policy: Option<RestartPolicy>,
}

impl Container {
    /// True for a restartable init container (a sidecar).
    pub fn is_sidecar(&self) -> bool {
        self.restart_policy == Some(RestartPolicy::Always)
    }
}

/// `preemptionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PreemptionPolicy {
    /// May preempt lower-priority pods (default).
    #[default]
    PreemptLowerPriority,
    /// Never preempts.
    Never,
}

/// `spec` of a pod: what each pod holds itself (the fields set per pod: `nodeName` at binding,
/// `priority` at admission, default tolerations) plus one shared pointer to the rest
/// ([`PodSpecExtras`]).
///
/// Binding writes `nodeName`, which copies the spec of a pod stamped from a template; keeping the
/// large, rarely set fields (affinity, topology spread, pod-level resources, overhead, …) behind
/// [`PodSpec::extras`] makes that copy 80 bytes instead of 592 (x86_64), and the pods of one template
/// keep sharing one copy of the extras.
///
/// `Debug` prints the fields as one flat struct in the upstream order, exactly as when they were
/// all declared here, so debug-based hashes (`template_hash`) and digests do not change.
#[derive(Clone, PartialEq, Eq)]
pub struct PodSpec {
    /// Regular containers.
    pub containers: Shared<Vec<Container>>,
    /// Init containers, in order (sidecars among them).
    pub init_containers: Shared<Vec<Container>>,
    /// Resolved priority (from the PriorityClass at admission); `None` counts as 0.
    pub priority: Option<i32>,
    /// `preemptionPolicy`.
    pub preemption_policy: PreemptionPolicy,
    /// `nodeName`: set once bound.
    pub node_name: Option<String>,
    /// `tolerations`.
    pub tolerations: Shared<Vec<Toleration>>,
    /// `restartPolicy`.
    pub restart_policy: RestartPolicy,
    /// `terminationGracePeriodSeconds` (default 30 s).
    pub termination_grace_period: SimDuration,
    /// `hostNetwork`.
    pub host_network: bool,
    /// The fields most pods leave at their defaults and nothing changes after creation, shared
    /// (copy-on-write) by the pods stamped from one template.
    pub extras: Shared<PodSpecExtras>,
}

/// The rarely set, never rewritten part of a [`PodSpec`], held once per template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSpecExtras {
    /// `overhead` (RuntimeClass overhead), added to the pod's requests.
    pub overhead: ResourceList,
    /// Pod-level `resources` (feature PodLevelResources).
    pub resources: Option<ResourceRequirements>,
    /// `priorityClassName`.
    pub priority_class_name: Option<String>,
    /// `nodeSelector`.
    pub node_selector: Labels,
    /// `affinity`.
    pub affinity: Affinity,
    /// `topologySpreadConstraints`.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// `schedulerName` (default `default-scheduler`).
    pub scheduler_name: String,
    /// `schedulingGates` names; a gated pod waits.
    pub scheduling_gates: Vec<String>,
    /// `activeDeadlineSeconds`.
    pub active_deadline_seconds: Option<i64>,
}

impl Default for PodSpecExtras {
    fn default() -> Self {
        PodSpecExtras {
            overhead: ResourceList::new(),
            resources: None,
            priority_class_name: None,
            node_selector: Labels::new(),
            affinity: Affinity::default(),
            topology_spread_constraints: Vec::new(),
            scheduler_name: DEFAULT_SCHEDULER_NAME.to_string(),
            scheduling_gates: Vec::new(),
            active_deadline_seconds: None,
        }
    }
}

impl Default for PodSpec {
    fn default() -> Self {
        // Specs built from defaults share one allocation of the default extras.
        static DEFAULT_EXTRAS: OnceLock<Shared<PodSpecExtras>> = OnceLock::new();
        PodSpec {
            containers: Shared::default(),
            init_containers: Shared::default(),
            priority: None,
            preemption_policy: PreemptionPolicy::default(),
            node_name: None,
            tolerations: Shared::default(),
            restart_policy: RestartPolicy::Always,
            termination_grace_period: SimDuration::from_secs(30),
            host_network: false,
            extras: DEFAULT_EXTRAS.get_or_init(Shared::default).clone(),
        }
    }
}

/// The order and names of the fields as upstream's `PodSpec` (and as this struct declared them
/// before the extras moved out), so the rendering is unchanged.
impl fmt::Debug for PodSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = &*self.extras;
        f.debug_struct("PodSpec")
            .field("containers", &self.containers)
            .field("init_containers", &self.init_containers)
            .field("overhead", &x.overhead)
            .field("resources", &x.resources)
            .field("priority", &self.priority)
            .field("priority_class_name", &x.priority_class_name)
            .field("preemption_policy", &self.preemption_policy)
            .field("node_name", &self.node_name)
            .field("node_selector", &x.node_selector)
            .field("affinity", &x.affinity)
            .field("tolerations", &self.tolerations)
            .field("topology_spread_constraints", &x.topology_spread_constraints)
            .field("scheduler_name", &x.scheduler_name)
            .field("scheduling_gates", &x.scheduling_gates)
            .field("restart_policy", &self.restart_policy)
            .field("termination_grace_period", &self.termination_grace_period)
            .field("active_deadline_seconds", &x.active_deadline_seconds)
            .field("host_network", &self.host_network)
            .finish()
    }
}

/// The default `schedulerName`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum PodPhase {
    /// Accepted, not all containers running yet (includes unscheduled).
    #[default]
    Pending,
    /// Bound and at least one container running.
    Running,
    /// All containers terminated successfully and will not restart.
    Succeeded,
    /// All containers terminated, at least one in failure.
    Failed,
    /// State could not be obtained.
    Unknown,
}

/// A pod condition type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodConditionType {
    /// `PodScheduled`.
    PodScheduled,
    /// `Initialized`.
    Initialized,
    /// `ContainersReady`.
    ContainersReady,
    /// `Ready`.
    Ready,
    /// `DisruptionTarget`.
    DisruptionTarget,
}

/// A condition's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    /// True.
    True,
    /// False.
    False,
    /// Unknown.
    Unknown,
}

/// `status.conditions[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodCondition {
    /// Which condition.
    pub kind: PodConditionType,
    /// Its status.
    pub status: ConditionStatus,
    /// When it last changed.
    pub last_transition_time: Option<SimTime>,
    /// Machine-readable reason.
    pub reason: Option<String>,
}

/// State of one container.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ContainerState {
    /// Not running yet or backing off; `reason` as upstream (`ContainerCreating`,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`, …).
    Waiting {
        /// Reason.
        reason: String,
    },
    /// Running since `started_at`.
    Running {
        /// Start time.
        started_at: SimTime,
    },
    /// Exited.
    Terminated {
        /// Exit code (137 SIGKILL/OOM, 143 SIGTERM).
        exit_code: i32,
        /// `Completed`, `Error`, `OOMKilled`, …
        reason: String,
        /// Exit time.
        finished_at: SimTime,
    },
    /// No state reported yet.
    #[default]
    Unknown,
}

/// `status.containerStatuses[]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// Readiness.
    pub ready: bool,
    /// Started (startup probe passed, or none).
    pub started: bool,
    /// Restarts so far.
    pub restart_count: i32,
    /// Current state.
    pub state: ContainerState,
    /// `lastState`: how the previous instance ended (`Terminated`, e.g. reason `OOMKilled`), or
    /// [`ContainerState::Unknown`] (upstream: an empty state) if it never restarted.
    pub last_state: ContainerState,
}

/// `status` of a pod.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PodStatus {
    /// Phase.
    pub phase: PodPhase,
    /// Conditions.
    pub conditions: Vec<PodCondition>,
    /// When the kubelet accepted the pod.
    pub start_time: Option<SimTime>,
    /// Node the scheduler nominated after preempting for this pod.
    pub nominated_node_name: Option<String>,
    /// Per container.
    pub container_statuses: Vec<ContainerStatus>,
    /// Per init container.
    pub init_container_statuses: Vec<ContainerStatus>,
    /// `reason` (`Evicted`, `DeadlineExceeded`, …).
    pub reason: Option<String>,
}

impl Pod {
    /// `spec.priority`, 0 when unset (upstream `corev1helpers.PodPriority`).
    pub fn priority(&self) -> i32 {
        self.spec.priority.unwrap_or(0)
    }

    /// The `Ready` condition, if reported.
    pub fn condition(&self, kind: PodConditionType) -> Option<&PodCondition> {
        self.status.conditions.iter().find(|c| c.kind == kind)
    }

    /// True if the `Ready` condition is True.
    pub fn is_ready(&self) -> bool {
        self.condition(PodConditionType::Ready).is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// True when bound to a node.
    pub fn is_bound(&self) -> bool {
        self.spec.node_name.is_some()
    }

    /// Not Succeeded/Failed and not terminating (upstream `FilterActivePods`).
    pub fn is_active(&self) -> bool {
        !matches!(self.status.phase, PodPhase::Succeeded | PodPhase::Failed) && !self.meta.is_terminating()
    }
}
