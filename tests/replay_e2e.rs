//! End-to-end tests of `kubesim replay` through the built binary, on the project's own trace
//! fixtures (`scenarios/traces/tests/fixtures`): every format replays, writes the run's outputs
//! plus `planner.json`/`planner.md`, repeats its digest, and rejects bad input with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kubesim");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture(name: &str) -> String {
    root().join("scenarios/traces/tests/fixtures").join(name).display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("replay_e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kubesim(args: &[&str]) -> Out {
    let o = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("spawn kubesim");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn digest(stdout: &str) -> String {
    stdout.lines().find_map(|l| l.strip_prefix("digest: ")).expect("digest line").to_string()
}

/// Replays and returns `planner.json` and the digest.
fn replay(name: &str, args: &[&str]) -> (serde_json::Value, String, PathBuf) {
    let dir = scratch(name);
    let out = dir.join("out");
    let mut all: Vec<&str> = vec!["replay"];
    all.extend_from_slice(args);
    let out_s = out.display().to_string();
    all.extend_from_slice(&["--out", &out_s]);
    let o = kubesim(&all);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    for f in ["events.jsonl", "metrics.csv", "summary.json", "report.html", "planner.json", "planner.md"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(o.stdout.contains("## Pending time"), "the planner tables go to stdout");
    let planner: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("planner.json")).unwrap()).unwrap();
    (planner, digest(&o.stdout), out)
}

#[test]
fn an_openb_fixture_replays_with_a_planner_report_and_a_repeatable_digest() {
    let args = ["scenarios/traces/tests/fixtures/openb", "--format", "openb", "--nodes-from-trace"];
    let (p, d1, out) = replay("openb-1", &args);
    let (_, d2, _) = replay("openb-2", &args);
    assert_eq!(d1, d2, "same trace, same seed, same digest");
    let events = std::fs::read(out.join("events.jsonl")).unwrap();
    assert_eq!(sim_core::log::digest_of(&events).to_hex(), d1, "the digest is the log's SHA-256");
    // All five pods run; openb-pod-0002 (8 whole V100s) waits for openb-pod-0000's GPU, held
    // for its 12,537,496 s run, so the longest wait is about that long.
    assert_eq!(p["pods"]["created"], 5);
    assert_eq!(p["pods"]["scheduled"], 5);
    assert_eq!(p["pods"]["unschedulable"], 0);
    let max = p["pending_time_s"]["scheduled"]["max"].as_f64().unwrap();
    assert!((12_537_296.0..12_537_400.0).contains(&max), "{max}");
    assert_eq!(p["pending_time_s"]["scheduled"]["p50"], 0.0);
    assert_eq!(p["pending_time_s"]["histogram"][6]["pods"], 1, "one pod waited ≥ 1 day");
    assert_eq!(p["utilisation"]["nvidia.com/gpu"]["max"], 0.8, "8 of the 10 GPUs at once");
    assert!(p["fragmentation"]["cpu"]["max"].is_number());
    // Best-fit is another run of the same trace.
    let (_, d3, _) = replay("openb-bf", &[args[0], args[1], args[2], "--policy", "best-fit"]);
    assert_ne!(d1, d3);
}

#[test]
fn generic_alibaba_and_google_fixtures_replay_end_to_end() {
    let (g, _, _) = replay("generic", &["scenarios/traces/tests/fixtures/generic", "--format", "generic"]);
    assert_eq!((g["pods"]["created"].as_u64(), g["pods"]["completed"].as_u64()), (Some(3), Some(2)));
    let (a, _, _) = replay(
        "alibaba",
        &[
            "scenarios/traces/tests/fixtures/alibaba-2018",
            "--format",
            "alibaba-2018",
            "--max-memory",
            "100Gi",
        ],
    );
    assert_eq!(a["replay"]["jobs_submitted"], 2);
    assert_eq!(a["pods"]["unschedulable"], 0);
    let (gg, _, _) = replay(
        "google",
        &[
            &fixture("google-2019"),
            "--format",
            "google-2019",
            "--machine-cpu",
            "96",
            "--machine-memory",
            "512Gi",
        ],
    );
    assert_eq!(gg["replay"]["nodes_removed"], 1);
    assert_eq!(gg["pods"]["scheduled"], 2);
}

#[test]
fn a_trace_replays_against_a_candidate_cluster_scenario() {
    let dir = scratch("candidate");
    let cluster = dir.join("cluster.yaml");
    std::fs::write(
        &cluster,
        "apiVersion: kubesim/v1\nkind: Scenario\nspec:\n  duration: 3h\n  cluster:\n    nodePools:\n      - {name: small, count: 1, allocatable: {cpu: \"1\", memory: 2Gi}}\n",
    )
    .unwrap();
    let (p, _, _) = replay(
        "candidate-run",
        &[
            "scenarios/traces/tests/fixtures/generic",
            "--format",
            "generic",
            "--cluster",
            &cluster.display().to_string(),
        ],
    );
    // One 1-cpu node: web-0 (500m) fits; batch-1 (2 cpu, 4Gi) and gpu-2 never do.
    assert_eq!(p["replay"]["node_events_skipped"], 2);
    assert_eq!(p["pods"]["unschedulable"], 2);
    let reasons = p["unschedulable_reasons"].as_array().unwrap();
    assert!(reasons[0]["reason"].as_str().unwrap().starts_with("Insufficient"), "{reasons:?}");
}

#[test]
fn bad_input_exits_2_naming_the_field_or_the_line() {
    let o = kubesim(&["replay", &fixture("openb"), "--format", "openb", "--sample-machines", "lots"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("spec.trace.sampleMachines: invalid fraction"), "{}", o.stderr);
    let o = kubesim(&["replay", &fixture("google-2019"), "--format", "google-2019"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("spec.trace.machineShape: required"), "{}", o.stderr);
    // A pod list out of time order is refused with the sort command that fixes it.
    let dir = scratch("unsorted");
    let text =
        std::fs::read_to_string(root().join("scenarios/traces/tests/fixtures/openb/pods.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(2, 4);
    let pods = dir.join("pods.csv");
    std::fs::write(&pods, lines.join("\n") + "\n").unwrap();
    let nodes = root().join("scenarios/traces/tests/fixtures/openb/nodes.csv").display().to_string();
    let o = kubesim(&[
        "replay",
        &pods.display().to_string(),
        "--format",
        "openb",
        "--nodes-file",
        &nodes,
        "--out",
        &dir.join("o").display().to_string(),
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("not in time order") && o.stderr.contains("sort"), "{}", o.stderr);
}
