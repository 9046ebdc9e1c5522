//! Alibaba cluster-trace-v2018: machines, long-running containers with usage, batch tasks as Jobs.
//!
//! Headerless CSV files, columns in `schema.txt` order (the tables of `trace_2018.md` list some in
//! another order). Which files are read, and how:
//!
//! | file | read | memory held |
//! |---|---|---|
//! | `machine_meta.csv` | whole, first record per machine, then sorted by time | O(machines) |
//! | `container_usage.csv` | streamed once before the rest; keeps samples of kept containers in the window | O(kept samples) |
//! | `batch_instance.csv` | streamed once before the rest; per-task sums | O(kept tasks) |
//! | `container_meta.csv` | streamed, must be sorted by `time_stamp` | O(containers) ids |
//! | `batch_task.csv` | streamed, must be sorted by `start_time` | O(1) |
//!
//! The published files are not guaranteed sorted: sort a file by its time column first with
//! `sort -t, -k3,3n container_meta.csv` (GNU sort merges externally, in bounded memory);
//! the reader names the first line out of order.
//!
//! | source (unit) | kubesim |
//! |---|---|
//! | `machine_meta.cpu_num` (cores) | node `cpu`, × 1000 millicores |
//! | `machine_meta.mem_size` (0–100 of the largest machine) | node `memory` = mem_size / 100 × `max_memory_bytes`, rounded down |
//! | `machine_meta.failure_domain_1/2` | labels `kubesim.io/failure-domain-1/2` |
//! | `container_meta.cpu_request`, `cpu_limit` (100 = 1 core) | pod `cpu` request, limit: × 10 millicores |
//! | `container_meta.mem_size` (0–100) | pod `memory` request = limit, bytes, rounded up |
//! | `container_meta.app_du` | label `kubesim.io/app-du` |
//! | `container_usage.cpu_util_percent` (% of the request) | usage `cpu` = % × cpu request, rounded to nearest |
//! | `container_usage.mem_util_percent` (% of mem_size) | usage `memory` = % × memory request |
//! | `batch_task.instance_num` | Job `parallelism` = `completions` |
//! | `batch_task.plan_cpu` (100 = 1 core), `plan_mem` (0–100) | template requests, as for containers |
//! | `batch_task.start_time`, `end_time` (s) | submit time; pod run time = end − start unless `batch_instance` gives the mean instance run time |
//! | `batch_instance.cpu_avg`, `mem_avg` | constant usage of the Job's pods: mean over the task's instances |
//!
//! Time 0 means "before or after the 8-day span": machines and containers at 0 exist from the
//! start; batch tasks and usage samples at 0 are skipped as invalid (counted in
//! [`crate::ReadStats::skipped_invalid`]), as are percentages outside 0–100 (the trace uses −1 and 101).
//! Containers are long-running pods (`duration: None`); DAG edges in task names are kept only as
//! the annotation `kubesim.io/trace-id` (dependencies are not enforced).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kubesim_api::{Job, Labels, ObjectMeta, PodTemplateSpec};

use crate::csvfile::{CsvFile, RowParser, Rows};
use crate::error::{Ctx, TraceError};
use crate::objects::{self, PodParts, ANNOTATION_TRACE_ID, LABEL_TRACE};
use crate::options::{ReadOptions, Sampler};
use crate::stream::{Merge, OrderCheck, Raw, RawIter, RawKind, TraceStream, UsageSeries};
use crate::units::{object_name, Decimal, Round};

const TRACE: &str = "alibaba-2018";
const NS: u64 = 1_000_000_000;
const PPM: i128 = 1_000_000;

const MACHINE_META: &[&str] =
    &["machine_id", "time_stamp", "failure_domain_1", "failure_domain_2", "cpu_num", "mem_size", "status"];
const CONTAINER_META: &[&str] =
    &["container_id", "machine_id", "time_stamp", "app_du", "status", "cpu_request", "cpu_limit", "mem_size"];
const CONTAINER_USAGE: &[&str] = &[
    "container_id",
    "machine_id",
    "time_stamp",
    "cpu_util_percent",
    "mem_util_percent",
    "cpi",
    "mem_gps",
    "mpki",
    "net_in",
    "net_out",
    "disk_io_percent",
];
const BATCH_TASK: &[&str] = &[
    "task_name",
    "instance_num",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "plan_cpu",
    "plan_mem",
];
const BATCH_INSTANCE: &[&str] = &[
    "instance_name",
    "task_name",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "machine_id",
    "seq_no",
    "total_seq_no",
    "cpu_avg",
    "cpu_max",
    "mem_avg",
    "mem_max",
];

