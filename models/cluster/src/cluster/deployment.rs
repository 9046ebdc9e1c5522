//! The Deployment controller: new ReplicaSets, rolling and Recreate steps, proportional scaling, status.

use super::*;

impl<W: Write> World<W> {
    pub(super) fn apply_deployment(&mut self, mut d: Deployment, now: SimTime, q: &mut EventQueue<Event>) {
        if d.meta.namespace.is_empty() {
            d.meta.namespace = "default".into();
        }
        let key = d.meta.key();
        match self.store.deployments.get(&key) {
            Some(old) => {
                let changed = old.template != d.template
                    || old.replicas != d.replicas
                    || old.strategy != d.strategy
                    || old.paused != d.paused
                    || old.min_ready_seconds != d.min_ready_seconds;
                d.meta.uid = old.meta.uid.clone();
                d.meta.creation_timestamp = old.meta.creation_timestamp;
                d.meta.generation = old.meta.generation + i64::from(changed);
            }
            None => {
                if d.meta.uid.is_empty() {
                    d.meta.uid = self.store.next_uid("deployment").into();
                }
                d.meta.creation_timestamp = now;
                d.meta.generation = 1;
            }
        }
        d.meta.resource_version = self.store.next_resource_version();
        self.record(
            now,
            "DeploymentUpdated",
            &rec::DeploymentUpdated {
                deployment: &key.to_string(),
                replicas: d.replicas,
                generation: d.meta.generation,
            },
        );
        self.store.deployments.insert(key.clone(), d);
        self.mark_deploy(key, now, q);
    }

    /// The Deployment controller's `syncDeployment`.
    pub(super) fn sync_deployment(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(d) = self.store.deployments.get(key).cloned() else { return };
        let mut rss: Vec<ReplicaSet> = self.store.replica_sets_of(&d.meta.uid).into_iter().cloned().collect();
        let recreate = matches!(d.strategy, DeploymentStrategy::Recreate);
        // Recreate creates the new RS only once no old pod runs (`rolloutRecreate`); RollingUpdate
        // creates it at once (`getAllReplicaSetsAndSyncRevision(createIfNotExisted=true)`).
        let may_create = !d.paused && (!recreate || self.recreate_old_gone(&d, &rss));
        if find_new_replica_set(&d.template, &rss).is_none() && may_create {
            let rs = self.new_replica_set(&d, &rss, now);
            rss.push(rs);
        }
        let new_name = find_new_replica_set(&d.template, &rss).map(|rs| rs.meta.name.to_string());
        if let Some(name) = &new_name {
            self.sync_revision(name, &mut rss);
        }
        let summaries: Vec<RsSummary> = rss.iter().map(RsSummary::from_replica_set).collect();
        let new = new_name.as_ref().and_then(|n| summaries.iter().find(|s| &s.name == n)).cloned();
        let old: Vec<RsSummary> =
            summaries.iter().filter(|s| Some(&s.name) != new_name.as_ref()).cloned().collect();
        let previous = self.deployment_status.get(key).cloned().unwrap_or_default();

        // A scaling event (spec.replicas differs from what the active RSs were sized for) is handled
        // proportionally before any rollout step (`isScalingEvent` → `scale`).
        let scaling = summaries
            .iter()
            .filter(|s| s.spec_replicas > 0)
            .any(|s| s.desired_annotation.is_some_and(|a| a != d.replicas));
        let mut actions: Vec<ScaleAction> = Vec::new();
        if scaling && !recreate {
            actions = proportional_scale(&d, new.as_ref(), &old, previous.replicas);
        } else if !d.paused {
            match &d.strategy {
                DeploymentStrategy::RollingUpdate { .. } => {
                    if let Some(new) = &new {
                        match rolling_step(&d, new, &old) {
                            RollingStep::ScaledNew(a) => actions.push(a),
                            RollingStep::ScaledDownOld(v) => actions = v,
                            RollingStep::Idle => {}
                        }
                    }
                }
                DeploymentStrategy::Recreate => {
                    let old_pods = self.old_pods(&rss, new_name.as_deref());
                    match recreate_step(&d, new.as_ref(), &old, &old_pods) {
                        RecreateStep::ScaleDownOld(v) => actions = v,
                        RecreateStep::ScaleUpNew(a) => actions.push(a),
                        RecreateStep::WaitForOldPods | RecreateStep::Idle => {}
                    }
                }
            }
        }
        for a in &actions {
            self.scale_replica_set(&d, &ObjectKey::new(&d.meta.namespace, &a.name), a.replicas, now, q);
        }
        // Status from the RSs as they are now.
        let rss: Vec<ReplicaSet> = self.store.replica_sets_of(&d.meta.uid).into_iter().cloned().collect();
        let summaries: Vec<RsSummary> = rss.iter().map(RsSummary::from_replica_set).collect();
        let new = new_name.as_ref().and_then(|n| summaries.iter().find(|s| &s.name == n));
        let rollout = sync_rollout_status(&d, &summaries, new, &previous, now);
        if let Some(after) = rollout.requeue_after {
            // `Some(ZERO)` is upstream's `enqueueRateLimited`: each successful sync `Forget`s the
            // key, so the wait is the default controller rate limiter's 5 ms item delay or, when
            // many keys are stuck at once (a zone outage), the queue's shared 10 qps bucket.
            let after = if after.is_zero() { self.deployment_queue_limiter.when(now) } else { after };
            self.deployment_waiting.add_at(key, now + after, q, Event::ResyncDeployment);
        }
        let complete = is_complete(&d, &rollout.status);
        let revision = new.map_or(0, |n| n.revision);
        self.deployment_status.insert(key.clone(), rollout.status);
        if complete && self.completed_revision.get(key) != Some(&revision) {
            self.completed_revision.insert(key.clone(), revision);
            self.record(
                now,
                "DeploymentRolloutComplete",
                &rec::RolloutComplete { deployment: &key.to_string(), revision },
            );
        }
    }

