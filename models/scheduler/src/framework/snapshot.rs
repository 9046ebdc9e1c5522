//! The cluster as the scheduler sees it: [`NodeInfo`]s by dense id plus upstream's node-tree order.
//!
//! The simulator schedules one pod at a time and updates this structure in place on bind, so the
//! snapshot *is* the cache (upstream copies the cache into a snapshot at the start of each cycle;
//! with no concurrent binding the two are identical).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use kubesim_api::meta::well_known;
use kubesim_api::{Node, ObjectKey};

use super::name_index::NameIndex;
use super::node_labels::NodeLabelCache;
use super::selector_counts::SelectorCounts;
use super::types::{pod_key_hash, ImageState, NodeId, NodeInfo, PodInfo};

/// Derived data ([`SelectorCounts`], [`NodeLabelCache`]) behind a lock because plugins fill it
/// through a shared `&Snapshot`. Cloning a snapshot clones it (it describes that snapshot).
#[derive(Debug, Default)]
struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    fn get(&self) -> MutexGuard<'_, T> {
        // A poisoned lock only means a panic elsewhere; the data itself is consistent between
        // calls (every update completes under the lock).
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T: Clone> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Mutex::new(self.get().clone()))
    }
}

/// Upstream `utilnode.GetZoneKey`: region and zone joined (`""` when the node has neither).
pub fn zone_key(node: &Node) -> String {
    let labels = &node.meta.labels;
    let region = labels.get(well_known::REGION).map(String::as_str).unwrap_or("");
    let zone = labels.get(well_known::ZONE).map(String::as_str).unwrap_or("");
    if region.is_empty() && zone.is_empty() {
        String::new()
    } else {
        format!("{region}:\x00:{zone}")
    }
}

/// Nodes by zone in the order zones first appeared (upstream `nodeTree`).
#[derive(Clone, Debug, Default)]
struct NodeTree {
    zones: Vec<(String, Vec<NodeId>)>,
}

impl NodeTree {
    fn add(&mut self, zone: &str, id: NodeId) {
        match self.zones.iter_mut().find(|(z, _)| z == zone) {
            Some((_, ids)) => ids.push(id),
            None => self.zones.push((zone.to_string(), vec![id])),
        }
    }

    fn remove(&mut self, zone: &str, id: NodeId) {
        if let Some(zi) = self.zones.iter().position(|(z, _)| z == zone) {
            self.zones[zi].1.retain(|n| *n != id);
            if self.zones[zi].1.is_empty() {
                self.zones.remove(zi);
            }
        }
    }

    /// Zones interleaved: first node of each zone, then the second of each, … (upstream `nodeTree.list`).
    fn list(&self, out: &mut Vec<NodeId>) {
        out.clear();
        let longest = self.zones.iter().map(|(_, ids)| ids.len()).max().unwrap_or(0);
        for i in 0..longest {
            for (_, ids) in &self.zones {
                if let Some(id) = ids.get(i) {
                    out.push(*id);
                }
            }
        }
    }
}

