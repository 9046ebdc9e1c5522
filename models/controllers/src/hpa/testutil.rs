//! Builders shared by the HPA tests.

use kubesim_api::{
    ConditionStatus, Container, ObjectMeta, Pod, PodCondition, PodConditionType, PodPhase, ResourceList,
    ResourceName,
};
use sim_core::{SimDuration, SimTime};

use super::samples::{ContainerMetrics, MetricsSnapshot, PodMetricValue, PodMetrics};

/// Evaluation time of most tests: long after every pod started.
pub(crate) const NOW: SimTime = SimTime::from_secs(100_000);

/// A Running pod with one container `app` requesting `cpu_request_millis` (and 1 GiB memory),
/// started at `start` and Ready=True since then.
pub(crate) fn ready_pod(name: &str, cpu_request_millis: i64, start: SimTime) -> Pod {
    let mut pod = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
    let mut c = Container { name: "app".into(), ..Default::default() };
    c.resources.requests = ResourceList::new().with_cpu_millis(cpu_request_millis).with_memory_bytes(1 << 30);
    pod.spec.containers.push(c);
    pod.status.phase = PodPhase::Running;
    pod.status.start_time = Some(start);
    set_ready(&mut pod, ConditionStatus::True, start);
    pod
}

/// Sets the Ready condition.
pub(crate) fn set_ready(pod: &mut Pod, status: ConditionStatus, at: SimTime) {
    pod.status.conditions.retain(|c| c.kind != PodConditionType::Ready);
    pod.status.conditions.push(PodCondition {
        kind: PodConditionType::Ready,
        status,
        last_transition_time: Some(at),
        reason: None,
    });
}

/// `pod-0 … pod-n` with the given CPU requests, started at time zero, ready.
pub(crate) fn pods(cpu_requests: &[i64]) -> Vec<Pod> {
    cpu_requests.iter().enumerate().map(|(i, r)| ready_pod(&format!("pod-{i}"), *r, SimTime::ZERO)).collect()
}

/// `pod-i` gets Ready=`readiness[i]` (transition at time zero).
pub(crate) fn with_readiness(mut pods: Vec<Pod>, readiness: &[bool]) -> Vec<Pod> {
    for (p, r) in pods.iter_mut().zip(readiness) {
        let s = if *r { ConditionStatus::True } else { ConditionStatus::False };
        set_ready(p, s, SimTime::ZERO);
    }
    pods
}

/// One PodMetrics sample, ending 10 s before [`NOW`] with a 60 s window.
pub(crate) fn sample(pod: &str, resource: ResourceName, amount: i64) -> PodMetrics {
    PodMetrics {
        pod_name: pod.into(),
        timestamp: NOW.saturating_sub(SimDuration::from_secs(10)),
        window: SimDuration::from_secs(60),
        containers: smallvec::smallvec![ContainerMetrics {
            name: "app".into(),
            usage: ResourceList::new().with(resource, amount),
        }],
    }
}

/// CPU samples for `pod-0 … pod-n`.
pub(crate) fn cpu_usage(levels_millis: &[i64]) -> MetricsSnapshot {
    MetricsSnapshot {
        pod_metrics: levels_millis
            .iter()
            .enumerate()
            .map(|(i, v)| std::sync::Arc::new(sample(&format!("pod-{i}"), ResourceName::Cpu, *v)))
            .collect(),
        ..Default::default()
    }
}

/// Custom Pods-metric values (milli-units) for `pod-0 … pod-n`.
pub(crate) fn custom_values(metric: &str, values_milli: &[i64]) -> MetricsSnapshot {
    let list = values_milli
        .iter()
        .enumerate()
        .map(|(i, v)| PodMetricValue {
            pod_name: format!("pod-{i}"),
            value_milli: *v,
            timestamp: NOW,
            window: SimDuration::from_secs(60),
        })
        .collect();
    MetricsSnapshot { pods: [(metric.to_string(), list)].into(), ..Default::default() }
}
