//! `spec.events[]` → timed cluster [`Action`]s, one action per event (a zone outage: one per
//! node and direction).
//!
//! | event | action |
//! |---|---|
//! | `rollout: {deployment, image, container?}` | `Action::SetImage` |
//! | `scale: {deployment, replicas}` | `Action::Scale` |
//! | `stopKubelet` / `startKubelet: {node}` | `Action::StopKubelet` / `StartKubelet` |
//! | `deletePod: {pod}` | `Action::DeletePod` |
//! | `apply: {file}` / `apply: {objects}` | `Action::ApplyDeployment` per Deployment |
//! | `failNode` / `recoverNode: {node}` | `Action::CrashNode` / `RecoverNode` |
//! | `zoneOutage: {zone, duration}` | `Action::ZoneOutage` |
//! | `drain: {node}` | `Action::Drain` |
//! | `apply` of a Job | `Action::ApplyJob` |
//! | `apply` of a Service / HorizontalPodAutoscaler / PodDisruptionBudget | `Action::ApplyService` / `ApplyHpa` / `ApplyPdb` |

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kubesim_api::{Labels, ObjectKey, PodSpec, Shared};
use kubesim_cluster::Action;
use sim_core::{SimDuration, SimTime};

use crate::compile::{object_key, Checker, TimedAction};
use crate::format::{EventSpec, ManifestSource};
use crate::locate::FieldPath;

/// Whether the cluster can run Jobs (bare `Job` manifests).
pub(crate) const SUPPORTS_JOBS: bool = true;

/// What the scenario knows exists, for reference checks.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) nodes: BTreeSet<String>,
    pub(crate) zones: BTreeSet<String>,
    pub(crate) zone_nodes: BTreeMap<String, Vec<String>>,
    /// Deployments (`namespace/name`) present at the start or applied by an event.
    pub(crate) deployments: BTreeSet<String>,
    /// Pod templates: (owner `namespace/name`, labels, spec) for workload matching.
    pub(crate) templates: Vec<(String, Shared<Labels>, PodSpec)>,
    /// Images referenced, with the manifest location when they come from one.
    pub(crate) images: Vec<(String, Option<kubesim_manifests::Location>)>,
    /// Per deployment: when events change its template.
    pub(crate) rollout_starts: BTreeMap<String, Vec<SimTime>>,
    /// Per deployment: when it is created (0 for manifests, the event time for `apply`).
    pub(crate) created_at: BTreeMap<String, SimTime>,
    /// Services with a selector (manifests, then `apply` events): which pods' request load is a
    /// Service load.
    pub(crate) services: Vec<(ObjectKey, Labels)>,
}

impl World {
    /// Records a Service (once per key) for workload matching.
    pub(crate) fn add_service(&mut self, svc: &kubesim_api::services::Service) {
        let key = svc.meta.key();
        if let Some(sel) = svc.selector.as_ref().filter(|s| !s.is_empty()) {
            if !self.services.iter().any(|(k, _)| *k == key) {
                self.services.push((key, sel.clone()));
            }
        }
    }
}

/// The actions applying the loaded Services, PodDisruptionBudgets and HorizontalPodAutoscalers,
/// in input order, each checked (an HPA must scale a known Deployment).
pub(crate) fn apply_service_objects(
    c: &mut Checker<'_>,
    world: &World,
    loaded: &kubesim_manifests::Loaded,
    at: SimTime,
    out: &mut Vec<TimedAction>,
) {
    use kubesim_manifests::ObjectRef;
    for e in &loaded.entries {
        let (action, description) = match e.object {
            ObjectRef::Service(i) => {
                let svc = &loaded.services[i];
                (Action::ApplyService(Box::new(svc.clone())), format!("apply Service {}", svc.meta.key()))
            }
            ObjectRef::Pdb(i) => {
                let pdb = &loaded.pdbs[i];
                (
                    Action::ApplyPdb(Box::new(pdb.clone())),
                    format!("apply PodDisruptionBudget {}", pdb.meta.key()),
                )
            }
            ObjectRef::Hpa(i) => {
                let hpa = &loaded.hpas[i];
                let target = &hpa.scale_target_ref;
                let problem = if target.kind != "Deployment" {
                    Some(format!(
                        "not supported yet: the simulated HPA scales Deployments only (scaleTargetRef.kind {:?})",
                        target.kind
                    ))
                } else {
                    let key = ObjectKey::new(&hpa.meta.namespace, &target.name).to_string();
                    (!world.deployments.contains(&key)).then(|| {
                        let known: Vec<&str> = world.deployments.iter().map(String::as_str).collect();
                        format!(
                            "unknown deployment {key} (deployments: {})",
                            if known.is_empty() { "none".into() } else { known.join(", ") }
                        )
                    })
                };
                if let Some(message) = problem {
                    c.errors.push(crate::diag::Diagnostic {
                        file: e.location.file.clone(),
                        line: e.location.line,
                        field: Some(format!("{}: spec.scaleTargetRef", loaded.describe(e.object))),
                        message,
                    });
                    continue;
                }
                (
                    Action::ApplyHpa(Box::new(hpa.clone())),
                    format!("apply HorizontalPodAutoscaler {}", hpa.meta.key()),
                )
            }
            _ => continue,
        };
        out.push(TimedAction { at, action, description });
    }
}

