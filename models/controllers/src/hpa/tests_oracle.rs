//! The oracle: the map-based per-pod code as it was before the merge-join (`tally`), frozen.
//! Every pod name is cloned into maps and sets here; the differential tests check that the
//! reconcile gives the same [`Decision`](super::Decision) bit for bit.

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{ConditionStatus, Pod, PodConditionType, PodPhase, ResourceName};
use sim_core::{SimDuration, SimTime};

use super::calculator::{per_pod_value_replicas, saturating_total, Calculation, Tolerances};
use super::classify::CpuReadiness;
use super::reconcile::HpaInput;
use super::samples::{milli_value, MetricsSnapshot, PodMetric, PodMetricsInfo};
use super::spec::{HpaControllerConfig, MetricSpec, ResourceTarget, ValueTarget};
use super::HpaError;

fn resource_metrics(
    snapshot: &MetricsSnapshot,
    resource: &ResourceName,
    container: Option<&str>,
) -> Result<PodMetricsInfo, HpaError> {
    if snapshot.pod_metrics.is_empty() {
        return Err(HpaError::NoMetricsReturned { api: "resource metrics" });
    }
    let mut out = PodMetricsInfo::new();
    for (pod_name, m) in snapshot.pod_metrics.iter() {
        let value = match container {
            Some(name) => m
                .containers
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.usage.get(resource))
                .map(|v| milli_value(resource, v)),
            None => {
                if m.containers.is_empty() {
                    None
                } else {
                    m.containers.iter().try_fold(0i64, |sum, c| {
                        c.usage.get(resource).map(|v| sum.saturating_add(milli_value(resource, v)))
                    })
                }
            }
        };
        if let Some(value) = value {
            out.insert(pod_name.to_string(), PodMetric { value, timestamp: m.timestamp, window: m.window });
        }
    }
    Ok(out)
}

fn custom_pod_metrics(snapshot: &MetricsSnapshot, metric: &str) -> Result<PodMetricsInfo, HpaError> {
    let values = snapshot.pods.get(metric).filter(|v| !v.is_empty());
    let Some(values) = values else {
        return Err(HpaError::NoMetricsReturned { api: "custom metrics" });
    };
    Ok(values
        .iter()
        .map(|v| {
            (v.pod_name.clone(), PodMetric { value: v.value_milli, timestamp: v.timestamp, window: v.window })
        })
        .collect())
}

#[derive(Default)]
struct PodGroups {
    ready_count: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

fn group_pods(
    pods: &[Pod],
    metrics: &PodMetricsInfo,
    resource: Option<&ResourceName>,
    cpu: CpuReadiness,
    now: SimTime,
) -> PodGroups {
    let mut g = PodGroups::default();
    for pod in pods {
        let name = pod.meta.name.to_string();
        if pod.meta.deletion_timestamp.is_some() || pod.status.phase == PodPhase::Failed {
            g.ignored.insert(name.clone());
            continue;
        }
        if pod.status.phase == PodPhase::Pending {
            g.unready.insert(name.clone());
            continue;
        }
        let Some(metric) = metrics.get(&name) else {
            g.missing.insert(name.clone());
            continue;
        };
        if resource == Some(&ResourceName::Cpu)
            && cpu_sample_unready(pod, metric.timestamp, metric.window, cpu, now)
        {
            g.unready.insert(name.clone());
            continue;
        }
        g.ready_count += 1;
    }
    g
}

fn cpu_sample_unready(
    pod: &Pod,
    sample_ts: SimTime,
    window: SimDuration,
    cpu: CpuReadiness,
    now: SimTime,
) -> bool {
    let (Some(cond), Some(start)) = (pod.condition(PodConditionType::Ready), pod.status.start_time) else {
        return true;
    };
    let transition = cond.last_transition_time.unwrap_or(SimTime::ZERO);
    if start.saturating_add(cpu.cpu_initialization_period) > now {
        cond.status == ConditionStatus::False || sample_ts < transition.saturating_add(window)
    } else {
        cond.status == ConditionStatus::False
            && start.saturating_add(cpu.initial_readiness_delay) > transition
    }
}

fn pod_requests(
    pods: &[Pod],
    resource: &ResourceName,
    container: Option<&str>,
    pod_level_resources: bool,
) -> Result<BTreeMap<String, i64>, HpaError> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let pod_level = pod.spec.extras.resources.as_ref().filter(|r| !r.requests.is_empty());
        let request = match (pod_level, container) {
            (Some(r), None) if pod_level_resources => match r.requests.get(resource) {
                Some(v) => milli_value(resource, v),
                None => {
                    return Err(HpaError::MissingPodLevelRequest {
                        resource: resource.to_string(),
                        pod: pod.meta.name.to_string(),
                    })
                }
            },
            _ => container_requests(pod, resource, container)?,
        };
        out.insert(pod.meta.name.to_string(), request);
    }
    Ok(out)
}

