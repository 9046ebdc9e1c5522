//! The admitted pods of one kubelet: a flat table ordered by local pod number, with an index by
//! pod key and the running sum of the active pods' requests.
//!
//! Why not two `BTreeMap`s: a node runs at most a few hundred pods, and a map keyed by
//! `ObjectKey` kept two string copies of every pod's name beside the pod object that already
//! holds them, while B-tree leaves filled in ascending order stay about half empty. The table keeps
//! each worker once, contiguously; walks go in ascending pod number, the order the maps gave.
//!
//! Lookups are the hot part (usage sampling asks for the owner of every running container, the
//! store hands every pod write back for sharing), so neither index touches a worker until it has
//! found one: pod numbers are searched in a dense copy of the ids, and pod keys by a 32-bit hash
//! of the key, the names being compared only on a hash match (collisions are rare and handled).
//!
//! Admission checks a pod against what the active (not terminal) pods request; the table keeps
//! that sum as pods come, turn terminal and go ([`PodTable::set_terminal`] is the only way to
//! make a worker terminal), so admitting a pod costs no walk over the node's pods.

use kubesim_api::{PodPhase, ResourceList, ResourceName};

use super::worker::PodWorker;

/// Pod workers by local pod number, and their numbers by pod key.
#[derive(Debug, Default)]
pub(crate) struct PodTable {
    /// Sorted by [`PodWorker::id`], each id once.
    workers: Vec<PodWorker>,
    /// `workers[i].id`, for searching without touching the workers.
    ids: Vec<u32>,
    /// `workers[i].containers.len()` (at most 255, fixed at admission): whether a container
    /// index exists is answered from the dense lists alone (usage sampling asks it for every
    /// running container of every node).
    container_counts: Vec<u8>,
    /// (hash of the pod key, id), sorted by hash (see [`key_hash`]); equal hashes in insertion order.
    by_key: Vec<(u32, u32)>,
    /// The requests of the active (not terminal) workers, summed per resource with wrapping
    /// arithmetic (the order-independent equal of adding them up one pod after the other).
    active_requests: Vec<(ResourceName, i64)>,
    /// Number of active workers.
    active_pods: i64,
}

/// FNV-1a over the namespace, a byte no UTF-8 string contains, and the name: a deterministic
/// hash (no per-process seed), enough to tell a node's few hundred keys apart nearly always.
fn key_hash(namespace: &str, name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    namespace.bytes().for_each(&mut feed);
    feed(0xff);
    name.bytes().for_each(&mut feed);
    h
}

/// Makes room for one more entry in `v`, growing it by a quarter (at least 4) rather than
/// doubling: a node's pod lists live as long as the kubelet and hover around a few tens of entries, where
/// doubling past 32 would leave up to half of each list unused for good.
fn make_room<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(4));
    }
}

impl PodTable {
    fn position(&self, id: u32) -> Result<usize, usize> {
        self.ids.binary_search(&id)
    }

    /// The worker of pod number `id`.
    pub(crate) fn get(&self, id: &u32) -> Option<&PodWorker> {
        self.position(*id).ok().map(|i| &self.workers[i])
    }

