//! `spec.workloads[]` → the per-pod [`PodWorkload`]s the cluster hands to kubelets.
//!
//! A workload entry describes containers; the cluster indexes a pod's containers init first, then
//! regular (the kubelet's order). So an entry is laid out against the pod templates it matches:
//! they must share one container layout (otherwise the selector is ambiguous and rejected).
//!
//! `requests: {rate, cpuPerRequest, baseCpu}` has two meanings. For pods behind a Service, `rate`
//! is the Service's total offered load ([`request_rate_curve`] → the cluster's `ServiceLoad`) and
//! each container's CPU is request-driven (`baseCpu + cpuPerRequest × its share`, the share being
//! the rate divided over the Service's ready endpoints at each metrics scrape); otherwise `rate`
//! reaches each pod as is and the CPU is a fixed curve of time.

use std::sync::Arc;

use kubesim_api::{LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, PodSpec};
use kubesim_workload::spec::parse_rate_per_sec;
use kubesim_workload::{
    Amount, ContainerWorkload, Curve, Demand, DemandSpec, HealthSpec, MemorySpec, PodWorkload, WorkloadSpec,
};

use crate::format::{ContainerBehaviour, QuantityValue, SelectorSpec};

/// A selector as written → a [`LabelSelector`]; `Err` names the offending key.
pub fn parse_selector(spec: &SelectorSpec) -> Result<LabelSelector, (String, String)> {
    let structured = !spec.is_empty() && spec.keys().all(|k| k == "matchLabels" || k == "matchExpressions");
    let mut out = LabelSelector::default();
    if !structured {
        for (k, v) in spec {
            out.match_labels
                .insert(k.clone(), scalar(v).ok_or_else(|| (k.clone(), "expected a string".into()))?);
        }
        return Ok(out);
    }
    if let Some(labels) = spec.get("matchLabels") {
        let map = labels.as_mapping().ok_or_else(|| ("matchLabels".into(), "expected a mapping".into()))?;
        for (k, v) in map {
            let key = scalar(k).unwrap_or_default();
            let value =
                scalar(v).ok_or_else(|| (format!("matchLabels.{key}"), "expected a string".into()))?;
            out.match_labels.insert(key, value);
        }
    }
    if let Some(exprs) = spec.get("matchExpressions") {
        let seq = exprs.as_sequence().ok_or_else(|| ("matchExpressions".into(), "expected a list".into()))?;
        for (i, e) in seq.iter().enumerate() {
            let field = |f: &str| format!("matchExpressions[{i}].{f}");
            let key = e.get("key").and_then(scalar).ok_or_else(|| (field("key"), "required".into()))?;
            let operator = match e.get("operator").and_then(scalar).as_deref() {
                Some("In") => LabelSelectorOperator::In,
                Some("NotIn") => LabelSelectorOperator::NotIn,
                Some("Exists") => LabelSelectorOperator::Exists,
                Some("DoesNotExist") => LabelSelectorOperator::DoesNotExist,
                _ => {
                    return Err((field("operator"), "expected In, NotIn, Exists or DoesNotExist".into()));
                }
            };
            let values = e
                .get("values")
                .and_then(|v| v.as_sequence())
                .map(|s| s.iter().filter_map(scalar).collect())
                .unwrap_or_default();
            out.match_expressions.push(LabelSelectorRequirement { key, operator, values });
        }
    }
    Ok(out)
}

