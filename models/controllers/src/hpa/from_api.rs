//! API objects → the HPA decision core's inputs: the `autoscaling/v2` object to an [`HpaSpec`], and
//! the metrics APIs' answers to a [`MetricsSnapshot`] holding only what the controller's metrics
//! client would have been given (`metrics/client.go`: resource metrics by namespace and the target's
//! pod selector; custom Pods metrics for the selected pods; Object metrics for the described object;
//! External metrics filtered by the metric's selector).

use std::borrow::Borrow;

use kubesim_api::autoscaling::{
    CustomMetricValue, ExternalMetricValue, HorizontalPodAutoscaler, HpaBehavior, HpaMetricSource,
    HpaPolicyKind, HpaScalingRules, HpaSelectPolicy, MetricIdentifier, MetricTarget,
    PodMetrics as ApiPodMetrics,
};
use kubesim_api::{LabelSelector, Pod};

use super::samples::{ContainerMetrics, MetricsSnapshot, PodMetricValue, PodMetrics};
use super::spec::{
    Behavior, HpaSpec, MetricSpec, PolicyKind, ResourceTarget, ScalingPolicy, ScalingRules, SelectPolicy,
    ValueTarget,
};

/// A target form the metric source does not allow (API validation rejects these).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: target type not allowed for this metric source")]
pub struct InvalidTarget {
    /// `spec.metrics[i]`.
    pub field: String,
}

fn resource_target(t: &MetricTarget, field: &str) -> Result<ResourceTarget, InvalidTarget> {
    match *t {
        MetricTarget::Utilization(p) => Ok(ResourceTarget::Utilization(p)),
        MetricTarget::AverageValue(v) => Ok(ResourceTarget::AverageValue(v)),
        MetricTarget::Value(_) => Err(InvalidTarget { field: field.to_string() }),
    }
}

fn value_target(t: &MetricTarget, field: &str) -> Result<ValueTarget, InvalidTarget> {
    match *t {
        MetricTarget::Value(v) => Ok(ValueTarget::Value(v)),
        MetricTarget::AverageValue(v) => Ok(ValueTarget::AverageValue(v)),
        MetricTarget::Utilization(_) => Err(InvalidTarget { field: field.to_string() }),
    }
}

/// `kind/name` of an Object metric's described object, as [`MetricsSnapshot::objects`] keys it.
pub fn described_object_key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

fn rules(r: &HpaScalingRules) -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: r.stabilization_window_seconds,
        select_policy: r.select_policy.map(|s| match s {
            HpaSelectPolicy::Max => SelectPolicy::Max,
            HpaSelectPolicy::Min => SelectPolicy::Min,
            HpaSelectPolicy::Disabled => SelectPolicy::Disabled,
        }),
        policies: r.policies.as_ref().map(|ps| {
            ps.iter()
                .map(|p| ScalingPolicy {
                    kind: match p.kind {
                        HpaPolicyKind::Pods => PolicyKind::Pods,
                        HpaPolicyKind::Percent => PolicyKind::Percent,
                    },
                    value: p.value,
                    period_seconds: p.period_seconds,
                })
                .collect()
        }),
        // Upstream: `Quantity.AsApproximateFloat64()`.
        tolerance: r.tolerance_nanos.map(|n| n as f64 / 1e9),
    }
}

fn behavior(b: &HpaBehavior) -> Behavior {
    Behavior { scale_up: b.scale_up.as_ref().map(rules), scale_down: b.scale_down.as_ref().map(rules) }
}

