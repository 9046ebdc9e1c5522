//! What the HPA controller reads: the HPA's spec (autoscaling/v2, reduced to what decisions use),
//! the controller-manager flags, and the scale subresource of the target.
//!
//! Quantities in targets are **milli-units** (`Quantity.MilliValue()` upstream): `500m` CPU is 500,
//! `1Gi` memory is 1073741824000, a custom metric value of `10` is 10000. Utilization targets are
//! whole percent.

use kubesim_api::ResourceName;
use serde::Serialize;
use sim_core::SimDuration;

/// A metric's target for Resource and ContainerResource metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceTarget {
    /// `averageUtilization`: percent of the pods' requests.
    Utilization(i32),
    /// `averageValue`: per-pod usage in milli-units.
    AverageValue(i64),
}

/// A metric's target for Object and External metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueTarget {
    /// `value`: the whole metric, compared with `value / target` against ready pods.
    Value(i64),
    /// `averageValue`: the metric divided among `scale.status.replicas`.
    AverageValue(i64),
}

/// One entry of `spec.metrics`. Metric label selectors are resolved by whoever fills the
/// [`MetricsSnapshot`](super::MetricsSnapshot): the snapshot holds only the selected series.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSpec {
    /// `type: Resource` — summed over all containers of each pod.
    Resource {
        /// `cpu`, `memory`, …
        resource: ResourceName,
        /// Target.
        target: ResourceTarget,
    },
    /// `type: ContainerResource` — one named container of each pod.
    ContainerResource {
        /// `cpu`, `memory`, …
        resource: ResourceName,
        /// Container name.
        container: String,
        /// Target.
        target: ResourceTarget,
    },
    /// `type: Pods` — a per-pod custom metric with an `averageValue` target (milli-units).
    Pods {
        /// Metric name.
        metric: String,
        /// `averageValue` in milli-units.
        average_value_milli: i64,
    },
    /// `type: Object` — a metric describing one object (`Ingress/main`).
    Object {
        /// Metric name.
        metric: String,
        /// `kind/name` of the described object.
        described_object: String,
        /// Target.
        target: ValueTarget,
    },
    /// `type: External` — a metric from outside the cluster (sum of all returned series).
    External {
        /// Metric name.
        metric: String,
        /// Target.
        target: ValueTarget,
    },
}

/// The `type` column of a metric in decision records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MetricType {
    /// `Resource`.
    Resource,
    /// `ContainerResource`.
    ContainerResource,
    /// `Pods`.
    Pods,
    /// `Object`.
    Object,
    /// `External`.
    External,
}

impl MetricSpec {
    /// The metric's type.
    pub fn metric_type(&self) -> MetricType {
        match self {
            MetricSpec::Resource { .. } => MetricType::Resource,
            MetricSpec::ContainerResource { .. } => MetricType::ContainerResource,
            MetricSpec::Pods { .. } => MetricType::Pods,
            MetricSpec::Object { .. } => MetricType::Object,
            MetricSpec::External { .. } => MetricType::External,
        }
    }

    /// The metric's name as shown to users (`cpu`, `requests_per_second`).
    pub fn name(&self) -> String {
        self.name_str().to_string()
    }

    /// [`MetricSpec::name`], borrowed.
    pub fn name_str(&self) -> &str {
        match self {
            MetricSpec::Resource { resource, .. } | MetricSpec::ContainerResource { resource, .. } => {
                resource.as_str()
            }
            MetricSpec::Pods { metric, .. }
            | MetricSpec::Object { metric, .. }
            | MetricSpec::External { metric, .. } => metric,
        }
    }

    /// The default metric of an HPA with none: CPU at 80 % utilization
    /// (`autoscaling/v2 SetDefaults_HorizontalPodAutoscaler`).
    pub fn default_cpu() -> Self {
        MetricSpec::Resource { resource: ResourceName::Cpu, target: ResourceTarget::Utilization(80) }
    }
}

/// `behavior.*.policies[].type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// `Pods`: an absolute number of replicas per period.
    Pods,
    /// `Percent`: a percentage of the replicas at the start of the period.
    Percent,
}

