//! `spec.trace` → a checked [`TraceSource`]: which reader, which files, which window and sample,
//! and whether the trace's machines become the cluster's nodes.
//!
//! Nothing is read here beyond checking that the files exist: the run streams the trace
//! ([`crate::replay`]), so a window of a large trace costs only what it selects.

use std::path::{Path, PathBuf};

use kubesim_traces::{
    read_alibaba_2018, read_generic, read_google_2019, read_openb, Alibaba2018Files, Google2019Files,
    MachineShape, ReadOptions, TraceError, TraceStream,
};
use sim_core::{RngStreams, SimDuration};

use crate::compile::Checker;
use crate::format::{QuantityValue, TraceSpec};
use crate::locate::FieldPath;
use crate::workload::{cpu_millis, units};

/// The trace formats `spec.trace.format` accepts.
pub const FORMATS: &[&str] = &["openb", "alibaba-2018", "google-2019", "generic"];

/// Where the files of a trace are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceFiles {
    /// Alibaba gpu-v2023: optional node list, pod list.
    Openb {
        /// Node list.
        nodes: Option<PathBuf>,
        /// Pod list.
        pods: PathBuf,
    },
    /// Generic CSV: optional node list, pod list.
    Generic {
        /// Node list.
        nodes: Option<PathBuf>,
        /// Pod list.
        pods: PathBuf,
    },
    /// Alibaba cluster-trace-v2018 folder; `max_memory_bytes` is what normalised memory 100 is.
    Alibaba2018 {
        /// The folder.
        dir: PathBuf,
        /// Memory of normalised size 100, bytes.
        max_memory_bytes: i64,
    },
    /// Google cluster-data 2019 export folder, scaled by a machine shape.
    Google2019 {
        /// The folder.
        dir: PathBuf,
        /// What normalised 1.0 stands for.
        shape: MachineShape,
    },
}

/// A validated `spec.trace`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSource {
    /// The format name as written (`openb`, …).
    pub format: String,
    /// The files.
    pub files: TraceFiles,
    /// Window start.
    pub from: SimDuration,
    /// Window end (exclusive).
    pub to: Option<SimDuration>,
    /// Machines kept (and workloads thinned alike), `None` = all.
    pub sample_machines: Option<f64>,
    /// Trace nodes kept without thinning the workload, `None` = all.
    pub keep_nodes: Option<f64>,
    /// The trace's machines become nodes (and leave, and change) as the trace says.
    pub nodes_from_trace: bool,
    /// Skip malformed records.
    pub lenient: bool,
    /// `pods` capacity of trace nodes.
    pub pods_per_node: i64,
    /// Namespace of replayed pods and Jobs.
    pub namespace: String,
    /// No `spec.duration` and no `to`: run until the trace ends and its pods have run.
    pub until_trace_ends: bool,
}

impl TraceSource {
    /// Opens the stream for a run with root seed `seed` (sampling draws come from it).
    pub fn open(&self, seed: u64) -> Result<TraceStream, TraceError> {
        let options = ReadOptions {
            from: self.from,
            to: self.to,
            sample_machines: self.sample_machines,
            streams: RngStreams::new(seed),
            lenient: self.lenient,
            pods_per_node: self.pods_per_node,
            namespace: self.namespace.clone(),
        };
        match &self.files {
            TraceFiles::Openb { nodes, pods } => read_openb(nodes.as_deref(), pods, &options),
            TraceFiles::Generic { nodes, pods } => read_generic(nodes.as_deref(), pods, &options),
            TraceFiles::Alibaba2018 { dir, max_memory_bytes } => {
                read_alibaba_2018(&Alibaba2018Files::in_dir(dir), *max_memory_bytes, &options)
            }
            TraceFiles::Google2019 { dir, shape } => {
                read_google_2019(&Google2019Files::in_dir(dir), *shape, &options)
            }
        }
    }

    /// One line for logs and reports: `openb ../traces/x (0s..6h, 10% of machines)`.
    pub fn describe(&self) -> String {
        let path = match &self.files {
            TraceFiles::Openb { pods, .. } | TraceFiles::Generic { pods, .. } => pods.display().to_string(),
            TraceFiles::Alibaba2018 { dir, .. } | TraceFiles::Google2019 { dir, .. } => {
                dir.display().to_string()
            }
        };
        let to = self.to.map_or_else(|| "end".to_string(), |t| t.to_string());
        format!("{} {path} ({}..{to})", self.format, self.from)
    }
}

