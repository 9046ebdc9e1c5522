//! Injected failures with exact times: node crash and recovery, network partition, zone outage,
//! container kills, OOM from a leak, a missing image, slow starts, and the random MTBF process.
//!
//! Timings used throughout (defaults): sandbox 0.5 s, container start 0.3 s, registry error
//! 0.2 s; node-monitor grace 50 s, monitor period 5 s; unreachable toleration 300 s.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::{ContainerState, LabelSelector, ObjectKey, Pod};
use kubesim_cluster::cluster::NodeFailureProcess;
use kubesim_cluster::{Action, Cluster, ClusterConfig};
use kubesim_workload::{ContainerWorkload, Curve, PodWorkload};
use sim_core::{RngStreams, SimDuration, SimTime};

fn at(c: &mut Cluster<Vec<u8>>, secs: u64, action: Action) {
    c.schedule_action(SimTime::from_secs(secs), action).unwrap();
}

fn pods_on(c: &Cluster<Vec<u8>>, node: &str) -> Vec<Pod> {
    let mut pods: Vec<Pod> = c.store().pods_on_node(node).map(|p| Pod::clone(p)).collect();
    pods.sort_by_key(|p| p.meta.key());
    pods
}

fn t_ms(v: &serde_json::Value) -> u64 {
    v["t"].as_u64().unwrap() / 1_000_000
}

#[test]
fn a_crashed_node_goes_unknown_and_its_pods_restart_when_it_boots_again() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let on_node0 = pods_on(&c, "node-0");
    assert!(!on_node0.is_empty());
    at(&mut c, 100, Action::CrashNode("node-0".into()));
    at(&mut c, 200, Action::RecoverNode("node-0".into()));
    c.run_until(SimTime::from_secs(300)).unwrap();
    // After the reboot every pod restarted once; lastState says the old container was lost.
    for p in pods_on(&c, "node-0") {
        let cs = &p.status.container_statuses[0];
        assert_eq!(cs.restart_count, 1, "{}", p.meta.name);
        assert!(
            matches!(cs.state, ContainerState::Running { started_at } if started_at == SimTime::from_millis(200_800))
        );
        assert!(
            matches!(&cs.last_state, ContainerState::Terminated { exit_code: 255, reason, .. } if reason == "Unknown")
        );
        assert!(p.is_ready());
    }
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let crashed = of_kind(&log, "NodeCrashed");
    assert_eq!(
        (crashed.len(), secs(crashed[0]), crashed[0]["reason"].as_str()),
        (1, 100.0, Some("scenario"))
    );
    // Last heartbeat 100 s, grace 50 s, next 5 s monitor tick: Unknown at 155 s, pods NotReady.
    let unknown = of_kind(&log, "NodeCondition")
        .into_iter()
        .find(|v| v["node"] == "node-0" && v["status"] == "Unknown")
        .unwrap();
    assert_eq!(secs(unknown), 155.0);
    let not_ready: Vec<_> = of_kind(&log, "PodNotReady").into_iter().filter(|v| secs(v) == 155.0).collect();
    assert_eq!(not_ready.len(), on_node0.len());
    // Boot at 200 s: Ready and untainted at once; sandbox 0.5 s + start 0.3 s → running at 200.8 s.
    let ready = of_kind(&log, "NodeCondition")
        .into_iter()
        .find(|v| v["node"] == "node-0" && v["status"] == "True" && secs(v) > 100.0)
        .unwrap();
    assert_eq!(secs(ready), 200.0);
    assert!(of_kind(&log, "NodeUntainted").iter().all(|v| secs(v) == 200.0));
    let restarts: Vec<_> =
        of_kind(&log, "ContainerStarted").into_iter().filter(|v| secs(v) > 100.0).collect();
    assert_eq!(restarts.len(), on_node0.len());
    assert!(restarts.iter().all(|v| t_ms(v) == 200_800 && v["restart_count"] == 1));
    assert!(of_kind(&log, "PodDeleting").is_empty(), "recovered before the 455 s eviction");
}

