//! Pod classification for the replica calculator (`replica_calculator.go :: groupPods`) and the
//! per-pod requests it divides by (`calculateRequests`).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{Pod, PodPhase, ResourceName};
use sim_core::{SimDuration, SimTime};

use super::pod_facts::PodFacts;
use super::samples::{amount, milli_value, PodMetricsInfo};
use super::HpaError;

/// How the pods of a target fall for one metric.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodGroups {
    /// Pods whose metric is used as is (`readyPodCount`).
    pub ready_count: usize,
    /// Pending pods, and for CPU the pods whose sample is not trustworthy yet.
    pub unready: BTreeSet<String>,
    /// Pods without a sample.
    pub missing: BTreeSet<String>,
    /// Terminating or Failed pods: dropped entirely.
    pub ignored: BTreeSet<String>,
}

/// The two CPU-readiness flags of the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuReadiness {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub initial_readiness_delay: SimDuration,
}

/// Classifies `pods` for one metric. `resource` is `Some(cpu)` only for CPU resource metrics: the
/// readiness rules apply to nothing else. (The reconcile counts the same groups without naming
/// them, in the `tally` module.)
pub fn group_pods<P: Borrow<Pod>>(
    pods: &[P],
    metrics: &PodMetricsInfo,
    resource: Option<&ResourceName>,
    cpu: CpuReadiness,
    now: SimTime,
) -> PodGroups {
    let mut g = PodGroups::default();
    for pod in pods {
        let pod = pod.borrow();
        let name = pod.meta.name.as_str();
        if pod.meta.deletion_timestamp.is_some() || pod.status.phase == PodPhase::Failed {
            g.ignored.insert(name.to_string());
            continue;
        }
        if pod.status.phase == PodPhase::Pending {
            g.unready.insert(name.to_string());
            continue;
        }
        let Some(metric) = metrics.get(name) else {
            g.missing.insert(name.to_string());
            continue;
        };
        if resource == Some(&ResourceName::Cpu)
            && cpu_sample_unready(pod, metric.timestamp, metric.window, cpu, now)
        {
            g.unready.insert(name.to_string());
            continue;
        }
        g.ready_count += 1;
    }
    g
}

/// True when a pod's CPU sample is not trusted yet (`groupPods`' readiness rules).
pub(crate) fn cpu_sample_unready(
    pod: &Pod,
    sample_ts: SimTime,
    window: SimDuration,
    cpu: CpuReadiness,
    now: SimTime,
) -> bool {
    cpu_facts_unready(&PodFacts::of(pod), sample_ts, window, cpu, now)
}

/// [`cpu_sample_unready`] from the pod's [`PodFacts`].
pub(crate) fn cpu_facts_unready(
    facts: &PodFacts,
    sample_ts: SimTime,
    window: SimDuration,
    cpu: CpuReadiness,
    now: SimTime,
) -> bool {
    let (Some((not_ready, transition)), Some(start)) = (facts.ready_condition, facts.start_time) else {
        return true;
    };
    if start.saturating_add(cpu.cpu_initialization_period) > now {
        // Still initializing: CPU use right after a readiness change is not representative.
        not_ready || sample_ts < transition.saturating_add(window)
    } else {
        // Past initialization: ignore only pods that never became ready after starting.
        not_ready && start.saturating_add(cpu.initial_readiness_delay) > transition
    }
}

/// Per-pod request of `resource` in milli-units: the named container, or pod-level requests when
/// set (and `pod_level_resources`), or the sum over regular containers and sidecars. A container
/// without a request for the resource is an error (the first pod in `pods` order that has one).
pub fn pod_requests<P: Borrow<Pod>>(
    pods: &[P],
    resource: &ResourceName,
    container: Option<&str>,
    pod_level_resources: bool,
) -> Result<BTreeMap<String, i64>, HpaError> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let pod = pod.borrow();
        out.insert(pod.meta.name.to_string(), pod_request(pod, resource, container, pod_level_resources)?);
    }
    Ok(out)
}

/// One pod's request as [`pod_requests`] computes it.
pub fn pod_request(
    pod: &Pod,
    resource: &ResourceName,
    container: Option<&str>,
    pod_level_resources: bool,
) -> Result<i64, HpaError> {
    let pod_level = pod.spec.extras.resources.as_ref().filter(|r| !r.requests.is_empty());
    match (pod_level, container) {
        (Some(r), None) if pod_level_resources => match amount(&r.requests, resource) {
            Some(v) => Ok(milli_value(resource, v)),
            None => Err(HpaError::MissingPodLevelRequest {
                resource: resource.to_string(),
                pod: pod.meta.name.to_string(),
            }),
        },
        _ => container_requests(pod, resource, container),
    }
}

