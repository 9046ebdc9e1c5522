//! One HPA reconcile with a CPU Utilization 60 % metric over 100 ready pods (one container each,
//! every pod with a sample): the steady state of the scale scenario (issue 7: 1,500 HPAs of ~100
//! pods, every 15 s for a simulated day). Reported per pod via `Throughput::Elements`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubesim_api::{
    ConditionStatus, Container, ObjectMeta, Pod, PodCondition, PodConditionType, PodPhase, ResourceList,
};
use kubesim_controllers::hpa::{
    reconcile, ContainerMetrics, HpaControllerConfig, HpaInput, HpaSpec, HpaState, MetricSpec,
    MetricsSnapshot, PodMetrics, ResourceTarget, Scale,
};
use sim_core::{SimDuration, SimTime};

const NOW: SimTime = SimTime::from_secs(100_000);

fn pod(name: &str) -> Pod {
    let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
    let mut c = Container { name: "app".into(), ..Default::default() };
    c.resources.requests = ResourceList::new().with_cpu_millis(500).with_memory_bytes(1 << 30);
    p.spec.containers.push(c);
    p.status.phase = PodPhase::Running;
    p.status.start_time = Some(SimTime::ZERO);
    p.status.conditions.push(PodCondition {
        kind: PodConditionType::Ready,
        status: ConditionStatus::True,
        last_transition_time: Some(SimTime::ZERO),
        reason: None,
    });
    p
}

fn sample(name: &str, cpu_millis: i64) -> PodMetrics {
    PodMetrics {
        pod_name: name.into(),
        timestamp: NOW.saturating_sub(SimDuration::from_secs(10)),
        window: SimDuration::from_secs(15),
        containers: smallvec::smallvec![ContainerMetrics {
            name: "app".into(),
            usage: ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(1 << 29),
        }],
    }
}

/// `n` pods named like a ReplicaSet's (in name order, as the store lists them) and their samples
/// around 60 % of the 500m request.
fn fixture(n: usize) -> (Vec<Pod>, MetricsSnapshot) {
    let names: Vec<String> = (0..n).map(|i| format!("web-7d9f8c6b5d-{i:05x}")).collect();
    let pods = names.iter().map(|n| pod(n)).collect();
    let pod_metrics = names
        .iter()
        .enumerate()
        .map(|(i, n)| std::sync::Arc::new(sample(n, 280 + (i as i64 % 41))))
        .collect();
    (pods, MetricsSnapshot { pod_metrics, ..Default::default() })
}

fn bench(c: &mut Criterion) {
    let config = HpaControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        1000,
        vec![MetricSpec::Resource {
            resource: kubesim_api::ResourceName::Cpu,
            target: ResourceTarget::Utilization(60),
        }],
    );
    let mut g = c.benchmark_group("hpa_reconcile");
    // `reversed`: the pods out of name order, which takes the merge's sorting path.
    for (n, reversed) in [(1usize, false), (100, false), (100, true)] {
        let (mut pods, snapshot) = fixture(n);
        if reversed {
            pods.reverse();
        }
        let label = if reversed { "_reversed" } else { "" };
        let replicas = i32::try_from(n).expect("small");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("cpu_utilization_{n}_pods{label}"), |b| {
            b.iter_batched_ref(
                || HpaState::with_recommendations(Vec::with_capacity(4)),
                |state| {
                    let input = HpaInput {
                        spec: &spec,
                        scale: Scale { spec_replicas: replicas, status_replicas: replicas },
                        pods: &pods,
                        metrics: &snapshot,
                        now: NOW,
                    };
                    reconcile(&config, &input, state)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
