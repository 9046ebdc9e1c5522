//! Service (`v1`) and PodDisruptionBudget (`policy/v1`) → kubesim's API structs, with the API
//! server's defaulting (`targetPort` = `port`, protocol TCP) and the validation that would reject
//! the object at admission.

use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::api::policy::v1 as policyv1;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubesim_api::disruption::{PodDisruptionBudget, UnhealthyPodEvictionPolicy};
use kubesim_api::services::{Service, ServicePort, TargetPort};
use kubesim_api::IntOrPercent;

use super::common::{int_or_percent, meta, opt_label_selector};
use super::pod::protocol;
use crate::error::{FieldError, FieldResult};

fn port_number(v: i32, field: &str) -> FieldResult<i32> {
    if (1..=65535).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(field, format!("invalid value {v}: must be between 1 and 65535, inclusive")))
    }
}

pub(crate) fn service(s: &corev1::Service) -> FieldResult<Service> {
    let meta = meta(&s.metadata, "Service", true)?;
    let spec = s.spec.clone().unwrap_or_default();
    let raw_ports = spec.ports.unwrap_or_default();
    let mut ports = Vec::with_capacity(raw_ports.len());
    for (i, p) in raw_ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        let name = p.name.clone().unwrap_or_default();
        // ValidateService: every port needs a name once there are several.
        if raw_ports.len() > 1 && name.is_empty() {
            return Err(FieldError::new(format!("{path}.name"), "required when there is more than one port"));
        }
        let port = port_number(p.port, &format!("{path}.port"))?;
        let target_port = match &p.target_port {
            None => TargetPort::Number(port),
            Some(IntOrString::Int(0)) => TargetPort::Number(port),
            Some(IntOrString::Int(n)) => TargetPort::Number(port_number(*n, &format!("{path}.targetPort"))?),
            Some(IntOrString::String(s)) if s.is_empty() => TargetPort::Number(port),
            Some(IntOrString::String(s)) => TargetPort::Name(s.clone()),
        };
        ports.push(ServicePort {
            name,
            port,
            target_port,
            protocol: protocol(p.protocol.as_deref(), &format!("{path}.protocol"))?,
        });
    }
    Ok(Service {
        meta,
        selector: spec.selector.filter(|s| !s.is_empty()),
        ports,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
    })
}

/// `minAvailable`/`maxUnavailable`: a non-negative count or a percentage in 0..=100
/// (`ValidatePodDisruptionBudgetSpec`).
fn budget(v: Option<&IntOrString>, field: &str) -> FieldResult<Option<IntOrPercent>> {
    let Some(v) = v else { return Ok(None) };
    let parsed = int_or_percent(v, field)?;
    match parsed {
        IntOrPercent::Int(n) if n < 0 => {
            Err(FieldError::new(field, format!("invalid value {n}: must be greater than or equal to 0")))
        }
        IntOrPercent::Percent(p) if !(0..=100).contains(&p) => {
            Err(FieldError::new(field, format!("invalid value \"{p}%\": must be between 0% and 100%")))
        }
        ok => Ok(Some(ok)),
    }
}

pub(crate) fn pdb(p: &policyv1::PodDisruptionBudget) -> FieldResult<PodDisruptionBudget> {
    let meta = meta(&p.metadata, "PodDisruptionBudget", true)?;
    let spec = p.spec.clone().unwrap_or_default();
    let min_available = budget(spec.min_available.as_ref(), "spec.minAvailable")?;
    let max_unavailable = budget(spec.max_unavailable.as_ref(), "spec.maxUnavailable")?;
    if min_available.is_some() && max_unavailable.is_some() {
        return Err(FieldError::new("spec", "minAvailable and maxUnavailable cannot be both set"));
    }
    let unhealthy_pod_eviction_policy = match spec.unhealthy_pod_eviction_policy.as_deref() {
        None | Some("") | Some("IfHealthyBudget") => UnhealthyPodEvictionPolicy::IfHealthyBudget,
        Some("AlwaysAllow") => UnhealthyPodEvictionPolicy::AlwaysAllow,
        Some(other) => {
            return Err(FieldError::new(
                "spec.unhealthyPodEvictionPolicy",
                format!("unsupported value {other:?}: expected IfHealthyBudget or AlwaysAllow"),
            ))
        }
    };
    Ok(PodDisruptionBudget {
        meta,
        selector: opt_label_selector(spec.selector.as_ref(), "spec.selector")?,
        min_available,
        max_unavailable,
        unhealthy_pod_eviction_policy,
        status: Default::default(),
    })
}
