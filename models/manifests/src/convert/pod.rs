//! Pods: spec (containers, probes, constraints) with upstream defaulting, and status.

use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubesim_api::pod::DEFAULT_SCHEDULER_NAME;
use kubesim_api::{
    Affinity, ConditionStatus, Container, ContainerPort, ContainerState, ContainerStatus, NodeAffinity,
    NodeInclusionPolicy, Pod, PodAffinity, PodAffinityTerm, PodCondition, PodConditionType, PodPhase,
    PodSpec, PodSpecExtras, PodStatus, PreemptionPolicy, PreferredSchedulingTerm, Probe, ProbeAction,
    Protocol, PullPolicy, ResourceRequirements, RestartPolicy, TaintEffect, Toleration, TolerationOperator,
    TopologySpreadConstraint, UnsatisfiableConstraintAction, WeightedPodAffinityTerm,
};
use sim_core::SimDuration;

use super::common::{meta, node_selector, node_selector_term, opt_label_selector, opt_time, resource_list};
use crate::error::{FieldError, FieldResult};

/// Converts a `v1/Pod`.
pub(crate) fn pod(p: &corev1::Pod) -> FieldResult<Pod> {
    let meta = meta(&p.metadata, "Pod", true)?;
    let spec = match &p.spec {
        Some(s) => pod_spec(s, "spec")?,
        None => return Err(FieldError::new("spec", "required")),
    };
    let status = match &p.status {
        Some(s) => pod_status(s)?,
        None => PodStatus::default(),
    };
    Ok(Pod { meta, spec: spec.into(), status })
}

/// Converts a pod spec (of a Pod or a workload template) with upstream defaulting applied.
pub(crate) fn pod_spec(s: &corev1::PodSpec, field: &str) -> FieldResult<PodSpec> {
    let host_network = s.host_network.unwrap_or(false);
    if s.containers.is_empty() {
        return Err(FieldError::new(
            format!("{field}.containers"),
            "required: a pod needs at least one container",
        ));
    }
    let containers = s
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container(c, &format!("{field}.containers[{i}]"), host_network))
        .collect::<FieldResult<Vec<_>>>()?;
    let init_containers = s
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| container(c, &format!("{field}.initContainers[{i}]"), host_network))
        .collect::<FieldResult<Vec<_>>>()?;
    let termination_grace_seconds = s.termination_grace_period_seconds.unwrap_or(30);
    if termination_grace_seconds < 0 {
        return Err(FieldError::new(
            format!("{field}.terminationGracePeriodSeconds"),
            format!("invalid value {termination_grace_seconds}: must be greater than or equal to 0"),
        ));
    }
    // Fallible fields are converted in upstream field order, so the first error reported is the same.
    let overhead = resource_list(s.overhead.as_ref(), &format!("{field}.overhead"))?;
    let resources =
        s.resources.as_ref().map(|r| requirements(r, &format!("{field}.resources"))).transpose()?;
    let preemption_policy =
        preemption_policy(s.preemption_policy.as_deref(), &format!("{field}.preemptionPolicy"))?;
    let affinity = s
        .affinity
        .as_ref()
        .map(|a| affinity(a, &format!("{field}.affinity")))
        .transpose()?
        .unwrap_or_default();
    let tolerations = s
        .tolerations
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| toleration(t, &format!("{field}.tolerations[{i}]")))
        .collect::<FieldResult<_>>()?;
    let topology_spread_constraints = s
        .topology_spread_constraints
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| spread_constraint(t, &format!("{field}.topologySpreadConstraints[{i}]")))
        .collect::<FieldResult<_>>()?;
    let restart_policy = restart_policy(s.restart_policy.as_deref(), &format!("{field}.restartPolicy"))?
        .unwrap_or(RestartPolicy::Always);
    let extras = PodSpecExtras {
        overhead,
        resources,
        priority_class_name: s.priority_class_name.clone().filter(|n| !n.is_empty()),
        node_selector: s.node_selector.clone().unwrap_or_default(),
        affinity,
        topology_spread_constraints,
        scheduler_name: s
            .scheduler_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.to_string()),
        scheduling_gates: s.scheduling_gates.iter().flatten().map(|g| g.name.clone()).collect(),
        active_deadline_seconds: s.active_deadline_seconds,
    };
    Ok(PodSpec {
        containers: containers.into(),
        init_containers: init_containers.into(),
        priority: s.priority,
        preemption_policy,
        node_name: s.node_name.clone().filter(|n| !n.is_empty()),
        tolerations,
        restart_policy,
        termination_grace_period: SimDuration::from_secs(termination_grace_seconds as u64),
        host_network,
        extras: extras.into(),
    })
}

