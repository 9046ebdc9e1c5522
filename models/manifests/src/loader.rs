//! Files, folders and text → [`Loaded`] objects, in input order, with warnings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kubesim_api::autoscaling::HorizontalPodAutoscaler;
use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_api::services::Service;
use kubesim_api::{Deployment, Job, Node, Pod, PriorityClass, ReplicaSet};
use serde::de::DeserializeOwned;
use yaml_serde::Value;

use crate::convert::{common::DEFAULT_NAMESPACE, node, pod, services, workloads};
use crate::documents::{self, decode, locate_type_error, str_at};
use crate::error::{Diagnostic, FieldError, LoadError, Location, Warning};

/// Which list of [`Loaded`] an entry points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectRef {
    /// `Loaded::nodes[i]`.
    Node(usize),
    /// `Loaded::pods[i]`.
    Pod(usize),
    /// `Loaded::priority_classes[i]`.
    PriorityClass(usize),
    /// `Loaded::deployments[i]`.
    Deployment(usize),
    /// `Loaded::replica_sets[i]`.
    ReplicaSet(usize),
    /// `Loaded::jobs[i]`.
    Job(usize),
    /// `Loaded::services[i]`.
    Service(usize),
    /// `Loaded::hpas[i]`.
    Hpa(usize),
    /// `Loaded::pdbs[i]`.
    Pdb(usize),
}

/// One loaded object, in input order, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The object.
    pub object: ObjectRef,
    /// Its file, document and line.
    pub location: Location,
}

/// Everything loaded from a set of files. Each list keeps input order (files in the order given,
/// folders in sorted path order, documents and `List` items in file order); `entries` records the
/// order across kinds.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// PriorityClasses.
    pub priority_classes: Vec<PriorityClass>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// ReplicaSets.
    pub replica_sets: Vec<ReplicaSet>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// Services (`v1`).
    pub services: Vec<Service>,
    /// HorizontalPodAutoscalers (`autoscaling/v2`).
    pub hpas: Vec<HorizontalPodAutoscaler>,
    /// PodDisruptionBudgets (`policy/v1`).
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Every object across kinds, in input order.
    pub entries: Vec<Entry>,
    /// Unknown fields, skipped kinds and other non-fatal findings.
    pub warnings: Vec<Warning>,
}

/// Kinds recognised as Kubernetes objects kubesim will model, but does not load yet: warned about
/// and skipped. (Empty today: Service, HorizontalPodAutoscaler and PodDisruptionBudget, once
/// listed here, are loaded.)
const RECOGNISED_UNSUPPORTED: [&str; 0] = [];

/// The served `apiVersion` and namespacing of each supported kind.
fn supported(kind: &str) -> Option<(&'static str, bool)> {
    Some(match kind {
        "Node" => ("v1", false),
        "Pod" => ("v1", true),
        "PriorityClass" => ("scheduling.k8s.io/v1", false),
        "Deployment" => ("apps/v1", true),
        "ReplicaSet" => ("apps/v1", true),
        "Job" => ("batch/v1", true),
        "Service" => ("v1", true),
        "HorizontalPodAutoscaler" => ("autoscaling/v2", true),
        "PodDisruptionBudget" => ("policy/v1", true),
        _ => return None,
    })
}

impl Loaded {
    /// The location an object was loaded from.
    pub fn location_of(&self, object: ObjectRef) -> Option<&Location> {
        self.entries.iter().find(|e| e.object == object).map(|e| &e.location)
    }

    /// True when nothing at all was loaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends `other` (its indices shifted), keeping order.
    pub fn extend(&mut self, other: Loaded) {
        let shift = |r: ObjectRef, s: &Loaded| match r {
            ObjectRef::Node(i) => ObjectRef::Node(i + s.nodes.len()),
            ObjectRef::Pod(i) => ObjectRef::Pod(i + s.pods.len()),
            ObjectRef::PriorityClass(i) => ObjectRef::PriorityClass(i + s.priority_classes.len()),
            ObjectRef::Deployment(i) => ObjectRef::Deployment(i + s.deployments.len()),
            ObjectRef::ReplicaSet(i) => ObjectRef::ReplicaSet(i + s.replica_sets.len()),
            ObjectRef::Job(i) => ObjectRef::Job(i + s.jobs.len()),
            ObjectRef::Service(i) => ObjectRef::Service(i + s.services.len()),
            ObjectRef::Hpa(i) => ObjectRef::Hpa(i + s.hpas.len()),
            ObjectRef::Pdb(i) => ObjectRef::Pdb(i + s.pdbs.len()),
        };
        let entries: Vec<Entry> = other
            .entries
            .into_iter()
            .map(|e| Entry { object: shift(e.object, self), location: e.location })
            .collect();
        self.entries.extend(entries);
        self.nodes.extend(other.nodes);
        self.pods.extend(other.pods);
        self.priority_classes.extend(other.priority_classes);
        self.deployments.extend(other.deployments);
        self.replica_sets.extend(other.replica_sets);
        self.jobs.extend(other.jobs);
        self.services.extend(other.services);
        self.hpas.extend(other.hpas);
        self.pdbs.extend(other.pdbs);
        self.warnings.extend(other.warnings);
    }

