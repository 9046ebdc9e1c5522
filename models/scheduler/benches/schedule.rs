//! scheduler_perf SchedulingBasic shape: homogeneous nodes (4 cpu, 32 GiB, 110 pods) and pods
//! (100m, 500 MiB), default profile. Targets (issue 3): 50k pods on 5k nodes at ≥ 50k pods/s;
//! 150k pods onto 5k nodes in < 5 s.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubesim_api::{Container, Node, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use sim_core::SimTime;

fn node(i: usize) -> Node {
    let mut n = Node::default();
    n.meta.name = format!("node-{i}").into();
    n.status.allocatable =
        ResourceList::new().with_cpu_millis(4000).with_memory_bytes(32 << 30).with(ResourceName::Pods, 110);
    n
}

fn pod(i: usize) -> Pod {
    let mut p = Pod::default();
    p.meta.name = format!("pod-{i}").into();
    p.meta.namespace = "default".into();
    p.spec.containers = vec![Container {
        image: "registry.k8s.io/pause:3.10".into(),
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(100).with_memory_bytes(500 << 20),
            ..Default::default()
        },
        ..Default::default()
    }]
    .into();
    p
}

fn setup(nodes: usize, pods: usize) -> Scheduler {
    let mut s = Scheduler::with_defaults(1);
    for i in 0..nodes {
        s.add_node(node(i), SimTime::ZERO);
    }
    for i in 0..pods {
        s.add_pod(pod(i), SimTime::ZERO);
    }
    s
}

fn run_all(s: &mut Scheduler) -> usize {
    let mut bound = 0;
    while let Some(out) = s.schedule_next(SimTime::ZERO) {
        if matches!(out, ScheduleOutcome::Bound { .. }) {
            bound += 1;
        }
    }
    bound
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduling_basic");
    g.sample_size(10);
    for (nodes, pods) in [(5_000usize, 50_000usize), (5_000, 150_000)] {
        g.throughput(Throughput::Elements(pods as u64));
        g.bench_function(format!("{nodes}_nodes_{pods}_pods"), |b| {
            b.iter_batched(
                || setup(nodes, pods),
                |mut s| assert_eq!(run_all(&mut s), pods),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