/// One scaling policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Kind.
    pub kind: PolicyKind,
    /// Replicas or percent.
    pub value: i32,
    /// Look-back window in seconds.
    pub period_seconds: i32,
}

impl ScalingPolicy {
    /// A `Pods` policy.
    pub fn pods(value: i32, period_seconds: i32) -> Self {
        ScalingPolicy { kind: PolicyKind::Pods, value, period_seconds }
    }
    /// A `Percent` policy.
    pub fn percent(value: i32, period_seconds: i32) -> Self {
        ScalingPolicy { kind: PolicyKind::Percent, value, period_seconds }
    }
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (default).
    #[default]
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `behavior.scaleUp` / `behavior.scaleDown` as written by the user: every field optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`.
    pub stabilization_window_seconds: Option<i32>,
    /// `selectPolicy`.
    pub select_policy: Option<SelectPolicy>,
    /// `policies`: a given list replaces the default list entirely (even when empty).
    pub policies: Option<Vec<ScalingPolicy>>,
    /// `tolerance` (KEP-4951), as a fraction (`0.05` = 5 %).
    pub tolerance: Option<f64>,
}

/// `spec.behavior`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behavior {
    /// `scaleUp`.
    pub scale_up: Option<ScalingRules>,
    /// `scaleDown`.
    pub scale_down: Option<ScalingRules>,
}

/// Scaling rules with every default filled in (`GenerateHPAScaleUpRules/DownRules`, then the
/// controller's `maybeInitScaleDownStabilizationWindow`).
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedRules {
    /// Stabilization window in seconds.
    pub stabilization_window_seconds: i32,
    /// Policy selection.
    pub select_policy: SelectPolicy,
    /// Policies.
    pub policies: Vec<ScalingPolicy>,
    /// Per-direction tolerance if the user set one.
    pub tolerance: Option<f64>,
}

impl ResolvedRules {
    /// The longest policy period in seconds (0 without policies): scale events older than this are
    /// reusable slots (`getLongestPolicyPeriod`).
    pub fn longest_policy_period_seconds(&self) -> i32 {
        self.policies.iter().map(|p| p.period_seconds).max().unwrap_or(0)
    }
}

/// Both directions resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedBehavior {
    /// Scale-up rules.
    pub scale_up: ResolvedRules,
    /// Scale-down rules.
    pub scale_down: ResolvedRules,
}

impl Behavior {
    /// Fills defaults: scale-up window 0, Max, [Pods 4/15 s, Percent 100/15 s]; scale-down window
    /// from the controller flag, Max, [Percent 100/15 s].
    pub fn resolve(&self, downscale_window: SimDuration) -> ResolvedBehavior {
        let up_default = ResolvedRules {
            stabilization_window_seconds: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy::pods(4, 15), ScalingPolicy::percent(100, 15)],
            tolerance: None,
        };
        let down_default = ResolvedRules {
            stabilization_window_seconds: i32::try_from(downscale_window.as_secs()).unwrap_or(i32::MAX),
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy::percent(100, 15)],
            tolerance: None,
        };
        ResolvedBehavior {
            scale_up: overlay(self.scale_up.as_ref(), up_default),
            scale_down: overlay(self.scale_down.as_ref(), down_default),
        }
    }
}

fn overlay(user: Option<&ScalingRules>, mut rules: ResolvedRules) -> ResolvedRules {
    if let Some(user) = user {
        if let Some(w) = user.stabilization_window_seconds {
            rules.stabilization_window_seconds = w;
        }
        if let Some(s) = user.select_policy {
            rules.select_policy = s;
        }
        if let Some(p) = &user.policies {
            rules.policies = p.clone();
        }
        rules.tolerance = user.tolerance;
    }
    rules
}

/// The parts of a HorizontalPodAutoscaler's spec that decisions use.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (default 1; 0 allowed with the HPAScaleToZero gate).
    pub min_replicas: i32,
    /// `maxReplicas`.
    pub max_replicas: i32,
    /// `metrics` (an empty list means CPU at 80 %, as the API server defaults it).
    pub metrics: Vec<MetricSpec>,
    /// `behavior`; `None` selects the legacy normalization.
    pub behavior: Option<Behavior>,
}

impl HpaSpec {
    /// An HPA with the given bounds and metrics, no behavior.
    pub fn new(min_replicas: i32, max_replicas: i32, metrics: Vec<MetricSpec>) -> Self {
        HpaSpec { min_replicas, max_replicas, metrics, behavior: None }
    }

    /// Metrics after API defaulting.
    pub fn effective_metrics(&self) -> Vec<MetricSpec> {
        if self.metrics.is_empty() {
            vec![MetricSpec::default_cpu()]
        } else {
            self.metrics.clone()
        }
    }
}

/// The target's scale subresource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scale {
    /// `spec.replicas`: the `currentReplicas` of the controller.
    pub spec_replicas: i32,
    /// `status.replicas`: used by Object/External `AverageValue` targets.
    pub status_replicas: i32,
}

/// kube-controller-manager HPA flags and the version switches that change decisions.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaControllerConfig {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s): how often each HPA is reconciled.
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min).
    pub downscale_stabilization_window: SimDuration,
    /// Legacy scale-up limit factor (2; upstream's `horizontal_test.go` sets 8).
    pub scale_up_limit_factor: f64,
    /// Legacy scale-up limit minimum (4).
    pub scale_up_limit_minimum: f64,
    /// Gate HPAConfigurableTolerance (beta, on since v1.35): honour `behavior.*.tolerance`.
    pub configurable_tolerance: bool,
    /// Missing pods on a CPU scale-down count as `max(100, target)` % of their request (newer
    /// releases) rather than always 100 %.
    pub missing_fallback_uses_target: bool,
    /// Gate PodLevelResources: pod-level requests replace the container sum when set.
    pub pod_level_resources: bool,
}

impl Default for HpaControllerConfig {
    fn default() -> Self {
        HpaControllerConfig {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            cpu_initialization_period: SimDuration::from_mins(5),
            initial_readiness_delay: SimDuration::from_secs(30),
            downscale_stabilization_window: SimDuration::from_mins(5),
            scale_up_limit_factor: 2.0,
            scale_up_limit_minimum: 4.0,
            configurable_tolerance: true,
            missing_fallback_uses_target: true,
            pod_level_resources: true,
        }
    }
}

impl HpaControllerConfig {
    /// The values upstream's unit tests use: CPU initialization 2 min, readiness delay 10 s.
    pub fn upstream_unit_tests() -> Self {
        HpaControllerConfig {
            cpu_initialization_period: SimDuration::from_mins(2),
            initial_readiness_delay: SimDuration::from_secs(10),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_defaults_fill_both_directions() {
        let b = Behavior::default().resolve(SimDuration::from_secs(300));
        assert_eq!(b.scale_up.stabilization_window_seconds, 0);
        assert_eq!(b.scale_up.policies, vec![ScalingPolicy::pods(4, 15), ScalingPolicy::percent(100, 15)]);
        assert_eq!(b.scale_down.stabilization_window_seconds, 300);
        assert_eq!(b.scale_down.policies, vec![ScalingPolicy::percent(100, 15)]);
        assert_eq!(b.scale_down.select_policy, SelectPolicy::Max);
    }

    #[test]
    fn a_user_policy_list_replaces_the_default_list() {
        let b = Behavior {
            scale_up: Some(ScalingRules {
                policies: Some(vec![ScalingPolicy::percent(50, 60)]),
                ..Default::default()
            }),
            scale_down: Some(ScalingRules { stabilization_window_seconds: Some(60), ..Default::default() }),
        }
        .resolve(SimDuration::from_secs(300));
        assert_eq!(b.scale_up.policies, vec![ScalingPolicy::percent(50, 60)]);
        assert_eq!(b.scale_up.longest_policy_period_seconds(), 60);
        assert_eq!(b.scale_down.stabilization_window_seconds, 60);
        assert_eq!(b.scale_down.policies, vec![ScalingPolicy::percent(100, 15)]);
    }

    #[test]
    fn an_hpa_without_metrics_targets_cpu_at_80_percent() {
        let spec = HpaSpec::new(1, 10, vec![]);
        assert_eq!(spec.effective_metrics(), vec![MetricSpec::default_cpu()]);
    }
}
