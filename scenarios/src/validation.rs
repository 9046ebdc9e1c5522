//! `kubesim validate`'s divergence analysis: what one run shows, and how far two runs disagree.
//!
//! A validation scenario runs twice, in the simulator and on the real Linux backend, and each
//! run writes `events.jsonl` and `metrics.csv` in the same schema. [`Observations::from_outputs`]
//! reads the observables below out of one run's two texts; [`compare`] pairs them up between the
//! simulated and the real run and measures each divergence against a [`Tolerances`] entry; the
//! [`DivergenceReport`] prints as an aligned table ([`DivergenceReport::to_table`]) or canonical
//! JSON ([`DivergenceReport::to_json`]). Pure code: the caller does the I/O.
//!
//! # Matching objects across runs
//!
//! Pods of one ReplicaSet get different random name suffixes in the two runs, so pods are
//! identified by their **group**: the controller named in `PodCreated.owner` (`ReplicaSet/x` or
//! `Job/x` → `namespace/x`, which is the pod name minus its last `-xxxxx` segment; the template
//! hash is the same in both runs). Pods without such an owner keep their own name (their names
//! do not depend on randomness). A pod never announced by `PodCreated` (a truncated log) falls
//! back to dropping a trailing five-character `-xxxxx` segment. Per-container observables are
//! keyed `group/container`; all pods of a group are pooled.
//!
//! # Observables and default tolerances
//!
//! | observable | object | what is compared | default tolerance ([`Tolerances`] field) |
//! |---|---|---|---|
//! | `oom_kill_times` | group/container | sorted times of `ContainerTerminated` with reason `OOMKilled` | count exact; each paired \|Δt\| ≤ 2 s (`oom_kill_time`) |
//! | `restart_times` | group/container | sorted times of `ContainerStarted` with `restart_count > 0` | count exact; each \|Δt\| ≤ 2 s (`restart_time`) |
//! | `restart_count` | group/container | Σ over the group's pods of the highest `restart_count` seen | exact |
//! | `readiness_transitions` | group | sorted `PodReady` (↑) and `PodNotReady` (↓) times, each kind paired with its own kind | counts exact; each \|Δt\| ≤ 2 s (`readiness_time`) |
//! | `probe_restarts` | group/container | terminations with exit 137 or 143, not `OOMKilled`, not after the pod's `PodDeleting`/`PodEvicted`, not a scenario's `ContainerKilled` — liveness and startup kills | count exact; each \|Δt\| ≤ 2 s (`probe_restart_time`) |
//! | `rollout_complete` | deployment `rN` | per revision N ≥ 2: first `DeploymentRolloutComplete`, as seconds since the last `DeploymentUpdated` at or before revision N's `ReplicaSetCreated` (no new ReplicaSet, as on a rollback: the first update after the previous completion; no update at all: since time 0) | \|Δ\| ≤ max(5 s, 20 % of the real value) (`rollout_abs`, `rollout_fraction`) |
//! | `throttled_ratio` | group/container | mean of `container_cpu_throttled_ratio`, skipping samples at time 0 and samples whose `container_cpu_usage_millicores` is 0 or absent | \|Δ\| ≤ 0.10 (`throttled_ratio_abs`) |
//! | `cpu_usage_millicores` | group/container | mean of `container_cpu_usage_millicores`, skipping samples at time 0 | \|Δ\| ≤ max(25 m, 15 % of the real value) (`cpu_usage_abs_millicores`, `cpu_usage_fraction`) |
//! | `hpa_decisions` | HPA | sequence of `HpaScaled` (time, from→to) | count and replicas exact; each \|Δt\| ≤ 20 s, one sync period plus jitter (`hpa_time`) |
//! | `hpa_final_replicas` | HPA | the last `HpaDecision.desired_replicas` (else the last `HpaScaled.to`) | exact |
//!
//! Relative tolerances are taken of the **real** run's value: reality is the reference.
//! An observable present in only one run is a divergence (shown as `—` on the missing side);
//! an observable absent from both runs gets no row. `restart_count` rows appear only when some
//! run restarted the container; `throttled_ratio` and `cpu_usage_millicores` whenever samples
//! exist.
//!
//! ```
//! use kubesim_scenarios::validation::{compare, Observations, Tolerances};
//! let events = r#"{"t":0,"kind":"PodCreated","pod":"default/web-abc12-x7k2p","owner":"ReplicaSet/web-abc12","priority":0}
//! {"t":30000000000,"kind":"ContainerTerminated","pod":"default/web-abc12-x7k2p","container":"app","exit_code":137,"reason":"OOMKilled"}
//! "#;
//! let sim = Observations::from_outputs(events, "time_s,metric,object,value\n")?;
//! let real = Observations::from_outputs(&events.replace("x7k2p", "q9zz4"), "")?;
//! let report = compare(&sim, &real, &Tolerances::default());
//! assert!(report.passed());
//! assert_eq!(report.rows[0].object, "default/web-abc12/app");
//! # Ok::<(), kubesim_scenarios::validation::ValidationError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use kubesim_reports::{MetricsTable, ReportError};
use serde_json::{json, Value};
use sim_core::{SimDuration, SimTime};

/// Metric names read from `metrics.csv` (`kubesim_cluster::metrics::names`).
const CPU_USAGE_METRIC: &str = "container_cpu_usage_millicores";
const CPU_THROTTLED_METRIC: &str = "container_cpu_throttled_ratio";

/// Exit codes of a container killed by SIGKILL (137) or SIGTERM (143).
const KILL_EXIT_CODES: [i64; 2] = [137, 143];

/// Lists longer than this are shortened in the table (the JSON has them whole).
const MAX_LISTED: usize = 5;

/// Slack for float comparisons, so `0.3 - 0.2 ≤ 0.1` holds.
const FLOAT_SLACK: f64 = 1e-9;

/// Input that is not a run's output.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// A line of `events.jsonl` is not a record or lacks a field an observable needs.
    #[error("events.jsonl, line {line}: {message}")]
    Event {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `metrics.csv` does not follow its documented format (the message names the line).
    #[error(transparent)]
    Metrics(#[from] ReportError),
}

// ------------------------------------------------------------------------------------ observations

/// A mean over samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mean {
    /// The mean.
    pub value: f64,
    /// How many samples it averages.
    pub samples: usize,
}

/// One `HpaScaled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    /// When.
    pub time: SimTime,
    /// Old replicas.
    pub from: i32,
    /// New replicas.
    pub to: i32,
}

/// When one revision's rollout completed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutTime {
    /// Seconds since the `DeploymentUpdated` that started it, or since the run's start.
    pub seconds: f64,
    /// Whether `seconds` counts from a `DeploymentUpdated` (else from time 0).
    pub since_update: bool,
}

/// A group's readiness transitions, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transitions {
    /// `PodReady` times.
    pub ready: Vec<SimTime>,
    /// `PodNotReady` times.
    pub not_ready: Vec<SimTime>,
}

/// What one run shows. Keys are `group/container`, `group`, `namespace/deployment rN` or the
/// HPA's `namespace/name` (see the module docs); every time list is sorted; maps hold only
/// objects where the observable occurred.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// OOM-kill times per group/container.
    pub oom_kills: BTreeMap<String, Vec<SimTime>>,
    /// Restart (start with `restart_count > 0`) times per group/container.
    pub restarts: BTreeMap<String, Vec<SimTime>>,
    /// Final restart count per group/container, for every container that started.
    pub restart_counts: BTreeMap<String, u64>,
    /// Readiness transitions per group.
    pub readiness: BTreeMap<String, Transitions>,
    /// Liveness/startup-probe kill times per group/container.
    pub probe_restarts: BTreeMap<String, Vec<SimTime>>,
    /// Rollout completion per `namespace/deployment rN` (revisions ≥ 2).
    pub rollouts: BTreeMap<String, RolloutTime>,
    /// Mean throttled ratio per group/container.
    pub throttled_ratio: BTreeMap<String, Mean>,
    /// Mean CPU usage per group/container, millicores.
    pub cpu_usage_millicores: BTreeMap<String, Mean>,
    /// `HpaScaled` sequence per HPA.
    pub hpa_scalings: BTreeMap<String, Vec<Scaling>>,
    /// Final desired replicas per HPA.
    pub hpa_final_replicas: BTreeMap<String, i32>,
}

