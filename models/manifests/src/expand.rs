//! Workloads in a *pods* file → the pods their controllers would create, for
//! `kubesim schedule --pods`: a Deployment's pods (through its ReplicaSet), a ReplicaSet's
//! `replicas`, a Job's first wave (`min(parallelism, completions)`), each stamped from the
//! template with owner references. Names are deterministic: `<rs-name>-<index>` and
//! `<job-name>-<index>`, where a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`.

use kubesim_api::meta::well_known::POD_TEMPLATE_HASH;
use kubesim_api::{ObjectMeta, OwnerReference, Pod, PodStatus, PodTemplateSpec};

use crate::convert::common::synthetic_uid;
use crate::loader::{Loaded, ObjectRef};

/// The deterministic pod-template-hash of `template` (see
/// [`PodTemplateSpec::template_hash`](kubesim_api::PodTemplateSpec::template_hash)).
pub fn pod_template_hash(template: &PodTemplateSpec) -> String {
    template.template_hash()
}

fn stamp(
    template: &PodTemplateSpec,
    namespace: &str,
    name: String,
    owner: OwnerReference,
    extra_label: Option<(&str, &str)>,
) -> Pod {
    let mut labels = template.labels.clone();
    if let Some((k, v)) = extra_label {
        labels.insert(k.to_string(), v.to_string());
    }
    Pod {
        meta: ObjectMeta {
            uid: (synthetic_uid("Pod", namespace, &name)).into(),
            name: name.into(),
            namespace: namespace.into(),
            labels,
            annotations: template.annotations.clone(),
            owner_references: vec![owner].into(),
            ..Default::default()
        },
        spec: template.spec.clone().into(),
        status: PodStatus::default(),
    }
}

fn replica_pods(
    template: &PodTemplateSpec,
    meta: &ObjectMeta,
    owner_kind: &str,
    count: i32,
    hash: Option<&str>,
) -> Vec<Pod> {
    (0..count.max(0))
        .map(|i| {
            let owner = OwnerReference {
                kind: owner_kind.to_string(),
                name: meta.name.to_string(),
                uid: meta.uid.to_string(),
                controller: true,
            };
            let label = hash.map(|h| (POD_TEMPLATE_HASH, h));
            stamp(template, &meta.namespace, format!("{}-{i}", meta.name), owner, label)
        })
        .collect()
}

/// Every pod in `loaded`, in input order, with each Deployment, ReplicaSet and Job replaced by
/// the pods it creates. Nodes and PriorityClasses are ignored.
pub fn expand_to_pods(loaded: &Loaded) -> Vec<Pod> {
    let mut pods = Vec::new();
    for entry in &loaded.entries {
        match entry.object {
            ObjectRef::Pod(i) => pods.push(loaded.pods[i].clone()),
            ObjectRef::ReplicaSet(i) => {
                let rs = &loaded.replica_sets[i];
                let hash = rs.template.labels.get(POD_TEMPLATE_HASH).cloned();
                pods.extend(replica_pods(&rs.template, &rs.meta, "ReplicaSet", rs.replicas, hash.as_deref()));
            }
            ObjectRef::Deployment(i) => {
                let d = &loaded.deployments[i];
                let hash = pod_template_hash(&d.template);
                let rs_name = format!("{}-{hash}", d.meta.name);
                let rs_meta = ObjectMeta {
                    uid: (synthetic_uid("ReplicaSet", &d.meta.namespace, &rs_name)).into(),
                    name: rs_name.into(),
                    namespace: d.meta.namespace.clone(),
                    ..Default::default()
                };
                pods.extend(replica_pods(&d.template, &rs_meta, "ReplicaSet", d.replicas, Some(&hash)));
            }
            ObjectRef::Job(i) => {
                let job = &loaded.jobs[i];
                let active = job.completions.map_or(job.parallelism, |c| c.min(job.parallelism));
                pods.extend(replica_pods(&job.template, &job.meta, "Job", active, None));
            }
            ObjectRef::Node(_)
            | ObjectRef::PriorityClass(_)
            | ObjectRef::Service(_)
            | ObjectRef::Hpa(_)
            | ObjectRef::Pdb(_) => {}
        }
    }
    pods
}
