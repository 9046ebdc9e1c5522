//! Scenario file → a checked, runnable [`Scenario`].
//!
//! Everything is validated before the run starts: units, references (nodes, deployments, zones,
//! images, priority classes), manifests and scheduler configuration. Every finding names the file,
//! the line and the field; all findings are reported at once. Unknown fields are warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubesim_api::meta::well_known::HOSTNAME;
use kubesim_api::{
    Deployment, LabelSelector, Node, NodeStatus, ObjectKey, ObjectMeta, Pod, PriorityClass, ResourceList,
    ResourceName, Taint, TaintEffect,
};
use kubesim_cluster::config::ServiceLoad;
use kubesim_cluster::{Action, ClusterConfig};
use kubesim_runtime_sim::ImageCatalog;
use kubesim_scheduler::config::args::ScoringStrategyType;
use kubesim_scheduler::config::{parse_config, PluginArgs, SchedulerConfig};
use kubesim_scheduler::policies::{policy_by_name, POLICY_NAMES};
use kubesim_scheduler::{KubeVersion, SchedulerOptions};
use kubesim_workload::PodWorkload;
use sim_core::{SimDuration, SimTime};

use crate::diag::{Diagnostic, ScenarioError};
use crate::events;
use crate::expect::Expectation;
use crate::format::{self, ManifestSource, QuantityValue, ScenarioFile};
use crate::locate::{line_of, FieldPath};
use crate::workload::{layout, parse_selector, pod_workload, units};

/// The zone label.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// One scheduled action, with a human description for logs and reports.
#[derive(Debug, Clone)]
pub struct TimedAction {
    /// When.
    pub at: SimTime,
    /// What the cluster does.
    pub action: Action,
    /// `rollout default/web → web:v2`.
    pub description: String,
}

/// A validated scenario, ready to run with any seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `metadata.name`.
    pub name: String,
    /// The scenario file.
    pub file: PathBuf,
    /// `spec.seed`.
    pub seed: u64,
    /// `spec.duration`; with a trace and no duration, `to − from`, or [`SimDuration::MAX`]
    /// when the run lasts until the trace ends ([`crate::trace::TraceSource::until_trace_ends`]).
    pub duration: SimDuration,
    /// `spec.metrics.interval`.
    pub metrics_interval: SimDuration,
    /// Cluster configuration (its seed is set per run).
    pub config: ClusterConfig,
    /// The scheduler policy name the scenario asked for (`default` when none).
    pub policy: String,
    /// Nodes, pools expanded then manifest nodes.
    pub nodes: Vec<Node>,
    /// PriorityClasses from the manifests.
    pub priority_classes: Vec<PriorityClass>,
    /// Deployments present at the start.
    pub deployments: Vec<Deployment>,
    /// Bare pods present at the start.
    pub pods: Vec<Pod>,
    /// Timed actions in file order.
    pub actions: Vec<TimedAction>,
    /// Per deployment (`namespace/name`): when scenario events change its template.
    pub rollout_starts: BTreeMap<String, Vec<SimTime>>,
    /// Per deployment (`namespace/name`): when it is created.
    pub created_at: BTreeMap<String, SimTime>,
    /// Assertions for `kubesim check`.
    pub expectations: Vec<Expectation>,
    /// Non-fatal findings (unknown fields, skipped kinds).
    pub warnings: Vec<Diagnostic>,
    /// `spec.trace`: the trace replayed into the run, if any.
    pub trace: Option<crate::trace::TraceSource>,
}

/// Loads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::Io { path: path.display().to_string(), message: e.to_string() })?;
    load_str(&text, path)
}

/// Loads and validates scenario text; `path` names it in diagnostics and anchors relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    // `copies:` stamps on workloads and events are expanded on the YAML tree first.
    let expanded = crate::generate::expand_stamps(text).map_err(|message| {
        ScenarioError::Invalid(vec![Diagnostic {
            file: path.display().to_string(),
            line: None,
            field: None,
            message,
        }])
    })?;
    if let Some(x) = &expanded {
        let file = path.display().to_string();
        return match load_str_expanded(&x.text, path) {
            Ok(mut s) => {
                s.warnings.iter_mut().for_each(|d| x.remap(d, text, &file));
                Ok(s)
            }
            Err(ScenarioError::Invalid(mut ds)) => {
                ds.iter_mut().for_each(|d| x.remap(d, text, &file));
                Err(ScenarioError::Invalid(ds))
            }
            Err(e) => Err(e),
        };
    }
    load_str_expanded(text, path)
}