/// Label with a machine's first-level failure domain.
pub const FAILURE_DOMAIN_1_LABEL: &str = "kubesim.io/failure-domain-1";
/// Label with a machine's second-level failure domain.
pub const FAILURE_DOMAIN_2_LABEL: &str = "kubesim.io/failure-domain-2";
/// Label with a container's deploy unit (its service).
pub const APP_DU_LABEL: &str = "kubesim.io/app-du";
/// Label with a Job's trace job name.
pub const JOB_LABEL: &str = "kubesim.io/trace-job";

/// The files of a v2018 trace; absent ones are skipped.
#[derive(Debug, Clone, Default)]
pub struct Alibaba2018Files {
    /// `machine_meta.csv`.
    pub machine_meta: Option<PathBuf>,
    /// `container_meta.csv`.
    pub container_meta: Option<PathBuf>,
    /// `container_usage.csv`.
    pub container_usage: Option<PathBuf>,
    /// `batch_task.csv`.
    pub batch_task: Option<PathBuf>,
    /// `batch_instance.csv`.
    pub batch_instance: Option<PathBuf>,
}

impl Alibaba2018Files {
    /// The files of `dir` under their published names, those that exist.
    pub fn in_dir(dir: &Path) -> Self {
        let f = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Alibaba2018Files {
            machine_meta: f("machine_meta.csv"),
            container_meta: f("container_meta.csv"),
            container_usage: f("container_usage.csv"),
            batch_task: f("batch_task.csv"),
            batch_instance: f("batch_instance.csv"),
        }
    }
}

/// Reads a v2018 trace. `max_memory_bytes` is the memory that the normalised size 100 stands
/// for (the largest machine's; the trace does not disclose it).
pub fn read_alibaba_2018(
    files: &Alibaba2018Files,
    max_memory_bytes: i64,
    options: &ReadOptions,
) -> Result<TraceStream, TraceError> {
    options.validate()?;
    if max_memory_bytes <= 0 {
        return Err(TraceError::Option("max_memory_bytes must be positive".to_string()));
    }
    let ctx = Ctx::new(options.lenient);
    let mut sampler = Sampler::new(options);
    let window = (options.from.as_nanos(), options.to.map(|t| t.as_nanos()));
    let mut sources: Vec<RawIter> = Vec::new();
    if let Some(path) = &files.machine_meta {
        let nodes = load_machines(path, max_memory_bytes, options, &mut sampler, &ctx)?;
        sources.push(Box::new(nodes.into_iter().map(Ok)));
    }
    if let Some(path) = &files.container_meta {
        let usage = match &files.container_usage {
            Some(u) => load_container_usage(u, window, &mut sampler, &ctx)?,
            None => BTreeMap::new(),
        };
        let parser = ContainerParser {
            file: CsvFile::headerless(path, CONTAINER_META)?,
            order: OrderCheck::default(),
            seen: BTreeSet::new(),
            usage,
            sampler: sampler.clone(),
            ctx: ctx.clone(),
            max_memory_bytes,
            namespace: options.namespace.clone(),
        };
        sources.push(Box::new(Rows(parser)));
    }
    if let Some(path) = &files.batch_task {
        let instances = match &files.batch_instance {
            Some(p) => load_instances(p, &sampler, &ctx)?,
            None => BTreeMap::new(),
        };
        let parser = TaskParser {
            file: CsvFile::headerless(path, BATCH_TASK)?,
            order: OrderCheck::default(),
            instances,
            sampler,
            ctx: ctx.clone(),
            max_memory_bytes,
            namespace: options.namespace.clone(),
        };
        sources.push(Box::new(Rows(parser)));
    }
    Ok(TraceStream::new(Box::new(Merge::new(sources)), ctx, options))
}

/// Normalised 0–100 memory → bytes; `None` for the invalid markers (< 0 or > 100).
fn norm_memory(d: Decimal, max_memory_bytes: i64, round: Round) -> Option<i64> {
    if d.is_negative() || d.scale(1, 1, Round::Up).is_none_or(|v| v > 100) {
        return None;
    }
    d.scale(i128::from(max_memory_bytes), 100, round)
}

/// A percentage 0–100 in parts per million of the whole; `None` for invalid markers.
fn percent_ppm(d: Decimal) -> Option<i64> {
    let ppm = d.scale(10_000, 1, Round::Nearest)?;
    (0..=1_000_000).contains(&ppm).then_some(ppm)
}

