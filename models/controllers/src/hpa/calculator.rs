//! The replica calculator (`replica_calculator.go`, `metrics/utilization.go`): one metric's
//! proposal from pods, samples and a target.
//!
//! Ratios are `f64` exactly as upstream computes them (same operands, same order), so results
//! agree to the last replica, including where a ratio sits on a tolerance edge.

use std::borrow::Borrow;

use kubesim_api::{Pod, PodPhase, ResourceName};
use sim_core::SimTime;

use super::classify::{group_pods, pod_request, pod_requests, CpuReadiness, PodGroups};
use super::pod_facts::HpaPod;
use super::samples::{PodMetric, PodMetricsInfo};
use super::tally::{tally, PodTally, RequestRule, TallyRules};
use super::HpaError;

/// Scale-down and scale-up tolerances (`Tolerances`): a ratio within `[1 − down, 1 + up]`
/// (inclusive) changes nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Allowed drop below 1.0.
    pub scale_down: f64,
    /// Allowed rise above 1.0.
    pub scale_up: f64,
}

impl Tolerances {
    /// The same tolerance both ways.
    pub fn symmetric(t: f64) -> Self {
        Tolerances { scale_down: t, scale_up: t }
    }

    /// `isWithin`.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

/// One metric's computed proposal and the numbers behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Calculation {
    /// Proposed replica count.
    pub replicas: i32,
    /// Usage ratio before unready and missing pods are filled in.
    pub usage_ratio: f64,
    /// Pods counted as ready (`readyPodCount`, or Running+Ready for Object/External `Value`).
    pub ready_pods: usize,
    /// Unready pods.
    pub unready_pods: usize,
    /// Pods without a sample.
    pub missing_pods: usize,
    /// Terminating or Failed pods.
    pub ignored_pods: usize,
    /// Current utilization in whole percent (utilization targets only).
    pub utilization_percent: Option<i32>,
    /// Current average or total value in milli-units (what status reports).
    pub value_milli: i64,
}

impl Calculation {
    fn from_groups(replicas: i32, usage_ratio: f64, g: &PodGroups) -> Self {
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

    fn from_tally(replicas: i32, usage_ratio: f64, t: &PodTally) -> Self {
        Calculation {
            replicas,
            usage_ratio,
            ready_pods: t.ready,
            unready_pods: t.unready,
            missing_pods: t.missing,
            ignored_pods: t.ignored,
            utilization_percent: None,
            value_milli: 0,
        }
    }
}

/// `int32(math.Ceil(x))`, saturating like Rust's float-to-int casts.
fn ceil_i32(x: f64) -> i32 {
    x.ceil() as i32
}

/// `GetResourceUtilizationRatio`: `(ratio, util%, rawAverage)`, with util% truncated before the
/// ratio is taken. Metrics of pods without a known request are skipped.
pub fn utilization_ratio(
    metrics: &PodMetricsInfo,
    requests: &std::collections::BTreeMap<String, i64>,
    target_percent: i32,
) -> Result<(f64, i32, i64), HpaError> {
    let (mut usage_total, mut request_total, mut entries) = (0i64, 0i64, 0i64);
    for (pod, m) in metrics {
        let Some(req) = requests.get(pod) else { continue };
        usage_total = usage_total.wrapping_add(m.value);
        request_total = request_total.wrapping_add(*req);
        entries += 1;
    }
    utilization_from_sums(usage_total, request_total, entries, target_percent)
}

/// The end of `GetResourceUtilizationRatio`, from Σ usage and Σ request over `entries` pods.
fn utilization_from_sums(
    usage_total: i64,
    request_total: i64,
    entries: i64,
    target_percent: i32,
) -> Result<(f64, i32, i64), HpaError> {
    if request_total == 0 {
        return Err(HpaError::NoMatchingMetrics);
    }
    let util = (usage_total.wrapping_mul(100) / request_total) as i32;
    Ok((f64::from(util) / f64::from(target_percent), util, usage_total / entries))
}

/// `GetMetricUsageRatio`: `(ratio, floor(Σ / n))`.
fn usage_ratio(metrics: &PodMetricsInfo, target_milli: i64) -> (f64, i64) {
    let total = metrics.values().fold(0i64, |s, m| s.wrapping_add(m.value));
    let usage = total / metrics.len() as i64;
    (usage as f64 / target_milli as f64, usage)
}

fn zero_metric() -> PodMetric {
    PodMetric { value: 0, timestamp: SimTime::ZERO, window: sim_core::SimDuration::ZERO }
}

/// Inputs shared by the pod-based calculators. `P` is anything that lends a [`Pod`] (`Pod`,
/// `Arc<Pod>`, `&Pod`), so callers can pass the store's shared pods without cloning them.
#[derive(Debug)]
pub struct PodContext<'a, P = Pod> {
    /// Pods matched by the target's selector.
    pub pods: &'a [P],
    /// `scale.spec.replicas`.
    pub current_replicas: i32,
    /// Tolerances for this HPA.
    pub tolerances: Tolerances,
    /// CPU readiness flags.
    pub cpu: CpuReadiness,
    /// Evaluation time.
    pub now: SimTime,
}

