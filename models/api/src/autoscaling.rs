//! HorizontalPodAutoscaler (`autoscaling/v2`) and the metrics API objects it reads
//! (`metrics.k8s.io/v1beta1` PodMetrics, `custom.metrics.k8s.io/v1beta2` MetricValue,
//! `external.metrics.k8s.io/v1beta1` ExternalMetricValue).
//!
//! Quantities are held as `MilliValue()` (milli-units: `500m` CPU is 500, a custom metric of `10`
//! is 10000) except resource usage, which is a [`ResourceList`] in canonical units.

use sim_core::{SimDuration, SimTime};

use crate::meta::{Labels, ObjectMeta};
use crate::resources::{ResourceList, ResourceName};
use crate::selectors::LabelSelector;

/// `spec.scaleTargetRef`, `describedObject`: an object named by kind and name in the HPA's
/// namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrossVersionObjectReference {
    /// `kind` (`Deployment`).
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `apiVersion` (`apps/v1`), empty when not given.
    pub api_version: String,
}

/// `target` of a metric: exactly one of the three forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricTarget {
    /// `type: Utilization`, `averageUtilization` in percent of the pods' requests.
    Utilization(i32),
    /// `type: Value`, `value` in milli-units.
    Value(i64),
    /// `type: AverageValue`, `averageValue` in milli-units.
    AverageValue(i64),
}

/// `metric` of Pods, Object and External sources: a name and an optional label selector on the
/// metric's series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricIdentifier {
    /// Metric name.
    pub name: String,
    /// `selector`; `None` selects every series.
    pub selector: Option<LabelSelector>,
}

/// One `spec.metrics[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HpaMetricSource {
    /// `type: Resource`.
    Resource {
        /// Resource.
        resource: ResourceName,
        /// Target (Utilization or AverageValue).
        target: MetricTarget,
    },
    /// `type: ContainerResource`.
    ContainerResource {
        /// Resource.
        resource: ResourceName,
        /// Container name.
        container: String,
        /// Target (Utilization or AverageValue).
        target: MetricTarget,
    },
    /// `type: Pods`.
    Pods {
        /// Metric.
        metric: MetricIdentifier,
        /// Target (AverageValue).
        target: MetricTarget,
    },
    /// `type: Object`.
    Object {
        /// The described object.
        described_object: CrossVersionObjectReference,
        /// Metric.
        metric: MetricIdentifier,
        /// Target (Value or AverageValue).
        target: MetricTarget,
    },
    /// `type: External`.
    External {
        /// Metric.
        metric: MetricIdentifier,
        /// Target (Value or AverageValue).
        target: MetricTarget,
    },
}

/// `behavior.*.policies[].type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpaPolicyKind {
    /// `Pods`.
    Pods,
    /// `Percent`.
    Percent,
}

/// One `behavior.*.policies[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaScalingPolicy {
    /// Kind.
    pub kind: HpaPolicyKind,
    /// Replicas or percent.
    pub value: i32,
    /// `periodSeconds`.
    pub period_seconds: i32,
}

/// `behavior.*.selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpaSelectPolicy {
    /// `Max`.
    Max,
    /// `Min`.
    Min,
    /// `Disabled`.
    Disabled,
}

/// `behavior.scaleUp` / `behavior.scaleDown`, every field as written (defaults are the
/// controller's business).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaScalingRules {
    /// `stabilizationWindowSeconds`.
    pub stabilization_window_seconds: Option<i32>,
    /// `selectPolicy`.
    pub select_policy: Option<HpaSelectPolicy>,
    /// `policies` (a given list, even empty, replaces the defaults).
    pub policies: Option<Vec<HpaScalingPolicy>>,
    /// `tolerance` in nano-units (`0.05` is 50 000 000), KEP-4951.
    pub tolerance_nanos: Option<i64>,
}

/// `spec.behavior`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaBehavior {
    /// `scaleUp`.
    pub scale_up: Option<HpaScalingRules>,
    /// `scaleDown`.
    pub scale_down: Option<HpaScalingRules>,
}

/// A HorizontalPodAutoscaler (`autoscaling/v2`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HorizontalPodAutoscaler {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.scaleTargetRef`.
    pub scale_target_ref: CrossVersionObjectReference,
    /// `spec.minReplicas` (default 1).
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// `spec.metrics` (empty: the API server's default, CPU at 80 %).
    pub metrics: Vec<HpaMetricSource>,
    /// `spec.behavior`; `None` selects the controller's legacy normalization.
    pub behavior: Option<HpaBehavior>,
}

/// Usage of one container in a [`PodMetrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerUsage {
    /// Container name.
    pub name: String,
    /// Usage in canonical units (CPU millicores, rounded up from nanocores; memory bytes).
    pub usage: ResourceList,
}

/// A `metrics.k8s.io/v1beta1` PodMetrics: a pod's usage averaged over `window` ending at
/// `timestamp`. `meta.labels` are the pod's labels (metrics-server copies them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodMetrics {
    /// Metadata (name and namespace of the pod).
    pub meta: ObjectMeta,
    /// End of the sampling window.
    pub timestamp: SimTime,
    /// Length of the sampling window.
    pub window: SimDuration,
    /// Per container.
    pub containers: Vec<ContainerUsage>,
}

/// An object a custom metric describes (`describedObject`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribedObject {
    /// Kind (`Pod`, `Ingress`).
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One item of a `custom.metrics.k8s.io` MetricValueList.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomMetricValue {
    /// The object the value describes.
    pub described_object: DescribedObject,
    /// Metric name.
    pub metric_name: String,
    /// The metric's labels (`metric.selector.matchLabels`), used to match HPA metric selectors.
    pub metric_labels: Labels,
    /// Sample time.
    pub timestamp: SimTime,
    /// Sample window (`windowSeconds`), zero when not given.
    pub window: SimDuration,
    /// Value in milli-units.
    pub value_milli: i64,
}

/// One item of an `external.metrics.k8s.io/v1beta1` ExternalMetricValueList.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalMetricValue {
    /// Metric name.
    pub metric_name: String,
    /// `metricLabels` of the series.
    pub metric_labels: Labels,
    /// Sample time.
    pub timestamp: SimTime,
    /// Sample window (`window`), zero when not given.
    pub window: SimDuration,
    /// Value in milli-units.
    pub value_milli: i64,
}