/// The decision core's view of an HPA object.
pub fn spec_from_api(hpa: &HorizontalPodAutoscaler) -> Result<HpaSpec, InvalidTarget> {
    let mut metrics = Vec::new();
    for (i, m) in hpa.metrics.iter().enumerate() {
        let field = format!("spec.metrics[{i}]");
        metrics.push(match m {
            HpaMetricSource::Resource { resource, target } => {
                MetricSpec::Resource { resource: resource.clone(), target: resource_target(target, &field)? }
            }
            HpaMetricSource::ContainerResource { resource, container, target } => {
                MetricSpec::ContainerResource {
                    resource: resource.clone(),
                    container: container.clone(),
                    target: resource_target(target, &field)?,
                }
            }
            HpaMetricSource::Pods { metric, target } => match *target {
                MetricTarget::AverageValue(v) => {
                    MetricSpec::Pods { metric: metric.name.clone(), average_value_milli: v }
                }
                _ => return Err(InvalidTarget { field }),
            },
            HpaMetricSource::Object { described_object, metric, target } => MetricSpec::Object {
                metric: metric.name.clone(),
                described_object: described_object_key(&described_object.kind, &described_object.name),
                target: value_target(target, &field)?,
            },
            HpaMetricSource::External { metric, target } => {
                MetricSpec::External { metric: metric.name.clone(), target: value_target(target, &field)? }
            }
        });
    }
    Ok(HpaSpec {
        min_replicas: hpa.min_replicas,
        max_replicas: hpa.max_replicas,
        metrics,
        behavior: hpa.behavior.as_ref().map(behavior),
    })
}

/// The pods of the scale target: same namespace, matching the target's selector. `P` is how the
/// caller holds pods (`Pod`, `Arc<Pod>`): the result clones that handle.
pub fn target_pods<'a, P: Borrow<Pod> + Clone + 'a>(
    namespace: &str,
    selector: &LabelSelector,
    pods: impl IntoIterator<Item = &'a P>,
) -> Vec<P> {
    pods.into_iter()
        .filter(|p| {
            let p: &Pod = (*p).borrow();
            p.meta.namespace == namespace && selector.matches(&p.meta.labels)
        })
        .cloned()
        .collect()
}

/// Whether `name` is one of `pods`: a binary search when `pods` are in strictly ascending name
/// order (as the store lists them), a scan otherwise.
fn name_lookup<P: Borrow<Pod>>(pods: &[P]) -> impl Fn(&str) -> bool + '_ {
    fn name<P: Borrow<Pod>>(p: &P) -> &str {
        p.borrow().meta.name.as_str()
    }
    // Checked on the first lookup only: most callers pass no unlabelled PodMetrics, and the
    // check reads every pod's name.
    let sorted = std::cell::OnceCell::new();
    move |wanted: &str| {
        if *sorted.get_or_init(|| pods.windows(2).all(|w| name(&w[0]) < name(&w[1]))) {
            pods.binary_search_by(|p| name(p).cmp(wanted)).is_ok()
        } else {
            pods.iter().any(|p| name(p) == wanted)
        }
    }
}

fn series_selected(metric: &MetricIdentifier, labels: &kubesim_api::Labels) -> bool {
    metric.selector.as_ref().is_none_or(|s| s.matches(labels))
}

