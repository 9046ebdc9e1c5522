//! Pods: admission, status updates from kubelets, graceful deletion, owner notification.

use super::*;

impl<W: Write> World<W> {
    // ---------------------------------------------------------------- pods

    pub(super) fn workload_for(&self, pod: &Pod) -> Option<Arc<PodWorkload>> {
        if let Some(w) = self.pod_workloads.get(&pod.meta.key()) {
            return Some(w.clone());
        }
        // The first entry (in config order) whose selector matches; only the entries indexed under
        // one of the pod's labels can.
        let index = self.ctl.workload_index.get_or_init(|| {
            super::label_index::FirstLabelIndex::new(
                self.config.workloads.iter().map(|(sel, _)| super::label_index::required_by_selector(sel)),
            )
        });
        index
            .candidates(&pod.meta.labels)
            .into_iter()
            .map(|i| &self.config.workloads[i])
            .find(|(sel, _)| sel.matches(&pod.meta.labels))
            .map(|(_, w)| w.clone())
    }

    /// The pods of one controller carry equal owner references and (once defaulted) equal
    /// tolerations: a new pod takes a sibling's copies (an `Arc` clone) where the values are equal,
    /// so a ReplicaSet's pods hold one copy of each instead of one per pod. Values are unchanged.
    fn share_with_sibling(&self, pod: &mut Pod) {
        let Some(owner) = pod.meta.controller_ref() else { return };
        let Some(sibling) = self.store.pods_of_owner(&owner.uid).next() else { return };
        if sibling.meta.owner_references == pod.meta.owner_references {
            pod.meta.owner_references = sibling.meta.owner_references.clone();
        }
        if sibling.spec.tolerations == pod.spec.tolerations {
            pod.spec.tolerations = sibling.spec.tolerations.clone();
        }
    }

    /// Admission (priority, default tolerations), then the store; the scheduler sees it at once.
    pub(super) fn create_pod(&mut self, mut pod: Pod, now: SimTime, q: &mut EventQueue<Event>) {
        if pod.meta.namespace.is_empty() {
            pod.meta.namespace = "default".into();
        }
        if pod.meta.uid.is_empty() {
            pod.meta.uid = self.store.next_uid("pod").into();
        }
        pod.meta.creation_timestamp = now;
        if pod.spec.priority.is_none() {
            let class = match &pod.spec.extras.priority_class_name {
                Some(name) => self.store.priority_classes.get(name),
                None => self.store.priority_classes.values().find(|pc| pc.global_default),
            };
            if let Some(pc) = class {
                pod.spec.priority = Some(pc.value);
            }
        }
        add_default_tolerations(&mut pod, self.config.default_toleration_seconds);
        self.share_with_sibling(&mut pod);
        let key = pod.meta.key();
        let owner = pod.meta.controller_ref().map(|o| format!("{}/{}", o.kind, o.name));
        self.counters.pods_created += 1;
        self.record(
            now,
            "PodCreated",
            &rec::PodCreated { pod: &key.to_string(), owner, priority: pod.priority() },
        );
        let pod = self.store.put_pod(pod);
        self.scheduler.add_pod(Arc::clone(&pod), now);
        if pod.spec.node_name.is_some() {
            self.assign_to_kubelet(&pod, now, q);
        } else {
            self.wake_scheduler(now, q);
        }
    }

    pub(super) fn assign_to_kubelet(&mut self, pod: &Arc<Pod>, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(node) = pod.spec.node_name.as_ref().and_then(|n| self.node_index.get(n)).copied() else {
            return;
        };
        let workload = self.workload_for(pod);
        let input = KubeletInput::PodAssigned { pod: Arc::clone(pod), workload };
        self.deliver_to_kubelet(node, input, now, q);
    }

