//! The API store: the cluster's objects as the apiserver and etcd hold them.
//!
//! Objects live in ordered maps keyed by `namespace/name`, so every walk is deterministic. Each
//! write bumps a cluster-wide resourceVersion and stamps it on the object. Secondary indexes keep
//! the lookups controllers do on every sync cheap: pods by owner uid and by node.
//!
//! Pods are held as `Arc<Pod>`, as an informer cache hands out shared pointers: controllers
//! that list a ReplicaSet's pods, and the kubelets the store's pods are given to, share one copy
//! instead of each taking a deep one. A write replaces the `Arc` (objects are never mutated in
//! place), so a holder of an old `Arc` keeps the version it read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kubesim_api::autoscaling::HorizontalPodAutoscaler;
use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_api::services::Service;
use kubesim_api::{Deployment, Job, Node, ObjectKey, Pod, PodPhase, PriorityClass, ReplicaSet};

use crate::object_map::{key_hash, ObjectMap};

/// All objects of the simulated cluster.
#[derive(Debug, Default)]
pub struct ApiStore {
    resource_version: u64,
    uid_counter: u64,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Pods by key, as their slot in `pod_slots`. The key is allocated once per pod and shared
    /// by every index below (a `PodKey` clone is a reference-count increment, not two strings).
    pods: BTreeMap<PodKey, u32>,
    /// The pods themselves, by slot: an index entry carries its pod's slot, so walking an index
    /// reads each pod directly instead of searching `pods` by key string. Free slots are reused
    /// (lowest freed last: `free_slots` is a stack); slots never leak into any answer's order.
    pod_slots: Vec<Option<Arc<Pod>>>,
    /// The shared key of the pod in each slot (`None` for a free slot).
    slot_keys: Vec<Option<PodKey>>,
    free_slots: Vec<u32>,
    /// Slots by the hash of their pod's key ([`key_hash`]): a lookup by key (every status write,
    /// every `pod(key)`) hashes the key once and compares one key's strings, where the ordered
    /// map compares about 17 keys at 150,000 pods. Only ever searched, never iterated, and the
    /// hash has no per-process seed: nothing about it can reach an answer's order.
    slot_by_key: hashbrown::HashTable<u32>,
    /// ReplicaSets. Read freely; add, replace and remove them through
    /// [`Self::put_replica_set`] and [`Self::remove_replica_set`], which keep the owner index.
    pub replica_sets: BTreeMap<ObjectKey, ReplicaSet>,
    /// ReplicaSet keys by their controller owner's uid: a Deployment sync lists its own
    /// ReplicaSets without walking all of them (a day of rollouts leaves thousands).
    replica_sets_by_owner: BTreeMap<String, BTreeSet<ObjectKey>>,
    /// The keys of ReplicaSets added, removed or given a new selector (not status writes) since the last [`Self::take_replica_set_selector_changes`], so
    /// that the scheduler's list is patched where a rollout touched it instead of compared with
    /// every ReplicaSet (thousands after a day of rollouts). `None`: not taken yet, or more
    /// changes than ReplicaSets piled up untaken; the reader then rebuilds the whole list.
    replica_set_selector_changes: Option<Vec<ObjectKey>>,
    /// Deployments.
    pub deployments: ObjectMap<Deployment>,
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
    /// Pods by controller owner uid and by node name: only searched (never walked), so hashed.
    pods_by_owner: ByName<BTreeSet<Indexed>>,
    pods_by_node: ByName<BTreeSet<Indexed>>,
    /// Label pairs by id: the pods carrying each (what selector lookups start from instead of
    /// walking every pod) and when one of them was last written.
    labels: LabelTable,
    /// Keys of the pods written or removed since the last [`Self::take_pod_changes`], once a
    /// reader asked for them ([`Self::track_pod_changes`]): the metrics pipeline revisits only
    /// those instead of walking every pod per scrape.
    pod_changes: Option<Vec<PodKey>>,
    /// Per node, the summed requests of the non-terminal pods bound to it, and the number of
    /// unbound and of Running pods: kept on every write so that sampling them costs per node,
    /// not per pod.
    node_requests: ByName<NodeRequests>,
    pods_unbound: usize,
    pods_running: usize,
}

/// A map by name that is only searched, never walked: a hashed lookup compares one name where
/// an ordered map of 5,000 node names compares a dozen. FxHash has no per-process seed.
type ByName<V> = hashbrown::HashMap<String, V, rustc_hash::FxBuildHasher>;

