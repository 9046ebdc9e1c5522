//! End-to-end tests of `kubesim sweep` and `kubesim merge` through the built binary: sharded and
//! merged results are byte-identical to an unsharded run, `--jobs` does not change a byte, and
//! merge refuses shards that do not make one whole sweep.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kubesim");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn fixture(name: &str) -> String {
    root().join("tests/fixtures/sweeps").join(name).display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweeps_e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kubesim(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("spawn kubesim");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> Output {
    let out = kubesim(args);
    assert_eq!(out.code, 0, "kubesim {} failed:\n{}\n{}", args.join(" "), out.stdout, out.stderr);
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file of a result folder, name → bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&f).unwrap()))
        .collect();
    out.sort();
    out
}

fn assert_same_folders(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "{} and {} hold different files", a.display(), b.display());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn merged_shards_are_byte_identical_to_the_unsharded_sweep() {
    let dir = scratch("merge-identical");
    let (full, s0, s1, merged) = (dir.join("full"), dir.join("s0"), dir.join("s1"), dir.join("merged"));
    let sweep = fixture("small.yaml");
    ok(&["sweep", &sweep, "--jobs", "2", "--out", p(&full)]);
    ok(&["sweep", &sweep, "--shard", "0/2", "--jobs", "1", "--out", p(&s0)]);
    ok(&["sweep", &sweep, "--shard", "1/2", "--jobs", "2", "--out", p(&s1)]);
    // Order of the shard folders on the command line does not matter.
    ok(&["merge", p(&s1), p(&s0), "--out", p(&merged)]);
    assert_same_folders(&full, &merged);

    // 1 scenario × 2 overrides × 2 policies × 2 seeds = 8 tasks, one row each; shard 1/2 owns the
    // odd task indices.
    let tasks = std::fs::read_to_string(full.join("tasks.csv")).unwrap();
    assert_eq!(tasks.lines().count(), 1 + 8);
    let shard1 = std::fs::read_to_string(s1.join("tasks.csv")).unwrap();
    let ids: Vec<&str> = shard1.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids, ["1", "3", "5", "7"]);
    assert!(!s1.join("compare.csv").exists(), "a shard has no whole-sweep table");
    assert!(std::fs::read_to_string(full.join("compare.csv"))
        .unwrap()
        .contains("quickstart,small-cluster,first-fit,"));
}

#[test]
fn jobs_one_and_jobs_two_write_the_same_bytes() {
    let dir = scratch("jobs");
    let sweep = fixture("small.yaml");
    ok(&["sweep", &sweep, "--jobs", "1", "--out", p(&dir.join("j1"))]);
    ok(&["sweep", &sweep, "--jobs", "2", "--out", p(&dir.join("j2"))]);
    assert_same_folders(&dir.join("j1"), &dir.join("j2"));
}

#[test]
fn a_sweep_task_has_the_digest_compare_gives_the_same_run() {
    let dir = scratch("vs-compare");
    ok(&["sweep", &fixture("small.yaml"), "--out", p(&dir.join("sweep"))]);
    let library = root().join("scenarios/library/quickstart.yaml");
    ok(&[
        "compare",
        p(&library),
        "--policies",
        "first-fit",
        "--seeds",
        "2",
        "--until",
        "1m",
        "--out",
        p(&dir.join("compare")),
    ]);
    let runs = std::fs::read_to_string(dir.join("compare/runs.csv")).unwrap();
    let compare_digest = runs.lines().nth(1).unwrap().split(',').nth(2).unwrap().to_string();
    let tasks = std::fs::read_to_string(dir.join("sweep/tasks.csv")).unwrap();
    // Task 3 = quickstart / base / first-fit / seed 2 in product order.
    let row: Vec<&str> = tasks.lines().nth(1 + 3).unwrap().split(',').collect();
    assert_eq!(&row[..5], ["3", "quickstart", "base", "first-fit", "2"]);
    assert_eq!(row[5], compare_digest);
}

#[test]
fn merge_refuses_a_missing_shard_a_duplicate_shard_and_shards_of_another_sweep() {
    let dir = scratch("merge-refuses");
    let (s0, s1, other1) = (dir.join("s0"), dir.join("s1"), dir.join("other1"));
    ok(&["sweep", &fixture("small.yaml"), "--shard", "0/2", "--out", p(&s0)]);
    ok(&["sweep", &fixture("small.yaml"), "--shard", "1/2", "--out", p(&s1)]);
    ok(&["sweep", &fixture("other.yaml"), "--shard", "1/2", "--out", p(&other1)]);
    let out = dir.join("out");

    let missing = kubesim(&["merge", p(&s0), "--out", p(&out)]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("missing shard(s) 1/2"), "{}", missing.stderr);

    let twice = kubesim(&["merge", p(&s0), p(&s1), p(&s0), "--out", p(&out)]);
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    assert!(twice.stderr.contains("shard 0/2 is given twice"), "{}", twice.stderr);

    let foreign = kubesim(&["merge", p(&s0), p(&other1), "--out", p(&out)]);
    assert_eq!(foreign.code, 2, "{}", foreign.stderr);
    assert!(foreign.stderr.contains("different sweeps"), "{}", foreign.stderr);

    let not_a_shard = kubesim(&["merge", p(&dir), "--out", p(&out)]);
    assert_eq!(not_a_shard.code, 2, "{}", not_a_shard.stderr);
    assert!(!out.exists(), "nothing is written when a merge is refused");
}

#[test]
fn invalid_sweeps_and_flags_exit_with_code_two() {
    let dir = scratch("invalid");
    let out = dir.join("out");
    let bad = kubesim(&["sweep", &fixture("bad-pointer.yaml"), "--out", p(&out)]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("/spec/cluster/nodePoolz"), "{}", bad.stderr);
    for shard in ["2/2", "x/2", "1/0"] {
        let r = kubesim(&["sweep", &fixture("small.yaml"), "--shard", shard, "--out", p(&out)]);
        assert_eq!(r.code, 2, "--shard {shard}: {}", r.stderr);
    }
    let missing = kubesim(&["sweep", &fixture("nope.yaml"), "--out", p(&out)]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(!out.exists());
}
