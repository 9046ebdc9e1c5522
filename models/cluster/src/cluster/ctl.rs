//! The second group of controllers — metrics pipeline, HPA, endpoints, disruption (PDB status,
//! Eviction API, drain), Job and garbage collection — and how the driver reaches them: one
//! state struct, one event type, one action dispatcher, one pod-change hook and one sync step
//! inside the controllers' `ControllerSync` round.
//!
//! Like the ReplicaSet and Deployment controllers, these are level-triggered: a pod change marks
//! the Services, PDBs and Jobs that select or own the pod dirty, and the next sync round
//! recomputes them from the store.

use std::collections::{BTreeMap, BTreeSet};

use kubesim_api::{ObjectKey, Pod, Shared};
use kubesim_scheduler::framework::interface::PdbInfo;
use kubesim_scheduler::framework::{
    ClusterObjects, ControllerKind, ControllerSelector, ServiceSelector, WorkloadSelectors,
};

use super::hpa::HpaSlot;
use super::job::JobSlot;
use super::label_index::{required_by_labels, FirstLabelIndex, Required};
use super::metrics_pipeline::MetricsPipeline;
use super::*;

/// Timers of the controllers in this group.
#[derive(Debug, Clone)]
pub enum CtlEvent {
    /// metrics-server scrapes every kubelet (every `metrics_resolution`).
    MetricsScrape,
    /// The HPA controller reconciles one HPA (every `hpa.sync_period`), by its index in the
    /// controller's slab of HPAs: the timer is re-armed 8.6 M times a day at full scale, and a
    /// sync finds its HPA without a search by key.
    HpaSync(u32),
    /// Re-sync one PDB (an admitted eviction leaves `disruptedPods` after its timeout).
    ResyncPdb(ObjectKey),
    /// Re-sync one Job (active deadline or pod-failure backoff).
    ResyncJob(ObjectKey),
    /// A drain retries the eviction of one pod after a 429.
    EvictionRetry {
        /// The node being drained.
        node: String,
        /// The pod.
        pod: ObjectKey,
    },
}

/// Everything the controllers of this group keep between events.
#[derive(Debug, Default)]
pub(super) struct CtlState {
    /// The metrics-server model.
    pub(super) metrics: MetricsPipeline,
    /// Per HPA, in creation order (never removed: HPAs are not deleted): the controller's
    /// memory and its sync timer. `HpaSync` events carry the index.
    pub(super) hpas: Vec<HpaSlot>,
    /// Index in `hpas` by HPA key.
    pub(super) hpa_ids: BTreeMap<ObjectKey, u32>,
    /// Batched HPA decisions computed again at their turn because an earlier apply of the
    /// batch wrote their target (a diagnostic, read by tests).
    pub(super) hpa_recomputes: u64,
    /// Per Service: names of its ready endpoints (pods), sorted.
    pub(super) endpoints: BTreeMap<ObjectKey, Vec<String>>,
    /// Per Service: the `endpoints_changes` count when its ready list last changed (a scrape
    /// re-checks a pod's membership only then).
    pub(super) endpoints_changed_at: BTreeMap<ObjectKey, u64>,
    pub(super) endpoints_changes: u64,
    pub(super) dirty_services: BTreeSet<ObjectKey>,
    pub(super) dirty_pdbs: BTreeSet<ObjectKey>,
    pub(super) dirty_jobs: BTreeSet<ObjectKey>,
    /// Pending PDB re-syncs.
    pub(super) pdb_rechecks: BTreeMap<ObjectKey, EventId>,
    /// Per Job: tracking, timer, last sync.
    pub(super) jobs: BTreeMap<ObjectKey, JobSlot>,
    /// Nodes being drained → pods still on them.
    pub(super) drains: BTreeMap<String, BTreeSet<ObjectKey>>,
    /// The scheduler's view of Services, controller selectors and PDBs is stale.
    pub(super) objects_dirty: bool,
    /// `store.services` keys in order, and the index of their selectors (rebuilt when a Service
    /// is applied): which Services may select a pod.
    pub(super) service_keys: Vec<ObjectKey>,
    pub(super) service_index: FirstLabelIndex,
    /// The index of `config.service_loads` by their Service's selector (rebuilt with the above).
    pub(super) load_index: FirstLabelIndex,
    /// The index of `config.workloads` by selector (built on first use; the list never changes).
    pub(super) workload_index: std::sync::OnceLock<FirstLabelIndex>,
    /// Bumped whenever the Service indexes are rebuilt: what a pod's load resolution depends on
    /// besides the pod itself.
    pub(super) services_version: u64,
    /// The Service and controller selectors last handed to the scheduler, and the
    /// `services_version` its Service list was built at: the next hand-over shares what did not
    /// change.
    pub(super) scheduler_workloads: WorkloadSelectors,
    pub(super) scheduler_services_version: Option<u64>,
}

