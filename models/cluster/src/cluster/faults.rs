//! Failures: node crash and recovery, network partitions and zone outages, container kills,
//! registry outages, slow starts — as scenario actions, and the seeded random node-failure
//! process.
//!
//! What each does to the model (and what the control plane sees):
//!
//! | fault | node side | control plane |
//! |---|---|---|
//! | crash | kubelet process and runtime state gone: containers die unreported, timers and back-off state lost, pulls in flight lost (pulled images stay on disk) | heartbeats stop → Unknown after the grace period → taints → evictions, as for any silent node |
//! | recovery | a fresh kubelet starts, lists the pods still bound to the node and runs them again (restart count + 1, `lastState` exit 255 `Unknown`; init containers again) | heartbeats resume: Ready, taints removed |
//! | partition | everything keeps running; the kubelet acts locally (probes, restarts, evictions) | sees nothing from the node: no heartbeats, no pod status; its writes (deletions, bindings) do not reach the kubelet |
//! | heal | the kubelet receives what the control plane sent meanwhile, in order | the kubelet's latest status per pod, its node conditions and heartbeats arrive at once |
//! | zone outage | every node of the zone partitioned, healed after the duration | as a partition |
//! | container kill | the runtime kills the process now (exit 1, or 137 = SIGKILL) | the kubelet reports it and restarts per policy |
//! | image missing | pulls of the image fail (`ErrImagePull`, then `ImagePullBackOff`) | — |
//! | slow start | the node's container start latency changes | — |
//!
//! The random process: with [`NodeFailureProcess`] configured, each node alternates up and down
//! times drawn as exponentials — time to failure with mean `mtbf` from stream
//! `faults.node-mtbf`, time to repair with mean `mttr` from stream `faults.node-mttr`, both
//! indexed by the node's index — crashing and recovering it. Every injected fault is a record in
//! the event log with its reason (`scenario`, `random`, `zone-outage`).

use kubesim_api::meta::well_known::ZONE;
use kubesim_runtime_sim::ImageCatalog;

use super::*;

/// The seeded random node-failure process (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeFailureProcess {
    /// Mean time between failures (mean up time), per node.
    pub mtbf: SimDuration,
    /// Mean time to repair (mean down time).
    pub mttr: SimDuration,
}

/// What a fault event does to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Crash the node.
    Crash,
    /// Bring a crashed node back.
    Recover,
    /// Cut the node off the control plane.
    Partition,
    /// Reconnect it.
    Heal,
}

/// A fault due at a time (from the random process or a zone outage's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultEvent {
    /// Node index.
    pub node: u32,
    /// What happens.
    pub kind: FaultKind,
    /// Why: `random`, `zone-outage`, `scenario`.
    pub reason: &'static str,
}

/// Per-node fault state.
#[derive(Debug, Default)]
pub(super) struct NodeFaults {
    crashed: bool,
    partitioned: bool,
    /// Kubelet effects meant for the control plane, held while partitioned.
    outbox: Vec<KubeletEffect>,
    /// Control-plane inputs meant for the kubelet, held while partitioned.
    inbox: Vec<KubeletInput>,
    mtbf: Option<RngStream>,
    mttr: Option<RngStream>,
}

/// Fault state of every node.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    nodes: Vec<NodeFaults>,
}

impl<W: Write> World<W> {
    /// A node was added: its fault state, and its first random failure if the process is on.
    pub(super) fn faults_node_added(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let mut f = NodeFaults::default();
        if let Some(p) = self.config.node_failures {
            let mut up = self.streams.stream_indexed("faults.node-mtbf", u64::from(node));
            let at = now.saturating_add(SimDuration::from_nanos(up.exp_nanos(p.mtbf.as_nanos())));
            f.mtbf = Some(up);
            f.mttr = Some(self.streams.stream_indexed("faults.node-mttr", u64::from(node)));
            q.schedule_at(at, Event::Fault(FaultEvent { node, kind: FaultKind::Crash, reason: "random" }))
                .expect("not in the past");
        }
        let i = node as usize;
        if self.faults.nodes.len() <= i {
            self.faults.nodes.resize_with(i + 1, NodeFaults::default);
        }
        self.faults.nodes[i] = f;
    }

