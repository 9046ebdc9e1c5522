//! Builders for the kubesim objects every reader makes, so they all look alike.

use kubesim_api::meta::well_known;
use kubesim_api::{
    Container, Labels, Node, NodeStatus, ObjectMeta, Pod, PodSpec, ResourceList, ResourceName,
    ResourceRequirements, RestartPolicy,
};

/// Label carrying the trace a generated object came from (`openb`, `alibaba-2018`, …).
pub const LABEL_TRACE: &str = "kubesim.io/trace";
/// Annotation carrying the object's id in the trace, unsanitised.
pub const ANNOTATION_TRACE_ID: &str = "kubesim.io/trace-id";
/// Image of every generated container.
pub const TRACE_IMAGE: &str = "kubesim/trace-replay:1";

/// A ready node with `capacity` = `allocatable`, labelled with its hostname.
pub(crate) fn node(name: &str, capacity: ResourceList, mut labels: Labels, trace: &str) -> Node {
    labels.insert(well_known::HOSTNAME.to_string(), name.to_string());
    labels.insert(LABEL_TRACE.to_string(), trace.to_string());
    Node {
        meta: ObjectMeta {
            name: name.into(),
            uid: format!("{trace}/node/{name}").into(),
            labels: labels.into(),
            ..Default::default()
        },
        status: NodeStatus { allocatable: capacity.clone(), capacity, ..Default::default() },
        ..Default::default()
    }
}

/// What a generated pod is made of.
#[derive(Debug, Default)]
pub(crate) struct PodParts {
    pub(crate) name: String,
    pub(crate) trace_id: String,
    pub(crate) requests: ResourceList,
    pub(crate) limits: ResourceList,
    pub(crate) labels: Labels,
    pub(crate) annotations: Labels,
    pub(crate) priority: Option<i32>,
    pub(crate) completes: bool,
}

/// The pod spec of one `main` container.
pub(crate) fn pod_spec(parts: &PodParts) -> PodSpec {
    PodSpec {
        containers: vec![Container {
            name: "main".to_string(),
            image: TRACE_IMAGE.to_string(),
            resources: ResourceRequirements {
                requests: parts.requests.clone(),
                limits: parts.limits.clone(),
            },
            ..Default::default()
        }]
        .into(),
        priority: parts.priority,
        restart_policy: if parts.completes { RestartPolicy::Never } else { RestartPolicy::Always },
        ..Default::default()
    }
}

/// An unbound pod.
pub(crate) fn pod(namespace: &str, trace: &str, parts: PodParts) -> Pod {
    let spec = pod_spec(&parts);
    let mut labels = parts.labels;
    labels.insert(LABEL_TRACE.to_string(), trace.to_string());
    let mut annotations = parts.annotations;
    annotations.insert(ANNOTATION_TRACE_ID.to_string(), parts.trace_id);
    Pod {
        meta: ObjectMeta {
            uid: format!("{trace}/pod/{namespace}/{}", parts.name).into(),
            name: parts.name.into(),
            namespace: namespace.into(),
            labels: labels.into(),
            annotations: annotations.into(),
            ..Default::default()
        },
        spec: spec.into(),
        ..Default::default()
    }
}

/// `ResourceList` with cpu and memory.
pub(crate) fn cpu_memory(cpu_millis: i64, memory_bytes: i64) -> ResourceList {
    ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(memory_bytes)
}

/// `capacity` plus the `pods` count.
pub(crate) fn with_pods(capacity: ResourceList, pods: i64) -> ResourceList {
    capacity.with(ResourceName::Pods, pods)
}