fn load_str_expanded(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let mut c = Checker { text, file: path.display().to_string(), errors: Vec::new(), warnings: Vec::new() };
    let Some(file) = c.parse() else {
        return Err(ScenarioError::Invalid(c.errors));
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let scenario = c.compile(file, path, &base);
    if c.errors.is_empty() {
        let mut s = scenario.expect("no errors means a scenario");
        s.warnings = c.warnings;
        Ok(s)
    } else {
        Err(ScenarioError::Invalid(c.errors))
    }
}

/// The default profile with NodeResourcesFit scoring MostAllocated (bin packing).
pub fn most_allocated_config() -> SchedulerConfig {
    let mut cfg = SchedulerConfig::default();
    for profile in &mut cfg.profiles {
        for (name, args) in &mut profile.plugin_config {
            if name == "NodeResourcesFit" {
                if let PluginArgs::NodeResourcesFit(fit) = args {
                    fit.scoring_strategy.kind = ScoringStrategyType::MostAllocated;
                }
            }
        }
    }
    cfg
}

/// Every policy name `scheduler.policy` and `kubesim compare --policies` accept.
pub fn policy_names() -> Vec<&'static str> {
    ["default", "least-allocated", "most-allocated"].into_iter().chain(POLICY_NAMES.iter().copied()).collect()
}

/// The scheduler configuration and research policy of a policy name, or `None` if unknown.
pub fn scheduler_for_policy(name: &str) -> Option<(SchedulerConfig, Option<String>)> {
    match name {
        "default" | "least-allocated" => Some((SchedulerConfig::default(), None)),
        "most-allocated" => Some((most_allocated_config(), None)),
        other => policy_by_name(other).map(|_| (SchedulerConfig::default(), Some(other.to_string()))),
    }
}

impl Scenario {
    /// This scenario with its scheduler replaced by a named policy (for `compare`).
    pub fn with_policy(&self, name: &str) -> Option<Scenario> {
        let (scheduler, research) = scheduler_for_policy(name)?;
        let mut s = self.clone();
        s.config.scheduler = scheduler;
        s.config.scheduler_policy = research;
        s.policy = name.to_string();
        Some(s)
    }
}

/// `name` → `default/name`; `ns/name` as is.
pub fn object_key(text: &str) -> ObjectKey {
    match text.split_once('/') {
        Some((ns, name)) => ObjectKey::new(ns, name),
        None => ObjectKey::new("default", text),
    }
}

