//! What the HPA controller reads, from a cluster dump: HorizontalPodAutoscalers (`autoscaling/v2`),
//! their scale targets (Deployments, ReplicaSets, with `status.replicas`), Pods, the metrics APIs'
//! answers (`metrics.k8s.io/v1beta1` PodMetrics / PodMetricsList, `custom.metrics.k8s.io`
//! MetricValueList, `external.metrics.k8s.io/v1beta1` ExternalMetricValueList) and kubesim's own
//! `kubesim/v1 HPAState` (the controller's in-memory state, which no cluster exposes).
//!
//! [`load_autoscaling_str`] follows the conventions of [`load_str`](crate::load_str): typed decoding
//! through `k8s-openapi` for Kubernetes kinds, exact [`Quantity`] parsing (metrics-server's
//! nanocores `250000000n` included: usage is rounded **up** to millicores, as `MilliValue()`),
//! unknown fields as warnings, and errors naming file, document line, object and field. Kinds the
//! HPA does not read (Services, Nodes, …) are skipped with a warning; `List` documents (what
//! `kubectl get a,b,c -o yaml` prints) are walked item by item.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1 as appsv1;
use k8s_openapi::api::autoscaling::v2 as autoscalingv2;
use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use kubesim_api::autoscaling::{
    ContainerUsage, CrossVersionObjectReference, CustomMetricValue, DescribedObject, ExternalMetricValue,
    HorizontalPodAutoscaler, HpaBehavior, HpaMetricSource, HpaPolicyKind, HpaScalingPolicy, HpaScalingRules,
    HpaSelectPolicy, MetricIdentifier, MetricTarget, PodMetrics,
};
use kubesim_api::{LabelSelector, Labels, ObjectMeta, Pod, ResourceList, ResourceName};
use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use sim_core::{SimDuration, SimTime};
use yaml_serde::Value;

use crate::convert::common::{label_selector, meta, opt_label_selector, quantity, time, DEFAULT_NAMESPACE};
use crate::convert::{pod, workloads};
use crate::documents::{self, decode, locate_type_error, str_at};
use crate::error::{Diagnostic, FieldError, FieldResult, LoadError, Location, Warning};
use crate::quantity::Quantity;

/// An object with where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    /// The object.
    pub object: T,
    /// File, document and line.
    pub location: Location,
    /// `Kind namespace/name`, as diagnostics name it.
    pub name: String,
}

/// The scale subresource of a Deployment or ReplicaSet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaleTarget {
    /// `Deployment` or `ReplicaSet`.
    pub kind: String,
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.replicas` (default 1).
    pub spec_replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `status.replicas` (0 when the dump has no status).
    pub status_replicas: i32,
}

/// A `(timestamp, count)` entry of the HPA controller's logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedCount {
    /// When.
    pub timestamp: SimTime,
    /// Replicas (recommendations) or replica change (scale events).
    pub count: i32,
}

/// `controller:` of an HPAState: kube-controller-manager flags, each optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HpaControllerKnobs {
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: Option<f64>,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period: Option<SimDuration>,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub initial_readiness_delay: Option<SimDuration>,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`.
    pub downscale_stabilization_window: Option<SimDuration>,
}

/// `kubesim/v1 HPAState`: the HPA controller's in-memory state for one HPA.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HpaStateDocument {
    /// Name and namespace of the HPA it belongs to.
    pub meta: ObjectMeta,
    /// Evaluation time, if given.
    pub now: Option<SimTime>,
    /// The recommendation log (an absent list is an empty log).
    pub recommendations: Vec<TimedCount>,
    /// Scale-up events.
    pub scale_up_events: Vec<TimedCount>,
    /// Scale-down events.
    pub scale_down_events: Vec<TimedCount>,
    /// Controller flags.
    pub controller: HpaControllerKnobs,
}

/// Everything loaded for the HPA controller, in input order per kind.
#[derive(Clone, Debug, Default)]
pub struct AutoscalingInput {
    /// HorizontalPodAutoscalers.
    pub hpas: Vec<Located<HorizontalPodAutoscaler>>,
    /// Deployments and ReplicaSets.
    pub scale_targets: Vec<Located<ScaleTarget>>,
    /// Pods.
    pub pods: Vec<Located<Pod>>,
    /// PodMetrics.
    pub pod_metrics: Vec<PodMetrics>,
    /// Custom metric values.
    pub custom_metrics: Vec<CustomMetricValue>,
    /// External metric values.
    pub external_metrics: Vec<ExternalMetricValue>,
    /// HPAState documents.
    pub hpa_states: Vec<Located<HpaStateDocument>>,
    /// Unknown fields and skipped kinds.
    pub warnings: Vec<Warning>,
}