    /// `Kind namespace/name` of an entry, as diagnostics name it.
    pub fn describe(&self, object: ObjectRef) -> String {
        let (kind, meta) = match object {
            ObjectRef::Node(i) => ("Node", &self.nodes[i].meta),
            ObjectRef::Pod(i) => ("Pod", &self.pods[i].meta),
            ObjectRef::PriorityClass(i) => ("PriorityClass", &self.priority_classes[i].meta),
            ObjectRef::Deployment(i) => ("Deployment", &self.deployments[i].meta),
            ObjectRef::ReplicaSet(i) => ("ReplicaSet", &self.replica_sets[i].meta),
            ObjectRef::Job(i) => ("Job", &self.jobs[i].meta),
            ObjectRef::Service(i) => ("Service", &self.services[i].meta),
            ObjectRef::Hpa(i) => ("HorizontalPodAutoscaler", &self.hpas[i].meta),
            ObjectRef::Pdb(i) => ("PodDisruptionBudget", &self.pdbs[i].meta),
        };
        format!("{kind} {}", meta.key())
    }
}

/// Loads Kubernetes YAML (or JSON) text. `origin` names it in diagnostics (a file name).
pub fn load_str(text: &str, origin: &str) -> Result<Loaded, LoadError> {
    let mut out = Loaded::default();
    let docs = documents::split(text, origin).map_err(|e| {
        LoadError::Invalid(Box::new(Diagnostic {
            location: e.location,
            object: None,
            field: None,
            message: format!("invalid YAML: {}", e.message),
        }))
    })?;
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for doc in docs {
        load_value(doc.value, &doc.location, Some(text), "", &mut out, &mut seen)?;
    }
    Ok(out)
}

/// Loads files and folders: a folder contributes every `*.yaml`, `*.yml` and `*.json` file below
/// it, recursively, in sorted path order; a file is read whatever its extension. Objects keep the
/// order of `paths`. A name defined twice (same kind, namespace and name) is an error.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_manifest_files(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut out = Loaded::default();
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| io_error(&file, source))?;
        let origin = file.display().to_string();
        let docs = documents::split(&text, &origin).map_err(|e| {
            LoadError::Invalid(Box::new(Diagnostic {
                location: e.location,
                object: None,
                field: None,
                message: format!("invalid YAML: {}", e.message),
            }))
        })?;
        for doc in docs {
            load_value(doc.value, &doc.location, Some(&text), "", &mut out, &mut seen)?;
        }
    }
    Ok(out)
}

fn io_error(path: &Path, source: std::io::Error) -> LoadError {
    LoadError::Io { path: path.display().to_string(), source }
}

