//! Nodes: kubelet effects, node conditions, leases, the node lifecycle controller and taint eviction.

use super::*;

impl<W: Write> World<W> {
    // ---------------------------------------------------------------- nodes and kubelets

    pub(super) fn add_node(
        &mut self,
        mut node: Node,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> Result<(), ClusterError> {
        let name = node.meta.name.to_string();
        if self.node_index.contains_key(&name) {
            return Err(ClusterError::Duplicate { kind: "Node", name });
        }
        node.meta.creation_timestamp = now;
        node.meta
            .labels
            .entry(kubesim_api::meta::well_known::HOSTNAME.into())
            .or_insert_with(|| name.clone());
        let index = self.nodes.len() as u32;
        let mut kcfg = KubeletConfig::new(&name, node.status.allocatable.clone());
        kcfg.probe_mode = self.config.probe_mode;
        let runtime = self
            .runtime_factory
            .create(RuntimeContext { node: &node, index, now, config: &self.config, streams: self.streams })
            .map_err(|message| ClusterError::Invalid { kind: "Node", name: name.clone(), message })?;
        self.nodes.push(NodeSlot {
            name: name.clone(),
            kubelet: Kubelet::new(kcfg),
            runtime,
            health: NodeHealth { created: now, last_heartbeat: None, reported_ready: ConditionStatus::False },
            lease_renewing: false,
            monitor: None,
            tainted_at: None,
        });
        self.node_index.insert(name.clone(), index);
        self.store.nodes.insert(name.clone(), node.clone());
        self.scheduler.add_node(node, now);
        self.record(now, "NodeAdded", &rec::NodeRef { node: &name });
        self.faults_node_added(index, now, q);
        self.nodes[index as usize].kubelet.handle(now, KubeletInput::NodeStart, &mut self.effects);
        self.apply_kubelet_effects(index, now, q);
        self.wake_scheduler(now, q);
        Ok(())
    }

    pub(super) fn apply_kubelet_effects(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            if self.hold_kubelet_effect(node, &effect) {
                continue;
            }
            match effect {
                KubeletEffect::Runtime(cmd) => {
                    let slot = &mut self.nodes[node as usize];
                    slot.runtime.execute(now, cmd, &mut self.runtime_events);
                    for ev in self.runtime_events.drain(..) {
                        let at = ev.at().max(now);
                        q.schedule_at(at, Event::Runtime(node, ev)).expect("not in the past");
                    }
                }
                KubeletEffect::SetTimer { at, token } => {
                    if let Some(old) = self.timers.remove(&(node, token)) {
                        q.cancel(old);
                    }
                    let id = q
                        .schedule_at(at.max(now), Event::KubeletTimer(node, token))
                        .expect("not in the past");
                    self.timers.insert((node, token), id);
                }
                KubeletEffect::CancelTimer { token } => {
                    if let Some(old) = self.timers.remove(&(node, token)) {
                        q.cancel(old);
                    }
                }
                KubeletEffect::PodStatusUpdate { key, status } => {
                    self.pod_status_update(&key, status, now, q)
                }
                KubeletEffect::NodeLease { renewing } => self.node_lease(node, renewing, now, q),
                KubeletEffect::NodeCondition { kind, status } => {
                    self.set_node_condition(node, kind, status, "kubelet", now);
                }
                KubeletEffect::PodEvicted { key } => {
                    self.counters.evictions += 1;
                    let name = self.nodes[node as usize].name.clone();
                    self.record(now, "PodEvicted", &rec::PodEvicted { pod: &key.to_string(), node: &name });
                }
                KubeletEffect::PodRemoved { key } => self.remove_pod(&key, now, q),
            }
        }
        self.effects = effects;
    }

