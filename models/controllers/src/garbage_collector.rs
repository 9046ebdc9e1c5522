//! Garbage collection through ownerReferences (`pkg/controller/garbagecollector/garbagecollector.go
//! :: attemptToDeleteItem, classifyReferences, processDeletingDependentsItem, orphanDependents`;
//! `graph_builder.go`).
//!
//! When an owner is deleted, the collector looks at each dependent's owner references:
//! * **dangling** — the owner is gone (deleted, never existed, different uid, or in another
//!   namespace than a namespaced dependent, or namespaced while the dependent is cluster-scoped);
//! * **solid** — the owner exists and is not being deleted.
//!
//! A dependent with no solid owner and at least one dangling one is deleted; one that still has a
//! solid owner keeps living and loses the dangling references (a patch). Deletion cascades level
//! by level, so deleting a Deployment removes its ReplicaSets and then their pods.
//!
//! Propagation policies:
//! * `Background` (default for most clients): the owner goes first, dependents follow wave by wave.
//! * `Foreground`: the owner gets a deletionTimestamp and stays until its dependents are gone;
//!   removal happens leaves first, the owner last.
//! * `Orphan`: only the owner is deleted; its direct dependents lose the reference and live on.
//!
//! Simplification (fidelity note): in Foreground, upstream waits only for dependents with
//! `blockOwnerDeletion: true` (controllers set it on the references they create); here every
//! dependent is waited for. Deletion timing (grace periods, watch delays) is the caller's.

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{ObjectMeta, OwnerReference};

