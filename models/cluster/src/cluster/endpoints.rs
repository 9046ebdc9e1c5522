//! The EndpointSlice controller: per Service, the pods that receive traffic.
//!
//! A Service is re-synced when a pod it selects changes readiness or phase, starts terminating
//! or goes away (and when the Service itself is applied); the set of endpoints and their
//! conditions come from `kubesim_controllers::endpoints::desired_slices`. The driver keeps only
//! the *ready* endpoints (what kube-proxy routes new connections to): request-driven workloads
//! spread their Service's offered load over them (see `metrics_pipeline`).

use kubesim_api::services::Service;
use kubesim_controllers::endpoints::ready_pod_names;

use super::*;

impl<W: Write> World<W> {
    pub(super) fn apply_service(&mut self, mut svc: Service, now: SimTime, q: &mut EventQueue<Event>) {
        if svc.meta.namespace.is_empty() {
            svc.meta.namespace = "default".into();
        }
        let key = svc.meta.key();
        match self.store.services.get(&key) {
            Some(old) => {
                svc.meta.uid = old.meta.uid.clone();
                svc.meta.creation_timestamp = old.meta.creation_timestamp;
                svc.meta.generation = old.meta.generation + i64::from(*old != svc);
            }
            None => {
                svc.meta.uid = self.store.next_uid("service").into();
                svc.meta.creation_timestamp = now;
                svc.meta.generation = 1;
            }
        }
        svc.meta.resource_version = self.store.next_resource_version();
        self.record(
            now,
            "ObjectApplied",
            &rec::ObjectApplied {
                object_kind: "Service",
                object: &key.to_string(),
                generation: svc.meta.generation,
            },
        );
        self.store.services.insert(key.clone(), svc);
        self.reindex_services();
        self.ctl.objects_dirty = true;
        self.ctl.dirty_services.insert(key);
        self.schedule_controller_sync(now, q);
    }

    /// `syncService`: recompute the Service's endpoints; record a change of the ready count.
    pub(super) fn sync_endpoints(&mut self, key: &ObjectKey, now: SimTime) {
        let Some(svc) = self.store.services.get(key) else {
            self.ctl.endpoints.remove(key);
            self.ctl.endpoints_changed_at.remove(key);
            return;
        };
        let Some(selector) = svc.selector.as_ref().filter(|s| !s.is_empty()) else {
            // Not managed by the controller.
            return;
        };
        // Only the ready endpoints are kept (see the module docs): they are read straight from
        // the pods, as `ready_pods(desired_slices(..))` would give them, without the slices.
        let ready = ready_pod_names(svc, self.store.pods_with_all_labels(&key.namespace, selector))
            .unwrap_or_default();
        let before = self.ctl.endpoints.get(key).map_or(usize::MAX, Vec::len);
        let count = ready.len();
        if self
            .ctl
            .endpoints
            .get(key)
            .is_none_or(|old| !old.iter().map(String::as_str).eq(ready.iter().copied()))
        {
            let ready: Vec<String> = ready.into_iter().map(str::to_owned).collect();
            self.ctl.endpoints_changes += 1;
            self.ctl.endpoints_changed_at.insert(key.clone(), self.ctl.endpoints_changes);
            self.ctl.endpoints.insert(key.clone(), ready);
        }
        if before != count {
            self.record(
                now,
                "EndpointsChanged",
                &rec::EndpointsChanged { service: &key.to_string(), ready: count },
            );
        }
    }
}

impl<W: Write> Cluster<W> {
    /// Creates or updates a Service now.
    pub fn apply_service(&mut self, svc: Service) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.apply_service(svc, now, &mut self.queue);
        self.world.take_error()
    }

    /// Names of the Service's ready endpoints (pods), sorted; empty for an unknown Service.
    pub fn ready_endpoints(&self, service: &ObjectKey) -> &[String] {
        self.world.ctl.endpoints.get(service).map_or(&[], Vec::as_slice)
    }
}