#[test]
fn pods_of_a_node_that_stays_down_are_replaced_and_removed_when_it_boots() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let n0 = pods_on(&c, "node-0").len();
    at(&mut c, 100, Action::CrashNode("node-0".into()));
    c.run_until(SimTime::from_secs(500)).unwrap();
    // Evicted at 455 s (155 + 300) but the dead kubelet cannot confirm: still Terminating.
    assert_eq!(pods_on(&c, "node-0").len(), n0);
    assert!(pods_on(&c, "node-0").iter().all(|p| p.meta.is_terminating()));
    assert_eq!(pods_on(&c, "node-1").len(), 4);
    at(&mut c, 600, Action::RecoverNode("node-0".into()));
    c.run_until(SimTime::from_secs(700)).unwrap();
    assert!(pods_on(&c, "node-0").is_empty(), "the rebooted kubelet confirms the deletions");
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let evicted: Vec<_> =
        of_kind(&log, "PodDeleting").into_iter().filter(|v| v["by"] == "taint-eviction").collect();
    assert!(evicted.len() == n0 && evicted.iter().all(|v| secs(v) == 455.0));
    let deleted: Vec<_> = of_kind(&log, "PodDeleted").into_iter().collect();
    assert!(deleted.len() == n0 && deleted.iter().all(|v| secs(v) == 600.0));
}

#[test]
fn a_partitioned_node_keeps_running_and_reports_what_happened_when_it_heals() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let victim = pods_on(&c, "node-0")[0].meta.key();
    at(&mut c, 100, Action::PartitionNode("node-0".into()));
    // The kubelet restarts the killed container locally (first restart: at once).
    at(&mut c, 200, Action::KillContainer { pod: victim.clone(), container: "app".into(), exit_code: 1 });
    c.run_until(SimTime::from_secs(250)).unwrap();
    // The control plane has not heard of it.
    assert_eq!(c.store().pod(&victim).unwrap().status.container_statuses[0].restart_count, 0);
    at(&mut c, 300, Action::HealNode("node-0".into()));
    c.run_until(SimTime::from_secs(301)).unwrap();
    let cs = c.store().pod(&victim).unwrap().status.container_statuses[0].clone();
    assert_eq!(cs.restart_count, 1);
    assert!(
        matches!(cs.state, ContainerState::Running { started_at } if started_at == SimTime::from_millis(200_300))
    );
    assert!(
        matches!(&cs.last_state, ContainerState::Terminated { exit_code: 1, reason, .. } if reason == "Error")
    );
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(secs(of_kind(&log, "NodePartitioned")[0]), 100.0);
    assert_eq!(secs(of_kind(&log, "ContainerKilled")[0]), 200.0);
    // Nothing about the restart reached the log before the heal; then the latest status only:
    // the termination (seen in lastState) and the new start, both when the control plane hears.
    let terminated = of_kind(&log, "ContainerTerminated");
    assert_eq!(terminated.len(), 1);
    assert_eq!((secs(terminated[0]), terminated[0]["exit_code"].as_i64()), (300.0, Some(1)));
    let started: Vec<_> = of_kind(&log, "ContainerStarted").into_iter().filter(|v| secs(v) > 100.0).collect();
    assert_eq!(started.len(), 1);
    assert_eq!((secs(started[0]), started[0]["restart_count"].as_i64()), (300.0, Some(1)));
    let unknown = of_kind(&log, "NodeCondition").into_iter().find(|v| v["status"] == "Unknown").unwrap();
    assert_eq!(secs(unknown), 155.0);
    let back = of_kind(&log, "NodeCondition")
        .into_iter()
        .find(|v| v["status"] == "True" && secs(v) > 100.0)
        .unwrap();
    assert_eq!(secs(back), 300.0);
    // The pods marked NotReady at 155 s are Ready again at 300 s.
    let ready_again: Vec<_> = of_kind(&log, "PodReady").into_iter().filter(|v| secs(v) == 300.0).collect();
    assert_eq!(ready_again.len(), of_kind(&log, "PodNotReady").len());
}

#[test]
fn deletions_sent_during_a_partition_reach_the_kubelet_when_it_heals() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let n0 = pods_on(&c, "node-0").len();
    at(&mut c, 100, Action::PartitionNode("node-0".into()));
    at(&mut c, 500, Action::HealNode("node-0".into()));
    c.run_until(SimTime::from_secs(600)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    // Taint eviction at 455 s; idle containers die on SIGTERM as soon as the kubelet hears (500 s).
    let deleting: Vec<_> = of_kind(&log, "PodDeleting").into_iter().collect();
    assert!(deleting.len() == n0 && deleting.iter().all(|v| secs(v) == 455.0));
    let terminated: Vec<_> = of_kind(&log, "ContainerTerminated").into_iter().collect();
    assert!(terminated.len() == n0 && terminated.iter().all(|v| secs(v) == 500.0 && v["exit_code"] == 143));
    let deleted: Vec<_> = of_kind(&log, "PodDeleted").into_iter().collect();
    assert!(deleted.len() == n0 && deleted.iter().all(|v| secs(v) == 500.0));
}