fn of_ppm(ppm: i64, base: i64) -> i64 {
    let v = i128::from(ppm) * i128::from(base);
    ((2 * v + PPM) / (2 * PPM)) as i64
}

fn load_machines(
    path: &Path,
    max_memory_bytes: i64,
    options: &ReadOptions,
    sampler: &mut Sampler,
    ctx: &Ctx,
) -> Result<Vec<Raw>, TraceError> {
    let mut file = CsvFile::headerless(path, MACHINE_META)?;
    // machine → (time s, node)
    let mut first: BTreeMap<String, (u64, kubesim_api::Node)> = BTreeMap::new();
    loop {
        match file.advance() {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        }
        ctx.with(|s| s.records += 1);
        let row = file.row();
        let parsed = (|| -> Result<Option<(String, u64, kubesim_api::Node)>, TraceError> {
            let id = row.required(0)?;
            let t = row.u64(1)?;
            let cores = row.u64(4)?;
            let cpu_millis = cores
                .checked_mul(1000)
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| row.err(4, "too large"))?;
            let Some(memory) = norm_memory(row.decimal(5)?, max_memory_bytes, Round::Down) else {
                ctx.with(|s| s.skipped_invalid += 1);
                return Ok(None);
            };
            let mut labels = Labels::new();
            if let Some(v) = row.opt(2) {
                labels.insert(FAILURE_DOMAIN_1_LABEL.to_string(), v.to_string());
            }
            if let Some(v) = row.opt(3) {
                labels.insert(FAILURE_DOMAIN_2_LABEL.to_string(), v.to_string());
            }
            let capacity = objects::with_pods(objects::cpu_memory(cpu_millis, memory), options.pods_per_node);
            let mut node = objects::node(&object_name(id), capacity, labels, TRACE);
            node.meta.annotations.insert(ANNOTATION_TRACE_ID.to_string(), id.to_string());
            Ok(Some((id.to_string(), t, node)))
        })();
        match parsed {
            Ok(Some((id, t, node))) => {
                if first.get(&id).is_none_or(|(t0, _)| t < *t0) {
                    first.insert(id, (t, node));
                }
            }
            Ok(None) => {}
            Err(e) => ctx.tolerate(e)?,
        }
    }
    let mut out: Vec<Raw> = Vec::new();
    for (id, (t, node)) in first {
        if !sampler.keeps_machine(&id) {
            ctx.with(|s| s.machines_sampled_out += 1);
            continue;
        }
        out.push(Raw { t: t.saturating_mul(NS), kind: RawKind::AddNode(Box::new(node)) });
    }
    out.sort_by(|a, b| (a.t, node_name(a)).cmp(&(b.t, node_name(b))));
    Ok(out)
}

fn node_name(r: &Raw) -> &str {
    match &r.kind {
        RawKind::AddNode(n) => &n.meta.name,
        _ => "",
    }
}

/// container → samples `(t s, cpu ppm of request, memory ppm of request)`.
type ContainerUsage = BTreeMap<String, Vec<(u64, i64, i64)>>;

fn load_container_usage(
    path: &Path,
    (from, to): (u64, Option<u64>),
    sampler: &mut Sampler,
    ctx: &Ctx,
) -> Result<ContainerUsage, TraceError> {
    let mut file = CsvFile::headerless(path, CONTAINER_USAGE)?;
    let mut out: ContainerUsage = BTreeMap::new();
    loop {
        match file.advance() {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        }
        ctx.with(|s| s.records += 1);
        let row = file.row();
        let parsed = (|| -> Result<Option<(u64, i64, i64)>, TraceError> {
            let t = row.u64(2)?;
            let (Some(cpu), Some(mem)) = (percent_ppm(row.decimal(3)?), percent_ppm(row.decimal(4)?)) else {
                ctx.with(|s| s.skipped_invalid += 1);
                return Ok(None);
            };
            if t == 0 {
                ctx.with(|s| s.skipped_invalid += 1);
                return Ok(None);
            }
            Ok(Some((t, cpu, mem)))
        })();
        let (t, cpu, mem) = match parsed {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        };
        let t_ns = t.saturating_mul(NS);
        if to.is_some_and(|to| t_ns >= to) || !sampler.keeps_machine(row.str(1)) {
            continue;
        }
        let samples = out.entry(row.str(0).to_string()).or_default();
        if t_ns < from {
            // Before the window only the latest sample matters (it is in force at `from`).
            if let Some(pos) = samples.iter().position(|s| s.0.saturating_mul(NS) < from) {
                if samples[pos].0 <= t {
                    samples[pos] = (t, cpu, mem);
                }
                continue;
            }
        }
        samples.push((t, cpu, mem));
    }
    Ok(out)
}

