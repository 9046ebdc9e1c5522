//! The API store: the cluster's objects as the apiserver and etcd hold them.
//!
//! Objects live in ordered maps keyed by `namespace/name`, so every walk is deterministic. Each
//! write bumps a cluster-wide resourceVersion and stamps it on the object. Secondary indexes keep
//! the lookups controllers do on every sync cheap: pods by owner uid and by node.

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::autoscaling::HorizontalPodAutoscaler;
use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_api::services::Service;
use kubesim_api::{Deployment, Job, Node, ObjectKey, Pod, PriorityClass, ReplicaSet};

/// All objects of the simulated cluster.
#[derive(Debug, Default)]
pub struct ApiStore {
    resource_version: u64,
    uid_counter: u64,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    pods: BTreeMap<ObjectKey, Pod>,
    /// ReplicaSets.
    pub replica_sets: BTreeMap<ObjectKey, ReplicaSet>,
    /// Deployments.
    pub deployments: BTreeMap<ObjectKey, Deployment>,
    /// PriorityClasses by name.
    pub priority_classes: BTreeMap<String, PriorityClass>,
    /// HorizontalPodAutoscalers.
    pub hpas: BTreeMap<ObjectKey, HorizontalPodAutoscaler>,
    /// Services.
    pub services: BTreeMap<ObjectKey, Service>,
    /// PodDisruptionBudgets (status as the disruption controller last wrote it).
    pub pdbs: BTreeMap<ObjectKey, PodDisruptionBudget>,
    /// Jobs.
    pub jobs: BTreeMap<ObjectKey, Job>,
    pods_by_owner: BTreeMap<String, BTreeSet<ObjectKey>>,
    pods_by_node: BTreeMap<String, BTreeSet<ObjectKey>>,
}

impl ApiStore {
    /// The next resourceVersion (every write takes one).
    pub fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// A fresh deterministic uid.
    pub fn next_uid(&mut self, kind: &str) -> String {
        self.uid_counter += 1;
        format!("{}-{:08}", kind.to_ascii_lowercase(), self.uid_counter)
    }

    /// A pod by key.
    pub fn pod(&self, key: &ObjectKey) -> Option<&Pod> {
        self.pods.get(key)
    }

    /// All pods in key order.
    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    /// Number of pod objects (including terminating ones).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Keys of the pods whose controller owner has `uid`.
    pub fn pods_of_owner(&self, uid: &str) -> impl Iterator<Item = &Pod> {
        self.pods_by_owner.get(uid).into_iter().flatten().filter_map(|k| self.pods.get(k))
    }

    /// Pods bound to `node`.
    pub fn pods_on_node(&self, node: &str) -> impl Iterator<Item = &Pod> {
        self.pods_by_node.get(node).into_iter().flatten().filter_map(|k| self.pods.get(k))
    }

    /// Inserts or replaces a pod, keeping the indexes right.
    pub fn put_pod(&mut self, mut pod: Pod) {
        pod.meta.resource_version = self.next_resource_version();
        let key = pod.meta.key();
        if let Some(old) = self.pods.get(&key) {
            let (owner, node) = (owner_uid(old), old.spec.node_name.clone());
            self.unindex(&key, owner, node);
        }
        if let Some(owner) = owner_uid(&pod) {
            self.pods_by_owner.entry(owner).or_default().insert(key.clone());
        }
        if let Some(node) = &pod.spec.node_name {
            self.pods_by_node.entry(node.clone()).or_default().insert(key.clone());
        }
        self.pods.insert(key, pod);
    }

    /// Removes a pod object.
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<Pod> {
        let pod = self.pods.remove(key)?;
        self.unindex(key, owner_uid(&pod), pod.spec.node_name.clone());
        self.next_resource_version();
        Some(pod)
    }

    fn unindex(&mut self, key: &ObjectKey, owner: Option<String>, node: Option<String>) {
        if let Some(owner) = owner {
            if let Some(set) = self.pods_by_owner.get_mut(&owner) {
                set.remove(key);
                if set.is_empty() {
                    self.pods_by_owner.remove(&owner);
                }
            }
        }
        if let Some(node) = node {
            if let Some(set) = self.pods_by_node.get_mut(&node) {
                set.remove(key);
                if set.is_empty() {
                    self.pods_by_node.remove(&node);
                }
            }
        }
    }

    /// ReplicaSets whose controller owner has `uid`, in key order.
    pub fn replica_sets_of(&self, owner_uid: &str) -> Vec<&ReplicaSet> {
        self.replica_sets
            .values()
            .filter(|rs| rs.meta.controller_ref().is_some_and(|o| o.uid == owner_uid))
            .collect()
    }
}

fn owner_uid(pod: &Pod) -> Option<String> {
    pod.meta.controller_ref().map(|o| o.uid.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{ObjectMeta, OwnerReference};

    fn pod(name: &str, owner: &str, node: Option<&str>) -> Pod {
        let mut meta = ObjectMeta::named("default", name);
        meta.owner_references.push(OwnerReference {
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: owner.into(),
            controller: true,
        });
        let mut p = Pod { meta, ..Default::default() };
        p.spec.node_name = node.map(String::from);
        p
    }

    #[test]
    fn indexes_follow_rebinding_and_removal() {
        let mut s = ApiStore::default();
        s.put_pod(pod("a", "u1", None));
        s.put_pod(pod("b", "u1", Some("n1")));
        assert_eq!(s.pods_of_owner("u1").count(), 2);
        assert_eq!(s.pods_on_node("n1").count(), 1);
        s.put_pod(pod("a", "u1", Some("n2")));
        assert_eq!(s.pods_on_node("n2").count(), 1);
        s.remove_pod(&ObjectKey::new("default", "b"));
        assert_eq!(s.pods_on_node("n1").count(), 0);
        assert_eq!(s.pods_of_owner("u1").count(), 1);
        assert!(s.pod(&ObjectKey::new("default", "a")).unwrap().meta.resource_version > 0);
    }
}
