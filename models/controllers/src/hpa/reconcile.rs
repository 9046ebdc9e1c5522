//! One HPA reconcile (`horizontal.go :: reconcileAutoscaler, computeReplicasForMetrics`): from
//! the spec, the target's scale, its pods and the metric samples to a [`Decision`].

use std::borrow::Borrow;

use kubesim_api::{ConditionStatus, Pod};
use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use super::calculator::{
    per_pod_value_replicas, plain_metric_from_samples, plain_metric_tallied, resource_utilization_tallied,
    saturating_total, value_replicas, Calculation, PodContext, Tolerances,
};
use super::classify::CpuReadiness;
use super::join::PodSampleJoin;
use super::normalize::{normalize_legacy, normalize_with_behavior, LimitedBy};
use super::pod_facts::HpaPod;
use super::samples::{custom_samples, resource_samples, MetricsSnapshot};
use super::spec::{HpaControllerConfig, HpaSpec, MetricSpec, MetricType, ResourceTarget, ValueTarget};
use super::state::HpaState;
use super::HpaError;

/// Everything one reconcile reads. `P` is anything that lends a [`Pod`] (`Pod`, `Arc<Pod>`,
/// `&Pod`): callers pass the store's shared pods without cloning them.
#[derive(Debug)]
pub struct HpaInput<'a, P = Pod> {
    /// The HPA.
    pub spec: &'a HpaSpec,
    /// The target's scale subresource.
    pub scale: super::spec::Scale,
    /// Pods matched by the target's selector (any order; name order is the fast path).
    pub pods: &'a [P],
    /// Metric samples available now.
    pub metrics: &'a MetricsSnapshot,
    /// Evaluation time.
    pub now: SimTime,
}

impl<P> Clone for HpaInput<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for HpaInput<'_, P> {}

/// One metric's line of the decision record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDecision {
    /// Metric type.
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    /// Metric name (`cpu`, `requests_per_second`).
    pub name: String,
    /// Proposal before stabilization and rate limits; `None` when the metric failed.
    pub proposal: Option<i32>,
    /// Usage ratio before unready and missing pods are filled in.
    pub usage_ratio: f64,
    /// Ready pods as upstream counts them.
    pub ready_pods: usize,
    /// Unready pods.
    pub unready_pods: usize,
    /// Pods without a sample.
    pub missing_pods: usize,
    /// Terminating or Failed pods.
    pub ignored_pods: usize,
    /// Current utilization in percent (utilization targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_percent: Option<i32>,
    /// Current value in milli-units as the HPA status reports it.
    pub value_milli: i64,
    /// The error, for a failed metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// HPA condition types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum HpaConditionType {
    /// `AbleToScale`.
    AbleToScale,
    /// `ScalingActive`.
    ScalingActive,
    /// `ScalingLimited`.
    ScalingLimited,
}

/// A condition the reconcile set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HpaCondition {
    /// Type.
    #[serde(rename = "type")]
    pub kind: HpaConditionType,
    /// `True` / `False`.
    #[serde(serialize_with = "ser_status")]
    pub status: ConditionStatus,
    /// Machine-readable reason, as upstream spells it.
    pub reason: &'static str,
}

fn ser_status<S: serde::Serializer>(s: &ConditionStatus, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        ConditionStatus::True => "True",
        ConditionStatus::False => "False",
        ConditionStatus::Unknown => "Unknown",
    })
}

/// What the controller decided, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// The replica count the target should have (equal to current when nothing is written).
    pub desired_replicas: i32,
    /// `scale.spec.replicas` at evaluation.
    pub current_replicas: i32,
    /// True when the scale subresource is written.
    pub rescale: bool,
    /// Per metric.
    pub metrics: Vec<MetricDecision>,
    /// Recommendation after stabilization (`None` when normalization did not run).
    pub recommendation: Option<i32>,
    /// What bound the final count.
    pub limited_by: LimitedBy,
    /// Conditions set by this reconcile, in type order; types it did not touch are absent.
    pub conditions: Vec<HpaCondition>,
}

impl Default for Decision {
    /// An empty decision (what [`reconcile_into`] overwrites).
    fn default() -> Self {
        Decision {
            desired_replicas: 0,
            current_replicas: 0,
            rescale: false,
            metrics: Vec::new(),
            recommendation: None,
            limited_by: LimitedBy::None,
            conditions: Vec::new(),
        }
    }
}

impl Decision {
    /// The line of metric `i`, reusing the one a previous decision left there (its name and
    /// error buffers); every field is overwritten by the caller.
    fn metric_line(&mut self, i: usize, metric_type: MetricType) -> &mut MetricDecision {
        if i == self.metrics.len() {
            self.metrics.push(MetricDecision {
                metric_type,
                name: String::new(),
                proposal: None,
                usage_ratio: 0.0,
                ready_pods: 0,
                unready_pods: 0,
                missing_pods: 0,
                ignored_pods: 0,
                utilization_percent: None,
                value_milli: 0,
                error: None,
            });
        }
        &mut self.metrics[i]
    }

