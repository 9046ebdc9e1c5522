//! Quick throughput check of the SchedulingBasic shape, built like `kubesim bench scheduler`
//! (nodes in 3 zones with hostname labels; pause pods of 100m / 500 MiB; pods built before the
//! clock starts; adding and scheduling them timed). Criterion bench: benches/schedule.rs.
//!
//! `cargo run --release -p kubesim-scheduler --example throughput -- 5000 50000 [--no-memo] [--signatures K]`
#![allow(clippy::disallowed_methods)] // wall-clock timing of a benchmark harness

use kubesim_api::{Container, Node, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use sim_core::SimTime;

fn node(i: usize) -> Node {
    let mut n = Node::default();
    n.meta.name = format!("node-{i}").into();
    n.meta.labels.insert("kubernetes.io/hostname".into(), n.meta.name.to_string());
    n.meta.labels.insert("topology.kubernetes.io/zone".into(), format!("zone-{}", i % 3));
    n.status.allocatable =
        ResourceList::new().with_cpu_millis(4000).with_memory_bytes(32 << 30).with(ResourceName::Pods, 110);
    n.status.capacity = n.status.allocatable.clone();
    n
}

fn pod(i: usize, signatures: usize) -> Pod {
    let mut p = Pod::default();
    p.meta.name = format!("pod-{i}").into();
    p.meta.namespace = "default".into();
    p.meta.uid = format!("bench-pod-{i}").into();
    // `--signatures K`: pod i asks (1 + i mod K) × 100m, so K scheduling signatures take turns
    // (K above the memo's ways is its worst case: every pod misses).
    let scale = 1 + (i % signatures.max(1)) as i64;
    let resources = ResourceList::new().with_cpu_millis(100 * scale).with_memory_bytes(500 << 20);
    p.spec.containers = vec![Container {
        name: "pause".into(),
        image: "registry.k8s.io/pause:3.10".into(),
        resources: ResourceRequirements { requests: resources.clone(), limits: resources },
        ..Default::default()
    }]
    .into();
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nums: Vec<usize> =
        args.iter().take_while(|a| !a.starts_with("--")).filter_map(|a| a.parse().ok()).collect();
    let (nodes, pods) = (nums.first().copied().unwrap_or(5000), nums.get(1).copied().unwrap_or(50_000));
    let memo = !args.iter().any(|a| a == "--no-memo");
    let signatures = args
        .iter()
        .position(|a| a == "--signatures")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize);
    let mut s = Scheduler::with_defaults(1);
    s.set_node_memo(memo);
    for i in 0..nodes {
        s.add_node(node(i), SimTime::ZERO);
    }
    let all: Vec<Pod> = (0..pods).map(|i| pod(i, signatures)).collect();
    // Wall time of the scheduling loop: the benchmark's measurement, printed only.
    let start = std::time::Instant::now();
    for p in all {
        s.add_pod(p, SimTime::ZERO);
    }
    let added = start.elapsed().as_secs_f64();
    let mut bound = 0;
    while let Some(o) = s.schedule_next(SimTime::ZERO) {
        bound += usize::from(matches!(o, ScheduleOutcome::Bound { .. }));
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{{\"nodes\":{nodes},\"pods\":{pods},\"scheduled\":{bound},\"memo\":{memo},\"signatures\":{signatures},\"add_s\":{added:.3},\"wall_s\":{wall:.3},\"pods_per_s\":{:.0}}}",
        bound as f64 / wall
    );
}