/// The requests of the non-terminal pods bound to one node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeRequests {
    /// Summed container CPU requests.
    pub cpu_millis: i64,
    /// Summed container memory requests.
    pub memory_bytes: i64,
    /// How many pods the sums are over.
    pub pods: usize,
}

/// What one pod adds to its node's [`NodeRequests`] (nothing when unbound or terminal).
fn node_share(pod: &Pod) -> Option<(&str, i64, i64)> {
    let node = pod.spec.node_name.as_deref()?;
    if matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed) {
        return None;
    }
    let (cpu, memory) = pod.spec.containers.iter().fold((0i64, 0i64), |(cpu, mem), c| {
        (cpu + c.resources.requests.cpu_millis(), mem + c.resources.requests.memory_bytes())
    });
    Some((node, cpu, memory))
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
    pub fn pod(&self, key: &ObjectKey) -> Option<&Arc<Pod>> {
        self.slot_of(&key.namespace, &key.name).map(|slot| self.slot(slot))
    }

    /// The slot of the pod `namespace/name`, through the hash index.
    fn slot_of(&self, namespace: &str, name: &str) -> Option<u32> {
        let keys = &self.slot_keys;
        self.slot_by_key
            .find(key_hash(namespace, name), |&slot| {
                keys[slot as usize].as_ref().is_some_and(|k| k.name == name && k.namespace == namespace)
            })
            .copied()
    }

    /// All pods in key order.
    pub fn pods(&self) -> impl Iterator<Item = &Arc<Pod>> {
        self.pods.values().map(|&slot| self.slot(slot))
    }

    /// The pod in `slot` (every slot the map or an index names is filled).
    fn slot(&self, slot: u32) -> &Arc<Pod> {
        self.pod_slots[slot as usize].as_ref().expect("an indexed pod slot is filled")
    }

    fn indexed<'a>(&'a self, set: &'a BTreeSet<Indexed>) -> impl Iterator<Item = &'a Arc<Pod>> + 'a {
        set.iter().map(|e| self.slot(e.slot))
    }

    /// Starts logging the keys of written and removed pods (idempotent).
    pub fn track_pod_changes(&mut self) {
        self.pod_changes.get_or_insert_with(Vec::new);
    }

    /// The keys of the pods written or removed since the last call (in write order, with
    /// repeats), or `None` when changes are not tracked. Tracking continues.
    pub fn take_pod_changes(&mut self) -> Option<Vec<kubesim_api::Shared<ObjectKey>>> {
        self.pod_changes.as_mut().map(std::mem::take)
    }

    /// All pods with their shared keys, in key order.
    pub fn pods_with_shared_keys(
        &self,
    ) -> impl Iterator<Item = (&kubesim_api::Shared<ObjectKey>, &Arc<Pod>)> {
        self.pods.iter().map(|(k, &slot)| (k, self.slot(slot)))
    }

    /// All pods with their keys, in key order (no key is built).
    pub fn pods_with_keys(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Pod>)> {
        self.pods.iter().map(|(k, &slot)| (&**k, self.slot(slot)))
    }

    /// Number of pod objects (including terminating ones).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Number of pods not bound to a node.
    pub fn unbound_pod_count(&self) -> usize {
        self.pods_unbound
    }

    /// Number of pods in phase Running.
    pub fn running_pod_count(&self) -> usize {
        self.pods_running
    }

    /// The requests of the non-terminal pods bound to `node` (zero for none).
    pub fn node_requests(&self, node: &str) -> NodeRequests {
        self.node_requests.get(node).copied().unwrap_or_default()
    }

    /// Moves the counts and node sums from `old` (the stored version, if any) to `new` (the
    /// version replacing it, if any).
    fn account(&mut self, old: Option<&Pod>, new: Option<&Pod>) {
        let counts = |p: Option<&Pod>| {
            p.map_or((0, 0), |p| {
                (usize::from(!p.is_bound()), usize::from(p.status.phase == PodPhase::Running))
            })
        };
        let ((old_unbound, old_running), (new_unbound, new_running)) = (counts(old), counts(new));
        self.pods_unbound = self.pods_unbound + new_unbound - old_unbound;
        self.pods_running = self.pods_running + new_running - old_running;
        let (old_share, new_share) = (old.and_then(node_share), new.and_then(node_share));
        if old_share == new_share {
            return;
        }
        if let Some((node, cpu, memory)) = old_share {
            if let Some(sums) = self.node_requests.get_mut(node) {
                sums.cpu_millis -= cpu;
                sums.memory_bytes -= memory;
                sums.pods -= 1;
                if sums.pods == 0 {
                    self.node_requests.remove(node);
                }
            }
        }
        if let Some((node, cpu, memory)) = new_share {
            let sums = match self.node_requests.get_mut(node) {
                Some(sums) => sums,
                None => self.node_requests.entry(node.to_string()).or_default(),
            };
            sums.cpu_millis += cpu;
            sums.memory_bytes += memory;
            sums.pods += 1;
        }
    }

    /// Keys of the pods whose controller owner has `uid`.
    pub fn pods_of_owner(&self, uid: &str) -> impl Iterator<Item = &Arc<Pod>> {
        self.pods_by_owner.get(uid).into_iter().flat_map(|set| self.indexed(set))
    }

    /// Pods bound to `node`.
    pub fn pods_on_node(&self, node: &str) -> impl Iterator<Item = &Arc<Pod>> {
        self.pods_by_node.get(node).into_iter().flat_map(|set| self.indexed(set))
    }

    /// Pods of `namespace` that `selector` matches, in key order (as a filter of [`Self::pods`]
    /// would give them), starting from the smallest label posting list of its `matchLabels`.
    pub fn pods_selected<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a kubesim_api::LabelSelector,
    ) -> impl Iterator<Item = &'a Arc<Pod>> + 'a {
        self.pods_selected_in_slots(namespace, selector).map(|(_, pod)| pod)
    }

    /// [`Self::pods_selected`], each pod with its slot: while no pod the selector selects is
    /// written or removed ([`Self::selected_pods_written_at`] unchanged), [`Self::pod_in_slot`]
    /// finds the same objects again, so a reader can keep slots instead of the pods themselves
    /// (keeping a pod would keep its old version alive once it is written).
    pub(crate) fn pods_selected_in_slots<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a kubesim_api::LabelSelector,
    ) -> Box<dyn Iterator<Item = (u32, &'a Arc<Pod>)> + 'a> {
        let in_namespace = move |p: &(u32, &Arc<Pod>)| p.1.meta.namespace == namespace;
        let matches = move |p: &(u32, &Arc<Pod>)| in_namespace(p) && selector.matches(&p.1.meta.labels);
        // A selector of one label pair and nothing else selects its posting list exactly.
        let one_pair = selector.match_labels.len() == 1 && selector.match_expressions.is_empty();
        let in_slots = |set: &'a BTreeSet<Indexed>| set.iter().map(|e| (e.slot, self.slot(e.slot)));
        match self.pods_with_labels(&selector.match_labels) {
            None => Box::new(self.pods.values().map(|&slot| (slot, self.slot(slot))).filter(matches)),
            Some(set) if one_pair => Box::new(in_slots(set).filter(in_namespace)),
            Some(set) => Box::new(in_slots(set).filter(matches)),
        }
    }

    /// The pod in `slot`, as [`Self::pods_selected_in_slots`] named it (`None`: the slot is free).
    pub(crate) fn pod_in_slot(&self, slot: u32) -> Option<&Arc<Pod>> {
        self.pod_slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Pods of `namespace` carrying every label of `labels` (a Service selector), in key order.
    /// An empty `labels` gives every pod of the namespace.
    pub fn pods_with_all_labels<'a>(
        &'a self,
        namespace: &'a str,
        labels: &'a kubesim_api::Labels,
    ) -> Box<dyn Iterator<Item = &'a Arc<Pod>> + 'a> {
        let in_namespace = move |p: &&Arc<Pod>| p.meta.namespace == namespace;
        let matches = move |p: &&Arc<Pod>| {
            in_namespace(p) && labels.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v))
        };
        match self.pods_with_labels(labels) {
            None => Box::new(self.pods().filter(matches)),
            // One label: its posting list is exactly the pods carrying it.
            Some(set) if labels.len() == 1 => Box::new(self.indexed(set).filter(in_namespace)),
            Some(set) => Box::new(self.indexed(set).filter(matches)),
        }
    }

    /// The smallest posting list among `labels` (`None` for no labels): a superset of the pods
    /// carrying all of them.
    fn pods_with_labels(&self, labels: &kubesim_api::Labels) -> Option<&BTreeSet<Indexed>> {
        static EMPTY: BTreeSet<Indexed> = BTreeSet::new();
        labels
            .iter()
            .map(|(k, v)| self.labels.id(k, v).map_or(&EMPTY, |id| &self.labels.pods[id.0 as usize]))
            .min_by_key(|set| set.len())
    }

    /// Inserts or replaces a pod, keeping the indexes right; returns the stored (shared) pod.
    pub fn put_pod(&mut self, mut pod: Pod) -> Arc<Pod> {
        pod.meta.resource_version = self.next_resource_version();
        let (key, old_slot) = match self.slot_of(&pod.meta.namespace, &pod.meta.name) {
            Some(slot) => {
                (self.slot_keys[slot as usize].clone().expect("a filled slot has its key"), Some(slot))
            }
            None => (PodKey::new(pod.meta.key()), None),
        };
        let slot = old_slot.unwrap_or_else(|| match self.free_slots.pop() {
            Some(free) => free,
            None => {
                self.pod_slots.push(None);
                self.slot_keys.push(None);
                u32::try_from(self.pod_slots.len() - 1).expect("fewer than 2^32 pods")
            }
        });
        let entry = Indexed { key: key.clone(), slot };
        let mut labels_unchanged = false;
        // Status writes (most writes) keep the owner and the node: their index entries stay.
        let mut placement_unchanged = false;
        if let Some(old) = old_slot.map(|s| self.slot(s)) {
            placement_unchanged = old.spec.node_name == pod.spec.node_name
                && old.meta.controller_ref().map(|o| &o.uid) == pod.meta.controller_ref().map(|o| &o.uid);
            labels_unchanged = old.meta.labels == pod.meta.labels;
            let old_labels = if labels_unchanged { None } else { Some(old.meta.labels.clone()) };
            if !placement_unchanged {
                let (owner, node) = (owner_uid(old), old.spec.node_name.clone());
                self.unindex(&key, owner, node);
            }
            if let Some(labels) = old_labels {
                // The pods carrying the old labels changed too (this one left them).
                self.stamp_labels(&labels, pod.meta.resource_version);
                self.unindex_labels(&key, &labels);
            }
        }
        if !placement_unchanged {
            if let Some(owner) = owner_uid(&pod) {
                self.pods_by_owner.entry(owner).or_default().insert(entry.clone());
            }
            if let Some(node) = &pod.spec.node_name {
                self.pods_by_node.entry(node.clone()).or_default().insert(entry.clone());
            }
        }
        if !labels_unchanged {
            for (k, v) in &pod.meta.labels {
                let id = self.labels.id_or_insert(k, v);
                self.labels.pods[id.0 as usize].insert(entry.clone());
            }
        }
        self.stamp_labels(&pod.meta.labels, pod.meta.resource_version);
        let pod = Arc::new(pod);
        let old = old_slot.and_then(|s| self.pod_slots[s as usize].clone());
        self.account(old.as_deref(), Some(&pod));
        if let Some(changes) = &mut self.pod_changes {
            changes.push(key.clone());
        }
        if old_slot.is_none() {
            self.slot_keys[slot as usize] = Some(key.clone());
            let keys = &self.slot_keys;
            self.slot_by_key.insert_unique(key_hash(&key.namespace, &key.name), slot, |&s| {
                let k = keys[s as usize].as_ref().expect("an indexed slot has its key");
                key_hash(&k.namespace, &k.name)
            });
            self.pods.insert(key, slot);
        }
        self.pod_slots[slot as usize] = Some(Arc::clone(&pod));
        pod
    }

    /// Removes a pod object.
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<Arc<Pod>> {
        let (shared_key, slot) = self.pods.remove_entry(key)?;
        let pod = self.pod_slots[slot as usize].take().expect("a stored pod's slot is filled");
        self.slot_keys[slot as usize] = None;
        if let Ok(entry) = self.slot_by_key.find_entry(key_hash(&key.namespace, &key.name), |&s| s == slot) {
            entry.remove();
        }
        self.free_slots.push(slot);
        self.account(Some(&pod), None);
        if let Some(changes) = &mut self.pod_changes {
            changes.push(shared_key);
        }
        let rv = self.next_resource_version();
        self.stamp_labels(&pod.meta.labels, rv);
        self.unindex(key, owner_uid(&pod), pod.spec.node_name.clone());
        self.unindex_labels(key, &pod.meta.labels);
        Some(pod)
    }

    fn stamp_labels(&mut self, labels: &kubesim_api::Labels, rv: u64) {
        for (k, v) in labels {
            let id = self.labels.id_or_insert(k, v);
            self.labels.written_at[id.0 as usize] = Some(rv);
        }
    }

    /// The id of the label pair `key=value`, once some pod has carried it.
    pub fn label_id(&self, key: &str, value: &str) -> Option<LabelId> {
        self.labels.id(key, value)
    }

    /// When a pod carrying the label `id` was last written or removed (`None`: no pod carries
    /// it now). The same as [`Self::selected_pods_written_at`] for a selector whose first
    /// `matchLabels` pair has this id.
    pub fn label_written_at(&self, id: LabelId) -> Option<u64> {
        self.labels.written_at.get(id.0 as usize).copied().flatten()
    }

    /// When a pod carrying `selector`'s first `matchLabels` pair was last written or removed
    /// (`None`: the selector has no `matchLabels`, or no pod carries the pair). Two equal stamps
    /// mean the pods `selector` selects are the same objects.
    pub fn selected_pods_written_at(&self, selector: &kubesim_api::LabelSelector) -> Option<u64> {
        let (key, value) = selector.match_labels.iter().next()?;
        self.label_written_at(self.label_id(key, value)?)
    }

    fn unindex_labels(&mut self, key: &ObjectKey, labels: &kubesim_api::Labels) {
        for (k, v) in labels {
            let Some(id) = self.labels.id(k, v) else { continue };
            let set = &mut self.labels.pods[id.0 as usize];
            set.remove(key);
            if set.is_empty() {
                self.labels.written_at[id.0 as usize] = None;
            }
        }
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
        let owned: Vec<&ReplicaSet> = self
            .replica_sets_by_owner
            .get(owner_uid)
            .into_iter()
            .flatten()
            .filter_map(|key| self.replica_sets.get(key))
            .collect();
        debug_assert!(
            owned.iter().map(|rs| rs.meta.key()).eq(self
                .replica_sets
                .values()
                .filter(|rs| rs.meta.controller_ref().is_some_and(|o| o.uid == owner_uid))
                .map(|rs| rs.meta.key())),
            "the owner index of ReplicaSets is stale: a ReplicaSet was written around put_replica_set"
        );
        owned
    }

    /// Adds or replaces a ReplicaSet (keyed by its metadata).
    pub fn put_replica_set(&mut self, rs: ReplicaSet) {
        let key = rs.meta.key();
        if self.replica_sets.get(&key).is_none_or(|old| old.selector != rs.selector) {
            self.note_replica_set_selector_change(&key);
        }
        self.unindex_replica_set(&key);
        if let Some(owner) = rs.meta.controller_ref() {
            self.replica_sets_by_owner.entry(owner.uid.clone()).or_default().insert(key.clone());
        }
        self.replica_sets.insert(key, rs);
    }

    /// Removes a ReplicaSet; whether it was there.
    pub fn remove_replica_set(&mut self, key: &ObjectKey) -> bool {
        self.unindex_replica_set(key);
        let removed = self.replica_sets.remove(key).is_some();
        if removed {
            self.note_replica_set_selector_change(key);
        }
        removed
    }

    fn note_replica_set_selector_change(&mut self, key: &ObjectKey) {
        let overflowing = self
            .replica_set_selector_changes
            .as_ref()
            .is_some_and(|changes| changes.len() > self.replica_sets.len().max(64));
        if overflowing {
            self.replica_set_selector_changes = None;
        }
        if let Some(changes) = &mut self.replica_set_selector_changes {
            changes.push(key.clone());
        }
    }

    /// The keys of ReplicaSets added, removed or given a new selector since the last call (in the
    /// order written, possibly repeated); `None` when the reader must rebuild from all
    /// ReplicaSets (the first call, or after more changes than ReplicaSets went untaken).
    pub fn take_replica_set_selector_changes(&mut self) -> Option<Vec<ObjectKey>> {
        self.replica_set_selector_changes.replace(Vec::new())
    }

    fn unindex_replica_set(&mut self, key: &ObjectKey) {
        let Some(owner) = self.replica_sets.get(key).and_then(|rs| rs.meta.controller_ref()) else { return };
        if let Some(keys) = self.replica_sets_by_owner.get_mut(&owner.uid) {
            keys.remove(key);
            if keys.is_empty() {
                self.replica_sets_by_owner.remove(&owner.uid);
            }
        }
    }
}