fn container_requests(pod: &Pod, resource: &ResourceName, container: Option<&str>) -> Result<i64, HpaError> {
    let sidecars = pod.spec.init_containers.iter().filter(|c| c.is_sidecar());
    let mut sum = 0i64;
    for c in pod.spec.containers.iter().chain(sidecars) {
        if container.is_none_or(|n| n == c.name) {
            let Some(v) = c.resources.requests.get(resource) else {
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

fn calculation(replicas: i32, usage_ratio: f64, g: &PodGroups) -> Calculation {
    Calculation {
        replicas,
        usage_ratio,
        ready_pods: g.ready_count,
        unready_pods: g.unready.len(),
        missing_pods: g.missing.len(),
        ignored_pods: g.ignored.len(),
        utilization_percent: None,
        value_milli: 0,
    }
}

fn ceil_i32(x: f64) -> i32 {
    x.ceil() as i32
}

fn utilization_ratio(
    metrics: &PodMetricsInfo,
    requests: &BTreeMap<String, i64>,
    target_percent: i32,
) -> Result<(f64, i32, i64), HpaError> {
    let (mut usage_total, mut request_total, mut entries) = (0i64, 0i64, 0i64);
    for (pod, m) in metrics {
        let Some(req) = requests.get(pod) else { continue };
        usage_total = usage_total.wrapping_add(m.value);
        request_total = request_total.wrapping_add(*req);
        entries += 1;
    }
    if request_total == 0 {
        return Err(HpaError::NoMatchingMetrics);
    }
    let util = (usage_total.wrapping_mul(100) / request_total) as i32;
    Ok((f64::from(util) / f64::from(target_percent), util, usage_total / entries))
}

fn usage_ratio(metrics: &PodMetricsInfo, target_milli: i64) -> (f64, i64) {
    let total = metrics.values().fold(0i64, |s, m| s.wrapping_add(m.value));
    let usage = total / metrics.len() as i64;
    (usage as f64 / target_milli as f64, usage)
}

fn zero_metric() -> PodMetric {
    PodMetric { value: 0, timestamp: SimTime::ZERO, window: SimDuration::ZERO }
}

#[derive(Clone, Copy)]
struct PodContext<'a> {
    pods: &'a [Pod],
    current_replicas: i32,
    tolerances: Tolerances,
    cpu: CpuReadiness,
    now: SimTime,
}

fn resource_utilization_replicas(
    ctx: PodContext<'_>,
    mut metrics: PodMetricsInfo,
    resource: &ResourceName,
    container: Option<&str>,
    target_percent: i32,
    missing_fallback_uses_target: bool,
    pod_level_resources: bool,
) -> Result<Calculation, HpaError> {
    if ctx.pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    let g = group_pods(ctx.pods, &metrics, Some(resource), ctx.cpu, ctx.now);
    for p in g.ignored.iter().chain(&g.unready) {
        metrics.remove(p);
    }
    if metrics.is_empty() {
        return Err(HpaError::NoMetricsForReadyPods);
    }
    let requests = pod_requests(ctx.pods, resource, container, pod_level_resources)?;
    let (ratio, util, raw) = utilization_ratio(&metrics, &requests, target_percent)?;
    let finish = |replicas: i32| {
        let mut c = calculation(replicas, ratio, &g);
        c.utilization_percent = Some(util);
        c.value_milli = raw;
        c
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if ctx.tolerances.is_within(ratio) {
            return Ok(finish(ctx.current_replicas));
        }
        return Ok(finish(ceil_i32(ratio * g.ready_count as f64)));
    }
    if !g.missing.is_empty() {
        if ratio < 1.0 {
            let fallback_percent =
                if missing_fallback_uses_target { i64::from(target_percent.max(100)) } else { 100 };
            for p in &g.missing {
                let req = requests.get(p).copied().unwrap_or(0);
                metrics.insert(p.clone(), PodMetric { value: req * fallback_percent / 100, ..zero_metric() });
            }
        } else if ratio > 1.0 {
            for p in &g.missing {
                metrics.insert(p.clone(), zero_metric());
            }
        }
    }
    if scale_up_with_unready {
        for p in &g.unready {
            metrics.insert(p.clone(), zero_metric());
        }
    }
    let (new_ratio, _, _) = utilization_ratio(&metrics, &requests, target_percent)?;
    Ok(finish(rebalanced_replicas(ctx, ratio, new_ratio, metrics.len())))
}

fn rebalanced_replicas(ctx: PodContext<'_>, ratio: f64, new_ratio: f64, n_metrics: usize) -> i32 {
    let flips = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if ctx.tolerances.is_within(new_ratio) || flips {
        return ctx.current_replicas;
    }
    let new = ceil_i32(new_ratio * n_metrics as f64);
    if (new_ratio < 1.0 && new > ctx.current_replicas) || (new_ratio > 1.0 && new < ctx.current_replicas) {
        return ctx.current_replicas;
    }
    new
}

fn plain_metric_replicas(
    ctx: PodContext<'_>,
    mut metrics: PodMetricsInfo,
    resource: Option<&ResourceName>,
    target_milli: i64,
) -> Result<Calculation, HpaError> {
    if ctx.pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    let g = group_pods(ctx.pods, &metrics, resource, ctx.cpu, ctx.now);
    for p in g.ignored.iter().chain(&g.unready) {
        metrics.remove(p);
    }
    if metrics.is_empty() {
        return Err(HpaError::NoMetricsForReadyPods);
    }
    let (ratio, usage) = usage_ratio(&metrics, target_milli);
    let finish = |replicas: i32| {
        let mut c = calculation(replicas, ratio, &g);
        c.value_milli = usage;
        c
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if ctx.tolerances.is_within(ratio) {
            return Ok(finish(ctx.current_replicas));
        }
        return Ok(finish(ceil_i32(ratio * g.ready_count as f64)));
    }
    if !g.missing.is_empty() {
        let fill = if ratio < 1.0 {
            Some(target_milli)
        } else if ratio > 1.0 {
            Some(0)
        } else {
            None
        };
        if let Some(value) = fill {
            for p in &g.missing {
                metrics.insert(p.clone(), PodMetric { value, ..zero_metric() });
            }
        }
    }
    if scale_up_with_unready {
        for p in &g.unready {
            metrics.insert(p.clone(), zero_metric());
        }
    }
    let (new_ratio, _) = usage_ratio(&metrics, target_milli);
    Ok(finish(rebalanced_replicas(ctx, ratio, new_ratio, metrics.len())))
}

fn ready_pods_count(pods: &[Pod]) -> Result<usize, HpaError> {
    if pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    Ok(pods.iter().filter(|p| p.status.phase == PodPhase::Running && p.is_ready()).count())
}

fn value_replicas(
    pods: &[Pod],
    current_replicas: i32,
    value_milli: i64,
    target_milli: i64,
    tolerances: Tolerances,
) -> Result<Calculation, HpaError> {
    let ratio = value_milli as f64 / target_milli as f64;
    let mut c = Calculation {
        replicas: current_replicas,
        usage_ratio: ratio,
        ready_pods: 0,
        unready_pods: 0,
        missing_pods: 0,
        ignored_pods: 0,
        utilization_percent: None,
        value_milli,
    };
    if current_replicas != 0 {
        if tolerances.is_within(ratio) {
            return Ok(c);
        }
        let ready = ready_pods_count(pods)?;
        c.ready_pods = ready;
        let want = ratio * ready as f64;
        c.replicas = if want > f64::from(i32::MAX) { i32::MAX } else { ceil_i32(want) };
    } else {
        c.replicas = ceil_i32(ratio);
    }
    Ok(c)
}

fn value_target(
    input: &HpaInput<'_>,
    tolerances: Tolerances,
    value: i64,
    target: &ValueTarget,
) -> Result<Calculation, HpaError> {
    match *target {
        ValueTarget::Value(t) => value_replicas(input.pods, input.scale.spec_replicas, value, t, tolerances),
        ValueTarget::AverageValue(t) => {
            Ok(per_pod_value_replicas(input.scale.status_replicas, value, t, tolerances))
        }
    }
}

/// The old `compute_metric`.
pub(crate) fn compute_metric(
    config: &HpaControllerConfig,
    input: &HpaInput<'_>,
    tolerances: Tolerances,
    metric: &MetricSpec,
) -> Result<Calculation, HpaError> {
    let ctx = PodContext {
        pods: input.pods,
        current_replicas: input.scale.spec_replicas,
        tolerances,
        cpu: CpuReadiness {
            cpu_initialization_period: config.cpu_initialization_period,
            initial_readiness_delay: config.initial_readiness_delay,
        },
        now: input.now,
    };
    let resource_calc = |resource, container: Option<&str>, target: &ResourceTarget| {
        let samples = resource_metrics(input.metrics, resource, container)?;
        match *target {
            ResourceTarget::AverageValue(v) => plain_metric_replicas(ctx, samples, Some(resource), v),
            ResourceTarget::Utilization(p) => resource_utilization_replicas(
                ctx,
                samples,
                resource,
                container,
                p,
                config.missing_fallback_uses_target,
                config.pod_level_resources,
            ),
        }
    };
    match metric {
        MetricSpec::Resource { resource, target } => resource_calc(resource, None, target),
        MetricSpec::ContainerResource { resource, container, target } => {
            resource_calc(resource, Some(container.as_str()), target)
        }
        MetricSpec::Pods { metric, average_value_milli } => {
            let samples = custom_pod_metrics(input.metrics, metric)?;
            plain_metric_replicas(ctx, samples, None, *average_value_milli)
        }
        MetricSpec::Object { metric, described_object, target } => {
            let value = input
                .metrics
                .objects
                .get(&(metric.clone(), described_object.clone()))
                .copied()
                .ok_or(HpaError::NoMetricsReturned { api: "custom metrics" })?;
            value_target(input, tolerances, value, target)
        }
        MetricSpec::External { metric, target } => {
            let values = input
                .metrics
                .external
                .get(metric)
                .filter(|v| !v.is_empty())
                .ok_or(HpaError::NoMetricsReturned { api: "external metrics" })?;
            value_target(input, tolerances, saturating_total(values), target)
        }
    }
}
