//! Alibaba cluster-trace-gpu-v2023 "openb": a node list and a pod list, both CSV with a header.
//!
//! | source | kubesim |
//! |---|---|
//! | node `sn` | node name, label `kubernetes.io/hostname` |
//! | node `cpu_milli` (millicores) | `cpu` capacity, millicores, as is |
//! | node `memory_mib` (MiB) | `memory` capacity, bytes (× 2²⁰) |
//! | node `gpu` (devices) | `nvidia.com/gpu` = `gpu`; `alibabacloud.com/gpu-milli` = `gpu` × 1000 |
//! | node `model` | label `alibabacloud.com/gpu-card-model` (GPU nodes only) |
//! | pod `name` | pod name |
//! | pod `cpu_milli`, `memory_mib` | `cpu` (millicores) and `memory` (bytes) requests = limits |
//! | pod `num_gpu`, `gpu_milli` (per GPU, 0–1000) | `alibabacloud.com/gpu-milli` = `num_gpu` × min(`gpu_milli`, 1000); plus `nvidia.com/gpu` = `num_gpu` when `gpu_milli` ≥ 1000 (whole devices) |
//! | pod `gpu_spec` (`V100M16\|V100M32`) | one model: `nodeSelector` on the model label; several: required node affinity `In` |
//! | pod `qos`, `pod_phase` | label `kubesim.io/trace-qos`, annotation `kubesim.io/trace-phase` |
//! | pod `creation_time` (s) | arrival; absent column (the `multigpu*` variants): all at zero |
//! | pod `deletion_time`, `scheduled_time` (s) | `duration` = deletion − scheduled (or − creation if never scheduled); empty: runs forever |
//!
//! Names follow the published converter (`pod_csv_to_yaml.py`, node YAML of the
//! kubernetes-scheduler-simulator): `alibabacloud.com/gpu-milli` and `alibabacloud.com/gpu-card-model`.
//! Fractional GPUs are accounted per node in aggregate: the scheduler sees milli-GPUs, not which
//! device they sit on (a fidelity note: FGD's per-device fragmentation is not modelled here).

use std::path::Path;

use kubesim_api::{
    Labels, NodeAffinity, NodeSelector, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm,
    ResourceName,
};

use crate::csvfile::{CsvFile, RowParser, Rows};
use crate::error::{Ctx, TraceError};
use crate::objects::{self, PodParts};
use crate::options::{ReadOptions, Sampler};
use crate::stream::{Merge, OrderCheck, Raw, RawIter, RawKind, TraceStream};
use crate::units::MIB;

/// The whole-GPU extended resource.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// The milli-GPU extended resource (1000 = one device).
pub const GPU_MILLI_RESOURCE: &str = "alibabacloud.com/gpu-milli";
/// Node label naming the GPU model.
pub const GPU_MODEL_LABEL: &str = "alibabacloud.com/gpu-card-model";
/// Pod label carrying the trace's QoS class (`LS`, `BE`, `Burstable`, `Guaranteed`).
pub const QOS_LABEL: &str = "kubesim.io/trace-qos";
/// Pod annotation carrying the phase the pod ended in, in the trace.
pub const PHASE_ANNOTATION: &str = "kubesim.io/trace-phase";

const TRACE: &str = "openb";
const NS: u64 = 1_000_000_000;
const SORT_HINT: &str = "e.g. `(head -1 f; tail -n +2 f | sort -t, -k9,9n)`";

/// Reads an openb trace: `nodes` (optional: without it only pods come out) then `pods`.
pub fn read_openb(
    nodes: Option<&Path>,
    pods: &Path,
    options: &ReadOptions,
) -> Result<TraceStream, TraceError> {
    options.validate()?;
    let ctx = Ctx::new(options.lenient);
    let sampler = Sampler::new(options);
    let mut sources: Vec<RawIter> = Vec::new();
    if let Some(path) = nodes {
        sources.push(Box::new(Rows(NodeRows::open(path, options, sampler.clone(), ctx.clone())?)));
    }
    sources.push(Box::new(Rows(PodRows::open(pods, options, sampler, ctx.clone())?)));
    Ok(TraceStream::new(Box::new(Merge::new(sources)), ctx, options))
}

struct NodeRows {
    file: CsvFile,
    cols: [Option<usize>; 5],
    sampler: Sampler,
    ctx: Ctx,
    pods_per_node: i64,
}