pub(crate) fn preemption_policy(v: Option<&str>, field: &str) -> FieldResult<PreemptionPolicy> {
    match v {
        None | Some("") | Some("PreemptLowerPriority") => Ok(PreemptionPolicy::PreemptLowerPriority),
        Some("Never") => Ok(PreemptionPolicy::Never),
        Some(other) => Err(FieldError::new(
            field,
            format!("unsupported value {other:?}: expected PreemptLowerPriority or Never"),
        )),
    }
}

fn restart_policy(v: Option<&str>, field: &str) -> FieldResult<Option<RestartPolicy>> {
    match v {
        None | Some("") => Ok(None),
        Some("Always") => Ok(Some(RestartPolicy::Always)),
        Some("OnFailure") => Ok(Some(RestartPolicy::OnFailure)),
        Some("Never") => Ok(Some(RestartPolicy::Never)),
        Some(other) => Err(FieldError::new(
            field,
            format!("unsupported value {other:?}: expected Always, OnFailure or Never"),
        )),
    }
}

/// Requests and limits; an absent request takes the limit's value (upstream defaulting).
fn requirements(r: &corev1::ResourceRequirements, field: &str) -> FieldResult<ResourceRequirements> {
    let limits = resource_list(r.limits.as_ref(), &format!("{field}.limits"))?;
    let mut requests = resource_list(r.requests.as_ref(), &format!("{field}.requests"))?;
    for (name, amount) in limits.iter() {
        if !requests.contains(name) {
            requests.set(name.clone(), amount);
        }
    }
    Ok(ResourceRequirements { requests, limits })
}

/// Upstream `SetDefaults_Container`: `Always` for `:latest` or an untagged, undigested image,
/// else `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> PullPolicy {
    let (name, has_digest) = match image.split_once('@') {
        Some((name, _)) => (name, true),
        None => (image, false),
    };
    let last_component = name.rsplit('/').next().unwrap_or(name);
    let tag = last_component.split_once(':').map(|(_, tag)| tag);
    match tag {
        Some("latest") => PullPolicy::Always,
        None if !has_digest => PullPolicy::Always,
        _ => PullPolicy::IfNotPresent,
    }
}

fn pull_policy(v: Option<&str>, image: &str, field: &str) -> FieldResult<PullPolicy> {
    match v {
        None | Some("") => Ok(default_pull_policy(image)),
        Some("Always") => Ok(PullPolicy::Always),
        Some("IfNotPresent") => Ok(PullPolicy::IfNotPresent),
        Some("Never") => Ok(PullPolicy::Never),
        Some(other) => Err(FieldError::new(
            field,
            format!("unsupported value {other:?}: expected Always, IfNotPresent or Never"),
        )),
    }
}

pub(crate) fn protocol(v: Option<&str>, field: &str) -> FieldResult<Protocol> {
    match v {
        None | Some("") | Some("TCP") => Ok(Protocol::Tcp),
        Some("UDP") => Ok(Protocol::Udp),
        Some("SCTP") => Ok(Protocol::Sctp),
        Some(other) => {
            Err(FieldError::new(field, format!("unsupported value {other:?}: expected TCP, UDP or SCTP")))
        }
    }
}

fn port_number(v: i32, field: &str) -> FieldResult<i32> {
    if (1..=65535).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(field, format!("invalid value {v}: must be between 1 and 65535, inclusive")))
    }
}