struct ContainerParser {
    file: CsvFile,
    order: OrderCheck,
    seen: BTreeSet<String>,
    usage: ContainerUsage,
    sampler: Sampler,
    ctx: Ctx,
    max_memory_bytes: i64,
    namespace: String,
}

impl RowParser for ContainerParser {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let id = row.required(0)?;
        let t = row.u64(2)?.saturating_mul(NS);
        self.order
            .check(t, "time_stamp", "`sort -t, -k3,3n container_meta.csv`")
            .map_err(|m| row.err(2, m))?;
        if self.seen.contains(id) {
            return Ok(None); // a later status record of a container already submitted
        }
        let cpu_request = row.u64(5)?.saturating_mul(10);
        let cpu_limit = row.u64(6)?.saturating_mul(10);
        let cpu_request = i64::try_from(cpu_request).map_err(|_| row.err(5, "too large"))?;
        let cpu_limit = i64::try_from(cpu_limit).map_err(|_| row.err(6, "too large"))?;
        let Some(memory) = norm_memory(row.decimal(7)?, self.max_memory_bytes, Round::Up) else {
            self.ctx.with(|s| s.skipped_invalid += 1);
            return Ok(None);
        };
        self.seen.insert(id.to_string());
        if !self.sampler.keeps_machine(row.str(1)) {
            self.ctx.with(|s| s.workloads_sampled_out += 1);
            return Ok(None);
        }
        let mut parts = PodParts {
            name: object_name(id),
            trace_id: id.to_string(),
            requests: objects::cpu_memory(cpu_request, memory),
            limits: objects::cpu_memory(cpu_limit, memory),
            completes: false,
            ..Default::default()
        };
        if let Some(du) = row.opt(3) {
            parts.labels.insert(APP_DU_LABEL.to_string(), du.to_string());
        }
        let usage = self.usage.remove(id).map(|mut samples| {
            samples.sort_by_key(|s| s.0);
            UsageSeries {
                points: samples
                    .into_iter()
                    .map(|(ts, c, m)| {
                        (ts.saturating_mul(NS).saturating_sub(t), of_ppm(c, cpu_request), of_ppm(m, memory))
                    })
                    .collect(),
            }
        });
        let pod = objects::pod(&self.namespace, TRACE, parts);
        Ok(Some(Raw { t, kind: RawKind::Pod { pod: Box::new(pod), started: None, duration: None, usage } }))
    }
}

/// Per (job, task): instance count with a run time, their total run time (s), and the number
/// and sums of usage averages (cpu in 1/100 cores, memory in ppm of the largest machine).
#[derive(Debug, Default, Clone, Copy)]
struct InstanceAgg {
    runs: u64,
    run_secs: u64,
    usage_n: i64,
    cpu_sum: i64,
    mem_ppm_sum: i64,
}

fn load_instances(
    path: &Path,
    sampler: &Sampler,
    ctx: &Ctx,
) -> Result<BTreeMap<(String, String), InstanceAgg>, TraceError> {
    let mut file = CsvFile::headerless(path, BATCH_INSTANCE)?;
    let mut out: BTreeMap<(String, String), InstanceAgg> = BTreeMap::new();
    // Per-job sampling decisions are cached: one job has many instances.
    let mut keep: BTreeMap<String, bool> = BTreeMap::new();
    loop {
        match file.advance() {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        }
        ctx.with(|s| s.records += 1);
        let row = file.row();
        let job = row.str(2);
        let kept = match keep.get(job) {
            Some(k) => *k,
            None => {
                let k = sampler.keeps_workload(job);
                keep.insert(job.to_string(), k);
                k
            }
        };
        if !kept {
            continue;
        }
        let parsed = (|| -> Result<InstanceAgg, TraceError> {
            let mut agg = InstanceAgg::default();
            let (start, end) = (row.opt_u64(5)?, row.opt_u64(6)?);
            if let (Some(s), Some(e)) = (start, end) {
                if s > 0 && e >= s {
                    agg.runs = 1;
                    agg.run_secs = e - s;
                }
            }
            if let (Some(_), Some(_)) = (row.opt(10), row.opt(12)) {
                let cpu =
                    row.decimal(10)?.scale(1, 1, Round::Nearest).ok_or_else(|| row.err(10, "too large"))?;
                if let Some(mem) = percent_ppm(row.decimal(12)?) {
                    agg.usage_n = 1;
                    agg.cpu_sum = cpu;
                    agg.mem_ppm_sum = mem;
                }
            }
            Ok(agg)
        })();
        match parsed {
            Ok(a) => {
                let e = out.entry((job.to_string(), row.str(1).to_string())).or_default();
                e.runs += a.runs;
                e.run_secs += a.run_secs;
                e.usage_n += a.usage_n;
                e.cpu_sum += a.cpu_sum;
                e.mem_ppm_sum += a.mem_ppm_sum;
            }
            Err(e) => ctx.tolerate(e)?,
        }
    }
    Ok(out)
}