/// Loads an HPA dump (multi-document YAML or JSON). `origin` names it in diagnostics.
pub fn load_autoscaling_str(text: &str, origin: &str) -> Result<AutoscalingInput, LoadError> {
    let docs = documents::split(text, origin).map_err(|e| {
        LoadError::Invalid(Box::new(Diagnostic {
            location: e.location,
            object: None,
            field: None,
            message: format!("invalid YAML: {}", e.message),
        }))
    })?;
    let mut out = AutoscalingInput::default();
    for doc in docs {
        route(doc.value, &doc.location, Some(text), "", &mut out)?;
    }
    Ok(out)
}

fn invalid(location: &Location, object: Option<String>, field: Option<String>, message: String) -> LoadError {
    LoadError::Invalid(Box::new(Diagnostic { location: location.clone(), object, field, message }))
}

/// Where a document (or `List` item) is and how to word errors about it.
struct Ctx<'a> {
    location: &'a Location,
    text: Option<&'a str>,
    prefix: &'a str,
    object: String,
}

impl Ctx<'_> {
    fn field(&self, f: &str) -> String {
        format!("{}{f}", self.prefix)
    }

    fn decode<T: DeserializeOwned>(&self, value: Value, warnings: &mut Vec<Warning>) -> Result<T, LoadError> {
        let mut unknown = Vec::new();
        let typed = decode::<T>(value, &mut unknown).map_err(|e| {
            let mut location = self.location.clone();
            if let Some(line) = self.text.and_then(|t| locate_type_error::<T>(t, location.document)) {
                location.line = Some(line);
            }
            let message = match e.message.find(" at line ") {
                Some(i) => e.message[..i].to_string(),
                None => e.message,
            };
            invalid(&location, Some(self.object.clone()), e.field.map(|f| self.field(&f)), message)
        })?;
        for f in unknown {
            warnings.push(Warning {
                location: self.location.clone(),
                object: Some(self.object.clone()),
                field: Some(self.field(&f)),
                message: "unknown field: ignored".into(),
            });
        }
        Ok(typed)
    }

    fn convert<T>(&self, r: FieldResult<T>) -> Result<T, LoadError> {
        r.map_err(|e| {
            invalid(self.location, Some(self.object.clone()), Some(self.field(&e.field)), e.message)
        })
    }

    fn expect_version(&self, kind: &str, got: &str, served: &[&str]) -> Result<(), LoadError> {
        if served.contains(&got) {
            return Ok(());
        }
        Err(invalid(
            self.location,
            Some(self.object.clone()),
            Some(self.field("apiVersion")),
            format!("{got:?} is not served for {kind}: expected {}", served.join(" or ")),
        ))
    }
}

