//! `kubesim sweep` and `kubesim merge`: the cartesian product scenarios × overrides × policies ×
//! seeds, run in parallel, sliced into shards for many machines, and merged back byte for byte.
//!
//! The sweep file (`apiVersion: kubesim/v1`, `kind: Sweep`; reference in `docs/sweeps.md`) is
//! loaded into a [`Sweep`]: every scenario × override is compiled up front, so a bad file fails
//! (exit 2) before anything runs, on every shard alike.
//!
//! Determinism: tasks are numbered in product order (scenario-major, then override, policy,
//! seed); shard `K/N` (0-based `K`, as Kubernetes' `$JOB_COMPLETION_INDEX`) owns the tasks `i`
//! with `i mod N == K`. Runs are mapped in parallel ([`map_ordered`], shared with `compare`) and
//! come back in task order. Every output is a pure function of the ordered task results, and a
//! shard stores its results losslessly (`tasks.jsonl`), so `merge` of all shards rebuilds exactly
//! the bytes an unsharded run writes — the unsharded run is simply shard `0/1`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kubesim_reports::format::format_value;
use kubesim_reports::stats::{ComparisonBuilder, ComparisonTable, COMPARE_HEADER};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::SimDuration;

use crate::compare::{parse_seeds, CompareRun};
use crate::compile::{load, load_str, policy_names, Scenario};
use crate::diag::{RunError, ScenarioError};
use crate::run::{run_scenario, NullSink, RunOptions};
use crate::summary::key_metrics;

/// The `kind` of a sweep file.
pub const SWEEP_KIND: &str = "Sweep";
/// The `kind` recorded in every result folder's `sweep.json`.
pub const RESULT_KIND: &str = "SweepResult";
/// The version recorded in each result; shards of different versions do not merge.
pub const KUBESIM_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a sweep or a merge cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Bad input: the sweep file, a flag, or shards that do not fit together (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// A scenario of the sweep is invalid (exit 2).
    #[error("{source}\n(scenario {path} of the sweep, override {override_name:?})")]
    Scenario {
        /// The scenario path as written in the sweep file.
        path: String,
        /// The override applied when it failed.
        override_name: String,
        /// The findings.
        source: ScenarioError,
    },
    /// A run failed (exit 1).
    #[error("task {task} ({label}): {source}")]
    Run {
        /// Task index.
        task: usize,
        /// `scenario/override/policy/seed`.
        label: String,
        /// Error.
        source: RunError,
    },
    /// Reading or writing results failed (exit 1).
    #[error("{0}")]
    Io(String),
}

impl SweepError {
    /// Whether the error is the user's input (exit code 2) rather than a failure (1).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, SweepError::Invalid(_) | SweepError::Scenario { .. })
    }
}

fn invalid(msg: impl Into<String>) -> SweepError {
    SweepError::Invalid(msg.into())
}

// ---------------------------------------------------------------------------------------------
// The shared core with `compare`: one run, and an ordered parallel map.

/// Runs one scenario (already carrying its policy) with `seed`, returning compare's row.
pub fn run_task(scenario: &Scenario, seed: u64, until: Option<SimDuration>) -> Result<CompareRun, RunError> {
    let options = RunOptions { seed: Some(seed), until };
    let (run, _) = run_scenario(scenario, &options, std::io::sink(), &mut NullSink, &mut |_, _| {})?;
    Ok(CompareRun {
        policy: scenario.policy.clone(),
        seed,
        digest: run.digest.to_hex(),
        metrics: key_metrics(&run),
    })
}

/// `f` over `items` on `jobs` threads; results in item order whatever the scheduling.
pub fn map_ordered<T: Sync, R: Send>(
    jobs: usize,
    items: &[T],
    f: impl Fn(&T) -> R + Sync + Send,
) -> Result<Vec<R>, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| format!("--jobs: {e}"))?;
    Ok(pool.install(|| items.par_iter().map(f).collect()))
}

