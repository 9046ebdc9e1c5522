//! A node whose kubelet stops: Unknown after the grace period, tainted unreachable, pods evicted
//! after the default 300 s toleration and replaced elsewhere.

mod common;

use common::*;
use kubesim_cluster::{Action, ClusterConfig};
use sim_core::SimTime;

#[test]
fn pods_on_an_unreachable_node_are_evicted_after_grace_plus_toleration() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let on_node0 = c.store().pods_on_node("node-0").count();
    assert!(on_node0 > 0, "the test needs pods on node-0");
    c.schedule_action(SimTime::from_secs(100), Action::StopKubelet("node-0".into())).unwrap();
    c.run_until(SimTime::from_secs(600)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);

    // Last heartbeat 100 s; grace 50 s → deadline 150 s; the first 5 s monitor tick past it is 155 s.
    let unknown = of_kind(&log, "NodeCondition")
        .into_iter()
        .find(|v| v["node"] == "node-0" && v["status"] == "Unknown")
        .expect("node-0 goes Unknown");
    assert_eq!(secs(unknown), 155.0);
    let tainted = of_kind(&log, "NodeTainted").into_iter().find(|v| v["effect"] == "NoExecute").unwrap();
    assert_eq!(secs(tainted), 155.0);
    // Default toleration for unreachable: 300 s → eviction at 455 s.
    let evictions: Vec<_> =
        of_kind(&log, "PodDeleting").into_iter().filter(|v| v["by"] == "taint-eviction").collect();
    assert_eq!(evictions.len(), on_node0);
    assert!(evictions.iter().all(|v| secs(v) == 455.0));
    // Replacements are created and bound to node-1 at once (the tainted node is excluded).
    let rebinds: Vec<_> = of_kind(&log, "PodScheduled").into_iter().filter(|v| secs(v) >= 455.0).collect();
    assert_eq!(rebinds.len(), on_node0);
    assert!(rebinds.iter().all(|v| v["node"] == "node-1"));
}

#[test]
fn a_kubelet_that_comes_back_in_time_keeps_its_pods() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    c.schedule_action(SimTime::from_secs(100), Action::StopKubelet("node-0".into())).unwrap();
    c.schedule_action(SimTime::from_secs(300), Action::StartKubelet("node-0".into())).unwrap();
    c.run_until(SimTime::from_secs(900)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert!(of_kind(&log, "PodDeleting").is_empty(), "no eviction: the node recovered before 455 s");
    let untainted = of_kind(&log, "NodeUntainted");
    assert!(!untainted.is_empty() && untainted.iter().all(|v| secs(v) == 300.0));
}

#[test]
fn deployments_left_incomplete_by_an_outage_resync_at_the_shared_ten_per_second() {
    // 20 complete Deployments lose availability when their only node goes Unknown (155 s). Each
    // is then requeued "now, rate limited" on every sync (`requeueStuckDeployment`); the
    // workqueue's bucket is shared by all keys (10 qps, burst 100) and a waiting key is added
    // once, so 800 s of outage cost at most 100 + 10 × 800 syncs, not 20 × 10 × 800.
    let mut c = cluster(1, ClusterConfig::default());
    for i in 0..20 {
        c.apply_deployment(deployment(&format!("web-{i}"), 1, "web:v1")).unwrap();
    }
    c.run_until(SimTime::from_secs(100)).unwrap();
    c.schedule_action(SimTime::from_secs(100), Action::StopKubelet("node-0".into())).unwrap();
    c.run_until(SimTime::from_secs(200)).unwrap();
    let before = c.counters().events_processed;
    c.run_until(SimTime::from_secs(1000)).unwrap();
    let during = c.counters().events_processed - before;
    assert!(during > 4_000, "stuck deployments keep being re-checked ({during} events)");
    assert!(during < 2 * (100 + 10 * 800), "{during} events in 800 s: the resync rate is not shared");
}
