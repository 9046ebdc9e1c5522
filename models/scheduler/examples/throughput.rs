//! Quick throughput check of the SchedulingBasic shape (criterion bench: benches/schedule.rs).
//! `cargo run --release -p kubesim-scheduler --example throughput -- 5000 50000`
#![allow(clippy::disallowed_methods)] // wall-clock timing of a benchmark harness

use kubesim_api::{Container, Node, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use sim_core::SimTime;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (nodes, pods) = (args.first().copied().unwrap_or(5000), args.get(1).copied().unwrap_or(50_000));
    let mut s = Scheduler::with_defaults(1);
    for i in 0..nodes {
        let mut n = Node::default();
        n.meta.name = format!("node-{i}");
        n.status.allocatable = ResourceList::new()
            .with_cpu_millis(4000)
            .with_memory_bytes(32 << 30)
            .with(ResourceName::Pods, 110);
        s.add_node(n, SimTime::ZERO);
    }
    let start = std::time::Instant::now();
    for i in 0..pods {
        let mut p = Pod::default();
        p.meta.name = format!("pod-{i}");
        p.meta.namespace = "default".into();
        let requests = ResourceList::new().with_cpu_millis(100).with_memory_bytes(500 << 20);
        p.spec.containers = vec![Container {
            resources: ResourceRequirements { requests, ..Default::default() },
            ..Default::default()
        }];
        s.add_pod(p, SimTime::ZERO);
    }
    let mut bound = 0;
    while let Some(o) = s.schedule_next(SimTime::ZERO) {
        bound += usize::from(matches!(o, ScheduleOutcome::Bound { .. }));
    }
    let wall = start.elapsed().as_secs_f64();
    println!("{{\"nodes\":{nodes},\"pods\":{pods},\"scheduled\":{bound},\"wall_s\":{wall:.3},\"pods_per_s\":{:.0}}}", bound as f64 / wall);
}
