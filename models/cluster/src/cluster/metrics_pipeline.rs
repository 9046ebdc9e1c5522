//! A metrics-server model: what the HPA controller can know about usage, and when.
//!
//! Every `metrics_resolution` (15 s, on a fixed grid of multiples of it) the pipeline scrapes
//! every kubelet: one point per running container of every Running pod, with the container's
//! start time. What it then serves as `metrics.k8s.io` PodMetrics follows metrics-server's
//! `storage/pod.go`: a container needs a *previous* point to have a rate —
//! * a container started less than one resolution but at least 10 s before the scrape uses its
//!   start time (zero usage) as the previous point (`freshContainerMinMetricsResolution`);
//! * otherwise the previous scrape's point, if the container had started before it (no restart);
//! * a pod is served only if every container has a previous point.
//!
//! The served PodMetrics carry `timestamp` = the scrape time and `window` = the time since the
//! previous point (15 s in steady state), and the HPA reads the *last* scrape: its view is up to
//! one resolution stale.
//!
//! Usage comes from the workload model: a container's CPU is its demand curve at the scrape
//! instant (offset since the container started), or for a request-driven demand
//! `base + per_request × rate`, where rate is its Service's offered load divided evenly over the
//! Service's ready endpoints (0 for a pod that is not one); capped by the container's CPU limit.
//! Memory is the working-set curve at the scrape instant (what the simulated runtime's `stats`
//! reports). The same scrape fills the `requests_per_second` Pods metric (custom metrics API) of
//! every running pod behind a loaded Service.
//!
//! A runtime that measures (the real backend's cgroup counters) replaces the modelled CPU with
//! metrics-server's own computation: the cumulative CPU difference between the two points over
//! their time difference.
//!
//! Approximation (fidelity note): metrics-server reports the *average* CPU rate between its two
//! points; here the demand at the scrape instant stands for that average. For piecewise-constant
//! demand the two differ only in the one window that contains a change.
//!
//! How a scrape stays cheap at scale (the values served are the same either way):
//! * **Usage classes** ([`super::usage_classes`]): a steady pod (every container rated against
//!   the previous scrape, curves settled) is served its class's sample, one per ReplicaSet and
//!   readiness rather than one per pod; [`MetricsMode::PerPod`] turns them off (the oracle).
//! * **Changed pods only**: the store logs the keys of the pods written or removed; a scrape
//!   revisits those, the pods without a class, and the classed pods whose Service's ready
//!   endpoints changed. The first scrape, a Service change or a large change set walk every pod.
//! * **Versioned answers**: every label list of the entries carries a version that moves when
//!   what is served for any of its pods may have changed, so an HPA reuses the PodMetrics it was
//!   given while its selector's list is unchanged.

use kubesim_api::autoscaling::{
    ContainerUsage, CustomMetricValue, DescribedObject, ExternalMetricValue, PodMetrics as ApiPodMetrics,
};
use kubesim_api::{ContainerState, LabelSelector, ObjectKey, Pod, PodPhase, ResourceList, Shared};
use kubesim_controllers::hpa::pod_name::PodName;
use kubesim_controllers::hpa::{ContainerMetrics, PodMetrics as SamplePodMetrics, ServedPodMetrics};

use super::usage_classes::{container_usage, settled, ClassMember, UsageClasses, NO_CLASS};
use super::*;
use crate::MetricsMode;

/// metrics-server's `freshContainerMinMetricsResolution`.
pub(super) const FRESH_CONTAINER_MIN: SimDuration = SimDuration::from_secs(10);

/// The name of the per-pod request-rate metric in the custom metrics API.
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";

/// One running container's point at the last scrape, and the usage served from it. Containers
/// are identified by their index in `spec.containers`: a pod's container list cannot change for a
/// given uid, and points are only reused under the same uid, so the index names the same container
/// as its name would (without a `String` per point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ContainerSample {
    index: u32,
    start: SimTime,
    /// The container's CPU limit (millicores) and its index in the pod's workload (init
    /// containers first): read from the pod object once, reused while the object is unchanged.
    cpu_limit_millis: Option<i64>,
    workload_index: u32,
    /// Cumulative CPU µs at the scrape, when the node's runtime measures it.
    cpu_usage_us: Option<u64>,
    /// (CPU millicores, memory bytes), when the container had a previous point to rate against.
    usage: Option<(i64, i64)>,
}

/// A pod seen with a running container by the last scrape: its points and what the metrics APIs
/// serve for it until the next scrape.
#[derive(Debug)]
struct Entry {
    /// The pod object as the scrape saw it (the store's `Arc`): the served PodMetrics' labels and
    /// container names come from it. Once the store writes the pod's status, the newer version
    /// (same labels, spec and uid) instead, marked `written`: holding the version the scrape saw
    /// until the next scrape would keep a second copy of every pod alive while pods start.
    pod: Arc<Pod>,
    /// The store wrote the pod since the scrape that made this entry: `pod` is a newer version
    /// than the scrape saw, so the next scrape must not take it for unchanged.
    written: bool,
    /// The store's key of the pod (shared with the store). Its name is what an HPA's read of a
    /// classed pod needs besides its class: read from here rather than kept inline in the entry
    /// (a 56-byte name per running pod, a third of the entry).
    key: Shared<ObjectKey>,
    /// The pod's usage class ([`NO_CLASS`]: served from `served`, if at all).
    class: u32,
    /// The running containers' points at the last scrape; empty for a classed pod, whose points
    /// are its pod object's running containers (read again if it leaves its class).
    samples: Box<[ContainerSample]>,
    /// The PodMetrics served for the pod, when every running container had a previous point and
    /// the pod is in no class, in the HPA decision core's form. Shared with the HPA syncs that
    /// read it and rewritten in place by the next scrape (no reader holds it by then).
    served: Option<Arc<SamplePodMetrics>>,
    /// The `requests_per_second` custom metric, for a pod behind a loaded Service (one with
    /// `resolved.load`; 0 for the others, which have none).
    rate_milli: i64,
    /// What the scrape derived from the pod object, reused while the pod is not written.
    resolved: Resolved,
}

impl Entry {
    fn key(&self) -> (&str, &str) {
        (&self.pod.meta.namespace, &self.pod.meta.name)
    }

    /// Whether `pod` is the very version the scrape that made this entry saw.
    fn saw(&self, pod: &Arc<Pod>) -> bool {
        Arc::ptr_eq(&self.pod, pod) && !self.written
    }

    /// Whether the metrics API serves the pod.
    fn is_served(&self) -> bool {
        self.served.is_some() || self.class != NO_CLASS
    }
}

/// What a scrape looks up from a pod's labels: its Service load and its workload. Both depend only
/// on the pod object (its resourceVersion names one write of it) and on the Services.
#[derive(Clone, Debug)]
struct Resolved {
    resource_version: u64,
    services_version: u64,
    /// Index into `config.service_loads`.
    load: Option<u32>,
    workload: Option<Arc<PodWorkload>>,
    /// Whether the pod was one of its load's Service's ready endpoints, as of that Service's
    /// `endpoints_changed_at` stamp, packed as `stamp << 1 | ready` (eight bytes, not sixteen);
    /// [`Resolved::UNCHECKED`] when not checked yet.
    ready_endpoint: u64,
}

impl Default for Resolved {
    fn default() -> Self {
        Resolved {
            resource_version: 0,
            services_version: 0,
            load: None,
            workload: None,
            ready_endpoint: Resolved::UNCHECKED,
        }
    }
}

impl Resolved {
    const UNCHECKED: u64 = u64::MAX;

    /// Whether the pod was a ready endpoint as of `stamp`, if checked then.
    fn ready_at(&self, stamp: u64) -> Option<bool> {
        (self.ready_endpoint != Self::UNCHECKED && self.ready_endpoint >> 1 == stamp)
            .then_some(self.ready_endpoint & 1 == 1)
    }

    /// Records whether the pod is a ready endpoint as of `stamp`.
    fn set_ready_at(&mut self, stamp: u64, ready: bool) {
        debug_assert!(stamp < 1 << 63, "stamps fit in 63 bits");
        self.ready_endpoint = stamp << 1 | u64::from(ready);
    }
}

/// The last scrape's entries. Each lives in a slot that keeps its number while the pod keeps
/// being scraped, so the key order and the label index are updated only when a pod appears,
/// disappears or is relabelled, never rebuilt per scrape.
#[derive(Debug, Default)]
struct Entries {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    /// Every entry in pod key order: what a scrape finds the entry of a changed pod by, and what
    /// the answers in key order walk.
    order: BTreeSet<crate::store::Indexed>,
    /// Every entry by the hash of its pod key ([`key_hash`](crate::object_map::key_hash)): a
    /// scrape finds the entries of the pods changed since the last one here, comparing one key
    /// instead of a path of `order` (a dozen keys at 150,000 pods). Only ever searched.
    by_key: hashbrown::HashTable<u32>,
    /// The entries without a usage class, by slot: rated anew every scrape.
    unclassed: BTreeSet<u32>,
    /// Slot numbers (in pod key order) by namespace and each label of the entry's pod, and those
    /// without labels: the HPA starts from its selector's smallest list in its namespace instead
    /// of every entry.
    by_label: LabelLists,
    unlabelled: Vec<u32>,
    /// The last version given to a label list.
    last_version: u64,
}

