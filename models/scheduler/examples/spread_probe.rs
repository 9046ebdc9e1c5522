//! A fixed scheduler-only workload shaped like the scale scenario (`scenarios/library/scale-5k.yaml`
//! and its shrunk copies from `benches/scale-5k-shrink.sh`):
//! nodes of 16 CPU / 64 GiB / 110 pods in three zones with hostname labels; apps that are each a
//! ReplicaSet behind a Service, so every pod gets the system default spreading constraints
//! (hostname and zone, soft) with a selector from the Service and the ReplicaSet. Phase 1 creates
//! and schedules every app's pods, app by app; phase 2 rolls out a share of the apps (a new
//! ReplicaSet's pods are scheduled, then the old ones are deleted). Prints the number bound and an
//! FNV-1a digest of every decision, so two builds can be checked to decide identically.
//!
//! To compare two builds by instructions (`perf stat -e instructions:u`, or
//! `valgrind --tool=cachegrind --cache-sim=no` where the machine exposes no counters):
//! `cargo run --release -p kubesim-scheduler --example spread_probe -- 5000 300 100 [rollouts]`
//! (nodes, apps, replicas per app, apps rolled out; defaults 5000 300 100 100).

use std::sync::Arc;

use kubesim_api::{
    Container, LabelSelector, Labels, Node, ObjectKey, OwnerReference, Pod, ResourceList, ResourceName,
    ResourceRequirements, Shared,
};
use kubesim_scheduler::framework::{ClusterObjects, ControllerKind, ControllerSelector, ServiceSelector};
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use sim_core::SimTime;

fn node(i: usize) -> Node {
    let mut n = Node::default();
    n.meta.name = format!("node-{i}").into();
    let mut labels = Labels::new();
    labels.insert("kubernetes.io/hostname".into(), n.meta.name.to_string());
    labels.insert("topology.kubernetes.io/zone".into(), ["a", "b", "c"][i % 3].into());
    n.meta.labels = Shared::new(labels);
    n.status.allocatable =
        ResourceList::new().with_cpu_millis(16_000).with_memory_bytes(64 << 30).with(ResourceName::Pods, 110);
    n.status.capacity = n.status.allocatable.clone();
    n
}

fn rs_name(app: usize, version: usize) -> String {
    format!("app-{app}-v{version}")
}

fn pod(app: usize, version: usize, i: usize) -> Pod {
    let mut p = Pod::default();
    p.meta.name = format!("app-{app}-v{version}-{i}").into();
    p.meta.namespace = "default".into();
    p.meta.uid = p.meta.name.clone();
    let mut labels = Labels::new();
    labels.insert("app".into(), format!("app-{app}"));
    labels.insert("pod-template-hash".into(), format!("v{version}"));
    labels.insert("tier".into(), "scale".into());
    p.meta.labels = Shared::new(labels);
    p.meta.owner_references = Shared::new(vec![OwnerReference {
        kind: "ReplicaSet".into(),
        name: rs_name(app, version),
        uid: rs_name(app, version),
        controller: true,
    }]);
    let requests = ResourceList::new().with_cpu_millis(100).with_memory_bytes(128 << 20);
    let limits = ResourceList::new().with_cpu_millis(500).with_memory_bytes(256 << 20);
    p.spec.containers = vec![Container {
        name: "app".into(),
        image: format!("app:v{version}"),
        resources: ResourceRequirements { requests, limits },
        ..Default::default()
    }]
    .into();
    p
}

fn objects(apps: usize, versions: &[usize]) -> Arc<ClusterObjects> {
    let mut o = ClusterObjects::default();
    for (app, &latest) in versions.iter().enumerate().take(apps) {
        let app_label: Labels = [("app".to_string(), format!("app-{app}"))].into_iter().collect();
        o.workloads.services.push(Shared::new(ServiceSelector {
            namespace: "default".into(),
            selector: Some(app_label.clone()),
        }));
        for v in 1..=latest {
            let mut sel = app_label.clone();
            sel.insert("pod-template-hash".into(), format!("v{v}"));
            o.workloads.controllers.push(Shared::new(ControllerSelector {
                kind: ControllerKind::ReplicaSet,
                namespace: "default".into(),
                name: rs_name(app, v),
                selector: Some(LabelSelector { match_labels: sel, match_expressions: Vec::new() }),
            }));
        }
    }
    Arc::new(o)
}

/// FNV-1a over the decisions.
struct Digest(u64);

impl Digest {
    fn add(&mut self, s: &str) {
        for b in s.bytes().chain(std::iter::once(0)) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn schedule_all(s: &mut Scheduler, digest: &mut Digest, now: SimTime) -> usize {
    let mut bound = 0;
    while let Some(out) = s.schedule_next(now) {
        digest.add(&out.pod().to_string());
        match out {
            ScheduleOutcome::Bound { node, .. } => {
                digest.add(&node);
                bound += 1;
            }
            other => digest.add(&format!("{other:?}")),
        }
    }
    bound
}

fn main() {
    let nums: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, d: usize| nums.get(i).copied().unwrap_or(d);
    let (nodes, apps, replicas, rollouts) = (arg(0, 5000), arg(1, 300), arg(2, 100), arg(3, 100));
    let mut s = Scheduler::with_defaults(7);
    for i in 0..nodes {
        s.add_node(node(i), SimTime::ZERO);
    }
    let mut versions = vec![1usize; apps];
    s.set_cluster_objects(objects(apps, &versions));
    let mut digest = Digest(0xcbf2_9ce4_8422_2325);
    let mut bound = 0;
    for app in 0..apps {
        for i in 0..replicas {
            s.add_pod(pod(app, 1, i), SimTime::ZERO);
        }
        bound += schedule_all(&mut s, &mut digest, SimTime::ZERO);
    }
    for r in 0..rollouts.min(apps) {
        let app = (r * 7) % apps;
        let old = versions[app];
        versions[app] += 1;
        s.set_cluster_objects(objects(apps, &versions));
        for i in 0..replicas {
            s.add_pod(pod(app, old + 1, i), SimTime::ZERO);
        }
        bound += schedule_all(&mut s, &mut digest, SimTime::ZERO);
        for i in 0..replicas {
            let key = ObjectKey { namespace: "default".into(), name: format!("app-{app}-v{old}-{i}").into() };
            s.delete_pod(&key, SimTime::ZERO);
        }
    }
    println!(
        "nodes {nodes} apps {apps} replicas {replicas} rollouts {rollouts}: bound {bound}, digest {:016x}",
        digest.0
    );
}