fn collect_manifest_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io_error(dir, source))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| io_error(&path, source))?;
        if file_type.is_dir() {
            collect_manifest_files(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn invalid(location: &Location, object: Option<String>, field: Option<String>, message: String) -> LoadError {
    LoadError::Invalid(Box::new(Diagnostic { location: location.clone(), object, field, message }))
}

/// Loads one document value (or one `List` item: then `text` is `None` and `prefix` is
/// `items[i].`, used only in messages about the item's envelope).
fn load_value(
    value: Value,
    location: &Location,
    text: Option<&str>,
    prefix: &str,
    out: &mut Loaded,
    seen: &mut BTreeMap<String, Location>,
) -> Result<(), LoadError> {
    if !value.is_mapping() {
        return Err(invalid(
            location,
            None,
            (!prefix.is_empty()).then(|| prefix.trim_end_matches('.').to_string()),
            "expected a Kubernetes object (a mapping with apiVersion and kind)".into(),
        ));
    }
    let Some(kind) = str_at(&value, &["kind"]).map(str::to_string) else {
        return Err(invalid(location, None, Some(format!("{prefix}kind")), "required".into()));
    };
    let api_version = str_at(&value, &["apiVersion"]).unwrap_or("").to_string();
    let name = str_at(&value, &["metadata", "name"]).unwrap_or("<unnamed>").to_string();

    if let Some(items) = value.get("items").and_then(Value::as_sequence).filter(|_| kind.ends_with("List")) {
        for (i, item) in items.iter().enumerate() {
            load_value(item.clone(), location, None, &format!("{prefix}items[{i}]."), out, seen)?;
        }
        return Ok(());
    }

    let Some((served_version, namespaced)) = supported(&kind) else {
        let message = if RECOGNISED_UNSUPPORTED.contains(&kind.as_str()) {
            "recognised kind, not supported yet: skipped".to_string()
        } else {
            "unknown kind: skipped".to_string()
        };
        out.warnings.push(Warning {
            location: location.clone(),
            object: Some(format!("{kind} {name}")),
            field: None,
            message,
        });
        return Ok(());
    };
    let namespace = if namespaced {
        str_at(&value, &["metadata", "namespace"]).filter(|n| !n.is_empty()).unwrap_or(DEFAULT_NAMESPACE)
    } else {
        ""
    };
    let object = if namespaced { format!("{kind} {namespace}/{name}") } else { format!("{kind} {name}") };
    if api_version != served_version {
        return Err(invalid(
            location,
            Some(object),
            Some(format!("{prefix}apiVersion")),
            format!("{api_version:?} is not served for {kind}: expected {served_version:?}"),
        ));
    }
    let duplicate_key = object.clone();
    if let Some(first) = seen.get(&duplicate_key) {
        return Err(invalid(
            location,
            Some(object),
            None,
            format!("defined twice (first at {first}, document {})", first.document),
        ));
    }
    seen.insert(duplicate_key, location.clone());

    let ctx = Ctx { location, text, object: &object };
    let mut unknown = Vec::new();
    let loaded_ref = match kind.as_str() {
        "Node" => ObjectRef::Node(ctx.load(value, &mut unknown, node::node, &mut out.nodes)?),
        "Pod" => ObjectRef::Pod(ctx.load(value, &mut unknown, pod::pod, &mut out.pods)?),
        "PriorityClass" => ObjectRef::PriorityClass(ctx.load(
            value,
            &mut unknown,
            workloads::priority_class,
            &mut out.priority_classes,
        )?),
        "Deployment" => ObjectRef::Deployment(ctx.load(
            value,
            &mut unknown,
            workloads::deployment,
            &mut out.deployments,
        )?),
        "ReplicaSet" => ObjectRef::ReplicaSet(ctx.load(
            value,
            &mut unknown,
            workloads::replica_set,
            &mut out.replica_sets,
        )?),
        "Service" => {
            ObjectRef::Service(ctx.load(value, &mut unknown, services::service, &mut out.services)?)
        }
        "HorizontalPodAutoscaler" => {
            ObjectRef::Hpa(ctx.load(value, &mut unknown, crate::autoscaling::hpa, &mut out.hpas)?)
        }
        "PodDisruptionBudget" => {
            ObjectRef::Pdb(ctx.load(value, &mut unknown, services::pdb, &mut out.pdbs)?)
        }
        _ => ObjectRef::Job(ctx.load(value, &mut unknown, workloads::job, &mut out.jobs)?),
    };
    for field in unknown {
        out.warnings.push(Warning {
            location: location.clone(),
            object: Some(object.clone()),
            field: Some(field),
            message: "unknown field: ignored".into(),
        });
    }
    out.entries.push(Entry { object: loaded_ref, location: location.clone() });
    Ok(())
}

/// What the per-kind steps need to word their errors.
struct Ctx<'a> {
    location: &'a Location,
    text: Option<&'a str>,
    object: &'a str,
}

impl Ctx<'_> {
    fn decode<T: DeserializeOwned>(&self, value: Value, unknown: &mut Vec<String>) -> Result<T, LoadError> {
        decode::<T>(value, unknown).map_err(|e| {
            let mut location = self.location.clone();
            if let Some(line) = self.text.and_then(|t| locate_type_error::<T>(t, location.document)) {
                location.line = Some(line);
            }
            invalid(&location, Some(self.object.to_string()), e.field, strip_location(&e.message))
        })
    }

    fn convert<T>(&self, r: Result<T, FieldError>) -> Result<T, LoadError> {
        r.map_err(|e| invalid(self.location, Some(self.object.to_string()), Some(e.field), e.message))
    }

    /// Decodes `value` as the k8s-openapi type `K`, converts it with `convert`, appends the result
    /// to `list` and returns its index.
    fn load<K: DeserializeOwned, T>(
        &self,
        value: Value,
        unknown: &mut Vec<String>,
        convert: fn(&K) -> Result<T, FieldError>,
        list: &mut Vec<T>,
    ) -> Result<usize, LoadError> {
        let typed: K = self.decode(value, unknown)?;
        list.push(self.convert(convert(&typed))?);
        Ok(list.len() - 1)
    }
}

fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