/// The label lists by (namespace, key, value), found by hash: every arrival, departure and
/// rewritten sample of a pod looks up each of its labels' lists, and every HPA sync its
/// selector's. Only ever searched (never walked but by tests), with no per-process seed.
///
/// The lists sit in slots, so that a reader that asks for one list again and again (an HPA for
/// its selector's, every sync) keeps a [`LabelHandle`] and skips the hashing and the three string
/// compares.
#[derive(Debug, Default)]
struct LabelLists {
    /// Slot by (namespace, key, value): searched only, so its hash order never reaches an answer.
    by_label: hashbrown::HashMap<(String, String, String), u32, rustc_hash::FxBuildHasher>,
    lists: Vec<Option<LabelList>>,
    /// Per slot, the stamp of the label that last took it (see [`LabelHandle`]).
    stamps: Vec<u64>,
    free: Vec<u32>,
    last_stamp: u64,
}

/// A label list's slot and the stamp of its label there: stale once the list is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LabelHandle {
    slot: u32,
    stamp: u64,
}

/// A borrowed (namespace, key, value): hashes as the owned triple does (a derived `Hash` hashes
/// each field in order, and a `String` hashes as its `str`).
#[derive(Hash)]
struct LabelRef<'a>(&'a str, &'a str, &'a str);

impl hashbrown::Equivalent<(String, String, String)> for LabelRef<'_> {
    fn equivalent(&self, key: &(String, String, String)) -> bool {
        self.2 == key.2 && self.1 == key.1 && self.0 == key.0
    }
}

impl LabelLists {
    fn slot(&self, namespace: &str, key: &str, value: &str) -> Option<u32> {
        self.by_label.get(&LabelRef(namespace, key, value)).copied()
    }

    fn get(&self, namespace: &str, key: &str, value: &str) -> Option<&LabelList> {
        self.slot(namespace, key, value).and_then(|slot| self.lists[slot as usize].as_ref())
    }

    fn get_mut(&mut self, namespace: &str, key: &str, value: &str) -> Option<&mut LabelList> {
        let slot = self.slot(namespace, key, value)?;
        self.lists[slot as usize].as_mut()
    }

    /// The list of the label, made when there is none.
    fn get_or_default(&mut self, namespace: &str, key: &str, value: &str) -> &mut LabelList {
        let slot = match self.slot(namespace, key, value) {
            Some(slot) => slot,
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.lists.push(None);
                    self.stamps.push(0);
                    u32::try_from(self.lists.len() - 1).expect("fewer than 2^32 label lists")
                });
                self.last_stamp += 1;
                self.stamps[slot as usize] = self.last_stamp;
                self.lists[slot as usize] = Some(LabelList::default());
                self.by_label.insert((namespace.to_string(), key.to_string(), value.to_string()), slot);
                slot
            }
        };
        self.lists[slot as usize].as_mut().expect("a listed slot is filled")
    }

    fn remove(&mut self, namespace: &str, key: &str, value: &str) {
        let Some(slot) = self.by_label.remove(&LabelRef(namespace, key, value)) else { return };
        self.lists[slot as usize] = None;
        self.last_stamp += 1;
        self.stamps[slot as usize] = self.last_stamp;
        self.free.push(slot);
    }

    /// The list of the label through `handle` when it still names it, else by label (and
    /// `handle` is set to the label's current handle).
    fn get_remembered(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
        handle: &mut Option<LabelHandle>,
    ) -> Option<&LabelList> {
        let live = |h: LabelHandle| self.stamps.get(h.slot as usize) == Some(&h.stamp);
        if let Some(h) = handle.filter(|&h| live(h)) {
            debug_assert_eq!(
                self.slot(namespace, key, value),
                Some(h.slot),
                "a handle is used for its own label"
            );
            return self.lists[h.slot as usize].as_ref();
        }
        *handle = self
            .slot(namespace, key, value)
            .map(|slot| LabelHandle { slot, stamp: self.stamps[slot as usize] });
        handle.and_then(|h| self.lists[h.slot as usize].as_ref())
    }

    /// Every label with its list (tests).
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (&(String, String, String), &LabelList)> {
        self.by_label
            .iter()
            .map(|(label, &slot)| (label, self.lists[slot as usize].as_ref().expect("filled")))
    }
}

/// The entries carrying one label, and a version that changes whenever what the metrics API
/// serves for any of them may have: an entry joins or leaves the list, its own sample is
/// rewritten, or it joins or leaves a usage class. Versions are unique across lists (one
/// counter), so a reader that kept what it built from a list at version `v` may reuse it while
/// the list is at `v`.
///
/// The entries are ordered by pod key in a B-tree: a label every pod carries (`tier: scale` at
/// full scale) makes a list of all of them, and a sorted vector moved its whole tail on each
/// arrival and departure.
#[derive(Debug, Default)]
struct LabelList {
    ids: BTreeSet<crate::store::Indexed>,
    version: u64,
}

impl LabelList {
    /// Gives the list the next version of the counter `last_version`.
    fn bump(&mut self, last_version: &mut u64) {
        *last_version += 1;
        self.version = *last_version;
    }
}

impl Entries {
    /// The entry of the pod `key`.
    fn find(&self, key: &ObjectKey) -> Option<u32> {
        let found = self.find_named(&key.namespace, &key.name);
        debug_assert_eq!(found, self.order.get::<ObjectKey>(key).map(|e| e.slot));
        found
    }

    /// The entry of the pod `namespace/name`.
    fn find_named(&self, namespace: &str, name: &str) -> Option<u32> {
        let slots = &self.slots;
        self.by_key
            .find(crate::object_map::key_hash(namespace, name), |&s| {
                slots[s as usize].as_ref().is_some_and(|e| e.key.name == name && e.key.namespace == namespace)
            })
            .copied()
    }

    fn get(&self, id: u32) -> &Entry {
        self.slots[id as usize].as_ref().expect("indexed slots are occupied")
    }

    fn get_mut(&mut self, id: u32) -> &mut Entry {
        self.slots[id as usize].as_mut().expect("indexed slots are occupied")
    }

    fn insert(&mut self, entry: Entry) -> u32 {
        let key = entry.key.clone();
        let unclassed = entry.class == NO_CLASS;
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(entry);
                id
            }
            None => {
                if self.slots.len() == self.slots.capacity() {
                    // Grow by a quarter, not double: at 150,000 pods a doubling leaves up to
                    // 150,000 empty ~200-byte slots.
                    self.slots.reserve_exact(self.slots.len() / 4 + 16);
                }
                self.slots.push(Some(entry));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pods")
            }
        };
        let slots = &self.slots;
        self.by_key.insert_unique(crate::object_map::key_hash(&key.namespace, &key.name), id, |&s| {
            let k = &slots[s as usize].as_ref().expect("indexed slots are occupied").key;
            crate::object_map::key_hash(&k.namespace, &k.name)
        });
        self.order.insert(crate::store::Indexed { key, slot: id });
        if unclassed {
            self.unclassed.insert(id);
        }
        self.index(id);
        id
    }

    /// Puts entry `id` in usage class `class` (or none), keeping `unclassed`.
    fn set_class(&mut self, id: u32, class: u32) {
        let entry = self.get_mut(id);
        let old = std::mem::replace(&mut entry.class, class);
        if old == class {
            return;
        }
        if old == NO_CLASS {
            self.unclassed.remove(&id);
        } else if class == NO_CLASS {
            self.unclassed.insert(id);
        }
    }

    /// Removes entry `id`, and its pod from its class.
    fn remove(&mut self, id: u32, classes: &mut UsageClasses) {
        self.unindex(id);
        if let Some(entry) = self.slots[id as usize].take() {
            classes.leave(entry.class);
            self.order.remove::<ObjectKey>(&entry.key);
            let hash = crate::object_map::key_hash(&entry.key.namespace, &entry.key.name);
            if let Ok(found) = self.by_key.find_entry(hash, |&s| s == id) {
                found.remove();
            }
            if entry.class == NO_CLASS {
                self.unclassed.remove(&id);
            }
        }
        self.free.push(id);
    }

    /// Replaces the pod of entry `id`, re-indexing it if its labels changed.
    fn set_pod(&mut self, id: u32, pod: &Arc<Pod>) {
        let entry = self.get_mut(id);
        entry.written = false;
        if Arc::ptr_eq(&entry.pod, pod) {
            return;
        }
        let relabelled = entry.pod.meta.labels != pod.meta.labels;
        if relabelled {
            self.unindex(id);
        }
        self.get_mut(id).pod = Arc::clone(pod);
        if relabelled {
            self.index(id);
        }
    }

    /// The position of `id` in `list` (kept in key order), or where it would go.
    fn position(slots: &[Option<Entry>], list: &[u32], id: u32) -> Result<usize, usize> {
        let key = slots[id as usize].as_ref().expect("occupied").key();
        list.binary_search_by(|&other| slots[other as usize].as_ref().expect("occupied").key().cmp(&key))
    }

    fn index(&mut self, id: u32) {
        let slots = &self.slots;
        let meta = &slots[id as usize].as_ref().expect("occupied").pod.meta;
        let labels = &meta.labels;
        if labels.is_empty() {
            if let Err(at) = Self::position(slots, &self.unlabelled, id) {
                self.unlabelled.insert(at, id);
            }
            return;
        }
        for (k, v) in labels {
            let list = self.by_label.get_or_default(&meta.namespace, k, v);
            let key = &slots[id as usize].as_ref().expect("occupied").key;
            list.ids.insert(crate::store::Indexed { key: key.clone(), slot: id });
            list.bump(&mut self.last_version);
        }
    }

    fn unindex(&mut self, id: u32) {
        let slots = &self.slots;
        let meta = &slots[id as usize].as_ref().expect("occupied").pod.meta;
        let labels = &meta.labels;
        if labels.is_empty() {
            if let Ok(at) = Self::position(slots, &self.unlabelled, id) {
                self.unlabelled.remove(at);
            }
            return;
        }
        for (k, v) in labels {
            let Some(list) = self.by_label.get_mut(&meta.namespace, k, v) else { continue };
            list.ids.remove::<ObjectKey>(&slots[id as usize].as_ref().expect("occupied").key);
            list.bump(&mut self.last_version);
            if list.ids.is_empty() {
                // Rollouts mint a label value (pod-template-hash) per ReplicaSet: drop spent ones.
                self.by_label.remove(&meta.namespace, k, v);
            }
        }
    }

    /// Marks what is served for entry `id` as changed (see [`LabelList`]).
    fn touch(&mut self, id: u32) {
        let meta = &self.slots[id as usize].as_ref().expect("occupied").pod.meta;
        for (k, v) in &meta.labels {
            if let Some(list) = self.by_label.get_mut(&meta.namespace, k, v) {
                list.bump(&mut self.last_version);
            }
        }
    }

    /// Every entry in key order.
    fn in_key_order(&self) -> impl Iterator<Item = &Entry> {
        self.order.iter().map(|e| self.get(e.slot))
    }

    /// The served entries in key order.
    fn served(&self) -> impl Iterator<Item = &Entry> {
        self.in_key_order().filter(|e| e.is_served())
    }
}

