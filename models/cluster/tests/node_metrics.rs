//! The usage metrics stream: per container CPU over the interval, throttling and working set;
//! per node used against allocatable.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::LabelSelector;
use kubesim_cluster::metrics::names;
use kubesim_cluster::{ClusterConfig, MetricSample};
use kubesim_workload::{ContainerWorkload, PodWorkload};
use sim_core::SimTime;

fn value(samples: &[MetricSample], metric: &str, object_suffix: &str) -> f64 {
    samples.iter().find(|s| s.metric == metric && s.object.ends_with(object_suffix)).map(|s| s.value).unwrap()
}

#[test]
fn a_container_over_its_cpu_limit_uses_the_limit_and_is_throttled_every_period() {
    // Demand 200m against the fixture's 100m limit, 64Mi working set, alone on a 4-CPU node.
    let w = ContainerWorkload::steady(200, 64 * MIB);
    let config = ClusterConfig {
        workloads: vec![(
            LabelSelector::from_labels([("app", "web")]),
            Arc::new(PodWorkload { containers: vec![Arc::new(w)] }),
        )],
        ..ClusterConfig::default()
    };
    let mut c = cluster(1, config);
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    for t in [10, 20] {
        c.run_until(SimTime::from_secs(t)).unwrap();
        let s = c.sample_node_metrics();
        // Running from 0.8 s (sandbox 0.5 + start 0.3): 10 ms of CPU in every 100 ms period.
        assert_eq!(value(&s, names::CONTAINER_CPU_USAGE, "/app"), 100.0, "t={t}");
        assert_eq!(value(&s, names::CONTAINER_CPU_THROTTLED, "/app"), 1.0);
        assert_eq!(value(&s, names::CONTAINER_MEMORY_WORKING_SET, "/app"), (64 * MIB) as f64);
        assert_eq!(value(&s, names::NODE_CPU_USED, "node-0"), 100.0 / 4000.0);
        assert_eq!(value(&s, names::NODE_MEMORY_USED, "node-0"), 64.0 / 8192.0);
        assert!(s.iter().any(|m| m.object.starts_with("default/web-") && m.object.ends_with("/app")));
    }
}