pub(crate) struct Checker<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: String,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(crate) fn diag(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: line_of(self.text, path),
            field: (!path.0.is_empty()).then(|| path.to_string()),
            message: message.into(),
        }
    }

    pub(crate) fn error(&mut self, path: &FieldPath, message: impl Into<String>) {
        let d = self.diag(path, message);
        self.errors.push(d);
    }

    pub(crate) fn warn(&mut self, path: &FieldPath, message: impl Into<String>) {
        let d = self.diag(path, message);
        self.warnings.push(d);
    }

    fn parse(&mut self) -> Option<ScenarioFile> {
        let mut ignored = Vec::new();
        let de = yaml_serde::Deserializer::from_str(self.text);
        let mut on_ignored = |p: serde_ignored::Path<'_>| ignored.push(ignored_path(&p));
        let result: Result<ScenarioFile, _> =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(de, &mut on_ignored));
        match result {
            Ok(file) => {
                for p in ignored {
                    self.warn(&p, "unknown field: ignored");
                }
                Some(file)
            }
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let line = inner.location().map(|l| l.line());
                let mut message = inner.to_string();
                if let Some(i) = message.find(" at line ") {
                    message.truncate(i);
                }
                // The parser prefixes its own (partial) path: `spec: invalid duration …`.
                if let Some((prefix, rest)) = message.split_once(": ") {
                    if !prefix.contains(' ') && path.starts_with(prefix) {
                        message = rest.to_string();
                    }
                }
                let field = (path != "." && !path.is_empty()).then_some(path);
                let line =
                    line.or_else(|| field.as_deref().and_then(|f| line_of(self.text, &FieldPath::parse(f))));
                self.errors.push(Diagnostic { file: self.file.clone(), line, field, message });
                None
            }
        }
    }

    fn compile(&mut self, f: ScenarioFile, path: &Path, base: &Path) -> Option<Scenario> {
        let root = FieldPath::root();
        if f.api_version != format::API_VERSION {
            self.error(
                &root.key("apiVersion"),
                format!("expected {:?}, got {:?}", format::API_VERSION, f.api_version),
            );
        }
        if f.kind != format::KIND {
            self.error(&root.key("kind"), format!("expected {:?}, got {:?}", format::KIND, f.kind));
        }
        let spec_path = root.key("spec");
        let s = f.spec;
        let name = f.metadata.name.clone().unwrap_or_else(|| {
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into())
        });
        let duration = match (s.duration, &s.trace) {
            (Some(d), _) if d.is_zero() => {
                self.error(&spec_path.key("duration"), "must be longer than 0s");
                d
            }
            (Some(d), _) => d,
            // A trace window gives the length; without one the run lasts as long as the trace.
            (None, Some(t)) => match t.to {
                Some(to) => to.saturating_sub(t.from.unwrap_or(SimDuration::ZERO)),
                None => SimDuration::MAX,
            },
            (None, None) => {
                self.error(&spec_path.key("duration"), "required (how long to simulate, e.g. 30m)");
                SimDuration::ZERO
            }
        };
        if s.metrics.interval.is_zero() {
            self.error(&spec_path.key("metrics").key("interval"), "must be longer than 0s");
        }

        let mut config = ClusterConfig { seed: s.seed, ..ClusterConfig::default() };
        // Versions and gates.
        match s.kubernetes_version.parse::<KubeVersion>() {
            Ok(v) => config.scheduler_options.kubernetes_version = v,
            Err(e) => self.error(&spec_path.key("kubernetesVersion"), e.to_string()),
        }
        for (gate, on) in &s.feature_gates {
            if !SchedulerOptions::is_known_gate(gate) {
                self.warn(&spec_path.key("featureGates").key(gate), "not a gate kubesim reads: no effect");
            }
            config.scheduler_options.feature_gates.insert(gate.clone(), *on);
        }
        self.control_plane(&s.control_plane, &spec_path.key("controlPlane"), &mut config);

        // Scheduler.
        let sched_path = spec_path.key("scheduler");
        let mut policy = "default".to_string();
        match (&s.scheduler.policy, &s.scheduler.config) {
            (Some(_), Some(_)) => self.error(&sched_path, "set either policy or config, not both"),
            (Some(p), None) => match scheduler_for_policy(p) {
                Some((cfg, research)) => {
                    config.scheduler = cfg;
                    config.scheduler_policy = research;
                    policy = p.clone();
                }
                None => self.error(
                    &sched_path.key("policy"),
                    format!("unknown policy {p:?} (expected one of: {})", policy_names().join(", ")),
                ),
            },
            (None, Some(file)) => {
                let p = base.join(file);
                match std::fs::read_to_string(&p) {
                    Err(e) => self.error(&sched_path.key("config"), format!("{}: {e}", p.display())),
                    Ok(text) => match parse_config(&text) {
                        Ok((cfg, warnings)) => {
                            for w in warnings {
                                self.warnings.push(Diagnostic {
                                    file: p.display().to_string(),
                                    line: None,
                                    field: None,
                                    message: w,
                                });
                            }
                            config.scheduler = cfg;
                            policy = format!("config:{file}");
                        }
                        Err(e) => self.error(&sched_path.key("config"), format!("{}: {e}", p.display())),
                    },
                }
            }
            (None, None) => {}
        }

        // Nodes.
        let mut nodes =
            self.node_pools(&s.cluster.node_pools, &spec_path.key("cluster").key("nodePools"), &mut config);

        // Images.
        let images_path = spec_path.key("images");
        let mut known_images: BTreeSet<String> = BTreeSet::new();
        if !s.images.is_empty() {
            let mut catalog = ImageCatalog::new();
            for (i, img) in s.images.iter().enumerate() {
                let p = images_path.index(i);
                if !known_images.insert(img.name.clone()) {
                    self.error(&p.key("name"), format!("image {:?} listed twice", img.name));
                }
                if img.missing {
                    catalog.add_missing(&img.name);
                    continue;
                }
                let mut layers: Vec<(String, u64)> = Vec::new();
                for (j, l) in img.layers.iter().enumerate() {
                    match units(&l.size) {
                        Ok(v) if v >= 0 => layers.push((l.digest.clone(), v as u64)),
                        Ok(_) => self.error(&p.key("layers").index(j).key("size"), "must not be negative"),
                        Err(e) => self.error(&p.key("layers").index(j).key("size"), e),
                    }
                }
                if let Some(size) = &img.size {
                    match units(size) {
                        Ok(v) if v >= 0 => layers.push((img.name.clone(), v as u64)),
                        Ok(_) => self.error(&p.key("size"), "must not be negative"),
                        Err(e) => self.error(&p.key("size"), e),
                    }
                }
                let refs: Vec<(&str, u64)> = layers.iter().map(|(d, s)| (d.as_str(), *s)).collect();
                catalog.add_image(&img.name, &refs);
            }
            config.images = Arc::new(catalog);
        }

        // Manifests.
        let mut loaded = kubesim_manifests::Loaded::default();
        for (i, m) in s.manifests.iter().enumerate() {
            let p = spec_path.key("manifests").index(i);
            if let Some(l) = self.load_manifest(m, base, &p) {
                loaded.extend(l);
            }
        }
        self.check_manifest_kinds(&loaded, &spec_path.key("manifests"));
        let mut with_priorities = loaded.clone();
        if let Err(e) = kubesim_manifests::resolve_priorities(&mut with_priorities, &[]) {
            self.manifest_error(&e, &spec_path.key("manifests"));
        }
        let pool_names: BTreeSet<String> = nodes.iter().map(|n| n.meta.name.to_string()).collect();
        for n in &loaded.nodes {
            if pool_names.contains(n.meta.name.as_str()) {
                self.error(
                    &spec_path.key("manifests"),
                    format!("Node {:?} is defined both by a node pool and by a manifest", n.meta.name),
                );
            }
        }
        nodes.extend(loaded.nodes.iter().cloned());
        let trace = s
            .trace
            .as_ref()
            .and_then(|t| self.trace(t, &spec_path.key("trace"), base, !nodes.is_empty(), s.duration));
        if nodes.is_empty() && !trace.as_ref().is_some_and(|t| t.nodes_from_trace) {
            self.warn(&spec_path.key("cluster"), "no nodes: every pod will stay pending");
        }

        // Events (may apply more manifests later).
        let mut world = events::World {
            nodes: nodes.iter().map(|n| n.meta.name.to_string()).collect(),
            zones: nodes.iter().filter_map(|n| n.meta.labels.get(ZONE_LABEL).cloned()).collect(),
            zone_nodes: BTreeMap::new(),
            deployments: loaded.deployments.iter().map(|d| d.meta.key().to_string()).collect(),
            templates: Vec::new(),
            images: Vec::new(),
            rollout_starts: BTreeMap::new(),
            created_at: BTreeMap::new(),
            services: Vec::new(),
        };
        for svc in &loaded.services {
            world.add_service(svc);
        }
        for n in &nodes {
            if let Some(z) = n.meta.labels.get(ZONE_LABEL) {
                world.zone_nodes.entry(z.clone()).or_default().push(n.meta.name.to_string());
            }
        }
        for d in &loaded.deployments {
            world.templates.push((
                d.meta.key().to_string(),
                d.template.labels.clone(),
                d.template.spec.clone(),
            ));
            world.created_at.insert(d.meta.key().to_string(), SimTime::ZERO);
        }
        for p in &loaded.pods {
            world.templates.push((
                p.meta.key().to_string(),
                p.meta.labels.clone(),
                kubesim_api::PodSpec::clone(&p.spec),
            ));
        }
        for j in &loaded.jobs {
            world.templates.push((
                j.meta.key().to_string(),
                j.template.labels.clone(),
                j.template.spec.clone(),
            ));
        }
        for (i, d) in loaded.deployments.iter().enumerate() {
            let at = loaded.location_of(kubesim_manifests::ObjectRef::Deployment(i)).cloned();
            for c in d.template.spec.containers.iter().chain(&d.template.spec.init_containers) {
                world.images.push((c.image.clone(), at.clone()));
            }
        }
        for (i, p) in loaded.pods.iter().enumerate() {
            let at = loaded.location_of(kubesim_manifests::ObjectRef::Pod(i)).cloned();
            for c in p.spec.containers.iter().chain(&p.spec.init_containers) {
                world.images.push((c.image.clone(), at.clone()));
            }
        }
        let mut actions: Vec<TimedAction> = loaded
            .jobs
            .iter()
            .map(|j| TimedAction {
                at: SimTime::ZERO,
                action: Action::ApplyJob(Box::new(j.clone())),
                description: format!("apply Job {}", j.meta.key()),
            })
            .collect();
        let event_actions =
            events::compile_events(self, &s.events, &spec_path.key("events"), base, duration, &mut world);
        // After the events: an HPA may scale a Deployment an event applies later.
        events::apply_service_objects(self, &world, &loaded, SimTime::ZERO, &mut actions);
        actions.extend(event_actions);

        // Images referenced must be known once the scenario lists images.
        if !known_images.is_empty() {
            for (image, at) in &world.images {
                if !known_images.contains(image) {
                    match at {
                        Some(loc) => self.errors.push(Diagnostic {
                            file: loc.file.clone(),
                            line: loc.line,
                            field: None,
                            message: format!(
                                "image {image:?} is not listed in spec.images of {} (list it, or mark it missing: true)",
                                self.file
                            ),
                        }),
                        None => self.error(&spec_path.key("images"), format!("image {image:?} is referenced but not listed")),
                    }
                }
            }
        }

        // Workloads.
        (config.workloads, config.service_loads) =
            self.workloads(&s.workloads, &spec_path.key("workloads"), &world.templates, &world.services);

        // Expectations.
        let expectations =
            crate::expect::compile(self, &s.expect, &spec_path.key("expect"), &world.deployments);

        config.runtime.image_pull_bytes_per_sec = config.runtime.image_pull_bytes_per_sec.max(1);
        if !self.errors.is_empty() {
            return None;
        }
        for w in loaded.warnings.iter().filter(|w| !w.message.contains("not supported yet")) {
            self.warnings.push(w.into());
        }
        Some(Scenario {
            name,
            file: path.to_path_buf(),
            seed: s.seed,
            duration,
            metrics_interval: s.metrics.interval,
            config,
            policy,
            nodes,
            priority_classes: loaded.priority_classes,
            deployments: loaded.deployments,
            pods: loaded.pods,
            actions,
            rollout_starts: world.rollout_starts,
            created_at: world.created_at,
            expectations,
            warnings: Vec::new(),
            trace,
        })
    }

    fn control_plane(&mut self, cp: &format::ControlPlaneSpec, path: &FieldPath, config: &mut ClusterConfig) {
        if let Some(d) = cp.controller_delay {
            config.controller_delay = d;
        }
        if let Some(d) = cp.scheduler_delay {
            config.scheduler_delay = d;
        }
        if let Some(s) = cp.default_toleration_seconds {
            if s < 0 {
                self.error(&path.key("defaultTolerationSeconds"), "must not be negative");
            }
            config.default_toleration_seconds = s;
        }
        match cp.probe_mode.as_deref() {
            None | Some("analytic") => {}
            Some("periodic") => config.probe_mode = kubesim_kubelet::ProbeMode::PerPeriod,
            Some(other) => self.error(
                &path.key("probeMode"),
                format!("unknown probe mode {other:?} (analytic or periodic)"),
            ),
        }
        match cp.metrics_mode.as_deref() {
            None | Some("classes") => {}
            Some("per-pod") => config.metrics_mode = kubesim_cluster::MetricsMode::PerPod,
            Some(other) => self.error(
                &path.key("metricsMode"),
                format!("unknown metrics mode {other:?} (classes or per-pod)"),
            ),
        }
    }

    fn resources(&mut self, map: &BTreeMap<String, QuantityValue>, path: &FieldPath) -> ResourceList {
        let mut list = ResourceList::new();
        for (name, q) in map {
            let resource = ResourceName::parse(name);
            match kubesim_manifests::Quantity::parse(&q.text()) {
                Ok(v) if v.nanos() < 0 => self.error(&path.key(name), "must not be negative"),
                Ok(v) => list.set(
                    resource.clone(),
                    if resource == ResourceName::Cpu { v.milli_value() } else { v.value() },
                ),
                Err(e) => self.error(&path.key(name), e.to_string()),
            }
        }
        list
    }

    fn node_pools(
        &mut self,
        pools: &[format::NodePool],
        path: &FieldPath,
        config: &mut ClusterConfig,
    ) -> Vec<Node> {
        let mut nodes = Vec::new();
        let mut names = BTreeSet::new();
        let mut bandwidth: Option<(u64, usize)> = None;
        for (i, pool) in pools.iter().enumerate() {
            let p = path.index(i);
            if pool.name.is_empty() {
                self.error(&p.key("name"), "required");
            }
            if !names.insert(pool.name.clone()) {
                self.error(&p.key("name"), format!("node pool {:?} defined twice", pool.name));
            }
            let mut allocatable = self.resources(&pool.allocatable, &p.key("allocatable"));
            // The kubelet's default maxPods.
            if !allocatable.contains(&ResourceName::Pods) {
                allocatable.set(ResourceName::Pods, 110);
            }
            if allocatable.cpu_millis() == 0 || allocatable.memory_bytes() == 0 {
                self.error(&p.key("allocatable"), "needs cpu and memory");
            }
            let capacity = match &pool.capacity {
                Some(c) => self.resources(c, &p.key("capacity")),
                None => allocatable.clone(),
            };
            let mut taints = Vec::new();
            for (j, t) in pool.taints.iter().enumerate() {
                let effect = match t.effect.as_str() {
                    "NoSchedule" => TaintEffect::NoSchedule,
                    "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
                    "NoExecute" => TaintEffect::NoExecute,
                    other => {
                        self.error(
                            &p.key("taints").index(j).key("effect"),
                            format!("{other:?}: expected NoSchedule, PreferNoSchedule or NoExecute"),
                        );
                        continue;
                    }
                };
                taints.push(Taint { key: t.key.clone(), value: t.value.clone(), effect, time_added: None });
            }
            if let Some(bw) = &pool.image_bandwidth {
                match units(bw) {
                    Ok(v) if v > 0 => match bandwidth {
                        Some((first, _)) if first != v as u64 => self.error(
                            &p.key("imageBandwidth"),
                            "not supported yet: node pools with different imageBandwidth (the simulated runtime has one pull bandwidth for all nodes)",
                        ),
                        Some(_) => {}
                        None => bandwidth = Some((v as u64, i)),
                    },
                    Ok(_) => self.error(&p.key("imageBandwidth"), "must be more than 0"),
                    Err(e) => self.error(&p.key("imageBandwidth"), e),
                }
            }
            for n in 0..pool.count {
                let name = format!("{}-{n}", pool.name);
                let mut meta = ObjectMeta::named("", &name);
                meta.labels = pool.labels.clone().into_iter().collect();
                meta.labels.insert(HOSTNAME.into(), name.clone());
                if !pool.zones.is_empty() {
                    meta.labels.insert(ZONE_LABEL.into(), pool.zones[n as usize % pool.zones.len()].clone());
                }
                meta.uid = format!("kubesim:Node:{name}").into();
                nodes.push(Node {
                    meta,
                    spec: kubesim_api::NodeSpec { unschedulable: false, taints: taints.clone() },
                    status: NodeStatus {
                        capacity: capacity.clone(),
                        allocatable: allocatable.clone(),
                        ..Default::default()
                    },
                });
            }
        }
        if let Some((bw, _)) = bandwidth {
            config.runtime.image_pull_bytes_per_sec = bw;
        }
        nodes
    }

    pub(crate) fn load_manifest(
        &mut self,
        m: &ManifestSource,
        base: &Path,
        path: &FieldPath,
    ) -> Option<kubesim_manifests::Loaded> {
        let result = match m {
            ManifestSource::Path(rel) => {
                let p = base.join(rel);
                if !p.exists() {
                    self.error(path, format!("{}: no such file or folder", p.display()));
                    return None;
                }
                kubesim_manifests::load_paths(&[p])
            }
            ManifestSource::Copies(c) => match crate::generate::load_copies(&base.join(&c.path), c.copies) {
                Ok(l) => return Some(l),
                Err(e) => {
                    self.error(path, e);
                    return None;
                }
            },
            ManifestSource::Inline(v) => {
                let text = match yaml_serde::to_string(v) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(path, e.to_string());
                        return None;
                    }
                };
                let origin = format!("{} ({path})", self.file);
                kubesim_manifests::load_str(&text, &origin).map(|mut l| {
                    // Inline objects: point at the scenario line of the object.
                    let line = line_of(self.text, path);
                    for e in &mut l.entries {
                        e.location.line = line;
                    }
                    for w in &mut l.warnings {
                        w.location.line = line;
                    }
                    l
                })
            }
        };
        match result {
            Ok(l) => Some(l),
            Err(e) => {
                self.manifest_error(&e, path);
                None
            }
        }
    }

    fn manifest_error(&mut self, e: &kubesim_manifests::LoadError, path: &FieldPath) {
        match e.diagnostic() {
            Some(d) => self.errors.push(d.into()),
            None => self.error(path, e.to_string()),
        }
    }

    /// Kinds the manifests crate loads that the simulated cluster cannot start with yet.
    pub(crate) fn check_manifest_kinds(&mut self, loaded: &kubesim_manifests::Loaded, path: &FieldPath) {
        // A kind the loader recognises but skips would make the run silently differ from the file.
        for w in &loaded.warnings {
            if w.message.contains("not supported yet") {
                let mut d: Diagnostic = w.into();
                d.message =
                    "not supported yet: kubesim cannot load this kind into a scenario run in this build"
                        .into();
                self.errors.push(d);
            }
        }
        for e in &loaded.entries {
            let unsupported = match e.object {
                kubesim_manifests::ObjectRef::ReplicaSet(_) => Some("ReplicaSet"),
                kubesim_manifests::ObjectRef::Job(_) if !events::SUPPORTS_JOBS => Some("Job"),
                _ => None,
            };
            if let Some(kind) = unsupported {
                let _ = path;
                self.errors.push(Diagnostic {
                    file: e.location.file.clone(),
                    line: e.location.line,
                    field: Some(loaded.describe(e.object)),
                    message: format!("not supported yet: the simulated cluster cannot run a bare {kind} (use a Deployment)"),
                });
            }
        }
    }

    /// Workload entries → per-pod behaviour, and the Service loads of the entries whose pods are
    /// behind a Service and receive `requests`.
    fn workloads(
        &mut self,
        entries: &[format::WorkloadEntry],
        path: &FieldPath,
        templates: &[(String, kubesim_api::Shared<kubesim_api::Labels>, kubesim_api::PodSpec)],
        services: &[(ObjectKey, kubesim_api::Labels)],
    ) -> (Vec<(LabelSelector, Arc<PodWorkload>)>, Vec<ServiceLoad>) {
        let mut out = Vec::new();
        let mut loads: Vec<ServiceLoad> = Vec::new();
        for (i, w) in entries.iter().enumerate() {
            let p = path.index(i);
            let selector = match parse_selector(&w.selector) {
                Ok(s) => s,
                Err((f, e)) => {
                    self.error(&FieldPath::parse(&format!("{}.selector.{f}", p)), e);
                    continue;
                }
            };
            if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
                self.error(&p.key("selector"), "an empty selector would match every pod; name the labels");
                continue;
            }
            let matched: Vec<&(String, kubesim_api::Shared<kubesim_api::Labels>, kubesim_api::PodSpec)> =
                templates.iter().filter(|(_, labels, _)| selector.matches(labels)).collect();
            let Some(first) = matched.first() else {
                self.error(
                    &p.key("selector"),
                    "matches no pod of any Deployment, Job or Pod in the manifests",
                );
                continue;
            };
            let lay = layout(&first.2);
            if let Some(other) = matched.iter().find(|t| layout(&t.2) != lay) {
                self.error(
                    &p.key("selector"),
                    format!(
                        "matches pods with different containers ({} and {}): use a narrower selector",
                        first.0, other.0
                    ),
                );
                continue;
            }
            for name in w.containers.keys() {
                if !lay.1.contains(name) {
                    self.error(
                        &p.key("containers").key(name),
                        format!(
                            "no container {name:?} in the pods of {} (containers: {})",
                            first.0,
                            lay.1.join(", ")
                        ),
                    );
                }
            }
            let via_service = match self.service_load(w, &p, &matched, services, &loads) {
                Ok(Some(load)) => {
                    loads.push(load);
                    true
                }
                Ok(None) => false,
                Err(()) => continue,
            };
            match pod_workload(&w.shared(), &w.containers, &lay, via_service) {
                Ok(pw) => out.push((selector, Arc::new(pw))),
                Err((f, e)) => {
                    let fp = if f.is_empty() { p.clone() } else { FieldPath::parse(&format!("{p}.{f}")) };
                    self.error(&fp, e);
                }
            }
        }
        (out, loads)
    }

    /// The Service load of a workload entry: `Some` when it has `requests` and every pod it
    /// matches is behind one Service; `None` (per-pod rates) when no Service selects its pods.
    fn service_load(
        &mut self,
        w: &format::WorkloadEntry,
        p: &FieldPath,
        matched: &[&(String, kubesim_api::Shared<kubesim_api::Labels>, kubesim_api::PodSpec)],
        services: &[(ObjectKey, kubesim_api::Labels)],
        earlier: &[ServiceLoad],
    ) -> Result<Option<ServiceLoad>, ()> {
        let shared = w.shared();
        let mut rates: Vec<(FieldPath, &kubesim_workload::DemandSpec)> = Vec::new();
        if let Some(r) = &shared.requests {
            rates.push((p.key("requests").key("rate"), &r.rate));
        }
        for (name, b) in &w.containers {
            if let Some(r) = &b.requests {
                rates.push((p.key("containers").key(name).key("requests").key("rate"), &r.rate));
            }
        }
        let Some((rate_path, rate)) = rates.first().cloned() else { return Ok(None) };
        let selects =
            |(key, sel): &(ObjectKey, kubesim_api::Labels),
             t: &(String, kubesim_api::Shared<kubesim_api::Labels>, kubesim_api::PodSpec)| {
                t.0.split_once('/').map_or("default", |(ns, _)| ns) == key.namespace
                    && sel.iter().all(|(k, v)| t.1.get(k) == Some(v))
            };
        let behind: Vec<&(ObjectKey, kubesim_api::Labels)> =
            services.iter().filter(|s| matched.iter().any(|t| selects(s, t))).collect();
        let svc = match behind.as_slice() {
            [] => return Ok(None),
            [one] => &one.0,
            many => {
                let names: Vec<String> = many.iter().map(|(k, _)| k.to_string()).collect();
                self.error(
                    &p.key("selector"),
                    format!(
                        "its pods are behind several Services ({}): the request rate would be ambiguous",
                        names.join(", ")
                    ),
                );
                return Err(());
            }
        };
        if let Some(outside) = matched.iter().find(|t| !selects(behind[0], t)) {
            self.error(
                &p.key("selector"),
                format!(
                    "matches pods behind Service {svc} and pods of {} that are not: use a narrower selector",
                    outside.0
                ),
            );
            return Err(());
        }
        if let Some((other_path, _)) = rates.iter().find(|(_, r)| *r != rate) {
            self.error(
                other_path,
                format!("pods behind Service {svc} receive one request rate: make it equal to {rate_path}"),
            );
            return Err(());
        }
        if earlier.iter().any(|l| l.service == *svc) {
            self.error(
                &rate_path,
                format!("Service {svc} already receives the request rate of an earlier workload"),
            );
            return Err(());
        }
        match crate::workload::request_rate_curve(rate) {
            Ok(curve) => Ok(Some(ServiceLoad { service: svc.clone(), requests_per_second_milli: curve })),
            Err(e) => {
                self.error(&rate_path, e);
                Err(())
            }
        }
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> FieldPath {
    use serde_ignored::Path;
    match path {
        Path::Root => FieldPath::root(),
        Path::Seq { parent, index } => ignored_path(parent).index(*index),
        Path::Map { parent, key } => ignored_path(parent).key(key),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}