fn route(
    value: Value,
    location: &Location,
    text: Option<&str>,
    prefix: &str,
    out: &mut AutoscalingInput,
) -> Result<(), LoadError> {
    if !value.is_mapping() {
        return Err(invalid(
            location,
            None,
            (!prefix.is_empty()).then(|| prefix.trim_end_matches('.').to_string()),
            "expected a Kubernetes object (a mapping with apiVersion and kind)".into(),
        ));
    }
    let Some(kind) = str_at(&value, &["kind"]).map(str::to_string) else {
        return Err(invalid(location, None, Some(format!("{prefix}kind")), "required".into()));
    };
    let api_version = str_at(&value, &["apiVersion"]).unwrap_or("").to_string();
    let name = str_at(&value, &["metadata", "name"]).unwrap_or("<unnamed>");
    let namespace =
        str_at(&value, &["metadata", "namespace"]).filter(|n| !n.is_empty()).unwrap_or(DEFAULT_NAMESPACE);
    let is_list = kind.ends_with("List");
    let object = if is_list { kind.clone() } else { format!("{kind} {namespace}/{name}") };
    let ctx = Ctx { location, text, prefix, object };
    let v = api_version.as_str();
    match kind.as_str() {
        "HorizontalPodAutoscaler" => {
            ctx.expect_version(&kind, v, &["autoscaling/v2"])?;
            let typed: autoscalingv2::HorizontalPodAutoscaler = ctx.decode(value, &mut out.warnings)?;
            let object = ctx.convert(hpa(&typed))?;
            out.hpas.push(Located { object, location: location.clone(), name: ctx.object });
        }
        "Deployment" => {
            ctx.expect_version(&kind, v, &["apps/v1"])?;
            let typed: appsv1::Deployment = ctx.decode(value, &mut out.warnings)?;
            let d = ctx.convert(workloads::deployment(&typed))?;
            let status_replicas = typed.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let object = ScaleTarget {
                kind,
                meta: d.meta,
                spec_replicas: d.replicas,
                selector: d.selector,
                status_replicas,
            };
            out.scale_targets.push(Located { object, location: location.clone(), name: ctx.object });
        }
        "ReplicaSet" => {
            ctx.expect_version(&kind, v, &["apps/v1"])?;
            let typed: appsv1::ReplicaSet = ctx.decode(value, &mut out.warnings)?;
            let r = ctx.convert(workloads::replica_set(&typed))?;
            let object = ScaleTarget {
                kind,
                meta: r.meta,
                spec_replicas: r.replicas,
                selector: r.selector,
                status_replicas: r.status.replicas,
            };
            out.scale_targets.push(Located { object, location: location.clone(), name: ctx.object });
        }
        "Pod" => {
            ctx.expect_version(&kind, v, &["v1"])?;
            let typed: corev1::Pod = ctx.decode(value, &mut out.warnings)?;
            let object = ctx.convert(pod::pod(&typed))?;
            out.pods.push(Located { object, location: location.clone(), name: ctx.object });
        }
        "PodMetrics" => {
            ctx.expect_version(&kind, v, &[METRICS_V1BETA1])?;
            let raw: RawPodMetrics = ctx.decode(value, &mut out.warnings)?;
            out.pod_metrics.push(ctx.convert(raw.convert(""))?);
        }
        "PodMetricsList" => {
            ctx.expect_version(&kind, v, &[METRICS_V1BETA1])?;
            let raw: RawList<RawPodMetrics> = ctx.decode(value, &mut out.warnings)?;
            for (i, item) in raw.items.iter().enumerate() {
                out.pod_metrics.push(ctx.convert(item.convert(&format!("items[{i}].")))?);
            }
        }
        "MetricValueList" => {
            ctx.expect_version(&kind, v, &[CUSTOM_V1BETA2, CUSTOM_V1BETA1])?;
            let raw: RawList<RawMetricValue> = ctx.decode(value, &mut out.warnings)?;
            for (i, item) in raw.items.iter().enumerate() {
                out.custom_metrics.push(ctx.convert(item.convert(&format!("items[{i}]."), v))?);
            }
        }
        "ExternalMetricValueList" => {
            ctx.expect_version(&kind, v, &[EXTERNAL_V1BETA1])?;
            let raw: RawList<RawExternalMetricValue> = ctx.decode(value, &mut out.warnings)?;
            for (i, item) in raw.items.iter().enumerate() {
                out.external_metrics.push(ctx.convert(item.convert(&format!("items[{i}].")))?);
            }
        }
        "HPAState" => {
            ctx.expect_version(&kind, v, &[KUBESIM_V1])?;
            let raw: RawHpaState = ctx.decode(value, &mut out.warnings)?;
            let object = ctx.convert(raw.convert())?;
            out.hpa_states.push(Located { object, location: location.clone(), name: ctx.object });
        }
        _ if is_list && value.get("items").is_some_and(Value::is_sequence) => {
            let items = value.get("items").and_then(Value::as_sequence).cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                route(item, location, None, &format!("{prefix}items[{i}]."), out)?;
            }
        }
        _ => out.warnings.push(Warning {
            location: location.clone(),
            object: Some(ctx.object),
            field: None,
            message: "not read by the HPA controller: skipped".into(),
        }),
    }
    Ok(())
}

const METRICS_V1BETA1: &str = "metrics.k8s.io/v1beta1";
const CUSTOM_V1BETA2: &str = "custom.metrics.k8s.io/v1beta2";
const CUSTOM_V1BETA1: &str = "custom.metrics.k8s.io/v1beta1";
const EXTERNAL_V1BETA1: &str = "external.metrics.k8s.io/v1beta1";
const KUBESIM_V1: &str = "kubesim/v1";

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler

pub(crate) fn hpa(h: &autoscalingv2::HorizontalPodAutoscaler) -> FieldResult<HorizontalPodAutoscaler> {
    let meta = meta(&h.metadata, "HorizontalPodAutoscaler", true)?;
    let s = &h.spec;
    let min_replicas = s.min_replicas.unwrap_or(1);
    if min_replicas < 0 {
        return Err(FieldError::new(
            "spec.minReplicas",
            format!("invalid value {min_replicas}: must be greater than or equal to 0"),
        ));
    }
    if s.max_replicas < 1 || s.max_replicas < min_replicas {
        return Err(FieldError::new(
            "spec.maxReplicas",
            format!(
                "invalid value {}: must be at least 1 and at least minReplicas ({min_replicas})",
                s.max_replicas
            ),
        ));
    }
    let r = &s.scale_target_ref;
    if r.kind.is_empty() || r.name.is_empty() {
        return Err(FieldError::new("spec.scaleTargetRef", "kind and name are required"));
    }
    let metrics = s
        .metrics
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| metric(m, &format!("spec.metrics[{i}]")))
        .collect::<FieldResult<Vec<_>>>()?;
    let behavior = match &s.behavior {
        None => None,
        Some(b) => Some(HpaBehavior {
            scale_up: b.scale_up.as_ref().map(|r| rules(r, "spec.behavior.scaleUp")).transpose()?,
            scale_down: b.scale_down.as_ref().map(|r| rules(r, "spec.behavior.scaleDown")).transpose()?,
        }),
    };
    Ok(HorizontalPodAutoscaler {
        meta,
        scale_target_ref: object_reference(r),
        min_replicas,
        max_replicas: s.max_replicas,
        metrics,
        behavior,
    })
}

fn object_reference(r: &autoscalingv2::CrossVersionObjectReference) -> CrossVersionObjectReference {
    CrossVersionObjectReference {
        kind: r.kind.clone(),
        name: r.name.clone(),
        api_version: r.api_version.clone().unwrap_or_default(),
    }
}

fn required<'a, T>(v: Option<&'a T>, field: &str) -> FieldResult<&'a T> {
    v.ok_or_else(|| FieldError::new(field, "required"))
}

/// `target`, checked against the forms the source allows.
fn target(t: &autoscalingv2::MetricTarget, field: &str, allowed: &[&str]) -> FieldResult<MetricTarget> {
    if !allowed.contains(&t.type_.as_str()) {
        return Err(FieldError::new(
            format!("{field}.type"),
            format!("unsupported value {:?}: expected {}", t.type_, allowed.join(" or ")),
        ));
    }
    Ok(match t.type_.as_str() {
        "Utilization" => {
            let p = *required(t.average_utilization.as_ref(), &format!("{field}.averageUtilization"))?;
            if p <= 0 {
                return Err(FieldError::new(
                    format!("{field}.averageUtilization"),
                    format!("invalid value {p}: must be greater than 0"),
                ));
            }
            MetricTarget::Utilization(p)
        }
        "Value" => {
            let f = format!("{field}.value");
            MetricTarget::Value(positive_milli(required(t.value.as_ref(), &f)?, &f)?)
        }
        _ => {
            let f = format!("{field}.averageValue");
            MetricTarget::AverageValue(positive_milli(required(t.average_value.as_ref(), &f)?, &f)?)
        }
    })
}

fn positive_milli(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    field: &str,
) -> FieldResult<i64> {
    let v = quantity(q, field)?;
    if v.nanos() <= 0 {
        return Err(FieldError::new(field, format!("invalid value {:?}: must be positive", q.0)));
    }
    Ok(v.milli_value())
}

fn identifier(m: &autoscalingv2::MetricIdentifier, field: &str) -> FieldResult<MetricIdentifier> {
    if m.name.is_empty() {
        return Err(FieldError::new(format!("{field}.name"), "required"));
    }
    Ok(MetricIdentifier {
        name: m.name.clone(),
        selector: opt_label_selector(m.selector.as_ref(), &format!("{field}.selector"))?,
    })
}

const RESOURCE_TARGETS: [&str; 2] = ["Utilization", "AverageValue"];
const VALUE_TARGETS: [&str; 2] = ["Value", "AverageValue"];

