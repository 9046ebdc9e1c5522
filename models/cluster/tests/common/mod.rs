//! Fixtures shared by the cluster integration tests.
#![allow(dead_code)]

use kubesim_api::{
    Container, Deployment, LabelSelector, Node, NodeStatus, ObjectMeta, PodSpec, PodTemplateSpec,
    ResourceList, ResourceName, ResourceRequirements,
};
use kubesim_cluster::{Cluster, ClusterConfig};

pub const GIB: i64 = 1 << 30;
pub const MIB: i64 = 1 << 20;

pub fn node(name: &str, zone: &str, cpu_millis: i64, memory_bytes: i64) -> Node {
    let mut meta = ObjectMeta::named("", name);
    meta.labels.insert("topology.kubernetes.io/zone".into(), zone.into());
    let alloc = ResourceList::new()
        .with_cpu_millis(cpu_millis)
        .with_memory_bytes(memory_bytes)
        .with(ResourceName::Pods, 110);
    Node {
        meta,
        status: NodeStatus { capacity: alloc.clone(), allocatable: alloc, ..Default::default() },
        ..Default::default()
    }
}

pub fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    let labels: kubesim_api::Labels = [("app".to_string(), name.to_string())].into_iter().collect();
    let req = ResourceList::new().with_cpu_millis(100).with_memory_bytes(128 * MIB);
    Deployment {
        meta: ObjectMeta::named("default", name),
        replicas,
        selector: LabelSelector { match_labels: labels.clone(), ..Default::default() },
        template: PodTemplateSpec {
            labels: labels.into(),
            annotations: Default::default(),
            spec: PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    image: image.into(),
                    resources: ResourceRequirements { requests: req.clone(), limits: req },
                    ..Default::default()
                }]
                .into(),
                ..Default::default()
            },
        },
        ..Default::default()
    }
}

/// A cluster with `n` nodes (4 CPU, 8 GiB) spread over zones a, b, c, logging to memory.
pub fn cluster(n: usize, config: ClusterConfig) -> Cluster<Vec<u8>> {
    let mut c = Cluster::new(config, Vec::new()).expect("cluster");
    for i in 0..n {
        c.add_node(node(&format!("node-{i}"), ["a", "b", "c"][i % 3], 4000, 8 * GIB)).unwrap();
    }
    c
}

/// The event log as (seconds with ms, kind, line) for assertions.
pub fn log_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn of_kind<'a>(log: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    log.iter().filter(|v| v["kind"] == kind).collect()
}

pub fn secs(v: &serde_json::Value) -> f64 {
    v["t"].as_u64().unwrap() as f64 / 1e9
}