const ACTIONS: &[&str] = &[
    "rollout",
    "scale",
    "failNode",
    "recoverNode",
    "zoneOutage",
    "apply",
    "stopKubelet",
    "startKubelet",
    "drain",
    "deletePod",
];

fn names_set(e: &EventSpec) -> Vec<&'static str> {
    let set = [
        e.rollout.is_some(),
        e.scale.is_some(),
        e.fail_node.is_some(),
        e.recover_node.is_some(),
        e.zone_outage.is_some(),
        e.apply.is_some(),
        e.stop_kubelet.is_some(),
        e.start_kubelet.is_some(),
        e.drain.is_some(),
        e.delete_pod.is_some(),
    ];
    ACTIONS.iter().zip(set).filter(|(_, s)| *s).map(|(n, _)| *n).collect()
}

/// Validates every event and maps it to actions, in file order.
pub(crate) fn compile_events(
    c: &mut Checker<'_>,
    events: &[EventSpec],
    path: &FieldPath,
    base: &Path,
    duration: SimDuration,
    world: &mut World,
) -> Vec<TimedAction> {
    let mut out = Vec::new();
    // Deployments applied by events exist from then on; collect them first so that a rollout
    // event of an applied deployment validates whatever the file order.
    let mut applied: Vec<(usize, kubesim_manifests::Loaded)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(apply) = &e.apply {
            let p = path.index(i).key("apply");
            let mut loaded = kubesim_manifests::Loaded::default();
            if let Some(file) = &apply.file {
                if let Some(l) = c.load_manifest(&ManifestSource::Path(file.clone()), base, &p.key("file")) {
                    loaded.extend(l);
                }
            }
            for (j, obj) in apply.objects.iter().enumerate() {
                if let Some(l) =
                    c.load_manifest(&ManifestSource::Inline(obj.clone()), base, &p.key("objects").index(j))
                {
                    loaded.extend(l);
                }
            }
            if apply.file.is_none() && apply.objects.is_empty() {
                c.error(&p, "needs file or objects");
            }
            c.check_manifest_kinds(&loaded, &p);
            for svc in &loaded.services {
                world.add_service(svc);
            }
            for j in &loaded.jobs {
                world.templates.push((
                    j.meta.key().to_string(),
                    j.template.labels.clone(),
                    j.template.spec.clone(),
                ));
            }
            for (j, d) in loaded.deployments.iter().enumerate() {
                world.deployments.insert(d.meta.key().to_string());
                world.templates.push((
                    d.meta.key().to_string(),
                    d.template.labels.clone(),
                    d.template.spec.clone(),
                ));
                let at = loaded.location_of(kubesim_manifests::ObjectRef::Deployment(j)).cloned();
                for ct in d.template.spec.containers.iter().chain(&d.template.spec.init_containers) {
                    world.images.push((ct.image.clone(), at.clone()));
                }
            }
            applied.push((i, loaded));
        }
    }
    for (i, e) in events.iter().enumerate() {
        let p = path.index(i);
        let at = SimTime::ZERO + e.at;
        if e.at > duration {
            c.warn(&p.key("at"), format!("after the end of the run ({duration}): never happens"));
        }
        let set = names_set(e);
        if set.len() != 1 {
            let msg = if set.is_empty() {
                format!("needs exactly one action ({})", ACTIONS.join(", "))
            } else {
                format!("has more than one action ({}): split it into one event each", set.join(", "))
            };
            c.error(&p, msg);
            continue;
        }
        let mut push =
            |action: Action, description: String| out.push(TimedAction { at, action, description });
        if let Some(r) = &e.rollout {
            let key = object_key(&r.deployment);
            if check_deployment(c, world, &key, &p.key("rollout").key("deployment")) {
                world.images.push((r.image.clone(), None));
                world.rollout_starts.entry(key.to_string()).or_default().push(at);
                push(
                    Action::SetImage {
                        deployment: key.clone(),
                        container: r.container.clone(),
                        image: r.image.clone(),
                    },
                    format!("rollout {key} → {}", r.image),
                );
            }
        } else if let Some(s) = &e.scale {
            let key = object_key(&s.deployment);
            if s.replicas < 0 {
                c.error(&p.key("scale").key("replicas"), "must not be negative");
            } else if check_deployment(c, world, &key, &p.key("scale").key("deployment")) {
                push(
                    Action::Scale { deployment: key.clone(), replicas: s.replicas },
                    format!("scale {key} to {}", s.replicas),
                );
            }
        } else if let Some(n) = &e.stop_kubelet {
            if check_node(c, world, &n.node, &p.key("stopKubelet").key("node")) {
                push(Action::StopKubelet(n.node.clone()), format!("stop kubelet on {}", n.node));
            }
        } else if let Some(n) = &e.start_kubelet {
            if check_node(c, world, &n.node, &p.key("startKubelet").key("node")) {
                push(Action::StartKubelet(n.node.clone()), format!("start kubelet on {}", n.node));
            }
        } else if let Some(d) = &e.delete_pod {
            let key = object_key(&d.pod);
            push(Action::DeletePod(key.clone()), format!("delete pod {key}"));
        } else if let Some(n) = &e.fail_node {
            if check_node(c, world, &n.node, &p.key("failNode").key("node")) {
                push(Action::CrashNode(n.node.clone()), format!("node {} fails", n.node));
            }
        } else if let Some(n) = &e.recover_node {
            if check_node(c, world, &n.node, &p.key("recoverNode").key("node")) {
                push(Action::RecoverNode(n.node.clone()), format!("node {} recovers", n.node));
            }
        } else if let Some(z) = &e.zone_outage {
            if !world.zones.contains(&z.zone) {
                let known: Vec<&str> = world.zones.iter().map(String::as_str).collect();
                c.error(
                    &p.key("zoneOutage").key("zone"),
                    format!(
                        "unknown zone {:?} (zones: {})",
                        z.zone,
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                );
            } else {
                push(
                    Action::ZoneOutage { zone: z.zone.clone(), duration: z.duration },
                    format!("zone {} out for {}", z.zone, z.duration),
                );
            }
        } else if let Some(n) = &e.drain {
            if check_node(c, world, &n.node, &p.key("drain").key("node")) {
                push(Action::Drain { node: n.node.clone() }, format!("drain {}", n.node));
            }
        } else if e.apply.is_some() {
            let Some((_, loaded)) = applied.iter().find(|(j, _)| *j == i) else { continue };
            for d in &loaded.deployments {
                let key = d.meta.key();
                match world.created_at.entry(key.to_string()) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        world.rollout_starts.entry(key.to_string()).or_default().push(at)
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(at);
                    }
                }
                push(Action::ApplyDeployment(Box::new(d.clone())), format!("apply Deployment {key}"));
            }
            for (j, _) in loaded.pods.iter().enumerate() {
                let loc = loaded.location_of(kubesim_manifests::ObjectRef::Pod(j));
                c.errors.push(crate::diag::Diagnostic {
                    file: loc.map(|l| l.file.clone()).unwrap_or_else(|| c.file.clone()),
                    line: loc.and_then(|l| l.line),
                    field: Some(loaded.describe(kubesim_manifests::ObjectRef::Pod(j))),
                    message: "not supported yet: applying a bare Pod during the run (put it in spec.manifests, or use a Deployment)".into(),
                });
            }
            for j in &loaded.jobs {
                push(Action::ApplyJob(Box::new(j.clone())), format!("apply Job {}", j.meta.key()));
            }
            apply_service_objects(c, world, loaded, at, &mut out);
            if !loaded.priority_classes.is_empty() || !loaded.nodes.is_empty() {
                c.error(
                    &p.key("apply"),
                    "not supported yet: applying Nodes or PriorityClasses during the run",
                );
            }
        }
    }
    out
}

fn check_deployment(c: &mut Checker<'_>, world: &World, key: &ObjectKey, path: &FieldPath) -> bool {
    if world.deployments.contains(&key.to_string()) {
        return true;
    }
    let known: Vec<&str> = world.deployments.iter().map(String::as_str).collect();
    c.error(
        path,
        format!(
            "unknown deployment {key} (deployments: {})",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ),
    );
    false
}

fn check_node(c: &mut Checker<'_>, world: &World, node: &str, path: &FieldPath) -> bool {
    if world.nodes.contains(node) {
        return true;
    }
    let mut known: Vec<&str> = world.nodes.iter().map(String::as_str).take(6).collect();
    if world.nodes.len() > 6 {
        known.push("…");
    }
    c.error(
        path,
        format!(
            "unknown node {node:?} (nodes: {})",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ),
    );
    false
}
