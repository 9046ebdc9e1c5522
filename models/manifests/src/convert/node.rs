//! Nodes.

use k8s_openapi::api::core::v1 as corev1;
use kubesim_api::{ContainerImage, Node, NodeCondition, NodeConditionType, NodeSpec, NodeStatus, Taint};

use super::common::{meta, opt_time, resource_list};
use super::pod::{condition_status, parse_taint_effect};
use crate::error::FieldResult;

/// Converts a `v1/Node`. Allocatable defaults to capacity when absent (as a kubelet without
/// reservations reports it).
pub(crate) fn node(n: &corev1::Node) -> FieldResult<Node> {
    let meta = meta(&n.metadata, "Node", false)?;
    let mut spec = NodeSpec::default();
    if let Some(s) = &n.spec {
        spec.unschedulable = s.unschedulable.unwrap_or(false);
        for (i, t) in s.taints.iter().flatten().enumerate() {
            let path = format!("spec.taints[{i}]");
            spec.taints.push(Taint {
                key: t.key.clone(),
                value: t.value.clone().unwrap_or_default(),
                effect: parse_taint_effect(&t.effect, &format!("{path}.effect"))?,
                time_added: opt_time(t.time_added.as_ref(), &format!("{path}.timeAdded"))?,
            });
        }
    }
    let mut status = NodeStatus::default();
    if let Some(s) = &n.status {
        status.capacity = resource_list(s.capacity.as_ref(), "status.capacity")?;
        status.allocatable = match &s.allocatable {
            Some(a) if !a.is_empty() => resource_list(Some(a), "status.allocatable")?,
            _ => status.capacity.clone(),
        };
        for (i, c) in s.conditions.iter().flatten().enumerate() {
            let path = format!("status.conditions[{i}]");
            let kind = match c.type_.as_str() {
                "Ready" => NodeConditionType::Ready,
                "MemoryPressure" => NodeConditionType::MemoryPressure,
                "DiskPressure" => NodeConditionType::DiskPressure,
                "PIDPressure" => NodeConditionType::PidPressure,
                "NetworkUnavailable" => NodeConditionType::NetworkUnavailable,
                other => NodeConditionType::Other(other.to_string()),
            };
            status.conditions.push(NodeCondition {
                kind,
                status: condition_status(&c.status, &format!("{path}.status"))?,
                last_heartbeat_time: opt_time(
                    c.last_heartbeat_time.as_ref(),
                    &format!("{path}.lastHeartbeatTime"),
                )?,
                last_transition_time: opt_time(
                    c.last_transition_time.as_ref(),
                    &format!("{path}.lastTransitionTime"),
                )?,
                reason: c.reason.clone(),
            });
        }
        status.images = s
            .images
            .iter()
            .flatten()
            .map(|im| ContainerImage {
                names: im.names.clone().unwrap_or_default(),
                size_bytes: im.size_bytes.unwrap_or(0),
            })
            .collect();
    }
    Ok(Node { meta, spec, status })
}