    /// The worker of pod number `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut PodWorker> {
        self.position(*id).ok().map(|i| &mut self.workers[i])
    }

    /// True iff pod number `id` is here and has a container `index`, read from the dense lists
    /// without touching the worker.
    pub(crate) fn has_container(&self, id: u32, index: u8) -> bool {
        self.position(id).is_ok_and(|i| index < self.container_counts[i])
    }

    /// Where `namespace/name` is in `by_key`: `Ok` at its entry, or `Err` at the end of the run
    /// of its hash (where a new entry goes, the id being the largest so far).
    fn key_position(&self, namespace: &str, name: &str) -> Result<usize, usize> {
        let h = key_hash(namespace, name);
        let mut at = self.by_key.partition_point(|&(k, _)| k < h);
        while let Some(&(k, id)) = self.by_key.get(at) {
            if k != h {
                break;
            }
            if let Some(w) = self.get(&id) {
                if w.pod.meta.name == name && w.pod.meta.namespace == namespace {
                    return Ok(at);
                }
            }
            at += 1;
        }
        Err(at)
    }

    /// The pod number of the pod named `namespace/name`.
    pub(crate) fn id_of(&self, namespace: &str, name: &str) -> Option<u32> {
        self.key_position(namespace, name).ok().map(|i| self.by_key[i].1)
    }

    /// Adds `worker`, whose id and pod key must both be new (the caller checks the key; ids are
    /// never reused) and which is not terminal; `requests` are its effective pod requests.
    pub(crate) fn insert(&mut self, worker: PodWorker, requests: &ResourceList) {
        let id = worker.id;
        debug_assert!(worker.terminal().is_none(), "admitted terminal");
        let Err(key_at) = self.key_position(&worker.pod.meta.namespace, &worker.pod.meta.name) else {
            debug_assert!(false, "pod key already in the table");
            return;
        };
        let Err(at) = self.position(id) else {
            debug_assert!(false, "pod number {id} already in the table");
            return;
        };
        let h = key_hash(&worker.pod.meta.namespace, &worker.pod.meta.name);
        make_room(&mut self.workers);
        make_room(&mut self.ids);
        make_room(&mut self.container_counts);
        make_room(&mut self.by_key);
        let containers = u8::try_from(worker.containers.len()).unwrap_or(u8::MAX);
        self.workers.insert(at, worker);
        self.ids.insert(at, id);
        self.container_counts.insert(at, containers);
        self.by_key.insert(key_at, (h, id));
        self.count(requests, 1);
    }

    /// Adds (`sign` 1) or takes away (`sign` −1) one active pod's requests.
    fn count(&mut self, requests: &ResourceList, sign: i64) {
        self.active_pods = self.active_pods.wrapping_add(sign);
        for (name, amount) in requests.iter() {
            let amount = amount.wrapping_mul(sign);
            match self.active_requests.binary_search_by(|(k, _)| k.cmp(name)) {
                Ok(i) => self.active_requests[i].1 = self.active_requests[i].1.wrapping_add(amount),
                Err(i) => self.active_requests.insert(i, (name.clone(), amount)),
            }
        }
    }

    /// Makes pod `id` terminal with `phase` (its requests stop counting); a pod already terminal
    /// keeps its first phase.
    pub(crate) fn set_terminal(&mut self, id: u32, phase: PodPhase) {
        let Some(w) = self.get_mut(&id) else { return };
        if w.terminal().is_some() {
            return;
        }
        w.make_terminal(phase);
        let requests = w.requests();
        self.count(&requests, -1);
    }

    /// Number of active (not terminal) pods.
    pub(crate) fn active_pods(&self) -> i64 {
        self.active_pods
    }

    /// What the active pods request of `name`, summed.
    pub(crate) fn active_requests(&self, name: &ResourceName) -> i64 {
        match self.active_requests.binary_search_by(|(k, _)| k.cmp(name)) {
            Ok(i) => self.active_requests[i].1,
            Err(_) => 0,
        }
    }

    /// Removes and returns the worker of pod number `id`.
    pub(crate) fn remove(&mut self, id: &u32) -> Option<PodWorker> {
        let at = self.position(*id).ok()?;
        let meta = &self.workers[at].pod.meta;
        if let Ok(key_at) = self.key_position(&meta.namespace, &meta.name) {
            self.by_key.remove(key_at);
        }
        self.ids.remove(at);
        self.container_counts.remove(at);
        let worker = self.workers.remove(at);
        if worker.terminal().is_none() {
            self.count(&worker.requests(), -1);
        }
        Some(worker)
    }

    /// Forgets every pod.
    pub(crate) fn clear(&mut self) {
        self.workers.clear();
        self.ids.clear();
        self.container_counts.clear();
        self.by_key.clear();
        self.active_requests.clear();
        self.active_pods = 0;
    }

    /// Number of pods.
    pub(crate) fn len(&self) -> usize {
        self.workers.len()
    }

    /// Pod numbers, ascending.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &u32> {
        self.ids.iter()
    }

    /// Workers, by ascending pod number.
    pub(crate) fn values(&self) -> impl Iterator<Item = &PodWorker> + Clone {
        self.workers.iter()
    }

    /// (pod number, worker), ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u32, &PodWorker)> {
        self.workers.iter().map(|w| (&w.id, w))
    }

    /// (pod number, worker), ascending, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut PodWorker)> {
        self.workers.iter_mut().map(|w| (w.id, w))
    }
}