// ---------------------------------------------------------------------------------------------
// The sweep file.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: SweepMeta,
    spec: SweepSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepMeta {
    name: Option<String>,
    #[allow(dead_code)] // documentation for people; not used by the run
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepSpec {
    scenarios: Vec<String>,
    policies: Vec<String>,
    seeds: SeedsSpec,
    #[serde(default)]
    until: Option<SimDuration>,
    #[serde(default)]
    overrides: Vec<OverrideSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SeedsSpec {
    One(u64),
    List(Vec<u64>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideSpec {
    name: String,
    #[serde(default)]
    set: std::collections::BTreeMap<String, Value>,
}

/// A named parameter set: JSON-pointer paths into the scenario file and the values put there.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Name (a column of every output).
    pub name: String,
    /// `(pointer, value)` in pointer order.
    pub set: Vec<(String, Value)>,
}

/// A loaded, fully validated sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// `metadata.name` (default: the file stem).
    pub name: String,
    /// SHA-256 over the sweep file then every scenario file, in order (hex).
    pub sha256: String,
    /// Scenario names (`metadata.name`), in file order.
    pub scenarios: Vec<String>,
    /// Overrides (one named `base` with no changes when the file has none).
    pub overrides: Vec<Override>,
    /// Policies.
    pub policies: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Stop every run at this simulated time.
    pub until: Option<SimDuration>,
    /// Compiled scenario × override, scenario-major.
    variants: Vec<Scenario>,
}

/// One task of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Task {
    /// Position in product order.
    pub index: usize,
    /// Index into [`Sweep::scenarios`].
    pub scenario: usize,
    /// Index into [`Sweep::overrides`].
    pub override_index: usize,
    /// Index into [`Sweep::policies`].
    pub policy: usize,
    /// The seed.
    pub seed: u64,
}

/// Names safe to put in CSV cells and file names without quoting.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Sets `value` at `pointer` (RFC 6901) in `doc`: an existing location is replaced; a missing
/// key of an existing mapping is added. Anything else is an error naming the pointer.
pub fn apply_pointer(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    if !pointer.starts_with('/') {
        return Err(format!("{pointer:?} is not a JSON pointer (it must start with '/')"));
    }
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
        return Ok(());
    }
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            Err(format!("{pointer:?}: index {key:?} is out of range (the list has {} items)", items.len()))
        }
        Some(_) => Err(format!("{pointer:?}: {parent:?} is not a mapping")),
        None => Err(format!("{pointer:?}: {parent:?} does not exist in the scenario")),
    }
}