/// One parsed line of `events.jsonl`.
struct Record {
    line: usize,
    t: SimTime,
    kind: String,
    fields: serde_json::Map<String, Value>,
}

impl Record {
    fn err(&self, message: impl Into<String>) -> ValidationError {
        ValidationError::Event { line: self.line, message: format!("{}: {}", self.kind, message.into()) }
    }

    fn str(&self, field: &str) -> Result<&str, ValidationError> {
        self.fields
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.err(format!("field `{field}` missing or not a string")))
    }

    fn int(&self, field: &str) -> Result<i64, ValidationError> {
        self.fields
            .get(field)
            .and_then(Value::as_i64)
            .ok_or_else(|| self.err(format!("field `{field}` missing or not an integer")))
    }

    fn i32(&self, field: &str) -> Result<i32, ValidationError> {
        let v = self.int(field)?;
        i32::try_from(v).map_err(|_| self.err(format!("field `{field}` = {v} is out of range")))
    }
}

fn parse_events(text: &str) -> Result<Vec<Record>, ValidationError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ValidationError::Event { line, message };
        let value: Value = serde_json::from_str(raw).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(bad("not a JSON object".into()));
        };
        let t = fields
            .remove("t")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad("field `t` missing or not a non-negative integer (ns)".into()))?;
        let kind = match fields.remove("kind") {
            Some(Value::String(k)) => k,
            _ => return Err(bad("field `kind` missing or not a string".into())),
        };
        out.push(Record { line, t: SimTime::from_nanos(t), kind, fields });
    }
    Ok(out)
}

/// The group of a pod named without an owner record: drop a trailing generated `-xxxxx`.
fn group_by_suffix(pod: &str) -> String {
    if let Some((base, suffix)) = pod.rsplit_once('-') {
        let generated =
            suffix.len() == 5 && suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if generated && !base.is_empty() && !base.ends_with('/') {
            return base.to_string();
        }
    }
    pod.to_string()
}

/// Pod → group, from `PodCreated.owner`.
#[derive(Default)]
struct Groups {
    by_pod: BTreeMap<String, String>,
}

impl Groups {
    fn learn(&mut self, pod: &str, owner: Option<&str>) {
        let group = match owner.and_then(|o| o.split_once('/')) {
            Some(("ReplicaSet" | "Job", name)) => match pod.split_once('/') {
                Some((namespace, _)) => format!("{namespace}/{name}"),
                None => name.to_string(),
            },
            _ => pod.to_string(),
        };
        self.by_pod.insert(pod.to_string(), group);
    }

    fn of(&self, pod: &str) -> String {
        self.by_pod.get(pod).cloned().unwrap_or_else(|| group_by_suffix(pod))
    }

    fn container_key(&self, pod: &str, container: &str) -> String {
        format!("{}/{container}", self.of(pod))
    }
}

impl Observations {
    /// Reads one run's `events.jsonl` and `metrics.csv` texts. An empty `metrics_csv` means no
    /// samples. Records of kinds no observable uses are skipped; a malformed line, or a used
    /// record lacking a field, is an error naming the line.
    pub fn from_outputs(events_jsonl: &str, metrics_csv: &str) -> Result<Observations, ValidationError> {
        let records = parse_events(events_jsonl)?;
        let mut groups = Groups::default();
        for r in records.iter().filter(|r| r.kind == "PodCreated") {
            let owner = r.fields.get("owner").and_then(Value::as_str);
            groups.learn(r.str("pod")?, owner);
        }
        let mut obs = Observations::default();
        obs.read_events(&records, &groups)?;
        if !metrics_csv.trim().is_empty() {
            let table = MetricsTable::from_csv_reader(metrics_csv.as_bytes(), "metrics.csv")?;
            obs.read_metrics(&table, &groups);
        }
        for times in
            obs.oom_kills.values_mut().chain(obs.restarts.values_mut()).chain(obs.probe_restarts.values_mut())
        {
            times.sort_unstable();
        }
        for t in obs.readiness.values_mut() {
            t.ready.sort_unstable();
            t.not_ready.sort_unstable();
        }
        Ok(obs)
    }

    fn read_events(&mut self, records: &[Record], groups: &Groups) -> Result<(), ValidationError> {
        // Pods past their deletionTimestamp (or evicted): their kills are not probe kills.
        let mut leaving: BTreeSet<String> = BTreeSet::new();
        // Scenario kills not yet matched by their termination, per pod/container.
        let mut scenario_kills: BTreeMap<(String, String), u32> = BTreeMap::new();
        // Highest restart_count per pod/container.
        let mut restart_count: BTreeMap<(String, String), i64> = BTreeMap::new();
        // Rollouts: updates per deployment, when each revision's ReplicaSet appeared, and the
        // first completion of each revision in log order.
        let mut updates: BTreeMap<String, Vec<SimTime>> = BTreeMap::new();
        let mut rs_created: BTreeMap<(String, i64), SimTime> = BTreeMap::new();
        let mut completions: Vec<(String, i64, SimTime)> = Vec::new();

        for r in records {
            match r.kind.as_str() {
                "ContainerStarted" => {
                    let (pod, container) = (r.str("pod")?, r.str("container")?);
                    let n = r.int("restart_count")?;
                    let best = restart_count.entry((pod.to_string(), container.to_string())).or_insert(0);
                    *best = (*best).max(n);
                    if n > 0 {
                        self.restarts.entry(groups.container_key(pod, container)).or_default().push(r.t);
                    }
                }
                "ContainerTerminated" => {
                    let (pod, container) = (r.str("pod")?, r.str("container")?);
                    let (exit_code, reason) = (r.int("exit_code")?, r.str("reason")?);
                    let key = groups.container_key(pod, container);
                    if reason == "OOMKilled" {
                        self.oom_kills.entry(key).or_default().push(r.t);
                        continue;
                    }
                    let pc = (pod.to_string(), container.to_string());
                    if let Some(n) = scenario_kills.get_mut(&pc).filter(|n| **n > 0) {
                        *n -= 1;
                        continue;
                    }
                    if KILL_EXIT_CODES.contains(&exit_code) && !leaving.contains(pod) {
                        self.probe_restarts.entry(key).or_default().push(r.t);
                    }
                }
                "ContainerKilled" => {
                    let pc = (r.str("pod")?.to_string(), r.str("container")?.to_string());
                    *scenario_kills.entry(pc).or_insert(0) += 1;
                }
                "PodDeleting" | "PodEvicted" => {
                    leaving.insert(r.str("pod")?.to_string());
                }
                "PodReady" | "PodNotReady" => {
                    let entry = self.readiness.entry(groups.of(r.str("pod")?)).or_default();
                    if r.kind == "PodReady" { &mut entry.ready } else { &mut entry.not_ready }.push(r.t);
                }
                "DeploymentUpdated" => {
                    updates.entry(r.str("deployment")?.to_string()).or_default().push(r.t);
                }
                "ReplicaSetCreated" => {
                    let key = (r.str("deployment")?.to_string(), r.int("revision")?);
                    rs_created.entry(key).or_insert(r.t);
                }
                "DeploymentRolloutComplete" => {
                    let (d, revision) = (r.str("deployment")?, r.int("revision")?);
                    // The same revision completes again after a scale: keep the first.
                    if !completions.iter().any(|(cd, cr, _)| cd == d && *cr == revision) {
                        completions.push((d.to_string(), revision, r.t));
                    }
                }
                "HpaScaled" => {
                    let scaling = Scaling { time: r.t, from: r.i32("from")?, to: r.i32("to")? };
                    let hpa = r.str("hpa")?.to_string();
                    self.hpa_final_replicas.insert(hpa.clone(), scaling.to);
                    self.hpa_scalings.entry(hpa).or_default().push(scaling);
                }
                "HpaDecision" => {
                    self.hpa_final_replicas.insert(r.str("hpa")?.to_string(), r.i32("desired_replicas")?);
                }
                _ => {}
            }
        }
        let mut previous_completion: BTreeMap<&str, SimTime> = BTreeMap::new();
        for (d, revision, done) in &completions {
            let after = previous_completion.insert(d.as_str(), *done);
            if *revision < 2 {
                continue;
            }
            let ups = updates.get(d).map_or(&[][..], Vec::as_slice);
            let start = match rs_created.get(&(d.clone(), *revision)) {
                // The update that made this revision's ReplicaSet.
                Some(created) => ups.iter().rev().find(|u| *u <= created).copied(),
                // No new ReplicaSet (a rollback re-uses one): the first update since the
                // previous completion.
                None => ups.iter().find(|u| after.is_none_or(|a| **u > a) && *u <= done).copied(),
            };
            self.rollouts.insert(
                format!("{d} r{revision}"),
                RolloutTime {
                    seconds: done.saturating_duration_since(start.unwrap_or(SimTime::ZERO)).as_secs_f64(),
                    since_update: start.is_some(),
                },
            );
        }
        for ((pod, container), n) in restart_count {
            *self.restart_counts.entry(groups.container_key(&pod, &container)).or_insert(0) +=
                n.max(0) as u64;
        }
        Ok(())
    }

