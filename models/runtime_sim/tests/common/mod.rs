//! A one-node harness: a kubelet and a simulated runtime on an event queue, recording effects.

#![allow(dead_code)]

use std::sync::Arc;

use kubesim_api::{
    ConditionStatus, Container, ContainerState, ObjectMeta, Pod, PodConditionType, PodSpec, PodStatus, Probe,
    ProbeAction, PullPolicy, ResourceList, ResourceRequirements,
};
use kubesim_kubelet::{Kubelet, KubeletConfig, KubeletEffect, KubeletInput, ProbeMode, RuntimeCommand};
use kubesim_runtime_sim::{ImageCatalog, NodeFleet, RuntimeConfig, SimNodeRuntime};
use kubesim_workload::{ContainerWorkload, PodWorkload};
use sim_core::{RngStreams, SimDuration, SimTime};

pub const MI: i64 = 1 << 20;

pub fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}
pub fn ms(v: u64) -> SimTime {
    SimTime::from_millis(v)
}

/// Images "img" (empty: pulls are instant) and "big" (100 MB: 1 s at 100 MB/s).
pub fn catalog() -> Arc<ImageCatalog> {
    let mut c = ImageCatalog::new();
    c.add_image("img", &[("sha256:empty", 0)]);
    c.add_image("big", &[("sha256:big", 100_000_000)]);
    Arc::new(c)
}

pub fn node_with(memory_bytes: i64, mode: ProbeMode) -> NodeFleet<SimNodeRuntime> {
    let alloc = ResourceList::new()
        .with_cpu_millis(8000)
        .with_memory_bytes(memory_bytes)
        .with(kubesim_api::ResourceName::Pods, 110);
    let mut cfg = KubeletConfig::new("node-0", alloc);
    cfg.probe_mode = mode;
    let rt = SimNodeRuntime::new(RuntimeConfig::default(), catalog(), RngStreams::new(7), 0);
    let mut fleet = NodeFleet::new(vec![(Kubelet::new(cfg), rt)]).with_log();
    fleet.input(0, KubeletInput::NodeStart);
    fleet
}

pub fn node() -> NodeFleet<SimNodeRuntime> {
    node_with(16 << 30, ProbeMode::Analytic)
}

pub fn container(name: &str) -> Container {
    Container {
        name: name.into(),
        image: "img".into(),
        image_pull_policy: PullPolicy::IfNotPresent,
        ..Container::default()
    }
}

pub fn probe(period_s: i32, failure_threshold: i32) -> Probe {
    Probe {
        period_seconds: period_s,
        failure_threshold,
        ..Probe::with_defaults(ProbeAction::HttpGet { path: "/".into(), port: 80 })
    }
}

pub fn with_memory(mut c: Container, request: i64, limit: Option<i64>) -> Container {
    let mut limits = ResourceList::new();
    if let Some(l) = limit {
        limits = limits.with_memory_bytes(l);
    }
    c.resources = ResourceRequirements { requests: ResourceList::new().with_memory_bytes(request), limits };
    c
}

pub fn pod(name: &str, init: Vec<Container>, containers: Vec<Container>) -> Pod {
    Pod {
        meta: ObjectMeta::named("default", name),
        spec: PodSpec {
            init_containers: init.into(),
            containers: containers.into(),
            node_name: Some("node-0".into()),
            ..PodSpec::default()
        }
        .into(),
        ..Pod::default()
    }
}

pub fn assign(fleet: &mut NodeFleet<SimNodeRuntime>, pod: Pod, workloads: Vec<ContainerWorkload>) {
    let workload = Arc::new(PodWorkload { containers: workloads.into_iter().map(Arc::new).collect() });
    fleet.input(0, KubeletInput::PodAssigned { pod: Arc::new(pod), workload: Some(workload) });
}

/// Status writes of pod `name`, with their times.
pub fn statuses(fleet: &NodeFleet<SimNodeRuntime>, name: &str) -> Vec<(SimTime, PodStatus)> {
    fleet
        .log()
        .iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::PodStatusUpdate { key, status } if key.name == name => Some((*t, status.clone())),
            _ => None,
        })
        .collect()
}

/// Runtime commands with their times.
pub fn commands(fleet: &NodeFleet<SimNodeRuntime>) -> Vec<(SimTime, RuntimeCommand)> {
    fleet
        .log()
        .iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::Runtime(c) => Some((*t, c.clone())),
            _ => None,
        })
        .collect()
}

/// (time, container index, instance) of every StartContainer.
pub fn starts(fleet: &NodeFleet<SimNodeRuntime>) -> Vec<(SimTime, u8, u32)> {
    commands(fleet)
        .into_iter()
        .filter_map(|(t, c)| match c {
            RuntimeCommand::StartContainer { container, .. } => {
                Some((t, container.index(), container.instance()))
            }
            _ => None,
        })
        .collect()
}

/// Distinct successive states of regular container `i`, as (time, short form).
pub fn container_states(fleet: &NodeFleet<SimNodeRuntime>, name: &str, i: usize) -> Vec<(SimTime, String)> {
    let mut out: Vec<(SimTime, String)> = Vec::new();
    for (t, s) in statuses(fleet, name) {
        let Some(c) = s.container_statuses.get(i) else { continue };
        let short = match &c.state {
            ContainerState::Waiting { reason } => format!("waiting:{reason}"),
            ContainerState::Running { .. } => format!("running#{}", c.restart_count),
            ContainerState::Terminated { exit_code, reason, .. } => {
                format!("terminated:{exit_code}:{reason}")
            }
            ContainerState::Unknown => "unknown".into(),
        };
        if out.last().is_none_or(|(_, prev)| *prev != short) {
            out.push((t, short));
        }
    }
    out
}

/// Transitions of a pod condition: (last transition time, status), deduplicated.
pub fn condition_changes(
    fleet: &NodeFleet<SimNodeRuntime>,
    name: &str,
    kind: PodConditionType,
) -> Vec<(SimTime, bool)> {
    let mut out: Vec<(SimTime, bool)> = Vec::new();
    for (_, s) in statuses(fleet, name) {
        if let Some(c) = s.conditions.iter().find(|c| c.kind == kind) {
            let v = (c.last_transition_time.unwrap_or_default(), c.status == ConditionStatus::True);
            if out.last() != Some(&v) {
                out.push(v);
            }
        }
    }
    out
}

pub fn completing(after_s: u64) -> ContainerWorkload {
    ContainerWorkload::completing(SimDuration::from_secs(after_s))
}