/// Reads and validates a sweep file, compiling every scenario × override.
pub fn load_sweep(path: &Path) -> Result<Sweep, SweepError> {
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let text =
        String::from_utf8(bytes.clone()).map_err(|_| invalid(format!("{}: not UTF-8", path.display())))?;
    let de = yaml_serde::Deserializer::from_str(&text);
    let file: SweepFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { String::new() } else { format!(" at {at}") };
        invalid(format!("{}{at}: {}", path.display(), e.into_inner()))
    })?;
    let here = |msg: String| invalid(format!("{}: {msg}", path.display()));
    if file.api_version != "kubesim/v1" {
        return Err(here(format!("apiVersion must be kubesim/v1, not {:?}", file.api_version)));
    }
    if file.kind != SWEEP_KIND {
        return Err(here(format!("kind must be {SWEEP_KIND}, not {:?}", file.kind)));
    }
    let name =
        file.metadata.name.clone().unwrap_or_else(|| {
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        });
    let spec = file.spec;
    if spec.scenarios.is_empty() {
        return Err(here("spec.scenarios: at least one scenario is needed".into()));
    }
    if spec.policies.is_empty() {
        return Err(here("spec.policies: at least one policy is needed".into()));
    }
    let known = policy_names();
    let mut seen = BTreeSet::new();
    for p in &spec.policies {
        if !known.contains(&p.as_str()) {
            return Err(here(format!(
                "spec.policies: unknown policy {p:?} (expected one of: {})",
                known.join(", ")
            )));
        }
        if !seen.insert(p.as_str()) {
            return Err(here(format!("spec.policies: {p:?} is listed twice")));
        }
    }
    let seeds = match spec.seeds {
        SeedsSpec::One(s) => vec![s],
        SeedsSpec::List(l) => l,
        SeedsSpec::Text(t) => parse_seeds(&t).map_err(|e| here(format!("spec.seeds: {e}")))?,
    };
    if seeds.is_empty() {
        return Err(here("spec.seeds: at least one seed is needed".into()));
    }
    if seeds.iter().collect::<BTreeSet<_>>().len() != seeds.len() {
        return Err(here("spec.seeds: a seed is listed twice".into()));
    }
    let mut overrides: Vec<Override> = spec
        .overrides
        .into_iter()
        .map(|o| Override { name: o.name, set: o.set.into_iter().collect() })
        .collect();
    if overrides.is_empty() {
        overrides.push(Override { name: "base".into(), set: Vec::new() });
    }
    let mut seen = BTreeSet::new();
    for o in &overrides {
        if !is_plain_name(&o.name) {
            return Err(here(format!(
                "spec.overrides: name {:?} must be letters, digits, '-', '_' or '.'",
                o.name
            )));
        }
        if !seen.insert(o.name.as_str()) {
            return Err(here(format!("spec.overrides: {:?} is listed twice", o.name)));
        }
        // Sorted pointers: a prefix sorts just before what it contains.
        for w in o.set.windows(2) {
            if w[1].0.starts_with(&format!("{}/", w[0].0)) {
                return Err(here(format!("override {:?}: {:?} is inside {:?}", o.name, w[1].0, w[0].0)));
            }
        }
    }

    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut hash_input = bytes;
    let mut scenario_names = Vec::new();
    let mut variants = Vec::new();
    for rel in &spec.scenarios {
        let scenario_path: PathBuf = base.join(rel);
        let scenario_bytes = std::fs::read(&scenario_path)
            .map_err(|e| here(format!("spec.scenarios: {}: {e}", scenario_path.display())))?;
        // Separators make the hash unambiguous about where each file ends.
        hash_input.extend_from_slice(format!("\n--- {rel} {}\n", scenario_bytes.len()).as_bytes());
        hash_input.extend_from_slice(&scenario_bytes);
        let mut first_name = None;
        for o in &overrides {
            let scenario = load_variant(&scenario_path, o).map_err(|source| SweepError::Scenario {
                path: rel.clone(),
                override_name: o.name.clone(),
                source,
            })?;
            first_name.get_or_insert_with(|| scenario.name.clone());
            variants.push(scenario);
        }
        let sname = first_name.unwrap_or_default();
        if !is_plain_name(&sname) {
            return Err(here(format!(
                "scenario {rel}: name {sname:?} must be letters, digits, '-', '_' or '.'"
            )));
        }
        if scenario_names.contains(&sname) {
            return Err(here(format!("spec.scenarios: two scenarios are named {sname:?}")));
        }
        scenario_names.push(sname);
    }
    Ok(Sweep {
        name,
        sha256: sim_core::log::digest_of(&hash_input).to_hex(),
        scenarios: scenario_names,
        overrides,
        policies: spec.policies,
        seeds,
        until: spec.until,
        variants,
    })
}

/// The scenario at `path` with `o` applied. Without changes the file loads as is (diagnostics
/// keep their line numbers); otherwise the edited document is re-serialised and loaded from the
/// same path, so relative paths in it still resolve.
fn load_variant(path: &Path, o: &Override) -> Result<Scenario, ScenarioError> {
    if o.set.is_empty() {
        return load(path);
    }
    let io = |message: String| ScenarioError::Io { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| io(e.to_string()))?;
    let mut doc: Value =
        yaml_serde::from_str(&text).map_err(|e| io(format!("cannot apply overrides: {e}")))?;
    for (pointer, value) in &o.set {
        apply_pointer(&mut doc, pointer, value.clone()).map_err(io)?;
    }
    let edited = yaml_serde::to_string(&doc).map_err(|e| io(format!("override {:?}: {e}", o.name)))?;
    load_str(&edited, path)
}