    /// `getNewReplicaSet`'s revision sync: the new RS must carry the highest revision. When an old
    /// RS becomes the new one again (a rollback is a template change back), it takes
    /// `max(other revisions) + 1` and its former revision joins `revision-history`.
    fn sync_revision(&mut self, new_name: &str, rss: &mut [ReplicaSet]) {
        let others: Vec<ReplicaSet> = rss.iter().filter(|rs| rs.meta.name != new_name).cloned().collect();
        let wanted = next_revision(&others);
        let Some(rs) = rss.iter_mut().find(|rs| rs.meta.name == new_name) else { return };
        if kubesim_controllers::deployment::history::revision(rs) >= wanted {
            return;
        }
        let (revision, history) =
            kubesim_controllers::deployment::history::new_revision_annotations(rs, wanted);
        rs.meta.annotations.insert(REVISION_ANNOTATION.into(), revision);
        if let Some(h) = history {
            rs.meta
                .annotations
                .insert(kubesim_controllers::deployment::REVISION_HISTORY_ANNOTATION.into(), h);
        }
        self.store.put_replica_set(rs.clone());
    }

    /// Pods of the deployment's RSs other than `new_name`.
    pub(super) fn old_pods(&self, rss: &[ReplicaSet], new_name: Option<&str>) -> Vec<Pod> {
        rss.iter()
            .filter(|rs| Some(rs.meta.name.as_str()) != new_name)
            .flat_map(|rs| self.store.pods_of_owner(&rs.meta.uid).map(|p| Pod::clone(p)).collect::<Vec<_>>())
            .collect()
    }

