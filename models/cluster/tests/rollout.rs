//! Whole rollouts in the simulator: the ReplicaSet size sequence must be the one kube-controller-manager
//! produces (rolling.go), step by step.

mod common;

use common::*;
use kubesim_api::{DeploymentStrategy, IntOrPercent, ObjectKey};
use kubesim_cluster::{Action, ClusterConfig};
use sim_core::SimTime;

fn scaled_sequence(log: &[serde_json::Value]) -> Vec<(String, i64, i64)> {
    of_kind(log, "ReplicaSetScaled")
        .iter()
        .map(|v| {
            let rs = v["replicaset"].as_str().unwrap();
            // Name the RS by revision order: the first created is "old", the second "new".
            (rs.to_string(), v["from"].as_i64().unwrap(), v["to"].as_i64().unwrap())
        })
        .collect()
}

#[test]
fn a_rolling_update_of_four_replicas_steps_like_upstream() {
    let mut c = cluster(3, ClusterConfig::default());
    c.apply_deployment(deployment("web", 4, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(60)).unwrap();
    let key = ObjectKey::new("default", "web");
    assert_eq!(c.deployment_status(&key).unwrap().available_replicas, 4);
    c.schedule_action(
        SimTime::from_secs(60),
        Action::SetImage { deployment: key.clone(), container: None, image: "web:v2".into() },
    )
    .unwrap();
    c.run_until(SimTime::from_secs(300)).unwrap();
    let status = c.deployment_status(&key).unwrap().clone();
    assert_eq!((status.replicas, status.updated_replicas, status.available_replicas), (4, 4, 4));
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);

    let created = of_kind(&log, "ReplicaSetCreated");
    assert_eq!(created.len(), 2);
    let old = created[0]["replicaset"].as_str().unwrap().to_string();
    let new = created[1]["replicaset"].as_str().unwrap().to_string();
    assert_eq!(created[1]["replicas"], 1, "the new RS starts at maxSurge = 1");
    // maxSurge 25% of 4 → 1 (up), maxUnavailable 25% of 4 → 1 (down); minAvailable 3, maxTotal 5.
    // Worked by hand from rolloutRolling: old 4→3 (5-3-1 = 1 may go), new 1→2 (Σspec 4 < 5),
    // [2 new pods ready] old 3→1 (avail 5 - 3), new 2→4, [2 more ready] old 1→0.
    let expected = vec![
        (old.clone(), 4, 3),
        (new.clone(), 1, 2),
        (old.clone(), 3, 1),
        (new.clone(), 2, 4),
        (old.clone(), 1, 0),
    ];
    assert_eq!(scaled_sequence(&log), expected);
    assert_eq!(of_kind(&log, "DeploymentRolloutComplete").len(), 2, "revision 1, then revision 2");
}