/// One object of the graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcNode {
    /// `metadata.uid`.
    pub uid: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty when cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.ownerReferences`.
    pub owner_references: kubesim_api::Shared<Vec<OwnerReference>>,
}

impl GcNode {
    /// A node from an object's kind and metadata.
    pub fn from_meta(kind: &str, meta: &ObjectMeta) -> Self {
        GcNode {
            uid: meta.uid.to_string(),
            kind: kind.to_string(),
            namespace: meta.namespace.to_string(),
            name: meta.name.to_string(),
            owner_references: meta.owner_references.clone(),
        }
    }
}

/// `propagationPolicy` of the DELETE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Propagation {
    /// Owner first, dependents collected afterwards.
    #[default]
    Background,
    /// Dependents first, owner last.
    Foreground,
    /// Owner only; dependents keep living without the reference.
    Orphan,
}

/// What the collector does after an owner's deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// Uids removed from the store, in waves (each wave can go in parallel), in removal order.
    pub removal_waves: Vec<Vec<String>>,
    /// Dependents that survive, with the owner uids removed from their ownerReferences.
    pub owner_refs_removed: BTreeMap<String, Vec<String>>,
}

impl GcPlan {
    /// Every removed uid.
    pub fn removed(&self) -> BTreeSet<String> {
        self.removal_waves.iter().flatten().cloned().collect()
    }
}

/// The owner a reference points to, if it exists as referenced.
fn resolve<'a>(
    nodes: &BTreeMap<&str, &'a GcNode>,
    dependent: &GcNode,
    r: &OwnerReference,
) -> Option<&'a GcNode> {
    let owner = nodes.get(r.uid.as_str())?;
    let same_object = owner.kind == r.kind && owner.name == r.name;
    // A namespaced dependent's owner must be in its namespace (or cluster-scoped); a cluster-scoped
    // dependent cannot have a namespaced owner.
    let scope_ok = if dependent.namespace.is_empty() {
        owner.namespace.is_empty()
    } else {
        owner.namespace.is_empty() || owner.namespace == dependent.namespace
    };
    (same_object && scope_ok).then_some(*owner)
}

/// The plan for deleting `root_uid` from `graph` with `policy`. An unknown root yields an empty plan.
pub fn delete_cascade(graph: &[GcNode], root_uid: &str, policy: Propagation) -> GcPlan {
    let nodes: BTreeMap<&str, &GcNode> = graph.iter().map(|n| (n.uid.as_str(), n)).collect();
    let mut plan = GcPlan::default();
    if !nodes.contains_key(root_uid) {
        return plan;
    }
    if policy == Propagation::Orphan {
        plan.removal_waves.push(vec![root_uid.to_string()]);
        for n in graph {
            if n.owner_references.iter().any(|r| resolve(&nodes, n, r).is_some_and(|o| o.uid == root_uid)) {
                plan.owner_refs_removed.insert(n.uid.clone(), vec![root_uid.to_string()]);
            }
        }
        return plan;
    }

    let mut deleted: BTreeSet<String> = [root_uid.to_string()].into();
    let mut waves = vec![vec![root_uid.to_string()]];
    loop {
        let mut wave = Vec::new();
        for n in graph.iter().filter(|n| !deleted.contains(&n.uid) && !n.owner_references.is_empty()) {
            let owners: Vec<Option<&GcNode>> =
                n.owner_references.iter().map(|r| resolve(&nodes, n, r)).collect();
            let touched = owners.iter().flatten().any(|o| deleted.contains(&o.uid));
            let solid = owners.iter().flatten().any(|o| !deleted.contains(&o.uid));
            if touched && !solid {
                wave.push(n.uid.clone());
            }
        }
        if wave.is_empty() {
            break;
        }
        wave.sort();
        deleted.extend(wave.iter().cloned());
        waves.push(wave);
    }
    // Survivors that referenced a deleted owner: drop the dangling references.
    for n in graph.iter().filter(|n| !deleted.contains(&n.uid)) {
        let owners: Vec<Option<&GcNode>> = n.owner_references.iter().map(|r| resolve(&nodes, n, r)).collect();
        if !owners.iter().flatten().any(|o| deleted.contains(&o.uid)) {
            continue;
        }
        let dangling: Vec<String> = n
            .owner_references
            .iter()
            .zip(&owners)
            .filter(|(_, o)| o.is_none_or(|o| deleted.contains(&o.uid)))
            .map(|(r, _)| r.uid.clone())
            .collect();
        plan.owner_refs_removed.insert(n.uid.clone(), dangling);
    }
    if policy == Propagation::Foreground {
        waves.reverse();
    }
    plan.removal_waves = waves;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: &str, name: &str, owners: &[(&str, &str)]) -> GcNode {
        GcNode {
            uid: format!("uid-{name}"),
            kind: kind.into(),
            namespace: "default".into(),
            name: name.into(),
            owner_references: owners
                .iter()
                .map(|(k, n)| OwnerReference {
                    kind: (*k).into(),
                    name: (*n).into(),
                    uid: format!("uid-{n}"),
                    controller: true,
                })
                .collect(),
        }
    }

    fn deployment_graph() -> Vec<GcNode> {
        vec![
            node("Deployment", "web", &[]),
            node("ReplicaSet", "web-1", &[("Deployment", "web")]),
            node("ReplicaSet", "web-2", &[("Deployment", "web")]),
            node("Pod", "web-1-a", &[("ReplicaSet", "web-1")]),
            node("Pod", "web-2-a", &[("ReplicaSet", "web-2")]),
            node("Pod", "web-2-b", &[("ReplicaSet", "web-2")]),
            // Also owned by a live ConfigMap: survives and loses the dangling reference.
            node("Pod", "shared", &[("ReplicaSet", "web-2"), ("ConfigMap", "cfg")]),
            node("ConfigMap", "cfg", &[]),
            node("Pod", "unrelated", &[]),
        ]
    }

    fn uids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| format!("uid-{n}")).collect()
    }

    #[test]
    fn deleting_a_deployment_in_background_removes_replica_sets_then_pods() {
        let plan = delete_cascade(&deployment_graph(), "uid-web", Propagation::Background);
        assert_eq!(
            plan.removal_waves,
            vec![uids(&["web"]), uids(&["web-1", "web-2"]), uids(&["web-1-a", "web-2-a", "web-2-b"])]
        );
        assert_eq!(plan.owner_refs_removed, [("uid-shared".to_string(), uids(&["web-2"]))].into());
    }

    #[test]
    fn foreground_removes_leaves_first_and_the_owner_last() {
        let plan = delete_cascade(&deployment_graph(), "uid-web", Propagation::Foreground);
        assert_eq!(plan.removal_waves.first(), Some(&uids(&["web-1-a", "web-2-a", "web-2-b"])));
        assert_eq!(plan.removal_waves.last(), Some(&uids(&["web"])));
    }

    #[test]
    fn orphan_keeps_dependents_and_strips_the_reference() {
        let plan = delete_cascade(&deployment_graph(), "uid-web", Propagation::Orphan);
        assert_eq!(plan.removal_waves, vec![uids(&["web"])]);
        assert_eq!(plan.owner_refs_removed.keys().cloned().collect::<Vec<_>>(), uids(&["web-1", "web-2"]));
    }

    #[test]
    fn a_reference_across_namespaces_or_to_a_recreated_owner_is_dangling() {
        let mut g = deployment_graph();
        // A pod owned by web-1 and by a "ReplicaSet other" in another namespace: that reference is
        // dangling, so the pod has no solid owner left once web-1 goes.
        let mut other = node("ReplicaSet", "other", &[]);
        other.namespace = "prod".into();
        g.push(other);
        g.push(node("Pod", "cross", &[("ReplicaSet", "web-1"), ("ReplicaSet", "other")]));
        // A reference whose uid belongs to an object of another name does not resolve either.
        let mut renamed = node("Pod", "renamed", &[("ReplicaSet", "web-2"), ("ConfigMap", "cfg")]);
        renamed.owner_references[1].name = "cfg-old".into();
        g.push(renamed);
        let removed = delete_cascade(&g, "uid-web", Propagation::Background).removed();
        assert!(removed.contains("uid-cross"));
        assert!(removed.contains("uid-renamed"));
        assert!(
            !removed.contains("uid-unrelated")
                && !removed.contains("uid-cfg")
                && !removed.contains("uid-shared")
        );
    }

    #[test]
    fn deleting_an_unknown_object_plans_nothing() {
        assert_eq!(
            delete_cascade(&deployment_graph(), "uid-nope", Propagation::Background),
            GcPlan::default()
        );
    }
}