fn metric(m: &autoscalingv2::MetricSpec, field: &str) -> FieldResult<HpaMetricSource> {
    Ok(match m.type_.as_str() {
        "Resource" => {
            let f = format!("{field}.resource");
            let r = required(m.resource.as_ref(), &f)?;
            HpaMetricSource::Resource {
                resource: ResourceName::parse(&r.name),
                target: target(&r.target, &format!("{f}.target"), &RESOURCE_TARGETS)?,
            }
        }
        "ContainerResource" => {
            let f = format!("{field}.containerResource");
            let r = required(m.container_resource.as_ref(), &f)?;
            if r.container.is_empty() {
                return Err(FieldError::new(format!("{f}.container"), "required"));
            }
            HpaMetricSource::ContainerResource {
                resource: ResourceName::parse(&r.name),
                container: r.container.clone(),
                target: target(&r.target, &format!("{f}.target"), &RESOURCE_TARGETS)?,
            }
        }
        "Pods" => {
            let f = format!("{field}.pods");
            let p = required(m.pods.as_ref(), &f)?;
            HpaMetricSource::Pods {
                metric: identifier(&p.metric, &format!("{f}.metric"))?,
                target: target(&p.target, &format!("{f}.target"), &["AverageValue"])?,
            }
        }
        "Object" => {
            let f = format!("{field}.object");
            let o = required(m.object.as_ref(), &f)?;
            HpaMetricSource::Object {
                described_object: object_reference(&o.described_object),
                metric: identifier(&o.metric, &format!("{f}.metric"))?,
                target: target(&o.target, &format!("{f}.target"), &VALUE_TARGETS)?,
            }
        }
        "External" => {
            let f = format!("{field}.external");
            let e = required(m.external.as_ref(), &f)?;
            HpaMetricSource::External {
                metric: identifier(&e.metric, &format!("{f}.metric"))?,
                target: target(&e.target, &format!("{f}.target"), &VALUE_TARGETS)?,
            }
        }
        other => {
            return Err(FieldError::new(
                format!("{field}.type"),
                format!(
                "unsupported value {other:?}: expected Resource, ContainerResource, Pods, Object or External"
            ),
            ))
        }
    })
}

fn rules(r: &autoscalingv2::HPAScalingRules, field: &str) -> FieldResult<HpaScalingRules> {
    if let Some(w) = r.stabilization_window_seconds {
        if !(0..=3600).contains(&w) {
            return Err(FieldError::new(
                format!("{field}.stabilizationWindowSeconds"),
                format!("invalid value {w}: must be between 0 and 3600"),
            ));
        }
    }
    let select_policy = match r.select_policy.as_deref() {
        None => None,
        Some("Max") => Some(HpaSelectPolicy::Max),
        Some("Min") => Some(HpaSelectPolicy::Min),
        Some("Disabled") => Some(HpaSelectPolicy::Disabled),
        Some(other) => {
            return Err(FieldError::new(
                format!("{field}.selectPolicy"),
                format!("unsupported value {other:?}: expected Max, Min or Disabled"),
            ))
        }
    };
    let policies = match &r.policies {
        None => None,
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(i, p)| policy(p, &format!("{field}.policies[{i}]")))
                .collect::<FieldResult<Vec<_>>>()?,
        ),
    };
    let tolerance_nanos = match &r.tolerance {
        None => None,
        Some(q) => {
            let f = format!("{field}.tolerance");
            let v = quantity(q, &f)?;
            if v.nanos() < 0 {
                return Err(FieldError::new(f, format!("invalid value {:?}: must not be negative", q.0)));
            }
            Some(i64::try_from(v.nanos()).unwrap_or(i64::MAX))
        }
    };
    Ok(HpaScalingRules {
        stabilization_window_seconds: r.stabilization_window_seconds,
        select_policy,
        policies,
        tolerance_nanos,
    })
}

fn policy(p: &autoscalingv2::HPAScalingPolicy, field: &str) -> FieldResult<HpaScalingPolicy> {
    let kind = match p.type_.as_str() {
        "Pods" => HpaPolicyKind::Pods,
        "Percent" => HpaPolicyKind::Percent,
        other => {
            return Err(FieldError::new(
                format!("{field}.type"),
                format!("unsupported value {other:?}: expected Pods or Percent"),
            ))
        }
    };
    if p.value <= 0 {
        return Err(FieldError::new(
            format!("{field}.value"),
            format!("invalid value {}: must be greater than 0", p.value),
        ));
    }
    if !(1..=1800).contains(&p.period_seconds) {
        return Err(FieldError::new(
            format!("{field}.periodSeconds"),
            format!("invalid value {}: must be between 1 and 1800", p.period_seconds),
        ));
    }
    Ok(HpaScalingPolicy { kind, value: p.value, period_seconds: p.period_seconds })
}

// ---------------------------------------------------------------------------------------------
// Metrics APIs (own serde structs: k8s-openapi does not carry aggregated APIs)

/// A quantity as YAML may spell it: a string (`250000000n`, `10500m`) or a bare number.
#[derive(Clone, Debug, PartialEq)]
struct QuantityText(String);

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QuantityText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"250m\", \"250000000n\" or 3")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl QuantityText {
    fn parse(&self, field: &str) -> FieldResult<Quantity> {
        Quantity::parse(self.0.trim()).map_err(|e| FieldError::new(field, e.to_string()))
    }
}

/// A duration as YAML may spell it: Go's `15.011s` / `1m0s`, kubesim's `5m`, or seconds.
#[derive(Clone, Debug, PartialEq)]
struct DurationText(String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        QuantityText::deserialize(d).map(|q| DurationText(q.0))
    }
}