    fn set(&mut self, kind: HpaConditionType, status: ConditionStatus, reason: &'static str) {
        self.conditions.retain(|c| c.kind != kind);
        self.conditions.push(HpaCondition { kind, status, reason });
        self.conditions.sort_by_key(|c| c.kind as u8);
    }
}

fn tolerances(config: &HpaControllerConfig, spec: &HpaSpec) -> Tolerances {
    let mut t = Tolerances::symmetric(config.tolerance);
    if let (true, Some(b)) = (config.configurable_tolerance, &spec.behavior) {
        if let Some(v) = b.scale_down.as_ref().and_then(|r| r.tolerance) {
            t.scale_down = v;
        }
        if let Some(v) = b.scale_up.as_ref().and_then(|r| r.tolerance) {
            t.scale_up = v;
        }
    }
    t
}

fn failure_reason(t: MetricType) -> &'static str {
    match t {
        MetricType::Resource => "FailedGetResourceMetric",
        MetricType::ContainerResource => "FailedGetContainerResourceMetric",
        MetricType::Pods => "FailedGetPodsMetric",
        MetricType::Object => "FailedGetObjectMetric",
        MetricType::External => "FailedGetExternalMetric",
    }
}

/// One metric's proposal (`computeReplicasForMetric`).
pub fn compute_metric<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    tolerances: Tolerances,
    metric: &MetricSpec,
) -> Result<Calculation, HpaError> {
    compute_metric_joined(config, input, tolerances, metric, None)
}

/// [`compute_metric`], with resource metrics tallied by `join` when given (built from
/// `input.pods` and `input.metrics.pod_metrics`).
fn compute_metric_joined<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    tolerances: Tolerances,
    metric: &MetricSpec,
    join: Option<&PodSampleJoin>,
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
        if input.metrics.pod_metrics.is_empty() {
            return Err(HpaError::NoMetricsReturned { api: "resource metrics" });
        }
        let samples = resource_samples(input.metrics, resource, container);
        let joined =
            PodSampleJoin::tally_fn(join, input.pods, &input.metrics.pod_metrics, resource, container);
        match *target {
            ResourceTarget::AverageValue(v) => plain_metric_tallied(ctx, samples, Some(resource), v, joined),
            ResourceTarget::Utilization(p) => resource_utilization_tallied(
                ctx,
                samples,
                resource,
                container,
                p,
                config.missing_fallback_uses_target,
                config.pod_level_resources,
                joined,
            ),
        }
    };
    match metric {
        MetricSpec::Resource { resource, target } => resource_calc(resource, None, target),
        MetricSpec::ContainerResource { resource, container, target } => {
            resource_calc(resource, Some(container.as_str()), target)
        }
        MetricSpec::Pods { metric, average_value_milli } => {
            let samples = custom_samples(input.metrics, metric)?;
            plain_metric_from_samples(ctx, samples, None, *average_value_milli)
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

fn value_target<P: Borrow<Pod>>(
    input: &HpaInput<'_, P>,
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

/// Reconciles one HPA at `input.now`. Updates the recommendation log in `state` (as upstream does
/// whether or not the scale write later succeeds); call [`commit_scale`] after a successful write
/// so that `behavior` rate limits see the event.
pub fn reconcile<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    state: &mut HpaState,
) -> Decision {
    let mut d = Decision::default();
    reconcile_with_into(config, input, state, &mut d, compute_metric);
    d
}

/// [`reconcile`] into `out`, reusing its buffers (a caller that keeps the last decision of each
/// HPA allocates nothing per sync), with resource metrics tallied by `join` when given: a
/// [`PodSampleJoin`] built from exactly `input.pods` and `input.metrics.pod_metrics` (one built
/// from other pods or entries must not be passed; its cheap guards catch only other lengths).
pub fn reconcile_into<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    join: Option<&PodSampleJoin>,
    state: &mut HpaState,
    out: &mut Decision,
) {
    reconcile_with_into(config, input, state, out, |config, input, tol, metric| {
        compute_metric_joined(config, input, tol, metric, join)
    });
}

/// [`reconcile`] with the per-metric calculation passed in (the tests pass the map-based oracle).
#[cfg(test)]
pub(crate) fn reconcile_with<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    state: &mut HpaState,
    compute_metric: impl Fn(
        &HpaControllerConfig,
        &HpaInput<'_, P>,
        Tolerances,
        &MetricSpec,
    ) -> Result<Calculation, HpaError>,
) -> Decision {
    let mut d = Decision::default();
    reconcile_with_into(config, input, state, &mut d, compute_metric);
    d
}

