//! An autoscaling episode: a Service's offered load steps up at 300 s and back down at 900 s;
//! request-driven pods turn it into CPU; metrics-server scrapes every 15 s; the HPA reconciles
//! every 15 s and scales the Deployment.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::autoscaling::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HpaMetricSource, MetricIdentifier, MetricTarget,
};
use kubesim_api::services::Service;
use kubesim_api::{LabelSelector, ObjectKey, ObjectMeta, ResourceList, ResourceName};
use kubesim_cluster::config::{ExternalSeries, ServiceLoad};
use kubesim_cluster::{Cluster, ClusterConfig};
use kubesim_workload::{ContainerWorkload, Curve, Demand, Interpolation, PodWorkload};
use sim_core::{SimDuration, SimTime};

fn s(secs: u64) -> SimDuration {
    SimDuration::from_secs(secs)
}

/// 20 req/s until 300 s, 100 req/s until 900 s, then 20 req/s again (milli-req/s).
fn step_load() -> Curve {
    Curve::from_points(&[(s(0), 20_000), (s(300), 100_000), (s(900), 20_000)], Interpolation::Hold).unwrap()
}

/// Pods of `web` spend 5 millicores per request per second.
fn config(load: Curve) -> ClusterConfig {
    let workload = PodWorkload {
        containers: vec![Arc::new(ContainerWorkload {
            cpu_millis: Demand::RequestDriven { base: 0, per_request: 5 },
            ..ContainerWorkload::idle()
        })],
    };
    ClusterConfig {
        workloads: vec![(LabelSelector::from_labels([("app", "web")]), Arc::new(workload))],
        service_loads: vec![ServiceLoad {
            service: ObjectKey::new("default", "web"),
            requests_per_second_milli: load,
        }],
        ..Default::default()
    }
}

fn service() -> Service {
    Service {
        meta: ObjectMeta::named("default", "web"),
        selector: Some([("app".to_string(), "web".to_string())].into_iter().collect()),
        ..Default::default()
    }
}

/// `web` with 2 replicas requesting 200m CPU each (no CPU limit).
fn web(replicas: i32) -> kubesim_api::Deployment {
    let mut d = deployment("web", replicas, "web:v1");
    let c = &mut d.template.spec.containers[0];
    c.resources.requests = ResourceList::new().with_cpu_millis(200).with_memory_bytes(128 * MIB);
    c.resources.limits = ResourceList::new().with_memory_bytes(128 * MIB);
    d
}

fn hpa(metrics: Vec<HpaMetricSource>) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        meta: ObjectMeta::named("default", "web"),
        scale_target_ref: CrossVersionObjectReference {
            kind: "Deployment".into(),
            name: "web".into(),
            api_version: "apps/v1".into(),
        },
        min_replicas: 2,
        max_replicas: 10,
        metrics,
        behavior: None,
    }
}

fn cpu_50() -> Vec<HpaMetricSource> {
    vec![HpaMetricSource::Resource { resource: ResourceName::Cpu, target: MetricTarget::Utilization(50) }]
}

/// A cluster running `web` behind its Service, with the HPA applied at 5 s.
fn episode(config: ClusterConfig, metrics: Vec<HpaMetricSource>) -> Cluster<Vec<u8>> {
    let mut c = cluster(3, config);
    c.apply_service(service()).unwrap();
    c.apply_deployment(web(2)).unwrap();
    c.run_until(SimTime::from_secs(5)).unwrap();
    c.apply_hpa(hpa(metrics)).unwrap();
    c
}