    fn node_faults(&mut self, node: u32) -> &mut NodeFaults {
        let i = node as usize;
        if self.faults.nodes.len() <= i {
            self.faults.nodes.resize_with(i + 1, NodeFaults::default);
        }
        &mut self.faults.nodes[i]
    }

    /// True while node `node` is down (crashed, not recovered).
    pub(super) fn node_crashed(&self, node: u32) -> bool {
        self.faults.nodes.get(node as usize).is_some_and(|f| f.crashed)
    }

    /// Hands a control-plane input to a kubelet, unless the node is cut off (held until it heals)
    /// or down (dropped: the rebooted kubelet lists its pods afresh).
    pub(super) fn deliver_to_kubelet(
        &mut self,
        node: u32,
        input: KubeletInput,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let f = self.node_faults(node);
        if f.crashed {
            return;
        }
        if f.partitioned {
            f.inbox.push(input);
            return;
        }
        self.nodes[node as usize].kubelet.handle(now, input, &mut self.effects);
        self.apply_kubelet_effects(node, now, q);
    }

    /// Whether a kubelet effect must be held back (the node is partitioned); holds it if so.
    pub(super) fn hold_kubelet_effect(&mut self, node: u32, effect: &KubeletEffect) -> bool {
        let Some(f) = self.faults.nodes.get_mut(node as usize) else { return false };
        if !f.partitioned {
            return false;
        }
        match effect {
            KubeletEffect::PodStatusUpdate { .. }
            | KubeletEffect::NodeLease { .. }
            | KubeletEffect::NodeCondition { .. }
            | KubeletEffect::PodEvicted { .. }
            | KubeletEffect::PodRemoved { .. } => {
                f.outbox.push(effect.clone());
                true
            }
            KubeletEffect::Runtime(_)
            | KubeletEffect::SetTimer { .. }
            | KubeletEffect::CancelTimer { .. } => false,
        }
    }

    pub(super) fn fault_event(&mut self, ev: FaultEvent, now: SimTime, q: &mut EventQueue<Event>) {
        let FaultEvent { node, kind, reason } = ev;
        match kind {
            FaultKind::Crash => {
                self.crash_node(node, reason, now, q);
                if reason == "random" {
                    let mean = self.config.node_failures.map_or(0, |p| p.mttr.as_nanos());
                    let d = self.node_faults(node).mttr.as_mut().map_or(0, |r| r.exp_nanos(mean));
                    let at = now.saturating_add(SimDuration::from_nanos(d));
                    q.schedule_at(at, Event::Fault(FaultEvent { node, kind: FaultKind::Recover, reason }))
                        .expect("not in the past");
                }
            }
            FaultKind::Recover => {
                self.recover_node(node, reason, now, q);
                if reason == "random" {
                    let mean = self.config.node_failures.map_or(0, |p| p.mtbf.as_nanos());
                    let d = self.node_faults(node).mtbf.as_mut().map_or(0, |r| r.exp_nanos(mean));
                    let at = now.saturating_add(SimDuration::from_nanos(d));
                    q.schedule_at(at, Event::Fault(FaultEvent { node, kind: FaultKind::Crash, reason }))
                        .expect("not in the past");
                }
            }
            FaultKind::Partition => self.partition_node(node, reason, now, q),
            FaultKind::Heal => self.heal_node(node, reason, now, q),
        }
    }