/// What a scrape needs of the Service loads, kept between scrapes: which loads share their
/// predecessor's curve, and each load's ready endpoint count and stamp. The loads never change
/// (they come with the config) and a Service's ready list changes only together with a new
/// stamp from one counter (`endpoints_changes`), so a scrape after no change reads nothing, and
/// one after a change reads the stamps in one pass and only the changed lists.
#[derive(Debug, Default)]
struct LoadsView {
    /// By load: whether its curve equals the previous load's. Scenarios stamp one load curve out
    /// for many Services (1,500 equal diurnal curves at full scale): such a load reuses the
    /// previous load's value instead of evaluating the curve again.
    same_curve_as_previous: Vec<bool>,
    /// By load: its Service's ready endpoint count and the stamp of its last change (0: none).
    endpoints: Vec<(usize, u64)>,
    /// The loads of each Service.
    loads_of: BTreeMap<ObjectKey, Vec<u32>>,
    /// `endpoints_changes` when `endpoints` was last brought up to date (`None`: not built yet).
    seen_changes: Option<u64>,
}

impl LoadsView {
    /// Each load's offered rate at `offset`.
    fn offered_rates(&self, loads: &[crate::config::ServiceLoad], offset: SimDuration) -> Vec<i64> {
        let mut offered: Vec<i64> = Vec::with_capacity(loads.len());
        for (load, &same) in loads.iter().zip(&self.same_curve_as_previous) {
            let value = match offered.last() {
                Some(&value) if same => value,
                _ => load.requests_per_second_milli.value_at(offset),
            };
            offered.push(value);
        }
        offered
    }
}

/// The pipeline's state. Each scrape updates the entries in place: a pod's entry keeps its slot and
/// allocations from one scrape to the next, and entries the scrape did not see are dropped.
#[derive(Debug, Default)]
pub(super) struct MetricsPipeline {
    timer: Option<EventId>,
    /// When the last scrape ran: the timestamp of every entry's points.
    scraped_at: Option<SimTime>,
    entries: Entries,
    classes: UsageClasses,
    /// The Services' version at the last scrape: a pod's load is re-resolved when it changed.
    services_version: u64,
    /// The loads' curves and ready endpoints as of the last scrape.
    loads: LoadsView,
}

impl MetricsPipeline {
    /// The store replaced `old` by `new` in a status write (same uid, labels and spec). An entry
    /// holding `old` takes `new` instead and is marked written, keeping what the next scrape
    /// reads of the version it saw: a classed entry's points are that version's running
    /// containers, copied out now. (Nothing else the entry serves until then depends on the
    /// status: labels, name and containers are the same in both versions.)
    pub(super) fn share_written_pod(&mut self, old: &Arc<Pod>, new: &Arc<Pod>) {
        let Some(id) = self.entries.find_named(&old.meta.namespace, &old.meta.name) else { return };
        let e = self.entries.get_mut(id);
        if !Arc::ptr_eq(&e.pod, old) {
            return;
        }
        debug_assert!(
            old.meta.uid == new.meta.uid
                && Shared::ptr_eq(&old.meta.labels, &new.meta.labels)
                && Shared::ptr_eq(&old.spec, &new.spec),
            "only a status write keeps what an entry serves"
        );
        if e.samples.is_empty() && !e.written {
            let mut points = Vec::new();
            running_samples(old, &mut points);
            e.samples = points.into_boxed_slice();
        }
        e.pod = Arc::clone(new);
        e.written = true;
    }

    /// The served PodMetrics the HPA's metrics client is given for a target in `namespace`
    /// selected by `selector` (`metrics/client.go`: PodMetrics listed by namespace and selector),
    /// in key order, in the decision core's sample form. A PodMetrics without labels (a pod
    /// without labels) is kept when `is_target_pod` accepts its name, as
    /// `from_api::snapshot_from_api` does.
    pub(super) fn served_for(
        &self,
        namespace: &str,
        selector: &LabelSelector,
        is_target_pod: impl Fn(&str) -> bool,
    ) -> Vec<ServedPodMetrics> {
        let entries = &self.entries;
        static NONE: BTreeSet<crate::store::Indexed> = BTreeSet::new();
        let smallest = selector
            .match_labels
            .iter()
            .map(|(k, v)| entries.by_label.get(namespace, k, v).map_or(&NONE, |list| &list.ids))
            .min_by_key(|ids| ids.len());
        // The labelled entries of a list are in the namespace, and a selector of one label and
        // nothing else matches every one of them by construction.
        let single_label = selector.match_labels.len() == 1 && selector.match_expressions.is_empty();
        // `listed`: taken from a label list of the namespace, so labelled and in the namespace
        // (a single-label selector then needs no look at the pod object at all).
        let served = |e: &Entry, listed: bool| {
            let sample = if e.class != NO_CLASS {
                ServedPodMetrics::Class { pod_name: PodName::from(e.key.name.as_str()), class: e.class }
            } else {
                ServedPodMetrics::Own(Arc::clone(e.served.as_ref()?))
            };
            let keep = if listed {
                single_label || selector.matches(&e.pod.meta.labels)
            } else if e.pod.meta.labels.is_empty() {
                e.pod.meta.namespace == namespace && is_target_pod(&e.pod.meta.name)
            } else {
                e.pod.meta.namespace == namespace && selector.matches(&e.pod.meta.labels)
            };
            keep.then_some(sample)
        };
        match smallest {
            None => entries.served().filter_map(|e| served(e, false)).collect(),
            Some(ids) if entries.unlabelled.is_empty() => {
                // Sized up front: the HPA keeps the list until its next sync, and a collect
                // through `filter_map` would grow it by doubling.
                let mut out = Vec::with_capacity(ids.len());
                out.extend(ids.iter().filter_map(|e| served(entries.get(e.slot), true)));
                out
            }
            Some(ids) => {
                // Unlabelled entries are never in a label list.
                let mut all: Vec<&Entry> = ids
                    .iter()
                    .map(|e| e.slot)
                    .chain(entries.unlabelled.iter().copied())
                    .map(|id| entries.get(id))
                    .collect();
                all.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
                all.into_iter().filter_map(|e| served(e, !e.pod.meta.labels.is_empty())).collect()
            }
        }
    }

    /// A version of what [`MetricsPipeline::served_for`] answers for `namespace` and `selector`
    /// that changes whenever the answer may: `Some` for a selector of one label and nothing else
    /// while every entry is labelled (the answer is then that label's list, whatever the target
    /// pods are), `None` when the answer must be computed.
    ///
    /// `handle` remembers where the selector's label list is between calls for one selector (see
    /// [`LabelLists`]); start it at `None`.
    pub(super) fn served_version(
        &self,
        namespace: &str,
        selector: &LabelSelector,
        handle: &mut Option<LabelHandle>,
    ) -> Option<u64> {
        let entries = &self.entries;
        if selector.match_labels.len() != 1
            || !selector.match_expressions.is_empty()
            || !entries.unlabelled.is_empty()
        {
            return None;
        }
        let pair = selector.match_labels.iter().next()?;
        let list = entries.by_label.get_remembered(namespace, pair.0, pair.1, handle)?;
        Some(list.version)
    }

    /// The usage classes' samples, which [`MetricsPipeline::served_for`]'s class entries index.
    pub(super) fn class_samples(&self) -> Arc<Vec<SamplePodMetrics>> {
        Arc::clone(self.classes.samples())
    }

