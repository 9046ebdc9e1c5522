//! A generic CSV format for users' own traces: one pod per line, plus an optional node list.
//!
//! # Pods file (header required, columns in any order)
//!
//! ```text
//! name,arrival,duration,cpu,memory,priority,labels,usage
//! web-0,0,,500m,512Mi,1000,app=web,0s:200m:300Mi;5m:450m:310Mi
//! batch-1,90s,1h30m,2,4Gi,,,
//! ```
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `arrival` | yes | submit time since the trace start: seconds (`90`, `1.5`) or a duration (`90s`, `1h30m`) |
//! | `cpu` | yes | CPU request, Kubernetes quantity (`500m`, `2`) → millicores, rounded up |
//! | `memory` | yes | memory request, quantity (`512Mi`, `1G`, bare bytes) → bytes, rounded up |
//! | `name` | no | pod name (default `pod-<line>`) |
//! | `namespace` | no | namespace (default: the reader's `namespace` option) |
//! | `duration` | no | run time once started, same syntax as `arrival`; empty = runs forever |
//! | `priority` | no | pod priority (integer) |
//! | `cpu_limit`, `memory_limit` | no | limits (quantities); absent = no limit |
//! | `labels`, `node_selector` | no | `key=value` pairs separated by `;` |
//! | `resource:<name>` | no | integer request of any other resource, e.g. `resource:nvidia.com/gpu` |
//! | `usage` | no | usage since the container start: `offset:cpu:memory` points separated by `;`, each holding until the next (`0s:200m:300Mi;5m:450m:310Mi`) |
//!
//! Rows must be in `arrival` order. Unknown columns are ignored with one warning each.
//!
//! # Nodes file (optional; every node exists from time zero)
//!
//! ```text
//! name,cpu,memory,pods,labels,resource:nvidia.com/gpu
//! node-a,16,64Gi,110,topology.kubernetes.io/zone=a,0
//! ```
//!
//! `name`, `cpu`, `memory` are required; `pods` defaults to the `pods_per_node` option.

use std::path::Path;

use kubesim_api::{Labels, ResourceList, ResourceName};
use kubesim_workload::spec::parse_quantity;
use sim_core::SimDuration;

use crate::csvfile::{CsvFile, Row, RowParser, Rows};
use crate::error::{Ctx, TraceError};
use crate::objects::{self, PodParts};
use crate::options::{ReadOptions, Sampler};
use crate::stream::{Merge, OrderCheck, Raw, RawIter, RawKind, TraceStream, UsageSeries};
use crate::units::parse_duration;

const TRACE: &str = "generic";
const RESOURCE_PREFIX: &str = "resource:";
const POD_COLUMNS: &[&str] = &[
    "name",
    "namespace",
    "arrival",
    "duration",
    "cpu",
    "memory",
    "priority",
    "cpu_limit",
    "memory_limit",
    "labels",
    "node_selector",
    "usage",
];
const NODE_COLUMNS: &[&str] = &["name", "cpu", "memory", "pods", "labels"];

/// Reads a generic trace: optional `nodes` file, then the `pods` file.
pub fn read_generic(
    nodes: Option<&Path>,
    pods: &Path,
    options: &ReadOptions,
) -> Result<TraceStream, TraceError> {
    options.validate()?;
    let ctx = Ctx::new(options.lenient);
    let sampler = Sampler::new(options);
    let mut sources: Vec<RawIter> = Vec::new();
    if let Some(path) = nodes {
        let file = CsvFile::with_header(path)?;
        warn_unknown(&file, NODE_COLUMNS, &ctx);
        let parser = NodeParser {
            cols: [file.require("name")?, file.require("cpu")?, file.require("memory")?],
            pods: file.column("pods"),
            labels: file.column("labels"),
            resources: resource_columns(&file),
            file,
            sampler: sampler.clone(),
            ctx: ctx.clone(),
            pods_per_node: options.pods_per_node,
        };
        sources.push(Box::new(Rows(parser)));
    }
    let file = CsvFile::with_header(pods)?;
    warn_unknown(&file, POD_COLUMNS, &ctx);
    let col = |n: &str| file.column(n);
    let parser = PodParser {
        arrival: file.require("arrival")?,
        cpu: file.require("cpu")?,
        memory: file.require("memory")?,
        name: col("name"),
        namespace: col("namespace"),
        duration: col("duration"),
        priority: col("priority"),
        cpu_limit: col("cpu_limit"),
        memory_limit: col("memory_limit"),
        labels: col("labels"),
        node_selector: col("node_selector"),
        usage: col("usage"),
        resources: resource_columns(&file),
        file,
        order: OrderCheck::default(),
        sampler,
        ctx: ctx.clone(),
        default_namespace: options.namespace.clone(),
    };
    sources.push(Box::new(Rows(parser)));
    Ok(TraceStream::new(Box::new(Merge::new(sources)), ctx, options))
}