impl Sweep {
    /// Number of tasks in the product.
    pub fn len(&self) -> usize {
        self.scenarios.len() * self.overrides.len() * self.policies.len() * self.seeds.len()
    }

    /// Whether the product is empty (never, for a loaded sweep).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every task in product order: scenario-major, then override, policy, seed.
    pub fn tasks(&self) -> Vec<Task> {
        let mut out = Vec::with_capacity(self.len());
        for scenario in 0..self.scenarios.len() {
            for override_index in 0..self.overrides.len() {
                for policy in 0..self.policies.len() {
                    for &seed in &self.seeds {
                        out.push(Task { index: out.len(), scenario, override_index, policy, seed });
                    }
                }
            }
        }
        out
    }

    fn variant(&self, t: &Task) -> &Scenario {
        &self.variants[t.scenario * self.overrides.len() + t.override_index]
    }

    fn label(&self, t: &Task) -> String {
        format!(
            "{}/{}/{}/{}",
            self.scenarios[t.scenario],
            self.overrides[t.override_index].name,
            self.policies[t.policy],
            t.seed
        )
    }

    /// The manifest of `shard`'s results.
    pub fn manifest(&self, shard: Shard) -> Manifest {
        Manifest {
            kind: RESULT_KIND.into(),
            sweep: self.name.clone(),
            sweep_sha256: self.sha256.clone(),
            kubesim_version: KUBESIM_VERSION.into(),
            scenarios: self.scenarios.clone(),
            overrides: self.overrides.iter().map(|o| o.name.clone()).collect(),
            policies: self.policies.clone(),
            seeds: self.seeds.clone(),
            tasks_total: self.len(),
            shard,
            tasks: (0..self.len()).filter(|&i| shard.owns(i)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shards.

/// A slice `index/count` of the tasks: task `i` belongs to shard `i mod count` (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based, as `$JOB_COMPLETION_INDEX` and `$SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether task `i` belongs to this shard. Round-robin spreads each scenario's tasks (often of
    /// very different cost) evenly over the shards.
    pub fn owns(&self, task: usize) -> bool {
        task % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N` with `0 ≤ K < N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("--shard {s:?}: expected K/N, e.g. 0/4"))?;
        let index: usize = k.trim().parse().map_err(|_| format!("--shard {s:?}: K is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| format!("--shard {s:?}: N is not a number"))?;
        if count == 0 {
            return Err(format!("--shard {s:?}: N must be at least 1"));
        }
        if index >= count {
            return Err(format!("--shard {s:?}: K is 0-based and must be below N (0..={})", count - 1));
        }
        Ok(Shard { index, count })
    }
}

// ---------------------------------------------------------------------------------------------
// Results.

/// One finished task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// Task index (product order).
    pub task: usize,
    /// Scenario name.
    pub scenario: String,
    /// Override name.
    pub override_name: String,
    /// Policy.
    pub policy: String,
    /// Seed.
    pub seed: u64,
    /// Digest of the run's event log.
    pub digest: String,
    /// Key metrics (compare's columns), in column order.
    pub metrics: Vec<(String, f64)>,
}

/// `sweep.json`: which sweep and which tasks a result folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`RESULT_KIND`].
    pub kind: String,
    /// Sweep name.
    pub sweep: String,
    /// [`Sweep::sha256`].
    pub sweep_sha256: String,
    /// kubesim version that ran it.
    pub kubesim_version: String,
    /// Scenario names.
    pub scenarios: Vec<String>,
    /// Override names.
    pub overrides: Vec<String>,
    /// Policies.
    pub policies: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Tasks in the whole sweep.
    pub tasks_total: usize,
    /// Which shard (`0/1` for a whole or merged sweep).
    pub shard: Shard,
    /// Task indices held, ascending.
    pub tasks: Vec<usize>,
}

/// Runs the tasks of `shard` on `jobs` threads; results in task order.
pub fn run_sweep(sweep: &Sweep, shard: Shard, jobs: usize) -> Result<Vec<TaskResult>, SweepError> {
    let tasks: Vec<Task> = sweep.tasks().into_iter().filter(|t| shard.owns(t.index)).collect();
    let variants: Vec<Scenario> = {
        // Policy applied once per scenario × override × policy, not per seed.
        let mut v = Vec::new();
        for base in &sweep.variants {
            for p in &sweep.policies {
                v.push(base.with_policy(p).ok_or_else(|| invalid(format!("unknown policy {p:?}")))?);
            }
        }
        v
    };
    let results = map_ordered(jobs, &tasks, |t| {
        let base = t.scenario * sweep.overrides.len() + t.override_index;
        let scenario = &variants[base * sweep.policies.len() + t.policy];
        debug_assert_eq!(scenario.name, sweep.variant(t).name);
        let run = run_task(scenario, t.seed, sweep.until).map_err(|source| SweepError::Run {
            task: t.index,
            label: sweep.label(t),
            source,
        })?;
        Ok(TaskResult {
            task: t.index,
            scenario: sweep.scenarios[t.scenario].clone(),
            override_name: sweep.overrides[t.override_index].name.clone(),
            policy: run.policy,
            seed: run.seed,
            digest: run.digest,
            metrics: run.metrics.into_iter().map(|(m, v)| (m.to_string(), v)).collect(),
        })
    })
    .map_err(invalid)?;
    results.into_iter().collect()
}

/// One line of `tasks.jsonl`. Metric values are text in Rust's shortest round-trip form, so a
/// merge reads back exactly the bits that were written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskLine {
    task: usize,
    scenario: String,
    #[serde(rename = "override")]
    override_name: String,
    policy: String,
    seed: u64,
    digest: String,
    metrics: Vec<(String, String)>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> SweepError {
    SweepError::Io(format!("{}: {e}", path.display()))
}

/// `tasks.csv`: one row per task with its digest and key metrics.
pub fn tasks_csv(results: &[TaskResult]) -> String {
    let mut s = String::from("task,scenario,override,policy,seed,digest");
    for (m, _) in results.first().map(|r| r.metrics.as_slice()).unwrap_or(&[]) {
        s.push(',');
        s.push_str(m);
    }
    s.push('\n');
    for r in results {
        let _ =
            write!(s, "{},{},{},{},{},{}", r.task, r.scenario, r.override_name, r.policy, r.seed, r.digest);
        for (_, v) in &r.metrics {
            s.push(',');
            s.push_str(&format_value(*v));
        }
        s.push('\n');
    }
    s
}

/// `runs.csv`: compare's long format with the task, scenario and override in front.
pub fn runs_csv(results: &[TaskResult]) -> String {
    let mut s = String::from("task,scenario,override,policy,seed,digest,metric,value\n");
    for r in results {
        for (m, v) in &r.metrics {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{}",
                r.task,
                r.scenario,
                r.override_name,
                r.policy,
                r.seed,
                r.digest,
                m,
                format_value(*v)
            );
        }
    }
    s
}

/// The compare-style table of every scenario × override that has results.
pub fn group_tables(
    manifest: &Manifest,
    results: &[TaskResult],
) -> Result<Vec<(String, String, ComparisonTable)>, SweepError> {
    let mut out = Vec::new();
    for s in &manifest.scenarios {
        for o in &manifest.overrides {
            let rows: Vec<&TaskResult> =
                results.iter().filter(|r| &r.scenario == s && &r.override_name == o).collect();
            if rows.is_empty() {
                continue;
            }
            let mut b = ComparisonBuilder::new();
            for p in &manifest.policies {
                b.policy(p);
            }
            for r in rows {
                for (m, v) in &r.metrics {
                    b.add(&r.policy, m, *v);
                }
            }
            let table = b.build().map_err(|e| SweepError::Io(format!("{s}/{o}: {e}")))?;
            out.push((s.clone(), o.clone(), table));
        }
    }
    Ok(out)
}

/// `compare.csv` of a whole sweep: compare's columns with the scenario and override in front.
pub fn compare_csv(tables: &[(String, String, ComparisonTable)]) -> Result<String, SweepError> {
    let mut s = format!("scenario,override,{}\n", COMPARE_HEADER.join(","));
    for (scenario, o, table) in tables {
        let bytes = table.write_csv(Vec::new()).map_err(|e| SweepError::Io(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| SweepError::Io(e.to_string()))?;
        for line in text.lines().skip(1) {
            let _ = writeln!(s, "{scenario},{o},{line}");
        }
    }
    Ok(s)
}

/// Writes a result folder: `sweep.json`, `tasks.jsonl`, `tasks.csv`, `runs.csv`, and for a whole
/// sweep (`shard` 0/1) `compare.csv`. Every byte is a function of `manifest` and `results`.
pub fn write_results(dir: &Path, manifest: &Manifest, results: &[TaskResult]) -> Result<(), SweepError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| io_err(&p, e))
    };
    let json = serde_json::to_string_pretty(manifest).map_err(|e| io_err(dir, e))?;
    write("sweep.json", &format!("{json}\n"))?;
    let mut lines = String::new();
    for r in results {
        let line = TaskLine {
            task: r.task,
            scenario: r.scenario.clone(),
            override_name: r.override_name.clone(),
            policy: r.policy.clone(),
            seed: r.seed,
            digest: r.digest.clone(),
            metrics: r.metrics.iter().map(|(m, v)| (m.clone(), v.to_string())).collect(),
        };
        lines.push_str(&serde_json::to_string(&line).map_err(|e| io_err(dir, e))?);
        lines.push('\n');
    }
    write("tasks.jsonl", &lines)?;
    write("tasks.csv", &tasks_csv(results))?;
    write("runs.csv", &runs_csv(results))?;
    let compare = dir.join("compare.csv");
    if manifest.shard == Shard::ALL {
        write("compare.csv", &compare_csv(&group_tables(manifest, results)?)?)?;
    } else if compare.exists() {
        // A stale whole-sweep table would look like this shard's.
        std::fs::remove_file(&compare).map_err(|e| io_err(&compare, e))?;
    }
    Ok(())
}

