//! PodDisruptionBudgets, the Eviction API and `kubectl drain`.
//!
//! * The disruption controller re-syncs a PDB whenever a pod it selects changes (and when an
//!   admitted eviction's `disruptedPods` entry times out), writing the status computed by
//!   `kubesim_controllers::disruption::compute_status` (fail-safe: 0 allowed on error).
//! * The Eviction API (`evict`) checks the budget with `kubesim_controllers::disruption::evict`,
//!   persists the decremented status and deletes the pod gracefully.
//! * A drain cordons the node, then evicts every pod on it; a 429 is retried every `drain_retry`
//!   (5 s, kubectl's fixed interval) until the pod is evicted; the drain is done when the node has
//!   no pods left. Like `kubectl drain --force --ignore-daemonsets --delete-emptydir-data`: bare pods
//!   are evicted too (there are no DaemonSets).

use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_controllers::disruption::{compute_status, evict, ControllerScales, EvictionDecision};

use super::*;

impl<W: Write> World<W> {
    pub(super) fn apply_pdb(
        &mut self,
        mut pdb: PodDisruptionBudget,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        if pdb.meta.namespace.is_empty() {
            pdb.meta.namespace = "default".into();
        }
        let key = pdb.meta.key();
        match self.store.pdbs.get(&key) {
            Some(old) => {
                let spec_changed = old.selector != pdb.selector
                    || old.min_available != pdb.min_available
                    || old.max_unavailable != pdb.max_unavailable
                    || old.unhealthy_pod_eviction_policy != pdb.unhealthy_pod_eviction_policy;
                pdb.meta.uid = old.meta.uid.clone();
                pdb.meta.creation_timestamp = old.meta.creation_timestamp;
                pdb.meta.generation = old.meta.generation + i64::from(spec_changed);
                pdb.status = old.status.clone();
            }
            None => {
                pdb.meta.uid = self.store.next_uid("pdb").into();
                pdb.meta.creation_timestamp = now;
                pdb.meta.generation = 1;
                pdb.status = Default::default();
            }
        }
        pdb.meta.resource_version = self.store.next_resource_version();
        self.record(
            now,
            "ObjectApplied",
            &rec::ObjectApplied {
                object_kind: "PodDisruptionBudget",
                object: &key.to_string(),
                generation: pdb.meta.generation,
            },
        );
        self.store.pdbs.insert(key.clone(), pdb);
        self.ctl.objects_dirty = true;
        self.ctl.dirty_pdbs.insert(key);
        self.schedule_controller_sync(now, q);
    }

    /// The disruption controller's `trySync` for one PDB.
    pub(super) fn sync_pdb(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(pdb) = self.store.pdbs.get(key) else { return };
        let pods: Vec<Pod> =
            self.store.pods().filter(|p| p.meta.namespace == key.namespace).map(|p| Pod::clone(p)).collect();
        let rss: Vec<ReplicaSet> =
            self.store.replica_sets.values().filter(|r| r.meta.namespace == key.namespace).cloned().collect();
        let deps: Vec<Deployment> =
            self.store.deployments.values().filter(|d| d.meta.namespace == key.namespace).cloned().collect();
        // Jobs have no scale subresource: upstream's finders do not resolve them, so a budget with
        // maxUnavailable or a percent over Job pods fails safe, as here.
        let scales = ControllerScales::from_workloads(&rss, &deps);
        let result = compute_status(pdb, &pods, &scales, now);
        let mut status = pdb.status.clone();
        status.observed_generation = pdb.meta.generation;
        let error = match &result {
            Ok(s) => {
                status.expected_pods = s.expected_pods;
                status.current_healthy = s.current_healthy;
                status.desired_healthy = s.desired_healthy;
                status.disruptions_allowed = s.disruptions_allowed;
                status.disrupted_pods = s.disrupted_pods.clone();
                None
            }
            Err(e) => {
                status.disruptions_allowed = 0;
                Some(e.to_string())
            }
        };
        if let Some(at) = result.as_ref().ok().and_then(|s| s.recheck_at) {
            // An entry is kept while `expires >= now`: look again just after it expires.
            let at = (at + SimDuration::from_nanos(1)).max(now);
            let id =
                q.schedule_at(at, Event::Ctl(CtlEvent::ResyncPdb(key.clone()))).expect("not in the past");
            if let Some(old) = self.ctl.pdb_rechecks.insert(key.clone(), id) {
                q.cancel(old);
            }
        }
        if status == pdb.status {
            return;
        }
        let allowed_changed = status.disruptions_allowed != pdb.status.disruptions_allowed;
        self.record(
            now,
            "PdbStatus",
            &rec::PdbStatus {
                pdb: &key.to_string(),
                expected_pods: status.expected_pods,
                current_healthy: status.current_healthy,
                desired_healthy: status.desired_healthy,
                disruptions_allowed: status.disruptions_allowed,
                error,
            },
        );
        let rv = self.store.next_resource_version();
        if let Some(obj) = self.store.pdbs.get_mut(key) {
            obj.status = status;
            obj.meta.resource_version = rv;
        }
        if allowed_changed {
            self.ctl.objects_dirty = true;
        }
    }

