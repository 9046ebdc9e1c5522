//! The scale benchmark scenario (`scenarios/library/scale-5k.yaml`) in CI: it validates (its
//! `copies:` stamps expand to 1,500 apps and 7,199 rollouts), and a 1:500 copy of it runs, twice
//! with the same digest. The full 24 h run is a benchmark (docs/performance.md), not a test.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kubesim");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn kubesim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(root()).output().expect("spawn kubesim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_scale_scenario_validates_with_every_stamped_object() {
    let (code, stdout, stderr) = kubesim(&["validate-scenario", "scenarios/library/scale-5k.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // 1,500 Deployments from the manifest stamp; 7,199 rollouts + 1 outage + 1,500 Services and
    // 1,500 HPAs applied at t = 0.
    assert!(stdout.contains("5000 nodes, 1500 deployments"), "{stdout}");
    assert!(stdout.contains("10200 events"), "{stdout}");
    assert!(!stderr.contains("never happens"), "every rollout falls inside the day:\n{stderr}");
}

#[test]
fn a_shrunk_scale_scenario_runs_to_the_same_digest_twice() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scale_e2e");
    let mut digests = Vec::new();
    for attempt in 0..2 {
        let out = dir.join(format!("run-{attempt}"));
        let _ = std::fs::remove_dir_all(&out);
        let (code, stdout, stderr) =
            kubesim(&["run", "tests/fixtures/scale/scale-mini.yaml", "--out", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        let digest =
            stdout.lines().find_map(|l| l.strip_prefix("digest: ")).expect("digest line").to_string();
        digests.push(digest);
        let log = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
        // Rollouts and the outage churn pods: 6 rollouts × 100 pods replaced at least.
        let created = log.lines().filter(|l| l.contains("\"kind\":\"PodCreated\"")).count();
        assert!(created >= 300 + 600, "only {created} pods created");
        assert!(log.contains("\"kind\":\"NodePartitioned\""), "the zone outage happened");
    }
    assert_eq!(digests[0], digests[1]);
}