    pub(super) fn pod_status_update(
        &mut self,
        key: &ObjectKey,
        status: kubesim_api::PodStatus,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let Some(old) = self.store.pod(key).cloned() else { return };
        let pod_name = key.to_string();
        if old.status.phase != status.phase {
            self.record(
                now,
                "PodPhase",
                &rec::PodPhaseChanged {
                    pod: &pod_name,
                    phase: phase_str(status.phase),
                    reason: status.reason.as_deref(),
                },
            );
        }
        let was_ready = old.is_ready();
        // The new version takes the old metadata and spec (shared parts stay shared) and the new
        // status, without first copying the old status only to drop it.
        let pod = Pod { meta: old.meta.clone(), spec: old.spec.clone(), status };
        let is_ready = pod.is_ready();
        for cs in &pod.status.container_statuses {
            let before = old.status.container_statuses.iter().find(|c| c.name == cs.name);
            if cs.restart_count > before.map_or(0, |b| b.restart_count) {
                self.counters.container_restarts +=
                    u64::from((cs.restart_count - before.map_or(0, |b| b.restart_count)) as u32);
            }
            // A termination that went straight to a waiting state (a restart under back-off) is
            // only visible in lastState: record it once, unless it was the current state before.
            if let ContainerState::Terminated { exit_code, reason, .. } = &cs.last_state {
                let new_termination = before
                    .is_none_or(|b| b.last_state != cs.last_state && b.state != cs.last_state)
                    && cs.state != cs.last_state;
                if new_termination {
                    if reason == "OOMKilled" {
                        self.counters.oom_kills += 1;
                    }
                    self.record(
                        now,
                        "ContainerTerminated",
                        &rec::ContainerTerminated {
                            pod: &pod_name,
                            container: &cs.name,
                            exit_code: *exit_code,
                            reason,
                        },
                    );
                }
            }
            let same_state = before.is_some_and(|b| b.state == cs.state);
            if same_state {
                continue;
            }
            match &cs.state {
                ContainerState::Running { .. } => self.record(
                    now,
                    "ContainerStarted",
                    &rec::ContainerStarted {
                        pod: &pod_name,
                        container: &cs.name,
                        restart_count: cs.restart_count,
                    },
                ),
                ContainerState::Terminated { exit_code, reason, .. } => {
                    if reason == "OOMKilled" {
                        self.counters.oom_kills += 1;
                    }
                    self.record(
                        now,
                        "ContainerTerminated",
                        &rec::ContainerTerminated {
                            pod: &pod_name,
                            container: &cs.name,
                            exit_code: *exit_code,
                            reason,
                        },
                    )
                }
                ContainerState::Waiting { reason }
                    if matches!(
                        reason.as_str(),
                        "CrashLoopBackOff" | "ImagePullBackOff" | "ErrImagePull"
                    ) =>
                {
                    let reason = reason.clone();
                    self.record(
                        now,
                        "ContainerWaiting",
                        &rec::ContainerWaiting { pod: &pod_name, container: &cs.name, reason: &reason },
                    )
                }
                _ => {}
            }
        }
        if was_ready != is_ready {
            let kind = if is_ready { "PodReady" } else { "PodNotReady" };
            self.record(now, kind, &rec::PodReadiness { pod: &pod_name });
        }
        let terminal = matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed);
        let pod = self.store.put_pod(pod);
        self.scheduler.update_pod(Arc::clone(&pod), now);
        // The metrics pipeline takes the new version too rather than keep the old one alive
        // until its next scrape.
        self.ctl.metrics.share_written_pod(&old, &pod);
        // The kubelet wrote this status: it can hold the new version instead of keeping the one
        // it was given alive beside it.
        if let Some(&node) = pod.spec.node_name.as_deref().and_then(|n| self.node_index.get(n)) {
            self.nodes[node as usize].kubelet.share_pod(&pod);
        }
        if was_ready != is_ready || terminal || old.status.phase != pod.status.phase {
            self.notify_owner(&pod, now, q);
        }
    }

    /// Graceful deletion: set deletionTimestamp; the kubelet stops the containers and then the
    /// object goes. An unbound pod, or one on a node without a kubelet object, goes at once.
    pub(super) fn delete_pod(&mut self, key: &ObjectKey, by: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(mut pod) = self.store.pod(key).map(|p| Pod::clone(p)) else { return };
        if pod.meta.is_terminating() {
            return;
        }
        self.record(now, "PodDeleting", &rec::PodDeleting { pod: &key.to_string(), by });
        pod.meta.deletion_timestamp = Some(now);
        pod.meta.deletion_grace_period_seconds = Some(pod.spec.termination_grace_period.as_secs() as i64);
        let node = pod.spec.node_name.as_ref().and_then(|n| self.node_index.get(n)).copied();
        let terminal = matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed);
        match node {
            Some(node) if !terminal => {
                let pod = self.store.put_pod(pod);
                self.scheduler.update_pod(Arc::clone(&pod), now);
                self.notify_owner(&pod, now, q);
                let input = KubeletInput::PodDeletionRequested { key: key.clone(), grace: None };
                self.deliver_to_kubelet(node, input, now, q);
            }
            _ => self.remove_pod(key, now, q),
        }
    }

    pub(super) fn remove_pod(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(pod) = self.store.remove_pod(key) else { return };
        self.pod_workloads.remove(key);
        if let Some(id) = self.taint_evictions.remove(key) {
            q.cancel(id);
        }
        self.scheduler.delete_pod(key, now);
        self.record(now, "PodDeleted", &rec::PodDeleted { pod: &key.to_string() });
        self.notify_owner(&pod, now, q);
        self.wake_scheduler(now, q);
    }

    pub(super) fn notify_owner(&mut self, pod: &Pod, now: SimTime, q: &mut EventQueue<Event>) {
        self.ctl_pod_changed(pod, now, q);
        if let Some(owner) = pod.meta.controller_ref() {
            if owner.kind == "ReplicaSet" {
                self.mark_rs(ObjectKey::new(&pod.meta.namespace, &owner.name), now, q);
            }
        }
    }
}
