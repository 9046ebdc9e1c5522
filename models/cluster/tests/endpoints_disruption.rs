//! Endpoints behind Services, PodDisruptionBudgets with the Eviction API and `kubectl drain`, and
//! the scheduler's default topology spreading now that it sees ReplicaSet selectors.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_api::services::Service;
use kubesim_api::{IntOrPercent, LabelSelector, ObjectKey, ObjectMeta};
use kubesim_cluster::config::ServiceLoad;
use kubesim_cluster::{Action, ClusterConfig};
use kubesim_workload::{ContainerWorkload, Curve, Demand, PodWorkload};
use sim_core::SimTime;

fn service(name: &str) -> Service {
    Service {
        meta: ObjectMeta::named("default", name),
        selector: Some([("app".to_string(), name.to_string())].into_iter().collect()),
        ..Default::default()
    }
}

fn pdb(min_available: i32) -> PodDisruptionBudget {
    PodDisruptionBudget {
        meta: ObjectMeta::named("default", "web"),
        selector: Some(LabelSelector::from_labels([("app", "web")])),
        min_available: Some(IntOrPercent::Int(min_available)),
        ..Default::default()
    }
}

#[test]
fn request_driven_cpu_follows_the_number_of_ready_endpoints() {
    // 40 req/s over the Service; 5m per req/s. 2 endpoints → 20 req/s = 100m each; after the scale
    // to 4 at 60 s (new pods ready at 60.8 s) → 10 req/s = 50m each.
    let workload = PodWorkload {
        containers: vec![Arc::new(ContainerWorkload {
            cpu_millis: Demand::RequestDriven { base: 10, per_request: 5 },
            ..ContainerWorkload::idle()
        })],
    };
    let config = ClusterConfig {
        workloads: vec![(LabelSelector::from_labels([("app", "web")]), Arc::new(workload))],
        service_loads: vec![ServiceLoad {
            service: ObjectKey::new("default", "web"),
            requests_per_second_milli: Curve::constant(40_000),
        }],
        ..Default::default()
    };
    let mut c = cluster(3, config);
    c.apply_service(service("web")).unwrap();
    c.apply_deployment(deployment("web", 2, "web:v1")).unwrap();
    c.enable_metrics();
    let key = ObjectKey::new("default", "web");
    c.run_until(SimTime::from_secs(59)).unwrap();
    assert_eq!(c.ready_endpoints(&key).len(), 2);
    // Scrape 45: 10m base + 20 req/s × 5m = 110m. The deployment helper caps CPU at its 100m limit.
    let cpu: Vec<i64> = c.pod_metrics().iter().map(|m| m.containers[0].usage.cpu_millis()).collect();
    assert_eq!(cpu, vec![100, 100]);
    c.schedule_action(SimTime::from_secs(60), Action::Scale { deployment: key.clone(), replicas: 4 })
        .unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    assert_eq!(c.ready_endpoints(&key).len(), 4);
    // Scrape 90: 10 req/s each → 10m + 50m = 60m; the new pods (started 60.8 s) are served too.
    let cpu: Vec<i64> = c.pod_metrics().iter().map(|m| m.containers[0].usage.cpu_millis()).collect();
    assert_eq!(cpu, vec![60, 60, 60, 60]);
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let changes: Vec<(f64, i64)> =
        of_kind(&log, "EndpointsChanged").iter().map(|v| (secs(v), v["ready"].as_i64().unwrap())).collect();
    assert_eq!(changes, vec![(0.0, 0), (0.8, 2), (60.8, 4)]);
}

#[test]
fn a_terminating_pod_leaves_the_ready_endpoints_at_once() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_service(service("web")).unwrap();
    c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    let key = ObjectKey::new("default", "web");
    let victim = c.ready_endpoints(&key)[0].clone();
    c.schedule_action(SimTime::from_secs(10), Action::DeletePod(ObjectKey::new("default", &victim))).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    // deletionTimestamp set: `ready = serving && !terminating` → out, before the kubelet stops it.
    assert!(!c.ready_endpoints(&key).contains(&victim));
    assert_eq!(c.ready_endpoints(&key).len(), 2);
    c.run_until(SimTime::from_secs(20)).unwrap();
    assert_eq!(c.ready_endpoints(&key).len(), 3, "the replacement became ready");
}