fn warn_unknown(file: &CsvFile, known: &[&str], ctx: &Ctx) {
    for name in file.names() {
        if !known.contains(&name.as_str()) && !name.starts_with(RESOURCE_PREFIX) {
            let msg = format!("{}:1: unknown column `{name}` ignored", file.path().display());
            ctx.with(|s| s.warn(msg));
        }
    }
}

fn resource_columns(file: &CsvFile) -> Vec<(usize, ResourceName)> {
    file.names()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.strip_prefix(RESOURCE_PREFIX).map(|r| (i, ResourceName::parse(r.trim()))))
        .collect()
}

fn cpu(row: &Row<'_>, col: usize) -> Result<i64, TraceError> {
    parse_quantity(row.required(col)?, 1000).map_err(|e| row.err(col, e.to_string()))
}

fn bytes(row: &Row<'_>, col: usize) -> Result<i64, TraceError> {
    parse_quantity(row.required(col)?, 1).map_err(|e| row.err(col, e.to_string()))
}

fn pairs(row: &Row<'_>, col: Option<usize>) -> Result<Labels, TraceError> {
    let mut out = Labels::new();
    let Some(col) = col else { return Ok(out) };
    for part in row.str(col).split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| row.err(col, format!("expected key=value, found {part:?}")))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

fn extra_resources(
    row: &Row<'_>,
    cols: &[(usize, ResourceName)],
    into: &mut ResourceList,
) -> Result<(), TraceError> {
    for (col, name) in cols {
        if let Some(v) = row.opt(*col) {
            let n = parse_quantity(v, 1).map_err(|e| row.err(*col, e.to_string()))?;
            into.set(name.clone(), n);
        }
    }
    Ok(())
}

struct NodeParser {
    file: CsvFile,
    cols: [usize; 3],
    pods: Option<usize>,
    labels: Option<usize>,
    resources: Vec<(usize, ResourceName)>,
    sampler: Sampler,
    ctx: Ctx,
    pods_per_node: i64,
}

impl RowParser for NodeParser {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let [name_col, cpu_col, mem_col] = self.cols;
        let name = row.required(name_col)?;
        let pods = match self.pods.and_then(|c| row.opt(c).map(|_| c)) {
            Some(c) => row.i64(c)?,
            None => self.pods_per_node,
        };
        let mut capacity =
            objects::with_pods(objects::cpu_memory(cpu(&row, cpu_col)?, bytes(&row, mem_col)?), pods);
        extra_resources(&row, &self.resources, &mut capacity)?;
        let labels = pairs(&row, self.labels)?;
        if !self.sampler.keeps_machine(name) {
            self.ctx.with(|s| s.machines_sampled_out += 1);
            return Ok(None);
        }
        Ok(Some(Raw { t: 0, kind: RawKind::AddNode(Box::new(objects::node(name, capacity, labels, TRACE))) }))
    }
}