impl<P> Clone for PodContext<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for PodContext<'_, P> {}

/// Resource or ContainerResource metric with a utilization target (`GetResourceReplicas`), from
/// the samples as the snapshot holds them (borrowed names, any order; a repeated name: the last
/// one counts). Folds pods and samples without maps (the `tally` module); repeated pod
/// names take the map-based [`resource_utilization_replicas`].
pub fn resource_utilization_from_samples<'s, P: HpaPod>(
    ctx: PodContext<'_, P>,
    samples: impl Iterator<Item = (&'s str, PodMetric)> + Clone,
    resource: &ResourceName,
    container: Option<&str>,
    target_percent: i32,
    missing_fallback_uses_target: bool,
    pod_level_resources: bool,
) -> Result<Calculation, HpaError> {
    resource_utilization_tallied(
        ctx,
        samples,
        resource,
        container,
        target_percent,
        missing_fallback_uses_target,
        pod_level_resources,
        |_| None,
    )
}

/// [`resource_utilization_from_samples`] with a tally that `joined` may compute instead of the
/// per-pod pass (a [`PodSampleJoin`](super::join::PodSampleJoin)'s; `None`: the per-pod pass).
#[allow(clippy::too_many_arguments)] // the public function's seven, and the tally source
pub(crate) fn resource_utilization_tallied<'s, P: HpaPod>(
    ctx: PodContext<'_, P>,
    samples: impl Iterator<Item = (&'s str, PodMetric)> + Clone,
    resource: &ResourceName,
    container: Option<&str>,
    target_percent: i32,
    missing_fallback_uses_target: bool,
    pod_level_resources: bool,
    joined: impl FnOnce(&TallyRules<'_>) -> Option<PodTally>,
) -> Result<Calculation, HpaError> {
    if ctx.pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    let fallback_percent =
        if missing_fallback_uses_target { i64::from(target_percent.max(100)) } else { 100 };
    let rules = TallyRules {
        cpu: (*resource == ResourceName::Cpu).then_some((ctx.cpu, ctx.now)),
        requests: Some(RequestRule { resource, container, pod_level_resources, fallback_percent }),
    };
    let Some(t) = joined(&rules).or_else(|| tally(ctx.pods, samples.clone(), &rules)) else {
        return resource_utilization_replicas(
            ctx,
            to_map(samples),
            resource,
            container,
            target_percent,
            missing_fallback_uses_target,
            pod_level_resources,
        );
    };
    // What is left of the samples once ignored and unready pods' are dropped.
    let kept = t.ready + t.stray;
    if kept == 0 {
        return Err(HpaError::NoMetricsForReadyPods);
    }
    if t.request_failed {
        for pod in ctx.pods {
            pod_request(pod.borrow(), resource, container, pod_level_resources)?;
        }
    }
    // Only ready pods' samples have a request (stray samples name no pod).
    let (ratio, util, raw) =
        utilization_from_sums(t.ready_value, t.ready_request, t.ready as i64, target_percent)?;
    let finish = |replicas: i32| {
        let mut c = Calculation::from_tally(replicas, ratio, &t);
        c.utilization_percent = Some(util);
        c.value_milli = raw;
        c
    };

    let scale_up_with_unready = t.unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && t.missing == 0 {
        if ctx.tolerances.is_within(ratio) {
            return Ok(finish(ctx.current_replicas));
        }
        return Ok(finish(ceil_i32(ratio * t.ready as f64)));
    }

    let (mut usage, mut request, mut entries, mut n_metrics) =
        (t.ready_value, t.ready_request, t.ready as i64, kept);
    if t.missing > 0 {
        // Scale-down: missing pods are assumed to use their fallback; scale-up: nothing.
        let assumed_usage = if ratio < 1.0 {
            Some(t.missing_fallback)
        } else if ratio > 1.0 {
            Some(0)
        } else {
            None
        };
        if let Some(assumed) = assumed_usage {
            usage = usage.wrapping_add(assumed);
            request = request.wrapping_add(t.missing_request);
            entries += t.missing as i64;
            n_metrics += t.missing;
        }
    }
    if scale_up_with_unready {
        request = request.wrapping_add(t.unready_request);
        entries += t.unready as i64;
        n_metrics += t.unready;
    }
    let (new_ratio, _, _) = utilization_from_sums(usage, request, entries, target_percent)?;
    Ok(finish(rebalanced_replicas(ctx.tolerances, ctx.current_replicas, ratio, new_ratio, n_metrics)))
}

/// Resource `AverageValue` and Pods metrics (`calcPlainMetricReplicas`) from the samples as the
/// snapshot holds them; see [`resource_utilization_from_samples`]. `resource` is the resource
/// for Resource metrics (CPU readiness rules apply) and `None` for Pods metrics.
pub fn plain_metric_from_samples<'s, P: HpaPod>(
    ctx: PodContext<'_, P>,
    samples: impl Iterator<Item = (&'s str, PodMetric)> + Clone,
    resource: Option<&ResourceName>,
    target_milli: i64,
) -> Result<Calculation, HpaError> {
    plain_metric_tallied(ctx, samples, resource, target_milli, |_| None)
}

/// [`plain_metric_from_samples`] with a tally that `joined` may compute instead of the per-pod
/// pass (see [`resource_utilization_tallied`]).
pub(crate) fn plain_metric_tallied<'s, P: HpaPod>(
    ctx: PodContext<'_, P>,
    samples: impl Iterator<Item = (&'s str, PodMetric)> + Clone,
    resource: Option<&ResourceName>,
    target_milli: i64,
    joined: impl FnOnce(&TallyRules<'_>) -> Option<PodTally>,
) -> Result<Calculation, HpaError> {
    if ctx.pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    let rules = TallyRules {
        cpu: (resource == Some(&ResourceName::Cpu)).then_some((ctx.cpu, ctx.now)),
        requests: None,
    };
    let Some(t) = joined(&rules).or_else(|| tally(ctx.pods, samples.clone(), &rules)) else {
        return plain_metric_replicas(ctx, to_map(samples), resource, target_milli);
    };
    let kept = t.ready + t.stray;
    if kept == 0 {
        return Err(HpaError::NoMetricsForReadyPods);
    }
    // Stray samples stay in the average, as in upstream's map.
    let mut total = t.ready_value.wrapping_add(t.stray_value);
    let usage = total / kept as i64;
    let ratio = usage as f64 / target_milli as f64;
    let finish = |replicas: i32| {
        let mut c = Calculation::from_tally(replicas, ratio, &t);
        c.value_milli = usage;
        c
    };
    let scale_up_with_unready = t.unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && t.missing == 0 {
        if ctx.tolerances.is_within(ratio) {
            return Ok(finish(ctx.current_replicas));
        }
        return Ok(finish(ceil_i32(ratio * t.ready as f64)));
    }
    let mut n_metrics = kept;
    if t.missing > 0 {
        let fill = if ratio < 1.0 {
            Some(target_milli)
        } else if ratio > 1.0 {
            Some(0)
        } else {
            None
        };
        if let Some(value) = fill {
            // `missing` wrapping additions of `value`.
            total = total.wrapping_add(value.wrapping_mul(t.missing as i64));
            n_metrics += t.missing;
        }
    }
    if scale_up_with_unready {
        n_metrics += t.unready;
    }
    let new_ratio = (total / n_metrics as i64) as f64 / target_milli as f64;
    Ok(finish(rebalanced_replicas(ctx.tolerances, ctx.current_replicas, ratio, new_ratio, n_metrics)))
}

/// Samples into a map, the last of a repeated name winning (as the metrics client's map does).
fn to_map<'s>(samples: impl Iterator<Item = (&'s str, PodMetric)>) -> PodMetricsInfo {
    let mut out = PodMetricsInfo::new();
    for (name, m) in samples {
        out.insert(name.to_string(), m);
    }
    out
}