#[test]
fn sampling_does_not_change_the_event_log() {
    let run = |sample: bool| {
        let mut c = cluster(2, ClusterConfig::default());
        c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
        for t in 1..=30 {
            c.run_until(SimTime::from_secs(t)).unwrap();
            if sample {
                c.sample_node_metrics();
            }
        }
        c.finish().unwrap().1
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn a_pod_created_with_its_own_workload_runs_it_instead_of_the_selected_one() {
    // The label selector says 200m; the pod's own workload (a trace's usage series) says 50m.
    let selected = ContainerWorkload::steady(200, 64 * MIB);
    let own = ContainerWorkload::steady(50, 32 * MIB);
    let config = ClusterConfig {
        workloads: vec![(
            LabelSelector::from_labels([("app", "web")]),
            Arc::new(PodWorkload { containers: vec![Arc::new(selected)] }),
        )],
        ..ClusterConfig::default()
    };
    let mut c = cluster(1, config);
    let template = deployment("web", 1, "web:v1").template;
    let pod = kubesim_api::Pod {
        meta: kubesim_api::ObjectMeta {
            labels: template.labels.clone(),
            ..kubesim_api::ObjectMeta::named("default", "traced")
        },
        spec: template.spec.clone().into(),
        status: Default::default(),
    };
    c.create_pod_with_workload(pod, Arc::new(PodWorkload { containers: vec![Arc::new(own)] })).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    let s = c.sample_node_metrics();
    assert_eq!(value(&s, names::CONTAINER_CPU_USAGE, "traced/app"), 50.0);
    assert_eq!(value(&s, names::CONTAINER_MEMORY_WORKING_SET, "traced/app"), (32 * MIB) as f64);
}

#[test]
fn skipping_the_container_rows_keeps_the_node_rows_and_the_later_averages() {
    // Two clusters sampled at the same instants, one without per-container rows: same node rows,
    // one skipped container per running container, and the next full sample reads the same
    // averages (the runtimes' accounting advanced either way).
    let mut full = cluster(2, ClusterConfig::default());
    let mut lean = cluster(2, ClusterConfig::default());
    for c in [&mut full, &mut lean] {
        c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
        c.run_until(SimTime::from_secs(10)).unwrap();
    }
    let all = full.sample_node_metrics();
    let (nodes_only, skipped) = lean.sample_node_metrics_where(false);
    let per_container = |s: &MetricSample| s.metric.starts_with("container_");
    assert_eq!(skipped, 3, "three pods of one container each");
    assert_eq!(all.iter().filter(|s| per_container(s)).count(), 3 * 3);
    let node_rows: Vec<_> = all.iter().filter(|s| !per_container(s)).collect();
    assert_eq!(node_rows, nodes_only.iter().collect::<Vec<_>>());
    for c in [&mut full, &mut lean] {
        c.run_until(SimTime::from_secs(20)).unwrap();
    }
    assert_eq!(full.sample_node_metrics(), lean.sample_node_metrics());
}

#[test]
fn allocated_ratios_sum_the_requests_of_the_non_terminal_pods_bound_to_each_node() {
    // Oracle: a scan of every pod, summed per node name.
    let mut c = cluster(3, ClusterConfig::default());
    c.apply_deployment(deployment("web", 5, "web:v1")).unwrap();
    c.apply_deployment(deployment("api", 4, "api:v1")).unwrap();
    c.run_until(SimTime::from_secs(30)).unwrap();
    let samples = c.sample_metrics();
    let store = c.store();
    let mut checked = 0;
    for (name, node) in &store.nodes {
        let (mut cpu, mut mem) = (0i64, 0i64);
        for p in store.pods().filter(|p| p.spec.node_name.as_deref() == Some(name.as_str())) {
            if matches!(p.status.phase, kubesim_api::PodPhase::Succeeded | kubesim_api::PodPhase::Failed) {
                continue;
            }
            for k in &p.spec.containers {
                cpu += k.resources.requests.cpu_millis();
                mem += k.resources.requests.memory_bytes();
            }
        }
        assert!(cpu > 0, "every node runs pods here");
        let find =
            |metric: &str| samples.iter().find(|s| s.metric == metric && s.object == *name).unwrap().value;
        assert_eq!(find(names::NODE_CPU_ALLOCATED), cpu as f64 / node.status.allocatable.cpu_millis() as f64);
        assert_eq!(
            find(names::NODE_MEMORY_ALLOCATED),
            mem as f64 / node.status.allocatable.memory_bytes() as f64
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
    let running = samples.iter().find(|s| s.metric == names::PODS_RUNNING).unwrap().value;
    assert_eq!(running, 9.0);
}

#[test]
fn node_usage_sampled_on_two_threads_equals_one_thread() {
    // Enough nodes for the sample to be split over the pool; varied demand (some throttled, one
    // node crashed) so that the rows differ from node to node.
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
        // Built inside the pool: the cluster is not `Send` (its kubelets are not).
        pool.install(|| {
            let workloads = (0..4)
                .map(|i| {
                    let w = ContainerWorkload::steady(40 + 50 * i, (16 + 8 * i) * MIB);
                    (
                        LabelSelector::from_labels([("app", format!("web{i}").as_str())]),
                        Arc::new(PodWorkload { containers: vec![Arc::new(w)] }),
                    )
                })
                .collect();
            let mut c = cluster(90, ClusterConfig { workloads, ..ClusterConfig::default() });
            for i in 0..4 {
                c.apply_deployment(deployment(&format!("web{i}"), 60, "web:v1")).unwrap();
            }
            c.schedule_action(SimTime::from_secs(25), kubesim_cluster::Action::CrashNode("node-7".into()))
                .unwrap();
            let mut rows = Vec::new();
            for t in [10, 20, 35] {
                c.run_until(SimTime::from_secs(t)).unwrap();
                rows.push(c.sample_node_metrics());
            }
            rows
        })
    };
    let one = run(1);
    let nodes_used = one[2].iter().filter(|s| s.metric == names::NODE_CPU_USED && s.value > 0.0).count();
    assert!(nodes_used > 60, "pods spread over the nodes: {nodes_used}");
    assert!(!one[2].iter().any(|s| s.object == "node-7"), "a crashed node reports nothing");
    assert_eq!(run(2), one);
}
