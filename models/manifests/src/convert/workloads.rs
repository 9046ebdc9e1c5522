//! PriorityClass, Deployment, ReplicaSet, Job, and the pod templates inside them.

use k8s_openapi::api::apps::v1 as appsv1;
use k8s_openapi::api::batch::v1 as batchv1;
use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::api::scheduling::v1 as schedulingv1;
use kubesim_api::{
    Deployment, DeploymentStrategy, IntOrPercent, Job, LabelSelector, PodTemplateSpec, PriorityClass,
    ReplicaSet, ReplicaSetStatus, RestartPolicy,
};

use super::common::{int_or_percent, label_selector, meta, non_negative};
use super::pod::{pod_spec, preemption_policy};
use crate::error::{FieldError, FieldResult};

/// Converts a `scheduling.k8s.io/v1` PriorityClass.
pub(crate) fn priority_class(p: &schedulingv1::PriorityClass) -> FieldResult<PriorityClass> {
    let meta = meta(&p.metadata, "PriorityClass", false)?;
    // `value` is required upstream; k8s-openapi makes it optional.
    let value = p.value.ok_or_else(|| FieldError::new("value", "required"))?;
    if value > 1_000_000_000 && !meta.name.starts_with("system-") {
        return Err(FieldError::new(
            "value",
            format!(
                "invalid value {value}: must not be greater than 1000000000 (reserved for system- classes)"
            ),
        ));
    }
    Ok(PriorityClass {
        meta,
        value,
        global_default: p.global_default.unwrap_or(false),
        preemption_policy: preemption_policy(p.preemption_policy.as_deref(), "preemptionPolicy")?,
    })
}

fn template(t: &corev1::PodTemplateSpec, field: &str) -> FieldResult<PodTemplateSpec> {
    let spec = match &t.spec {
        Some(s) => pod_spec(s, &format!("{field}.spec"))?,
        None => return Err(FieldError::new(format!("{field}.spec"), "required")),
    };
    let m = t.metadata.as_ref();
    Ok(PodTemplateSpec {
        labels: m.and_then(|m| m.labels.clone()).unwrap_or_default().into(),
        annotations: m.and_then(|m| m.annotations.clone()).unwrap_or_default().into(),
        spec,
    })
}

/// apps/v1 requires a non-empty selector that matches the template's labels.
fn workload_selector(
    s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    t: &PodTemplateSpec,
) -> FieldResult<LabelSelector> {
    let selector = label_selector(s, "spec.selector")?;
    if selector.is_empty() {
        return Err(FieldError::new("spec.selector", "empty selector is invalid for this workload"));
    }
    if !selector.matches(&t.labels) {
        return Err(FieldError::new(
            "spec.template.metadata.labels",
            "`selector` does not match template `labels`",
        ));
    }
    Ok(selector)
}