/// Resource or ContainerResource metric with a utilization target (`GetResourceReplicas`), from a
/// sample map (the reconcile uses [`resource_utilization_from_samples`]).
pub fn resource_utilization_replicas<P: Borrow<Pod>>(
    ctx: PodContext<'_, P>,
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
        let mut c = Calculation::from_groups(replicas, ratio, &g);
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
            // A scale-down must not be driven by pods we know nothing about: assume they use
            // their full request (or the target, when the target is above 100 %).
            let fallback_percent =
                if missing_fallback_uses_target { i64::from(target_percent.max(100)) } else { 100 };
            for p in &g.missing {
                let req = requests.get(p).copied().unwrap_or(0);
                let value = req.wrapping_mul(fallback_percent) / 100;
                metrics.insert(p.clone(), PodMetric { value, ..zero_metric() });
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
    Ok(finish(rebalanced_replicas(ctx.tolerances, ctx.current_replicas, ratio, new_ratio, metrics.len())))
}

/// Steps 5–6 of the calculators: after filling in missing/unready pods, keep `current` if the
/// new ratio is within tolerance or changes direction, or if the count would move the wrong way.
fn rebalanced_replicas(
    tolerances: Tolerances,
    current_replicas: i32,
    ratio: f64,
    new_ratio: f64,
    n_metrics: usize,
) -> i32 {
    let flips = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if tolerances.is_within(new_ratio) || flips {
        return current_replicas;
    }
    let new = ceil_i32(new_ratio * n_metrics as f64);
    if (new_ratio < 1.0 && new > current_replicas) || (new_ratio > 1.0 && new < current_replicas) {
        return current_replicas;
    }
    new
}

/// Resource `AverageValue` and Pods metrics (`calcPlainMetricReplicas`) from a sample map (the
/// reconcile uses [`plain_metric_from_samples`]). `resource` is the resource for Resource
/// metrics (CPU readiness rules apply) and `None` for Pods metrics.
pub fn plain_metric_replicas<P: Borrow<Pod>>(
    ctx: PodContext<'_, P>,
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
        let mut c = Calculation::from_groups(replicas, ratio, &g);
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
    Ok(finish(rebalanced_replicas(ctx.tolerances, ctx.current_replicas, ratio, new_ratio, metrics.len())))
}

/// Running and Ready pods (`getReadyPodsCount`).
pub fn ready_pods_count<P: Borrow<Pod>>(pods: &[P]) -> Result<usize, HpaError> {
    if pods.is_empty() {
        return Err(HpaError::NoPods);
    }
    Ok(pods
        .iter()
        .map(Borrow::borrow)
        .filter(|p| p.status.phase == PodPhase::Running && p.is_ready())
        .count())
}

/// Object and External metrics with a `Value` target (`getUsageRatioReplicaCount`).
pub fn value_replicas<P: Borrow<Pod>>(
    pods: &[P],
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
        // Scale from zero (HPAScaleToZero): no pods to count.
        c.replicas = ceil_i32(ratio);
    }
    Ok(c)
}