fn container_requests(pod: &Pod, resource: &ResourceName, container: Option<&str>) -> Result<i64, HpaError> {
    let sidecars = pod.spec.init_containers.iter().filter(|c| c.is_sidecar());
    let mut sum = 0i64;
    for c in pod.spec.containers.iter().chain(sidecars) {
        if container.is_none_or(|n| n == c.name) {
            let Some(v) = amount(&c.resources.requests, resource) else {
                return Err(HpaError::MissingRequest {
                    resource: resource.to_string(),
                    container: c.name.clone(),
                    pod: pod.meta.name.to_string(),
                });
            };
            sum = sum.saturating_add(milli_value(resource, v));
            if container.is_some() {
                return Ok(sum);
            }
        }
    }
    match container {
        Some(name) => {
            Err(HpaError::ContainerNotFound { container: name.to_string(), pod: pod.meta.name.to_string() })
        }
        None => Ok(sum),
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::PodMetric;
    use super::super::testutil::*;
    use super::*;
    use kubesim_api::ConditionStatus;

    fn cpu() -> CpuReadiness {
        CpuReadiness {
            cpu_initialization_period: SimDuration::from_mins(2),
            initial_readiness_delay: SimDuration::from_secs(10),
        }
    }

    fn metric_at(ts: SimTime) -> PodMetric {
        PodMetric { value: 100, timestamp: ts, window: SimDuration::from_secs(30) }
    }

    #[test]
    fn terminating_and_failed_pods_are_ignored_and_pending_pods_unready() {
        let now = SimTime::from_secs(1000);
        let mut deleted = ready_pod("d", 1000, SimTime::ZERO);
        deleted.meta.deletion_timestamp = Some(now);
        let mut failed = ready_pod("f", 1000, SimTime::ZERO);
        failed.status.phase = PodPhase::Failed;
        let mut pending = ready_pod("p", 1000, SimTime::ZERO);
        pending.status.phase = PodPhase::Pending;
        let ok = ready_pod("ok", 1000, SimTime::ZERO);
        let missing = ready_pod("m", 1000, SimTime::ZERO);
        let metrics: PodMetricsInfo = ["d", "f", "p", "ok"]
            .iter()
            .map(|n| (n.to_string(), metric_at(SimTime::from_secs(990))))
            .collect();
        let g = group_pods(
            &[deleted, failed, pending, ok, missing],
            &metrics,
            Some(&ResourceName::Cpu),
            cpu(),
            now,
        );
        assert_eq!(g.ignored, ["d", "f"].iter().map(|s| s.to_string()).collect());
        assert_eq!(g.unready, ["p"].iter().map(|s| s.to_string()).collect());
        assert_eq!(g.missing, ["m"].iter().map(|s| s.to_string()).collect());
        assert_eq!(g.ready_count, 1);
    }

    #[test]
    fn a_young_pod_is_unready_until_a_full_window_follows_its_readiness_change() {
        // Started at 900 s, ready since 950 s, window 30 s: the sample must end at or after 980 s.
        let now = SimTime::from_secs(1000); // 100 s after start: still inside the 2 min period
        let mut pod = ready_pod("a", 1000, SimTime::from_secs(900));
        set_ready(&mut pod, ConditionStatus::True, SimTime::from_secs(950));
        let early: PodMetricsInfo = [("a".to_string(), metric_at(SimTime::from_secs(979)))].into();
        let full: PodMetricsInfo = [("a".to_string(), metric_at(SimTime::from_secs(980)))].into();
        assert_eq!(
            group_pods(std::slice::from_ref(&pod), &early, Some(&ResourceName::Cpu), cpu(), now)
                .unready
                .len(),
            1
        );
        assert_eq!(
            group_pods(std::slice::from_ref(&pod), &full, Some(&ResourceName::Cpu), cpu(), now).ready_count,
            1
        );
        // Memory never looks at readiness.
        assert_eq!(group_pods(&[pod], &early, Some(&ResourceName::Memory), cpu(), now).ready_count, 1);
    }

    #[test]
    fn an_old_unready_pod_counts_unless_it_never_became_ready() {
        let now = SimTime::from_secs(1000);
        let m: PodMetricsInfo = [("a".to_string(), metric_at(SimTime::from_secs(990)))].into();
        // Started 600 s, turned unready at 605 s (< start + 10 s): never was ready → unready.
        let mut never = ready_pod("a", 1000, SimTime::from_secs(600));
        set_ready(&mut never, ConditionStatus::False, SimTime::from_secs(605));
        assert_eq!(group_pods(&[never], &m, Some(&ResourceName::Cpu), cpu(), now).unready.len(), 1);
        // Turned unready at 700 s: it was ready once, its sample counts.
        let mut was = ready_pod("a", 1000, SimTime::from_secs(600));
        set_ready(&mut was, ConditionStatus::False, SimTime::from_secs(700));
        assert_eq!(group_pods(&[was], &m, Some(&ResourceName::Cpu), cpu(), now).ready_count, 1);
    }

    #[test]
    fn requests_sum_containers_and_sidecars_and_a_missing_request_is_an_error() {
        let mut pod = ready_pod("a", 200, SimTime::ZERO);
        let mut sidecar = pod.spec.containers[0].clone();
        sidecar.name = "proxy".into();
        sidecar.restart_policy = Some(kubesim_api::RestartPolicy::Always);
        pod.spec.init_containers.push(sidecar);
        let r = pod_requests(std::slice::from_ref(&pod), &ResourceName::Cpu, None, true).unwrap();
        assert_eq!(r["a"], 400);
        let r = pod_requests(std::slice::from_ref(&pod), &ResourceName::Cpu, Some("proxy"), true).unwrap();
        assert_eq!(r["a"], 200);
        assert!(matches!(
            pod_requests(std::slice::from_ref(&pod), &ResourceName::EphemeralStorage, None, true),
            Err(HpaError::MissingRequest { .. })
        ));
        assert!(matches!(
            pod_requests(&[pod], &ResourceName::Cpu, Some("nope"), true),
            Err(HpaError::ContainerNotFound { .. })
        ));
    }
}
