//! The scenario library through the crate's API: load, run, check, compare.

use std::path::{Path, PathBuf};

use kubesim_reports::junit::Verdict;
use kubesim_scenarios::run::NullSink;
use kubesim_scenarios::{load, load_str, run_scenario, RunOptions, ScenarioError};
use sim_core::SimDuration;

fn library(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("library").join(name)
}

fn run(path: &Path, seed: Option<u64>, until: Option<SimDuration>) -> kubesim_scenarios::RunResult {
    let s = load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (r, _) = run_scenario(&s, &RunOptions { seed, until }, Vec::new(), &mut NullSink, &mut |_, _| {})
        .expect("run");
    r
}

#[test]
fn quickstart_runs_and_meets_its_expectations() {
    let s = load(&library("quickstart.yaml")).unwrap();
    assert_eq!(s.nodes.len(), 3);
    assert_eq!(s.nodes[1].meta.labels["topology.kubernetes.io/zone"], "b");
    assert_eq!(s.nodes[1].meta.labels["kubernetes.io/hostname"], "node-1");
    let (r, log) =
        run_scenario(&s, &RunOptions::default(), Vec::new(), &mut NullSink, &mut |_, _| {}).unwrap();
    assert_eq!(sim_core::log::digest_of(&log), r.digest, "the digest is the SHA-256 of the bytes written");
    assert_eq!(r.counters.pods_created, 12, "6 pods of v1, then 6 of v2");
    for e in &s.expectations {
        let v = e.evaluate(&r);
        assert_eq!(v.verdict, Verdict::Pass, "{}: {}", v.name, v.message());
    }
}

#[test]
fn the_same_seed_gives_the_same_digest_and_another_seed_another() {
    let a = run(&library("quickstart.yaml"), None, None);
    let b = run(&library("quickstart.yaml"), None, None);
    let c = run(&library("quickstart.yaml"), Some(7), None);
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.digest, c.digest);
    assert_eq!(c.seed, 7);
}

#[test]
fn until_stops_early() {
    let r = run(&library("quickstart.yaml"), None, Some(SimDuration::from_secs(30)));
    assert_eq!(r.end.as_secs(), 30);
}

fn errors_of(text: &str) -> Vec<String> {
    match load_str(text, Path::new("bad.yaml")) {
        Err(ScenarioError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("accepted"),
    }
}

const BASE: &str = "apiVersion: kubesim/v1
kind: Scenario
spec:
  duration: 1m
  cluster:
    nodePools:
      - {name: n, count: 2, allocatable: {cpu: 2, memory: 4Gi}, zones: [a]}
  manifests:
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1}]}
";