    pub(super) fn set_node_condition(
        &mut self,
        node: u32,
        kind: NodeConditionType,
        status: ConditionStatus,
        by: &str,
        now: SimTime,
    ) {
        let name = self.nodes[node as usize].name.clone();
        if kind == NodeConditionType::Ready && by == "kubelet" {
            self.nodes[node as usize].health.reported_ready = status;
        }
        let Some(obj) = self.store.nodes.get_mut(&name) else { return };
        let changed = match obj.status.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) if c.status == status => false,
            Some(c) => {
                c.status = status;
                c.last_transition_time = Some(now);
                true
            }
            None => {
                obj.status.conditions.push(NodeCondition {
                    kind: kind.clone(),
                    status,
                    last_heartbeat_time: Some(now),
                    last_transition_time: Some(now),
                    reason: None,
                });
                true
            }
        };
        if changed {
            let updated = obj.clone();
            self.scheduler.update_node(updated, now);
            let condition = match &kind {
                NodeConditionType::Ready => "Ready",
                NodeConditionType::MemoryPressure => "MemoryPressure",
                NodeConditionType::DiskPressure => "DiskPressure",
                NodeConditionType::PidPressure => "PIDPressure",
                NodeConditionType::NetworkUnavailable => "NetworkUnavailable",
                NodeConditionType::Other(s) => s.as_str(),
            }
            .to_string();
            self.record(
                now,
                "NodeCondition",
                &rec::NodeConditionChanged {
                    node: &name,
                    condition: &condition,
                    status: status_str(status),
                    by,
                },
            );
        }
    }

    /// Lease transitions: while renewing, the node is healthy as of `now`; when renewals stop, the
    /// lifecycle controller notices at the first monitor tick after the grace period.
    pub(super) fn node_lease(&mut self, node: u32, renewing: bool, now: SimTime, q: &mut EventQueue<Event>) {
        let slot = &mut self.nodes[node as usize];
        slot.lease_renewing = renewing;
        slot.health.last_heartbeat = Some(now);
        if let Some(id) = slot.monitor.take() {
            q.cancel(id);
        }
        if renewing {
            let was_tainted = slot.tainted_at.take().is_some();
            let was_queued = self.dequeue_from_tainting(node, now, q);
            if was_tainted || was_queued {
                self.untaint_node(node, now, q);
            }
        } else {
            let at = unknown_detected_at(&slot.health, &self.config.node_lifecycle);
            slot.monitor =
                Some(q.schedule_at(at.max(now), Event::NodeMonitor(node)).expect("not in the past"));
        }
    }

    pub(super) fn node_monitor(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        self.nodes[node as usize].monitor = None;
        if self.nodes[node as usize].lease_renewing {
            return;
        }
        self.set_node_condition(
            node,
            NodeConditionType::Ready,
            ConditionStatus::Unknown,
            "node-lifecycle",
            now,
        );
        self.mark_pods_not_ready(node, now, q);
        self.taint_node_no_schedule(node, now);
        self.queue_for_no_execute_taint(node, now, q);
    }

    /// Upstream `MarkPodsNotReady`: when a node goes Unknown, the lifecycle controller sets the
    /// Ready condition of its pods to False (endpoints drop them), until the kubelet reports again.
    pub(super) fn mark_pods_not_ready(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        let pods: Vec<Arc<Pod>> = self.store.pods_on_node(&name).filter(|p| p.is_ready()).cloned().collect();
        for pod in pods {
            let mut status = pod.status.clone();
            for c in &mut status.conditions {
                if c.kind == PodConditionType::Ready {
                    c.status = ConditionStatus::False;
                    c.last_transition_time = Some(now);
                }
            }
            self.pod_status_update(&pod.meta.key(), status, now, q);
        }
    }

    /// Adds the `unreachable` taint with `effect` (idempotent); returns the node's taints after.
    fn add_unreachable_taint(&mut self, node: u32, effect: TaintEffect, now: SimTime) -> Vec<Taint> {
        let name = self.nodes[node as usize].name.clone();
        let Some(obj) = self.store.nodes.get_mut(&name) else { return Vec::new() };
        if obj.spec.taints.iter().any(|t| t.key == TAINT_UNREACHABLE && t.effect == effect) {
            return obj.spec.taints.clone();
        }
        obj.spec.taints.push(Taint {
            key: TAINT_UNREACHABLE.into(),
            value: String::new(),
            effect,
            time_added: Some(now),
        });
        let updated = obj.clone();
        let taints = updated.spec.taints.clone();
        self.scheduler.update_node(updated, now);
        self.record(
            now,
            "NodeTainted",
            &rec::NodeTaint { node: &name, key: TAINT_UNREACHABLE, effect: effect.as_str() },
        );
        taints
    }

    /// `unreachable:NoSchedule` comes with the condition, without rate limiting
    /// (TaintNodesByCondition); the NoExecute taint waits for the zone's rate limiter.
    pub(super) fn taint_node_no_schedule(&mut self, node: u32, now: SimTime) {
        self.add_unreachable_taint(node, TaintEffect::NoSchedule, now);
    }

    /// The NoExecute taint (granted by the zone limiter), and the evictions it starts.
    pub(super) fn taint_node(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        self.nodes[node as usize].tainted_at = Some(now);
        self.add_unreachable_taint(node, TaintEffect::NoSchedule, now);
        let taints = self.add_unreachable_taint(node, TaintEffect::NoExecute, now);
        let pods: Vec<Arc<Pod>> = self.store.pods_on_node(&name).cloned().collect();
        for pod in pods {
            if pod.meta.is_terminating() {
                continue;
            }
            let key = pod.meta.key();
            match eviction_time(&pod, &taints, now, now) {
                EvictionTime::At(at) => {
                    let id = q
                        .schedule_at(at.max(now), Event::TaintEviction(key.clone()))
                        .expect("not in the past");
                    if let Some(old) = self.taint_evictions.insert(key, id) {
                        q.cancel(old);
                    }
                }
                EvictionTime::Never | EvictionTime::NotTainted => {}
            }
        }
    }

    pub(super) fn untaint_node(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        let Some(obj) = self.store.nodes.get_mut(&name) else { return };
        let removed: Vec<TaintEffect> =
            obj.spec.taints.iter().filter(|t| t.key == TAINT_UNREACHABLE).map(|t| t.effect).collect();
        obj.spec.taints.retain(|t| t.key != TAINT_UNREACHABLE);
        let updated = obj.clone();
        self.scheduler.update_node(updated, now);
        for effect in removed {
            self.record(
                now,
                "NodeUntainted",
                &rec::NodeTaint { node: &name, key: TAINT_UNREACHABLE, effect: effect.as_str() },
            );
        }
        let keys: Vec<ObjectKey> = self.store.pods_on_node(&name).map(|p| p.meta.key()).collect();
        for key in keys {
            if let Some(id) = self.taint_evictions.remove(&key) {
                q.cancel(id);
            }
        }
        self.wake_scheduler(now, q);
    }

    pub(super) fn taint_evict(&mut self, key: ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        self.taint_evictions.remove(&key);
        if self.store.pod(&key).is_some_and(|p| !p.meta.is_terminating()) {
            self.counters.evictions += 1;
            self.delete_pod(&key, "taint-eviction", now, q);
        }
    }
}
