//! Jobs (completions, parallelism, backoffLimit with the pod-failure backoff, activeDeadlineSeconds)
//! and garbage collection of a deleted Deployment's ReplicaSets and pods.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::{
    Container, Job, LabelSelector, ObjectKey, ObjectMeta, PodSpec, PodTemplateSpec, ResourceList,
    ResourceRequirements, RestartPolicy,
};
use kubesim_cluster::{Action, ClusterConfig, JobStatus};
use kubesim_workload::{ContainerWorkload, HealthSpec, PodWorkload};
use sim_core::{SimDuration, SimTime};

fn job(name: &str, completions: i32, parallelism: i32, backoff_limit: i32) -> Job {
    let labels: kubesim_api::Labels = [("app".to_string(), name.to_string())].into_iter().collect();
    let req = ResourceList::new().with_cpu_millis(100).with_memory_bytes(64 * MIB);
    Job {
        meta: ObjectMeta::named("default", name),
        completions: Some(completions),
        parallelism,
        backoff_limit,
        template: PodTemplateSpec {
            labels: labels.into(),
            annotations: Default::default(),
            spec: PodSpec {
                containers: vec![Container {
                    name: "task".into(),
                    image: "task:v1".into(),
                    resources: ResourceRequirements { requests: req.clone(), limits: req },
                    ..Default::default()
                }]
                .into(),
                restart_policy: RestartPolicy::Never,
                ..Default::default()
            },
        },
        ..Default::default()
    }
}

fn config(app: &str, workload: ContainerWorkload) -> ClusterConfig {
    ClusterConfig {
        workloads: vec![(
            LabelSelector::from_labels([("app", app)]),
            Arc::new(PodWorkload { containers: vec![Arc::new(workload)] }),
        )],
        ..Default::default()
    }
}

fn times(log: &[serde_json::Value], kind: &str) -> Vec<f64> {
    of_kind(log, kind).iter().map(|v| secs(v)).collect()
}

#[test]
fn a_job_runs_parallelism_pods_until_its_completions_succeed() {
    // Each pod runs 10 s after its container starts (0.8 s after creation).
    // 0 s: 2 pods (parallelism 2, 3 completions to go). 10.8 s: both succeed → want min(3 − 2, 2) = 1
    // → 1 pod. 21.6 s: it succeeds → 3 completions, nothing active → Complete.
    let mut c = cluster(2, config("batch", ContainerWorkload::completing(SimDuration::from_secs(10))));
    c.apply_job(job("batch", 3, 2, 6)).unwrap();
    c.run_until(SimTime::from_secs(60)).unwrap();
    let key = ObjectKey::new("default", "batch");
    assert_eq!(
        c.job_status(&key),
        Some(JobStatus { active: 0, succeeded: 3, failed: 0, complete: Some(true) })
    );
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(times(&log, "PodCreated"), vec![0.0, 0.0, 10.8]);
    let finished = of_kind(&log, "JobFinished");
    assert_eq!(finished.len(), 1);
    assert_eq!(secs(finished[0]), 21.6);
    assert_eq!(
        (finished[0]["condition"].as_str(), finished[0]["reason"].as_str()),
        (Some("Complete"), Some("CompletionsReached"))
    );
    assert!(of_kind(&log, "PodCreated").iter().all(|v| v["owner"] == "Job/batch"));
}

#[test]
fn a_crashing_job_backs_off_ten_then_twenty_seconds_and_fails_past_its_backoff_limit() {
    // The container exits 1 five seconds after it starts; restartPolicy Never → the pod Fails.
    // Pod 1: created 0 s, fails 5.8 s (failed 1 ≤ 2) → backoff 10 s from its finish → 15.8 s.
    // Pod 2: created 15.8 s, fails 21.6 s (failed 2) → backoff 20 s → 41.6 s.
    // Pod 3: created 41.6 s, fails 47.4 s (failed 3 > backoffLimit 2) → Failed BackoffLimitExceeded.
    let crashing = ContainerWorkload {
        failures: HealthSpec { crash_at: Some(SimDuration::from_secs(5)), ..Default::default() },
        ..ContainerWorkload::idle()
    };
    let mut c = cluster(2, config("flaky", crashing));
    c.apply_job(job("flaky", 1, 1, 2)).unwrap();
    c.run_until(SimTime::from_secs(200)).unwrap();
    let key = ObjectKey::new("default", "flaky");
    assert_eq!(
        c.job_status(&key),
        Some(JobStatus { active: 0, succeeded: 0, failed: 3, complete: Some(false) })
    );
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(times(&log, "PodCreated"), vec![0.0, 15.8, 41.6]);
    let failed: Vec<f64> =
        of_kind(&log, "PodPhase").iter().filter(|v| v["phase"] == "Failed").map(|v| secs(v)).collect();
    assert_eq!(failed, vec![5.8, 21.6, 47.4]);
    let finished = of_kind(&log, "JobFinished");
    assert_eq!(secs(finished[0]), 47.4);
    assert_eq!(
        (finished[0]["condition"].as_str(), finished[0]["reason"].as_str()),
        (Some("Failed"), Some("BackoffLimitExceeded"))
    );
}

#[test]
fn a_job_past_its_active_deadline_fails_and_deletes_its_pods() {
    // Pods that never finish; activeDeadlineSeconds 30 counted from the first sync (0 s).
    let mut c = cluster(2, ClusterConfig::default());
    let mut j = job("slow", 2, 2, 6);
    j.active_deadline_seconds = Some(30);
    c.apply_job(j).unwrap();
    c.run_until(SimTime::from_secs(100)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let finished = of_kind(&log, "JobFinished");
    assert_eq!(secs(finished[0]), 30.0);
    assert_eq!(finished[0]["reason"], "DeadlineExceeded");
    let deleting: Vec<_> = of_kind(&log, "PodDeleting").into_iter().filter(|v| v["by"] == "job").collect();
    assert_eq!(deleting.len(), 2);
    assert!(deleting.iter().all(|v| secs(v) == 30.0));
    assert_eq!(times(&log, "PodDeleted").len(), 2, "the kubelet stopped both");
}

#[test]
fn deleting_a_deployment_collects_its_replica_sets_and_pods() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(30)).unwrap();
    c.schedule_action(SimTime::from_secs(30), Action::DeleteDeployment(ObjectKey::new("default", "web")))
        .unwrap();
    c.run_until(SimTime::from_secs(120)).unwrap();
    assert!(c.store().deployments.is_empty());
    assert!(c.store().replica_sets.is_empty());
    assert_eq!(c.store().pod_count(), 0);
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    let deleted: Vec<(f64, String, String)> = of_kind(&log, "ObjectDeleted")
        .iter()
        .map(|v| {
            (secs(v), v["object_kind"].as_str().unwrap().to_string(), v["by"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        deleted,
        vec![
            (30.0, "Deployment".to_string(), "scenario".to_string()),
            (30.0, "ReplicaSet".to_string(), "garbage-collector".to_string()),
        ]
    );
    let gc: Vec<f64> = of_kind(&log, "PodDeleting")
        .iter()
        .filter(|v| v["by"] == "garbage-collector")
        .map(|v| secs(v))
        .collect();
    assert_eq!(gc, vec![30.0; 3]);
    assert_eq!(times(&log, "PodCreated").len(), 3, "no replacement: the ReplicaSet is gone");
}
