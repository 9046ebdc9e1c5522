//! The node lifecycle controller's zone rules: NoExecute tainting is paced per zone by a token
//! bucket (0.1 nodes/s, burst 1) and stops entirely when every zone is fully disrupted.

mod common;

use common::*;
use kubesim_cluster::{Action, ClusterConfig};
use sim_core::{SimDuration, SimTime};

fn no_execute_taints(log: &[serde_json::Value]) -> Vec<(String, f64)> {
    of_kind(log, "NodeTainted")
        .into_iter()
        .filter(|v| v["effect"] == "NoExecute")
        .map(|v| (v["node"].as_str().unwrap().to_string(), secs(v)))
        .collect()
}

#[test]
fn a_zone_outage_taints_one_node_every_ten_seconds() {
    // Nine nodes: zones a, b, c get node-0/3/6, node-1/4/7, node-2/5/8.
    let mut c = cluster(9, ClusterConfig::default());
    c.apply_deployment(deployment("web", 9, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    c.schedule_action(
        SimTime::from_secs(100),
        Action::ZoneOutage { zone: "b".into(), duration: SimDuration::from_mins(30) },
    )
    .unwrap();
    c.run_until(SimTime::from_secs(400)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    // All three zone-b nodes go Unknown at 155 s (last heartbeat 100 s + 50 s grace, next 5 s
    // tick). Zone b is then FullDisruption while a and c are Normal: rate 0.1/s, burst 1, so the
    // NoExecute taints land at 155, 165 and 175 s, in queue order.
    let taints = no_execute_taints(&log);
    let times: Vec<f64> = taints.iter().map(|(_, t)| *t).collect();
    assert_eq!(times, vec![155.0, 165.0, 175.0], "{taints:?}");
    let mut nodes: Vec<&str> = taints.iter().map(|(n, _)| n.as_str()).collect();
    nodes.sort();
    assert_eq!(nodes, vec!["node-1", "node-4", "node-7"]);
    // NoSchedule comes with the condition, unpaced.
    let no_schedule: Vec<f64> =
        of_kind(&log, "NodeTainted").into_iter().filter(|v| v["effect"] == "NoSchedule").map(secs).collect();
    assert_eq!(no_schedule, vec![155.0, 155.0, 155.0]);
}

#[test]
fn when_every_zone_is_down_nothing_is_evicted() {
    // A single-zone cluster whose kubelets all stop looks like a control-plane partition:
    // FullDisruption everywhere stops NoExecute tainting, so no pod is evicted.
    let mut c = Cluster::new(ClusterConfig::default(), Vec::new()).unwrap();
    for i in 0..3 {
        c.add_node(node(&format!("n{i}"), "only", 4000, 8 * GIB)).unwrap();
    }
    c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    for i in 0..3 {
        c.schedule_action(SimTime::from_secs(100), Action::StopKubelet(format!("n{i}"))).unwrap();
    }
    c.run_until(SimTime::from_secs(1000)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert!(no_execute_taints(&log).is_empty());
    assert!(of_kind(&log, "PodDeleting").is_empty());
}

use kubesim_cluster::Cluster;