    fn read_metrics(&mut self, table: &MetricsTable, groups: &Groups) {
        let key = |object: &str| match object.rsplit_once('/') {
            Some((pod, container)) => groups.container_key(pod, container),
            None => object.to_string(),
        };
        let mut usage_at: BTreeMap<(SimTime, &str), f64> = BTreeMap::new();
        let mut usage: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for row in table.rows().iter().filter(|r| r.metric == CPU_USAGE_METRIC) {
            usage_at.insert((row.time, row.object), row.value);
            if row.time > SimTime::ZERO && row.value.is_finite() {
                let acc = usage.entry(key(row.object)).or_insert((0.0, 0));
                acc.0 += row.value;
                acc.1 += 1;
            }
        }
        let mut throttled: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for row in table.rows().iter().filter(|r| r.metric == CPU_THROTTLED_METRIC) {
            let busy = usage_at.get(&(row.time, row.object)).is_some_and(|u| *u > 0.0);
            if row.time > SimTime::ZERO && busy && row.value.is_finite() {
                let acc = throttled.entry(key(row.object)).or_insert((0.0, 0));
                acc.0 += row.value;
                acc.1 += 1;
            }
        }
        let mean = |(sum, n): (f64, usize)| Mean { value: sum / n as f64, samples: n };
        self.cpu_usage_millicores = usage.into_iter().map(|(k, acc)| (k, mean(acc))).collect();
        self.throttled_ratio = throttled.into_iter().map(|(k, acc)| (k, mean(acc))).collect();
    }
}

// ------------------------------------------------------------------------------------ tolerances

/// How far the runs may disagree; defaults in the module docs' table. Relative parts are
/// fractions of the real run's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerances {
    /// Each paired OOM-kill time.
    pub oom_kill_time: SimDuration,
    /// Each paired restart time.
    pub restart_time: SimDuration,
    /// Each paired readiness transition.
    pub readiness_time: SimDuration,
    /// Each paired probe-triggered kill.
    pub probe_restart_time: SimDuration,
    /// Rollout duration, absolute part.
    pub rollout_abs: SimDuration,
    /// Rollout duration, relative part.
    pub rollout_fraction: f64,
    /// Mean throttled ratio, absolute.
    pub throttled_ratio_abs: f64,
    /// Mean CPU usage, absolute part, millicores.
    pub cpu_usage_abs_millicores: f64,
    /// Mean CPU usage, relative part.
    pub cpu_usage_fraction: f64,
    /// Each paired HPA scaling.
    pub hpa_time: SimDuration,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            oom_kill_time: SimDuration::from_secs(2),
            restart_time: SimDuration::from_secs(2),
            readiness_time: SimDuration::from_secs(2),
            probe_restart_time: SimDuration::from_secs(2),
            rollout_abs: SimDuration::from_secs(5),
            rollout_fraction: 0.20,
            throttled_ratio_abs: 0.10,
            cpu_usage_abs_millicores: 25.0,
            cpu_usage_fraction: 0.15,
            // One HPA sync period (15 s) plus jitter.
            hpa_time: SimDuration::from_secs(20),
        }
    }
}

// ------------------------------------------------------------------------------------ the report

/// One run's value of one observable for one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    /// Sorted event times.
    Times(Vec<SimTime>),
    /// Readiness transitions.
    Transitions(Transitions),
    /// A count.
    Count(u64),
    /// A mean, with the unit of its observable.
    Mean(Mean),
    /// Rollout completion.
    Rollout(RolloutTime),
    /// An HPA's scalings.
    Scalings(Vec<Scaling>),
    /// A replica count.
    Replicas(i32),
}

/// Which run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The simulator.
    Sim,
    /// The real backend.
    Real,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Sim => "sim",
            Side::Real => "real",
        }
    }
}

/// The pair that diverges most.
#[derive(Debug, Clone, PartialEq)]
pub struct WorstPair {
    /// Which pair (`#2`, `ready #1`).
    pub label: String,
    /// Sim's value of it (seconds for times).
    pub sim: f64,
    /// Real's value of it.
    pub real: f64,
    /// How many pairs exceed the tolerance.
    pub beyond: usize,
    /// How many pairs there are.
    pub pairs: usize,
}

/// How two runs' values of one observable differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// Both runs have it and the counts agree: the largest difference (seconds for times).
    Delta {
        /// |Δ| of the worst pair, or of the values.
        value: f64,
        /// Unit of `value` (`s`, `m`, `` for ratios and counts).
        unit: &'static str,
        /// The worst pair, for lists.
        worst: Option<WorstPair>,
    },
    /// The lists have different lengths.
    Count {
        /// Sim's count.
        sim: usize,
        /// Real's count.
        real: usize,
    },
    /// Paired items differ in kind (HPA replicas, readiness direction counts, rollout base).
    Mismatch {
        /// Which item.
        label: String,
        /// Sim's item.
        sim: String,
        /// Real's item.
        real: String,
    },
    /// Only one run shows the observable.
    OnlyIn(Side),
}

/// The bound a row is held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// The effective bound on [`Divergence::Delta`]'s value (0 for exact).
    pub allowed: f64,
    /// The rule in words (`count exact, each |Δt| ≤ 2 s`).
    pub rule: String,
}

/// One observable of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct DivergenceRow {
    /// Observable name (`oom_kill_times`, …).
    pub observable: &'static str,
    /// The object (`default/web-7d4b9/app`, `default/web r2`, …).
    pub object: String,
    /// The simulator's value; `None` when it did not show the observable.
    pub sim: Option<Measured>,
    /// The real backend's value.
    pub real: Option<Measured>,
    /// How they differ.
    pub divergence: Divergence,
    /// What is allowed.
    pub tolerance: Tolerance,
    /// Within tolerance.
    pub ok: bool,
}

/// Every row of a comparison, in observable then object order.
#[derive(Debug, Clone, PartialEq)]
pub struct DivergenceReport {
    /// The rows.
    pub rows: Vec<DivergenceRow>,
    /// The tolerances used.
    pub tolerances: Tolerances,
}

fn secs(d: SimDuration) -> f64 {
    d.as_secs_f64()
}

fn abs_diff_ns(a: SimTime, b: SimTime) -> u64 {
    a.as_nanos().abs_diff(b.as_nanos())
}