fn container(c: &corev1::Container, field: &str, host_network: bool) -> FieldResult<Container> {
    let image = c.image.clone().unwrap_or_default();
    let mut ports = Vec::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let path = format!("{field}.ports[{i}]");
        let container_port = port_number(p.container_port, &format!("{path}.containerPort"))?;
        let mut host_port = p.host_port.unwrap_or(0);
        if host_port != 0 {
            port_number(host_port, &format!("{path}.hostPort"))?;
        } else if host_network {
            // Upstream SetDefaults_Pod: with hostNetwork the host port is the container port.
            host_port = container_port;
        }
        ports.push(ContainerPort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            container_port,
            host_port,
            host_ip: p.host_ip.clone().unwrap_or_default(),
            protocol: protocol(p.protocol.as_deref(), &format!("{path}.protocol"))?,
        });
    }
    let probe = |p: &Option<corev1::Probe>, name: &str| -> FieldResult<Option<Probe>> {
        p.as_ref().map(|p| probe(p, &format!("{field}.{name}"), &ports)).transpose()
    };
    Ok(Container {
        name: c.name.clone(),
        image_pull_policy: pull_policy(
            c.image_pull_policy.as_deref(),
            &image,
            &format!("{field}.imagePullPolicy"),
        )?,
        image,
        resources: match &c.resources {
            Some(r) => requirements(r, &format!("{field}.resources"))?,
            None => ResourceRequirements::default(),
        },
        liveness_probe: probe(&c.liveness_probe, "livenessProbe")?,
        readiness_probe: probe(&c.readiness_probe, "readinessProbe")?,
        startup_probe: probe(&c.startup_probe, "startupProbe")?,
        restart_policy: restart_policy(c.restart_policy.as_deref(), &format!("{field}.restartPolicy"))?,
        ports,
    })
}

/// Kubelet `extractPort`: a number, or a named container port, or a number written as a string.
fn probe_port(port: &IntOrString, ports: &[ContainerPort], field: &str) -> FieldResult<i32> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match ports.iter().find(|p| p.name.as_deref() == Some(name.as_str())) {
            Some(p) => p.container_port,
            None => name
                .parse::<i32>()
                .map_err(|_| FieldError::new(field, format!("no container port named {name:?}")))?,
        },
    };
    port_number(number, field)
}

fn positive_or_default(v: Option<i32>, default: i32, field: &str) -> FieldResult<i32> {
    match v {
        None | Some(0) => Ok(default),
        Some(n) if n > 0 => Ok(n),
        Some(n) => {
            Err(FieldError::new(field, format!("invalid value {n}: must be greater than or equal to 1")))
        }
    }
}

fn probe(p: &corev1::Probe, field: &str, ports: &[ContainerPort]) -> FieldResult<Probe> {
    let mut actions = Vec::new();
    if let Some(h) = &p.http_get {
        let path = h.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_string());
        actions.push(ProbeAction::HttpGet {
            path,
            port: probe_port(&h.port, ports, &format!("{field}.httpGet.port"))?,
        });
    }
    if let Some(t) = &p.tcp_socket {
        actions.push(ProbeAction::TcpSocket {
            port: probe_port(&t.port, ports, &format!("{field}.tcpSocket.port"))?,
        });
    }
    if let Some(e) = &p.exec {
        actions.push(ProbeAction::Exec { command: e.command.clone().unwrap_or_default() });
    }
    if let Some(g) = &p.grpc {
        actions.push(ProbeAction::Grpc {
            port: port_number(g.port, &format!("{field}.grpc.port"))?,
            service: g.service.clone().filter(|s| !s.is_empty()),
        });
    }
    let action = match actions.len() {
        1 => actions.remove(0),
        0 => {
            return Err(FieldError::new(
                field,
                "must specify a handler type (httpGet, tcpSocket, exec or grpc)",
            ))
        }
        _ => return Err(FieldError::new(field, "may not specify more than one handler type")),
    };
    let initial_delay_seconds = p.initial_delay_seconds.unwrap_or(0);
    if initial_delay_seconds < 0 {
        return Err(FieldError::new(
            format!("{field}.initialDelaySeconds"),
            format!("invalid value {initial_delay_seconds}: must be greater than or equal to 0"),
        ));
    }
    Ok(Probe {
        action,
        initial_delay_seconds,
        period_seconds: positive_or_default(p.period_seconds, 10, &format!("{field}.periodSeconds"))?,
        timeout_seconds: positive_or_default(p.timeout_seconds, 1, &format!("{field}.timeoutSeconds"))?,
        success_threshold: positive_or_default(p.success_threshold, 1, &format!("{field}.successThreshold"))?,
        failure_threshold: positive_or_default(p.failure_threshold, 3, &format!("{field}.failureThreshold"))?,
        termination_grace_period_seconds: p.termination_grace_period_seconds,
    })
}