/// What the metrics APIs would answer the controller for `hpa` whose target selects
/// `target_selector`; `pods` are the target's pods (from [`target_pods`]).
///
/// * PodMetrics: same namespace and, when the PodMetrics carries labels (metrics-server copies the
///   pod's), matching the selector; without labels, naming one of `pods`.
/// * Pods metrics: values describing one of `pods`, with the metric's name and selector.
/// * Object metrics: the value describing the named object (the last one, if repeated).
/// * External metrics: every series of the name in the namespace whose labels the metric's
///   selector matches (no selector: all).
pub fn snapshot_from_api<M: Borrow<ApiPodMetrics>, P: Borrow<Pod>>(
    hpa: &HorizontalPodAutoscaler,
    target_selector: &LabelSelector,
    pods: &[P],
    pod_metrics: &[M],
    custom: &[CustomMetricValue],
    external: &[ExternalMetricValue],
) -> MetricsSnapshot {
    let ns = hpa.meta.namespace.as_str();
    let is_target_pod = name_lookup(pods);
    let pod_metrics = pod_metrics
        .iter()
        .map(M::borrow)
        .filter(|m| m.meta.namespace == ns)
        .filter(|m| {
            if m.meta.labels.is_empty() {
                is_target_pod(&m.meta.name)
            } else {
                target_selector.matches(&m.meta.labels)
            }
        })
        .map(|m| {
            std::sync::Arc::new(PodMetrics {
                pod_name: m.meta.name.as_str().into(),
                timestamp: m.timestamp,
                window: m.window,
                containers: m
                    .containers
                    .iter()
                    .map(|c| ContainerMetrics { name: c.name.clone(), usage: c.usage.clone() })
                    .collect(),
            })
        })
        .collect();
    let mut snap = MetricsSnapshot { pod_metrics, ..Default::default() };
    for source in &hpa.metrics {
        match source {
            HpaMetricSource::Pods { metric, .. } => {
                let values = custom
                    .iter()
                    .filter(|v| {
                        v.metric_name == metric.name
                            && v.described_object.kind == "Pod"
                            && v.described_object.namespace == ns
                            && is_target_pod(&v.described_object.name)
                            && series_selected(metric, &v.metric_labels)
                    })
                    .map(|v| PodMetricValue {
                        pod_name: v.described_object.name.clone(),
                        value_milli: v.value_milli,
                        timestamp: v.timestamp,
                        window: v.window,
                    })
                    .collect();
                snap.pods.insert(metric.name.clone(), values);
            }
            HpaMetricSource::Object { described_object, metric, .. } => {
                let found = custom.iter().rev().find(|v| {
                    v.metric_name == metric.name
                        && v.described_object.kind == described_object.kind
                        && v.described_object.name == described_object.name
                        && v.described_object.namespace == ns
                        && series_selected(metric, &v.metric_labels)
                });
                if let Some(v) = found {
                    let key = described_object_key(&described_object.kind, &described_object.name);
                    snap.objects.insert((metric.name.clone(), key), v.value_milli);
                }
            }
            HpaMetricSource::External { metric, .. } => {
                let values: Vec<i64> = external
                    .iter()
                    .filter(|v| v.metric_name == metric.name && series_selected(metric, &v.metric_labels))
                    .map(|v| v.value_milli)
                    .collect();
                snap.external.insert(metric.name.clone(), values);
            }
            HpaMetricSource::Resource { .. } | HpaMetricSource::ContainerResource { .. } => {}
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use kubesim_api::autoscaling::{ContainerUsage, CrossVersionObjectReference, DescribedObject};
    use kubesim_api::{ObjectMeta, ResourceList, ResourceName};
    use sim_core::{SimDuration, SimTime};

    use super::*;

    fn hpa(metrics: Vec<HpaMetricSource>) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            meta: ObjectMeta::named("shop", "web"),
            scale_target_ref: CrossVersionObjectReference {
                kind: "Deployment".into(),
                name: "web".into(),
                ..Default::default()
            },
            min_replicas: 1,
            max_replicas: 10,
            metrics,
            behavior: None,
        }
    }

    fn pod(name: &str, app: &str) -> Pod {
        let mut p = Pod { meta: ObjectMeta::named("shop", name), ..Default::default() };
        p.meta.labels.insert("app".into(), app.into());
        p
    }

    #[test]
    fn a_value_target_on_a_resource_metric_is_invalid() {
        let h = hpa(vec![HpaMetricSource::Resource {
            resource: ResourceName::Cpu,
            target: MetricTarget::Value(1),
        }]);
        assert_eq!(spec_from_api(&h).unwrap_err().field, "spec.metrics[0]");
    }

    #[test]
    fn behavior_tolerance_is_read_as_a_fraction() {
        let mut h = hpa(vec![]);
        h.behavior = Some(HpaBehavior {
            scale_up: Some(HpaScalingRules { tolerance_nanos: Some(50_000_000), ..Default::default() }),
            scale_down: None,
        });
        let spec = spec_from_api(&h).unwrap();
        assert_eq!(spec.behavior.unwrap().scale_up.unwrap().tolerance, Some(0.05));
        assert_eq!(spec.metrics, vec![]);
    }

    #[test]
    fn the_snapshot_keeps_only_what_the_metrics_client_would_be_given() {
        let selector = LabelSelector::from_labels([("app", "web")]);
        let all = [pod("web-1", "web"), pod("api-1", "api")];
        let pods = target_pods("shop", &selector, &all);
        assert_eq!(pods.len(), 1);
        let usage = |name: &str, labels: &[(&str, &str)]| {
            let mut m = ApiPodMetrics {
                meta: ObjectMeta::named("shop", name),
                timestamp: SimTime::from_secs(100),
                window: SimDuration::from_secs(15),
                containers: vec![ContainerUsage {
                    name: "app".into(),
                    usage: ResourceList::new().with_cpu_millis(100),
                }],
            };
            m.meta.labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            m
        };
        // Labelled metrics are selected by label (even for a pod the dump lacks); unlabelled ones by name.
        let metrics =
            [usage("web-1", &[]), usage("web-2", &[("app", "web")]), usage("api-1", &[("app", "api")])];
        let ext = |labels: &[(&str, &str)], v: i64| ExternalMetricValue {
            metric_name: "queue".into(),
            metric_labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            value_milli: v,
            ..Default::default()
        };
        let custom = vec![
            CustomMetricValue {
                described_object: DescribedObject {
                    kind: "Pod".into(),
                    namespace: "shop".into(),
                    name: "web-1".into(),
                },
                metric_name: "rps".into(),
                value_milli: 5000,
                ..Default::default()
            },
            CustomMetricValue {
                described_object: DescribedObject {
                    kind: "Pod".into(),
                    namespace: "shop".into(),
                    name: "api-1".into(),
                },
                metric_name: "rps".into(),
                value_milli: 9000,
                ..Default::default()
            },
        ];
        let h = hpa(vec![
            HpaMetricSource::Pods {
                metric: MetricIdentifier { name: "rps".into(), selector: None },
                target: MetricTarget::AverageValue(1000),
            },
            HpaMetricSource::External {
                metric: MetricIdentifier {
                    name: "queue".into(),
                    selector: Some(LabelSelector::from_labels([("q", "orders")])),
                },
                target: MetricTarget::Value(1000),
            },
        ]);
        let snap = snapshot_from_api(
            &h,
            &selector,
            &pods,
            &metrics,
            &custom,
            &[ext(&[("q", "orders")], 7000), ext(&[("q", "billing")], 100_000)],
        );
        let names: Vec<_> = snap.pod_metrics.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["web-1", "web-2"]);
        assert_eq!(snap.pods["rps"].len(), 1);
        assert_eq!(snap.pods["rps"][0].value_milli, 5000);
        assert_eq!(snap.external["queue"], vec![7000]);
    }

    #[test]
    fn shared_and_unsorted_pods_give_the_same_snapshot() {
        // Unlabelled PodMetrics are kept by name: web-1 and web-3 are target pods, web-2 is not.
        let selector = LabelSelector::from_labels([("app", "web")]);
        let all: Vec<std::sync::Arc<Pod>> = ["web-3", "web-1", "api-1"]
            .iter()
            .map(|n| std::sync::Arc::new(pod(n, if n.starts_with("web") { "web" } else { "api" })))
            .collect();
        let shared = target_pods("shop", &selector, &all);
        assert_eq!(shared.len(), 2);
        let usage = |name: &str| ApiPodMetrics {
            meta: ObjectMeta::named("shop", name),
            timestamp: SimTime::from_secs(100),
            window: SimDuration::from_secs(15),
            containers: vec![ContainerUsage {
                name: "app".into(),
                usage: ResourceList::new().with_cpu_millis(100),
            }],
        };
        let metrics = [usage("web-1"), usage("web-2"), usage("web-3")];
        let h = hpa(vec![]);
        let from_shared = snapshot_from_api(&h, &selector, &shared, &metrics, &[], &[]);
        let mut sorted: Vec<Pod> = shared.iter().map(|p| Pod::clone(p)).collect();
        sorted.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        let from_sorted = snapshot_from_api(&h, &selector, &sorted, &metrics, &[], &[]);
        assert_eq!(from_shared, from_sorted);
        let names: Vec<_> = from_sorted.pod_metrics.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["web-1", "web-3"]);
    }
}