impl NodeRows {
    fn open(path: &Path, options: &ReadOptions, sampler: Sampler, ctx: Ctx) -> Result<Self, TraceError> {
        let file = CsvFile::with_header(path)?;
        let cols = [
            Some(file.require("sn")?),
            Some(file.require("cpu_milli")?),
            Some(file.require("memory_mib")?),
            file.column("gpu"),
            file.column("model"),
        ];
        Ok(NodeRows { file, cols, sampler, ctx, pods_per_node: options.pods_per_node })
    }
}

impl RowParser for NodeRows {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let [sn, cpu, mem, gpu, model] = self.cols;
        let (sn, cpu, mem) = (sn.unwrap_or(0), cpu.unwrap_or(0), mem.unwrap_or(0));
        let name = row.required(sn)?;
        let cpu_millis = to_i64(row.u64(cpu)?, || row.err(cpu, "too large"))?;
        let memory_bytes = mib_to_bytes(row.u64(mem)?).ok_or_else(|| row.err(mem, "too large"))?;
        let gpus = match gpu {
            Some(c) => to_i64(row.opt_u64(c)?.unwrap_or(0), || row.err(c, "too large"))?,
            None => 0,
        };
        let mut capacity =
            objects::with_pods(objects::cpu_memory(cpu_millis, memory_bytes), self.pods_per_node);
        let mut labels = Labels::new();
        if gpus > 0 {
            capacity.set(ResourceName::parse(GPU_RESOURCE), gpus);
            capacity.set(ResourceName::parse(GPU_MILLI_RESOURCE), gpus * 1000);
            if let Some(m) = model.and_then(|c| row.opt(c)) {
                labels.insert(GPU_MODEL_LABEL.to_string(), m.to_string());
            }
        }
        if !self.sampler.keeps_machine(name) {
            self.ctx.with(|s| s.machines_sampled_out += 1);
            return Ok(None);
        }
        let node = objects::node(name, capacity, labels, TRACE);
        Ok(Some(Raw { t: 0, kind: RawKind::AddNode(Box::new(node)) }))
    }
}

struct PodCols {
    name: usize,
    cpu: usize,
    mem: usize,
    num_gpu: Option<usize>,
    gpu_milli: Option<usize>,
    gpu_spec: Option<usize>,
    qos: Option<usize>,
    phase: Option<usize>,
    creation: Option<usize>,
    deletion: Option<usize>,
    scheduled: Option<usize>,
}

struct PodRows {
    file: CsvFile,
    cols: PodCols,
    order: OrderCheck,
    sampler: Sampler,
    ctx: Ctx,
    namespace: String,
}

impl PodRows {
    fn open(path: &Path, options: &ReadOptions, sampler: Sampler, ctx: Ctx) -> Result<Self, TraceError> {
        let file = CsvFile::with_header(path)?;
        let cols = PodCols {
            name: file.require("name")?,
            cpu: file.require("cpu_milli")?,
            mem: file.require("memory_mib")?,
            num_gpu: file.column("num_gpu"),
            gpu_milli: file.column("gpu_milli"),
            gpu_spec: file.column("gpu_spec"),
            qos: file.column("qos"),
            phase: file.column("pod_phase"),
            creation: file.column("creation_time"),
            deletion: file.column("deletion_time"),
            scheduled: file.column("scheduled_time"),
        };
        Ok(PodRows {
            file,
            cols,
            order: OrderCheck::default(),
            sampler,
            ctx,
            namespace: options.namespace.clone(),
        })
    }
}