fn taint_effect(v: &str, field: &str) -> FieldResult<TaintEffect> {
    match v {
        "NoSchedule" => Ok(TaintEffect::NoSchedule),
        "PreferNoSchedule" => Ok(TaintEffect::PreferNoSchedule),
        "NoExecute" => Ok(TaintEffect::NoExecute),
        other => Err(FieldError::new(
            field,
            format!("unsupported value {other:?}: expected NoSchedule, PreferNoSchedule or NoExecute"),
        )),
    }
}

/// A taint effect (shared with nodes).
pub(crate) fn parse_taint_effect(v: &str, field: &str) -> FieldResult<TaintEffect> {
    taint_effect(v, field)
}

fn toleration(t: &corev1::Toleration, field: &str) -> FieldResult<Toleration> {
    let operator = match t.operator.as_deref() {
        None | Some("") | Some("Equal") => TolerationOperator::Equal,
        Some("Exists") => TolerationOperator::Exists,
        Some("Gt") => TolerationOperator::Gt,
        Some("Lt") => TolerationOperator::Lt,
        Some(other) => {
            return Err(FieldError::new(
                format!("{field}.operator"),
                format!("unsupported value {other:?}: expected Equal, Exists, Gt or Lt"),
            ))
        }
    };
    let effect = match t.effect.as_deref() {
        None | Some("") => None,
        Some(e) => Some(taint_effect(e, &format!("{field}.effect"))?),
    };
    let value = t.value.clone().unwrap_or_default();
    if operator == TolerationOperator::Exists && !value.is_empty() {
        return Err(FieldError::new(format!("{field}.value"), "must be empty when operator is Exists"));
    }
    Ok(Toleration {
        key: t.key.clone().unwrap_or_default(),
        operator,
        value,
        effect,
        toleration_seconds: t.toleration_seconds,
    })
}

fn weight(w: i32, field: &str) -> FieldResult<i32> {
    if (1..=100).contains(&w) {
        Ok(w)
    } else {
        Err(FieldError::new(field, format!("invalid value {w}: must be in the range 1-100")))
    }
}

fn pod_affinity_term(t: &corev1::PodAffinityTerm, field: &str) -> FieldResult<PodAffinityTerm> {
    if t.topology_key.is_empty() {
        return Err(FieldError::new(format!("{field}.topologyKey"), "required"));
    }
    Ok(PodAffinityTerm {
        label_selector: opt_label_selector(t.label_selector.as_ref(), &format!("{field}.labelSelector"))?,
        namespaces: t.namespaces.clone().unwrap_or_default(),
        namespace_selector: opt_label_selector(
            t.namespace_selector.as_ref(),
            &format!("{field}.namespaceSelector"),
        )?,
        topology_key: t.topology_key.clone(),
        match_label_keys: t.match_label_keys.clone().unwrap_or_default(),
        mismatch_label_keys: t.mismatch_label_keys.clone().unwrap_or_default(),
    })
}

fn pod_affinity(
    required: Option<&Vec<corev1::PodAffinityTerm>>,
    preferred: Option<&Vec<corev1::WeightedPodAffinityTerm>>,
    field: &str,
) -> FieldResult<PodAffinity> {
    Ok(PodAffinity {
        required: required
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| {
                pod_affinity_term(t, &format!("{field}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"))
            })
            .collect::<FieldResult<_>>()?,
        preferred: preferred
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, w)| {
                let path = format!("{field}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
                Ok(WeightedPodAffinityTerm {
                    weight: weight(w.weight, &format!("{path}.weight"))?,
                    term: pod_affinity_term(&w.pod_affinity_term, &format!("{path}.podAffinityTerm"))?,
                })
            })
            .collect::<FieldResult<_>>()?,
    })
}

