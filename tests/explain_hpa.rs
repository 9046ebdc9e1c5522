//! `kubesim explain hpa` end to end: runs the built binary on the fixtures in
//! `tests/fixtures/hpa/` and checks both outputs and the exit status.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hpa").join(name)
}

fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim")).args(args).output().expect("run kubesim")
}

fn explain_json(name: &str) -> serde_json::Value {
    let path = fixture(name);
    let out = kubesim(&["explain", "hpa", "--input", path.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn explain_table(name: &str) -> String {
    let path = fixture(name);
    let out = kubesim(&["explain", "hpa", "--input", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cpu_scale_up_json_follows_the_contract() {
    let v = explain_json("scale-up-cpu.yaml");
    assert_eq!(v["current_replicas"], 4);
    assert_eq!(v["desired_replicas"], 8);
    assert_eq!(v["recommendation"], 8);
    assert_eq!(v["limited_by"], "none");
    let m = &v["metrics"][0];
    assert_eq!(m["type"], "Resource");
    assert_eq!(m["name"], "cpu");
    assert_eq!(m["proposal"], 8);
    assert_eq!(m["usage_ratio"].as_f64(), Some(115.0 / 60.0));
    assert_eq!((m["ready_pods"].as_u64(), m["unready_pods"].as_u64()), (Some(4), Some(0)));
    assert_eq!((m["missing_pods"].as_u64(), m["ignored_pods"].as_u64()), (Some(0), Some(0)));
    assert_eq!(
        v["conditions"],
        serde_json::json!([
            {"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"},
            {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
            {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"}
        ])
    );
}

#[test]
fn cpu_scale_up_table_explains_ratio_pods_and_decision() {
    let t = explain_table("scale-up-cpu.yaml");
    assert!(t.contains("Resource cpu: target 60%"), "{t}");
    assert!(t.contains("current 115%, usage ratio 1.917"), "{t}");
    assert!(t.contains("pods: 4 ready, 0 unready, 0 missing, 0 ignored"), "{t}");
    assert!(t.contains("scale-up limit max(2×4, 4) = 8"), "{t}");
    assert!(t.contains("Decision: scale Deployment/web from 4 to 8 replicas"), "{t}");
}

#[test]
fn stabilization_holds_a_scale_down() {
    let v = explain_json("scale-down-stabilized.yaml");
    assert_eq!((v["metrics"][0]["proposal"].as_i64(), v["desired_replicas"].as_i64()), (Some(3), Some(6)));
    assert_eq!(v["limited_by"], "stabilization");
    assert_eq!(v["conditions"][0]["reason"], "ScaleDownStabilized");
    let t = explain_table("scale-down-stabilized.yaml");
    assert!(t.contains("8 replicas, 6m ago (outside the window)"), "{t}");
    assert!(t.contains("Decision: keep Deployment/web at 6 replicas"), "{t}");
}

#[test]
fn a_behavior_policy_limits_the_scale_up() {
    let v = explain_json("behavior-limited.yaml");
    assert_eq!((v["recommendation"].as_i64(), v["desired_replicas"].as_i64()), (Some(8), Some(5)));
    assert_eq!(v["limited_by"], "policy");
    assert_eq!(
        v["conditions"][2],
        serde_json::json!({"type": "ScalingLimited", "status": "True", "reason": "ScaleUpLimit"})
    );
}

#[test]
fn missing_unready_and_ignored_pods_are_counted_apart() {
    let v = explain_json("missing-metrics.yaml");
    let m = &v["metrics"][0];
    let counts: Vec<_> = ["ready_pods", "unready_pods", "missing_pods", "ignored_pods"]
        .iter()
        .map(|k| m[*k].as_u64())
        .collect();
    assert_eq!(counts, vec![Some(3), Some(1), Some(1), Some(1)]);
    assert_eq!(v["desired_replicas"], 3);
    let t = explain_table("missing-metrics.yaml");
    assert!(t.contains("missing: web-7d9f8c6b5d-q4"), "{t}");
    assert!(t.contains("unready: web-7d9f8c6b5d-q5 (Pending)"), "{t}");
}

#[test]
fn an_external_metric_scales_by_its_selected_series() {
    let v = explain_json("external.yaml");
    assert_eq!(v["metrics"][0]["type"], "External");
    assert_eq!(v["metrics"][0]["name"], "queue_messages_ready");
    assert_eq!((v["metrics"][0]["proposal"].as_i64(), v["desired_replicas"].as_i64()), (Some(5), Some(5)));
}

#[test]
fn invalid_input_exits_2_naming_file_object_and_field() {
    let dir = std::env::temp_dir().join(format!("kubesim-explain-hpa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    let text = std::fs::read_to_string(fixture("scale-up-cpu.yaml")).unwrap();
    std::fs::write(&path, text.replace("averageUtilization: 60", "averageUtilization: lots")).unwrap();
    let out = kubesim(&["explain", "hpa", "--input", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(stderr.contains("HorizontalPodAutoscaler default/web"), "{stderr}");
    assert!(stderr.contains("spec.metrics[0].resource.target.averageUtilization"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