#[test]
fn a_zone_outage_partitions_the_zone_for_its_duration() {
    let mut c = cluster(3, ClusterConfig::default());
    c.run_until(SimTime::from_secs(100)).unwrap();
    at(&mut c, 100, Action::ZoneOutage { zone: "a".into(), duration: SimDuration::from_secs(60) });
    c.run_until(SimTime::from_secs(300)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let outage = of_kind(&log, "ZoneOutage");
    assert_eq!((secs(outage[0]), outage[0]["nodes"].as_u64()), (100.0, Some(1)));
    let part = of_kind(&log, "NodePartitioned");
    assert_eq!(
        (part.len(), part[0]["node"].as_str(), part[0]["reason"].as_str()),
        (1, Some("node-0"), Some("zone-outage"))
    );
    let healed = of_kind(&log, "NodeHealed");
    assert_eq!((healed.len(), secs(healed[0])), (1, 160.0));
    let conds: Vec<(f64, &str)> = of_kind(&log, "NodeCondition")
        .into_iter()
        .filter(|v| v["node"] == "node-0" && secs(v) > 0.0)
        .map(|v| (secs(v), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(conds, vec![(155.0, "Unknown"), (160.0, "True")]);
}

#[test]
fn a_sigkilled_container_is_reported_with_exit_137_and_restarted() {
    let mut c = cluster(1, ClusterConfig::default());
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    let pod = pods_on(&c, "node-0")[0].meta.key();
    at(&mut c, 10, Action::KillContainer { pod: pod.clone(), container: "app".into(), exit_code: 137 });
    c.run_until(SimTime::from_secs(20)).unwrap();
    let cs = c.store().pod(&pod).unwrap().status.container_statuses[0].clone();
    assert!(matches!(&cs.last_state, ContainerState::Terminated { exit_code: 137, .. }));
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let term = of_kind(&log, "ContainerTerminated");
    assert_eq!(
        (secs(term[0]), term[0]["exit_code"].as_i64(), term[0]["reason"].as_str()),
        (10.0, Some(137), Some("Error"))
    );
    let started: Vec<_> =
        of_kind(&log, "ContainerStarted").into_iter().filter(|v| v["restart_count"] == 1).collect();
    assert_eq!(t_ms(started[0]), 10_300);
}

#[test]
fn a_leaking_container_is_oom_killed_at_the_exact_crossing_and_shows_oomkilled_as_last_state() {
    // 100Mi + 1Mi/s against the 128Mi limit: over it once the leak exceeds 28Mi + 1 byte,
    // i.e. ceil((29 360 129 / 1 048 576) s) = 28.000000954 s after the start (at 0.8 s).
    let mi = 1i64 << 20;
    let w = ContainerWorkload {
        memory_bytes: Curve::constant(100 * mi).with_leak_per_sec(mi),
        ..ContainerWorkload::idle()
    };
    let config = ClusterConfig {
        workloads: vec![(
            LabelSelector::from_labels([("app", "web")]),
            Arc::new(PodWorkload { containers: vec![Arc::new(w)] }),
        )],
        ..ClusterConfig::default()
    };
    let mut c = cluster(1, config);
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(40)).unwrap();
    let pod = pods_on(&c, "node-0")[0].clone();
    let cs = &pod.status.container_statuses[0];
    assert_eq!(cs.restart_count, 1);
    assert!(
        matches!(&cs.last_state, ContainerState::Terminated { exit_code: 137, reason, .. } if reason == "OOMKilled")
    );
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let oom = of_kind(&log, "ContainerTerminated");
    assert_eq!(oom[0]["reason"], "OOMKilled");
    assert_eq!(oom[0]["t"].as_u64(), Some(800_000_000 + 28_000_000_954));
}

#[test]
fn an_image_missing_from_the_registry_fails_the_pull_then_backs_off() {
    let mut c = cluster(1, ClusterConfig::default());
    at(&mut c, 0, Action::SetImageMissing { image: "web:v2".into(), missing: true });
    c.run_until(SimTime::from_secs(1)).unwrap();
    c.apply_deployment(deployment("web", 1, "web:v2")).unwrap();
    c.run_until(SimTime::from_secs(5)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(of_kind(&log, "ImageAvailability")[0]["missing"], true);
    // Created at 1 s; sandbox at 1.5 s; the registry answers "not found" 0.2 s later.
    let waits: Vec<(u64, &str)> = of_kind(&log, "ContainerWaiting")
        .into_iter()
        .map(|v| (t_ms(v), v["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(waits, vec![(1_700, "ErrImagePull"), (2_700, "ImagePullBackOff")]);
}

#[test]
fn a_slow_node_starts_containers_late() {
    let mut c = cluster(1, ClusterConfig::default());
    at(&mut c, 0, Action::SetStartLatency { node: "node-0".into(), latency: SimDuration::from_secs(5) });
    c.run_until(SimTime::from_secs(1)).unwrap();
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(10)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    // 1 s + sandbox 0.5 s + 5 s.
    assert_eq!(t_ms(of_kind(&log, "ContainerStarted")[0]), 6_500);
    assert_eq!(of_kind(&log, "NodeStartLatency")[0]["latency_ns"].as_u64(), Some(5_000_000_000));
}

fn random_failures(seed: u64) -> (Vec<(u64, String, String)>, sim_core::Digest) {
    let config = ClusterConfig {
        seed,
        node_failures: Some(NodeFailureProcess {
            mtbf: SimDuration::from_hours(2),
            mttr: SimDuration::from_mins(10),
        }),
        ..ClusterConfig::default()
    };
    let mut c = cluster(3, config);
    c.apply_deployment(deployment("web", 6, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(12 * 3600)).unwrap();
    let (bytes, digest) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let faults = log
        .iter()
        .filter(|v| v["kind"] == "NodeCrashed" || v["kind"] == "NodeRecovered")
        .map(|v| {
            (
                v["t"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_string(),
                v["node"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (faults, digest)
}

#[test]
fn the_random_failure_process_draws_up_and_down_times_from_named_streams() {
    let (faults, digest) = random_failures(7);
    assert!(faults.len() >= 6, "12 h at a 2 h MTBF on 3 nodes: {faults:?}");
    // Node 0's first crash is the first draw of faults.node-mtbf[0]; its recovery the first draw
    // of faults.node-mttr[0] after that; its next crash the second mtbf draw after the recovery.
    let streams = RngStreams::new(7);
    let mut up = streams.stream_indexed("faults.node-mtbf", 0);
    let mut down = streams.stream_indexed("faults.node-mttr", 0);
    let crash1 = up.exp_nanos(SimDuration::from_hours(2).as_nanos());
    let back1 = crash1 + down.exp_nanos(SimDuration::from_mins(10).as_nanos());
    let crash2 = back1 + up.exp_nanos(SimDuration::from_hours(2).as_nanos());
    let node0: Vec<&(u64, String, String)> = faults.iter().filter(|f| f.2 == "node-0").collect();
    let expected = [(crash1, "NodeCrashed"), (back1, "NodeRecovered"), (crash2, "NodeCrashed")];
    for (got, (t, kind)) in node0.iter().zip(expected) {
        if t > SimDuration::from_hours(12).as_nanos() {
            break;
        }
        assert_eq!((got.0, got.1.as_str()), (t, kind));
    }
    // Same seed, same run; another seed, another run.
    let (again, digest_again) = random_failures(7);
    assert_eq!((again, digest_again), (faults.clone(), digest));
    assert_ne!(random_failures(8).0, faults);
}

#[test]
fn killing_a_container_that_does_not_run_changes_nothing() {
    let mut c = cluster(1, ClusterConfig::default());
    let ghost = ObjectKey::new("default", "ghost");
    at(&mut c, 1, Action::KillContainer { pod: ghost, container: "app".into(), exit_code: 1 });
    at(&mut c, 1, Action::CrashNode("no-such-node".into()));
    c.run_until(SimTime::from_secs(5)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert!(of_kind(&log, "ContainerKilled").is_empty() && of_kind(&log, "NodeCrashed").is_empty());
}