fn affinity(a: &corev1::Affinity, field: &str) -> FieldResult<Affinity> {
    let mut out = Affinity::default();
    if let Some(na) = &a.node_affinity {
        let path = format!("{field}.nodeAffinity");
        out.node_affinity = NodeAffinity {
            required: na
                .required_during_scheduling_ignored_during_execution
                .as_ref()
                .map(|s| node_selector(s, &format!("{path}.requiredDuringSchedulingIgnoredDuringExecution")))
                .transpose()?,
            preferred: na
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, p)| {
                    let path = format!("{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
                    Ok(PreferredSchedulingTerm {
                        weight: weight(p.weight, &format!("{path}.weight"))?,
                        preference: node_selector_term(&p.preference, &format!("{path}.preference"))?,
                    })
                })
                .collect::<FieldResult<_>>()?,
        };
    }
    if let Some(pa) = &a.pod_affinity {
        out.pod_affinity = pod_affinity(
            pa.required_during_scheduling_ignored_during_execution.as_ref(),
            pa.preferred_during_scheduling_ignored_during_execution.as_ref(),
            &format!("{field}.podAffinity"),
        )?;
    }
    if let Some(pa) = &a.pod_anti_affinity {
        out.pod_anti_affinity = pod_affinity(
            pa.required_during_scheduling_ignored_during_execution.as_ref(),
            pa.preferred_during_scheduling_ignored_during_execution.as_ref(),
            &format!("{field}.podAntiAffinity"),
        )?;
    }
    Ok(out)
}

fn inclusion_policy(
    v: Option<&str>,
    default: NodeInclusionPolicy,
    field: &str,
) -> FieldResult<NodeInclusionPolicy> {
    match v {
        None | Some("") => Ok(default),
        Some("Honor") => Ok(NodeInclusionPolicy::Honor),
        Some("Ignore") => Ok(NodeInclusionPolicy::Ignore),
        Some(other) => {
            Err(FieldError::new(field, format!("unsupported value {other:?}: expected Honor or Ignore")))
        }
    }
}

fn spread_constraint(
    t: &corev1::TopologySpreadConstraint,
    field: &str,
) -> FieldResult<TopologySpreadConstraint> {
    if t.max_skew < 1 {
        return Err(FieldError::new(
            format!("{field}.maxSkew"),
            format!("invalid value {}: must be greater than zero", t.max_skew),
        ));
    }
    if t.topology_key.is_empty() {
        return Err(FieldError::new(format!("{field}.topologyKey"), "required"));
    }
    let when_unsatisfiable = match t.when_unsatisfiable.as_str() {
        "DoNotSchedule" => UnsatisfiableConstraintAction::DoNotSchedule,
        "ScheduleAnyway" => UnsatisfiableConstraintAction::ScheduleAnyway,
        other => {
            return Err(FieldError::new(
                format!("{field}.whenUnsatisfiable"),
                format!("unsupported value {other:?}: expected DoNotSchedule or ScheduleAnyway"),
            ))
        }
    };
    if let Some(m) = t.min_domains {
        if m < 1 {
            return Err(FieldError::new(
                format!("{field}.minDomains"),
                format!("invalid value {m}: must be greater than zero"),
            ));
        }
        if when_unsatisfiable != UnsatisfiableConstraintAction::DoNotSchedule {
            return Err(FieldError::new(
                format!("{field}.minDomains"),
                "can only be used when whenUnsatisfiable is DoNotSchedule",
            ));
        }
    }
    Ok(TopologySpreadConstraint {
        max_skew: t.max_skew,
        topology_key: t.topology_key.clone(),
        when_unsatisfiable,
        label_selector: opt_label_selector(t.label_selector.as_ref(), &format!("{field}.labelSelector"))?,
        min_domains: t.min_domains,
        node_affinity_policy: inclusion_policy(
            t.node_affinity_policy.as_deref(),
            NodeInclusionPolicy::Honor,
            &format!("{field}.nodeAffinityPolicy"),
        )?,
        node_taints_policy: inclusion_policy(
            t.node_taints_policy.as_deref(),
            NodeInclusionPolicy::Ignore,
            &format!("{field}.nodeTaintsPolicy"),
        )?,
        match_label_keys: t.match_label_keys.clone().unwrap_or_default(),
    })
}

pub(crate) fn condition_status(v: &str, field: &str) -> FieldResult<ConditionStatus> {
    match v {
        "True" => Ok(ConditionStatus::True),
        "False" => Ok(ConditionStatus::False),
        "Unknown" => Ok(ConditionStatus::Unknown),
        other => Err(FieldError::new(
            field,
            format!("unsupported value {other:?}: expected True, False or Unknown"),
        )),
    }
}

