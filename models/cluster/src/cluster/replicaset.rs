//! Controller sync rounds and the ReplicaSet controller.

use super::*;

impl<W: Write> World<W> {
    // ---------------------------------------------------------------- controllers

    pub(super) fn schedule_controller_sync(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        if self.controller_sync.is_none() {
            let at = now + self.config.controller_delay;
            self.controller_sync = Some(q.schedule_at(at, Event::ControllerSync).expect("not in the past"));
        }
    }

    pub(super) fn mark_rs(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.dirty_rs.insert(key);
        self.schedule_controller_sync(now, q);
    }

    pub(super) fn mark_deploy(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.dirty_deploy.insert(key);
        self.schedule_controller_sync(now, q);
    }

    /// Processes dirty keys until quiet (bounded: a controller that keeps dirtying itself yields
    /// to the next sync rather than spinning).
    pub(super) fn run_controllers(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        self.run_ctl_controllers(now, q);
        for _round in 0..16 {
            if self.dirty_rs.is_empty() && self.dirty_deploy.is_empty() {
                return;
            }
            let deploys = std::mem::take(&mut self.dirty_deploy);
            for key in deploys {
                self.sync_deployment(&key, now, q);
            }
            let rss = std::mem::take(&mut self.dirty_rs);
            for key in rss {
                self.sync_replica_set(&key, now, q);
            }
        }
        if !self.dirty_rs.is_empty() || !self.dirty_deploy.is_empty() {
            self.schedule_controller_sync(now, q);
        }
    }

    /// The ReplicaSet controller's `syncReplicaSet`.
    ///
    /// The ReplicaSet is borrowed, not copied: most syncs (a pod's status changed) create and
    /// delete nothing, and only those that create pods take a copy of it for the template.
    pub(super) fn sync_replica_set(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(rs) = self.store.replica_sets.get(key) else { return };
        if rs.meta.is_terminating() {
            return;
        }
        let mut owned: Vec<Arc<Pod>> = self.store.pods_of_owner(&rs.meta.uid).cloned().collect();
        let active: Vec<Arc<Pod>> = owned.iter().filter(|p| p.is_active()).cloned().collect();
        match replica_diff(&active, rs.replicas, BURST_REPLICAS) {
            ReplicaDiff::Create(n) => {
                let rs = rs.clone();
                for _ in 0..n {
                    let pod = self.pod_from_template(&rs);
                    self.create_pod(pod, now, q);
                }
                owned = self.store.pods_of_owner(&rs.meta.uid).cloned().collect();
            }
            ReplicaDiff::Delete(n) => {
                let related: Vec<Arc<Pod>> = match rs.meta.controller_ref() {
                    Some(owner) => self
                        .store
                        .replica_sets_of(&owner.uid)
                        .iter()
                        .flat_map(|r| self.store.pods_of_owner(&r.meta.uid).cloned())
                        .collect(),
                    None => active.clone(),
                };
                let uid = rs.meta.uid.clone();
                let victims = pods_to_delete(&active, &related, n, now, RankingGates::default());
                for i in victims {
                    self.delete_pod(&active[i].meta.key(), "replicaset", now, q);
                }
                owned = self.store.pods_of_owner(&uid).cloned().collect();
            }
            ReplicaDiff::None => {}
        }
        // calculateStatus over the pods as they are after this sync.
        let Some(rs) = self.store.replica_sets.get(key) else { return };
        let active: Vec<&Arc<Pod>> = owned.iter().filter(|p| p.is_active()).collect();
        let ready = active.iter().filter(|p| p.is_ready()).count() as i32;
        let available =
            active.iter().filter(|p| is_pod_available(p, rs.min_ready_seconds, now, false)).count() as i32;
        let terminating = owned.iter().filter(|p| p.meta.is_terminating()).count() as i32;
        let mut status = rs.status.clone();
        status.replicas = active.len() as i32;
        status.ready_replicas = ready;
        status.available_replicas = available;
        status.terminating_replicas = terminating;
        status.observed_generation = rs.meta.generation;
        let mut requeue_at = None;
        if available < ready && rs.min_ready_seconds > 0 {
            // Requeue when the next ready pod becomes available.
            let wait = SimDuration::from_secs(rs.min_ready_seconds as u64);
            requeue_at = active
                .iter()
                .filter(|p| p.is_ready() && !is_pod_available(p, rs.min_ready_seconds, now, false))
                .filter_map(|p| p.condition(PodConditionType::Ready).and_then(|c| c.last_transition_time))
                .map(|t| t.saturating_add(wait))
                .min();
        }
        let status_changed = status != rs.status;
        let deployment = rs
            .meta
            .controller_ref()
            .filter(|owner| owner.kind == "Deployment")
            .map(|owner| ObjectKey::new(&rs.meta.namespace, &owner.name));
        if let Some(at) = requeue_at {
            self.replica_set_waiting.add_at(key, at.max(now), q, Event::ResyncReplicaSet);
        }
        if status_changed {
            let rv = self.store.next_resource_version();
            if let Some(obj) = self.store.replica_sets.get_mut(key) {
                obj.status = status;
                obj.meta.resource_version = rv;
            }
            if let Some(deployment) = deployment {
                self.mark_deploy(deployment, now, q);
            }
        }
    }

    /// A pod for `rs`, named as `generateName` would: `<rs>-` plus five seeded characters.
    pub(super) fn pod_from_template(&mut self, rs: &ReplicaSet) -> Pod {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let name = loop {
            let suffix: String =
                (0..5).map(|_| ALPHABET[self.names.below(ALPHABET.len() as u64) as usize] as char).collect();
            let name = format!("{}-{suffix}", rs.meta.name);
            if self.store.pod(&ObjectKey::new(&rs.meta.namespace, &name)).is_none() {
                break name;
            }
        };
        // The namespace is the ReplicaSet's own `Name`, shared by all its pods.
        let mut meta =
            ObjectMeta { name: name.into(), namespace: rs.meta.namespace.clone(), ..Default::default() };
        meta.labels = rs.template.labels.clone();
        meta.annotations = rs.template.annotations.clone();
        meta.owner_references.push(OwnerReference {
            kind: "ReplicaSet".into(),
            name: rs.meta.name.to_string(),
            uid: rs.meta.uid.to_string(),
            controller: true,
        });
        Pod { meta, spec: rs.template.spec.clone().into(), status: Default::default() }
    }
}