    /// The scenario actions of this module; `false` if `action` is not one of them.
    pub(super) fn fault_action(&mut self, action: &Action, now: SimTime, q: &mut EventQueue<Event>) -> bool {
        let by_name = |w: &Self, name: &str| w.node_index.get(name).copied();
        match action {
            Action::CrashNode(name) => {
                if let Some(i) = by_name(self, name) {
                    self.crash_node(i, "scenario", now, q);
                }
            }
            Action::RecoverNode(name) => {
                if let Some(i) = by_name(self, name) {
                    self.recover_node(i, "scenario", now, q);
                }
            }
            Action::PartitionNode(name) => {
                if let Some(i) = by_name(self, name) {
                    self.partition_node(i, "scenario", now, q);
                }
            }
            Action::HealNode(name) => {
                if let Some(i) = by_name(self, name) {
                    self.heal_node(i, "scenario", now, q);
                }
            }
            Action::ZoneOutage { zone, duration } => self.zone_outage(zone, *duration, now, q),
            Action::KillContainer { pod, container, exit_code } => {
                self.kill_container(pod, container, *exit_code, now, q)
            }
            Action::SetImageMissing { image, missing } => self.set_image_missing(image, *missing, now),
            Action::SetStartLatency { node, latency } => {
                if let Some(i) = by_name(self, node) {
                    if !self.nodes[i as usize].runtime.set_container_start_latency(*latency) {
                        self.record(
                            now,
                            "ActionUnsupported",
                            &rec::ActionUnsupported { action: "SetStartLatency", node },
                        );
                        return true;
                    }
                    self.record(
                        now,
                        "NodeStartLatency",
                        &rec::NodeStartLatency { node, latency_ns: latency.as_nanos() },
                    );
                }
            }
            _ => return false,
        }
        true
    }

    fn fault_record(&mut self, now: SimTime, kind: &str, node: u32, reason: &str) {
        let name = self.nodes[node as usize].name.clone();
        self.record(now, kind, &rec::NodeFault { node: &name, reason });
    }

    fn crash_node(&mut self, node: u32, reason: &str, now: SimTime, q: &mut EventQueue<Event>) {
        if self.node_faults(node).crashed {
            return;
        }
        self.fault_record(now, "NodeCrashed", node, reason);
        {
            let f = self.node_faults(node);
            f.crashed = true;
            // Whatever the kubelet had not yet told the control plane dies with it.
            f.outbox.clear();
            f.inbox.clear();
        }
        let slot = &mut self.nodes[node as usize];
        slot.kubelet.crash(&mut self.effects);
        slot.runtime.crash(now);
        self.apply_kubelet_effects(node, now, q);
        // Timers die with the process.
        let stale: Vec<(u32, TimerToken)> = self.timers.keys().filter(|k| k.0 == node).copied().collect();
        for key in stale {
            if let Some(id) = self.timers.remove(&key) {
                q.cancel(id);
            }
        }
    }

    fn recover_node(&mut self, node: u32, reason: &str, now: SimTime, q: &mut EventQueue<Event>) {
        if !self.node_faults(node).crashed {
            return;
        }
        self.fault_record(now, "NodeRecovered", node, reason);
        self.node_faults(node).crashed = false;
        // The rebooted kubelet starts, then lists the pods bound to it (key order).
        self.deliver_to_kubelet(node, KubeletInput::NodeStart, now, q);
        let name = self.nodes[node as usize].name.clone();
        let mut pods: Vec<Arc<Pod>> = self
            .store
            .pods_on_node(&name)
            .filter(|p| !matches!(p.status.phase, PodPhase::Succeeded | PodPhase::Failed))
            .cloned()
            .collect();
        pods.sort_by_key(|p| p.meta.key());
        for pod in pods {
            let key = pod.meta.key();
            let terminating = pod.meta.is_terminating();
            let workload = self.workload_for(&pod);
            self.deliver_to_kubelet(node, KubeletInput::PodAssigned { pod, workload }, now, q);
            if terminating {
                self.deliver_to_kubelet(
                    node,
                    KubeletInput::PodDeletionRequested { key, grace: None },
                    now,
                    q,
                );
            }
        }
    }

    fn partition_node(&mut self, node: u32, reason: &str, now: SimTime, q: &mut EventQueue<Event>) {
        if self.node_faults(node).partitioned {
            return;
        }
        self.fault_record(now, "NodePartitioned", node, reason);
        self.node_faults(node).partitioned = true;
        // The control plane's last heartbeat from the node is now.
        if self.nodes[node as usize].lease_renewing {
            self.node_lease(node, false, now, q);
        }
    }