#[test]
fn an_unknown_deployment_in_an_event_is_rejected_with_file_line_and_field() {
    let text = format!("{BASE}  events:\n    - {{at: 10s, rollout: {{deployment: wbe, image: web:v2}}}}\n");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .starts_with("bad.yaml:18: spec.events[0].rollout.deployment: unknown deployment default/wbe"),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_nodes_zones_and_unsupported_events_are_rejected() {
    let text = format!(
        "{BASE}  events:\n    - {{at: 10s, stopKubelet: {{node: n-7}}}}\n    - {{at: 10s, zoneOutage: {{zone: z, duration: 1m}}}}\n    - {{at: 20s}}\n"
    );
    let errors = errors_of(&text);
    assert!(
        errors[0]
            .contains("bad.yaml:18: spec.events[0].stopKubelet.node: unknown node \"n-7\" (nodes: n-0, n-1)"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("bad.yaml:19: spec.events[1].zoneOutage.zone: unknown zone \"z\" (zones: a)"),
        "{errors:?}"
    );
    assert!(errors[2].contains("bad.yaml:20: spec.events[2]: needs exactly one action"), "{errors:?}");
}

#[test]
fn a_type_error_names_line_and_field() {
    let text = BASE.replace("duration: 1m", "duration: soon");
    let errors = errors_of(&text);
    assert!(errors[0].starts_with("bad.yaml:4: spec.duration: invalid duration \"soon\""), "{errors:?}");
}

#[test]
fn unknown_fields_are_warnings_with_their_line() {
    let text = BASE.replace("  duration: 1m\n", "  duration: 1m\n  colour: blue\n");
    let s = load_str(&text, Path::new("w.yaml")).unwrap();
    let w: Vec<String> = s.warnings.iter().map(ToString::to_string).collect();
    assert!(w.contains(&"w.yaml:5: spec.colour: unknown field: ignored".to_string()), "{w:?}");
    // A pool without `pods` gets the kubelet's default maxPods.
    assert_eq!(s.nodes[0].status.allocatable.get(&kubesim_api::ResourceName::Pods), Some(110));
}

#[test]
fn a_workload_selector_matching_nothing_and_a_bad_quantity_are_rejected() {
    let text = format!("{BASE}  workloads:\n    - {{selector: {{app: api}}, cpu: {{constant: 100m}}}}\n");
    let errors = errors_of(&text);
    assert!(errors[0].contains("bad.yaml:18: spec.workloads[0].selector: matches no pod"), "{errors:?}");
    let text = BASE.replace("memory: 4Gi", "memory: 4Gb");
    let errors = errors_of(&text);
    assert!(errors[0].contains("spec.cluster.nodePools[0].allocatable.memory"), "{errors:?}");
}

#[test]
fn an_image_not_listed_is_rejected_once_images_are_listed() {
    let text = format!("{BASE}  images:\n    - {{name: web:v9, size: 10Mi}}\n");
    let errors = errors_of(&text);
    assert!(errors.iter().any(|e| e.contains("image \"web:v1\" is not listed in spec.images")), "{errors:?}");
}

#[test]
fn hpa_flash_crowd_scales_the_shop_out_under_the_crowd_and_back_in_after() {
    let s = load(&library("hpa-flash-crowd.yaml")).unwrap_or_else(|e| panic!("{e}"));
    // The Service's 200 → 2000 req/s is a Service load, not a per-pod rate.
    assert_eq!(s.config.service_loads.len(), 1);
    assert_eq!(s.config.service_loads[0].service.to_string(), "default/shop");
    let applied: Vec<&str> = s.actions.iter().map(|a| a.description.as_str()).collect();
    assert_eq!(applied, ["apply Service default/shop", "apply HorizontalPodAutoscaler default/shop"]);
    let (r, _) =
        run_scenario(&s, &RunOptions::default(), Vec::new(), &mut NullSink, &mut |_, _| {}).expect("run");
    let summary = kubesim_scenarios::summary::summary_json(&r, None);
    let hpa = &summary["hpas"]["default/shop"];
    // Peak: ceil(2000 × 2m / (0.6 × 500m)) = ceil(13.3) = 14 replicas, below maxReplicas 20.
    assert_eq!(hpa["replicas_min"], 2.0, "{hpa}");
    assert_eq!(hpa["replicas_max"], 14.0, "{hpa}");
    // Back to 200 req/s at 20m: 200 × 2m = 400m over 500m requests → minReplicas 2, once the
    // 5-minute downscale window has passed (the run ends at 40m).
    assert_eq!(hpa["replicas_final"], 2.0, "{hpa}");
    assert!(hpa["scale_events"].as_u64().unwrap() >= 2, "{hpa}");
    // The first scale-up follows the crowd (5m) by one 15 s sync, and is capped by the legacy
    // limit max(2 × 2, 4) = 4 although the capped CPU (2 × 1000m over 2 × 500m: 200 %) asks for
    // ceil(2 × 200 / 60) = 7.
    let desired = r.metrics.series("hpa_desired_replicas", "default/shop");
    let first_up = desired.iter().find(|p| p.value > 2.0).expect("a scale-up");
    assert!(first_up.time.as_secs() > 300 && first_up.time.as_secs() <= 330, "{:?}", first_up.time);
    assert_eq!(first_up.value, 4.0);
    // Usage metrics from the runtimes are sampled too.
    assert!(!r.metrics.objects("container_memory_working_set_bytes").is_empty());
    for e in &s.expectations {
        let v = e.evaluate(&r);
        assert_eq!(v.verdict, Verdict::Pass, "{}: {}", v.name, v.message());
    }
}

#[test]
fn an_hpa_of_an_unknown_deployment_and_a_workload_behind_two_services_are_rejected() {
    let text = format!(
        "{BASE}    - {{apiVersion: v1, kind: Service, metadata: {{name: a}}, spec: {{selector: {{app: web}}}}}}
    - {{apiVersion: v1, kind: Service, metadata: {{name: b}}, spec: {{selector: {{app: web}}}}}}
    - apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {{name: h}}
      spec: {{scaleTargetRef: {{kind: Deployment, name: api}}, maxReplicas: 3}}
  workloads:
    - {{selector: {{app: web}}, requests: {{rate: {{constant: 10}}, cpuPerRequest: 1m}}}}
"
    );
    let errors = errors_of(&text);
    assert!(
        errors.iter().any(|e| e.contains("HorizontalPodAutoscaler default/h: spec.scaleTargetRef: unknown deployment default/api (deployments: default/web)")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains(
            "spec.workloads[0].selector: its pods are behind several Services (default/a, default/b)"
        )),
        "{errors:?}"
    );
}

#[test]
fn services_pdbs_and_hpas_applied_by_events_become_timed_actions() {
    let text = format!(
        "{BASE}  workloads:
    - {{selector: {{app: web}}, requests: {{rate: {{constant: 10}}, cpuPerRequest: 1m}}}}
  events:
    - at: 30s
      apply:
        objects:
          - {{apiVersion: v1, kind: Service, metadata: {{name: web}}, spec: {{selector: {{app: web}}}}}}
          - {{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {{name: web}}, spec: {{maxUnavailable: 1, selector: {{matchLabels: {{app: web}}}}}}}}
          - apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {{name: web}}
            spec: {{scaleTargetRef: {{kind: Deployment, name: web}}, maxReplicas: 3}}
"
    );
    let s = load_str(&text, Path::new("ok.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(u64, &str)> = s.actions.iter().map(|a| (a.at.as_secs(), a.description.as_str())).collect();
    assert_eq!(
        got,
        [
            (30, "apply Service default/web"),
            (30, "apply PodDisruptionBudget default/web"),
            (30, "apply HorizontalPodAutoscaler default/web"),
        ]
    );
    // The pods are behind the applied Service: its rate is a Service load.
    assert_eq!(s.config.service_loads.len(), 1);
    let (r, _) =
        run_scenario(&s, &RunOptions::default(), Vec::new(), &mut NullSink, &mut |_, _| {}).expect("run");
    assert!(!r.metrics.series("hpa_desired_replicas", "default/web").is_empty());
}

/// The metrics pipeline's usage classes are an optimisation of the per-pod model: a run serves
/// every HPA the same values either way, so the event logs are byte-identical. The scenarios
/// below scale on CPU under request-driven load, roll out (pods leave and join classes) and, in
/// the zone outage, lose endpoints (pods change class without being written).
#[test]
fn usage_classes_give_the_same_run_as_per_pod_metrics() {
    for (name, until) in [("hpa-flash-crowd.yaml", None), ("rolling-update-under-load.yaml", None)] {
        let mut s = load(&library(name)).unwrap();
        assert_eq!(s.config.metrics_mode, kubesim_cluster::MetricsMode::UsageClasses, "the default");
        let options = RunOptions { seed: None, until };
        let (classes, _) = run_scenario(&s, &options, Vec::new(), &mut NullSink, &mut |_, _| {}).unwrap();
        s.config.metrics_mode = kubesim_cluster::MetricsMode::PerPod;
        let (per_pod, _) = run_scenario(&s, &options, Vec::new(), &mut NullSink, &mut |_, _| {}).unwrap();
        assert_eq!(classes.digest, per_pod.digest, "{name}");
        assert!(classes.counters.pods_created > 0, "{name}");
    }
}

#[test]
fn an_unknown_metrics_mode_is_rejected() {
    let text = BASE
        .replace("spec:\n  duration: 1m", "spec:\n  duration: 1m\n  controlPlane: {metricsMode: sometimes}");
    let errors = errors_of(&text);
    assert!(
        errors.iter().any(|e| e.contains("metricsMode") && e.contains("classes or per-pod")),
        "{errors:?}"
    );
}