fn scaled(log: &[serde_json::Value]) -> Vec<(f64, i64, i64, String)> {
    of_kind(log, "HpaScaled")
        .iter()
        .map(|v| {
            (
                secs(v),
                v["from"].as_i64().unwrap(),
                v["to"].as_i64().unwrap(),
                v["limited_by"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn decision_at(log: &[serde_json::Value], t: f64) -> &serde_json::Value {
    of_kind(log, "HpaDecision")
        .into_iter()
        .find(|v| secs(v) == t)
        .unwrap_or_else(|| panic!("no decision at {t}"))
}

#[test]
fn a_cpu_step_scales_up_under_the_legacy_limit_and_down_after_five_minutes_of_stabilization() {
    let mut c = episode(config(step_load()), cpu_50());
    let key = ObjectKey::new("default", "web");
    c.run_until(SimTime::from_secs(300)).unwrap();
    assert_eq!(c.store().deployments[&key].replicas, 2);
    c.run_until(SimTime::from_secs(600)).unwrap();
    assert_eq!(c.store().deployments[&key].replicas, 5);
    assert_eq!(c.ready_endpoints(&key).len(), 5);
    c.run_until(SimTime::from_secs(1300)).unwrap();
    assert_eq!(c.store().deployments[&key].replicas, 2);
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);

    // Scrapes at multiples of 15 s; the HPA (applied at 5 s) reconciles at 5 + 15k s and reads the
    // scrape 5 s before. Pods start 0.8 s after creation (sandbox 0.5 s + container 0.3 s, the image
    // pulls instantly) and are Ready at once (no readiness probe).
    //
    // Before 300 s: 20 req/s over 2 pods = 10 req/s × 5m = 50m of 200m = 25 % → proposal
    // ceil(0.5 × 2) = 1, held at minReplicas 2.
    let before = decision_at(&log, 290.0);
    assert_eq!(
        (before["current_replicas"].as_i64(), before["desired_replicas"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(before["metrics"][0]["utilization_percent"], 25);
    // 300 s: the scrape sees 100 req/s over 2 pods = 250m = 125 %. 305 s: ratio 2.5 → ceil(5.0) = 5,
    // capped by the legacy scale-up limit max(2 × 2, 4) = 4.
    let up = decision_at(&log, 305.0);
    assert_eq!(up["metrics"][0]["utilization_percent"], 125);
    assert_eq!(up["metrics"][0]["proposal"], 5);
    // 305.8 s: 4 endpoints → 25 req/s = 125m each. Scrape 315: the 2 new pods are 9.2 s old — under
    // metrics-server's 10 s minimum, no point to rate against → missing. Sync 320: the 2 ready pods
    // at 250m / 400m = 62 % (integer percent) → ratio 1.24, but counting the 2 missing pods as 0
    // turns it into 0.62 < 1: a scale up that flips direction proposes the current 4. The legacy
    // normalization still takes the largest raw recommendation of the last 300 s — 5, logged at
    // 305 s — so the HPA writes 5 (limited by stabilization).
    let held = decision_at(&log, 320.0);
    assert_eq!(held["metrics"][0]["missing_pods"], 2);
    assert_eq!(held["metrics"][0]["utilization_percent"], 62);
    assert_eq!(held["metrics"][0]["proposal"], 4);
    assert_eq!(
        (held["desired_replicas"].as_i64(), held["limited_by"].as_str()),
        (Some(5), Some("stabilization"))
    );
    // 320.8 s: 5 endpoints → 20 req/s = 100m = exactly 50 % → ratio 1.0, inside the tolerance; from
    // 335 s on the proposal is the current 5 (the 5th pod is missing at 335, served from 350).
    let steady = decision_at(&log, 350.0);
    assert_eq!(steady["metrics"][0]["ready_pods"], 5);
    assert_eq!(
        (steady["desired_replicas"].as_i64(), steady["metrics"][0]["utilization_percent"].as_i64()),
        (Some(5), Some(50))
    );
    // 900 s: 20 req/s over 5 pods = 20m = 10 % → raw proposal ceil(0.2 × 5) = 1 from the 905 s sync
    // on, but the last recommendation of 5 was logged at 890 s and the legacy window keeps entries
    // not *before* now − 300 s: at 1190 s the cutoff is exactly 890 s → still 5; at 1205 s it is
    // gone → recommendation 1, bounded by minReplicas → 2.
    for t in [905.0, 1190.0] {
        let d = decision_at(&log, t);
        assert_eq!(
            (d["desired_replicas"].as_i64(), d["limited_by"].as_str()),
            (Some(5), Some("stabilization")),
            "t={t}"
        );
        assert_eq!(d["metrics"][0]["proposal"], 1, "t={t}");
    }
    let expected = vec![
        (305.0, 2, 4, "scale-up-limit".to_string()),
        (320.0, 4, 5, "stabilization".to_string()),
        (1205.0, 5, 2, "min".to_string()),
    ];
    assert_eq!(scaled(&log), expected);
    // Ready endpoints follow: 2 → 4 (305.8 s) → 5 (320.8 s) → 2 (1205 s: the 3 victims terminate).
    let endpoints: Vec<(f64, i64)> =
        of_kind(&log, "EndpointsChanged").iter().map(|v| (secs(v), v["ready"].as_i64().unwrap())).collect();
    assert_eq!(endpoints, vec![(0.0, 0), (0.8, 2), (305.8, 4), (320.8, 5), (1205.0, 2)]);
    // The Deployment follows each write at once.
    let updates: Vec<(f64, i64)> = of_kind(&log, "DeploymentUpdated")
        .iter()
        .filter(|v| secs(v) > 5.0)
        .map(|v| (secs(v), v["replicas"].as_i64().unwrap()))
        .collect();
    assert_eq!(updates, vec![(305.0, 4), (320.0, 5), (1205.0, 2)]);
}

#[test]
fn the_hpa_sees_the_last_scrape_not_the_current_demand() {
    // metrics-server at a 60 s resolution: the HPA acts on data up to a minute old.
    let slow = ClusterConfig { metrics_resolution: s(60), ..config(step_load()) };
    let mut c = episode(slow, cpu_50());
    c.run_until(SimTime::from_secs(400)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    // Scrapes at 240 and 300: the 300 s scrape already sees the step (the load curve holds 100 req/s
    // from 300 s on), so the first reaction is at the 305 s sync either way…
    assert_eq!(decision_at(&log, 305.0)["metrics"][0]["utilization_percent"], 125);
    // …but the next 60 s scrape is at 360: syncs 320…350 still see the 300 s scrape — the 2 old pods
    // at 250m = 125 %, although with 4 (then 5) endpoints they now burn 125m (then 100m); the pods
    // created since are missing. (With 15 s scrapes the 320 s sync sees 62 %.)
    for (t, missing) in [(320.0, 2), (335.0, 3), (350.0, 3)] {
        let d = decision_at(&log, t);
        assert_eq!(d["metrics"][0]["utilization_percent"], 125, "t={t}");
        assert_eq!(d["metrics"][0]["missing_pods"], missing, "t={t}");
    }
    // 365 s reads the 360 s scrape: 5 pods at 100m = 50 %.
    assert_eq!(decision_at(&log, 365.0)["metrics"][0]["utilization_percent"], 50);
    assert_eq!(decision_at(&log, 365.0)["metrics"][0]["ready_pods"], 5);
}

#[test]
fn a_pods_metric_scales_on_requests_per_second_per_pod() {
    // Target 20 req/s per pod. Before 300 s: 10 per pod → proposal ceil(0.5 × 2) = 1 → min 2.
    // At 305 s (scrape 300): 50 per pod → ratio 2.5 → 5, capped at 4 by the legacy limit.
    let metrics = vec![HpaMetricSource::Pods {
        metric: MetricIdentifier { name: "requests_per_second".into(), selector: None },
        target: MetricTarget::AverageValue(20_000),
    }];
    let mut c = episode(config(step_load()), metrics);
    c.run_until(SimTime::from_secs(500)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    assert_eq!(decision_at(&log, 290.0)["metrics"][0]["value_milli"], 10_000);
    let s = scaled(&log);
    assert_eq!(s[0], (305.0, 2, 4, "scale-up-limit".to_string()));
    // Scrape 315: 4 endpoints, 25 req/s each, for every running pod (the Pods metric has no
    // 10 s freshness rule) → 320 s: ratio 1.25 → ceil(5.0) = 5.
    assert_eq!(s[1], (320.0, 4, 5, "none".to_string()));
    assert_eq!(s.len(), 2, "100 req/s over 5 pods is exactly the target");
}

#[test]
fn an_external_metric_series_drives_the_scale() {
    // Queue length 30 until 200 s, then 120; target AverageValue 10 per replica: outside the
    // tolerance the proposal is ceil(total / 10) (`GetExternalPerPodMetricReplicas`).
    let queue = Curve::from_points(&[(s(0), 30_000), (s(200), 120_000)], Interpolation::Hold).unwrap();
    let config = ClusterConfig {
        external_metrics: vec![ExternalSeries {
            name: "queue_length".into(),
            labels: [("queue".to_string(), "orders".to_string())].into_iter().collect(),
            value_milli: queue,
        }],
        ..config(step_load())
    };
    let metrics = vec![HpaMetricSource::External {
        metric: MetricIdentifier {
            name: "queue_length".into(),
            selector: Some(LabelSelector::from_labels([("queue", "orders")])),
        },
        target: MetricTarget::AverageValue(10_000),
    }];
    let mut c = episode(config, metrics);
    c.run_until(SimTime::from_secs(260)).unwrap();
    let (bytes, _) = c.finish().unwrap();
    let log = log_lines(&bytes);
    // 5 s: 30 / (10 × status.replicas 2) = 1.5 → ceil(1.5 × 2) = 3 (limit max(4, 4) allows it).
    // 200 s (5 + 15 × 13): read live, the series is already 120 → ceil(120 / 10) = 12 → legacy
    // limit max(2 × 3, 4) = 6. 215 s: 12 again → limit max(12, 4) = 12 → maxReplicas 10.
    let s = scaled(&log);
    assert_eq!(s[0], (5.0, 2, 3, "none".to_string()));
    assert_eq!(s[1], (200.0, 3, 6, "scale-up-limit".to_string()));
    assert_eq!(s[2], (215.0, 6, 10, "max".to_string()));
}

#[test]
fn an_autoscaling_episode_replays_to_the_same_digest() {
    let run = || {
        let mut c = episode(config(step_load()), cpu_50());
        c.run_until(SimTime::from_secs(1300)).unwrap();
        c.finish().unwrap().1
    };
    assert_eq!(run(), run());
}

/// The usage classes serve exactly what the per-pod model serves: through the load steps, the
/// HPA's scale-ups and scale-downs and a rollout (pods leave and join classes, endpoints change),
/// the PodMetrics after every scrape and the whole event log are the same in both modes, while
/// the classes do share: the ready replicas of one ReplicaSet have one class.
#[test]
fn usage_classes_serve_what_the_per_pod_model_serves() {
    let run = |mode: kubesim_cluster::MetricsMode| {
        let mut c = episode(ClusterConfig { metrics_mode: mode, ..config(step_load()) }, cpu_50());
        let mut served = Vec::new();
        let mut most_shared = 0.0f64;
        for t in (20..=1300).step_by(15) {
            if t == 605 {
                c.apply_deployment(web(c.store().deployments[&ObjectKey::new("default", "web")].replicas))
                    .unwrap();
                let mut v2 = c.store().deployments[&ObjectKey::new("default", "web")].clone();
                v2.template.spec.containers[0].image = "web:v2".into();
                c.apply_deployment(v2).unwrap();
            }
            c.run_until(SimTime::from_secs(t)).unwrap();
            let metrics = c.pod_metrics();
            if c.usage_class_count() > 0 {
                most_shared = most_shared.max(metrics.len() as f64 / c.usage_class_count() as f64);
            }
            served.push(metrics);
        }
        (served, most_shared, c.finish().unwrap().1)
    };
    let (classes, shared, classes_log) = run(kubesim_cluster::MetricsMode::UsageClasses);
    let (per_pod, none, per_pod_log) = run(kubesim_cluster::MetricsMode::PerPod);
    assert_eq!(none, 0.0, "the per-pod mode has no classes");
    assert!(shared >= 4.0, "at least four pods per class at the peak, got {shared}");
    for (a, b) in classes.iter().zip(&per_pod) {
        assert_eq!(a, b);
    }
    let most = classes.iter().map(Vec::len).max();
    assert!(most >= Some(5), "the HPA scaled out: {most:?}");
    assert!(classes_log == per_pod_log, "the event logs are byte-identical");
}

#[test]
fn a_written_pod_leaves_no_old_version_behind_in_the_hpa_or_the_metrics_pipeline() {
    // Pods start at about 6 s and turn ready at 30 s: a status write after the 20 s scrape and
    // the 20 s HPA sync have both read the version before it. Neither may keep that version
    // alive until its next read (at 15k pods that was a second copy of every pod while pods
    // start).
    let mut c = cluster(3, ClusterConfig { metrics_resolution: s(20), ..config(step_load()) });
    c.apply_service(service()).unwrap();
    let mut d = web(4);
    d.template.spec.containers[0].readiness_probe = Some(kubesim_api::Probe {
        initial_delay_seconds: 20,
        ..kubesim_api::Probe::with_defaults(kubesim_api::ProbeAction::TcpSocket { port: 8080 })
    });
    c.apply_deployment(d).unwrap();
    c.run_until(SimTime::from_secs(5)).unwrap();
    c.apply_hpa(hpa(cpu_50())).unwrap();
    let mut seen: Vec<(ObjectKey, std::sync::Weak<kubesim_api::Pod>)> = Vec::new();
    let mut replaced = 0;
    for t in 6..=60 {
        c.run_until(SimTime::from_secs(t)).unwrap();
        for (key, old) in &seen {
            let current = c.store().pod(key);
            if let Some(old) = old.upgrade() {
                assert!(
                    current.is_some_and(|p| Arc::ptr_eq(p, &old)),
                    "t={t}: an old version of {key} is still alive"
                );
            }
        }
        replaced +=
            seen.iter().filter(|(key, old)| old.upgrade().is_none() && c.store().pod(key).is_some()).count();
        seen = c.store().pods_with_keys().map(|(k, p)| (k.clone(), Arc::downgrade(p))).collect();
    }
    assert!(
        replaced >= 4,
        "the pods were written while both readers held them ({replaced} versions replaced)"
    );
}