/// Reads a result folder written by [`write_results`], checking it is consistent with itself.
pub fn read_results(dir: &Path) -> Result<(Manifest, Vec<TaskResult>), SweepError> {
    let mpath = dir.join("sweep.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        invalid(format!("{}: {e} (is this a `kubesim sweep` output folder?)", mpath.display()))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| invalid(format!("{}: not a sweep manifest: {e}", mpath.display())))?;
    if manifest.kind != RESULT_KIND {
        return Err(invalid(format!(
            "{}: kind {:?}, expected {RESULT_KIND}",
            mpath.display(),
            manifest.kind
        )));
    }
    let tpath = dir.join("tasks.jsonl");
    let text = std::fs::read_to_string(&tpath).map_err(|e| invalid(format!("{}: {e}", tpath.display())))?;
    let mut results = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |e: String| invalid(format!("{}:{}: {e}", tpath.display(), n + 1));
        let l: TaskLine = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let mut metrics = Vec::with_capacity(l.metrics.len());
        for (m, v) in l.metrics {
            let value: f64 = v.parse().map_err(|_| bad(format!("metric {m}: {v:?} is not a number")))?;
            metrics.push((m, value));
        }
        results.push(TaskResult {
            task: l.task,
            scenario: l.scenario,
            override_name: l.override_name,
            policy: l.policy,
            seed: l.seed,
            digest: l.digest,
            metrics,
        });
    }
    let held: Vec<usize> = results.iter().map(|r| r.task).collect();
    if held != manifest.tasks {
        return Err(invalid(format!(
            "{}: tasks.jsonl holds tasks {held:?} but sweep.json lists {:?} (incomplete or edited shard)",
            dir.display(),
            manifest.tasks
        )));
    }
    Ok((manifest, results))
}