fn container_status(s: &corev1::ContainerStatus, field: &str) -> FieldResult<ContainerStatus> {
    Ok(ContainerStatus {
        name: s.name.clone(),
        ready: s.ready,
        started: s.started.unwrap_or(false),
        restart_count: s.restart_count,
        state: container_state(s.state.as_ref(), &format!("{field}.state"))?,
        last_state: container_state(s.last_state.as_ref(), &format!("{field}.lastState"))?,
    })
}

fn container_state(state: Option<&corev1::ContainerState>, field: &str) -> FieldResult<ContainerState> {
    let state = match state {
        Some(st) if st.running.is_some() => ContainerState::Running {
            started_at: opt_time(
                st.running.as_ref().and_then(|r| r.started_at.as_ref()),
                &format!("{field}.running.startedAt"),
            )?
            .unwrap_or_default(),
        },
        Some(st) if st.terminated.is_some() => {
            let t = st.terminated.as_ref().map(|t| (t.exit_code, t.reason.clone(), t.finished_at.as_ref()));
            let (exit_code, reason, finished_at) = t.unwrap_or((0, None, None));
            ContainerState::Terminated {
                exit_code,
                reason: reason.unwrap_or_default(),
                finished_at: opt_time(finished_at, &format!("{field}.terminated.finishedAt"))?
                    .unwrap_or_default(),
            }
        }
        Some(st) if st.waiting.is_some() => ContainerState::Waiting {
            reason: st.waiting.as_ref().and_then(|w| w.reason.clone()).unwrap_or_default(),
        },
        _ => ContainerState::Unknown,
    };
    Ok(state)
}

fn pod_status(s: &corev1::PodStatus) -> FieldResult<PodStatus> {
    let phase = match s.phase.as_deref() {
        None | Some("") | Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        Some("Unknown") => PodPhase::Unknown,
        Some(other) => {
            return Err(FieldError::new(
                "status.phase",
                format!(
                    "unsupported value {other:?}: expected Pending, Running, Succeeded, Failed or Unknown"
                ),
            ))
        }
    };
    let mut conditions = Vec::new();
    for (i, c) in s.conditions.iter().flatten().enumerate() {
        let path = format!("status.conditions[{i}]");
        let kind = match c.type_.as_str() {
            "PodScheduled" => PodConditionType::PodScheduled,
            "Initialized" => PodConditionType::Initialized,
            "ContainersReady" => PodConditionType::ContainersReady,
            "Ready" => PodConditionType::Ready,
            "DisruptionTarget" => PodConditionType::DisruptionTarget,
            // Other condition types (PodReadyToStartContainers, readiness gates) do not affect
            // the simulation.
            _ => continue,
        };
        conditions.push(PodCondition {
            kind,
            status: condition_status(&c.status, &format!("{path}.status"))?,
            last_transition_time: opt_time(
                c.last_transition_time.as_ref(),
                &format!("{path}.lastTransitionTime"),
            )?,
            reason: c.reason.clone(),
        });
    }
    let statuses =
        |list: &Option<Vec<corev1::ContainerStatus>>, name: &str| -> FieldResult<Vec<ContainerStatus>> {
            list.iter()
                .flatten()
                .enumerate()
                .map(|(i, c)| container_status(c, &format!("status.{name}[{i}]")))
                .collect()
        };
    Ok(PodStatus {
        phase,
        conditions,
        start_time: opt_time(s.start_time.as_ref(), "status.startTime")?,
        nominated_node_name: s.nominated_node_name.clone().filter(|n| !n.is_empty()),
        container_statuses: statuses(&s.container_statuses, "containerStatuses")?,
        init_container_statuses: statuses(&s.init_container_statuses, "initContainerStatuses")?,
        reason: s.reason.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_defaults_follow_the_image_tag() {
        assert_eq!(default_pull_policy("nginx"), PullPolicy::Always);
        assert_eq!(default_pull_policy("nginx:latest"), PullPolicy::Always);
        assert_eq!(default_pull_policy("nginx:1.27"), PullPolicy::IfNotPresent);
        assert_eq!(default_pull_policy("registry:5000/team/app"), PullPolicy::Always);
        assert_eq!(default_pull_policy("registry:5000/team/app:v2"), PullPolicy::IfNotPresent);
        assert_eq!(default_pull_policy("app@sha256:abcd"), PullPolicy::IfNotPresent);
        assert_eq!(default_pull_policy("app:latest@sha256:abcd"), PullPolicy::Always);
    }
}
