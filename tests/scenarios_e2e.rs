//! End-to-end tests of `kubesim run`, `check`, `compare` and `validate-scenario` on the scenario
//! library, through the built binary (separate processes, as users and CI run it).
//!
//! Golden digests live in `tests/golden/digests.txt`; they change only when simulated behaviour
//! changes, and are rewritten only on request:
//!
//! ```text
//! KUBESIM_UPDATE_GOLDEN=1 cargo test --test scenarios_e2e golden
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kubesim");
/// Longest a single command may take before the test fails (a hang is a bug, not a slow test).
const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn library() -> PathBuf {
    root().join("scenarios").join("library")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scenarios_e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs kubesim with `args`, killing it after [`TIMEOUT`].
fn kubesim(args: &[&str], scratch_dir: &Path) -> Output {
    let out_path = scratch_dir.join("stdout.txt");
    let err_path = scratch_dir.join("stderr.txt");
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn kubesim");
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited >= TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kubesim {} did not finish within {TIMEOUT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(out_path).unwrap(),
        stderr: std::fs::read_to_string(err_path).unwrap(),
    }
}

fn digest_line(out: &Output) -> String {
    out.stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("digest: "))
        .unwrap_or_else(|| panic!("no digest line in:\n{}\n{}", out.stdout, out.stderr))
        .to_string()
}

fn library_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(library())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Library scenarios that validate; the others must fail validation only for "not supported yet".
fn runnable() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in library_files() {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let v = kubesim(&["validate-scenario", f.to_str().unwrap()], &scratch(&format!("validate-{name}")));
        match v.code {
            // Scale benchmarks (`scale-*.yaml`) validate here but run in docs/performance.md, not
            // in CI; tests/scale_e2e.rs runs a shrunk copy.
            0 if name.starts_with("scale-") => {}
            0 => out.push(f),
            2 => assert!(
                v.stderr.lines().all(|l| !l.starts_with("error:") || l.contains("not supported yet")),
                "{name} is invalid for another reason than a missing feature:\n{}",
                v.stderr
            ),
            c => panic!("validate-scenario {name}: exit {c}\n{}", v.stderr),
        }
    }
    out
}

#[test]
fn the_library_has_every_scenario_of_the_issue() {
    let names: Vec<String> =
        library_files().iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for want in [
        "quickstart",
        "rolling-update-under-load",
        "hpa-flash-crowd",
        "node-failure-eviction",
        "oom-crashloop",
        "cpu-throttling",
        "zone-outage",
        "bin-packing-vs-spreading",
        "probe-misconfiguration",
    ] {
        assert!(names.iter().any(|n| n == want), "scenarios/library/{want}.yaml is missing");
    }
}

#[test]
fn every_runnable_library_scenario_runs_twice_with_one_digest() {
    let files = runnable();
    assert!(files.len() >= 5, "only {} runnable scenarios", files.len());
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let mut digests = Vec::new();
        for attempt in 0..2 {
            let dir = scratch(&format!("run-{name}-{attempt}"));
            let out_dir = dir.join("out");
            let out = kubesim(&["run", f.to_str().unwrap(), "--out", out_dir.to_str().unwrap()], &dir);
            assert_eq!(out.code, 0, "{name}: {}\n{}", out.stdout, out.stderr);
            let digest = digest_line(&out);
            let log = std::fs::read(out_dir.join("events.jsonl")).unwrap();
            assert_eq!(
                sim_core::log::digest_of(&log).to_hex(),
                digest,
                "{name}: digest = sha256(events.jsonl)"
            );
            for file in ["metrics.csv", "summary.json", "report.html"] {
                assert!(out_dir.join(file).is_file(), "{name}: {file} missing");
            }
            let summary: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
            for key in
                ["scenario", "seed", "digest", "sim_duration_s", "wall_s", "events_processed", "pods_created"]
            {
                assert!(summary.get(key).is_some(), "{name}: summary.json lacks {key}");
            }
            let csv = std::fs::read_to_string(out_dir.join("metrics.csv")).unwrap();
            assert!(csv.starts_with("time_s,metric,object,value\n"), "{name}: metrics.csv header");
            digests.push(digest);
        }
        assert_eq!(digests[0], digests[1], "{name}: two processes, two digests");
    }
}

#[test]
fn run_honours_seed_and_until() {
    let f = library().join("quickstart.yaml");
    let dir = scratch("seed-until");
    let a =
        kubesim(&["run", f.to_str().unwrap(), "--out", dir.join("a").to_str().unwrap(), "--seed", "7"], &dir);
    let b = kubesim(&["run", f.to_str().unwrap(), "--out", dir.join("b").to_str().unwrap()], &dir);
    assert_ne!(digest_line(&a), digest_line(&b), "another seed, another run");
    let c = kubesim(
        &["run", f.to_str().unwrap(), "--out", dir.join("c").to_str().unwrap(), "--until", "1m"],
        &dir,
    );
    assert_eq!(c.code, 0, "{}", c.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("c/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sim_duration_s"], 60.0);
}