    /// Recreate may start the new RS: every old RS is at 0 and no old pod runs.
    pub(super) fn recreate_old_gone(&self, d: &Deployment, rss: &[ReplicaSet]) -> bool {
        let new_name = find_new_replica_set(&d.template, rss).map(|rs| rs.meta.name.clone());
        let old: Vec<RsSummary> = rss
            .iter()
            .filter(|rs| Some(&rs.meta.name) != new_name.as_ref())
            .map(RsSummary::from_replica_set)
            .collect();
        old.iter().all(|r| r.spec_replicas == 0)
            && !kubesim_controllers::deployment::recreate::old_pods_running(
                &old,
                &self.old_pods(rss, new_name.as_deref()),
            )
    }

    pub(super) fn new_replica_set(
        &mut self,
        d: &Deployment,
        existing: &[ReplicaSet],
        now: SimTime,
    ) -> ReplicaSet {
        let hash = d.template.template_hash();
        let name = format!("{}-{hash}", d.meta.name);
        let mut template = d.template.clone();
        template.labels.insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = d.selector.clone();
        selector.match_expressions.push(LabelSelectorRequirement {
            key: POD_TEMPLATE_HASH.into(),
            operator: LabelSelectorOperator::In,
            values: vec![hash],
        });
        let summaries: Vec<RsSummary> = existing.iter().map(RsSummary::from_replica_set).collect();
        let mut rs = ReplicaSet {
            meta: ObjectMeta::named(&d.meta.namespace, &name),
            replicas: 0,
            selector,
            template,
            min_ready_seconds: d.min_ready_seconds,
            status: Default::default(),
        };
        rs.meta.uid = self.store.next_uid("replicaset").into();
        rs.meta.creation_timestamp = now;
        rs.meta.generation = 1;
        rs.meta.labels = d.template.labels.clone();
        rs.meta.owner_references.push(OwnerReference {
            kind: "Deployment".into(),
            name: d.meta.name.to_string(),
            uid: d.meta.uid.to_string(),
            controller: true,
        });
        let revision = next_revision(existing);
        rs.meta.annotations.insert(REVISION_ANNOTATION.into(), revision.to_string());
        let fresh = RsSummary { name: name.clone(), created: now, ..Default::default() };
        rs.replicas = new_rs_new_replicas(d, &summaries, &fresh);
        rs.meta.annotations.insert(DESIRED_REPLICAS_ANNOTATION.into(), d.replicas.to_string());
        rs.meta.annotations.insert(MAX_REPLICAS_ANNOTATION.into(), (d.replicas + max_surge(d)).to_string());
        rs.meta.resource_version = self.store.next_resource_version();
        let key = rs.meta.key();
        self.record(
            now,
            "ReplicaSetCreated",
            &rec::ReplicaSetCreated {
                replicaset: &key.to_string(),
                deployment: &d.meta.key().to_string(),
                revision,
                replicas: rs.replicas,
            },
        );
        self.store.put_replica_set(rs.clone());
        self.ctl.objects_dirty = true;
        self.dirty_rs.insert(key);
        rs
    }

    pub(super) fn scale_replica_set(
        &mut self,
        d: &Deployment,
        key: &ObjectKey,
        replicas: i32,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let rv = self.store.next_resource_version();
        let Some(rs) = self.store.replica_sets.get_mut(key) else { return };
        let from = rs.replicas;
        rs.replicas = replicas;
        rs.meta.annotations.insert(DESIRED_REPLICAS_ANNOTATION.into(), d.replicas.to_string());
        rs.meta.annotations.insert(MAX_REPLICAS_ANNOTATION.into(), (d.replicas + max_surge(d)).to_string());
        if from != replicas {
            rs.meta.generation += 1;
        }
        rs.meta.resource_version = rv;
        if from != replicas {
            self.record(
                now,
                "ReplicaSetScaled",
                &rec::ReplicaSetScaled { replicaset: &key.to_string(), from, to: replicas },
            );
        }
        self.mark_rs(key.clone(), now, q);
        // The deployment controller watches its ReplicaSets: an RS update requeues the owner.
        self.mark_deploy(d.meta.key(), now, q);
    }
}