/// A fraction as written: `10%`, `0.1`, `1`.
fn fraction(q: &QuantityValue) -> Result<f64, String> {
    kubesim_traces::parse_fraction(&q.text()).map_err(|e| e.to_string().replace("invalid trace option: ", ""))
}

/// The first of `names` that exists in `dir`.
fn first_in(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

impl Checker<'_> {
    /// Checks `spec.trace`. `has_nodes`: the scenario defines nodes itself (pools or manifests);
    /// `duration`: `spec.duration` if given.
    pub(crate) fn trace(
        &mut self,
        t: &TraceSpec,
        path: &FieldPath,
        base: &Path,
        has_nodes: bool,
        duration: Option<SimDuration>,
    ) -> Option<TraceSource> {
        let errors_before = self.errors.len();
        let target = base.join(&t.path);
        if !target.exists() {
            self.error(&path.key("path"), format!("{}: no such file or folder", target.display()));
        }
        let files = match t.format.as_str() {
            "openb" | "generic" => {
                let openb = t.format == "openb";
                let (pods_default, nodes_default): (&[&str], &[&str]) = if openb {
                    (
                        &["pods.csv", "openb_pod_list_default.csv"],
                        &["nodes.csv", "openb_node_list_all_node.csv"],
                    )
                } else {
                    (&["pods.csv"], &["nodes.csv"])
                };
                let (pods, nodes_dir) = if target.is_dir() {
                    let pods = match &t.pods_file {
                        Some(f) => Some(target.join(f)),
                        None => first_in(&target, pods_default),
                    };
                    if pods.is_none() {
                        self.error(
                            &path.key("podsFile"),
                            format!(
                                "{}: no pod list ({}); name it with podsFile",
                                target.display(),
                                pods_default.join(" or ")
                            ),
                        );
                    }
                    (pods, target.clone())
                } else {
                    if t.pods_file.is_some() {
                        self.error(&path.key("podsFile"), "path is already the pod list: set one of them");
                    }
                    (Some(target.clone()), base.to_path_buf())
                };
                let nodes = match &t.nodes_file {
                    Some(f) => {
                        let p = nodes_dir.join(f);
                        if !p.is_file() {
                            self.error(&path.key("nodesFile"), format!("{}: no such file", p.display()));
                        }
                        Some(p)
                    }
                    None if target.is_dir() => first_in(&target, nodes_default),
                    None => None,
                };
                if let Some(p) = &pods {
                    if target.exists() && !p.is_file() {
                        self.error(&path.key("podsFile"), format!("{}: no such file", p.display()));
                    }
                }
                let pods = pods.unwrap_or_default();
                if openb {
                    Some(TraceFiles::Openb { nodes, pods })
                } else {
                    Some(TraceFiles::Generic { nodes, pods })
                }
            }
            "alibaba-2018" => {
                if target.exists() && !target.is_dir() {
                    self.error(
                        &path.key("path"),
                        "alibaba-2018 reads a folder (machine_meta.csv, container_meta.csv, …)",
                    );
                }
                let max_memory_bytes = match &t.max_memory {
                    None => {
                        self.error(
                            &path.key("maxMemory"),
                            "required for alibaba-2018: the memory that normalised size 100 stands for (e.g. 512Gi)",
                        );
                        0
                    }
                    Some(q) => match units(q) {
                        Ok(v) if v > 0 => v,
                        Ok(_) => {
                            self.error(&path.key("maxMemory"), "must be more than 0");
                            0
                        }
                        Err(e) => {
                            self.error(&path.key("maxMemory"), e);
                            0
                        }
                    },
                };
                Some(TraceFiles::Alibaba2018 { dir: target.clone(), max_memory_bytes })
            }
            "google-2019" => {
                if target.exists() && !target.is_dir() {
                    self.error(
                        &path.key("path"),
                        "google-2019 reads a folder (machine_events.json, instance_events.json, …)",
                    );
                }
                let shape = match &t.machine_shape {
                    None => {
                        self.error(
                            &path.key("machineShape"),
                            "required for google-2019: what normalised capacity 1.0 stands for (e.g. {cpu: 96, memory: 512Gi})",
                        );
                        MachineShape { cpu_millis: 0, memory_bytes: 0 }
                    }
                    Some(s) => {
                        let p = path.key("machineShape");
                        let cpu = match cpu_millis(&s.cpu) {
                            Ok(v) if v > 0 => v,
                            Ok(_) => {
                                self.error(&p.key("cpu"), "must be more than 0");
                                0
                            }
                            Err(e) => {
                                self.error(&p.key("cpu"), e);
                                0
                            }
                        };
                        let memory = match units(&s.memory) {
                            Ok(v) if v > 0 => v,
                            Ok(_) => {
                                self.error(&p.key("memory"), "must be more than 0");
                                0
                            }
                            Err(e) => {
                                self.error(&p.key("memory"), e);
                                0
                            }
                        };
                        MachineShape { cpu_millis: cpu, memory_bytes: memory }
                    }
                };
                Some(TraceFiles::Google2019 { dir: target.clone(), shape })
            }
            other => {
                self.error(
                    &path.key("format"),
                    format!("unknown trace format {other:?} (expected one of: {})", FORMATS.join(", ")),
                );
                None
            }
        };
        if t.format != "alibaba-2018" && t.max_memory.is_some() {
            self.warn(&path.key("maxMemory"), "only read by the alibaba-2018 format: ignored");
        }
        if t.format != "google-2019" && t.machine_shape.is_some() {
            self.warn(&path.key("machineShape"), "only read by the google-2019 format: ignored");
        }
        let from = t.from.unwrap_or(SimDuration::ZERO);
        if let Some(to) = t.to {
            if to <= from {
                self.error(&path.key("to"), format!("must come after from ({from})"));
            }
        }
        let mut frac = |q: &Option<QuantityValue>, key: &str| -> Option<f64> {
            let q = q.as_ref()?;
            match fraction(q) {
                Ok(f) => Some(f),
                Err(e) => {
                    self.error(&path.key(key), e);
                    None
                }
            }
        };
        let sample_machines = frac(&t.sample_machines, "sampleMachines");
        let keep_nodes = frac(&t.keep_nodes, "keepNodes");
        let nodes_from_trace = match t.nodes.as_deref() {
            None => !has_nodes,
            Some("fromTrace") => true,
            Some("cluster") => {
                if !has_nodes {
                    self.error(
                        &path.key("nodes"),
                        "cluster: but the scenario defines no nodes (spec.cluster.nodePools or Node manifests)",
                    );
                }
                false
            }
            Some(other) => {
                self.error(&path.key("nodes"), format!("{other:?}: expected fromTrace or cluster"));
                false
            }
        };
        if keep_nodes.is_some() && !nodes_from_trace {
            self.error(&path.key("keepNodes"), "needs nodes: fromTrace (the trace's nodes are not used)");
        }
        let no_node_list = matches!(
            &files,
            Some(TraceFiles::Openb { nodes: None, .. } | TraceFiles::Generic { nodes: None, .. })
        );
        if nodes_from_trace && no_node_list && target.exists() {
            self.error(
                &path.key("nodes"),
                "fromTrace, but the trace has no node list: set nodesFile, or give the scenario nodes (spec.cluster.nodePools)",
            );
        }
        let pods_per_node = t.pods_per_node.unwrap_or(110);
        if pods_per_node < 0 {
            self.error(&path.key("podsPerNode"), "must not be negative");
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(TraceSource {
            format: t.format.clone(),
            files: files?,
            from,
            to: t.to,
            sample_machines,
            keep_nodes,
            nodes_from_trace,
            lenient: t.lenient,
            pods_per_node,
            namespace: t.namespace.clone().unwrap_or_else(|| "default".to_string()),
            until_trace_ends: duration.is_none() && t.to.is_none(),
        })
    }
}

/// What `kubesim replay` asks for: a trace and flags, turned into an in-memory scenario.
#[derive(Debug, Clone, Default)]
pub struct ReplayRequest {
    /// The trace folder or pod list.
    pub trace: PathBuf,
    /// Its format.
    pub format: String,
    /// A scenario file (its cluster, scheduler, events, expectations) or a manifests file
    /// (Nodes, …) to replay against; `None`: the trace's nodes.
    pub cluster: Option<PathBuf>,
    /// Use the trace's nodes even with `cluster`.
    pub nodes_from_trace: bool,
    /// Scheduler policy name.
    pub policy: Option<String>,
    /// A KubeSchedulerConfiguration file.
    pub scheduler_config: Option<PathBuf>,
    /// `spec.trace` fields given as flags (`from`, `to`, `sampleMachines`, …), as YAML scalars.
    pub trace_fields: Vec<(String, String)>,
    /// `spec.duration`, if given.
    pub duration: Option<String>,
    /// `spec.metrics.interval`, if given.
    pub metrics_interval: Option<String>,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Builds and validates the scenario `kubesim replay` runs. Errors name the flag's field
/// (`spec.trace.sampleMachines`) like a scenario file's.
pub fn load_replay(req: &ReplayRequest) -> Result<crate::Scenario, crate::ScenarioError> {
    use serde_json::{json, Map, Value};
    let io = |p: &Path, e: String| crate::ScenarioError::Io { path: p.display().to_string(), message: e };
    let (mut doc, file) = match &req.cluster {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e.to_string()))?;
            let yaml: Option<yaml_serde::Value> = yaml_serde::from_str(&text).ok();
            let is_scenario = yaml
                .as_ref()
                .and_then(|v| v.get("kind"))
                .and_then(|k| k.as_str())
                .is_some_and(|k| k == crate::format::KIND);
            if is_scenario {
                let v: Value = serde_json::to_value(yaml).map_err(|e| io(path, e.to_string()))?;
                (v, path.clone())
            } else {
                // Kubernetes manifests (Nodes, PriorityClasses, …) as the candidate cluster.
                let doc = json!({
                    "apiVersion": crate::format::API_VERSION,
                    "kind": crate::format::KIND,
                    "metadata": {"name": "replay"},
                    "spec": {"manifests": [absolute(path).display().to_string()]},
                });
                (doc, absolute(Path::new("replay.yaml")))
            }
        }
        None => (
            json!({
                "apiVersion": crate::format::API_VERSION,
                "kind": crate::format::KIND,
                "metadata": {"name": "replay"},
                "spec": {},
            }),
            absolute(Path::new("replay.yaml")),
        ),
    };
    let spec =
        doc.get_mut("spec").and_then(Value::as_object_mut).ok_or_else(|| io(&file, "no spec".to_string()))?;
    let mut trace = Map::new();
    trace.insert("format".into(), json!(req.format));
    trace.insert("path".into(), json!(absolute(&req.trace).display().to_string()));
    if req.nodes_from_trace {
        trace.insert("nodes".into(), json!("fromTrace"));
    }
    for (k, v) in &req.trace_fields {
        let value: Value = match yaml_serde::from_str::<yaml_serde::Value>(v) {
            Ok(y) => serde_json::to_value(y).unwrap_or_else(|_| json!(v)),
            Err(_) => json!(v),
        };
        // Nested keys: `machineShape.cpu`.
        match k.split_once('.') {
            Some((outer, inner)) => {
                let entry = trace.entry(outer.to_string()).or_insert_with(|| json!({}));
                if let Some(o) = entry.as_object_mut() {
                    o.insert(inner.to_string(), value);
                }
            }
            None => {
                trace.insert(k.clone(), value);
            }
        }
    }
    spec.insert("trace".into(), Value::Object(trace));
    if let Some(d) = &req.duration {
        spec.insert("duration".into(), json!(d));
    }
    if let Some(i) = &req.metrics_interval {
        spec.insert("metrics".into(), json!({"interval": i}));
    }
    if req.policy.is_some() || req.scheduler_config.is_some() {
        let mut s = Map::new();
        if let Some(p) = &req.policy {
            s.insert("policy".into(), json!(p));
        }
        if let Some(c) = &req.scheduler_config {
            s.insert("config".into(), json!(absolute(c).display().to_string()));
        }
        spec.insert("scheduler".into(), Value::Object(s));
    }
    // JSON is YAML: one line, so diagnostics name the field rather than a line.
    let text = serde_json::to_string(&doc).map_err(|e| io(&file, e.to_string()))?;
    crate::load_str(&text, &file)
}