impl DurationText {
    fn parse(&self, field: &str) -> FieldResult<SimDuration> {
        let t = self.0.trim();
        if let Ok(secs) = t.parse::<u64>() {
            return Ok(SimDuration::from_secs(secs));
        }
        t.parse::<SimDuration>().map_err(|e| FieldError::new(field, e.to_string()))
    }
}

#[derive(Deserialize)]
struct RawList<T> {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    #[serde(rename = "metadata")]
    _metadata: Option<metav1::ListMeta>,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainerMetrics {
    name: String,
    #[serde(default)]
    usage: BTreeMap<String, QuantityText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPodMetrics {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    metadata: metav1::ObjectMeta,
    timestamp: metav1::Time,
    window: DurationText,
    #[serde(default)]
    containers: Vec<RawContainerMetrics>,
}

impl RawPodMetrics {
    fn convert(&self, prefix: &str) -> FieldResult<PodMetrics> {
        let f = |s: &str| format!("{prefix}{s}");
        let meta =
            meta(&self.metadata, "PodMetrics", true).map_err(|e| FieldError::new(f(&e.field), e.message))?;
        let mut containers = Vec::new();
        for (i, c) in self.containers.iter().enumerate() {
            let mut usage = ResourceList::new();
            for (name, q) in &c.usage {
                let resource = ResourceName::parse(name);
                let parsed = q.parse(&f(&format!("containers[{i}].usage.{name}")))?;
                // Upstream reads usage with MilliValue() for every resource; canonical units
                // here are millicores for CPU and base units (rounded up) for the rest.
                let amount =
                    if resource == ResourceName::Cpu { parsed.milli_value() } else { parsed.value() };
                usage.set(resource, amount);
            }
            containers.push(ContainerUsage { name: c.name.clone(), usage });
        }
        Ok(PodMetrics {
            meta,
            timestamp: time(&self.timestamp, &f("timestamp"))?,
            window: self.window.parse(&f("window"))?,
            containers,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObjectReference {
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "uid")]
    _uid: Option<String>,
    #[serde(rename = "resourceVersion")]
    _resource_version: Option<String>,
    #[serde(rename = "fieldPath")]
    _field_path: Option<String>,
}

#[derive(Deserialize)]
struct RawMetricIdentifier {
    name: String,
    selector: Option<metav1::LabelSelector>,
}

/// v1beta2 (`metric: {name, selector}`, `windowSeconds`) and v1beta1 (`metricName`, `selector`,
/// `window`) item shapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetricValue {
    described_object: RawObjectReference,
    metric: Option<RawMetricIdentifier>,
    metric_name: Option<String>,
    selector: Option<metav1::LabelSelector>,
    timestamp: metav1::Time,
    window_seconds: Option<i64>,
    window: Option<i64>,
    value: QuantityText,
}

fn selector_labels(s: Option<&metav1::LabelSelector>, field: &str) -> FieldResult<Labels> {
    Ok(match s {
        Some(s) => label_selector(s, field)?.match_labels,
        None => Labels::new(),
    })
}

fn window_seconds(v: Option<i64>, field: &str) -> FieldResult<SimDuration> {
    match v {
        None => Ok(SimDuration::ZERO),
        Some(s) => u64::try_from(s)
            .map(SimDuration::from_secs)
            .map_err(|_| FieldError::new(field, format!("invalid value {s}: must not be negative"))),
    }
}

impl RawMetricValue {
    fn convert(&self, prefix: &str, api_version: &str) -> FieldResult<CustomMetricValue> {
        let f = |s: &str| format!("{prefix}{s}");
        let (metric_name, metric_labels) = match (&self.metric, &self.metric_name) {
            (Some(m), _) => (m.name.clone(), selector_labels(m.selector.as_ref(), &f("metric.selector"))?),
            (None, Some(n)) => (n.clone(), selector_labels(self.selector.as_ref(), &f("selector"))?),
            (None, None) => {
                let field = if api_version == CUSTOM_V1BETA1 { "metricName" } else { "metric" };
                return Err(FieldError::new(f(field), "required"));
            }
        };
        let o = &self.described_object;
        let kind = o.kind.clone().filter(|k| !k.is_empty());
        let name = o.name.clone().filter(|k| !k.is_empty());
        let (Some(kind), Some(name)) = (kind, name) else {
            return Err(FieldError::new(f("describedObject"), "kind and name are required"));
        };
        Ok(CustomMetricValue {
            described_object: DescribedObject {
                kind,
                namespace: o
                    .namespace
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
                name,
            },
            metric_name,
            metric_labels,
            timestamp: time(&self.timestamp, &f("timestamp"))?,
            window: window_seconds(self.window_seconds.or(self.window), &f("windowSeconds"))?,
            value_milli: self.value.parse(&f("value"))?.milli_value(),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExternalMetricValue {
    metric_name: String,
    #[serde(default)]
    metric_labels: Labels,
    timestamp: metav1::Time,
    window: Option<i64>,
    value: QuantityText,
}

impl RawExternalMetricValue {
    fn convert(&self, prefix: &str) -> FieldResult<ExternalMetricValue> {
        let f = |s: &str| format!("{prefix}{s}");
        Ok(ExternalMetricValue {
            metric_name: self.metric_name.clone(),
            metric_labels: self.metric_labels.clone(),
            timestamp: time(&self.timestamp, &f("timestamp"))?,
            window: window_seconds(self.window, &f("window"))?,
            value_milli: self.value.parse(&f("value"))?.milli_value(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// kubesim/v1 HPAState

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimedRecommendation {
    timestamp: metav1::Time,
    replicas: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimedEvent {
    timestamp: metav1::Time,
    replica_change: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKnobs {
    tolerance: Option<f64>,
    cpu_initialization_period: Option<DurationText>,
    initial_readiness_delay: Option<DurationText>,
    downscale_stabilization_window: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHpaState {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    metadata: metav1::ObjectMeta,
    now: Option<metav1::Time>,
    recommendations: Option<Vec<RawTimedRecommendation>>,
    scale_up_events: Option<Vec<RawTimedEvent>>,
    scale_down_events: Option<Vec<RawTimedEvent>>,
    controller: Option<RawKnobs>,
}

fn events(list: Option<&Vec<RawTimedEvent>>, field: &str) -> FieldResult<Vec<TimedCount>> {
    list.into_iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| {
            if e.replica_change < 0 {
                return Err(FieldError::new(
                    format!("{field}[{i}].replicaChange"),
                    format!("invalid value {}: must not be negative", e.replica_change),
                ));
            }
            Ok(TimedCount {
                timestamp: time(&e.timestamp, &format!("{field}[{i}].timestamp"))?,
                count: e.replica_change,
            })
        })
        .collect()
}

impl RawHpaState {
    fn convert(&self) -> FieldResult<HpaStateDocument> {
        let meta = meta(&self.metadata, "HPAState", true)?;
        let recommendations = self
            .recommendations
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| {
                Ok(TimedCount {
                    timestamp: time(&r.timestamp, &format!("recommendations[{i}].timestamp"))?,
                    count: r.replicas,
                })
            })
            .collect::<FieldResult<Vec<_>>>()?;
        let controller = match &self.controller {
            None => HpaControllerKnobs::default(),
            Some(k) => {
                if let Some(t) = k.tolerance.filter(|t| !(t.is_finite() && *t >= 0.0)) {
                    return Err(FieldError::new(
                        "controller.tolerance",
                        format!("invalid value {t}: must be a non-negative number"),
                    ));
                }
                let d = |v: &Option<DurationText>, f: &str| v.as_ref().map(|v| v.parse(f)).transpose();
                HpaControllerKnobs {
                    tolerance: k.tolerance,
                    cpu_initialization_period: d(
                        &k.cpu_initialization_period,
                        "controller.cpuInitializationPeriod",
                    )?,
                    initial_readiness_delay: d(
                        &k.initial_readiness_delay,
                        "controller.initialReadinessDelay",
                    )?,
                    downscale_stabilization_window: d(
                        &k.downscale_stabilization_window,
                        "controller.downscaleStabilizationWindow",
                    )?,
                }
            }
        };
        Ok(HpaStateDocument {
            meta,
            now: self.now.as_ref().map(|t| time(t, "now")).transpose()?,
            recommendations,
            scale_up_events: events(self.scale_up_events.as_ref(), "scaleUpEvents")?,
            scale_down_events: events(self.scale_down_events.as_ref(), "scaleDownEvents")?,
            controller,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: External
    external:
      metric: {name: queue_ready, selector: {matchLabels: {queue: orders}}}
      target: {type: AverageValue, averageValue: "30"}
  behavior:
    scaleDown: {tolerance: "0.05", policies: [{type: Pods, value: 1, periodSeconds: 60}]}
---
apiVersion: metrics.k8s.io/v1beta1
kind: PodMetricsList
metadata: {}
items:
- metadata: {name: web-1, namespace: shop, labels: {app: web}}
  timestamp: "2026-01-01T00:09:50Z"
  window: 15.011s
  containers:
  - name: app
    usage: {cpu: 250000000n, memory: 120Mi}
---
apiVersion: external.metrics.k8s.io/v1beta1
kind: ExternalMetricValueList
metadata: {}
items:
- metricName: queue_ready
  metricLabels: {queue: orders}
  timestamp: "2026-01-01T00:09:55Z"
  value: 130
---
apiVersion: custom.metrics.k8s.io/v1beta2
kind: MetricValueList
metadata: {}
items:
- describedObject: {kind: Pod, namespace: shop, name: web-1, apiVersion: /v1}
  metric: {name: rps}
  timestamp: "2026-01-01T00:09:55Z"
  windowSeconds: 60
  value: 10500m
---
apiVersion: kubesim/v1
kind: HPAState
metadata: {name: web, namespace: shop}
now: "2026-01-01T00:10:00Z"
recommendations: [{timestamp: "2026-01-01T00:08:00Z", replicas: 5}]
scaleUpEvents: [{timestamp: "2026-01-01T00:09:00Z", replicaChange: 2}]
controller: {tolerance: 0.1, cpuInitializationPeriod: 5m, initialReadinessDelay: 30s}
---
apiVersion: v1
kind: Service
metadata: {name: web}
"#;

    #[test]
    fn an_hpa_dump_loads_every_kind_with_exact_quantities() {
        let input = load_autoscaling_str(DUMP, "dump.yaml").unwrap();
        let h = &input.hpas[0].object;
        assert_eq!(h.min_replicas, 1, "minReplicas defaults to 1");
        assert_eq!(
            h.metrics[0],
            HpaMetricSource::Resource { resource: ResourceName::Cpu, target: MetricTarget::Utilization(60) }
        );
        let HpaMetricSource::External { metric, target } = &h.metrics[1] else { panic!("{h:?}") };
        assert_eq!(metric.selector.as_ref().unwrap().match_labels["queue"], "orders");
        assert_eq!(*target, MetricTarget::AverageValue(30_000));
        let down = h.behavior.as_ref().unwrap().scale_down.as_ref().unwrap();
        assert_eq!(down.tolerance_nanos, Some(50_000_000));
        // 250000000n = 250 millicores; 120Mi in bytes.
        let m = &input.pod_metrics[0];
        assert_eq!(m.containers[0].usage.cpu_millis(), 250);
        assert_eq!(m.containers[0].usage.memory_bytes(), 120 << 20);
        assert_eq!(m.window, SimDuration::from_millis(15_011));
        assert_eq!(input.external_metrics[0].value_milli, 130_000);
        assert_eq!(input.custom_metrics[0].value_milli, 10_500);
        assert_eq!(input.custom_metrics[0].window, SimDuration::from_secs(60));
        let s = &input.hpa_states[0].object;
        assert_eq!(s.recommendations[0].count, 5);
        assert_eq!(s.scale_up_events[0].count, 2);
        assert_eq!(s.controller.cpu_initialization_period, Some(SimDuration::from_mins(5)));
        assert_eq!(input.warnings.len(), 1, "{:?}", input.warnings);
        assert!(input.warnings[0].message.contains("skipped"));
    }

    #[test]
    fn a_bad_metric_quantity_names_file_object_and_field() {
        let text = DUMP.replace("250000000n", "lots");
        let err = load_autoscaling_str(&text, "dump.yaml").unwrap_err();
        let d = err.diagnostic().unwrap();
        assert_eq!(d.location.file, "dump.yaml");
        assert_eq!(d.object.as_deref(), Some("PodMetricsList"));
        assert_eq!(d.field.as_deref(), Some("items[0].containers[0].usage.cpu"));
    }

    #[test]
    fn a_resource_metric_with_a_value_target_is_rejected() {
        let text = DUMP.replace("type: Utilization, averageUtilization: 60", "type: Value, value: 1");
        let err = load_autoscaling_str(&text, "dump.yaml").unwrap_err();
        let d = err.diagnostic().unwrap();
        assert_eq!(d.object.as_deref(), Some("HorizontalPodAutoscaler shop/web"));
        assert_eq!(d.field.as_deref(), Some("spec.metrics[0].resource.target.type"));
    }

    #[test]
    fn the_wrong_api_version_of_an_hpa_is_an_error() {
        let text = DUMP.replace("autoscaling/v2", "autoscaling/v1");
        let err = load_autoscaling_str(&text, "dump.yaml").unwrap_err();
        assert_eq!(err.diagnostic().unwrap().field.as_deref(), Some("apiVersion"));
    }
}
