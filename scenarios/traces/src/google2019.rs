//! Google cluster-data 2019 (v3): newline-delimited JSON as BigQuery exports it.
//!
//! One object per line; BigQuery writes INT64 columns as strings (`"time":"3600000000"`), so
//! integers are accepted as numbers or strings; unknown keys are ignored. Export each table with
//! `ORDER BY time` (`start_time` for `instance_usage` need not be ordered): the streamed files
//! must be time-ordered and the reader names the first line that is not.
//!
//! | file | read | memory held |
//! |---|---|---|
//! | `collection_events` | first pass: name and user of kept collections | O(kept collections) |
//! | `instance_events` | first pass: each kept instance's first SUBMIT, first SCHEDULE, first end; second pass (streamed, time-ordered): one pod per instance | O(kept instances) |
//! | `instance_usage` | one pass: samples of kept instances before `to` | O(kept samples) |
//! | `machine_events` | streamed, time-ordered | O(1) |
//!
//! | source (unit) | kubesim |
//! |---|---|
//! | `time` (µs since trace start; 0 = before it, 2⁶³−1 = after it) | ns; 0 stays 0; 2⁶³−1 = never |
//! | `machine_events` ADD(1) / REMOVE(2) / UPDATE(3) | `AddNode` / `RemoveNode` / `UpdateNode`, node `m-<machine_id>` |
//! | `capacity.cpus` (NCU, ≤ 1) | node `cpu` = cpus × shape `cpu_millis`, rounded down |
//! | `capacity.memory` (normalised, ≤ 1) | node `memory` = memory × shape `memory_bytes`, rounded down |
//! | `platform_id`, `switch_id` | labels `google.com/platform-id`, `google.com/switch-id` |
//! | instance (`collection_id`, `instance_index`) | pod `c<collection_id>-<instance_index>`, label `google.com/collection-id` |
//! | `resource_request.cpus`, `.memory` | `cpu`, `memory` requests, × shape, rounded up; no limits |
//! | `priority` | pod priority, as is |
//! | first SUBMIT(0) | arrival |
//! | first SCHEDULE(3) → first EVICT/FAIL/FINISH/KILL/LOST(4–8) | `duration` (from the SUBMIT when never scheduled); no end: runs forever |
//! | `instance_usage.average_usage.cpus`, `.memory` at `start_time` | usage samples (× shape, rounded to nearest) since the first SCHEDULE |
//! | `collection_events.collection_logical_name`, `user` | annotations `google.com/collection-name`, `google.com/user` |
//!
//! Only an instance's first life is replayed (a resubmission after an eviction is not a new
//! pod); constraints and `machine_attributes` are not read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use kubesim_api::{Labels, ResourceList};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::{Ctx, TraceError};
use crate::objects::{self, PodParts};
use crate::options::{MachineShape, ReadOptions, Sampler};
use crate::stream::{Merge, OrderCheck, Raw, RawIter, RawKind, TraceStream, UsageSeries};
use crate::units::{Decimal, Round};

const TRACE: &str = "google-2019";
const NEVER_US: i64 = i64::MAX;

/// Label with the instance's collection id.
pub const COLLECTION_LABEL: &str = "google.com/collection-id";

/// The files of a 2019 cell export; absent ones are skipped.
#[derive(Debug, Clone, Default)]
pub struct Google2019Files {
    /// `machine_events` JSON lines.
    pub machine_events: Option<PathBuf>,
    /// `collection_events` JSON lines.
    pub collection_events: Option<PathBuf>,
    /// `instance_events` JSON lines.
    pub instance_events: Option<PathBuf>,
    /// `instance_usage` JSON lines.
    pub instance_usage: Option<PathBuf>,
}

impl Google2019Files {
    /// `<table>.json` in `dir`, those that exist.
    pub fn in_dir(dir: &Path) -> Self {
        let f = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Google2019Files {
            machine_events: f("machine_events.json"),
            collection_events: f("collection_events.json"),
            instance_events: f("instance_events.json"),
            instance_usage: f("instance_usage.json"),
        }
    }
}

fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrText {
        Int(i64),
        Text(String),
    }
    match IntOrText::deserialize(d)? {
        IntOrText::Int(v) => Ok(v),
        IntOrText::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "int")] i64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Resources {
    cpus: Option<f64>,
    memory: Option<f64>,
}

#[derive(Deserialize)]
struct MachineEvent {
    #[serde(deserialize_with = "int")]
    time: i64,
    #[serde(deserialize_with = "int")]
    machine_id: i64,
    #[serde(rename = "type", deserialize_with = "int")]
    kind: i64,
    capacity: Option<Resources>,
    #[serde(default, deserialize_with = "opt_int")]
    platform_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    switch_id: Option<i64>,
}

#[derive(Deserialize)]
struct InstanceEvent {
    #[serde(deserialize_with = "int")]
    time: i64,
    #[serde(rename = "type", deserialize_with = "int")]
    kind: i64,
    #[serde(deserialize_with = "int")]
    collection_id: i64,
    #[serde(default, deserialize_with = "opt_int")]
    instance_index: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    priority: Option<i64>,
    resource_request: Option<Resources>,
}

#[derive(Deserialize)]
struct CollectionEvent {
    #[serde(deserialize_with = "int")]
    collection_id: i64,
    user: Option<String>,
    collection_logical_name: Option<String>,
}

#[derive(Deserialize)]
struct UsageRecord {
    #[serde(deserialize_with = "int")]
    start_time: i64,
    #[serde(deserialize_with = "int")]
    collection_id: i64,
    #[serde(default, deserialize_with = "opt_int")]
    instance_index: Option<i64>,
    average_usage: Option<Resources>,
}

/// A JSON-lines file read one line at a time.
struct JsonLines {
    path: PathBuf,
    reader: BufReader<File>,
    line: u64,
    buf: String,
}

impl JsonLines {
    fn open(path: &Path) -> Result<Self, TraceError> {
        let file = File::open(path).map_err(|e| TraceError::io(path, e))?;
        Ok(JsonLines {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(64 * 1024, file),
            line: 0,
            buf: String::new(),
        })
    }

    /// The next non-blank line as `T`, with its line number.
    fn next<T: DeserializeOwned>(&mut self) -> Option<Result<(u64, T), TraceError>> {
        loop {
            self.buf.clear();
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(TraceError::io(&self.path, e))),
            }
            self.line += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            return Some(serde_json::from_str::<T>(&self.buf).map(|v| (self.line, v)).map_err(|e| {
                TraceError::Field {
                    file: self.path.clone(),
                    line: self.line,
                    column: e.column() as u64,
                    field: "json".to_string(),
                    message: e.to_string(),
                }
            }));
        }
    }

    /// An error about `key` on line `line`, pointing at the key's column when it is on the line.
    fn err(&self, line: u64, key: &str, message: impl Into<String>) -> TraceError {
        let column = if line == self.line {
            self.buf.find(&format!("\"{key}\"")).map_or(1, |c| c as u64 + 1)
        } else {
            1
        };
        TraceError::Field {
            file: self.path.clone(),
            line,
            column,
            field: key.to_string(),
            message: message.into(),
        }
    }
}

/// µs → ns; `None` for "after the trace" and negatives.
fn time_ns(us: i64) -> Option<u64> {
    if us < 0 || us == NEVER_US {
        return None;
    }
    (us as u64).checked_mul(1000)
}