/// All nodes with their pods. Iterate in node-tree order with [`Snapshot::iter`] / [`Snapshot::order`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    slots: Vec<Option<NodeInfo>>,
    /// Per slot: holds a node (`slots[i].is_some()`), without touching the `NodeInfo`.
    live: Vec<bool>,
    free_slots: Vec<NodeId>,
    by_name: BTreeMap<String, NodeId>,
    /// `by_name` as a hash index, for [`Snapshot::id_of`].
    name_index: NameIndex,
    zone_of: Vec<String>,
    tree: NodeTree,
    order: Vec<NodeId>,
    order_dirty: bool,
    /// Where each assigned pod is, by its key's [`pod_key_hash`]: integer compares and 12 bytes
    /// an entry instead of a copy of the key. An entry is confirmed by finding the key among its
    /// node's pods; a pod whose fingerprint another assigned pod already holds here goes to
    /// `colliding` (see [`Snapshot::locate`]).
    pod_node: BTreeMap<u64, NodeId>,
    /// Assigned pods whose key fingerprint was taken in `pod_node` by another pod when they were
    /// added (in practice empty).
    colliding: BTreeMap<ObjectKey, NodeId>,
    /// Number of nodes having each normalised image name (upstream `ImageStateSummary.NumNodes`).
    image_nodes: BTreeMap<String, u32>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    /// Per slot: the stamp of the node's current content (see [`Snapshot::stamp`]).
    stamps: Vec<u64>,
    /// Per slot: the stamp of the node object alone (see [`Snapshot::node_stamp`]).
    node_stamps: Vec<u64>,
    /// The last stamp handed out; stamps start at 1 so 0 never matches a live node.
    last_stamp: u64,
    /// Bumped whenever the node count or the image summary changes (see [`Snapshot::image_generation`]).
    image_generation: u64,
    /// Namespaces, Services/controllers and PDBs that plugins read (filled by the Scheduler's
    /// owner; empty = none exist). Hook added by scheduler-adv, see `objects.rs`.
    pub objects: Arc<super::objects::ClusterObjects>,
    /// Matching-pod counts per node for the selectors plugins asked about.
    selector_counts: Shared<SelectorCounts>,
    /// Node label values by slot for the label keys plugins asked about.
    node_labels: Shared<NodeLabelCache>,
}

impl Snapshot {
    /// An empty cluster.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True with no nodes.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Node ids in node-tree order (zones interleaved in order of first appearance, nodes within a
    /// zone in insertion order).
    pub fn order(&self) -> &[NodeId] {
        debug_assert!(!self.order_dirty, "call refresh_order() after changing nodes");
        &self.order
    }

    /// Recomputes the node-tree order after node additions/removals/zone changes (cheap when clean).
    pub fn refresh_order(&mut self) {
        if self.order_dirty {
            self.tree.list(&mut self.order);
            self.order_dirty = false;
        }
    }

    /// The node with this id. Panics on a removed id (ids come from [`Snapshot::order`]).
    #[inline]
    pub fn node(&self, id: NodeId) -> &NodeInfo {
        self.slots[id.index()].as_ref().expect("node id of a removed node")
    }

    /// True if a node has this id: [`get`](Self::get) is `Some`, read from a dense per-slot
    /// array instead of the node's `NodeInfo` (which loops over many nodes would each miss).
    #[inline]
    pub fn is_live(&self, id: NodeId) -> bool {
        self.live.get(id.index()).copied().unwrap_or(false)
    }

    /// The node with this id, if it exists.
    pub fn get(&self, id: NodeId) -> Option<&NodeInfo> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    /// Mutable access. The node gets a fresh [`stamp`](Self::stamp) first, so whatever the caller
    /// changes, memoised per-node results computed before this call no longer match.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut NodeInfo> {
        if self.get(id).is_some() {
            // The caller may replace the node object too.
            self.restamp_node(id);
        }
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    /// [`node_mut`](Self::node_mut) for a change of the node's pods only: the node object (and
    /// so its [`node_stamp`](Self::node_stamp)) stays as it was.
    fn pods_mut(&mut self, id: NodeId) -> Option<&mut NodeInfo> {
        if self.get(id).is_some() {
            self.restamp(id);
        }
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    /// A value that changes whenever the node in this slot changes (node object, pods) and is
    /// never reused for that slot, even across node removal and re-addition: plugin results
    /// memoised under one stamp stay valid while the stamp does (see `framework::memo`).
    /// Unlike [`NodeInfo::generation`] it is drawn from one snapshot-wide counter.
    #[inline]
    pub fn stamp(&self, id: NodeId) -> u64 {
        self.stamps.get(id.index()).copied().unwrap_or(0)
    }

    /// Every slot's [`stamp`](Self::stamp) (a slot past the end has stamp 0).
    #[inline]
    pub(crate) fn stamps(&self) -> &[u64] {
        &self.stamps
    }

    /// Like [`stamp`](Self::stamp), but changes only when the node object in this slot may have
    /// changed (added, updated, removed, or handed out by [`node_mut`](Self::node_mut)), not
    /// when its pods do: what is derived from the node's labels alone (the
    /// [`NodeLabelCache`](super::NodeLabelCache) rows) stays valid while it does. Never reused
    /// for a slot.
    #[inline]
    pub fn node_stamp(&self, id: NodeId) -> u64 {
        self.node_stamps.get(id.index()).copied().unwrap_or(0)
    }

    /// Changes whenever [`len`](Self::len) or any [`image_num_nodes`](Self::image_num_nodes)
    /// may have changed: what ImageLocality reads beyond the node itself.
    pub fn image_generation(&self) -> u64 {
        self.image_generation
    }

    /// Number of slots: every live [`NodeId`] indexes below it.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    fn restamp(&mut self, id: NodeId) {
        self.last_stamp += 1;
        if self.stamps.len() <= id.index() {
            self.stamps.resize(id.index() + 1, 0);
        }
        self.stamps[id.index()] = self.last_stamp;
    }