/// Converts an `apps/v1` Deployment with upstream defaults (replicas 1, RollingUpdate 25 %/25 %,
/// revisionHistoryLimit 10, progressDeadlineSeconds 600).
pub(crate) fn deployment(d: &appsv1::Deployment) -> FieldResult<Deployment> {
    let meta = meta(&d.metadata, "Deployment", true)?;
    let s = &d.spec;
    let template = template(&s.template, "spec.template")?;
    let selector = workload_selector(&s.selector, &template)?;
    if template.spec.restart_policy != RestartPolicy::Always {
        return Err(FieldError::new(
            "spec.template.spec.restartPolicy",
            "unsupported value: only Always is allowed",
        ));
    }
    let strategy = match s.strategy.as_ref() {
        None => DeploymentStrategy::default(),
        Some(st) => match st.type_.as_deref() {
            Some("Recreate") => {
                if st.rolling_update.is_some() {
                    return Err(FieldError::new(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                }
                DeploymentStrategy::Recreate
            }
            None | Some("") | Some("RollingUpdate") => {
                let ru = st.rolling_update.as_ref();
                let max_surge = match ru.and_then(|r| r.max_surge.as_ref()) {
                    Some(v) => int_or_percent(v, "spec.strategy.rollingUpdate.maxSurge")?,
                    None => IntOrPercent::Percent(25),
                };
                let max_unavailable = match ru.and_then(|r| r.max_unavailable.as_ref()) {
                    Some(v) => int_or_percent(v, "spec.strategy.rollingUpdate.maxUnavailable")?,
                    None => IntOrPercent::Percent(25),
                };
                if matches!(
                    (&max_surge, &max_unavailable),
                    (
                        IntOrPercent::Int(0) | IntOrPercent::Percent(0),
                        IntOrPercent::Int(0) | IntOrPercent::Percent(0)
                    )
                ) {
                    return Err(FieldError::new(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                DeploymentStrategy::RollingUpdate { max_surge, max_unavailable }
            }
            Some(other) => {
                return Err(FieldError::new(
                    "spec.strategy.type",
                    format!("unsupported value {other:?}: expected Recreate or RollingUpdate"),
                ))
            }
        },
    };
    Ok(Deployment {
        meta,
        replicas: non_negative(s.replicas.unwrap_or(1), "spec.replicas")?,
        selector,
        template,
        strategy,
        min_ready_seconds: non_negative(s.min_ready_seconds.unwrap_or(0), "spec.minReadySeconds")?,
        revision_history_limit: Some(non_negative(
            s.revision_history_limit.unwrap_or(10),
            "spec.revisionHistoryLimit",
        )?),
        progress_deadline_seconds: Some(s.progress_deadline_seconds.unwrap_or(600)),
        paused: s.paused.unwrap_or(false),
    })
}

/// Converts an `apps/v1` ReplicaSet (replicas default 1).
pub(crate) fn replica_set(r: &appsv1::ReplicaSet) -> FieldResult<ReplicaSet> {
    let meta = meta(&r.metadata, "ReplicaSet", true)?;
    let s = &r.spec;
    let template = match &s.template {
        Some(t) => template(t, "spec.template")?,
        None => return Err(FieldError::new("spec.template", "required")),
    };
    let selector = workload_selector(&s.selector, &template)?;
    let status = r
        .status
        .as_ref()
        .map(|st| ReplicaSetStatus {
            replicas: st.replicas,
            ready_replicas: st.ready_replicas.unwrap_or(0),
            available_replicas: st.available_replicas.unwrap_or(0),
            terminating_replicas: st.terminating_replicas.unwrap_or(0),
            observed_generation: st.observed_generation.unwrap_or(0),
        })
        .unwrap_or_default();
    Ok(ReplicaSet {
        meta,
        replicas: non_negative(s.replicas.unwrap_or(1), "spec.replicas")?,
        selector,
        template,
        min_ready_seconds: non_negative(s.min_ready_seconds.unwrap_or(0), "spec.minReadySeconds")?,
        status,
    })
}

/// Label keys a Job's controller puts on its pods (and selects them by) when the manifest sets no
/// selector (`manualSelector` unset), as upstream's Job defaulting does.
pub const JOB_CONTROLLER_UID_LABELS: [&str; 2] = ["batch.kubernetes.io/controller-uid", "controller-uid"];
/// Label keys carrying the Job's name on its pods.
pub const JOB_NAME_LABELS: [&str; 2] = ["batch.kubernetes.io/job-name", "job-name"];

/// Converts a `batch/v1` Job (parallelism and completions 1 when both absent, backoffLimit 6,
/// selector generated from the uid).
pub(crate) fn job(j: &batchv1::Job) -> FieldResult<Job> {
    let meta = meta(&j.metadata, "Job", true)?;
    let s = j.spec.as_ref().ok_or_else(|| FieldError::new("spec", "required"))?;
    let mut template = template(&s.template, "spec.template")?;
    if template.spec.restart_policy == RestartPolicy::Always {
        return Err(FieldError::new(
            "spec.template.spec.restartPolicy",
            "unsupported value \"Always\": expected OnFailure or Never",
        ));
    }
    // Upstream SetDefaults_Job: both unset means a single pod to completion.
    let (parallelism, completions) = match (s.parallelism, s.completions) {
        (None, None) => (1, Some(1)),
        (p, c) => (p.unwrap_or(1), c),
    };
    // A selector in the manifest is kept (cluster dumps carry the generated one); without one the
    // controller's generated selector and pod labels are added.
    let selector = if let Some(sel) = &s.selector {
        label_selector(sel, "spec.selector")?
    } else if s.manual_selector == Some(true) {
        return Err(FieldError::new("spec.selector", "required when manualSelector is true"));
    } else {
        for key in JOB_CONTROLLER_UID_LABELS {
            template.labels.insert(key.to_string(), meta.uid.to_string());
        }
        for key in JOB_NAME_LABELS {
            template.labels.insert(key.to_string(), meta.name.to_string());
        }
        LabelSelector::from_labels([(JOB_CONTROLLER_UID_LABELS[0], meta.uid.as_str())])
    };
    Ok(Job {
        parallelism: non_negative(parallelism, "spec.parallelism")?,
        completions: completions.map(|c| non_negative(c, "spec.completions")).transpose()?,
        backoff_limit: non_negative(s.backoff_limit.unwrap_or(6), "spec.backoffLimit")?,
        active_deadline_seconds: s.active_deadline_seconds,
        selector,
        template,
        meta,
    })
}
