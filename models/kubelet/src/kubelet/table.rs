//! The admitted pods of one kubelet: a flat table ordered by local pod number, with an index by
//! pod key.
//!
//! Why not two `BTreeMap`s: a node runs at most a few hundred pods, and a map keyed by
//! `ObjectKey` kept two string copies of every pod's name beside the pod object that already
//! holds them, while B-tree leaves filled in ascending order stay about half empty. The table keeps
//! each worker once, contiguously; the key index is one `u32` per pod and reads the names from
//! the pods themselves. Walks go in ascending pod number, the order the maps gave.

use std::cmp::Ordering;

use super::worker::PodWorker;

/// Pod workers by local pod number, and their numbers by pod key.
#[derive(Debug, Default)]
pub(crate) struct PodTable {
    /// Sorted by [`PodWorker::id`], each id once.
    workers: Vec<PodWorker>,
    /// The ids of `workers`, sorted by pod key (namespace, then name: `ObjectKey`'s order).
    by_key: Vec<u32>,
}

impl PodTable {
    fn position(&self, id: u32) -> Result<usize, usize> {
        self.workers.binary_search_by_key(&id, |w| w.id)
    }

    /// The worker of pod number `id`.
    pub(crate) fn get(&self, id: &u32) -> Option<&PodWorker> {
        self.position(*id).ok().map(|i| &self.workers[i])
    }

    /// The worker of pod number `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut PodWorker> {
        self.position(*id).ok().map(|i| &mut self.workers[i])
    }

    fn key_order(&self, id: u32, namespace: &str, name: &str) -> Ordering {
        match self.get(&id) {
            Some(w) => (w.pod.meta.namespace.as_str(), w.pod.meta.name.as_str()).cmp(&(namespace, name)),
            // Unreachable (the index holds only ids of the table); any answer keeps the search finite.
            None => Ordering::Less,
        }
    }

    fn key_position(&self, namespace: &str, name: &str) -> Result<usize, usize> {
        self.by_key.binary_search_by(|&id| self.key_order(id, namespace, name))
    }

    /// The pod number of the pod named `namespace/name`.
    pub(crate) fn id_of(&self, namespace: &str, name: &str) -> Option<u32> {
        self.key_position(namespace, name).ok().map(|i| self.by_key[i])
    }

    /// Adds `worker`, whose id and pod key must both be new (the caller checks the key; ids are
    /// never reused).
    pub(crate) fn insert(&mut self, worker: PodWorker) {
        let id = worker.id;
        let Err(key_at) = self.key_position(&worker.pod.meta.namespace, &worker.pod.meta.name) else {
            debug_assert!(false, "pod key already in the table");
            return;
        };
        let Err(at) = self.position(id) else {
            debug_assert!(false, "pod number {id} already in the table");
            return;
        };
        self.workers.insert(at, worker);
        self.by_key.insert(key_at, id);
    }

    /// Removes and returns the worker of pod number `id`.
    pub(crate) fn remove(&mut self, id: &u32) -> Option<PodWorker> {
        let at = self.position(*id).ok()?;
        let meta = &self.workers[at].pod.meta;
        if let Ok(key_at) = self.key_position(&meta.namespace, &meta.name) {
            self.by_key.remove(key_at);
        }
        Some(self.workers.remove(at))
    }

    /// Forgets every pod.
    pub(crate) fn clear(&mut self) {
        self.workers.clear();
        self.by_key.clear();
    }

    /// Number of pods.
    pub(crate) fn len(&self) -> usize {
        self.workers.len()
    }

    /// Pod numbers, ascending.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &u32> {
        self.workers.iter().map(|w| &w.id)
    }

    /// Workers, by ascending pod number.
    pub(crate) fn values(&self) -> impl Iterator<Item = &PodWorker> {
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
            t.insert(worker(id, ns, name));
        }
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), [1, 2, 4, 7, 9]);
        assert_eq!(t.len(), 5);
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
            t.insert(worker(id, "ns", name));
        }
        let gone = t.remove(&2).expect("present");
        assert_eq!(gone.pod.meta.name, "a");
        assert!(t.remove(&2).is_none());
        assert_eq!(t.id_of("ns", "a"), None);
        assert_eq!((t.id_of("ns", "b"), t.id_of("ns", "c")), (Some(3), Some(1)));
        assert_eq!(t.keys().copied().collect::<Vec<_>>(), [1, 3]);
        // The key is free again, under a new number.
        t.insert(worker(8, "ns", "a"));
        assert_eq!(t.id_of("ns", "a"), Some(8));
        t.clear();
        assert_eq!((t.len(), t.id_of("ns", "b")), (0, None));
    }
}
