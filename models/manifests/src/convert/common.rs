//! Conversions shared by every kind: metadata, timestamps, quantities, selectors, int-or-percent.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubesim_api::{
    IntOrPercent, LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, NodeSelector,
    NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, ObjectMeta, OwnerReference,
    ResourceList, ResourceName,
};
use sim_core::SimTime;

use crate::error::{FieldError, FieldResult};
use crate::quantity::Quantity;

/// The namespace a namespaced object gets when its manifest names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The uid the loader gives an object whose manifest has none: `kubesim:<Kind>:<namespace>/<name>`
/// (`kubesim:<Kind>:<name>` when cluster-scoped). Deterministic, readable, and unique per object.
pub fn synthetic_uid(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("kubesim:{kind}:{name}")
    } else {
        format!("kubesim:{kind}:{namespace}/{name}")
    }
}

/// An RFC 3339 timestamp as [`SimTime`]: nanoseconds since the Unix epoch. Earlier instants are
/// errors (SimTime is unsigned).
pub(crate) fn time(t: &metav1::Time, field: &str) -> FieldResult<SimTime> {
    let nanos = t.0.as_nanosecond();
    u64::try_from(nanos).map(SimTime::from_nanos).map_err(|_| {
        FieldError::new(field, format!("timestamp {} is before the Unix epoch (1970-01-01T00:00:00Z)", t.0))
    })
}

pub(crate) fn opt_time(t: Option<&metav1::Time>, field: &str) -> FieldResult<Option<SimTime>> {
    t.map(|t| time(t, field)).transpose()
}

/// `metadata`, with the namespace defaulted for namespaced kinds and a uid invented when absent.
pub(crate) fn meta(m: &metav1::ObjectMeta, kind: &str, namespaced: bool) -> FieldResult<ObjectMeta> {
    let name = m.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(FieldError::new("metadata.name", "required (generateName is not supported)"));
    }
    let namespace = if namespaced {
        m.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
    } else {
        String::new()
    };
    let uid =
        m.uid.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| synthetic_uid(kind, &namespace, &name));
    let owner_references = m
        .owner_references
        .iter()
        .flatten()
        .map(|o| OwnerReference {
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
            controller: o.controller.unwrap_or(false),
        })
        .collect();
    Ok(ObjectMeta {
        name: name.into(),
        namespace: namespace.into(),
        uid: uid.into(),
        labels: m.labels.clone().unwrap_or_default().into(),
        annotations: m.annotations.clone().unwrap_or_default().into(),
        owner_references,
        creation_timestamp: opt_time(m.creation_timestamp.as_ref(), "metadata.creationTimestamp")?
            .unwrap_or_default(),
        deletion_timestamp: opt_time(m.deletion_timestamp.as_ref(), "metadata.deletionTimestamp")?,
        deletion_grace_period_seconds: m.deletion_grace_period_seconds,
        generation: m.generation.unwrap_or(0),
        // Real resourceVersions are opaque strings; keep the number when there is one.
        resource_version: m.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0),
    })
}

/// One quantity, trimmed of surrounding whitespace as upstream's JSON decoding does.
pub(crate) fn quantity(q: &K8sQuantity, field: &str) -> FieldResult<Quantity> {
    Quantity::parse(q.0.trim()).map_err(|e| FieldError::new(field, e.to_string()))
}

/// A resource map in canonical units: CPU via `MilliValue()`, everything else via `Value()`.
pub(crate) fn resource_list(
    map: Option<&BTreeMap<String, K8sQuantity>>,
    field: &str,
) -> FieldResult<ResourceList> {
    let mut list = ResourceList::new();
    for (name, q) in map.into_iter().flatten() {
        let resource = ResourceName::parse(name);
        let parsed = quantity(q, &format!("{field}.{name}"))?;
        let amount = if resource == ResourceName::Cpu { parsed.milli_value() } else { parsed.value() };
        list.set(resource, amount);
    }
    Ok(list)
}