    /// `POST pods/<name>/eviction`. Returns the HTTP status code (404 for an unknown pod).
    pub(super) fn evict(
        &mut self,
        key: &ObjectKey,
        by: &str,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> u16 {
        let Some(pod) = self.store.pod(key).cloned() else {
            self.record(
                now,
                "EvictionRequest",
                &rec::EvictionRequest { pod: &key.to_string(), by, code: 404, pdb: None },
            );
            return 404;
        };
        let mut pdbs: Vec<PodDisruptionBudget> =
            self.store.pdbs.values().filter(|p| p.meta.namespace == key.namespace).cloned().collect();
        let decision = evict(&pod, &mut pdbs, now);
        let code = decision.status_code();
        let pdb_name = match &decision {
            EvictionDecision::Allowed { decremented } => decremented.clone(),
            EvictionDecision::TooManyRequests { pdb, .. } | EvictionDecision::Forbidden { pdb, .. } => {
                Some(pdb.clone())
            }
            EvictionDecision::InternalError { .. } => None,
        };
        self.record(
            now,
            "EvictionRequest",
            &rec::EvictionRequest { pod: &key.to_string(), by, code, pdb: pdb_name.as_deref() },
        );
        if let EvictionDecision::Allowed { decremented } = decision {
            if let Some(name) = decremented {
                let pdb_key = ObjectKey::new(&key.namespace, &name);
                if let Some(updated) = pdbs.into_iter().find(|p| p.meta.name == name) {
                    let rv = self.store.next_resource_version();
                    if let Some(obj) = self.store.pdbs.get_mut(&pdb_key) {
                        obj.status = updated.status;
                        obj.meta.resource_version = rv;
                    }
                    self.ctl.objects_dirty = true;
                }
            }
            self.counters.evictions += 1;
            self.delete_pod(key, "eviction", now, q);
        }
        code
    }

    /// `kubectl drain <node>`: cordon, then evict everything on it.
    pub(super) fn drain(&mut self, node: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(obj) = self.store.nodes.get_mut(node) else { return };
        if !obj.spec.unschedulable {
            obj.spec.unschedulable = true;
            let updated = obj.clone();
            self.scheduler.update_node(updated, now);
            self.record(now, "NodeCordoned", &rec::NodeDrain { node });
        }
        let pods: BTreeSet<ObjectKey> = self.store.pods_on_node(node).map(|p| p.meta.key()).collect();
        if pods.is_empty() {
            self.record(now, "NodeDrained", &rec::NodeDrain { node });
            return;
        }
        self.ctl.drains.insert(node.to_string(), pods.clone());
        for pod in pods {
            self.drain_evict(node, &pod, now, q);
        }
    }

    /// One eviction attempt of a drain; a refusal is retried after `drain_retry`.
    pub(super) fn drain_evict(
        &mut self,
        node: &str,
        pod: &ObjectKey,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let waiting = self.ctl.drains.get(node).is_some_and(|s| s.contains(pod));
        if !waiting || self.store.pod(pod).is_none_or(|p| p.meta.is_terminating()) {
            return;
        }
        let code = self.evict(pod, "drain", now, q);
        if code == 429 {
            let at = now + self.config.drain_retry;
            q.schedule_at(
                at,
                Event::Ctl(CtlEvent::EvictionRetry { node: node.to_string(), pod: pod.clone() }),
            )
            .expect("not in the past");
        }
    }

    /// A pod left the store: a drain waiting for it may be done.
    pub(super) fn drain_pod_gone(&mut self, node: &str, pod: &ObjectKey, now: SimTime) {
        let Some(waiting) = self.ctl.drains.get_mut(node) else { return };
        if waiting.remove(pod) && waiting.is_empty() {
            self.ctl.drains.remove(node);
            self.record(now, "NodeDrained", &rec::NodeDrain { node });
        }
    }
}

impl<W: Write> Cluster<W> {
    /// Creates or updates a PodDisruptionBudget now.
    pub fn apply_pdb(&mut self, pdb: PodDisruptionBudget) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.apply_pdb(pdb, now, &mut self.queue);
        self.world.take_error()
    }

    /// A PodDisruptionBudget with its status as the disruption controller last wrote it.
    pub fn pdb(&self, key: &ObjectKey) -> Option<&PodDisruptionBudget> {
        self.world.store.pdbs.get(key)
    }

    /// Calls the Eviction API for `pod` now; returns the HTTP status code (201 evicted, 429 budget
    /// exhausted, 403, 500, 404 unknown pod).
    pub fn evict(&mut self, pod: &ObjectKey) -> Result<u16, ClusterError> {
        let now = self.queue.now();
        let code = self.world.evict(pod, "api", now, &mut self.queue);
        self.world.take_error()?;
        Ok(code)
    }
}