/// Combines shard folders into the whole sweep: they must come from the same sweep file and
/// kubesim version, be the shards `0..N` of one `N`, each exactly once, each holding exactly its
/// tasks. Returns the whole sweep's manifest and results in task order.
pub fn merge_shards(
    shards: Vec<(PathBuf, Manifest, Vec<TaskResult>)>,
) -> Result<(Manifest, Vec<TaskResult>), SweepError> {
    let Some((first_dir, first, _)) = shards.first() else {
        return Err(invalid("merge: no shard folders given"));
    };
    let (first_dir, first) = (first_dir.clone(), first.clone());
    let same_sweep = |m: &Manifest| {
        m.sweep_sha256 == first.sweep_sha256
            && m.sweep == first.sweep
            && m.scenarios == first.scenarios
            && m.overrides == first.overrides
            && m.policies == first.policies
            && m.seeds == first.seeds
            && m.tasks_total == first.tasks_total
    };
    let count = first.shard.count;
    let mut by_index: Vec<Option<(PathBuf, Vec<TaskResult>)>> = (0..count).map(|_| None).collect();
    for (dir, m, results) in shards {
        if !same_sweep(&m) {
            return Err(invalid(format!(
                "{} and {} are shards of different sweeps (sweep {:?} sha256 {} vs sweep {:?} sha256 {})",
                first_dir.display(),
                dir.display(),
                first.sweep,
                first.sweep_sha256,
                m.sweep,
                m.sweep_sha256
            )));
        }
        if m.kubesim_version != first.kubesim_version {
            return Err(invalid(format!(
                "{} was run by kubesim {} but {} by kubesim {}",
                first_dir.display(),
                first.kubesim_version,
                dir.display(),
                m.kubesim_version
            )));
        }
        if m.shard.count != count {
            return Err(invalid(format!(
                "{} is shard {}/{} but {} is shard {}/{}: all shards must use the same N",
                first_dir.display(),
                first.shard.index,
                count,
                dir.display(),
                m.shard.index,
                m.shard.count
            )));
        }
        let want: Vec<usize> = (0..m.tasks_total).filter(|&i| m.shard.owns(i)).collect();
        if m.tasks != want {
            return Err(invalid(format!(
                "{}: shard {}/{} should hold tasks {want:?}, holds {:?}",
                dir.display(),
                m.shard.index,
                count,
                m.tasks
            )));
        }
        let slot = by_index
            .get_mut(m.shard.index)
            .ok_or_else(|| invalid(format!("{}: shard index {} ≥ {count}", dir.display(), m.shard.index)))?;
        if let Some((other, _)) = slot {
            return Err(invalid(format!(
                "shard {}/{count} is given twice: {} and {}",
                m.shard.index,
                other.display(),
                dir.display()
            )));
        }
        *slot = Some((dir, results));
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!("merge: missing shard(s) {}", missing.join(", "))));
    }
    let mut all: Vec<TaskResult> = by_index.into_iter().flatten().flat_map(|(_, r)| r).collect();
    all.sort_by_key(|r| r.task);
    let mut manifest = first;
    manifest.shard = Shard::ALL;
    manifest.tasks = (0..manifest.tasks_total).collect();
    Ok((manifest, all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shard_reads_zero_based_k_of_n_and_rejects_the_rest() {
        assert_eq!("0/4".parse::<Shard>().unwrap(), Shard { index: 0, count: 4 });
        assert_eq!("3/4".parse::<Shard>().unwrap(), Shard { index: 3, count: 4 });
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("a/2".parse::<Shard>().is_err());
    }

    #[test]
    fn shards_partition_the_tasks_round_robin() {
        // 7 tasks over 3 shards: 0,3,6 | 1,4 | 2,5.
        let own = |k| (0..7).filter(|&i| Shard { index: k, count: 3 }.owns(i)).collect::<Vec<_>>();
        assert_eq!(own(0), vec![0, 3, 6]);
        assert_eq!(own(1), vec![1, 4]);
        assert_eq!(own(2), vec![2, 5]);
    }

    #[test]
    fn pointer_replaces_existing_values_and_adds_missing_keys() {
        let mut doc = json!({"spec": {"cluster": {"nodePools": [{"count": 3}]}, "a/b": 1}});
        apply_pointer(&mut doc, "/spec/cluster/nodePools/0/count", json!(5)).unwrap();
        apply_pointer(&mut doc, "/spec/duration", json!("5m")).unwrap();
        apply_pointer(&mut doc, "/spec/a~1b", json!(2)).unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"cluster": {"nodePools": [{"count": 5}]}, "duration": "5m", "a/b": 2}})
        );
    }

    #[test]
    fn pointer_refuses_missing_parents_and_out_of_range_indices() {
        let mut doc = json!({"spec": {"pools": [{"count": 3}]}});
        assert!(apply_pointer(&mut doc, "/spec/pools/1/count", json!(1))
            .unwrap_err()
            .contains("does not exist"));
        assert!(apply_pointer(&mut doc, "/spec/pools/4", json!(1)).unwrap_err().contains("out of range"));
        assert!(apply_pointer(&mut doc, "spec", json!(1)).unwrap_err().contains("JSON pointer"));
        assert!(apply_pointer(&mut doc, "/spec/pools/0/count/x", json!(1))
            .unwrap_err()
            .contains("not a mapping"));
    }

    fn result(task: usize, v: f64) -> TaskResult {
        TaskResult {
            task,
            scenario: "s".into(),
            override_name: "base".into(),
            policy: "default".into(),
            seed: task as u64,
            digest: format!("d{task}"),
            metrics: vec![("m".into(), v)],
        }
    }

    fn manifest(shard: Shard, total: usize) -> Manifest {
        Manifest {
            kind: RESULT_KIND.into(),
            sweep: "x".into(),
            sweep_sha256: "h".into(),
            kubesim_version: KUBESIM_VERSION.into(),
            scenarios: vec!["s".into()],
            overrides: vec!["base".into()],
            policies: vec!["default".into()],
            seeds: (0..total as u64).collect(),
            tasks_total: total,
            shard,
            tasks: (0..total).filter(|&i| shard.owns(i)).collect(),
        }
    }

    #[test]
    fn metric_values_survive_the_round_trip_through_a_shard_folder_bit_for_bit() {
        let dir = std::env::temp_dir().join(format!("kubesim-sweep-unit-{}", std::process::id()));
        let values = [0.1 + 0.2, 1.0 / 3.0, 1e-300, f64::NAN, f64::INFINITY, 123456789.000001];
        let results: Vec<TaskResult> = values.iter().enumerate().map(|(i, &v)| result(i, v)).collect();
        // A shard folder: no compare.csv, whose statistics refuse non-finite samples.
        let mut m = manifest(Shard::ALL, values.len());
        m.shard = Shard { index: 0, count: 2 };
        write_results(&dir, &m, &results).unwrap();
        let (back_m, back) = read_results(&dir).unwrap();
        assert_eq!(back_m, m);
        for (a, b) in results.iter().zip(&back) {
            assert_eq!(a.metrics[0].1.to_bits(), b.metrics[0].1.to_bits());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn merge_orders_tasks_and_rejects_missing_duplicate_and_foreign_shards() {
        let shard = |k: usize| {
            let s = Shard { index: k, count: 2 };
            let m = manifest(s, 5);
            let r = m.tasks.iter().map(|&i| result(i, i as f64)).collect();
            (PathBuf::from(format!("s{k}")), m, r)
        };
        let (m, all) = merge_shards(vec![shard(1), shard(0)]).unwrap();
        assert_eq!(m, manifest(Shard::ALL, 5));
        assert_eq!(all.iter().map(|r| r.task).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);

        let err = merge_shards(vec![shard(0)]).unwrap_err().to_string();
        assert!(err.contains("missing shard(s) 1/2"), "{err}");
        let err = merge_shards(vec![shard(0), shard(0), shard(1)]).unwrap_err().to_string();
        assert!(err.contains("given twice"), "{err}");
        let mut foreign = shard(1);
        foreign.1.sweep_sha256 = "other".into();
        let err = merge_shards(vec![shard(0), foreign]).unwrap_err().to_string();
        assert!(err.contains("different sweeps"), "{err}");
    }
}