#[test]
fn recreate_kills_every_old_pod_before_creating_the_new_replica_set() {
    let mut c = cluster(2, ClusterConfig::default());
    let mut d = deployment("batch", 3, "app:v1");
    d.strategy = DeploymentStrategy::Recreate;
    c.apply_deployment(d).unwrap();
    c.run_until(SimTime::from_secs(30)).unwrap();
    let key = ObjectKey::new("default", "batch");
    c.schedule_action(
        SimTime::from_secs(30),
        Action::SetImage { deployment: key, container: None, image: "app:v2".into() },
    )
    .unwrap();
    c.run_until(SimTime::from_secs(200)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let created = of_kind(&log, "ReplicaSetCreated");
    assert_eq!(created.len(), 2);
    let last_old_pod_gone = of_kind(&log, "PodDeleted").iter().map(|v| secs(v)).fold(0.0, f64::max);
    assert!(
        secs(created[1]) >= last_old_pod_gone,
        "new RS at {} before old pods gone at {last_old_pod_gone}",
        secs(created[1])
    );
    assert_eq!(created[1]["replicas"], 3, "Recreate creates the new RS at full size");
}

#[test]
fn surge_and_unavailability_bounds_hold_throughout_a_big_rollout() {
    let mut c = cluster(6, ClusterConfig::default());
    let mut d = deployment("api", 20, "api:v1");
    d.strategy = DeploymentStrategy::RollingUpdate {
        max_surge: IntOrPercent::Int(3),
        max_unavailable: IntOrPercent::Percent(10),
    };
    c.apply_deployment(d).unwrap();
    c.run_until(SimTime::from_secs(60)).unwrap();
    let key = ObjectKey::new("default", "api");
    c.schedule_action(
        SimTime::from_secs(60),
        Action::SetImage { deployment: key.clone(), container: None, image: "api:v2".into() },
    )
    .unwrap();
    // Step through and check Σ spec ≤ 23 and available ≥ 18 at every second.
    for t in 61..400 {
        c.run_until(SimTime::from_secs(t)).unwrap();
        let spec_sum: i32 = c.store().replica_sets.values().map(|rs| rs.replicas).sum();
        assert!(spec_sum <= 23, "t={t}: Σspec {spec_sum} > replicas + maxSurge");
        let s = c.deployment_status(&key).unwrap();
        assert!(
            s.available_replicas >= 18,
            "t={t}: available {} < replicas - maxUnavailable",
            s.available_replicas
        );
    }
    let s = c.deployment_status(&key).unwrap();
    assert_eq!((s.updated_replicas, s.available_replicas, s.replicas), (20, 20, 20));
}

#[test]
fn the_same_seed_gives_the_same_digest() {
    let run = |seed| {
        let mut c = cluster(3, ClusterConfig { seed, ..Default::default() });
        c.apply_deployment(deployment("web", 6, "web:v1")).unwrap();
        c.schedule_action(
            SimTime::from_secs(40),
            Action::SetImage {
                deployment: ObjectKey::new("default", "web"),
                container: None,
                image: "web:v2".into(),
            },
        )
        .unwrap();
        c.run_until(SimTime::from_secs(200)).unwrap();
        c.finish().unwrap().1
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "pod names draw from the seed");
}

#[test]
fn rolling_back_reuses_the_old_replica_set_with_the_next_revision() {
    let mut c = cluster(3, ClusterConfig::default());
    c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
    let key = ObjectKey::new("default", "web");
    let set =
        |image: &str| Action::SetImage { deployment: key.clone(), container: None, image: image.into() };
    c.schedule_action(SimTime::from_secs(60), set("web:v2")).unwrap();
    c.schedule_action(SimTime::from_secs(200), set("web:v1")).unwrap();
    c.run_until(SimTime::from_secs(400)).unwrap();
    // Two ReplicaSets only: the rollback makes the v1 RS the new one again, with revision
    // max(1, 2) + 1 = 3 and its old revision 1 in revision-history (getNewReplicaSet).
    let rss: Vec<_> = c.store().replica_sets.values().cloned().collect();
    assert_eq!(rss.len(), 2);
    let v1 = rss.iter().find(|rs| rs.template.spec.containers[0].image == "web:v1").unwrap();
    assert_eq!(v1.meta.annotations["deployment.kubernetes.io/revision"], "3");
    assert_eq!(v1.meta.annotations["deployment.kubernetes.io/revision-history"], "1");
    assert_eq!(v1.replicas, 3);
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let revisions: Vec<i64> =
        of_kind(&log, "DeploymentRolloutComplete").iter().map(|v| v["revision"].as_i64().unwrap()).collect();
    assert_eq!(revisions, vec![1, 2, 3]);
}

#[test]
fn a_rollout_hands_the_scheduler_its_new_replica_set_and_shares_the_unchanged_selectors() {
    let mut c = cluster(3, ClusterConfig::default());
    c.apply_deployment(deployment("web", 2, "web:v1")).unwrap();
    c.apply_deployment(deployment("api", 2, "api:v1")).unwrap();
    c.run_until(SimTime::from_secs(60)).unwrap();
    let before = c.scheduler_objects().workloads.controllers.clone();
    assert_eq!(before.len(), 2, "one ReplicaSet per Deployment");
    c.schedule_action(
        SimTime::from_secs(60),
        Action::SetImage {
            deployment: ObjectKey::new("default", "web"),
            container: None,
            image: "web:v2".into(),
        },
    )
    .unwrap();
    c.run_until(SimTime::from_secs(300)).unwrap();
    let after = &c.scheduler_objects().workloads.controllers;
    // Exactly the store's ReplicaSets, in key order, as a fresh build would list them.
    let fresh: Vec<(String, String, Option<kubesim_api::LabelSelector>)> = c
        .store()
        .replica_sets
        .values()
        .map(|rs| (rs.meta.namespace.to_string(), rs.meta.name.to_string(), Some(rs.selector.clone())))
        .collect();
    let handed: Vec<_> =
        after.iter().map(|s| (s.namespace.clone(), s.name.clone(), s.selector.clone())).collect();
    assert_eq!(handed, fresh);
    assert_eq!(after.len(), 3, "the rollout added web's new ReplicaSet");
    // The two ReplicaSets that existed before are the very entries handed over then.
    for old in &before {
        let same = after.iter().find(|s| s.name == old.name).expect("still there");
        assert!(kubesim_api::Shared::ptr_eq(same, old), "{} was shared, not rebuilt", old.name);
    }
}