    /// A fresh [`stamp`](Self::stamp) and [`node_stamp`](Self::node_stamp) (the same value).
    fn restamp_node(&mut self, id: NodeId) {
        self.restamp(id);
        if self.node_stamps.len() <= id.index() {
            self.node_stamps.resize(id.index() + 1, 0);
        }
        self.node_stamps[id.index()] = self.last_stamp;
    }

    /// The id of the node with this name.
    #[inline]
    pub fn id_of(&self, name: &str) -> Option<NodeId> {
        self.name_index.get(name, |id| self.get(id).map(NodeInfo::name))
    }

    /// The node with this name.
    pub fn get_by_name(&self, name: &str) -> Option<&NodeInfo> {
        self.id_of(name).map(|id| self.node(id))
    }

    /// All nodes in node-tree order.
    pub fn iter(&self) -> impl Iterator<Item = &NodeInfo> + '_ {
        self.order().iter().map(move |id| self.node(*id))
    }

    /// Number of nodes holding this normalised image.
    pub fn image_num_nodes(&self, normalized_name: &str) -> u32 {
        self.image_nodes.get(normalized_name).copied().unwrap_or(0)
    }

    /// Total pods with pod (anti-)affinity on all nodes: 0 lets InterPodAffinity skip its scans.
    pub fn num_pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// Total pods with required anti-affinity on all nodes.
    pub fn num_pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }

    /// The node an assigned pod is on.
    pub fn node_of_pod(&self, key: &ObjectKey) -> Option<NodeId> {
        self.locate(key, pod_key_hash(key)).map(|(id, _)| id)
    }

    /// The node of the assigned pod with this key (whose [`pod_key_hash`] is `hash`) and its
    /// position among the node's pods.
    fn locate(&self, key: &ObjectKey, hash: u64) -> Option<(NodeId, usize)> {
        let id = match self.colliding.get(key) {
            Some(id) => *id,
            None => *self.pod_node.get(&hash)?,
        };
        self.get(id)?.pod_position(key, hash).map(|at| (id, at))
    }

    /// Records that `pod` (whose key has [`pod_key_hash`] `hash`) is on node `id`, in place of
    /// any record of the same key.
    fn record_location(&mut self, pod: &PodInfo, hash: u64, id: NodeId) {
        if !self.colliding.is_empty() {
            if let Some(at) = self.colliding.get_mut(&pod.key()) {
                *at = id;
                return;
            }
        }
        match self.pod_node.get(&hash) {
            // The entry is another pod's: this one goes to the side map.
            Some(&held)
                if self.get(held).is_some_and(|n| n.pod_position_by(hash, |p| p.same_pod(pod)).is_none()) =>
            {
                self.colliding.insert(pod.key(), id);
            }
            _ => {
                self.pod_node.insert(hash, id);
            }
        }
    }

    /// Forgets where the pod with this key is (it is on node `id`, which still holds it).
    fn forget_location(&mut self, key: &ObjectKey, hash: u64) {
        if self.colliding.is_empty() || self.colliding.remove(key).is_none() {
            self.pod_node.remove(&hash);
        }
    }

    /// The per-node matching-pod counts (see [`SelectorCounts`]); register a selector with
    /// [`Snapshot::register_selector`] first. Pods must enter and leave nodes through
    /// [`add_pod`](Self::add_pod) / [`remove_pod`](Self::remove_pod) / [`remove_node`](Self::remove_node)
    /// (not through [`node_mut`](Self::node_mut)) for the counts to stay exact.
    pub fn selector_counts(&self) -> MutexGuard<'_, SelectorCounts> {
        self.selector_counts.get()
    }

    /// Interned label values of the nodes by slot, for the keys registered with
    /// [`NodeLabelCache::key_index`]; pass [`node_stamp`](Self::node_stamp) to `row`.
    pub fn node_labels(&self) -> MutexGuard<'_, NodeLabelCache> {
        self.node_labels.get()
    }

    /// Registers (namespace, selector) in [`selector_counts`](Self::selector_counts), counting the
    /// current pods once (only those on nodes holding its rarest required label pair), and
    /// returns the lock with its id. The id is valid until the next pod removal (which may evict
    /// a selector whose counts fell to zero).
    pub fn register_selector(
        &self,
        namespace: &str,
        selector: &kubesim_api::LabelSelector,
    ) -> (MutexGuard<'_, SelectorCounts>, super::selector_counts::SelectorId) {
        let mut counts = self.selector_counts.get();
        let id = match counts.id_of(namespace, selector) {
            Some(id) => id,
            None => counts.register(
                namespace,
                selector,
                |id| self.get(id).map(|info| info.pods.as_slice()),
                self.slots.iter().flatten().map(|info| (info.id, info.pods.as_slice())),
            ),
        };
        (counts, id)
    }

    fn count_images(&mut self, info_idx: NodeId, sign: i32) {
        let names: Vec<String> = self.node(info_idx).image_states.iter().map(|s| s.name.clone()).collect();
        for n in names {
            let e = self.image_nodes.entry(n.clone()).or_insert(0);
            *e = e.saturating_add_signed(sign);
            if *e == 0 {
                self.image_nodes.remove(&n);
            }
        }
    }

    /// Adds a node, or updates it if one with the same name exists. Returns its id.
    pub fn upsert_node(&mut self, node: Node) -> NodeId {
        let zone = zone_key(&node);
        if let Some(id) = self.id_of(&node.meta.name) {
            let old_images: Vec<ImageState> = self.node(id).image_states.clone();
            self.count_images(id, -1);
            let old_zone = std::mem::take(&mut self.zone_of[id.index()]);
            if old_zone != zone {
                self.tree.remove(&old_zone, id);
                self.tree.add(&zone, id);
                self.order_dirty = true;
            }
            self.zone_of[id.index()] = zone;
            if let Some(info) = self.node_mut(id) {
                info.set_node(Arc::new(node));
            }
            self.count_images(id, 1);
            if self.node(id).image_states != old_images {
                self.image_generation += 1;
            }
            return id;
        }
        let id = match self.free_slots.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                self.live.push(false);
                self.zone_of.push(String::new());
                NodeId((self.slots.len() - 1) as u32)
            }
        };
        self.by_name.insert(node.meta.name.to_string(), id);
        self.name_index.insert(&node.meta.name, id);
        self.tree.add(&zone, id);
        self.zone_of[id.index()] = zone;
        self.slots[id.index()] = Some(NodeInfo::new(id, Arc::new(node)));
        self.live[id.index()] = true;
        self.restamp_node(id);
        self.count_images(id, 1);
        self.image_generation += 1;
        self.order_dirty = true;
        id
    }

    /// Removes a node and forgets its pods. Returns the pods that were on it.
    pub fn remove_node(&mut self, name: &str) -> Vec<Arc<PodInfo>> {
        let Some(id) = self.by_name.remove(name) else { return Vec::new() };
        self.name_index.remove(name, id);
        self.count_images(id, -1);
        let zone = std::mem::take(&mut self.zone_of[id.index()]);
        self.tree.remove(&zone, id);
        let info = self.slots[id.index()].take().expect("node present");
        self.live[id.index()] = false;
        let counts = self.selector_counts.0.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        for p in &info.pods {
            if self.colliding.is_empty() || self.colliding.remove(&p.key()).is_none() {
                self.pod_node.remove(&p.key_hash());
            }
            counts.pod_removed(id, &p.pod);
        }
        for p in &info.pods {
            self.untrack_affinity(p, -1);
        }
        self.free_slots.push(id);
        self.restamp_node(id);
        self.image_generation += 1;
        self.order_dirty = true;
        info.pods
    }

    fn untrack_affinity(&mut self, pod: &PodInfo, sign: isize) {
        if pod.has_affinity() {
            self.pods_with_affinity = self.pods_with_affinity.saturating_add_signed(sign);
        }
        if pod.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity =
                self.pods_with_required_anti_affinity.saturating_add_signed(sign);
        }
    }

    /// Assigns a pod to a node (bound or assumed). Returns false if the node does not exist.
    pub fn add_pod(&mut self, id: NodeId, pod: Arc<PodInfo>) -> bool {
        if self.get(id).is_none() {
            return false;
        }
        self.record_location(&pod, pod.key_hash(), id);
        self.untrack_affinity(&pod, 1);
        self.selector_counts.get().pod_added(id, &pod.pod);
        if let Some(info) = self.pods_mut(id) {
            info.add_pod(pod);
        }
        true
    }

    /// Assigns a pod to a node in place of any earlier version of it, wherever that was: the same
    /// as [`remove_pod`](Self::remove_pod) then [`add_pod`](Self::add_pod). A new version on the
    /// same node with the same namespace, labels and terminating state (a status update) leaves
    /// the selector counts alone instead of taking the pod out and back in. Returns false (and
    /// changes nothing) if the node does not exist.
    pub fn replace_pod(&mut self, id: NodeId, pod: Arc<PodInfo>) -> bool {
        let Some(node) = self.get(id) else { return false };
        let hash = pod.key_hash();
        // The usual case, a new version of a pod already on this node (a status update): found
        // among the node's own pods without the key or the location index (a pod is on one
        // node at most, so this is where the index would point).
        let found = match node.pod_position_by(hash, |p| p.same_pod(&pod)) {
            Some(i) => Some((id, i)),
            None => self.locate(&pod.key(), hash),
        };
        let same_counts = match found {
            Some((at, i)) if at == id => {
                let (a, b) = (&self.node(id).pods[i].pod.meta, &pod.pod.meta);
                (a.namespace == b.namespace
                    && a.is_terminating() == b.is_terminating()
                    && a.labels == b.labels)
                    .then_some(i)
            }
            _ => None,
        };
        let Some(i) = same_counts else {
            if let Some((at, i)) = found {
                self.remove_found(at, i, hash, &pod);
            }
            return self.add_pod(id, pod);
        };
        if let Some(info) = self.pods_mut(id) {
            let old = info.remove_pod_at(i);
            self.untrack_affinity(&old, -1);
        }
        self.untrack_affinity(&pod, 1);
        if let Some(info) = self.pods_mut(id) {
            info.add_pod(pod);
        }
        true
    }

    /// [`remove_pod`](Self::remove_pod) of the pod found at position `i` of node `id`, the
    /// one with `pod`'s key (whose fingerprint is `hash`).
    fn remove_found(&mut self, id: NodeId, i: usize, hash: u64, pod: &PodInfo) {
        if self.colliding.is_empty() || self.colliding.remove(&pod.key()).is_none() {
            self.pod_node.remove(&hash);
        }
        let Some(info) = self.pods_mut(id) else { return };
        let old = info.remove_pod_at(i);
        self.untrack_affinity(&old, -1);
        self.selector_counts.get().pod_removed(id, &old.pod);
    }

    /// Removes an assigned pod wherever it is. Returns it and its node.
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<(NodeId, Arc<PodInfo>)> {
        let hash = pod_key_hash(key);
        let (id, i) = self.locate(key, hash)?;
        self.forget_location(key, hash);
        let pod = self.pods_mut(id)?.remove_pod_at(i);
        self.untrack_affinity(&pod, -1);
        self.selector_counts.get().pod_removed(id, &pod.pod);
        Some((id, pod))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, zone: Option<&str>) -> Node {
        let mut n = Node::default();
        n.meta.name = name.into();
        if let Some(z) = zone {
            n.meta.labels.insert(well_known::ZONE.into(), z.into());
        }
        n
    }

    fn names(s: &Snapshot) -> Vec<String> {
        s.iter().map(|n| n.name().to_string()).collect()
    }

    #[test]
    fn node_tree_interleaves_zones_in_order_of_first_appearance() {
        let mut s = Snapshot::new();
        for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a"), ("c1", "c"), ("b2", "b")] {
            s.upsert_node(node(n, Some(z)));
        }
        s.refresh_order();
        assert_eq!(names(&s), ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }

    #[test]
    fn the_node_stamp_moves_with_the_node_object_but_not_with_its_pods() {
        let mut s = Snapshot::new();
        let id = s.upsert_node(node("n1", Some("a")));
        let (stamp, node_stamp) = (s.stamp(id), s.node_stamp(id));
        assert_ne!(node_stamp, 0);
        let mut pod = kubesim_api::Pod::default();
        pod.meta.name = "p".into();
        pod.meta.namespace = "default".into();
        let key = pod.meta.key();
        s.add_pod(id, Arc::new(PodInfo::new(pod.clone(), Default::default())));
        pod.status.nominated_node_name = Some("x".into());
        s.replace_pod(id, Arc::new(PodInfo::new(pod, Default::default())));
        s.remove_pod(&key);
        // Three pod changes: three new stamps, the same node stamp.
        assert!(s.stamp(id) >= stamp + 3);
        assert_eq!(s.node_stamp(id), node_stamp);
        // A node update, mutable access, removal and re-use of the slot each give a new one.
        let mut seen = vec![node_stamp];
        s.upsert_node(node("n1", Some("b")));
        seen.push(s.node_stamp(id));
        s.node_mut(id);
        seen.push(s.node_stamp(id));
        s.remove_node("n1");
        seen.push(s.node_stamp(id));
        assert_eq!(s.upsert_node(node("n2", Some("a"))), id, "the slot is reused");
        seen.push(s.node_stamp(id));
        let mut distinct = seen.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), seen.len(), "{seen:?}");
        assert_eq!(s.node_stamp(id), s.stamp(id));
    }

    fn pod_named(name: &str, node: Option<&str>, app: &str) -> PodInfo {
        let mut pod = kubesim_api::Pod::default();
        pod.meta.name = name.into();
        pod.meta.namespace = "default".into();
        pod.meta.labels.insert("app".into(), app.into());
        pod.spec.node_name = node.map(str::to_string);
        PodInfo::new(pod, Default::default())
    }

    /// Adds, replaces (same node or another, labels changed or not) and removes pods and nodes
    /// as `ops` say, and checks after each step that every pod is found where a plain map says
    /// it is, and that each node holds exactly the pods the map puts there, in order.
    fn check_locations_against_a_plain_map(ops: &[(u8, u8, u8)]) {
        let nodes = ["n0", "n1", "n2"];
        let mut s = Snapshot::new();
        for n in nodes {
            s.upsert_node(node(n, Some("a")));
        }
        let mut model: BTreeMap<ObjectKey, (usize, Vec<usize>)> = BTreeMap::new();
        let mut order = 0usize;
        for &(op, pod, at) in ops {
            let name = format!("p{}", pod % 12);
            let n = usize::from(at) % nodes.len();
            let key = ObjectKey { namespace: "default".into(), name: name.clone().into() };
            match op % 4 {
                0 | 1 => {
                    let info = pod_named(&name, Some(nodes[n]), if op % 4 == 0 { "a" } else { "b" });
                    let id = s.id_of(nodes[n]);
                    let Some(id) = id else { continue };
                    assert!(s.replace_pod(id, Arc::new(info)));
                    order += 1;
                    model.insert(key, (n, vec![order]));
                }
                2 => {
                    let found = s.remove_pod(&key).map(|(id, p)| (id, p.key()));
                    let want = model.remove(&key).map(|(n, _)| (s.id_of(nodes[n]).expect("node"), key));
                    assert_eq!(found, want);
                }
                _ => {
                    // Remove a node and add it back empty (same slot).
                    let gone: Vec<ObjectKey> = s.remove_node(nodes[n]).iter().map(|p| p.key()).collect();
                    let want: Vec<ObjectKey> =
                        model.iter().filter(|(_, (m, _))| *m == n).map(|(k, _)| k.clone()).collect();
                    let mut gone_sorted = gone.clone();
                    gone_sorted.sort();
                    assert_eq!(gone_sorted, want);
                    model.retain(|_, (m, _)| *m != n);
                    s.upsert_node(node(nodes[n], Some("a")));
                }
            }
            for i in 0..12 {
                let key = ObjectKey { namespace: "default".into(), name: format!("p{i}").into() };
                let want = model.get(&key).map(|(n, _)| s.id_of(nodes[*n]).expect("node"));
                assert_eq!(s.node_of_pod(&key), want, "{key} after {ops:?}");
            }
            for (n, name) in nodes.iter().enumerate() {
                let mut want: Vec<(usize, ObjectKey)> =
                    model.iter().filter(|(_, (m, _))| *m == n).map(|(k, (_, o))| (o[0], k.clone())).collect();
                want.sort();
                let have: Vec<ObjectKey> =
                    s.get_by_name(name).expect("node").pods.iter().map(|p| p.key()).collect();
                assert_eq!(have, want.into_iter().map(|(_, k)| k).collect::<Vec<_>>(), "pods of {name}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn pods_are_found_where_they_were_put(ops in proptest::collection::vec((0u8..4, 0u8..12, 0u8..3), 0..60)) {
            check_locations_against_a_plain_map(&ops);
        }

        #[test]
        fn pods_are_found_where_they_were_put_when_fingerprints_collide(
            ops in proptest::collection::vec((0u8..4, 0u8..12, 0u8..3), 0..60),
        ) {
            super::super::types::test_collisions::ON.with(|c| c.set(true));
            check_locations_against_a_plain_map(&ops);
            super::super::types::test_collisions::ON.with(|c| c.set(false));
        }
    }

    #[test]
    fn nodes_without_zones_keep_input_order_and_removal_closes_gaps() {
        let mut s = Snapshot::new();
        for n in ["n1", "n2", "n3"] {
            s.upsert_node(node(n, None));
        }
        s.remove_node("n2");
        s.upsert_node(node("n4", None));
        s.refresh_order();
        assert_eq!(names(&s), ["n1", "n3", "n4"]);
        assert_eq!(s.len(), 3);
    }
}