fn scaled(v: Option<f64>, base: i64, round: Round) -> Result<Option<i64>, String> {
    match v {
        None => Ok(None),
        Some(x) if x < 0.0 => Err(format!("negative value {x}")),
        Some(x) => Decimal::from_f64(x)?
            .scale(i128::from(base), 1, round)
            .map(Some)
            .ok_or_else(|| "too large".to_string()),
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Life {
    submit: Option<u64>,
    schedule: Option<u64>,
    end: Option<u64>,
}

type InstanceKey = (i64, i64);

/// Reads a 2019 cell export; normalised values are scaled by `shape`.
pub fn read_google_2019(
    files: &Google2019Files,
    shape: MachineShape,
    options: &ReadOptions,
) -> Result<TraceStream, TraceError> {
    options.validate()?;
    if shape.cpu_millis <= 0 || shape.memory_bytes <= 0 {
        return Err(TraceError::Option("the machine shape must have positive cpu and memory".to_string()));
    }
    let ctx = Ctx::new(options.lenient);
    let sampler = Sampler::new(options);
    let to = options.to.map(|t| t.as_nanos());
    let mut sources: Vec<RawIter> = Vec::new();
    if let Some(path) = &files.machine_events {
        let src = MachineSource {
            file: JsonLines::open(path)?,
            order: OrderCheck::default(),
            sampler: sampler.clone(),
            ctx: ctx.clone(),
            shape,
            pods_per_node: options.pods_per_node,
        };
        sources.push(Box::new(src));
    }
    if let Some(path) = &files.instance_events {
        let mut collections: BTreeMap<i64, (Option<String>, Option<String>)> = BTreeMap::new();
        if let Some(cpath) = &files.collection_events {
            let mut f = JsonLines::open(cpath)?;
            while let Some(r) = f.next::<CollectionEvent>() {
                ctx.with(|s| s.records += 1);
                match r {
                    Ok((_, c)) if sampler.keeps_workload(&c.collection_id.to_string()) => {
                        let e = collections.entry(c.collection_id).or_default();
                        e.0 = e.0.take().or(c.collection_logical_name);
                        e.1 = e.1.take().or(c.user);
                    }
                    Ok(_) => {}
                    Err(e) => ctx.tolerate(e)?,
                }
            }
        }
        let lives = load_lives(path, &sampler, &ctx)?;
        let usage = match &files.instance_usage {
            Some(u) => load_usage(u, &lives, shape, to, &ctx)?,
            None => BTreeMap::new(),
        };
        let src = InstanceSource {
            file: JsonLines::open(path)?,
            order: OrderCheck::default(),
            lives,
            usage,
            collections,
            sampler,
            ctx: ctx.clone(),
            shape,
            namespace: options.namespace.clone(),
        };
        sources.push(Box::new(src));
    }
    Ok(TraceStream::new(Box::new(Merge::new(sources)), ctx, options))
}

fn load_lives(path: &Path, sampler: &Sampler, ctx: &Ctx) -> Result<BTreeMap<InstanceKey, Life>, TraceError> {
    let mut f = JsonLines::open(path)?;
    let mut lives: BTreeMap<InstanceKey, Life> = BTreeMap::new();
    let mut keep: BTreeMap<i64, bool> = BTreeMap::new();
    while let Some(r) = f.next::<InstanceEvent>() {
        ctx.with(|s| s.records += 1);
        let ev = match r {
            Ok((_, ev)) => ev,
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        };
        let kept = *keep
            .entry(ev.collection_id)
            .or_insert_with(|| sampler.keeps_workload(&ev.collection_id.to_string()));
        let Some(t) = time_ns(ev.time) else { continue };
        if !kept {
            continue;
        }
        let key = (ev.collection_id, ev.instance_index.unwrap_or(0));
        match ev.kind {
            0 => {
                let life = lives.entry(key).or_default();
                life.submit = life.submit.or(Some(t));
            }
            3 => {
                if let Some(life) = lives.get_mut(&key) {
                    life.schedule = life.schedule.or(Some(t));
                }
            }
            4..=8 => {
                if let Some(life) = lives.get_mut(&key) {
                    life.end = life.end.or(Some(t));
                }
            }
            _ => {}
        }
    }
    Ok(lives)
}

fn load_usage(
    path: &Path,
    lives: &BTreeMap<InstanceKey, Life>,
    shape: MachineShape,
    to: Option<u64>,
    ctx: &Ctx,
) -> Result<BTreeMap<InstanceKey, UsageSeries>, TraceError> {
    let mut f = JsonLines::open(path)?;
    let mut out: BTreeMap<InstanceKey, UsageSeries> = BTreeMap::new();
    while let Some(r) = f.next::<UsageRecord>() {
        ctx.with(|s| s.records += 1);
        let (line, u) = match r {
            Ok(v) => v,
            Err(e) => {
                ctx.tolerate(e)?;
                continue;
            }
        };
        let key = (u.collection_id, u.instance_index.unwrap_or(0));
        let Some(life) = lives.get(&key) else { continue };
        let Some(t) = time_ns(u.start_time) else {
            ctx.with(|s| s.skipped_invalid += 1);
            continue;
        };
        if to.is_some_and(|to| t >= to) {
            continue;
        }
        let avg = u.average_usage.unwrap_or_default();
        let cpu =
            scaled(avg.cpus, shape.cpu_millis, Round::Nearest).map_err(|m| f.err(line, "average_usage", m));
        let mem = scaled(avg.memory, shape.memory_bytes, Round::Nearest)
            .map_err(|m| f.err(line, "average_usage", m));
        let (cpu, mem) = match (cpu, mem) {
            (Ok(c), Ok(m)) => (c.unwrap_or(0), m.unwrap_or(0)),
            (Err(e), _) | (_, Err(e)) => {
                ctx.tolerate(e)?;
                continue;
            }
        };
        let start = life.schedule.or(life.submit).unwrap_or(0);
        out.entry(key).or_default().points.push((t.saturating_sub(start), cpu, mem));
    }
    Ok(out)
}

struct MachineSource {
    file: JsonLines,
    order: OrderCheck,
    sampler: Sampler,
    ctx: Ctx,
    shape: MachineShape,
    pods_per_node: i64,
}

impl MachineSource {
    fn convert(&mut self, line: u64, ev: MachineEvent) -> Result<Option<Raw>, TraceError> {
        let Some(t) = time_ns(ev.time) else {
            self.ctx.with(|s| s.skipped_invalid += 1);
            return Ok(None);
        };
        self.order
            .check(t, "time", "export with ORDER BY time")
            .map_err(|m| self.file.err(line, "time", m))?;
        let name = format!("m-{}", ev.machine_id);
        if !self.sampler.keeps_machine(&ev.machine_id.to_string()) {
            if ev.kind == 1 {
                self.ctx.with(|s| s.machines_sampled_out += 1);
            }
            return Ok(None);
        }
        let kind = match ev.kind {
            2 => RawKind::RemoveNode(name),
            1 | 3 => {
                let cap = ev.capacity.unwrap_or_default();
                let cpu = scaled(cap.cpus, self.shape.cpu_millis, Round::Down)
                    .map_err(|m| self.file.err(line, "capacity", m))?;
                let mem = scaled(cap.memory, self.shape.memory_bytes, Round::Down)
                    .map_err(|m| self.file.err(line, "capacity", m))?;
                let (Some(cpu), Some(mem)) = (cpu, mem) else {
                    self.ctx.with(|s| s.skipped_invalid += 1);
                    return Ok(None);
                };
                let mut labels = Labels::new();
                if let Some(p) = ev.platform_id {
                    labels.insert("google.com/platform-id".to_string(), p.to_string());
                }
                if let Some(s) = ev.switch_id {
                    labels.insert("google.com/switch-id".to_string(), s.to_string());
                }
                let node = objects::node(
                    &name,
                    objects::with_pods(objects::cpu_memory(cpu, mem), self.pods_per_node),
                    labels,
                    TRACE,
                );
                if ev.kind == 1 {
                    RawKind::AddNode(Box::new(node))
                } else {
                    RawKind::UpdateNode(Box::new(node))
                }
            }
            other => {
                return Err(self.file.err(
                    line,
                    "type",
                    format!("unknown machine event type {other} (expected 1, 2 or 3)"),
                ))
            }
        };
        Ok(Some(Raw { t, kind }))
    }
}

impl Iterator for MachineSource {
    type Item = Result<Raw, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, ev) = match self.file.next::<MachineEvent>()? {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            };
            self.ctx.with(|s| s.records += 1);
            match self.convert(line, ev) {
                Ok(None) => continue,
                other => return other.transpose(),
            }
        }
    }
}