fn scalar(v: &yaml_serde::Value) -> Option<String> {
    match v {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An amount of CPU (`5m`, `0.5`, `2`) in millicores, exactly (kubesim-manifests' quantity).
pub fn cpu_millis(q: &QuantityValue) -> Result<i64, String> {
    kubesim_manifests::Quantity::parse(&q.text()).map(|q| q.milli_value()).map_err(|e| e.to_string())
}

/// An amount of bytes (`200Mi`) or plain units, exactly.
pub fn units(q: &QuantityValue) -> Result<i64, String> {
    kubesim_manifests::Quantity::parse(&q.text()).map(|q| q.value()).map_err(|e| e.to_string())
}

/// An amount of requests per second, in thousandths (the rate model's unit).
fn milli_units(a: &Amount) -> Result<i64, String> {
    match a {
        Amount::Units(v) => v.checked_mul(1000).ok_or_else(|| "too large".to_string()),
        Amount::Quantity(s) => {
            kubesim_manifests::Quantity::parse(s).map(|q| q.milli_value()).map_err(|e| e.to_string())
        }
    }
}

/// `rate` (req/s) × `per_request_millis` (CPU millicores per req/s) + `base`, as a CPU demand model
/// in millicores. Every demand shape is linear in its amounts, so scaling the amounts scales the
/// curve (the diurnal clamp at zero commutes with a positive factor).
fn scale_rate(rate: &DemandSpec, per_request_millis: i64, base_millis: i64) -> Result<DemandSpec, String> {
    let conv = |a: &Amount, add: i64| -> Result<Amount, String> {
        let milli_rps = milli_units(a)?;
        let cpu = (i128::from(milli_rps) * i128::from(per_request_millis)).div_euclid(1000) + i128::from(add);
        i64::try_from(cpu).map(Amount::Units).map_err(|_| "too large".to_string())
    };
    let points = |pts: &[(sim_core::SimDuration, Amount)]| -> Result<Vec<_>, String> {
        pts.iter().map(|(t, a)| Ok((*t, conv(a, base_millis)?))).collect()
    };
    Ok(match rate {
        DemandSpec::Constant(a) => DemandSpec::Constant(conv(a, base_millis)?),
        DemandSpec::Steps(p) => DemandSpec::Steps(points(p)?),
        DemandSpec::Ramp { from, to, start, duration } => DemandSpec::Ramp {
            from: conv(from, base_millis)?,
            to: conv(to, base_millis)?,
            start: *start,
            duration: *duration,
        },
        DemandSpec::Diurnal { mean, amplitude, period } => DemandSpec::Diurnal {
            mean: conv(mean, base_millis)?,
            amplitude: conv(amplitude, 0)?,
            period: *period,
        },
        DemandSpec::Series { points: p, interpolation } => {
            DemandSpec::Series { points: points(p)?, interpolation: *interpolation }
        }
        DemandSpec::Requests { .. } => return Err("a request rate cannot itself be request-driven".into()),
    })
}

/// A request rate (req/s, a demand model of plain numbers) as a curve in milli-requests per second
/// over the time since the start of the run: the cluster's `ServiceLoad`.
pub fn request_rate_curve(rate: &DemandSpec) -> Result<Curve, String> {
    // Scaling by 1000 "millicores per req/s" turns req/s amounts into milli-req/s units exactly.
    let milli = scale_rate(rate, 1000, 0)?;
    match milli.compile(Amount::cpu_millis).map_err(|e| e.to_string())? {
        Demand::Curve(c) => Ok(c),
        Demand::RequestDriven { .. } => Err("a request rate cannot itself be request-driven".into()),
    }
}

/// One container's behaviour: the shared fields, overridden field by field by `own`. With
/// `via_service`, `requests` makes the CPU request-driven (the rate comes from the Service load);
/// otherwise the rate is per pod and becomes a CPU curve.
pub fn compile_container(
    shared: &ContainerBehaviour,
    own: Option<&ContainerBehaviour>,
    via_service: bool,
) -> Result<ContainerWorkload, (String, String)> {
    let pick = |f: fn(&ContainerBehaviour) -> bool| own.filter(|o| f(o)).unwrap_or(shared);
    let cpu_src = pick(|b| b.cpu.is_some() || b.requests.is_some());
    let cpu = match (&cpu_src.cpu, &cpu_src.requests) {
        (Some(_), Some(_)) => return Err(("cpu".into(), "set either cpu or requests, not both".into())),
        (Some(c), None) => Some(c.clone()),
        (None, Some(r)) => {
            let per = cpu_millis(&r.cpu_per_request).map_err(|e| ("requests.cpuPerRequest".into(), e))?;
            let base = match &r.base_cpu {
                Some(b) => cpu_millis(b).map_err(|e| ("requests.baseCpu".into(), e))?,
                None => 0,
            };
            if via_service {
                request_rate_curve(&r.rate).map_err(|e| ("requests.rate".to_string(), e))?;
                Some(DemandSpec::Requests { per_request: Amount::Units(per), base: Amount::Units(base) })
            } else {
                Some(scale_rate(&r.rate, per, base).map_err(|e| ("requests.rate".into(), e))?)
            }
        }
        (None, None) => None,
    };
    let memory = match &pick(|b| b.memory.is_some()).memory {
        Some(m) => {
            let leak = match &m.leak {
                None | Some(QuantityValue::Int(0)) => None,
                Some(QuantityValue::Int(n)) => Some(format!("{n}/s")),
                Some(QuantityValue::Float(f)) if *f == 0.0 => None,
                Some(QuantityValue::Float(f)) => Some(format!("{f}/s")),
                Some(QuantityValue::Text(t)) => {
                    parse_rate_per_sec(t, 1).map_err(|e| ("memory.leak".into(), e.to_string()))?;
                    Some(t.clone())
                }
            };
            Some(MemorySpec { base: m.base.clone(), leak })
        }
        None => None,
    };
    let h = pick(|b| b.health.is_some()).health.clone().unwrap_or_default();
    let startup = pick(|b| b.startup.is_some()).startup.or(h.startup);
    let spec = WorkloadSpec {
        cpu,
        memory,
        health: HealthSpec { startup, hang_at: h.hang_at, crash_at: h.crash_at, crash_mtbf: h.crash_mtbf },
        completes_after: pick(|b| b.completes_after.is_some()).completes_after,
        exit_code: pick(|b| b.exit_code.is_some()).exit_code.unwrap_or(0),
        shutdown: pick(|b| b.shutdown.is_some()).shutdown.unwrap_or_default(),
    };
    spec.compile().map_err(|e| (String::new(), e.to_string()))
}

/// The container layout of a pod: init container names, then regular ones.
pub fn layout(spec: &PodSpec) -> (Vec<String>, Vec<String>) {
    (
        spec.init_containers.iter().map(|c| c.name.clone()).collect(),
        spec.containers.iter().map(|c| c.name.clone()).collect(),
    )
}

/// A [`PodWorkload`] for pods of `layout`: init containers keep their default (complete at once),
/// regular containers get the shared behaviour or their own override. `via_service`: see
/// [`compile_container`].
pub fn pod_workload(
    shared: &ContainerBehaviour,
    per_container: &std::collections::BTreeMap<String, ContainerBehaviour>,
    layout: &(Vec<String>, Vec<String>),
    via_service: bool,
) -> Result<PodWorkload, (String, String)> {
    let mut containers = Vec::new();
    for _ in &layout.0 {
        containers.push(PodWorkload::default_for(true));
    }
    for name in &layout.1 {
        let w = compile_container(shared, per_container.get(name), via_service).map_err(|(f, e)| {
            if f.is_empty() {
                (f, e)
            } else {
                (format!("containers.{name}.{f}"), e)
            }
        })?;
        containers.push(Arc::new(w));
    }
    Ok(PodWorkload { containers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn behaviour(yaml: &str) -> ContainerBehaviour {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn request_rate_times_cpu_per_request_gives_the_cpu_curve() {
        // 300 req/s mean ± 200 at 5m per req/s → 1500m ± 1000m.
        let b = behaviour(
            "requests: {rate: {diurnal: {mean: 300, amplitude: 200, period: 24h}}, cpuPerRequest: 5m}",
        );
        let w = compile_container(&b, None, false).unwrap();
        assert_eq!(w.cpu_millis.value(SimDuration::ZERO, 0), 1500);
        assert_eq!(w.cpu_millis.value(SimDuration::from_hours(6), 0), 2500);
    }

    #[test]
    fn behind_a_service_the_cpu_is_request_driven_and_the_rate_a_service_load() {
        // 2000 req/s from 5m; 2m per req/s plus 10m idle: a pod receiving 250 req/s uses
        // 10 + 2 × 250 = 510m.
        let b =
            behaviour("requests: {rate: {steps: [[0s, 200], [5m, 2000]]}, cpuPerRequest: 2m, baseCpu: 10m}");
        let w = compile_container(&b, None, true).unwrap();
        assert_eq!(w.cpu_millis, Demand::RequestDriven { base: 10, per_request: 2 });
        assert_eq!(w.cpu_millis.value(SimDuration::ZERO, 250_000), 510);
        let rate = request_rate_curve(&b.requests.unwrap().rate).unwrap();
        assert_eq!(rate.value_at(SimDuration::ZERO), 200_000);
        assert_eq!(rate.value_at(SimDuration::from_secs(300)), 2_000_000);
    }

    #[test]
    fn a_zero_leak_and_startup_shortcut_compile() {
        let b = behaviour("memory: {base: 200Mi, leak: 0}\nstartup: 20s");
        let w = compile_container(&b, None, false).unwrap();
        assert_eq!(w.memory_bytes.value_at(SimDuration::from_hours(3)), 200 << 20);
        assert!(!w.health.readiness.at(SimDuration::from_secs(19)).healthy);
        assert!(w.health.readiness.at(SimDuration::from_secs(20)).healthy);
    }

    #[test]
    fn a_per_container_override_wins_field_by_field() {
        let shared = behaviour("cpu: {constant: 100m}\nmemory: {base: 64Mi}");
        let own = behaviour("cpu: {constant: 300m}");
        let w = compile_container(&shared, Some(&own), false).unwrap();
        assert_eq!(w.cpu_millis.value(SimDuration::ZERO, 0), 300);
        assert_eq!(w.memory_bytes.value_at(SimDuration::ZERO), 64 << 20);
    }

    #[test]
    fn selectors_read_plain_labels_or_match_expressions() {
        let s: SelectorSpec = yaml_serde::from_str("{app: web, tier: \"1\"}").unwrap();
        let sel = parse_selector(&s).unwrap();
        assert_eq!(sel.match_labels.get("tier").map(String::as_str), Some("1"));
        let s: SelectorSpec =
            yaml_serde::from_str("{matchExpressions: [{key: app, operator: In, values: [web, api]}]}")
                .unwrap();
        let sel = parse_selector(&s).unwrap();
        assert_eq!(sel.match_expressions[0].values, vec!["web", "api"]);
        let s: SelectorSpec =
            yaml_serde::from_str("{matchExpressions: [{key: app, operator: Near}]}").unwrap();
        assert_eq!(parse_selector(&s).unwrap_err().0, "matchExpressions[0].operator");
    }
}