struct PodParser {
    file: CsvFile,
    arrival: usize,
    cpu: usize,
    memory: usize,
    name: Option<usize>,
    namespace: Option<usize>,
    duration: Option<usize>,
    priority: Option<usize>,
    cpu_limit: Option<usize>,
    memory_limit: Option<usize>,
    labels: Option<usize>,
    node_selector: Option<usize>,
    usage: Option<usize>,
    resources: Vec<(usize, ResourceName)>,
    order: OrderCheck,
    sampler: Sampler,
    ctx: Ctx,
    default_namespace: String,
}

fn duration(row: &Row<'_>, col: usize) -> Result<SimDuration, TraceError> {
    parse_duration(row.required(col)?).map_err(|m| row.err(col, m))
}

fn usage(row: &Row<'_>, col: usize) -> Result<Option<UsageSeries>, TraceError> {
    let text = row.str(col);
    let mut series = UsageSeries::default();
    let mut last: Option<u64> = None;
    for point in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let bad =
            |why: String| row.err(col, format!("usage point {point:?}: {why} (expected offset:cpu:memory)"));
        let mut it = point.split(':');
        let (Some(o), Some(c), Some(m), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad("needs three parts".to_string()));
        };
        let offset = parse_duration(o).map_err(&bad)?.as_nanos();
        if last.is_some_and(|l| offset <= l) {
            return Err(bad("offsets must increase".to_string()));
        }
        last = Some(offset);
        let cpu = parse_quantity(c, 1000).map_err(|e| bad(e.to_string()))?;
        let mem = parse_quantity(m, 1).map_err(|e| bad(e.to_string()))?;
        series.points.push((offset, cpu, mem));
    }
    Ok((!series.points.is_empty()).then_some(series))
}

impl RowParser for PodParser {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let arrival = duration(&row, self.arrival)?.as_nanos();
        self.order
            .check(arrival, "arrival", "sort the rows by arrival")
            .map_err(|m| row.err(self.arrival, m))?;
        let name = match self.name.and_then(|c| row.opt(c)) {
            Some(n) => n.to_string(),
            None => format!("pod-{}", row.line()),
        };
        let namespace =
            self.namespace.and_then(|c| row.opt(c)).unwrap_or(&self.default_namespace).to_string();
        let run = match self.duration.and_then(|c| row.opt(c).map(|_| c)) {
            Some(c) => Some(duration(&row, c)?.as_nanos()),
            None => None,
        };
        let mut requests = objects::cpu_memory(cpu(&row, self.cpu)?, bytes(&row, self.memory)?);
        extra_resources(&row, &self.resources, &mut requests)?;
        let mut limits = ResourceList::new();
        if let Some(c) = self.cpu_limit.and_then(|c| row.opt(c).map(|_| c)) {
            limits = limits.with_cpu_millis(cpu(&row, c)?);
        }
        if let Some(c) = self.memory_limit.and_then(|c| row.opt(c).map(|_| c)) {
            limits = limits.with_memory_bytes(bytes(&row, c)?);
        }
        let priority = match self.priority.and_then(|c| row.opt(c).map(|_| c)) {
            Some(c) => Some(i32::try_from(row.i64(c)?).map_err(|_| row.err(c, "priority out of range"))?),
            None => None,
        };
        let labels = pairs(&row, self.labels)?;
        let node_selector = pairs(&row, self.node_selector)?;
        let usage = match self.usage {
            Some(c) => usage(&row, c)?,
            None => None,
        };
        if !self.sampler.keeps_workload(&name) {
            self.ctx.with(|s| s.workloads_sampled_out += 1);
            return Ok(None);
        }
        let parts = PodParts {
            trace_id: name.clone(),
            name,
            requests,
            limits,
            labels,
            priority,
            completes: run.is_some(),
            ..Default::default()
        };
        let mut pod = objects::pod(&namespace, TRACE, parts);
        pod.spec.extras.node_selector = node_selector;
        Ok(Some(Raw {
            t: arrival,
            kind: RawKind::Pod { pod: Box::new(pod), started: None, duration: run, usage },
        }))
    }
}