    /// How many usage classes the last scrape left (a diagnostic).
    pub(super) fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The custom metrics API's Pods values (`requests_per_second` of every scraped pod behind a
    /// loaded Service), in pod key order.
    pub(super) fn custom_values(&self, resolution: SimDuration) -> Vec<CustomMetricValue> {
        let Some(timestamp) = self.scraped_at else { return Vec::new() };
        self.entries
            .in_key_order()
            .filter_map(|e| {
                let rate = if e.class == NO_CLASS {
                    e.resolved.load.map(|_| e.rate_milli)
                } else {
                    self.classes.rate(e.class)
                };
                rate.map(|rate| CustomMetricValue {
                    described_object: DescribedObject {
                        kind: "Pod".into(),
                        namespace: e.pod.meta.namespace.to_string(),
                        name: e.pod.meta.name.to_string(),
                    },
                    metric_name: REQUESTS_PER_SECOND.into(),
                    metric_labels: Default::default(),
                    timestamp,
                    window: resolution,
                    value_milli: rate,
                })
            })
            .collect()
    }

    /// The PodMetrics the resource metrics API serves, in pod key order.
    fn pod_metrics(&self) -> Vec<ApiPodMetrics> {
        self.entries
            .served()
            .filter_map(|e| {
                let sample = match &e.served {
                    _ if e.class != NO_CLASS => self.classes.sample(e.class),
                    Some(own) => own,
                    None => return None,
                };
                let mut meta = kubesim_api::ObjectMeta::named(&e.pod.meta.namespace, &e.pod.meta.name);
                meta.labels = e.pod.meta.labels.clone();
                Some(ApiPodMetrics {
                    meta,
                    timestamp: sample.timestamp,
                    window: sample.window,
                    containers: sample
                        .containers
                        .iter()
                        .map(|c| ContainerUsage { name: c.name.clone(), usage: c.usage.clone() })
                        .collect(),
                })
            })
            .collect()
    }
}

/// What one scrape computes once for all pods.
struct ScrapeContext<'a> {
    now: SimTime,
    resolution: SimDuration,
    previous_scrape: Option<SimTime>,
    any_node_measures: bool,
    /// Whether steady pods are served from usage classes.
    use_classes: bool,
    /// Each load's offered rate at this instant.
    offered: Vec<i64>,
    /// Each load's Service's ready endpoint count and its stamp.
    endpoints: &'a [(usize, u64)],
    /// Each load's Service's ready endpoints (sorted), read from `ready` on first use.
    ready_lists: Vec<std::cell::OnceCell<&'a [String]>>,
    loads: &'a [crate::config::ServiceLoad],
    ready: &'a BTreeMap<ObjectKey, Vec<String>>,
}

impl ScrapeContext<'_> {
    /// A pod's share of load `load`: its offered rate spread evenly over the Service's ready
    /// endpoints, 0 for a pod that is not one.
    fn share(&self, load: usize, ready_endpoint: bool) -> i64 {
        if ready_endpoint {
            self.offered[load] / self.endpoints[load].0 as i64
        } else {
            0
        }
    }

    /// Whether the pod `name` is one of load `load`'s ready endpoints (sorted by
    /// `sync_endpoints`).
    fn is_ready_endpoint(&self, load: usize, name: &str) -> bool {
        let list = self.ready_lists[load]
            .get_or_init(|| self.ready.get(&self.loads[load].service).map_or(&[][..], |v| v.as_slice()));
        list.binary_search_by(|endpoint| endpoint.as_str().cmp(name)).is_ok()
    }
}

/// A classed pod whose object and Services are unchanged keeps its class, unless its Service's
/// ready endpoints changed (`changed_loads`) and it joined or left them (re-checked by name,
/// without reading the pod object).
fn keep_classed(
    id: u32,
    changed_loads: &[bool],
    ctx: &ScrapeContext<'_>,
    entries: &mut Entries,
    classes: &mut UsageClasses,
) {
    let class = entries.get(id).class;
    let key = classes.key(class);
    let Some(load) = key.load.filter(|&l| changed_loads[l as usize]) else { return };
    let is_ready = ctx.is_ready_endpoint(load as usize, entries.get(id).key.name.as_str());
    if is_ready != key.ready {
        let class = classes.set_ready(class, is_ready);
        entries.set_class(id, class);
        entries.touch(id);
    }
}

/// Appends `pod`'s running containers to `out`: index, start, CPU limit and workload index, with
/// no CPU measured and no usage yet.
fn running_samples(pod: &Pod, out: &mut Vec<ContainerSample>) {
    let init_containers = pod.spec.init_containers.len();
    out.extend(pod.spec.containers.iter().enumerate().filter_map(|(i, c)| {
        let status = pod.status.container_statuses.iter().find(|s| s.name == c.name)?;
        let ContainerState::Running { started_at } = status.state else {
            return None;
        };
        Some(ContainerSample {
            index: u32::try_from(i).expect("fewer than 2^32 containers"),
            start: started_at,
            cpu_limit_millis: c.resources.limits.get(&kubesim_api::ResourceName::Cpu),
            workload_index: u32::try_from(init_containers + i).expect("fewer than 2^32 containers"),
            cpu_usage_us: None,
            usage: None,
        })
    }));
}

/// The served sample of `pod` whose running containers are `samples` (each with a usage),
/// rewriting `old` in place when it names the same containers (`same_pod`: it was built from
/// this very pod object, so it does).
fn served_sample(
    old: Option<Arc<SamplePodMetrics>>,
    same_pod: bool,
    pod: &Pod,
    samples: &[ContainerSample],
    timestamp: SimTime,
    window: SimDuration,
) -> Arc<SamplePodMetrics> {
    let name_of = |s: &ContainerSample| &pod.spec.containers[s.index as usize].name;
    let usage_of = |s: &ContainerSample| s.usage.unwrap_or_default();
    if let Some(mut arc) = old {
        let m = Arc::make_mut(&mut arc);
        let same_containers = same_pod
            || m.containers.len() == samples.len()
                && m.containers.iter().zip(samples).all(|(c, s)| c.name == *name_of(s));
        if same_containers && (same_pod || *m.pod_name == *pod.meta.name) {
            m.timestamp = timestamp;
            m.window = window;
            for (c, s) in m.containers.iter_mut().zip(samples) {
                let (cpu, memory) = usage_of(s);
                c.usage.set(kubesim_api::ResourceName::Cpu, cpu);
                c.usage.set(kubesim_api::ResourceName::Memory, memory);
            }
            return arc;
        }
    }
    Arc::new(SamplePodMetrics {
        pod_name: pod.meta.name.as_str().into(),
        timestamp,
        window,
        containers: samples
            .iter()
            .map(|s| {
                let (cpu, memory) = usage_of(s);
                ContainerMetrics {
                    name: name_of(s).clone(),
                    usage: ResourceList::new().with_cpu_millis(cpu).with_memory_bytes(memory),
                }
            })
            .collect(),
    })
}

impl<W: Write> World<W> {
    /// Starts the scrape loop (idempotent): the first scrape is at the next multiple of the
    /// resolution at or after `now`.
    pub(super) fn ensure_metrics_running(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        if self.ctl.metrics.timer.is_some() {
            return;
        }
        self.store.track_pod_changes();
        let res = self.config.metrics_resolution.as_nanos().max(1);
        let at = SimTime::from_nanos(now.as_nanos().div_ceil(res) * res);
        self.ctl.metrics.timer =
            Some(q.schedule_at(at, Event::Ctl(CtlEvent::MetricsScrape)).expect("not in the past"));
    }