#[test]
fn check_exits_0_when_expectations_hold_and_1_when_one_fails_with_junit() {
    let dir = scratch("check");
    let junit = dir.join("junit.xml");
    let ok = kubesim(
        &["check", library().join("quickstart.yaml").to_str().unwrap(), "--junit", junit.to_str().unwrap()],
        &dir,
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("PASS  rolloutCompletes web within 5m: measured: "), "{}", ok.stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"quickstart\" tests=\"4\" failures=\"0\""), "{xml}");

    let bad = kubesim(&["check", library().join("probe-misconfiguration.yaml").to_str().unwrap()], &dir);
    assert_eq!(bad.code, 1, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stdout.contains("FAIL  maxContainerRestarts 0: measured: "), "{}", bad.stdout);
    assert!(bad.stdout.contains("PASS  rolloutCompletes fixed within 3m"), "{}", bad.stdout);
}

#[test]
fn compare_gives_identical_csvs_for_one_and_two_jobs() {
    let f = library().join("bin-packing-vs-spreading.yaml");
    let dir = scratch("compare");
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out_dir = dir.join(format!("jobs-{jobs}"));
        let out = kubesim(
            &[
                "compare",
                f.to_str().unwrap(),
                "--policies",
                "default,most-allocated",
                "--seeds",
                "1..3",
                "--jobs",
                jobs,
                "--out",
                out_dir.to_str().unwrap(),
            ],
            &dir,
        );
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("most-allocated"), "{}", out.stdout);
        outputs.push((
            std::fs::read_to_string(out_dir.join("compare.csv")).unwrap(),
            std::fs::read_to_string(out_dir.join("runs.csv")).unwrap(),
        ));
    }
    assert_eq!(outputs[0], outputs[1], "--jobs 1 and --jobs 2 differ");
    assert!(outputs[0].0.starts_with("policy,metric,n,mean,ci95,min,max\n"));
    assert!(outputs[0].0.contains("most-allocated,nodes_in_use,3,"), "{}", outputs[0].0);
}

fn write_bad(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const BAD_BASE: &str = "apiVersion: kubesim/v1
kind: Scenario
metadata: {name: bad}
spec:
  duration: 5m
  cluster:
    nodePools:
      - {name: pool, count: 2, allocatable: {cpu: 2, memory: 4Gi}}
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
fn bad_scenarios_exit_2_naming_file_line_and_field() {
    let dir = scratch("bad");
    let cases = [
        (
            "unknown-deployment.yaml",
            format!("{BAD_BASE}  events:\n    - {{at: 1m, scale: {{deployment: api, replicas: 3}}}}\n"),
            ":19: spec.events[0].scale.deployment: unknown deployment default/api",
        ),
        (
            "unknown-node.yaml",
            format!("{BAD_BASE}  events:\n    - {{at: 1m, stopKubelet: {{node: pool-9}}}}\n"),
            ":19: spec.events[0].stopKubelet.node: unknown node \"pool-9\"",
        ),
        (
            "bad-duration.yaml",
            BAD_BASE.replace("duration: 5m", "duration: 5 minutes"),
            ":5: spec.duration: invalid duration",
        ),
        (
            "bad-quantity.yaml",
            BAD_BASE.replace("memory: 4Gi", "memory: four"),
            ":8: spec.cluster.nodePools[0].allocatable.memory:",
        ),
        (
            "bad-kind.yaml",
            BAD_BASE.replace("kind: Scenario", "kind: Scenery"),
            ":2: kind: expected \"Scenario\"",
        ),
    ];
    for (name, text, want) in cases {
        let path = write_bad(&dir, name, &text);
        for cmd in ["validate-scenario", "run", "check"] {
            let out = kubesim(&[cmd, path.to_str().unwrap()], &dir);
            assert_eq!(out.code, 2, "{cmd} {name}: {}\n{}", out.stdout, out.stderr);
            let expected = format!("{}{want}", path.display());
            assert!(out.stderr.contains(&expected), "{cmd} {name}: wanted {expected:?} in:\n{}", out.stderr);
        }
    }
    let missing = kubesim(&["run", dir.join("nope.yaml").to_str().unwrap()], &dir);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

/// `scenario seed digest` lines.
const GOLDEN: &str = "tests/golden/digests.txt";
const GOLDEN_SCENARIOS: &[&str] = &["quickstart", "bin-packing-vs-spreading", "cpu-throttling"];

#[test]
fn golden_digests_match() {
    let mut lines = Vec::new();
    for name in GOLDEN_SCENARIOS {
        let dir = scratch(&format!("golden-{name}"));
        let f = library().join(format!("{name}.yaml"));
        let out = kubesim(&["run", f.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()], &dir);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/summary.json")).unwrap()).unwrap();
        lines.push(format!("{name} {} {}", summary["seed"], digest_line(&out)));
    }
    let text = lines.join("\n") + "\n";
    let path = root().join(GOLDEN);
    if std::env::var_os("KUBESIM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        want, text,
        "golden digests changed: if the behaviour change is intended, run\n  KUBESIM_UPDATE_GOLDEN=1 cargo test --test scenarios_e2e golden\nand commit {GOLDEN}"
    );
}