/// Object and External metrics with an `AverageValue` target (`Get…PerPodMetricReplicas`):
/// the total divided among `status_replicas`; no pod readiness involved.
pub fn per_pod_value_replicas(
    status_replicas: i32,
    total_milli: i64,
    target_per_pod_milli: i64,
    tolerances: Tolerances,
) -> Calculation {
    let ratio = total_milli as f64 / (target_per_pod_milli as f64 * f64::from(status_replicas));
    let mut replicas = status_replicas;
    if !tolerances.is_within(ratio) {
        let want = (total_milli as f64 / target_per_pod_milli as f64).ceil();
        replicas = if want > f64::from(i32::MAX) { i32::MAX } else { want as i32 };
    }
    let average = if total_milli as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        (total_milli as f64 / f64::from(status_replicas)).ceil() as i64
    };
    Calculation {
        replicas,
        usage_ratio: ratio,
        ready_pods: 0,
        unready_pods: 0,
        missing_pods: 0,
        ignored_pods: 0,
        utilization_percent: None,
        value_milli: average,
    }
}

/// Sum of external series, saturating at `i64::MAX`.
pub fn saturating_total(values: &[i64]) -> i64 {
    let mut total = 0i64;
    for v in values {
        if *v > 0 && total > i64::MAX - v {
            return i64::MAX;
        }
        total += v;
    }
    total
}