/// A label pair's id in the store (see [`ApiStore::label_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelId(u32);

/// Every label pair some pod has carried, by id (given on first use, never reused), with the
/// pods carrying it now and the resourceVersion of the last write or removal of one of them.
///
/// Pairs are found by hash ([`pair_hash`]): every pod write stamps each of its labels, and a
/// search of an ordered map of string pairs was a third of the cost of a status write. The
/// table is only searched, never iterated, and the hash has no per-process seed.
#[derive(Debug, Default)]
struct LabelTable {
    by_pair: hashbrown::HashTable<LabelId>,
    pairs: Vec<(String, String)>,
    /// Pods carrying each pair (empty once none does).
    pods: Vec<BTreeSet<Indexed>>,
    /// `None` while no pod carries the pair.
    written_at: Vec<Option<u64>>,
}

/// FxHash of a label pair (key, a byte no UTF-8 string contains, value); no per-process seed.
fn pair_hash(key: &str, value: &str) -> u64 {
    key_hash(key, value)
}

impl LabelTable {
    fn id(&self, key: &str, value: &str) -> Option<LabelId> {
        let pairs = &self.pairs;
        self.by_pair
            .find(pair_hash(key, value), |id| {
                let (k, v) = &pairs[id.0 as usize];
                k == key && v == value
            })
            .copied()
    }

