//! End-to-end tests of `kubesim schedule` through the built binary.

use std::process::{Command, Output};

use serde_json::Value;

fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim")).args(args).output().expect("run kubesim")
}

const CLUSTER: &str = "tests/fixtures/schedule/cluster.yaml";
const PODS: &str = "tests/fixtures/schedule/pods.yaml";

fn json_report() -> Value {
    let out = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", PODS, "--output", "json"]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn result<'a>(report: &'a Value, pod: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pod"] == pod)
        .unwrap_or_else(|| panic!("{pod} missing"))
}

#[test]
fn pods_land_where_the_default_profile_puts_them() {
    let report = json_report();
    // node-a: cpu (4000-3000-500)/4000 = 12, memory (16-4-0.5)/16 = 71 → LeastAllocated 41;
    // node-b: cpu 1500/2000 = 75, memory 7.5/8 = 93 → 84. gpu-1 is tainted.
    let web = result(&report, "default/web-0");
    assert_eq!(web["node"], "node-b");
    assert_eq!(web["status"], "Scheduled");
    assert_eq!(web["evaluated_nodes"], 3);
    assert_eq!(web["feasible_nodes"], 2);
    let node_a = web["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "node-a").unwrap();
    let fit =
        node_a["scores"].as_array().unwrap().iter().find(|s| s["plugin"] == "NodeResourcesFit").unwrap();
    assert_eq!(fit["raw"], 41);
    let gpu = web["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "gpu-1").unwrap();
    let last = gpu["filters"].as_array().unwrap().last().unwrap();
    assert_eq!(last["plugin"], "TaintToleration");
    assert_eq!(last["code"], "UnschedulableAndUnresolvable");
    assert_eq!(gpu["total"], Value::Null);

    assert_eq!(result(&report, "ml/trainer")["node"], "gpu-1");
}

#[test]
fn an_oversized_pod_is_unschedulable_and_explained() {
    let report = json_report();
    let huge = result(&report, "default/huge");
    assert_eq!(huge["status"], "Unschedulable");
    assert_eq!(huge["node"], Value::Null);
    assert_eq!(huge["feasible_nodes"], 0);
    let table = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", PODS]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains(
            "default/huge: 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint(s)."
        ),
        "{text}"
    );
}

#[test]
fn a_high_priority_pod_preempts_the_low_priority_one() {
    let report = json_report();
    let critical = result(&report, "default/critical");
    assert_eq!(critical["status"], "Scheduled");
    assert_eq!(critical["node"], "node-a");
    assert_eq!(critical["preemption"]["node"], "node-a");
    assert_eq!(critical["preemption"]["victims"], serde_json::json!(["default/batch-low"]));
}

#[test]
fn output_is_the_same_every_run() {
    let a = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", PODS, "--output", "json"]);
    let b = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", PODS, "--output", "json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn a_bad_manifest_is_exit_2_with_file_object_and_field() {
    let out = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", "tests/fixtures/schedule/bad-pods.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad-pods.yaml"), "{err}");
    assert!(err.contains("Pod default/broken"), "{err}");
    assert!(err.contains("spec.containers[0].resources.requests.cpu"), "{err}");
}

#[test]
fn unknown_policy_and_bad_config_are_exit_2() {
    let out = kubesim(&["schedule", "--cluster", CLUSTER, "--pods", PODS, "--policy", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown policy"));
    let out = kubesim(&[
        "schedule",
        "--cluster",
        CLUSTER,
        "--pods",
        PODS,
        "--config",
        "tests/fixtures/schedule/bad-config.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight"));
}

#[test]
fn research_policies_run_through_the_same_filters() {
    for policy in ["first-fit", "best-fit", "worst-fit", "random", "dot-product", "most-allocated"] {
        let out = kubesim(&[
            "schedule",
            "--cluster",
            CLUSTER,
            "--pods",
            PODS,
            "--policy",
            policy,
            "--output",
            "json",
        ]);
        assert!(out.status.success(), "{policy}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        // The GPU pod can only go to gpu-1, whatever the policy.
        assert_eq!(result(&report, "ml/trainer")["node"], "gpu-1", "{policy}");
        assert_eq!(result(&report, "default/huge")["status"], "Unschedulable", "{policy}");
    }
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    use std::process::Stdio;
    // `kubesim schedule … | head -0`: the read end is closed before the report is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["schedule", "--cluster", CLUSTER, "--pods", PODS])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubesim");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for kubesim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}, stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