impl<W: Write> World<W> {
    pub(super) fn ctl_event(&mut self, ev: CtlEvent, now: SimTime, q: &mut EventQueue<Event>) {
        match ev {
            CtlEvent::MetricsScrape => self.metrics_scrape(now, q),
            CtlEvent::HpaSync(id) => self.hpa_sync(id, now, q),
            CtlEvent::ResyncPdb(key) => {
                self.ctl.pdb_rechecks.remove(&key);
                self.ctl.dirty_pdbs.insert(key);
                self.schedule_controller_sync(now, q);
            }
            CtlEvent::ResyncJob(key) => {
                if let Some(slot) = self.ctl.jobs.get_mut(&key) {
                    slot.timer = None;
                }
                self.ctl.dirty_jobs.insert(key);
                self.schedule_controller_sync(now, q);
            }
            CtlEvent::EvictionRetry { node, pod } => self.drain_evict(&node, &pod, now, q),
        }
    }

    pub(super) fn ctl_action(&mut self, action: Action, now: SimTime, q: &mut EventQueue<Event>) {
        match action {
            Action::ApplyHpa(h) => {
                if let Err(e) = self.apply_hpa(*h, now, q) {
                    self.record(now, "ObjectRejected", &rec::ObjectRejected { error: &e.to_string() });
                }
            }
            Action::ApplyService(s) => self.apply_service(*s, now, q),
            Action::ApplyPdb(p) => self.apply_pdb(*p, now, q),
            Action::ApplyJob(j) => self.apply_job(*j, now, q),
            Action::Drain { node } => self.drain(&node, now, q),
            Action::Evict { pod } => {
                self.evict(&pod, "scenario", now, q);
            }
            Action::DeleteDeployment(key) => self.delete_deployment(&key, now, q),
            Action::DeleteJob(key) => self.delete_job(&key, now, q),
            _ => {}
        }
    }