#[test]
fn a_drain_evicts_within_the_budget_and_retries_refusals_every_five_seconds() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.apply_pdb(pdb(3)).unwrap();
    c.run_until(SimTime::from_secs(30)).unwrap();
    let pdb_key = ObjectKey::new("default", "web");
    // 4 ready pods, minAvailable 3 → 1 disruption allowed.
    let status = c.pdb(&pdb_key).unwrap().status.clone();
    assert_eq!((status.expected_pods, status.current_healthy, status.disruptions_allowed), (4, 4, 1));
    let on_node0 = c.store().pods_on_node("node-0").count();
    assert_eq!(on_node0, 2, "default spreading puts 2 of 4 pods on each node");
    c.schedule_action(SimTime::from_secs(30), Action::Drain { node: "node-0".into() }).unwrap();
    c.run_until(SimTime::from_secs(120)).unwrap();
    assert_eq!(c.store().pods_on_node("node-0").count(), 0);
    assert_eq!(c.store().pods_on_node("node-1").count(), 4);
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(secs(of_kind(&log, "NodeCordoned")[0]), 30.0);
    // 30 s: the first eviction takes the one allowed disruption (201); the second is refused (429).
    // The evicted pod is terminating at once, so the ReplicaSet's replacement (bound to node-1, the
    // only schedulable node) is Ready at 30.8 s → 4 healthy → 1 allowed again. 35 s: retry → 201.
    let evictions: Vec<(f64, i64)> =
        of_kind(&log, "EvictionRequest").iter().map(|v| (secs(v), v["code"].as_i64().unwrap())).collect();
    assert_eq!(evictions, vec![(30.0, 201), (30.0, 429), (35.0, 201)]);
    let drained = secs(of_kind(&log, "NodeDrained")[0]);
    assert!((35.0..36.0).contains(&drained), "drained at {drained}");
    // Availability never went below minAvailable during the drain.
    for v in of_kind(&log, "PdbStatus").into_iter().filter(|v| secs(v) >= 30.0) {
        assert!(v["current_healthy"].as_i64().unwrap() >= 3, "{v}");
    }
}

#[test]
fn an_eviction_before_the_budget_is_observed_is_refused() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 2, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    // The PDB is applied and an eviction arrives in the same instant, before the disruption
    // controller's first sync: "still being processed" → 429.
    c.apply_pdb(pdb(1)).unwrap();
    let pod = c.store().pods().next().unwrap().meta.key();
    assert_eq!(c.evict(&pod).unwrap(), 429);
    c.run_until(SimTime::from_secs(10)).unwrap();
    assert_eq!(c.evict(&pod).unwrap(), 201);
    let other = c.store().pods().find(|p| p.meta.key() != pod).unwrap().meta.key();
    assert_eq!(c.evict(&other).unwrap(), 429, "the budget is spent until the replacement is Ready");
    assert_eq!(c.evict(&ObjectKey::new("default", "nope")).unwrap(), 404);
}

#[test]
fn deployment_pods_spread_over_zones_by_default() {
    // One big node in zone a and two small ones in b and c. Resource scores alone favour the big
    // node for every pod (LeastAllocated stays highest there); PodTopologySpread's system default
    // constraints (zone maxSkew 5, hostname maxSkew 3, ScheduleAnyway, weight 2) now see the
    // ReplicaSet's selector and pull pods onto the other nodes.
    let mut c = kubesim_cluster::Cluster::new(ClusterConfig::default(), Vec::new()).unwrap();
    c.add_node(node("big", "a", 64_000, 128 * GIB)).unwrap();
    c.add_node(node("small-b", "b", 4000, 8 * GIB)).unwrap();
    c.add_node(node("small-c", "c", 4000, 8 * GIB)).unwrap();
    c.apply_deployment(deployment("web", 9, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(5)).unwrap();
    let counts: Vec<usize> =
        ["big", "small-b", "small-c"].iter().map(|n| c.store().pods_on_node(n).count()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 9);
    // Without the ReplicaSet selector in the scheduler's view all 9 land on `big`.
    assert!(counts.iter().all(|&n| n >= 2), "pods spread over every zone: {counts:?}");
}