impl RowParser for PodRows {
    type Item = Raw;
    fn file(&mut self) -> &mut CsvFile {
        &mut self.file
    }
    fn ctx(&self) -> &Ctx {
        &self.ctx
    }
    fn parse(&mut self) -> Result<Option<Raw>, TraceError> {
        let row = self.file.row();
        let c = &self.cols;
        let name = row.required(c.name)?;
        let creation = match c.creation {
            Some(col) => secs_to_ns(row.u64(col)?).ok_or_else(|| row.err(col, "too large"))?,
            None => 0,
        };
        if let Some(col) = c.creation {
            self.order.check(creation, "creation_time", SORT_HINT).map_err(|m| row.err(col, m))?;
        }
        let scheduled = match c.scheduled {
            Some(col) => row
                .opt_u64(col)?
                .map(|s| secs_to_ns(s).ok_or_else(|| row.err(col, "too large")))
                .transpose()?,
            None => None,
        };
        if let (Some(s), Some(col)) = (scheduled, c.scheduled) {
            if s < creation {
                return Err(row.err(
                    col,
                    format!("scheduled_time {}s is before creation_time {}s", s / NS, creation / NS),
                ));
            }
        }
        let start = scheduled.unwrap_or(creation);
        let duration = match c.deletion {
            Some(col) => match row.opt_u64(col)? {
                None => None,
                Some(d) => {
                    let d = secs_to_ns(d).ok_or_else(|| row.err(col, "too large"))?;
                    if d < start {
                        return Err(row.err(
                            col,
                            format!("deletion_time {}s is before the pod started ({}s)", d / NS, start / NS),
                        ));
                    }
                    Some(d - start)
                }
            },
            None => None,
        };

        let cpu_millis = to_i64(row.u64(c.cpu)?, || row.err(c.cpu, "too large"))?;
        let memory_bytes = mib_to_bytes(row.u64(c.mem)?).ok_or_else(|| row.err(c.mem, "too large"))?;
        let mut requests = objects::cpu_memory(cpu_millis, memory_bytes);
        let num_gpu = match c.num_gpu {
            Some(col) => to_i64(row.opt_u64(col)?.unwrap_or(0), || row.err(col, "too large"))?,
            None => 0,
        };
        if num_gpu > 0 {
            let per_gpu = match c.gpu_milli {
                Some(col) => to_i64(row.opt_u64(col)?.unwrap_or(1000), || row.err(col, "too large"))?,
                None => 1000,
            }
            .min(1000);
            requests.set(ResourceName::parse(GPU_MILLI_RESOURCE), num_gpu * per_gpu);
            if per_gpu >= 1000 {
                requests.set(ResourceName::parse(GPU_RESOURCE), num_gpu);
            }
        }
        let mut parts = PodParts {
            name: name.to_string(),
            trace_id: name.to_string(),
            limits: requests.clone(),
            requests,
            completes: duration.is_some(),
            ..Default::default()
        };
        if let Some(q) = c.qos.and_then(|col| row.opt(col)) {
            parts.labels.insert(QOS_LABEL.to_string(), q.to_string());
        }
        if let Some(p) = c.phase.and_then(|col| row.opt(col)) {
            parts.annotations.insert(PHASE_ANNOTATION.to_string(), p.to_string());
        }
        let models: Vec<String> = c
            .gpu_spec
            .and_then(|col| row.opt(col))
            .map(|s| s.split('|').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();

        if !self.sampler.keeps_workload(name) {
            self.ctx.with(|s| s.workloads_sampled_out += 1);
            return Ok(None);
        }
        let mut pod = objects::pod(&self.namespace, TRACE, parts);
        apply_gpu_models(&mut pod.spec, models);
        let kind = RawKind::Pod { pod: Box::new(pod), started: Some(start), duration, usage: None };
        Ok(Some(Raw { t: creation, kind }))
    }
}

/// `gpu_spec` → placement: one model is a `nodeSelector`, several a required `In` affinity.
fn apply_gpu_models(spec: &mut kubesim_api::PodSpec, mut models: Vec<String>) {
    match models.len() {
        0 => {}
        1 => {
            spec.extras.node_selector.insert(GPU_MODEL_LABEL.to_string(), models.remove(0));
        }
        _ => {
            spec.extras.affinity.node_affinity = NodeAffinity {
                required: Some(NodeSelector {
                    terms: vec![NodeSelectorTerm {
                        match_expressions: vec![NodeSelectorRequirement {
                            key: GPU_MODEL_LABEL.to_string(),
                            operator: NodeSelectorOperator::In,
                            values: models,
                        }],
                        match_fields: Vec::new(),
                    }],
                }),
                preferred: Vec::new(),
            };
        }
    }
}

fn to_i64(v: u64, err: impl FnOnce() -> TraceError) -> Result<i64, TraceError> {
    i64::try_from(v).map_err(|_| err())
}

fn mib_to_bytes(mib: u64) -> Option<i64> {
    i64::try_from(mib).ok()?.checked_mul(MIB)
}

fn secs_to_ns(secs: u64) -> Option<u64> {
    secs.checked_mul(NS)
}