    /// A pod was created, changed readiness or phase, started terminating or was removed: mark
    /// the Services and PDBs selecting it and the Job owning it.
    pub(super) fn ctl_pod_changed(&mut self, pod: &Pod, now: SimTime, q: &mut EventQueue<Event>) {
        let ns = &pod.meta.namespace;
        let mut dirty = false;
        // Only the Services indexed under one of the pod's labels can select it.
        for i in self.ctl.service_index.candidates(&pod.meta.labels) {
            let key = &self.ctl.service_keys[i];
            let Some(svc) = self.store.services.get(key) else { continue };
            let selects = svc.selector.as_ref().is_some_and(|sel| {
                !sel.is_empty()
                    && key.namespace == *ns
                    && sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v))
            });
            if selects {
                self.ctl.dirty_services.insert(key.clone());
                dirty = true;
            }
        }
        for (key, pdb) in &self.store.pdbs {
            if key.namespace == *ns && pdb.selector.as_ref().is_some_and(|s| s.matches(&pod.meta.labels)) {
                self.ctl.dirty_pdbs.insert(key.clone());
                dirty = true;
            }
        }
        if let Some(owner) = pod.meta.controller_ref().filter(|o| o.kind == "Job") {
            self.ctl.dirty_jobs.insert(ObjectKey::new(ns, &owner.name));
            dirty = true;
        }
        let key = pod.meta.key();
        if self.store.pod(&key).is_none() {
            if let Some(node) = &pod.spec.node_name {
                self.drain_pod_gone(node, &key, now);
            }
        }
        if dirty {
            self.schedule_controller_sync(now, q);
        }
    }

    /// Rebuilds the Service and Service-load indexes (after a Service is applied).
    pub(super) fn reindex_services(&mut self) {
        self.ctl.services_version += 1;
        self.ctl.service_keys = self.store.services.keys().cloned().collect();
        self.ctl.service_index = FirstLabelIndex::new(
            self.store.services.values().map(|s| required_by_labels(s.selector.as_ref())),
        );
        let services = &self.store.services;
        self.ctl.load_index = FirstLabelIndex::new(self.config.service_loads.iter().map(|l| {
            services.get(&l.service).map_or(Required::Nothing, |s| required_by_labels(s.selector.as_ref()))
        }));
    }

    /// This group's step of a controller sync round: endpoints, then PDBs, then Jobs.
    pub(super) fn run_ctl_controllers(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        for key in std::mem::take(&mut self.ctl.dirty_services) {
            self.sync_endpoints(&key, now);
        }
        for key in std::mem::take(&mut self.ctl.dirty_pdbs) {
            self.sync_pdb(&key, now, q);
        }
        for key in std::mem::take(&mut self.ctl.dirty_jobs) {
            self.sync_job(&key, now, q);
        }
    }

    /// Hands the scheduler the Services, ReplicaSet selectors and PDBs its plugins read
    /// (PodTopologySpread's system default spreading, DefaultPreemption's PDB check).
    pub(super) fn refresh_scheduler_objects(&mut self) {
        if !self.ctl.objects_dirty {
            return;
        }
        self.ctl.objects_dirty = false;
        let workloads = WorkloadSelectors {
            services: self.scheduler_services(),
            controllers: self.scheduler_controllers(),
        };
        self.ctl.scheduler_workloads = workloads.clone();
        let pdbs = self
            .store
            .pdbs
            .values()
            .filter_map(|p| {
                Some(PdbInfo {
                    namespace: p.meta.namespace.to_string(),
                    name: p.meta.name.to_string(),
                    selector: p.selector.clone()?,
                    disruptions_allowed: p.status.disruptions_allowed,
                })
            })
            .collect();
        let objects = ClusterObjects { namespace_labels: BTreeMap::new(), workloads, pdbs };
        self.scheduler.set_cluster_objects(Arc::new(objects));
    }

    /// The Services' selectors for the scheduler: the last list handed over while no Service was
    /// applied since (every apply bumps `services_version`), else built anew.
    fn scheduler_services(&mut self) -> Vec<Shared<ServiceSelector>> {
        let version = self.ctl.services_version;
        if self.ctl.scheduler_services_version == Some(version) {
            return self.ctl.scheduler_workloads.services.clone();
        }
        self.ctl.scheduler_services_version = Some(version);
        self.store
            .services
            .values()
            .map(|s| {
                Shared::new(ServiceSelector {
                    namespace: s.meta.namespace.to_string(),
                    selector: s.selector.clone(),
                })
            })
            .collect()
    }

    /// The ReplicaSets' selectors for the scheduler, in key order: the last list, patched at the
    /// ReplicaSets the store logged as added, removed or re-selected since (a rollout adds one
    /// ReplicaSet to thousands; comparing every entry's selector on each one was 4-6 % of a
    /// full-scale run). Entries that did not change stay the same allocations, which the
    /// scheduler's workload index relies on to skip re-checking them.
    fn scheduler_controllers(&mut self) -> Vec<Shared<ControllerSelector>> {
        let list = &mut self.ctl.scheduler_workloads.controllers;
        match self.store.take_replica_set_selector_changes() {
            None => *list = all_controller_selectors(&self.store.replica_sets, list),
            Some(mut keys) => {
                keys.sort_unstable();
                keys.dedup();
                for key in keys {
                    let here = (key.namespace.as_str(), key.name.as_str());
                    let at = list.binary_search_by(|c| (c.namespace.as_str(), c.name.as_str()).cmp(&here));
                    match (self.store.replica_sets.get(&key), at) {
                        (Some(rs), Ok(i)) if list[i].selector.as_ref() != Some(&rs.selector) => {
                            list[i] = controller_selector(rs);
                        }
                        (Some(_), Ok(_)) | (None, Err(_)) => {}
                        (Some(rs), Err(i)) => list.insert(i, controller_selector(rs)),
                        (None, Ok(i)) => {
                            list.remove(i);
                        }
                    }
                }
            }
        }
        debug_assert!(
            *list == all_controller_selectors(&self.store.replica_sets, &[]),
            "the patched controller list is the list built from every ReplicaSet"
        );
        list.clone()
    }
}

fn controller_selector(rs: &ReplicaSet) -> Shared<ControllerSelector> {
    Shared::new(ControllerSelector {
        kind: ControllerKind::ReplicaSet,
        namespace: rs.meta.namespace.to_string(),
        name: rs.meta.name.to_string(),
        selector: Some(rs.selector.clone()),
    })
}

/// Every ReplicaSet's selector in key order, sharing the entries of `previous` (in key order)
/// whose ReplicaSet is still there with the same selector: one merge pass pairs them.
fn all_controller_selectors(
    replica_sets: &BTreeMap<ObjectKey, ReplicaSet>,
    previous: &[Shared<ControllerSelector>],
) -> Vec<Shared<ControllerSelector>> {
    let mut previous = previous.iter().peekable();
    replica_sets
        .iter()
        .map(|(key, rs)| {
            let here = (key.namespace.as_str(), key.name.as_str());
            while previous.next_if(|c| (c.namespace.as_str(), c.name.as_str()) < here).is_some() {}
            let reused = previous.next_if(|c| {
                (c.namespace.as_str(), c.name.as_str()) == here
                    && c.kind == ControllerKind::ReplicaSet
                    && c.selector.as_ref() == Some(&rs.selector)
            });
            reused.cloned().unwrap_or_else(|| controller_selector(rs))
        })
        .collect()
}