struct InstanceSource {
    file: JsonLines,
    order: OrderCheck,
    lives: BTreeMap<InstanceKey, Life>,
    usage: BTreeMap<InstanceKey, UsageSeries>,
    collections: BTreeMap<i64, (Option<String>, Option<String>)>,
    sampler: Sampler,
    ctx: Ctx,
    shape: MachineShape,
    namespace: String,
}

impl InstanceSource {
    fn convert(&mut self, line: u64, ev: InstanceEvent) -> Result<Option<Raw>, TraceError> {
        let Some(t) = time_ns(ev.time) else { return Ok(None) };
        self.order
            .check(t, "time", "export with ORDER BY time")
            .map_err(|m| self.file.err(line, "time", m))?;
        if ev.kind != 0 {
            return Ok(None);
        }
        let key = (ev.collection_id, ev.instance_index.unwrap_or(0));
        let Some(life) = self.lives.remove(&key) else {
            if !self.sampler.keeps_workload(&ev.collection_id.to_string()) {
                self.ctx.with(|s| s.workloads_sampled_out += 1);
            }
            return Ok(None); // sampled out, or a resubmission
        };
        let req = ev.resource_request.unwrap_or_default();
        let cpu = scaled(req.cpus, self.shape.cpu_millis, Round::Up)
            .map_err(|m| self.file.err(line, "resource_request", m))?;
        let mem = scaled(req.memory, self.shape.memory_bytes, Round::Up)
            .map_err(|m| self.file.err(line, "resource_request", m))?;
        let mut requests = ResourceList::new();
        if let Some(c) = cpu {
            requests = requests.with_cpu_millis(c);
        }
        if let Some(m) = mem {
            requests = requests.with_memory_bytes(m);
        }
        let start = life.schedule.unwrap_or(t);
        let duration = life.end.map(|e| e.saturating_sub(start));
        let priority = ev
            .priority
            .map(|p| i32::try_from(p).map_err(|_| self.file.err(line, "priority", "out of range")))
            .transpose()?;
        let mut parts = PodParts {
            name: format!("c{}-{}", key.0, key.1),
            trace_id: format!("{}/{}", key.0, key.1),
            requests,
            priority,
            completes: duration.is_some(),
            ..Default::default()
        };
        parts.labels.insert(COLLECTION_LABEL.to_string(), key.0.to_string());
        if let Some((name, user)) = self.collections.get(&key.0) {
            if let Some(n) = name {
                parts.annotations.insert("google.com/collection-name".to_string(), n.clone());
            }
            if let Some(u) = user {
                parts.annotations.insert("google.com/user".to_string(), u.clone());
            }
        }
        let pod = objects::pod(&self.namespace, TRACE, parts);
        let usage = self.usage.remove(&key);
        Ok(Some(Raw { t, kind: RawKind::Pod { pod: Box::new(pod), started: Some(start), duration, usage } }))
    }
}

impl Iterator for InstanceSource {
    type Item = Result<Raw, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, ev) = match self.file.next::<InstanceEvent>()? {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            };
            self.ctx.with(|s| s.records += 1);
            match self.convert(line, ev) {
                Ok(None) => continue,
                other => return other.transpose(),
            }
        }
    }
}