/// Pairs two sorted time lists: counts must match, each |Δt| ≤ `tol`.
fn compare_times(sim: &[SimTime], real: &[SimTime], tol: SimDuration, prefix: &str) -> (Divergence, bool) {
    if sim.len() != real.len() {
        return (Divergence::Count { sim: sim.len(), real: real.len() }, false);
    }
    let worst =
        sim.iter().zip(real).enumerate().max_by_key(|(i, (a, b))| (abs_diff_ns(**a, **b), usize::MAX - i));
    let beyond = sim.iter().zip(real).filter(|(a, b)| abs_diff_ns(**a, **b) > tol.as_nanos()).count();
    match worst {
        None => (Divergence::Delta { value: 0.0, unit: "s", worst: None }, true),
        Some((i, (a, b))) => {
            let d = abs_diff_ns(*a, *b);
            let pair = WorstPair {
                label: format!("{prefix}#{}", i + 1),
                sim: a.as_secs_f64(),
                real: b.as_secs_f64(),
                beyond,
                pairs: sim.len(),
            };
            (Divergence::Delta { value: d as f64 / 1e9, unit: "s", worst: Some(pair) }, d <= tol.as_nanos())
        }
    }
}

fn time_rule(tol: SimDuration) -> Tolerance {
    Tolerance { allowed: secs(tol), rule: format!("count exact, each |Δt| ≤ {} s", fmt_num(secs(tol))) }
}

fn exact_rule() -> Tolerance {
    Tolerance { allowed: 0.0, rule: "exact".into() }
}

fn scalar(sim: f64, real: f64, unit: &'static str, allowed: f64) -> (Divergence, bool) {
    let d = (sim - real).abs();
    (Divergence::Delta { value: d, unit, worst: None }, d <= allowed + FLOAT_SLACK)
}

/// Builds rows for one observable over the union of both runs' objects.
fn rows_for<T>(
    out: &mut Vec<DivergenceRow>,
    observable: &'static str,
    sim: &BTreeMap<String, T>,
    real: &BTreeMap<String, T>,
    measure: impl Fn(&T) -> Measured,
    tolerance: impl Fn(Option<&T>, Option<&T>) -> Tolerance,
    judge: impl Fn(&T, &T, &Tolerance) -> (Divergence, bool),
) {
    let objects: BTreeSet<&String> = sim.keys().chain(real.keys()).collect();
    for object in objects {
        let (s, r) = (sim.get(object), real.get(object));
        let tol = tolerance(s, r);
        let (divergence, ok) = match (s, r) {
            (Some(s), Some(r)) => judge(s, r, &tol),
            (Some(_), None) => (Divergence::OnlyIn(Side::Sim), false),
            _ => (Divergence::OnlyIn(Side::Real), false),
        };
        out.push(DivergenceRow {
            observable,
            object: object.clone(),
            sim: s.map(&measure),
            real: r.map(&measure),
            divergence,
            tolerance: tol,
            ok,
        });
    }
}