impl std::ops::Index<&u32> for PodTable {
    type Output = PodWorker;
    fn index(&self, id: &u32) -> &PodWorker {
        self.get(id).expect("pod number in the table")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesim_api::{Container, ObjectMeta, Pod, PodSpec};
    use sim_core::SimTime;

    use super::*;
    use crate::ProbeMode;

    impl PodTable {
        fn insert_test(&mut self, worker: PodWorker) {
            let requests = worker.requests();
            self.insert(worker, &requests);
        }
    }

    fn worker(id: u32, namespace: &str, name: &str) -> PodWorker {
        let pod = Pod {
            meta: ObjectMeta::named(namespace, name),
            spec: PodSpec {
                containers: vec![Container { name: "app".into(), ..Default::default() }].into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        };
        PodWorker::new(id, Arc::new(pod), None, SimTime::ZERO, ProbeMode::Analytic).expect("no probes")
    }

    #[test]
    fn walks_go_by_ascending_number_and_lookups_by_key_find_each_pod() {
        let mut t = PodTable::default();
        // Numbers and keys in unrelated orders; the same name in two namespaces.
        for (id, ns, name) in [(4, "b", "x"), (1, "a", "z"), (9, "a", "x"), (2, "b", "a"), (7, "c", "x")] {
            t.insert_test(worker(id, ns, name));
        }
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), [1, 2, 4, 7, 9]);
        assert_eq!(t.len(), 5);
        // One container each: index 0 exists, index 1 does not; unknown numbers have none.
        assert!(t.has_container(4, 0) && !t.has_container(4, 1) && !t.has_container(5, 0));
        for (id, ns, name) in [(4, "b", "x"), (1, "a", "z"), (9, "a", "x"), (2, "b", "a"), (7, "c", "x")] {
            assert_eq!(t.id_of(ns, name), Some(id), "{ns}/{name}");
            assert_eq!(t[&id].pod.meta.name, name);
        }
        assert_eq!(t.id_of("a", "y"), None);
        assert_eq!(t.id_of("", "x"), None);
    }

    #[test]
    fn removing_a_pod_drops_it_from_both_orders_and_keeps_the_others() {
        let mut t = PodTable::default();
        for (id, name) in [(1, "c"), (2, "a"), (3, "b")] {
            t.insert_test(worker(id, "ns", name));
        }
        let gone = t.remove(&2).expect("present");
        assert_eq!(gone.pod.meta.name, "a");
        assert!(t.remove(&2).is_none());
        assert_eq!(t.id_of("ns", "a"), None);
        assert_eq!((t.id_of("ns", "b"), t.id_of("ns", "c")), (Some(3), Some(1)));
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), [1, 3]);
        assert!(!t.has_container(2, 0) && t.has_container(3, 0));
        // The key is free again, under a new number.
        t.insert_test(worker(8, "ns", "a"));
        assert_eq!(t.id_of("ns", "a"), Some(8));
        t.clear();
        assert_eq!((t.len(), t.id_of("ns", "b")), (0, None));
    }

    #[test]
    fn two_keys_with_the_same_hash_are_told_apart_by_their_names() {
        // FNV-1a 32 of "ns\xffpod-9011" and "ns\xffpod-151080" are both 0xd7e1f0b2.
        assert_eq!(key_hash("ns", "pod-9011"), key_hash("ns", "pod-151080"));
        let mut t = PodTable::default();
        t.insert_test(worker(1, "ns", "pod-151080"));
        assert_eq!(t.id_of("ns", "pod-9011"), None);
        t.insert_test(worker(2, "ns", "pod-9011"));
        t.insert_test(worker(3, "ns", "pod-9012"));
        assert_eq!(
            (t.id_of("ns", "pod-151080"), t.id_of("ns", "pod-9011"), t.id_of("ns", "pod-9012")),
            (Some(1), Some(2), Some(3))
        );
        t.remove(&1);
        assert_eq!((t.id_of("ns", "pod-151080"), t.id_of("ns", "pod-9011")), (None, Some(2)));
    }

    #[test]
    fn the_active_request_sums_follow_admission_termination_and_removal() {
        let with_requests = |id, name: &str, cpu_millis| {
            let mut w = worker(id, "ns", name);
            let mut pod = Pod::clone(&w.pod);
            pod.spec.containers[0].resources.requests =
                ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(1 << 20);
            w.pod = Arc::new(pod);
            w
        };
        let mut t = PodTable::default();
        t.insert_test(with_requests(1, "a", 100));
        t.insert_test(with_requests(2, "b", 250));
        t.insert_test(with_requests(3, "c", 50));
        assert_eq!((t.active_pods(), t.active_requests(&ResourceName::Cpu)), (3, 400));
        assert_eq!(t.active_requests(&ResourceName::Memory), 3 << 20);
        assert_eq!(t.active_requests(&ResourceName::EphemeralStorage), 0);
        // Terminal pods stop counting, once however often they are made terminal; removing them
        // changes nothing more.
        t.set_terminal(2, PodPhase::Succeeded);
        t.set_terminal(2, PodPhase::Failed);
        assert_eq!(t[&2].terminal(), Some(PodPhase::Succeeded));
        assert_eq!((t.active_pods(), t.active_requests(&ResourceName::Cpu)), (2, 150));
        t.remove(&2);
        assert_eq!((t.active_pods(), t.active_requests(&ResourceName::Cpu)), (2, 150));
        // Removing an active pod takes its requests away.
        t.remove(&1);
        assert_eq!((t.active_pods(), t.active_requests(&ResourceName::Cpu)), (1, 50));
        t.clear();
        assert_eq!((t.active_pods(), t.active_requests(&ResourceName::Memory)), (0, 0));
    }
}