struct TaskParser {
    file: CsvFile,
    order: OrderCheck,
    instances: BTreeMap<(String, String), InstanceAgg>,
    sampler: Sampler,
    ctx: Ctx,
    max_memory_bytes: i64,
    namespace: String,
}

impl RowParser for TaskParser {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let task = row.required(0)?;
        let job_name = row.required(2)?;
        let start = row.u64(5)?;
        if start == 0 || row.opt(7).is_none() || row.opt(8).is_none() {
            self.ctx.with(|s| s.skipped_invalid += 1);
            return Ok(None);
        }
        let t = start.saturating_mul(NS);
        self.order.check(t, "start_time", "`sort -t, -k6,6n batch_task.csv`").map_err(|m| row.err(5, m))?;
        let end = row.opt_u64(6)?.filter(|&e| e > 0);
        if end.is_some_and(|e| e < start) {
            return Err(row.err(6, format!("end_time {}s is before start_time {start}s", end.unwrap_or(0))));
        }
        let instances = i32::try_from(row.u64(1)?.max(1)).map_err(|_| row.err(1, "too large"))?;
        let cpu_millis =
            i64::try_from(row.u64(7)?.saturating_mul(10)).map_err(|_| row.err(7, "too large"))?;
        let Some(memory) = norm_memory(row.decimal(8)?, self.max_memory_bytes, Round::Up) else {
            self.ctx.with(|s| s.skipped_invalid += 1);
            return Ok(None);
        };
        if !self.sampler.keeps_workload(job_name) {
            self.ctx.with(|s| s.workloads_sampled_out += 1);
            return Ok(None);
        }
        let agg = self.instances.remove(&(job_name.to_string(), task.to_string()));
        let pod_secs = match agg {
            Some(a) if a.runs > 0 => Some(a.run_secs / a.runs),
            _ => end.map(|e| e - start),
        };
        let usage = agg.filter(|a| a.usage_n > 0).map(|a| UsageSeries {
            points: vec![(
                0,
                a.cpu_sum * 10 / a.usage_n,
                of_ppm(a.mem_ppm_sum / a.usage_n, self.max_memory_bytes),
            )],
        });
        let name = object_name(&format!("{job_name}-{task}"));
        let parts = PodParts {
            name: name.clone(),
            trace_id: format!("{job_name}/{task}"),
            requests: objects::cpu_memory(cpu_millis, memory),
            limits: kubesim_api::ResourceList::new(),
            completes: true,
            ..Default::default()
        };
        let mut labels = Labels::new();
        labels.insert(LABEL_TRACE.to_string(), TRACE.to_string());
        labels.insert(JOB_LABEL.to_string(), job_name.to_string());
        let mut annotations = Labels::new();
        annotations.insert(ANNOTATION_TRACE_ID.to_string(), format!("{job_name}/{task}"));
        let job = Job {
            meta: ObjectMeta {
                uid: format!("{TRACE}/job/{}/{name}", self.namespace).into(),
                name: name.into(),
                namespace: self.namespace.as_str().into(),
                labels: labels.clone().into(),
                annotations: annotations.into(),
                ..Default::default()
            },
            parallelism: instances,
            completions: Some(instances),
            template: PodTemplateSpec {
                labels: labels.into(),
                annotations: Labels::new().into(),
                spec: objects::pod_spec(&parts),
            },
            ..Default::default()
        };
        let kind =
            RawKind::Job { job: Box::new(job), pod_duration: pod_secs.map(|s| s.saturating_mul(NS)), usage };
        Ok(Some(Raw { t, kind }))
    }
}