/// Compares a simulated run with a real one, observable by observable (module docs).
pub fn compare(sim: &Observations, real: &Observations, tol: &Tolerances) -> DivergenceReport {
    let mut rows = Vec::new();
    let times =
        |d: SimDuration| move |s: &Vec<SimTime>, r: &Vec<SimTime>, _: &Tolerance| compare_times(s, r, d, "");
    let as_times = |v: &Vec<SimTime>| Measured::Times(v.clone());

    rows_for(
        &mut rows,
        "oom_kill_times",
        &sim.oom_kills,
        &real.oom_kills,
        as_times,
        |_, _| time_rule(tol.oom_kill_time),
        times(tol.oom_kill_time),
    );
    rows_for(
        &mut rows,
        "restart_times",
        &sim.restarts,
        &real.restarts,
        as_times,
        |_, _| time_rule(tol.restart_time),
        times(tol.restart_time),
    );

    // Restart totals: only containers some run restarted; a container both runs started but
    // one never restarted shows 0 there, not "—".
    let restarted = |o: &Observations| -> BTreeMap<String, u64> {
        o.restart_counts
            .iter()
            .filter(|(k, _)| {
                sim.restart_counts.get(*k).copied().unwrap_or(0) > 0
                    || real.restart_counts.get(*k).copied().unwrap_or(0) > 0
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    rows_for(
        &mut rows,
        "restart_count",
        &restarted(sim),
        &restarted(real),
        |n| Measured::Count(*n),
        |_, _| exact_rule(),
        |s, r, _| (Divergence::Delta { value: s.abs_diff(*r) as f64, unit: "", worst: None }, s == r),
    );

    rows_for(
        &mut rows,
        "readiness_transitions",
        &sim.readiness,
        &real.readiness,
        |t| Measured::Transitions(t.clone()),
        |_, _| time_rule(tol.readiness_time),
        |s, r, _| compare_transitions(s, r, tol.readiness_time),
    );
    rows_for(
        &mut rows,
        "probe_restarts",
        &sim.probe_restarts,
        &real.probe_restarts,
        as_times,
        |_, _| time_rule(tol.probe_restart_time),
        times(tol.probe_restart_time),
    );

    let rollout_allowed = |r: &RolloutTime| secs(tol.rollout_abs).max(tol.rollout_fraction * r.seconds);
    rows_for(
        &mut rows,
        "rollout_complete",
        &sim.rollouts,
        &real.rollouts,
        |r| Measured::Rollout(*r),
        |s, r| {
            let allowed = r.or(s).map_or(secs(tol.rollout_abs), rollout_allowed);
            Tolerance {
                allowed,
                rule: format!(
                    "|Δ| ≤ max({} s, {} % of real) = {} s",
                    fmt_num(secs(tol.rollout_abs)),
                    fmt_num(tol.rollout_fraction * 100.0),
                    fmt_num(allowed)
                ),
            }
        },
        |s, r, t| {
            if s.since_update != r.since_update {
                let base = |x: &RolloutTime| fmt_rollout(x);
                (Divergence::Mismatch { label: "start".into(), sim: base(s), real: base(r) }, false)
            } else {
                scalar(s.seconds, r.seconds, "s", t.allowed)
            }
        },
    );

    rows_for(
        &mut rows,
        "throttled_ratio",
        &sim.throttled_ratio,
        &real.throttled_ratio,
        |m| Measured::Mean(*m),
        |_, _| Tolerance {
            allowed: tol.throttled_ratio_abs,
            rule: format!("|Δ| ≤ {}", fmt_num(tol.throttled_ratio_abs)),
        },
        |s, r, t| scalar(s.value, r.value, "", t.allowed),
    );
    rows_for(
        &mut rows,
        "cpu_usage_millicores",
        &sim.cpu_usage_millicores,
        &real.cpu_usage_millicores,
        |m| Measured::Mean(*m),
        |s, r| {
            let reference = r.or(s).map_or(0.0, |m| m.value.abs());
            let allowed = tol.cpu_usage_abs_millicores.max(tol.cpu_usage_fraction * reference);
            Tolerance {
                allowed,
                rule: format!(
                    "|Δ| ≤ max({} m, {} % of real) = {} m",
                    fmt_num(tol.cpu_usage_abs_millicores),
                    fmt_num(tol.cpu_usage_fraction * 100.0),
                    fmt_num(allowed)
                ),
            }
        },
        |s, r, t| scalar(s.value, r.value, "m", t.allowed),
    );

    rows_for(
        &mut rows,
        "hpa_decisions",
        &sim.hpa_scalings,
        &real.hpa_scalings,
        |v| Measured::Scalings(v.clone()),
        |_, _| Tolerance {
            allowed: secs(tol.hpa_time),
            rule: format!("count and replicas exact, each |Δt| ≤ {} s", fmt_num(secs(tol.hpa_time))),
        },
        |s, r, _| compare_scalings(s, r, tol.hpa_time),
    );
    rows_for(
        &mut rows,
        "hpa_final_replicas",
        &sim.hpa_final_replicas,
        &real.hpa_final_replicas,
        |n| Measured::Replicas(*n),
        |_, _| exact_rule(),
        |s, r, _| (Divergence::Delta { value: s.abs_diff(*r) as f64, unit: "", worst: None }, s == r),
    );

    DivergenceReport { rows, tolerances: tol.clone() }
}

fn compare_transitions(s: &Transitions, r: &Transitions, tol: SimDuration) -> (Divergence, bool) {
    if s.ready.len() != r.ready.len() || s.not_ready.len() != r.not_ready.len() {
        let (sn, rn) = (s.ready.len() + s.not_ready.len(), r.ready.len() + r.not_ready.len());
        if sn != rn {
            return (Divergence::Count { sim: sn, real: rn }, false);
        }
        let text = |t: &Transitions| format!("{} ready, {} not-ready", t.ready.len(), t.not_ready.len());
        return (Divergence::Mismatch { label: "kinds".into(), sim: text(s), real: text(r) }, false);
    }
    let (ready, ready_ok) = compare_times(&s.ready, &r.ready, tol, "ready ");
    let (not_ready, not_ready_ok) = compare_times(&s.not_ready, &r.not_ready, tol, "not-ready ");
    let value = |d: &Divergence| match d {
        Divergence::Delta { value, .. } => *value,
        _ => 0.0,
    };
    let counts = |d: &Divergence| match d {
        Divergence::Delta { worst: Some(w), .. } => (w.beyond, w.pairs),
        _ => (0, 0),
    };
    let ((b1, p1), (b2, p2)) = (counts(&ready), counts(&not_ready));
    let mut worst = if value(&not_ready) > value(&ready) { not_ready } else { ready };
    if let Divergence::Delta { worst: Some(w), .. } = &mut worst {
        (w.beyond, w.pairs) = (b1 + b2, p1 + p2);
    }
    (worst, ready_ok && not_ready_ok)
}

fn compare_scalings(s: &[Scaling], r: &[Scaling], tol: SimDuration) -> (Divergence, bool) {
    if s.len() != r.len() {
        return (Divergence::Count { sim: s.len(), real: r.len() }, false);
    }
    if let Some((i, (a, b))) =
        s.iter().zip(r).enumerate().find(|(_, (a, b))| (a.from, a.to) != (b.from, b.to))
    {
        return (
            Divergence::Mismatch { label: format!("#{}", i + 1), sim: fmt_scaling(a), real: fmt_scaling(b) },
            false,
        );
    }
    let st: Vec<SimTime> = s.iter().map(|x| x.time).collect();
    let rt: Vec<SimTime> = r.iter().map(|x| x.time).collect();
    compare_times(&st, &rt, tol, "")
}

// ------------------------------------------------------------------------------------ rendering

/// A number in the shortest of up to three decimals (`2`, `0.1`, `12.345`).
fn fmt_num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn fmt_t(t: SimTime) -> String {
    format!("{:.1}", t.as_secs_f64())
}

/// All items when few, else the first three, an ellipsis with how many are hidden, and the last.
fn fmt_list<T>(items: &[T], one: impl Fn(&T) -> String) -> String {
    if items.len() <= MAX_LISTED {
        return items.iter().map(one).collect::<Vec<_>>().join(" ");
    }
    let head: Vec<String> = items.iter().take(3).map(&one).collect();
    let last = items.last().map(&one).unwrap_or_default();
    format!("{} …{}… {last}", head.join(" "), items.len() - 4)
}

fn fmt_scaling(s: &Scaling) -> String {
    format!("{}→{}@{}", s.from, s.to, fmt_t(s.time))
}

fn fmt_rollout(r: &RolloutTime) -> String {
    if r.since_update {
        format!("{} s after update", fmt_num(r.seconds))
    } else {
        format!("at {} s", fmt_num(r.seconds))
    }
}

impl Measured {
    /// The value as the table shows it.
    pub fn display(&self, unit: &str) -> String {
        match self {
            Measured::Times(ts) => format!("{}: {} s", ts.len(), fmt_list(ts, |t| fmt_t(*t))),
            Measured::Transitions(t) => {
                let mut all: Vec<(SimTime, char)> =
                    t.ready.iter().map(|x| (*x, '↑')).chain(t.not_ready.iter().map(|x| (*x, '↓'))).collect();
                all.sort_unstable();
                format!("{}: {} s", all.len(), fmt_list(&all, |(x, c)| format!("{c}{}", fmt_t(*x))))
            }
            Measured::Count(n) => n.to_string(),
            Measured::Mean(m) => {
                let sep = if unit.is_empty() { "" } else { " " };
                format!("{}{sep}{unit} (n={})", fmt_num(m.value), m.samples)
            }
            Measured::Rollout(r) => fmt_rollout(r),
            Measured::Scalings(v) => format!("{}: {} s", v.len(), fmt_list(v, fmt_scaling)),
            Measured::Replicas(n) => n.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        let ts = |v: &[SimTime]| v.iter().map(|t| t.as_secs_f64()).collect::<Vec<_>>();
        match self {
            Measured::Times(v) => json!({"count": v.len(), "times_s": ts(v)}),
            Measured::Transitions(t) => json!({"ready_s": ts(&t.ready), "not_ready_s": ts(&t.not_ready)}),
            Measured::Count(n) => json!(n),
            Measured::Mean(m) => json!({"mean": m.value, "samples": m.samples}),
            Measured::Rollout(r) => json!({"seconds": r.seconds, "since_update": r.since_update}),
            Measured::Scalings(v) => Value::Array(
                v.iter().map(|s| json!({"t_s": s.time.as_secs_f64(), "from": s.from, "to": s.to})).collect(),
            ),
            Measured::Replicas(n) => json!(n),
        }
    }
}

impl Divergence {
    /// The divergence as the table shows it.
    pub fn display(&self) -> String {
        match self {
            Divergence::Delta { value, unit, worst } => {
                let sep = if unit.is_empty() { "" } else { " " };
                let mut text = format!("{}{sep}{unit}", fmt_num(*value));
                // A zero divergence needs no witness.
                if let Some(w) = worst.as_ref().filter(|_| *value > 0.0) {
                    text.push_str(&format!(" ({}: {} vs {}", w.label, fmt_num(w.sim), fmt_num(w.real)));
                    if w.beyond > 0 {
                        text.push_str(&format!("; {}/{} pairs beyond", w.beyond, w.pairs));
                    }
                    text.push(')');
                }
                text
            }
            Divergence::Count { sim, real } => format!("count {sim} vs {real}"),
            Divergence::Mismatch { label, sim, real } => format!("{label}: {sim} vs {real}"),
            Divergence::OnlyIn(side) => format!("only in {}", side.as_str()),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Divergence::Delta { value, unit, worst } => json!({
                "kind": "delta",
                "value": value,
                "unit": unit,
                "worst": worst.as_ref().map(|w| json!({
                    "label": w.label, "sim": w.sim, "real": w.real, "beyond": w.beyond, "pairs": w.pairs,
                })),
            }),
            Divergence::Count { sim, real } => json!({"kind": "count", "sim": sim, "real": real}),
            Divergence::Mismatch { label, sim, real } => {
                json!({"kind": "mismatch", "label": label, "sim": sim, "real": real})
            }
            Divergence::OnlyIn(side) => json!({"kind": "only_in", "side": side.as_str()}),
        }
    }
}

fn unit_of(observable: &str) -> &'static str {
    match observable {
        "cpu_usage_millicores" => "m",
        _ => "",
    }
}

impl DivergenceReport {
    /// No row exceeds its tolerance.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.ok)
    }

    /// Rows beyond tolerance.
    pub fn failures(&self) -> impl Iterator<Item = &DivergenceRow> {
        self.rows.iter().filter(|r| !r.ok)
    }

    /// An aligned text table, one row per observable × object, then a verdict line.
    pub fn to_table(&self) -> String {
        let header = ["observable", "object", "sim", "real", "divergence", "tolerance", "verdict"];
        let missing = || "—".to_string();
        let mut lines: Vec<[String; 7]> = vec![header.map(String::from)];
        for r in &self.rows {
            let unit = unit_of(r.observable);
            lines.push([
                r.observable.to_string(),
                r.object.clone(),
                r.sim.as_ref().map_or_else(missing, |m| m.display(unit)),
                r.real.as_ref().map_or_else(missing, |m| m.display(unit)),
                r.divergence.display(),
                r.tolerance.rule.clone(),
                if r.ok { "ok".into() } else { "DIVERGES".into() },
            ]);
        }
        let mut widths = [0usize; 7];
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            let mut text = String::new();
            for (j, (cell, w)) in line.iter().zip(widths).enumerate() {
                if j > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if j + 1 < line.len() {
                    text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
            if i == 0 {
                let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                out.push_str(&"-".repeat(rule));
                out.push('\n');
            }
        }
        let failed = self.failures().count();
        out.push_str(&format!(
            "{} rows, {} beyond tolerance: {}   (times in s; ↑ ready, ↓ not-ready; …n… = n more; #n = n-th of the sorted list)\n",
            self.rows.len(),
            failed,
            if failed == 0 { "PASS" } else { "FAIL" }
        ));
        out
    }

    /// The report as canonical JSON (sorted keys, pretty-printed).
    pub fn to_json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "observable": r.observable,
                    "object": r.object,
                    "sim": r.sim.as_ref().map(Measured::to_json),
                    "real": r.real.as_ref().map(Measured::to_json),
                    "divergence": r.divergence.to_json(),
                    "tolerance": {"allowed": r.tolerance.allowed, "rule": r.tolerance.rule},
                    "ok": r.ok,
                })
            })
            .collect();
        let t = &self.tolerances;
        let value = json!({
            "passed": self.passed(),
            "failed": self.failures().count(),
            "rows": rows,
            "tolerances": {
                "oom_kill_time_s": secs(t.oom_kill_time),
                "restart_time_s": secs(t.restart_time),
                "readiness_time_s": secs(t.readiness_time),
                "probe_restart_time_s": secs(t.probe_restart_time),
                "rollout_abs_s": secs(t.rollout_abs),
                "rollout_fraction": t.rollout_fraction,
                "throttled_ratio_abs": t.throttled_ratio_abs,
                "cpu_usage_abs_millicores": t.cpu_usage_abs_millicores,
                "cpu_usage_fraction": t.cpu_usage_fraction,
                "hpa_time_s": secs(t.hpa_time),
            },
        });
        kubesim_reports::canonical::to_string_pretty(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// A hand-built event log: one record per call, `t` in seconds.
    #[derive(Default)]
    struct Log(String);

    impl Log {
        fn rec(mut self, t_s: f64, kind: &str, fields: Value) -> Self {
            let mut obj = fields.as_object().cloned().unwrap_or_default();
            obj.insert("t".into(), json!((t_s * S as f64).round() as u64));
            obj.insert("kind".into(), json!(kind));
            self.0.push_str(&serde_json::to_string(&Value::Object(obj)).unwrap());
            self.0.push('\n');
            self
        }
        fn pod(self, pod: &str, rs: &str) -> Self {
            self.rec(
                0.0,
                "PodCreated",
                json!({"pod": pod, "owner": format!("ReplicaSet/{rs}"), "priority": 0}),
            )
        }
        fn oom(self, t: f64, pod: &str) -> Self {
            self.rec(
                t,
                "ContainerTerminated",
                json!({"pod": pod, "container": "app", "exit_code": 137, "reason": "OOMKilled"}),
            )
        }
        fn started(self, t: f64, pod: &str, restarts: i32) -> Self {
            self.rec(
                t,
                "ContainerStarted",
                json!({"pod": pod, "container": "app", "restart_count": restarts}),
            )
        }
        fn killed(self, t: f64, pod: &str, exit_code: i32) -> Self {
            self.rec(
                t,
                "ContainerTerminated",
                json!({"pod": pod, "container": "app", "exit_code": exit_code, "reason": "Error"}),
            )
        }
        fn obs(&self) -> Observations {
            Observations::from_outputs(&self.0, "").unwrap()
        }
    }

    fn report(sim: &Log, real: &Log) -> DivergenceReport {
        compare(&sim.obs(), &real.obs(), &Tolerances::default())
    }

    fn row<'a>(r: &'a DivergenceReport, observable: &str) -> &'a DivergenceRow {
        r.rows
            .iter()
            .find(|x| x.observable == observable)
            .unwrap_or_else(|| panic!("no {observable} row in\n{}", r.to_table()))
    }

    fn oom_run(pod: &str, times: &[f64]) -> Log {
        times.iter().fold(Log::default().pod(pod, "web-6d8f9"), |log, t| log.oom(*t, pod))
    }

    #[test]
    fn equal_runs_pass_with_zero_divergence() {
        let log = oom_run("default/web-6d8f9-aaaaa", &[30.0, 75.5]);
        let r = report(&log, &log);
        assert!(r.passed(), "{}", r.to_table());
        let oom = row(&r, "oom_kill_times");
        assert_eq!(oom.object, "default/web-6d8f9/app");
        assert!(matches!(oom.divergence, Divergence::Delta { value, .. } if value == 0.0));
    }

    #[test]
    fn pods_of_one_replicaset_match_across_different_name_suffixes() {
        let sim = oom_run("default/web-6d8f9-x7k2p", &[30.0]);
        let real = oom_run("default/web-6d8f9-q9zz4", &[31.0]);
        let r = report(&sim, &real);
        assert_eq!(r.rows.len(), 1, "{}", r.to_table());
        assert!(r.passed());
    }

    #[test]
    fn a_pod_without_an_owner_record_is_grouped_by_dropping_the_generated_suffix() {
        let sim = Log::default().oom(30.0, "default/web-6d8f9-x7k2p").obs();
        assert!(sim.oom_kills.contains_key("default/web-6d8f9/app"), "{:?}", sim.oom_kills);
        let bare = Log::default().oom(30.0, "default/my-batch-runner").obs();
        assert!(bare.oom_kills.contains_key("default/my-batch-runner/app"), "{:?}", bare.oom_kills);
    }

    #[test]
    fn an_oom_kill_shifted_beyond_tolerance_fails_and_names_the_worst_pair() {
        // Second kill 45.0 s vs 47.5 s: |Δt| = 2.5 s > 2 s.
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0, 45.0]);
        let real = oom_run("default/web-6d8f9-bbbbb", &[30.5, 47.5]);
        let r = report(&sim, &real);
        assert!(!r.passed());
        let oom = row(&r, "oom_kill_times");
        assert!(!oom.ok);
        assert_eq!(
            oom.divergence,
            Divergence::Delta {
                value: 2.5,
                unit: "s",
                worst: Some(WorstPair { label: "#2".into(), sim: 45.0, real: 47.5, beyond: 1, pairs: 2 })
            }
        );
        let table = r.to_table();
        assert!(
            table.contains("2.5 s (#2: 45 vs 47.5; 1/2 pairs beyond)") && table.contains("DIVERGES"),
            "{table}"
        );
        assert!(table.contains("FAIL"), "{table}");
    }

    #[test]
    fn a_shift_of_exactly_the_tolerance_passes() {
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0]);
        let real = oom_run("default/web-6d8f9-bbbbb", &[32.0]);
        assert!(report(&sim, &real).passed());
    }

    #[test]
    fn a_different_kill_count_fails_even_when_times_are_close() {
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0, 60.0]);
        let real = oom_run("default/web-6d8f9-bbbbb", &[30.0]);
        let oom = report(&sim, &real).rows.into_iter().find(|x| x.observable == "oom_kill_times").unwrap();
        assert_eq!(oom.divergence, Divergence::Count { sim: 2, real: 1 });
        assert!(!oom.ok);
    }

    #[test]
    fn an_observable_in_only_one_run_is_a_divergence_shown_with_a_dash() {
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0]);
        let real = Log::default().pod("default/web-6d8f9-bbbbb", "web-6d8f9");
        let r = report(&sim, &real);
        let oom = row(&r, "oom_kill_times");
        assert_eq!(oom.divergence, Divergence::OnlyIn(Side::Sim));
        assert!(oom.real.is_none() && !r.passed());
        let table = r.to_table();
        let line = table.lines().find(|l| l.starts_with("oom_kill_times")).unwrap();
        assert!(line.contains("—") && line.contains("only in sim"), "{table}");
    }

    #[test]
    fn observables_absent_from_both_runs_get_no_row() {
        let log = Log::default().pod("default/web-6d8f9-aaaaa", "web-6d8f9").started(
            1.0,
            "default/web-6d8f9-aaaaa",
            0,
        );
        let r = report(&log, &log);
        assert!(r.rows.is_empty(), "{}", r.to_table());
        assert!(r.passed());
    }

    #[test]
    fn restart_times_and_totals_pool_the_pods_of_a_group() {
        // Two pods each restarted once: sim at 20 s and 40 s, real at 21 s and 41.5 s.
        let run = |a: &str, b: &str, t1: f64, t2: f64| {
            Log::default()
                .pod(a, "web-6d8f9")
                .pod(b, "web-6d8f9")
                .started(1.0, a, 0)
                .started(1.0, b, 0)
                .started(t1, a, 1)
                .started(t2, b, 1)
        };
        let sim = run("default/web-6d8f9-aaaaa", "default/web-6d8f9-bbbbb", 20.0, 40.0);
        let real = run("default/web-6d8f9-ccccc", "default/web-6d8f9-ddddd", 21.0, 41.5);
        let r = report(&sim, &real);
        assert!(r.passed(), "{}", r.to_table());
        assert_eq!(row(&r, "restart_count").sim, Some(Measured::Count(2)));
        assert!(
            matches!(row(&r, "restart_times").divergence, Divergence::Delta { value, .. } if value == 1.5)
        );

        // Real never restarts: its count is 0 (the container ran), not "—".
        let calm = Log::default().pod("default/web-6d8f9-ccccc", "web-6d8f9").started(
            1.0,
            "default/web-6d8f9-ccccc",
            0,
        );
        let r = report(&sim, &calm);
        let count = row(&r, "restart_count");
        assert_eq!((count.real.clone(), count.ok), (Some(Measured::Count(0)), false));
        assert_eq!(row(&r, "restart_times").divergence, Divergence::OnlyIn(Side::Sim));
    }

    #[test]
    fn a_kill_of_a_deleting_pod_is_not_a_probe_restart() {
        let pod = "default/web-6d8f9-aaaaa";
        let probe = Log::default().pod(pod, "web-6d8f9").killed(25.0, pod, 137).killed(60.0, pod, 143);
        let obs = probe.obs();
        assert_eq!(
            obs.probe_restarts["default/web-6d8f9/app"],
            vec![SimTime::from_secs(25), SimTime::from_secs(60)]
        );

        let deleting = Log::default()
            .pod(pod, "web-6d8f9")
            .killed(25.0, pod, 137)
            .rec(50.0, "PodDeleting", json!({"pod": pod, "by": "replicaset"}))
            .killed(60.0, pod, 143);
        assert_eq!(deleting.obs().probe_restarts["default/web-6d8f9/app"], vec![SimTime::from_secs(25)]);

        // An application error (exit 1) and an OOM kill are not probe kills either.
        let other = Log::default().pod(pod, "web-6d8f9").killed(10.0, pod, 1).oom(20.0, pod);
        assert!(other.obs().probe_restarts.is_empty());

        // Neither is a kill the scenario asked for.
        let scenario = Log::default()
            .pod(pod, "web-6d8f9")
            .rec(9.0, "ContainerKilled", json!({"pod": pod, "container": "app", "exit_code": 137}))
            .killed(9.0, pod, 137);
        assert!(scenario.obs().probe_restarts.is_empty());

        let r = report(&probe, &deleting);
        assert_eq!(row(&r, "probe_restarts").divergence, Divergence::Count { sim: 2, real: 1 });
    }

    #[test]
    fn readiness_transitions_pair_each_direction_with_its_own() {
        let run = |pod: &str, up: f64, down: f64| {
            Log::default().pod(pod, "web-6d8f9").rec(up, "PodReady", json!({"pod": pod})).rec(
                down,
                "PodNotReady",
                json!({"pod": pod}),
            )
        };
        let sim = run("default/web-6d8f9-aaaaa", 12.0, 40.0);
        let close = run("default/web-6d8f9-bbbbb", 13.0, 41.0);
        let r = report(&sim, &close);
        assert!(r.passed(), "{}", r.to_table());
        assert!(r.to_table().contains("2: ↑12.0 ↓40.0 s"), "{}", r.to_table());

        let late = run("default/web-6d8f9-bbbbb", 12.0, 45.0);
        let row_late =
            report(&sim, &late).rows.into_iter().find(|x| x.observable == "readiness_transitions").unwrap();
        assert!(!row_late.ok);
        assert_eq!(
            row_late.divergence,
            Divergence::Delta {
                value: 5.0,
                unit: "s",
                worst: Some(WorstPair {
                    label: "not-ready #1".into(),
                    sim: 40.0,
                    real: 45.0,
                    beyond: 1,
                    pairs: 2
                })
            }
        );

        // Same total, different directions.
        let pod = "default/web-6d8f9-ccccc";
        let twice_ready = Log::default()
            .pod(pod, "web-6d8f9")
            .rec(12.0, "PodReady", json!({"pod": pod}))
            .rec(40.0, "PodReady", json!({"pod": pod}));
        let r = report(&sim, &twice_ready);
        assert!(matches!(row(&r, "readiness_transitions").divergence, Divergence::Mismatch { .. }));
        assert!(!r.passed());
    }

    #[test]
    fn throttle_means_skip_time_zero_and_idle_samples() {
        // Samples of default/web-6d8f9-aaaaa/app: t=0 (skipped), t=10 usage 0 (skipped for the
        // throttle mean), t=20 ratio 0.5, t=30 ratio 0.3 → throttle mean 0.4 over 2 samples;
        // usage mean over t>0: (0 + 200 + 100) / 3 = 100 m.
        let obj = "default/web-6d8f9-aaaaa/app";
        let csv = format!(
            "time_s,metric,object,value\n\
             0,container_cpu_usage_millicores,{obj},500\n0,container_cpu_throttled_ratio,{obj},0.9\n\
             10,container_cpu_usage_millicores,{obj},0\n10,container_cpu_throttled_ratio,{obj},0.9\n\
             20,container_cpu_usage_millicores,{obj},200\n20,container_cpu_throttled_ratio,{obj},0.5\n\
             30,container_cpu_usage_millicores,{obj},100\n30,container_cpu_throttled_ratio,{obj},0.3\n"
        );
        let events = Log::default().pod("default/web-6d8f9-aaaaa", "web-6d8f9").0;
        let sim = Observations::from_outputs(&events, &csv).unwrap();
        let key = "default/web-6d8f9/app";
        assert_eq!(sim.throttled_ratio[key].samples, 2);
        assert!((sim.throttled_ratio[key].value - 0.4).abs() < 1e-12);
        assert_eq!(sim.cpu_usage_millicores[key], Mean { value: 100.0, samples: 3 });

        // Real: the same pod under another suffix, throttled 0.55 on average (Δ 0.15 > 0.10),
        // using 120 m (Δ 20 m ≤ max(25 m, 18 m)).
        let real_obj = "default/web-6d8f9-zzzzz/app";
        let real_csv = format!(
            "time_s,metric,object,value\n\
             10,container_cpu_usage_millicores,{real_obj},120\n10,container_cpu_throttled_ratio,{real_obj},0.55\n"
        );
        let real_events = Log::default().pod("default/web-6d8f9-zzzzz", "web-6d8f9").0;
        let real = Observations::from_outputs(&real_events, &real_csv).unwrap();
        let r = compare(&sim, &real, &Tolerances::default());
        let throttle = row(&r, "throttled_ratio");
        assert!(!throttle.ok, "{}", r.to_table());
        let cpu = row(&r, "cpu_usage_millicores");
        assert!(cpu.ok, "{}", r.to_table());
        assert_eq!(cpu.tolerance.allowed, 25.0);
        assert!(r.to_table().contains("max(25 m, 15 % of real) = 25 m"), "{}", r.to_table());

        // A looser throttle tolerance lets it pass: the fields are the caller's to set.
        let loose = Tolerances { throttled_ratio_abs: 0.2, ..Tolerances::default() };
        assert!(compare(&sim, &real, &loose).passed());
    }

    fn hpa_run(scalings: &[(f64, i32, i32)], final_desired: i32) -> Log {
        let mut log = Log::default();
        for (t, from, to) in scalings {
            log = log.rec(*t, "HpaScaled", json!({"hpa": "default/web", "target": "Deployment/web", "from": from, "to": to, "limited_by": "none"}));
        }
        let last = scalings.last().map_or(0.0, |s| s.0) + 15.0;
        log.rec(last, "HpaDecision", json!({"hpa": "default/web", "current_replicas": final_desired, "desired_replicas": final_desired, "limited_by": "none", "scaling_active": "ValidMetricFound", "metrics": []}))
    }

    #[test]
    fn hpa_sequences_must_agree_in_count_replicas_and_time() {
        let sim = hpa_run(&[(30.0, 2, 4), (60.0, 4, 8)], 8);
        let within = hpa_run(&[(45.0, 2, 4), (75.0, 4, 8)], 8);
        let r = report(&sim, &within);
        assert!(r.passed(), "{}", r.to_table());
        assert_eq!(row(&r, "hpa_final_replicas").sim, Some(Measured::Replicas(8)));

        let late = hpa_run(&[(30.0, 2, 4), (85.0, 4, 8)], 8);
        let hpa = report(&sim, &late).rows.into_iter().find(|x| x.observable == "hpa_decisions").unwrap();
        assert!(!hpa.ok);
        assert_eq!(hpa.divergence.display(), "25 s (#2: 60 vs 85; 1/2 pairs beyond)");

        let other_step = hpa_run(&[(30.0, 2, 4), (60.0, 4, 7)], 7);
        let r = report(&sim, &other_step);
        assert_eq!(row(&r, "hpa_decisions").divergence.display(), "#2: 4→8@60.0 vs 4→7@60.0");
        assert!(!row(&r, "hpa_final_replicas").ok);

        let fewer = hpa_run(&[(30.0, 2, 8)], 8);
        let r = report(&sim, &fewer);
        assert_eq!(row(&r, "hpa_decisions").divergence, Divergence::Count { sim: 2, real: 1 });
        assert!(row(&r, "hpa_final_replicas").ok);
    }

    fn rs_created(log: Log, t: f64, name: &str, revision: i64) -> Log {
        let fields =
            json!({"replicaset": name, "deployment": "default/web", "revision": revision, "replicas": 2});
        log.rec(t, "ReplicaSetCreated", fields)
    }

    fn rollout_done(log: Log, t: f64, revision: i64) -> Log {
        log.rec(t, "DeploymentRolloutComplete", json!({"deployment": "default/web", "revision": revision}))
    }

    fn rollout_run(update_s: f64, done_s: f64) -> Log {
        let log = rs_created(Log::default(), 0.0, "default/web-aaaaa", 1);
        let log = rollout_done(log, 8.0, 1);
        // A scale-only update between the rollouts must not be taken as the start.
        let log = log.rec(
            50.0,
            "DeploymentUpdated",
            json!({"deployment": "default/web", "replicas": 3, "generation": 2}),
        );
        let log = log.rec(
            update_s,
            "DeploymentUpdated",
            json!({"deployment": "default/web", "replicas": 3, "generation": 3}),
        );
        let log = rs_created(log, update_s, "default/web-bbbbb", 2);
        let log = rollout_done(log, done_s, 2);
        // The same revision completing again (after a scale) is not a new rollout.
        rollout_done(log, done_s + 30.0, 2)
    }

    #[test]
    fn rollout_time_counts_from_the_update_that_made_the_revision() {
        let sim = rollout_run(100.0, 140.0).obs();
        assert_eq!(sim.rollouts["default/web r2"], RolloutTime { seconds: 40.0, since_update: true });
        assert_eq!(sim.rollouts.len(), 1, "revision 1 is not compared");

        // 40 s vs 47 s: allowed max(5, 20 % × 47 = 9.4) = 9.4 s → ok; vs 55 s: Δ 15 > 11 → fails.
        let near = rollout_run(200.0, 247.0).obs();
        let r = compare(&sim, &near, &Tolerances::default());
        assert!(r.passed(), "{}", r.to_table());
        assert!((row(&r, "rollout_complete").tolerance.allowed - 9.4).abs() < 1e-9);
        let far = rollout_run(200.0, 255.0).obs();
        assert!(!compare(&sim, &far, &Tolerances::default()).passed());
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_line() {
        let good = Log::default().pod("default/web-6d8f9-aaaaa", "web-6d8f9").0;
        let cases = [
            (format!("{good}{{not json\n"), 2),
            (format!("{good}\n[1,2]\n"), 3),
            (format!("{good}{{\"kind\":\"PodReady\",\"pod\":\"x\"}}\n"), 2),
            (format!("{good}{{\"t\":-5,\"kind\":\"PodReady\",\"pod\":\"x\"}}\n"), 2),
            (
                format!(
                    "{good}{{\"t\":5,\"kind\":\"ContainerStarted\",\"pod\":\"x\",\"container\":\"app\"}}\n"
                ),
                2,
            ),
            (
                format!(
                    "{good}{{\"t\":5,\"kind\":\"HpaScaled\",\"hpa\":\"h\",\"from\":1,\"to\":99999999999}}\n"
                ),
                2,
            ),
        ];
        for (text, line) in cases {
            match Observations::from_outputs(&text, "") {
                Err(e @ ValidationError::Event { .. }) => {
                    assert!(e.to_string().starts_with(&format!("events.jsonl, line {line}:")), "{e}")
                }
                other => panic!("expected an event error for {text:?}, got {other:?}"),
            }
        }
        let bad_csv = "time_s,metric,object,value\n0,a,b,1\n1.5,a,b,lots\n";
        let e = Observations::from_outputs(&good, bad_csv).unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = Observations::from_outputs(&good, "when,what\n").unwrap_err();
        assert!(e.to_string().contains("metrics.csv"), "{e}");
    }

    #[test]
    fn json_report_has_sorted_keys_and_the_verdict() {
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0]);
        let real = oom_run("default/web-6d8f9-bbbbb", &[35.0]);
        let text = report(&sim, &real).to_json();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["passed"], json!(false));
        assert_eq!(v["failed"], json!(1));
        assert_eq!(v["rows"][0]["divergence"]["value"], json!(5.0));
        assert_eq!(v["rows"][0]["real"]["times_s"], json!([35.0]));
        assert!(text.find("\"failed\"").unwrap() < text.find("\"passed\"").unwrap());
        assert!(text.find("\"passed\"").unwrap() < text.find("\"rows\"").unwrap());
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let sim = oom_run("default/web-6d8f9-aaaaa", &[30.0]);
        let real = oom_run("default/web-6d8f9-bbbbb", &[30.5]).started(31.0, "default/web-6d8f9-bbbbb", 1);
        let table = report(&sim, &real).to_table();
        let lines: Vec<&str> = table.lines().collect();
        // "default/…" starts at the same column on every data line (only ASCII comes before it).
        let starts: Vec<_> = lines[2..5].iter().map(|l| l.find("default/")).collect();
        assert!(starts.iter().all(|s| s.is_some() && *s == starts[0]), "{table}");
        assert!(lines[0].starts_with("observable"), "{table}");
    }
}