    fn heal_node(&mut self, node: u32, reason: &str, now: SimTime, q: &mut EventQueue<Event>) {
        if !self.node_faults(node).partitioned {
            return;
        }
        self.fault_record(now, "NodeHealed", node, reason);
        let (outbox, inbox) = {
            let f = self.node_faults(node);
            f.partitioned = false;
            (std::mem::take(&mut f.outbox), std::mem::take(&mut f.inbox))
        };
        // The status manager sends only the latest status of each pod; node conditions and
        // heartbeats are re-posted as they are now.
        let mut last_status: BTreeMap<ObjectKey, usize> = BTreeMap::new();
        let mut last_condition: BTreeMap<String, usize> = BTreeMap::new();
        for (i, e) in outbox.iter().enumerate() {
            match e {
                KubeletEffect::PodStatusUpdate { key, .. } => {
                    last_status.insert(key.clone(), i);
                }
                KubeletEffect::NodeCondition { kind, .. } => {
                    last_condition.insert(format!("{kind:?}"), i);
                }
                _ => {}
            }
        }
        let keep: Vec<KubeletEffect> = outbox
            .into_iter()
            .enumerate()
            .filter(|(i, e)| match e {
                KubeletEffect::PodStatusUpdate { key, .. } => last_status.get(key) == Some(i),
                KubeletEffect::NodeCondition { kind, .. } => {
                    last_condition.get(&format!("{kind:?}")) == Some(i)
                }
                KubeletEffect::NodeLease { .. } => false,
                _ => true,
            })
            .map(|(_, e)| e)
            .collect();
        self.effects.extend(keep);
        self.apply_kubelet_effects(node, now, q);
        let up = self.nodes[node as usize].kubelet.is_up();
        if up {
            self.node_lease(node, true, now, q);
            self.set_node_condition(node, NodeConditionType::Ready, ConditionStatus::True, "kubelet", now);
            // The status manager re-syncs what the API server shows (the node lifecycle
            // controller may have marked the pods NotReady meanwhile).
            self.nodes[node as usize].kubelet.resync_statuses(&mut self.effects);
            self.apply_kubelet_effects(node, now, q);
        }
        for input in inbox {
            self.deliver_to_kubelet(node, input, now, q);
        }
    }

    fn zone_outage(&mut self, zone: &str, duration: SimDuration, now: SimTime, q: &mut EventQueue<Event>) {
        let nodes: Vec<u32> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                self.store.nodes.get(&s.name).and_then(|n| n.meta.labels.get(ZONE)).is_some_and(|z| z == zone)
            })
            .map(|(i, _)| i as u32)
            .collect();
        self.record(
            now,
            "ZoneOutage",
            &rec::ZoneOutage { zone, nodes: nodes.len(), duration_ns: duration.as_nanos() },
        );
        let heal_at = now.saturating_add(duration);
        for node in nodes {
            self.partition_node(node, "zone-outage", now, q);
            q.schedule_at(
                heal_at,
                Event::Fault(FaultEvent { node, kind: FaultKind::Heal, reason: "zone-outage" }),
            )
            .expect("not in the past");
        }
    }

    fn kill_container(
        &mut self,
        pod: &ObjectKey,
        container: &str,
        exit_code: i32,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) {
        let Some(node) = self
            .store
            .pod(pod)
            .and_then(|p| p.spec.node_name.as_ref())
            .and_then(|n| self.node_index.get(n))
            .copied()
        else {
            return;
        };
        if self.node_crashed(node) {
            return;
        }
        let slot = &mut self.nodes[node as usize];
        let Some(id) = slot.kubelet.running_container(pod, container) else { return };
        let Some(ev) = slot.runtime.kill(now, id, exit_code) else { return };
        self.record(
            now,
            "ContainerKilled",
            &rec::ContainerKilled { pod: &pod.to_string(), container, exit_code },
        );
        q.schedule_at(now, Event::Runtime(node, ev)).expect("not in the past");
    }

    fn set_image_missing(&mut self, image: &str, missing: bool, now: SimTime) {
        let catalog: &mut ImageCatalog = Arc::make_mut(&mut self.config.images);
        if missing {
            catalog.add_missing(image);
        } else {
            catalog.remove_missing(image);
        }
        let catalog = self.config.images.clone();
        for slot in &mut self.nodes {
            slot.runtime.set_catalog(catalog.clone());
        }
        self.record(now, "ImageAvailability", &rec::ImageAvailability { image, missing });
    }
}