pub(crate) fn label_selector(s: &metav1::LabelSelector, field: &str) -> FieldResult<LabelSelector> {
    let mut match_expressions = Vec::new();
    for (i, r) in s.match_expressions.iter().flatten().enumerate() {
        let path = format!("{field}.matchExpressions[{i}]");
        let operator = match r.operator.as_str() {
            "In" => LabelSelectorOperator::In,
            "NotIn" => LabelSelectorOperator::NotIn,
            "Exists" => LabelSelectorOperator::Exists,
            "DoesNotExist" => LabelSelectorOperator::DoesNotExist,
            other => {
                return Err(FieldError::new(
                    format!("{path}.operator"),
                    format!("unsupported value {other:?}: expected In, NotIn, Exists or DoesNotExist"),
                ))
            }
        };
        let values = r.values.clone().unwrap_or_default();
        let needs_values = matches!(operator, LabelSelectorOperator::In | LabelSelectorOperator::NotIn);
        if needs_values == values.is_empty() {
            let rule = if needs_values {
                "must be non-empty for In and NotIn"
            } else {
                "must be empty for Exists and DoesNotExist"
            };
            return Err(FieldError::new(format!("{path}.values"), rule));
        }
        match_expressions.push(LabelSelectorRequirement { key: r.key.clone(), operator, values });
    }
    Ok(LabelSelector { match_labels: s.match_labels.clone().unwrap_or_default(), match_expressions })
}

pub(crate) fn opt_label_selector(
    s: Option<&metav1::LabelSelector>,
    field: &str,
) -> FieldResult<Option<LabelSelector>> {
    s.map(|s| label_selector(s, field)).transpose()
}

fn node_selector_requirement(
    r: &k8s_openapi::api::core::v1::NodeSelectorRequirement,
    path: &str,
) -> FieldResult<NodeSelectorRequirement> {
    let operator = match r.operator.as_str() {
        "In" => NodeSelectorOperator::In,
        "NotIn" => NodeSelectorOperator::NotIn,
        "Exists" => NodeSelectorOperator::Exists,
        "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
        "Gt" => NodeSelectorOperator::Gt,
        "Lt" => NodeSelectorOperator::Lt,
        other => {
            return Err(FieldError::new(
                format!("{path}.operator"),
                format!("unsupported value {other:?}: expected In, NotIn, Exists, DoesNotExist, Gt or Lt"),
            ))
        }
    };
    Ok(NodeSelectorRequirement { key: r.key.clone(), operator, values: r.values.clone().unwrap_or_default() })
}

pub(crate) fn node_selector_term(
    t: &k8s_openapi::api::core::v1::NodeSelectorTerm,
    field: &str,
) -> FieldResult<NodeSelectorTerm> {
    let exprs = t.match_expressions.iter().flatten().enumerate();
    let fields = t.match_fields.iter().flatten().enumerate();
    Ok(NodeSelectorTerm {
        match_expressions: exprs
            .map(|(i, r)| node_selector_requirement(r, &format!("{field}.matchExpressions[{i}]")))
            .collect::<FieldResult<_>>()?,
        match_fields: fields
            .map(|(i, r)| node_selector_requirement(r, &format!("{field}.matchFields[{i}]")))
            .collect::<FieldResult<_>>()?,
    })
}

pub(crate) fn node_selector(
    s: &k8s_openapi::api::core::v1::NodeSelector,
    field: &str,
) -> FieldResult<NodeSelector> {
    let terms = s
        .node_selector_terms
        .iter()
        .enumerate()
        .map(|(i, t)| node_selector_term(t, &format!("{field}.nodeSelectorTerms[{i}]")))
        .collect::<FieldResult<_>>()?;
    Ok(NodeSelector { terms })
}

/// `maxSurge: 25%` or `maxSurge: 2`.
pub(crate) fn int_or_percent(v: &IntOrString, field: &str) -> FieldResult<IntOrPercent> {
    match v {
        IntOrString::Int(i) => Ok(IntOrPercent::Int(*i)),
        IntOrString::String(s) => {
            s.strip_suffix('%').and_then(|p| p.parse::<i32>().ok()).map(IntOrPercent::Percent).ok_or_else(
                || FieldError::new(field, format!("invalid value {s:?}: must be an integer or a percentage")),
            )
        }
    }
}

/// Rejects negative counts the API validation would reject.
pub(crate) fn non_negative<T: PartialOrd + Default + std::fmt::Display + Copy>(
    v: T,
    field: &str,
) -> FieldResult<T> {
    if v < T::default() {
        Err(FieldError::new(field, format!("invalid value {v}: must be greater than or equal to 0")))
    } else {
        Ok(v)
    }
}