    fn id_or_insert(&mut self, key: &str, value: &str) -> LabelId {
        if let Some(id) = self.id(key, value) {
            return id;
        }
        let id = LabelId(u32::try_from(self.pairs.len()).expect("fewer than 2^32 label pairs"));
        self.pairs.push((key.to_string(), value.to_string()));
        self.pods.push(BTreeSet::new());
        self.written_at.push(None);
        let pairs = &self.pairs;
        self.by_pair.insert_unique(pair_hash(key, value), id, |id| {
            let (k, v) = &pairs[id.0 as usize];
            pair_hash(k, v)
        });
        id
    }
}

/// A label pair as a map key that can be looked up by borrowed strings (no allocation per lookup).
pub(crate) trait LabelPair {
    fn pair(&self) -> (&str, &str);
}

impl LabelPair for (String, String) {
    fn pair(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl LabelPair for (&String, &String) {
    fn pair(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl LabelPair for (&str, &str) {
    fn pair(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> std::borrow::Borrow<dyn LabelPair + 'a> for (String, String) {
    fn borrow(&self) -> &(dyn LabelPair + 'a) {
        self
    }
}

impl PartialEq for dyn LabelPair + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.pair() == other.pair()
    }
}

impl Eq for dyn LabelPair + '_ {}

impl PartialOrd for dyn LabelPair + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn LabelPair + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // The same order as the `(String, String)` keys: by key, then value.
        self.pair().cmp(&other.pair())
    }
}

/// A pod's key as the store holds it: one allocation shared by the map and its indexes.
type PodKey = kubesim_api::Shared<ObjectKey>;

/// An index entry: the pod's key (the order, and what removal finds it by) and its slot (what a
/// walk of the index reads the pod from). The metrics pipeline's label lists use it too.
#[derive(Debug, Clone)]
pub(crate) struct Indexed {
    pub(crate) key: PodKey,
    pub(crate) slot: u32,
}

impl PartialEq for Indexed {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Indexed {}

impl PartialOrd for Indexed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Indexed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl std::borrow::Borrow<ObjectKey> for Indexed {
    fn borrow(&self) -> &ObjectKey {
        &self.key
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

    proptest::proptest! {
        /// Writes that keep or change a pod's owner and node, and removals, in any order: the
        /// owner and node indexes always equal a scan of the pods, and the change log names
        /// every written or removed key.
        #[test]
        fn indexes_equal_a_scan_and_every_change_is_logged(
            ops in proptest::collection::vec((0usize..5, 0usize..3, 0usize..3, proptest::bool::ANY, 0usize..2, 0usize..4), 1..60)
        ) {
            let mut s = ApiStore::default();
            s.track_pod_changes();
            let owners = ["u1", "u2", "u3"];
            let nodes = [None, Some("n1"), Some("n2")];
            for (who, owner, node, remove, app, phase) in ops {
                let name = format!("p{who}");
                let key = ObjectKey::new("default", &name);
                if remove {
                    let existed = s.remove_pod(&key).is_some();
                    let logged = s.take_pod_changes().unwrap();
                    proptest::prop_assert_eq!(logged.len(), usize::from(existed));
                } else {
                    let mut p = pod(&name, owners[owner], nodes[node]);
                    p.status.phase = [PodPhase::Pending, PodPhase::Running, PodPhase::Succeeded, PodPhase::Failed][phase];
                    p.spec.containers.push(kubesim_api::Container {
                        name: "c".into(),
                        resources: kubesim_api::ResourceRequirements {
                            requests: kubesim_api::ResourceList::new().with_cpu_millis(100 * (1 + who as i64)).with_memory_bytes(1 << 20),
                            ..Default::default()
                        },
                        ..Default::default()
                    });
                    p.meta.labels = [("app".to_string(), format!("a{app}")), ("tier".to_string(), "t".to_string())]
                        .into_iter()
                        .collect();
                    s.put_pod(p);
                    let logged = s.take_pod_changes().unwrap();
                    proptest::prop_assert!(logged.len() == 1 && *logged[0] == key);
                }
                // Lookups by key (the hash index) find exactly the pods a scan finds.
                for who in 0..5 {
                    let key = ObjectKey::new("default", &format!("p{who}"));
                    let scanned = s.pods().find(|p| p.meta.key() == key);
                    proptest::prop_assert_eq!(s.pod(&key).map(Arc::as_ptr), scanned.map(Arc::as_ptr));
                }
                proptest::prop_assert_eq!(s.pod(&ObjectKey::new("other", "p0")), None);
                for o in owners {
                    let mut indexed: Vec<String> = s.pods_of_owner(o).map(|p| p.meta.name.to_string()).collect();
                    let mut scanned: Vec<String> = s
                        .pods()
                        .filter(|p| owner_uid(p).as_deref() == Some(o))
                        .map(|p| p.meta.name.to_string())
                        .collect();
                    indexed.sort();
                    scanned.sort();
                    proptest::prop_assert_eq!(indexed, scanned);
                }
                for n in ["n1", "n2"] {
                    let mut indexed: Vec<String> = s.pods_on_node(n).map(|p| p.meta.name.to_string()).collect();
                    let mut scanned: Vec<String> = s
                        .pods()
                        .filter(|p| p.spec.node_name.as_deref() == Some(n))
                        .map(|p| p.meta.name.to_string())
                        .collect();
                    indexed.sort();
                    scanned.sort();
                    proptest::prop_assert_eq!(indexed, scanned);
                }
                proptest::prop_assert!(s.pods_by_owner.values().chain(s.pods_by_node.values()).all(|set| !set.is_empty()));
                // The counts and node sums equal a scan.
                proptest::prop_assert_eq!(s.unbound_pod_count(), s.pods().filter(|p| !p.is_bound()).count());
                proptest::prop_assert_eq!(
                    s.running_pod_count(),
                    s.pods().filter(|p| p.status.phase == PodPhase::Running).count()
                );
                for n in ["n1", "n2"] {
                    let mut want = NodeRequests::default();
                    for p in s.pods().filter(|p| p.spec.node_name.as_deref() == Some(n)) {
                        if let Some((_, cpu, memory)) = node_share(p) {
                            want.cpu_millis += cpu;
                            want.memory_bytes += memory;
                            want.pods += 1;
                        }
                    }
                    proptest::prop_assert_eq!(s.node_requests(n), want);
                }
                proptest::prop_assert!(s.node_requests.values().all(|r| r.pods > 0));
                // Every index walk reads the stored version of each pod, in key order.
                for o in owners {
                    for p in s.pods_of_owner(o) {
                        proptest::prop_assert!(Arc::ptr_eq(p, s.pod(&p.meta.key()).unwrap()));
                    }
                }
                for selector in [
                    kubesim_api::LabelSelector::from_labels([("app", "a0")]),
                    kubesim_api::LabelSelector::from_labels([("app", "a1"), ("tier", "t")]),
                ] {
                    let selected: Vec<&Arc<Pod>> = s.pods_selected("default", &selector).collect();
                    let scanned: Vec<&Arc<Pod>> = s.pods().filter(|p| selector.matches(&p.meta.labels)).collect();
                    proptest::prop_assert_eq!(selected.len(), scanned.len());
                    proptest::prop_assert!(selected.iter().zip(&scanned).all(|(a, b)| Arc::ptr_eq(a, b)));
                    proptest::prop_assert_eq!(
                        s.pods_with_all_labels("default", &selector.match_labels).count(),
                        scanned.len()
                    );
                    proptest::prop_assert_eq!(s.pods_selected("other", &selector).count(), 0);
                }
            }
        }
    }

    #[test]
    fn a_selectors_write_stamp_moves_only_when_a_pod_with_its_label_is_written_or_removed() {
        let mut s = ApiStore::default();
        let labelled = |name: &str, app: &str| {
            let mut p = pod(name, "u1", None);
            p.meta.labels = [("app".to_string(), app.to_string())].into_iter().collect();
            p
        };
        let sel = kubesim_api::LabelSelector::from_labels([("app", "x")]);
        assert_eq!(s.selected_pods_written_at(&sel), None);
        s.put_pod(labelled("a", "x"));
        let first = s.selected_pods_written_at(&sel).expect("a carries app=x");
        s.put_pod(labelled("b", "y"));
        assert_eq!(s.selected_pods_written_at(&sel), Some(first), "b does not carry app=x");
        s.put_pod(labelled("a", "x"));
        let second = s.selected_pods_written_at(&sel).unwrap();
        assert!(second > first);
        s.put_pod(labelled("c", "x"));
        s.remove_pod(&ObjectKey::new("default", "c"));
        assert!(s.selected_pods_written_at(&sel).unwrap() > second);
        s.put_pod(labelled("d", "x"));
        let before_relabel = s.selected_pods_written_at(&sel).unwrap();
        s.put_pod(labelled("d", "z"));
        assert!(s.selected_pods_written_at(&sel).unwrap() > before_relabel, "d left app=x");
        let id = s.label_id("app", "x").expect("pods carried app=x");
        assert_eq!(s.label_written_at(id), s.selected_pods_written_at(&sel));
        s.remove_pod(&ObjectKey::new("default", "a"));
        assert_eq!(s.selected_pods_written_at(&sel), None, "no pod carries app=x any more");
        assert_eq!(s.label_written_at(id), None);
        s.put_pod(labelled("e", "x"));
        assert_eq!(s.label_id("app", "x"), Some(id), "a pair keeps its id");
        assert!(s.label_written_at(id).is_some_and(|at| at > before_relabel));
        let no_labels = kubesim_api::LabelSelector::default();
        assert_eq!(s.selected_pods_written_at(&no_labels), None);
    }

    #[test]
    fn label_lookups_agree_with_a_filter_of_every_pod() {
        let mut s = ApiStore::default();
        for (name, app, tier) in [("a", "x", "1"), ("b", "y", "1"), ("c", "x", "2"), ("d", "x", "1")] {
            let mut p = pod(name, "u1", None);
            p.meta.labels = [("app".to_string(), app.to_string()), ("tier".to_string(), tier.to_string())]
                .into_iter()
                .collect();
            s.put_pod(p);
        }
        // Relabel d: it leaves app=x.
        let mut d = Pod::clone(s.pod(&ObjectKey::new("default", "d")).unwrap());
        d.meta.labels.insert("app".into(), "z".into());
        s.put_pod(d);
        let sel = kubesim_api::LabelSelector::from_labels([("app", "x"), ("tier", "1")]);
        let names: Vec<&str> = s.pods_selected("default", &sel).map(|p| p.meta.name.as_str()).collect();
        assert_eq!(names, ["a"]);
        let only_app: kubesim_api::Labels = [("app".to_string(), "x".to_string())].into_iter().collect();
        let names: Vec<&str> =
            s.pods_with_all_labels("default", &only_app).map(|p| p.meta.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(s.pods_selected("other", &sel).count(), 0);
        s.remove_pod(&ObjectKey::new("default", "a"));
        assert_eq!(s.pods_selected("default", &sel).count(), 0);
        let empty = kubesim_api::LabelSelector::default();
        assert_eq!(s.pods_selected("default", &empty).count(), 3);
    }
}