/// The reconcile itself, into `d` (every field overwritten).
fn reconcile_with_into<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    state: &mut HpaState,
    d: &mut Decision,
    compute_metric: impl Fn(
        &HpaControllerConfig,
        &HpaInput<'_, P>,
        Tolerances,
        &MetricSpec,
    ) -> Result<Calculation, HpaError>,
) {
    let spec = input.spec;
    let current = input.scale.spec_replicas;
    state.record_initial_recommendation(current, input.now);
    d.desired_replicas = current;
    d.current_replicas = current;
    d.rescale = false;
    d.recommendation = None;
    d.limited_by = LimitedBy::None;
    d.conditions.clear();
    d.set(HpaConditionType::AbleToScale, ConditionStatus::True, "SucceededGetScale");
    let min = spec.min_replicas;

    let desired = if current == 0 && min != 0 {
        d.metrics.clear();
        d.set(HpaConditionType::ScalingActive, ConditionStatus::False, "ScalingDisabled");
        return;
    } else if current > spec.max_replicas {
        d.metrics.clear();
        d.limited_by = LimitedBy::Max;
        spec.max_replicas
    } else if current < min {
        d.metrics.clear();
        d.limited_by = LimitedBy::Min;
        min
    } else {
        let tol = tolerances(config, spec);
        let default_metrics;
        let metrics: &[MetricSpec] = if spec.metrics.is_empty() {
            default_metrics = [MetricSpec::default_cpu()];
            &default_metrics
        } else {
            &spec.metrics
        };
        let mut best: Option<i32> = None;
        let mut first_failure: Option<MetricType> = None;
        let mut invalid = 0usize;
        for (i, m) in metrics.iter().enumerate() {
            let result = compute_metric(config, input, tol, m);
            let line = d.metric_line(i, m.metric_type());
            line.metric_type = m.metric_type();
            line.name.clear();
            line.name.push_str(m.name_str());
            line.proposal = None;
            line.usage_ratio = 0.0;
            line.ready_pods = 0;
            line.unready_pods = 0;
            line.missing_pods = 0;
            line.ignored_pods = 0;
            line.utilization_percent = None;
            line.value_milli = 0;
            line.error = None;
            match result {
                Ok(c) => {
                    line.proposal = Some(c.replicas);
                    line.usage_ratio = c.usage_ratio;
                    line.ready_pods = c.ready_pods;
                    line.unready_pods = c.unready_pods;
                    line.missing_pods = c.missing_pods;
                    line.ignored_pods = c.ignored_pods;
                    line.utilization_percent = c.utilization_percent;
                    line.value_milli = c.value_milli;
                    if best.is_none_or(|b| b == 0 || c.replicas > b) {
                        best = Some(c.replicas);
                    }
                }
                Err(e) => {
                    first_failure.get_or_insert(m.metric_type());
                    invalid += 1;
                    line.error = Some(e.to_string());
                }
            }
        }
        d.metrics.truncate(metrics.len());
        let proposal = best.unwrap_or(0);
        // All metrics failed, or some failed and the rest would scale down: do nothing.
        if invalid >= metrics.len() || (invalid > 0 && proposal < current) {
            let reason = first_failure.map_or("FailedGetResourceMetric", failure_reason);
            d.set(HpaConditionType::ScalingActive, ConditionStatus::False, reason);
            return;
        }
        d.set(HpaConditionType::ScalingActive, ConditionStatus::True, "ValidMetricFound");
        let n = match &spec.behavior {
            None => normalize_legacy(
                state,
                input.now,
                config.downscale_stabilization_window,
                current,
                proposal,
                min,
                spec.max_replicas,
                config.scale_up_limit_factor,
                config.scale_up_limit_minimum,
            ),
            Some(b) => normalize_with_behavior(
                state,
                input.now,
                &b.resolve(config.downscale_stabilization_window),
                current,
                proposal,
                min,
                spec.max_replicas,
            ),
        };
        d.set(HpaConditionType::AbleToScale, ConditionStatus::True, n.able_to_scale_reason);
        let limited = if n.limited { ConditionStatus::True } else { ConditionStatus::False };
        d.set(HpaConditionType::ScalingLimited, limited, n.limited_reason);
        d.recommendation = Some(n.stabilized);
        d.limited_by = n.limited_by;
        n.desired
    };
    if desired != current {
        d.rescale = true;
        d.desired_replicas = desired;
        d.set(HpaConditionType::AbleToScale, ConditionStatus::True, "SucceededRescale");
    }
}

/// Records a successful scale write in `state` (`storeScaleEvent`; only with `behavior`).
pub fn commit_scale(
    config: &HpaControllerConfig,
    spec: &HpaSpec,
    decision: &Decision,
    state: &mut HpaState,
    now: SimTime,
) {
    let Some(b) = &spec.behavior else { return };
    if !decision.rescale {
        return;
    }
    let resolved = b.resolve(config.downscale_stabilization_window);
    let rules = if decision.desired_replicas > decision.current_replicas {
        &resolved.scale_up
    } else {
        &resolved.scale_down
    };
    let longest = SimDuration::from_secs(u64::try_from(rules.longest_policy_period_seconds()).unwrap_or(0));
    state.store_scale_event(decision.current_replicas, decision.desired_replicas, longest, now);
}

/// [`reconcile`] followed by [`commit_scale`], for callers whose scale writes always succeed.
pub fn reconcile_and_commit<P: HpaPod>(
    config: &HpaControllerConfig,
    input: &HpaInput<'_, P>,
    state: &mut HpaState,
) -> Decision {
    let d = reconcile(config, input, state);
    commit_scale(config, input.spec, &d, state, input.now);
    d
}