    /// The first load (in config order) whose Service selects the pod; only the loads indexed
    /// under one of the pod's labels can.
    fn pod_load(&self, pod: &Pod) -> Option<usize> {
        self.ctl.load_index.candidates(&pod.meta.labels).into_iter().find(|&i| {
            let l = &self.config.service_loads[i];
            l.service.namespace == pod.meta.namespace
                && self.store.services.get(&l.service).is_some_and(|s| {
                    s.selector.as_ref().is_some_and(|sel| {
                        !sel.is_empty() && sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v))
                    })
                })
        })
    }

    /// A load's Service's ready endpoint count and the stamp of their last change.
    fn load_endpoints(&self, load: usize) -> (usize, u64) {
        let service = &self.config.service_loads[load].service;
        let ready = self.ctl.endpoints.get(service).map_or(0, Vec::len);
        (ready, self.ctl.endpoints_changed_at.get(service).copied().unwrap_or(0))
    }

    /// Brings `view` up to date with the loads' ready endpoints; returns, by load, whether its
    /// stamp moved since the last call.
    fn update_loads_view(&self, view: &mut LoadsView) -> Vec<bool> {
        let loads = &self.config.service_loads;
        let changes = self.ctl.endpoints_changes;
        let mut changed = vec![false; loads.len()];
        match view.seen_changes {
            None => {
                view.same_curve_as_previous = (0..loads.len())
                    .map(|i| {
                        i.checked_sub(1).is_some_and(|j| {
                            loads[j].requests_per_second_milli == loads[i].requests_per_second_milli
                        })
                    })
                    .collect();
                view.endpoints = (0..loads.len()).map(|l| self.load_endpoints(l)).collect();
                for (l, load) in loads.iter().enumerate() {
                    let l = u32::try_from(l).expect("fewer than 2^32 loads");
                    view.loads_of.entry(load.service.clone()).or_default().push(l);
                }
                changed.fill(true);
            }
            Some(seen) if seen == changes => {}
            Some(seen) => {
                // Each change stamps its Service with the counter's new value: the Services
                // changed since are those stamped after `seen`.
                for (service, &stamp) in &self.ctl.endpoints_changed_at {
                    if stamp <= seen {
                        continue;
                    }
                    let Some(of) = view.loads_of.get(service) else { continue };
                    let ready = self.ctl.endpoints.get(service).map_or(0, Vec::len);
                    for &l in of {
                        view.endpoints[l as usize] = (ready, stamp);
                        changed[l as usize] = true;
                    }
                }
            }
        }
        view.seen_changes = Some(changes);
        if cfg!(debug_assertions) {
            let fresh: Vec<(usize, u64)> = (0..loads.len()).map(|l| self.load_endpoints(l)).collect();
            assert_eq!(view.endpoints, fresh, "the kept ready endpoint counts are the Services' own");
        }
        changed
    }

    /// [`Resolved`] for `pod`, reusing `previous` when neither the pod nor the Services changed.
    /// `unchanged`: `previous` was resolved from this very object (the caller compared the
    /// `Arc`s), so its resourceVersion need not be read: for most pods of a scrape that read
    /// would be the only touch of the pod object, a cache miss each.
    fn resolve(&self, pod: &Pod, unchanged: bool, previous: Option<Resolved>) -> Resolved {
        let services_version = self.ctl.services_version;
        match previous {
            Some(r)
                if r.services_version == services_version
                    && (unchanged || r.resource_version == pod.meta.resource_version) =>
            {
                r
            }
            _ => Resolved {
                resource_version: pod.meta.resource_version,
                services_version,
                load: self.pod_load(pod).map(|l| u32::try_from(l).expect("fewer than 2^32 loads")),
                workload: self.workload_for(pod),
                ready_endpoint: Resolved::UNCHECKED,
            },
        }
    }

    /// The cumulative CPU µs of `pod`'s running container `name` if its node's runtime measures it.
    fn measured_cpu_usage_us(&self, pod: &Pod, key: &ObjectKey, name: &str) -> Option<u64> {
        let node = *self.node_index.get(pod.spec.node_name.as_deref()?)?;
        let slot = &self.nodes[node as usize];
        if !slot.runtime.measures_cpu_usage() {
            return None;
        }
        let id = slot.kubelet.running_container(key, name)?;
        slot.runtime.measured_cpu_usage_us(id)
    }

    /// One scrape: new points, then what the metrics APIs serve until the next one.
    ///
    /// Usually only the pods the store logged as written or removed since the last scrape, the
    /// entries without a class and the classed pods whose Service's ready endpoints changed are
    /// looked at; the first scrape, a Service change or a large change set walk the store's pods
    /// and the entries side by side (both in key order) instead. Either way a classed pod whose
    /// object, Services and ready endpoints are as they were keeps its class untouched, and every
    /// other running pod takes the per-pod path ([`World::scrape_pod`]).
    pub(super) fn metrics_scrape(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        let resolution = self.config.metrics_resolution;
        self.ctl.metrics.timer = Some(
            q.schedule_at(
                now + resolution.max(SimDuration::from_nanos(1)),
                Event::Ctl(CtlEvent::MetricsScrape),
            )
            .expect("not in the past"),
        );
        // Taken out for the scrape so `self` can be read while they are written.
        let mut entries = std::mem::take(&mut self.ctl.metrics.entries);
        let mut classes = std::mem::take(&mut self.ctl.metrics.classes);
        let mut loads = std::mem::take(&mut self.ctl.metrics.loads);
        let previous_scrape = self.ctl.metrics.scraped_at.replace(now);
        let services_version = self.ctl.services_version;
        let services_unchanged =
            std::mem::replace(&mut self.ctl.metrics.services_version, services_version) == services_version;
        let changes = self.store.take_pod_changes();
        let changed_loads = self.update_loads_view(&mut loads);
        // Simulated nodes never measure: skip the per-container runtime lookup altogether.
        let any_node_measures = self.nodes.iter().any(|n| n.runtime.measures_cpu_usage());
        // Each load's offered rate at this instant, evaluated once per scrape.
        let offset = now.saturating_duration_since(SimTime::ZERO);
        let ctx = ScrapeContext {
            now,
            resolution,
            previous_scrape,
            any_node_measures,
            use_classes: self.config.metrics_mode == MetricsMode::UsageClasses && !any_node_measures,
            offered: loads.offered_rates(&self.config.service_loads, offset),
            endpoints: &loads.endpoints,
            ready_lists: vec![std::cell::OnceCell::new(); self.config.service_loads.len()],
            loads: &self.config.service_loads,
            ready: &self.ctl.endpoints,
        };
        let mut scratch: Vec<ContainerSample> = Vec::new();
        let mut joined: Vec<(u32, Vec<(i64, i64)>)> = Vec::new();
        let mut scrape = |this: &Self,
                          entries: &mut Entries,
                          classes: &mut UsageClasses,
                          key: &Shared<ObjectKey>,
                          pod: &Arc<Pod>,
                          unchanged: bool,
                          existing: Option<u32>| {
            if let Some((class, usage)) =
                this.scrape_pod(&ctx, key, pod, unchanged, existing, entries, classes, &mut scratch)
            {
                if cfg!(debug_assertions) && class != NO_CLASS {
                    joined.push((class, usage));
                }
            }
        };
        // The pods written or removed since the last scrape, when only those need a look: the
        // others are unchanged objects, and a classed one among them is skipped as in the full walk.
        let changes = changes.filter(|c| {
            ctx.use_classes
                && services_unchanged
                && previous_scrape.is_some()
                && c.len() < entries.order.len() / 4
        });
        if let Some(changes) = changes {
            // The entries of the changed pods, and the changed pods without one.
            let mut dirty: Vec<u32> = Vec::with_capacity(changes.len());
            let mut arrivals: Vec<Shared<ObjectKey>> = Vec::new();
            for key in changes {
                match entries.find(&key) {
                    Some(id) => dirty.push(id),
                    None => arrivals.push(key),
                }
            }
            dirty.sort_unstable();
            dirty.dedup();
            // The changed entries and those without a class (rated anew each scrape until they
            // have one), each once.
            let mut visit: Vec<u32> = dirty.iter().chain(&entries.unclassed).copied().collect();
            visit.sort_unstable();
            visit.dedup();
            for &id in &visit {
                let entry = entries.get(id);
                let (key, held) = (entry.key.clone(), Arc::clone(&entry.pod));
                if dirty.binary_search(&id).is_err() {
                    // A written pod's key is in the store's change log: written entries are dirty.
                    debug_assert!(!entries.get(id).written, "a written entry outside the change log");
                    scrape(self, &mut entries, &mut classes, &key, &held, true, Some(id));
                    continue;
                }
                match self.store.pod(&key) {
                    Some(pod) if pod.status.phase == PodPhase::Running && pod.is_bound() => {
                        let unchanged = entries.get(id).saw(pod);
                        scrape(self, &mut entries, &mut classes, &key, pod, unchanged, Some(id));
                    }
                    _ => entries.remove(id, &mut classes),
                }
            }
            // The other classed pods of the loads whose ready endpoints changed.
            for (load, _) in changed_loads.iter().enumerate().filter(|(_, &changed)| changed) {
                for id in self.load_candidates(&entries, load) {
                    if entries.get(id).class != NO_CLASS && visit.binary_search(&id).is_err() {
                        keep_classed(id, &changed_loads, &ctx, &mut entries, &mut classes);
                    }
                }
            }
            arrivals.sort_unstable();
            arrivals.dedup();
            for key in arrivals {
                let Some(pod) = self.store.pod(&key) else { continue };
                if pod.status.phase == PodPhase::Running && pod.is_bound() {
                    scrape(self, &mut entries, &mut classes, &key, pod, false, None);
                }
            }
        } else {
            let old_order: Vec<u32> = entries.order.iter().map(|e| e.slot).collect();
            let mut old = old_order.into_iter().peekable();
            for (key, pod) in self.store.pods_with_shared_keys() {
                // An unchanged pod is the very object its entry holds: no key compare needed, and
                // it is still running and bound (entries are kept for such pods only).
                let unchanged = old.peek().is_some_and(|&id| entries.get(id).saw(pod));
                if unchanged && services_unchanged {
                    let id = *old.peek().expect("peeked");
                    if entries.get(id).class != NO_CLASS {
                        old.next();
                        keep_classed(id, &changed_loads, &ctx, &mut entries, &mut classes);
                        continue;
                    }
                }
                let existing = if unchanged {
                    old.next()
                } else {
                    let this = (key.namespace.as_str(), key.name.as_str());
                    while let Some(id) = old.next_if(|&id| entries.get(id).key() < this) {
                        entries.remove(id, &mut classes);
                    }
                    let existing = old.next_if(|&id| entries.get(id).key() == this);
                    if pod.status.phase != PodPhase::Running || !pod.is_bound() {
                        if let Some(id) = existing {
                            entries.remove(id, &mut classes);
                        }
                        continue;
                    }
                    existing
                };
                scrape(self, &mut entries, &mut classes, key, pod, unchanged, existing);
            }
            for id in old {
                entries.remove(id, &mut classes);
            }
        }
        if let Some(previous) = previous_scrape {
            classes.refresh(now, now.saturating_duration_since(previous), |load, ready| {
                ctx.share(load as usize, ready)
            });
        }
        // The oracle: a pod that joined a class is served exactly what its own points give.
        for (class, usage) in joined {
            let sample = classes.sample(class);
            let served: Vec<(i64, i64)> =
                sample.containers.iter().map(|c| (c.usage.cpu_millis(), c.usage.memory_bytes())).collect();
            assert_eq!(served, usage, "a usage class serves what its members' own points give");
        }
        drop(ctx);
        self.ctl.metrics.entries = entries;
        self.ctl.metrics.classes = classes;
        self.ctl.metrics.loads = loads;
    }

    /// The entries that may be load `load`'s pods: those of the smallest label list of its
    /// Service's selector (a pod of the load carries every label of it). Empty when the Service
    /// selects nothing.
    fn load_candidates(&self, entries: &Entries, load: usize) -> Vec<u32> {
        let service = &self.config.service_loads[load].service;
        let Some(selector) = self.store.services.get(service).and_then(|s| s.selector.as_ref()) else {
            return Vec::new();
        };
        let ns = service.namespace.as_str();
        let smallest = selector
            .iter()
            .map(|(k, v)| entries.by_label.get(ns, k, v).map_or(0, |l| l.ids.len()))
            .zip(selector.iter())
            .min_by_key(|(len, _)| *len);
        match smallest {
            Some((len, (k, v))) if len > 0 => entries
                .by_label
                .get(ns, k, v)
                .map(|l| l.ids.iter().map(|e| e.slot).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The per-pod path of a scrape for a running, bound pod (`existing`: its entry, if the last
    /// scrape had one): new points and the usage rated from them, then either the pod's own served
    /// sample or its usage class. Returns the pod's class and the usage its own points gave
    /// (per running container), or `None` when it has no running container.
    #[allow(clippy::too_many_arguments)]
    fn scrape_pod(
        &self,
        ctx: &ScrapeContext<'_>,
        key: &Shared<ObjectKey>,
        pod: &Arc<Pod>,
        unchanged: bool,
        existing: Option<u32>,
        entries: &mut Entries,
        classes: &mut UsageClasses,
        scratch: &mut Vec<ContainerSample>,
    ) -> Option<(u32, Vec<(i64, i64)>)> {
        let now = ctx.now;
        let resolution = ctx.resolution;
        // The previous scrape's points, lookups and class of this pod (same uid), taken out of
        // the entry: the entry gets the new ones below.
        let previous = existing
            .map(|id| entries.get_mut(id))
            .filter(|e| unchanged || e.pod.meta.uid == pod.meta.uid)
            .map(|e| {
                // A classed entry keeps no points: they are its pod object's running containers
                // (what they were read from), with no measured CPU (classes need none).
                let samples = if e.samples.is_empty() && !e.written {
                    let mut points = Vec::new();
                    running_samples(&e.pod, &mut points);
                    points
                } else {
                    std::mem::take(&mut e.samples).into_vec()
                };
                (samples, std::mem::take(&mut e.resolved))
            });
        let old_class = existing.map_or(NO_CLASS, |id| entries.get(id).class);
        let (previous_samples, previous_resolved) = previous.unzip();
        let mut resolved = self.resolve(pod, unchanged, previous_resolved);
        // The pod's share: its load's offered rate even over the Service's ready endpoints,
        // 0 if it is not one (membership re-checked only when the endpoints changed).
        let mut is_ready_endpoint = false;
        let rate = resolved.load.map(|l| {
            let l = l as usize;
            let changed_at = ctx.endpoints[l].1;
            let is_ready = match resolved.ready_at(changed_at) {
                Some(is_ready) => is_ready,
                None => {
                    let is_ready = ctx.is_ready_endpoint(l, &pod.meta.name);
                    resolved.set_ready_at(changed_at, is_ready);
                    is_ready
                }
            };
            is_ready_endpoint = is_ready;
            ctx.share(l, is_ready)
        });
        let samples = scratch;
        samples.clear();
        // The running containers, their start times and limits: the previous scrape's when
        // the pod object is the same one (its statuses are), else read from the object.
        match &previous_samples {
            Some(points) if unchanged => samples.extend(points.iter().map(|p| ContainerSample {
                cpu_usage_us: None,
                usage: None,
                ..*p
            })),
            _ => running_samples(pod, samples),
        }
        // The idle workload of a container without one of its own.
        let idle = kubesim_workload::PodWorkload::default_for(false);
        let mut window: Option<SimDuration> = None;
        let mut complete = true;
        // Whether every container is rated against the previous scrape and its curves have
        // settled: then the pod's usage is its class's (see `usage_classes`).
        let mut steady = ctx.use_classes;
        for sample in samples.iter_mut() {
            let (index, start) = (sample.index, sample.start);
            sample.cpu_usage_us = if ctx.any_node_measures {
                self.measured_cpu_usage_us(pod, key, &pod.spec.containers[index as usize].name)
            } else {
                None
            };
            let age = now.saturating_duration_since(start);
            // The previous point: (when, cumulative CPU then); a fresh container's start counts
            // as a point with zero usage.
            let prev = if start < now && age < resolution && age >= FRESH_CONTAINER_MIN {
                steady = false;
                Some((start, Some(0)))
            } else {
                previous_samples
                    .as_deref()
                    .zip(ctx.previous_scrape)
                    .and_then(|(points, at)| points.iter().find(|p| p.index == index).map(|p| (at, p)))
                    .filter(|(at, _)| start < *at && now > *at)
                    .map(|(at, p)| (at, p.cpu_usage_us))
            };
            let workload = resolved
                .workload
                .as_deref()
                .and_then(|w| w.containers.get(sample.workload_index as usize))
                .unwrap_or(&idle);
            sample.usage = match prev {
                Some((t, prev_cpu_us)) => {
                    let window_now = now.saturating_duration_since(t);
                    window.get_or_insert(window_now);
                    let (mut cpu, memory) =
                        container_usage(workload, sample.cpu_limit_millis, start, rate.unwrap_or(0), now);
                    if let (Some(now_us), Some(prev_us)) = (sample.cpu_usage_us, prev_cpu_us) {
                        // metrics-server: the average rate between the two points.
                        let micros = window_now.as_nanos() / 1_000;
                        let millis =
                            (now_us.saturating_sub(prev_us) * 1_000).checked_div(micros).unwrap_or(0);
                        cpu = i64::try_from(millis).unwrap_or(i64::MAX);
                    }
                    Some((cpu, memory))
                }
                None => {
                    complete = false;
                    None
                }
            };
            steady = steady && settled(workload, now.saturating_duration_since(start));
        }
        if samples.is_empty() {
            if let Some(id) = existing {
                entries.remove(id, classes);
            }
            return None;
        }
        let window = window.unwrap_or(resolution);
        // The class the pod's usage is, when it is steady (the class it was in, if unchanged).
        let class = if steady && complete {
            let running: Vec<(u32, SimTime)> = samples.iter().map(|s| (s.index, s.start)).collect();
            let member = ClassMember {
                workload: resolved.workload.as_ref(),
                containers: &pod.spec.containers,
                init_containers: pod.spec.init_containers.len(),
                running: &running,
                load: resolved.load,
                ready: is_ready_endpoint,
            };
            match member.key() {
                Some(key) if old_class != NO_CLASS && classes.key(old_class) == key => old_class,
                Some(key) => {
                    let class = classes.join(key, &member);
                    classes.leave(old_class);
                    class
                }
                None => {
                    classes.leave(old_class);
                    NO_CLASS
                }
            }
        } else {
            classes.leave(old_class);
            NO_CLASS
        };
        let usage: Vec<(i64, i64)> = if cfg!(debug_assertions) && class != NO_CLASS {
            samples.iter().map(|s| s.usage.unwrap_or_default()).collect()
        } else {
            Vec::new()
        };
        // A classed entry keeps no points (see above); the others' old points' buffer becomes the
        // next pod's scratch.
        let new_samples = if class == NO_CLASS {
            let scratch = previous_samples.map(|mut v| {
                v.clear();
                v
            });
            let mut new_samples = std::mem::replace(samples, scratch.unwrap_or_default());
            // Boxed below, without spare capacity: a vector's first growth reserves four points.
            new_samples.shrink_to_fit();
            new_samples
        } else {
            Vec::new()
        };
        let own = complete && class == NO_CLASS;
        match existing {
            Some(id) => {
                entries.set_pod(id, pod);
                let e = entries.get_mut(id);
                let old_served = e.served.take();
                let was_own = old_served.is_some();
                e.served = own.then(|| served_sample(old_served, unchanged, pod, &new_samples, now, window));
                e.samples = new_samples.into_boxed_slice();
                e.rate_milli = rate.unwrap_or(0);
                e.resolved = resolved;
                entries.set_class(id, class);
                // What an HPA reads for the pod changed, unless it stays in its class.
                if own || was_own || class != old_class {
                    entries.touch(id);
                }
            }
            None => {
                entries.insert(Entry {
                    pod: Arc::clone(pod),
                    written: false,
                    key: key.clone(),
                    class,
                    served: own.then(|| served_sample(None, false, pod, &new_samples, now, window)),
                    samples: new_samples.into_boxed_slice(),
                    rate_milli: rate.unwrap_or(0),
                    resolved,
                });
            }
        }
        Some((class, usage))
    }

    /// External metric values as the external metrics API answers at `now` (read live).
    pub(super) fn external_metric_values(&self, now: SimTime) -> Vec<ExternalMetricValue> {
        let offset = now.saturating_duration_since(SimTime::ZERO);
        self.config
            .external_metrics
            .iter()
            .map(|s| ExternalMetricValue {
                metric_name: s.name.clone(),
                metric_labels: s.labels.clone(),
                timestamp: now,
                window: SimDuration::ZERO,
                value_milli: s.value_milli.value_at(offset),
            })
            .collect()
    }
}

impl<W: Write> Cluster<W> {
    /// The PodMetrics the metrics API serves now (from the last scrape), in pod key order.
    pub fn pod_metrics(&self) -> Vec<ApiPodMetrics> {
        self.world.ctl.metrics.pod_metrics()
    }

    /// How many usage classes serve the pods' metrics since the last scrape (see
    /// [`MetricsMode`]): a diagnostic of how much the classes share.
    pub fn usage_class_count(&self) -> usize {
        self.world.ctl.metrics.class_count()
    }

    /// Starts the metrics-server scrape loop without an HPA (e.g. to read [`Cluster::pod_metrics`]).
    pub fn enable_metrics(&mut self) {
        let now = self.queue.now();
        self.world.ensure_metrics_running(now, &mut self.queue);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pod(namespace: &str, name: &str, labels: &[(&str, &str)]) -> Arc<Pod> {
        let mut meta = kubesim_api::ObjectMeta::named(namespace, name);
        meta.labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Arc::new(Pod { meta, ..Default::default() })
    }

    fn entry(pod: Arc<Pod>) -> Entry {
        Entry {
            written: false,
            key: Shared::new(pod.meta.key()),
            pod,
            class: NO_CLASS,
            samples: Box::default(),
            served: None,
            rate_milli: 0,
            resolved: Resolved {
                resource_version: 0,
                services_version: 0,
                load: None,
                workload: None,
                ready_endpoint: Resolved::UNCHECKED,
            },
        }
    }

    /// (namespace, label key, value) → pod keys in key order; and the unlabelled pods' keys.
    type IndexView = (BTreeMap<(String, String, String), Vec<(String, String)>>, Vec<(String, String)>);

    /// The label index as a plain scan computes it: (namespace, label) → keys in key order.
    fn naive(entries: &Entries) -> IndexView {
        let mut by_label: BTreeMap<(String, String, String), Vec<(String, String)>> = BTreeMap::new();
        let mut unlabelled = Vec::new();
        for e in entries.slots.iter().flatten() {
            let key = (e.pod.meta.namespace.to_string(), e.pod.meta.name.to_string());
            if e.pod.meta.labels.is_empty() {
                unlabelled.push(key.clone());
            }
            for (k, v) in &e.pod.meta.labels {
                by_label.entry((key.0.clone(), k.clone(), v.clone())).or_default().push(key.clone());
            }
        }
        by_label.values_mut().for_each(|keys| keys.sort());
        unlabelled.sort();
        (by_label, unlabelled)
    }

    fn indexed(entries: &Entries) -> IndexView {
        let key = |id: &u32| {
            let (ns, name) = entries.get(*id).key();
            (ns.to_string(), name.to_string())
        };
        let by_label = entries
            .by_label
            .iter()
            .map(|(label, list)| (label.clone(), list.ids.iter().map(|e| key(&e.slot)).collect()))
            .collect();
        (by_label, entries.unlabelled.iter().map(key).collect())
    }

    /// The oracle's memory of one scrape: per running pod, its uid and running containers'
    /// indexes, and when the scrape was.
    #[derive(Default)]
    struct PlainScrapes {
        previous: Option<SimTime>,
        points: BTreeMap<ObjectKey, (String, Vec<u32>)>,
    }

    /// A pod's (namespace, name) and its `requests_per_second` value.
    type PodRate = ((String, String), i64);

    /// What the metrics APIs serve after a scrape at `now`, evaluated pod by pod from the store as
    /// `storage/pod.go` states it, with no entries, classes or change log: (PodMetrics, the
    /// `requests_per_second` values by pod key).
    fn plain_scrape(
        world: &World<Vec<u8>>,
        now: SimTime,
        state: &mut PlainScrapes,
    ) -> (Vec<ApiPodMetrics>, Vec<PodRate>) {
        let config = &world.config;
        let offset = now.saturating_duration_since(SimTime::ZERO);
        let mut served = Vec::new();
        let mut rates = Vec::new();
        let mut points = BTreeMap::new();
        for (key, pod) in world.store.pods_with_keys() {
            if pod.status.phase != PodPhase::Running || !pod.is_bound() {
                continue;
            }
            // (index, start) of the running containers, in spec order.
            let running: Vec<(u32, SimTime)> = pod
                .spec
                .containers
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let status = pod.status.container_statuses.iter().find(|s| s.name == c.name)?;
                    match status.state {
                        ContainerState::Running { started_at } => Some((i as u32, started_at)),
                        _ => None,
                    }
                })
                .collect();
            if running.is_empty() {
                continue;
            }
            // The first load whose Service selects the pod; its share if a ready endpoint.
            let load = config.service_loads.iter().find(|l| {
                l.service.namespace == pod.meta.namespace
                    && world.store.services.get(&l.service).and_then(|s| s.selector.as_ref()).is_some_and(
                        |sel| !sel.is_empty() && sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v)),
                    )
            });
            let rate = load.map(|l| {
                let ready = world.ctl.endpoints.get(&l.service).map_or(&[][..], Vec::as_slice);
                if ready.iter().any(|n| *n == pod.meta.name) {
                    l.requests_per_second_milli.value_at(offset) / ready.len() as i64
                } else {
                    0
                }
            });
            if let Some(rate) = rate {
                rates.push(((key.namespace.to_string(), key.name.to_string()), rate));
            }
            let previous = state.previous.zip(state.points.get(key).filter(|(uid, _)| *uid == pod.meta.uid));
            let workload = world.workload_for(pod);
            let idle = PodWorkload::default_for(false);
            let mut containers = Vec::new();
            let mut window = None;
            for &(index, start) in &running {
                let age = now.saturating_duration_since(start);
                let prev = if start < now && age < config.metrics_resolution && age >= FRESH_CONTAINER_MIN {
                    Some(start)
                } else {
                    previous
                        .filter(|(at, (_, indexes))| indexes.contains(&index) && start < *at && now > *at)
                        .map(|(at, _)| at)
                };
                let Some(prev) = prev else { break };
                window.get_or_insert(now.saturating_duration_since(prev));
                let c = &pod.spec.containers[index as usize];
                let w = workload
                    .as_deref()
                    .and_then(|w| w.containers.get(pod.spec.init_containers.len() + index as usize))
                    .unwrap_or(&idle);
                let limit = c.resources.limits.get(&kubesim_api::ResourceName::Cpu);
                let (cpu, memory) = container_usage(w, limit, start, rate.unwrap_or(0), now);
                containers.push(ContainerUsage {
                    name: c.name.clone(),
                    usage: ResourceList::new().with_cpu_millis(cpu).with_memory_bytes(memory),
                });
            }
            points.insert(key.clone(), (pod.meta.uid.to_string(), running.iter().map(|&(i, _)| i).collect()));
            if containers.len() == running.len() {
                let mut meta = kubesim_api::ObjectMeta::named(&pod.meta.namespace, &pod.meta.name);
                meta.labels = pod.meta.labels.clone();
                served.push(ApiPodMetrics {
                    meta,
                    timestamp: now,
                    window: window.expect("a container"),
                    containers,
                });
            }
        }
        state.previous = Some(now);
        state.points = points;
        (served, rates)
    }

    /// A cluster of four nodes running two request-driven Deployments behind Services with the
    /// same load curve (memory that settles only after a minute, so new pods stay unclassed for a
    /// while) and one Deployment with its own CPU curve and no Service.
    fn oracle_cluster(mode: MetricsMode) -> Cluster<Vec<u8>> {
        use kubesim_workload::{ContainerWorkload, Curve, Demand, Interpolation};
        let secs = SimDuration::from_secs;
        let load =
            Curve::from_points(&[(secs(0), 20_000), (secs(200), 60_000)], Interpolation::Hold).unwrap();
        let memory =
            Curve::from_points(&[(secs(0), 50 << 20), (secs(60), 80 << 20)], Interpolation::Hold).unwrap();
        let served = Arc::new(PodWorkload {
            containers: vec![Arc::new(ContainerWorkload {
                cpu_millis: Demand::RequestDriven { base: 3, per_request: 2 },
                memory_bytes: memory,
                ..ContainerWorkload::idle()
            })],
        });
        let batch = Arc::new(PodWorkload {
            containers: vec![Arc::new(ContainerWorkload {
                cpu_millis: Demand::Curve(
                    Curve::from_points(&[(secs(0), 40), (secs(90), 700)], Interpolation::Hold).unwrap(),
                ),
                ..ContainerWorkload::idle()
            })],
        });
        let selector = |app: &str| LabelSelector::from_labels([("app", app)]);
        let config = crate::ClusterConfig {
            metrics_mode: mode,
            workloads: vec![
                (selector("web"), Arc::clone(&served)),
                (selector("api"), served),
                (selector("batch"), batch),
            ],
            service_loads: ["web", "api"]
                .iter()
                .map(|app| crate::config::ServiceLoad {
                    service: ObjectKey::new("default", app),
                    requests_per_second_milli: load.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let mut c = Cluster::new(config, Vec::new()).unwrap();
        for i in 0..4 {
            let mut meta = kubesim_api::ObjectMeta::named("", &format!("node-{i}"));
            meta.labels.insert("topology.kubernetes.io/zone".into(), ["a", "b"][i % 2].into());
            let alloc = ResourceList::new()
                .with_cpu_millis(8000)
                .with_memory_bytes(16 << 30)
                .with(kubesim_api::ResourceName::Pods, 110);
            c.add_node(kubesim_api::Node {
                meta,
                status: kubesim_api::NodeStatus {
                    capacity: alloc.clone(),
                    allocatable: alloc,
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap();
        }
        for app in ["web", "api"] {
            c.apply_service(kubesim_api::services::Service {
                meta: kubesim_api::ObjectMeta::named("default", app),
                selector: Some([("app".to_string(), app.to_string())].into_iter().collect()),
                ..Default::default()
            })
            .unwrap();
        }
        for (app, replicas) in [("web", 3), ("api", 2), ("batch", 2)] {
            c.apply_deployment(oracle_deployment(app, replicas, "v1")).unwrap();
        }
        c.enable_metrics();
        c
    }

    fn oracle_deployment(app: &str, replicas: i32, image: &str) -> kubesim_api::Deployment {
        let labels: kubesim_api::Labels = [("app".to_string(), app.to_string())].into_iter().collect();
        let requests = ResourceList::new().with_cpu_millis(100).with_memory_bytes(64 << 20);
        kubesim_api::Deployment {
            meta: kubesim_api::ObjectMeta::named("default", app),
            replicas,
            selector: LabelSelector { match_labels: labels.clone(), ..Default::default() },
            template: kubesim_api::PodTemplateSpec {
                labels: labels.into(),
                annotations: Default::default(),
                spec: kubesim_api::PodSpec {
                    containers: vec![kubesim_api::Container {
                        name: "app".into(),
                        image: image.into(),
                        resources: kubesim_api::ResourceRequirements {
                            requests,
                            limits: ResourceList::new().with_cpu_millis(500),
                        },
                        ..Default::default()
                    }]
                    .into(),
                    ..Default::default()
                },
            },
            ..Default::default()
        }
    }

    /// Runs `c` to `until` one event at a time; after every scrape, compares what the pipeline
    /// serves with [`plain_scrape`]. Returns how many scrapes served a classed pod.
    fn run_against_the_oracle(
        c: &mut Cluster<Vec<u8>>,
        until: SimTime,
        state: &mut PlainScrapes,
    ) -> Result<usize, TestCaseError> {
        let mut classed_scrapes = 0;
        while let Some((now, event)) = c.queue.pop_until(until) {
            let scraped = c.world.ctl.metrics.scraped_at;
            c.world.handle(now, event, &mut c.queue);
            c.world.take_error().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            if c.world.ctl.metrics.scraped_at == scraped {
                continue;
            }
            let (served, rates) = plain_scrape(&c.world, now, state);
            prop_assert_eq!(c.pod_metrics(), served, "PodMetrics after the scrape at {:?}", now);
            let custom: Vec<PodRate> = c
                .world
                .ctl
                .metrics
                .custom_values(c.world.config.metrics_resolution)
                .into_iter()
                .map(|v| ((v.described_object.namespace, v.described_object.name), v.value_milli))
                .collect();
            prop_assert_eq!(custom, rates, "requests_per_second after the scrape at {:?}", now);
            classed_scrapes += usize::from(c.usage_class_count() > 0);
        }
        let _ = c.queue.advance_to(until);
        Ok(classed_scrapes)
    }

    #[test]
    fn a_remembered_label_list_handle_answers_for_its_own_label_only() {
        let mut lists = LabelLists::default();
        lists.get_or_default("default", "app", "a").version = 1;
        let mut handle = None;
        assert_eq!(lists.get_remembered("default", "app", "a", &mut handle).map(|l| l.version), Some(1));
        let first = handle.expect("remembered");
        lists.get_or_default("default", "app", "a").version = 2;
        assert_eq!(lists.get_remembered("default", "app", "a", &mut handle).map(|l| l.version), Some(2));
        assert_eq!(handle, Some(first), "the same list, the same handle");
        // The list goes and another label takes its slot: the handle is stale, and a lookup of
        // the old label finds nothing.
        lists.remove("default", "app", "a");
        lists.get_or_default("default", "app", "b").version = 3;
        assert_eq!(lists.slot("default", "app", "b"), Some(first.slot), "the slot is reused");
        assert!(lists.get_remembered("default", "app", "a", &mut handle).is_none());
        assert_eq!(handle, None);
        // The label comes back: a new handle, the new list.
        lists.get_or_default("default", "app", "a").version = 4;
        assert_eq!(lists.get_remembered("default", "app", "a", &mut handle).map(|l| l.version), Some(4));
        assert_ne!(handle, Some(first));
    }

    /// Memory per pod: an entry (150,000 of them at full scale) stays within 96 bytes (176, then
    /// 152 with the pod name inline, before), and a classed one holds no points on the heap.
    #[test]
    fn an_entry_stays_within_96_bytes() {
        assert!(std::mem::size_of::<Option<Entry>>() <= 96, "{}", std::mem::size_of::<Option<Entry>>());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Pods arrive (scale-ups, rollouts), leave (scale-downs, deletions) and lose and regain
        /// readiness (a kubelet stopped and started again), at random instants: after every
        /// scrape the pipeline serves exactly what a plain per-pod evaluation of the store gives,
        /// with and without usage classes.
        #[test]
        fn every_scrape_serves_what_a_plain_per_pod_evaluation_gives(
            ops in prop::collection::vec((1u64..900, 0u8..5, 0usize..3, 0i32..7), 1..12),
            classes in prop::bool::ANY,
        ) {
            let mode = if classes { MetricsMode::UsageClasses } else { MetricsMode::PerPod };
            let mut c = oracle_cluster(mode);
            let apps = ["web", "api", "batch"];
            let mut ops = ops;
            ops.sort_by_key(|op| op.0);
            let mut state = PlainScrapes::default();
            let mut classed = 0;
            for (i, &(at, op, app, n)) in ops.iter().enumerate() {
                // Off the scrape grid, so no action shares an instant with a scrape.
                let at = SimTime::from_secs(at) + SimDuration::from_millis(250);
                classed += run_against_the_oracle(&mut c, at, &mut state)?;
                let deployment = ObjectKey::new("default", apps[app]);
                let action = match op {
                    0 => Action::Scale { deployment, replicas: n },
                    1 => Action::SetImage { deployment, container: None, image: format!("v{}", i + 2) },
                    2 => {
                        let pods: Vec<ObjectKey> = c
                            .store()
                            .pods_with_keys()
                            .filter(|(_, p)| p.meta.labels.get("app").map(String::as_str) == Some(apps[app]))
                            .map(|(k, _)| k.clone())
                            .collect();
                        match pods.get(n as usize % pods.len().max(1)) {
                            Some(key) => Action::DeletePod(key.clone()),
                            None => continue,
                        }
                    }
                    3 => Action::StopKubelet(format!("node-{}", n % 4)),
                    _ => Action::StartKubelet(format!("node-{}", n % 4)),
                };
                c.schedule_action(at, action).unwrap();
            }
            classed += run_against_the_oracle(&mut c, SimTime::from_secs(1000), &mut state)?;
            if classes {
                prop_assert!(classed > 0, "some scrape served classed pods");
            }
        }

        /// Slots come and go and pods are relabelled in any order: the incremental index always
        /// equals a scan, with no empty lists left behind.
        #[test]
        fn the_label_index_always_equals_a_scan(ops in prop::collection::vec((0u8..3, 0usize..12, 0usize..4, 0usize..3), 1..80)) {
            let labels: [&[(&str, &str)]; 4] =
                [&[], &[("app", "a")], &[("app", "b"), ("tier", "x")], &[("app", "a"), ("tier", "x")]];
            let mut entries = Entries::default();
            let mut ids: BTreeMap<usize, u32> = BTreeMap::new();
            for (op, who, label_set, namespace) in ops {
                let namespace = ["default", "shop", "ops"][namespace];
                let name = format!("pod-{who:02}");
                let p = pod(namespace, &name, labels[label_set]);
                match (op, ids.get(&who).copied()) {
                    (0, None) => {
                        ids.insert(who, entries.insert(entry(p)));
                    }
                    (1, Some(id)) => {
                        entries.remove(id, &mut UsageClasses::default());
                        ids.remove(&who);
                    }
                    (_, Some(id)) => {
                        // Same key, possibly other labels (namespace is part of the key).
                        let same_key = pod(&entries.get(id).pod.meta.namespace.clone(), &name, labels[label_set]);
                        entries.set_pod(id, &same_key);
                    }
                    _ => {}
                }
                prop_assert_eq!(indexed(&entries), naive(&entries));
                prop_assert!(entries.by_label.iter().all(|(_, list)| !list.ids.is_empty()));
            }
        }
    }
}
