//! The HorizontalPodAutoscaler controller: one reconcile per HPA every sync period (15 s), from
//! the metrics pipeline's last scrape, through `kubesim_controllers::hpa::reconcile`, to the
//! target Deployment's `spec.replicas` (the scale subresource; the Deployment controller then
//! scales proportionally).
//!
//! Timing: a new HPA is reconciled at once and then every `hpa.sync_period` after its previous
//! reconcile (upstream re-queues each key rate-limited by the sync period after processing it).
//! The controller's memory (recommendation and scale-event logs) lives here, one
//! [`HpaState`](kubesim_controllers::hpa::HpaState) per HPA; it is never lost (no controller
//! restarts are modelled).

use kubesim_api::autoscaling::{ExternalMetricValue, HorizontalPodAutoscaler};
use kubesim_controllers::hpa::classify::CpuReadiness;
use kubesim_controllers::hpa::from_api::{snapshot_from_api, spec_from_api};
use kubesim_controllers::hpa::join::PodSampleJoin;
use kubesim_controllers::hpa::pod_facts::{FactPod, KeptFacts};
use kubesim_controllers::hpa::{
    commit_scale, reconcile_into, Decision, HpaConditionType, HpaInput, HpaSpec, HpaState, LimitedBy,
    MetricType, PodMetricsList, Scale, ServedPodMetrics,
};

use sim_core::log::{LogError, RenderedRecord};

use super::metrics_pipeline::MetricsPipeline;
use super::*;

/// The controller's memory for one HPA.
#[derive(Debug)]
pub(super) struct HpaSlot {
    /// The HPA's key (the slot's index in `CtlState::hpas` is what its sync timer carries).
    key: ObjectKey,
    /// The HPA object as last applied: the store's copy (only `apply_hpa` writes either), kept
    /// here so that a sync finds it without a second search by key.
    hpa: HorizontalPodAutoscaler,
    spec: HpaSpec,
    state: HpaState,
    timer: Option<EventId>,
    /// The last decision applied.
    last: Option<Decision>,
    /// What a sync's compute decided, and the controller's memory after it: moved into `last`
    /// and `state` when the decision is applied (swapped, so both keep their buffers for the
    /// next compute). Nothing observable changes before the apply: a compute made ahead of its
    /// turn (a batch of syncs of one instant) can be dropped and redone.
    pending: Decision,
    pending_state: HpaState,
    /// The target's pods at the last sync, each as its store slot with the facts the per-pod
    /// pass reads (computed when the pods are listed, reused with them). Slots, not the pods:
    /// while the list is reused the store holds the very objects it was made from, and once a
    /// target pod is written the list is made anew, so holding the pods would only keep their
    /// old versions alive until the next sync (a second copy of every pod while pods start).
    pods: Vec<(u32, KeptFacts)>,
    /// The store's write stamp of the target selector's pods when `pods` was listed: while it
    /// is unchanged, no target pod was written and the list is reused without walking it
    /// (`None`: a selector without `matchLabels`, re-listed every sync).
    pods_written_at: Option<u64>,
    /// The store's id of the selector's first `matchLabels` pair, with the pair it was looked
    /// up for: the write stamp is then read by id, without a search by strings every sync.
    stamp_label: Option<(String, String, crate::store::LabelId)>,
    /// The PodMetrics the metrics client was given at the last sync, and the metrics pipeline's
    /// version of that answer: reused while the version is unchanged (between two scrapes, and
    /// across scrapes that only rewrote class samples).
    served: Vec<ServedPodMetrics>,
    served_version: Option<u64>,
    /// `pods` paired with `served` (rebuilt when either is re-listed; `None`: not built, or
    /// names repeat and the per-pod pass decides).
    join: Option<PodSampleJoin>,
    /// The HPA's key as the records name it, and its target's key (kept while the target is).
    name: String,
    target: Option<ObjectKey>,
    /// Handles to the target Deployment and its status while `target` names them: each sync
    /// reads both without hashing and comparing the key (two cold strings) again.
    target_handles: (Option<crate::object_map::Handle>, Option<crate::object_map::Handle>),
    /// Where the metrics pipeline keeps the label list of the target selector's one label (see
    /// `served_version`): each sync reads its version without a search by three strings. For
    /// the pair in `stamp_label` (reset when that is looked up again).
    served_handle: Option<super::metrics_pipeline::LabelHandle>,
    /// The `HpaDecision` record of `pending`, rendered by the compute (on a worker when the
    /// sync is batched) so that the apply only copies its bytes into the log; with the error
    /// the rendering met, if any, reported at the apply.
    decision_line: RenderedRecord,
    decision_line_error: Option<LogError>,
}

/// The shared state a sync's compute reads, and nothing else: the computes of one instant's
/// syncs run in parallel, each writing only its own [`HpaSlot`].
struct HpaInputs<'a> {
    store: &'a ApiStore,
    metrics: &'a MetricsPipeline,
    config: &'a ClusterConfig,
    deployment_status: &'a ObjectMap<DeploymentStatus>,
    /// The external metrics API's answer now (the same for every HPA).
    external: &'a [ExternalMetricValue],
    now: SimTime,
}

/// What a compute read of the one store object an apply may write (the target Deployment):
/// its resource version (`None`: no such Deployment, the sync only reports the target missing).
/// A batched decision whose target changed since is computed again before it is applied.
type TargetVersion = Option<u64>;

/// The longest run of one instant's syncs computed together (bounds the batch's buffers).
const MAX_HPA_BATCH: usize = 4096;

/// The `type` of a metric line in `HpaDecision` records.
fn metric_type_str(t: MetricType) -> &'static str {
    match t {
        MetricType::Resource => "Resource",
        MetricType::ContainerResource => "ContainerResource",
        MetricType::Pods => "Pods",
        MetricType::Object => "Object",
        MetricType::External => "External",
    }
}

pub(super) fn limited_by_str(l: LimitedBy) -> &'static str {
    match l {
        LimitedBy::None => "none",
        LimitedBy::Stabilization => "stabilization",
        LimitedBy::Policy => "policy",
        LimitedBy::Min => "min",
        LimitedBy::Max => "max",
        LimitedBy::ScaleUpLimit => "scale-up-limit",
    }
}

impl<W: Write> World<W> {
    pub(super) fn apply_hpa(
        &mut self,
        mut hpa: HorizontalPodAutoscaler,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> Result<(), ClusterError> {
        if hpa.meta.namespace.is_empty() {
            hpa.meta.namespace = "default".into();
        }
        let key = hpa.meta.key();
        let spec = spec_from_api(&hpa).map_err(|e| ClusterError::Invalid {
            kind: "HorizontalPodAutoscaler",
            name: key.to_string(),
            message: e.to_string(),
        })?;
        match self.store.hpas.get(&key) {
            Some(old) => {
                hpa.meta.uid = old.meta.uid.clone();
                hpa.meta.creation_timestamp = old.meta.creation_timestamp;
                hpa.meta.generation = old.meta.generation + i64::from(*old != hpa);
            }
            None => {
                hpa.meta.uid = self.store.next_uid("hpa").into();
                hpa.meta.creation_timestamp = now;
                hpa.meta.generation = 1;
            }
        }
        hpa.meta.resource_version = self.store.next_resource_version();
        self.record(
            now,
            "ObjectApplied",
            &rec::ObjectApplied {
                object_kind: "HorizontalPodAutoscaler",
                object: &key.to_string(),
                generation: hpa.meta.generation,
            },
        );
        match self.ctl.hpa_ids.get(&key) {
            Some(&id) => {
                let slot = &mut self.ctl.hpas[id as usize];
                slot.spec = spec;
                slot.hpa = hpa.clone();
            }
            None => {
                let id = u32::try_from(self.ctl.hpas.len()).expect("fewer than 2^32 HPAs");
                let timer = q.schedule_at(now, Event::Ctl(CtlEvent::HpaSync(id))).expect("not in the past");
                self.ctl.hpa_ids.insert(key.clone(), id);
                self.ctl.hpas.push(HpaSlot {
                    name: key.to_string(),
                    key: key.clone(),
                    hpa: hpa.clone(),
                    spec,
                    state: HpaState::default(),
                    timer: Some(timer),
                    last: None,
                    pending: Decision::default(),
                    pending_state: HpaState::default(),
                    pods: Vec::new(),
                    pods_written_at: None,
                    stamp_label: None,
                    served: Vec::new(),
                    served_version: None,
                    join: None,
                    target: None,
                    target_handles: (None, None),
                    served_handle: None,
                    decision_line: RenderedRecord::default(),
                    decision_line_error: None,
                });
            }
        }
        self.store.hpas.insert(key, hpa);
        self.ensure_metrics_running(now, q);
        Ok(())
    }

    /// One reconcile of the HPA `id` (`reconcileAutoscaler`), then the next one is scheduled.
    pub(super) fn hpa_sync(&mut self, id: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let target_version = self.hpa_compute_one(id, now);
        self.hpa_apply(id, target_version, now, q);
    }

    /// The compute of one sync, alone.
    fn hpa_compute_one(&mut self, id: u32, now: SimTime) -> TargetVersion {
        let external = self.external_metric_values(now);
        let World { store, ctl, config, deployment_status, .. } = self;
        let inputs =
            HpaInputs { store, metrics: &ctl.metrics, config, deployment_status, external: &external, now };
        hpa_compute(&inputs, &mut ctl.hpas[id as usize])
    }

    /// The computes of the syncs `ids` (distinct HPAs, all due now), in parallel; the answers
    /// in the order of `ids`. Each compute reads the world and writes its own slot only, so the
    /// answers do not depend on how the work is split.
    fn hpa_compute_batch(&mut self, ids: &[u32], now: SimTime) -> Vec<TargetVersion> {
        use rayon::prelude::*;
        let external = self.external_metric_values(now);
        let World { store, ctl, config, deployment_status, .. } = self;
        let inputs =
            HpaInputs { store, metrics: &ctl.metrics, config, deployment_status, external: &external, now };
        let mut by_id: Vec<Option<&mut HpaSlot>> = ctl.hpas.iter_mut().map(Some).collect();
        let slots: Vec<&mut HpaSlot> =
            ids.iter().map(|&id| by_id[id as usize].take().expect("the batch's HPAs are distinct")).collect();
        // One thread: computed here, not on the pool's one worker (whose allocations would all
        // be freed across threads).
        if rayon::current_num_threads() <= 1 {
            return slots.into_iter().map(|slot| hpa_compute(&inputs, slot)).collect();
        }
        slots.into_par_iter().with_min_len(4).map(|slot| hpa_compute(&inputs, slot)).collect()
    }

    /// The target Deployment's version as a compute of the HPA `id` would read it now.
    fn hpa_target_version(&self, id: u32) -> TargetVersion {
        let slot = &self.ctl.hpas[id as usize];
        let target = slot.target.as_ref()?;
        if slot.hpa.scale_target_ref.kind != "Deployment" {
            return None;
        }
        self.store.deployments.get(target).map(|d| d.meta.resource_version)
    }

    /// Everything of one sync with effects beyond its own slot, in the order the serial sync
    /// had them: the next timer, the records, the scale write. Returns whether it wrote the
    /// target Deployment.
    fn hpa_apply(
        &mut self,
        id: u32,
        target_version: TargetVersion,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> bool {
        let World { store, ctl, config, log, error, .. } = self;
        let slot = &mut ctl.hpas[id as usize];
        let period = config.hpa.sync_period.max(SimDuration::from_nanos(1));
        let next = q.schedule_at(now + period, Event::Ctl(CtlEvent::HpaSync(id))).expect("not in the past");
        slot.timer = Some(next);
        let target_ref = &slot.hpa.scale_target_ref;
        let target_name = || format!("{}/{}", target_ref.kind, target_ref.name);
        if target_version.is_none() {
            let missing = rec::HpaTargetMissing { hpa: &slot.name, target: &target_name() };
            record_to(log, error, now, "HpaTargetMissing", &missing);
            return false;
        }
        std::mem::swap(&mut slot.state, &mut slot.pending_state);
        let decision = slot.last.get_or_insert_with(Decision::default);
        std::mem::swap(decision, &mut slot.pending);
        let hpa_name = &slot.name;
        // The compute rendered the record of this very decision (8.6 M records a day at full
        // scale, formatted on the workers); debug builds render it again here to check.
        if cfg!(debug_assertions) && slot.decision_line_error.is_none() {
            let mut again = RenderedRecord::default();
            render_decision(&mut again, hpa_name, decision, now).expect("rendered once already");
            debug_assert_eq!(again.as_bytes(), slot.decision_line.as_bytes(), "the pre-rendered HpaDecision");
        }
        if error.is_none() {
            let written = match slot.decision_line_error.take() {
                Some(e) => Err(e),
                None => log.write_rendered(&slot.decision_line),
            };
            if let Err(e) = written {
                *error = Some(e);
            }
        }
        if !decision.rescale {
            return false;
        }
        let scaled = rec::HpaScaled {
            hpa: hpa_name,
            target: &target_name(),
            from: decision.current_replicas,
            to: decision.desired_replicas,
            limited_by: limited_by_str(decision.limited_by),
        };
        record_to(log, error, now, "HpaScaled", &scaled);
        let target = slot.target.as_ref().expect("set by the compute");
        let rescaled = store.deployments.get(target).cloned().map(|mut deployment| {
            deployment.replicas = decision.desired_replicas;
            deployment
        });
        match rescaled {
            Some(deployment) => {
                self.apply_deployment(deployment, now, q);
                true
            }
            None => false,
        }
    }
}

/// The `HpaDecision` record of `decision`, written field by field: the bytes serde would write
/// for [`rec::HpaDecision`] with these metric lines (records.rs tests both ways).
fn render_decision(
    out: &mut RenderedRecord,
    hpa_name: &str,
    decision: &Decision,
    now: SimTime,
) -> Result<(), LogError> {
    let scaling_active = decision
        .conditions
        .iter()
        .find(|c| c.kind == HpaConditionType::ScalingActive)
        .map_or("", |c| c.reason);
    let metrics = decision.metrics.iter().map(|m| rec::HpaMetric {
        metric_type: metric_type_str(m.metric_type),
        name: &m.name,
        proposal: m.proposal,
        usage_ratio: m.usage_ratio,
        utilization_percent: m.utilization_percent,
        value_milli: m.value_milli,
        ready_pods: m.ready_pods,
        unready_pods: m.unready_pods,
        missing_pods: m.missing_pods,
        ignored_pods: m.ignored_pods,
        error: m.error.as_deref(),
    });
    let head = rec::HpaDecision {
        hpa: hpa_name,
        current_replicas: decision.current_replicas,
        desired_replicas: decision.desired_replicas,
        recommendation: decision.recommendation,
        limited_by: limited_by_str(decision.limited_by),
        scaling_active,
        metrics: Vec::new(),
    };
    out.render(now, "HpaDecision", |w| rec::write_hpa_decision(w, &head, metrics))
}

/// One sync's compute (`reconcileAutoscaler` up to the scale write): the decision into
/// `slot.pending`, the controller's memory after it into `slot.pending_state`. The HPA object and
/// the slot are borrowed (no copy of the HPA, one lookup of each): with thousands of HPAs syncing
/// every 15 s, the copies and repeated map searches were a visible share of the run.
fn hpa_compute(inputs: &HpaInputs<'_>, slot: &mut HpaSlot) -> TargetVersion {
    let HpaInputs { store, metrics, config, deployment_status, external, now } = *inputs;
    // The slot exists exactly while the store holds the HPA (`apply_hpa` writes both, nothing
    // deletes either), and carries the store's object.
    debug_assert!(store.hpas.get(&slot.key) == Some(&slot.hpa), "the slot's HPA is the store's");
    let hpa = &slot.hpa;
    let target_ref = &hpa.scale_target_ref;
    if slot.target.as_ref().is_none_or(|t| t.namespace != hpa.meta.namespace || t.name != target_ref.name) {
        slot.target = Some(ObjectKey::new(&hpa.meta.namespace, &target_ref.name));
        slot.target_handles = (None, None);
    }
    let target = slot.target.as_ref().expect("set above");
    let deployment = match target_ref.kind.as_str() {
        "Deployment" => store.deployments.get_remembered(target, &mut slot.target_handles.0),
        _ => None,
    };
    let deployment = deployment?;
    let (target_selector, spec_replicas) = (&deployment.selector, deployment.replicas);
    let written_at = target_selector.match_labels.iter().next().and_then(|(k, v)| {
        let id = match &slot.stamp_label {
            Some((key, value, id)) if key == k && value == v => Some(*id),
            _ => {
                let id = store.label_id(k, v);
                slot.stamp_label = id.map(|id| (k.clone(), v.clone(), id));
                // The metrics pipeline's list is remembered for the pair in `stamp_label` only.
                slot.served_handle = None;
                id
            }
        };
        id.and_then(|id| store.label_written_at(id))
    });
    debug_assert_eq!(written_at, store.selected_pods_written_at(target_selector));
    let pods_kept = written_at.is_some() && slot.pods_written_at == written_at;
    let mut kept = std::mem::take(&mut slot.pods);
    if !pods_kept {
        // `pods_selected` gives exactly `from_api::target_pods`' pods (same namespace,
        // matching the selector, in key order); the list's buffer is reused.
        kept.clear();
        kept.extend(
            store
                .pods_selected_in_slots(&hpa.meta.namespace, target_selector)
                .map(|(slot, pod)| (slot, KeptFacts::of(pod))),
        );
        // The list is kept until the next change: no room to spare for thousands of them.
        kept.shrink_to_fit();
    }
    debug_assert!(
        kept.iter()
            .map(|(s, _)| *s)
            .eq(store.pods_selected_in_slots(&hpa.meta.namespace, target_selector).map(|(s, _)| s)),
        "a kept target list names the pods the selector selects"
    );
    let pods: Vec<FactPod<&kubesim_api::Pod>> = kept
        .iter()
        .map(|(at, facts)| {
            let pod = store.pod_in_slot(*at).expect("a kept target pod is still stored");
            FactPod::with_kept(&**pod, facts.clone())
        })
        .collect();
    // The PodMetrics the metrics client is given (same namespace; labelled: the selector
    // matches; unlabelled: names a target pod), straight in the decision core's sample form:
    // `snapshot_from_api` gets none to convert and fills the other metrics APIs' answers.
    let ns = hpa.meta.namespace.as_str();
    let served_version = metrics.served_version(ns, target_selector, &mut slot.served_handle);
    let served_kept = served_version.is_some() && slot.served_version == served_version;
    let served = if served_kept {
        std::mem::take(&mut slot.served)
    } else {
        metrics.served_for(ns, target_selector, |name| pods.iter().any(|p| p.pod().meta.name == name))
    };
    // The custom metrics API is read only for Pods and Object metrics.
    let reads_custom = hpa.metrics.iter().any(|m| {
        matches!(
            m,
            kubesim_api::autoscaling::HpaMetricSource::Pods { .. }
                | kubesim_api::autoscaling::HpaMetricSource::Object { .. }
        )
    });
    let custom = if reads_custom { metrics.custom_values(config.metrics_resolution) } else { Vec::new() };
    let no_pod_metrics: &[kubesim_api::autoscaling::PodMetrics] = &[];
    let mut snapshot = snapshot_from_api(hpa, target_selector, &pods, no_pod_metrics, &custom, external);
    snapshot.pod_metrics = PodMetricsList::new(served, metrics.class_samples());
    let scale = Scale {
        spec_replicas,
        status_replicas: deployment_status
            .get_remembered(target, &mut slot.target_handles.1)
            .map_or(0, |s| s.replicas),
    };
    if !(pods_kept && served_kept) {
        let cpu = CpuReadiness {
            cpu_initialization_period: config.hpa.cpu_initialization_period,
            initial_readiness_delay: config.hpa.initial_readiness_delay,
        };
        slot.join = PodSampleJoin::new(&pods, &snapshot.pod_metrics, cpu);
    }
    let input = HpaInput { spec: &slot.spec, scale, pods: &pods, metrics: &snapshot, now };
    slot.pending_state.clone_from(&slot.state);
    let decision = &mut slot.pending;
    reconcile_into(&config.hpa, &input, slot.join.as_ref(), &mut slot.pending_state, decision);
    if decision.rescale {
        // The scale write always succeeds here, so the event is committed at once.
        commit_scale(&config.hpa, &slot.spec, decision, &mut slot.pending_state, now);
    }
    slot.decision_line_error = render_decision(&mut slot.decision_line, &slot.name, decision, now).err();
    drop(pods);
    slot.pods = kept;
    slot.pods_written_at = written_at;
    slot.served = std::mem::take(&mut snapshot.pod_metrics).into_items();
    slot.served_version = served_version;
    Some(deployment.meta.resource_version)
}

impl<W: Write> Cluster<W> {
    /// Runs the HPA sync `first`, just popped at `now`, together with the syncs right behind it
    /// in the queue (same instant, nothing else between them): all HPAs are created at once and
    /// each re-queues itself one sync period later, so each sync instant holds one long run.
    ///
    /// The run's computes go in parallel ([`World::hpa_compute_batch`]); the decisions are then
    /// applied one by one in queue order, each event popped as the serial loop would pop it. A
    /// decision whose target Deployment an earlier apply of the batch wrote (the only store
    /// object an apply writes that a compute reads) is computed again at its turn, so the log is
    /// the serial run's, byte for byte, whatever the number of threads.
    pub(super) fn run_hpa_syncs(&mut self, first: u32, now: SimTime) -> Result<(), ClusterError> {
        let mut ids = vec![first];
        if self.queue.peek_time() == Some(now) {
            let mut seen = vec![false; self.world.ctl.hpas.len()];
            seen[first as usize] = true;
            ids.extend(self.queue.peek_head_run(MAX_HPA_BATCH - 1, |e| match e {
                Event::Ctl(CtlEvent::HpaSync(id)) if !std::mem::replace(&mut seen[*id as usize], true) => {
                    Some(*id)
                }
                _ => None,
            }));
        }
        if ids.len() == 1 {
            self.world.hpa_sync(first, now, &mut self.queue);
            return self.world.take_error();
        }
        let computed = self.world.hpa_compute_batch(&ids, now);
        let mut target_written = false;
        for (i, (&id, &target_version)) in ids.iter().zip(&computed).enumerate() {
            if i > 0 {
                // The run was seen before the applies began, and an apply only schedules later
                // events, so the next event is this one; if it ever is not, it is handled as the
                // serial loop would and the batch ends (the rest is computed again when popped).
                let Some((at, event)) = self.queue.pop() else { return Ok(()) };
                self.world.counters.events_processed += 1;
                if !(at == now && matches!(event, Event::Ctl(CtlEvent::HpaSync(e)) if e == id)) {
                    debug_assert!(false, "the HPA run changed under its applies");
                    self.world.handle(at, event, &mut self.queue);
                    return self.world.take_error();
                }
            }
            let target_version = if target_written && self.world.hpa_target_version(id) != target_version {
                self.world.ctl.hpa_recomputes += 1;
                self.world.hpa_compute_one(id, now)
            } else {
                target_version
            };
            target_written |= self.world.hpa_apply(id, target_version, now, &mut self.queue);
            self.world.take_error()?;
        }
        Ok(())
    }

    /// Creates or updates a HorizontalPodAutoscaler now; a new one is reconciled at once and then
    /// every sync period, and starts the metrics pipeline.
    pub fn apply_hpa(&mut self, hpa: HorizontalPodAutoscaler) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.apply_hpa(hpa, now, &mut self.queue)?;
        self.world.take_error()
    }

    /// The last decision of the HPA `key`.
    pub fn hpa_decision(&self, key: &ObjectKey) -> Option<&Decision> {
        let id = *self.world.ctl.hpa_ids.get(key)?;
        self.world.ctl.hpas[id as usize].last.as_ref()
    }

    /// The HPA controller's memory for `key` (recommendations, scale events).
    pub fn hpa_state(&self, key: &ObjectKey) -> Option<&HpaState> {
        let id = *self.world.ctl.hpa_ids.get(key)?;
        Some(&self.world.ctl.hpas[id as usize].state)
    }
}

#[cfg(test)]
mod tests {
    use kubesim_api::autoscaling::{CrossVersionObjectReference, HpaMetricSource, MetricTarget};
    use kubesim_api::services::Service;
    use kubesim_api::{
        Container, LabelSelector, NodeStatus, ObjectMeta, PodSpec, PodTemplateSpec, ResourceList,
        ResourceName, ResourceRequirements,
    };
    use kubesim_workload::{ContainerWorkload, Curve, Demand, Interpolation, PodWorkload};

    use super::*;
    use crate::config::ServiceLoad;

    const APPS: usize = 4;

    fn s(secs: u64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    fn app(i: usize) -> String {
        format!("web{i}")
    }

    fn labels(name: &str) -> kubesim_api::Labels {
        [("app".to_string(), name.to_string())].into_iter().collect()
    }

    fn deployment(name: &str) -> Deployment {
        let requests = ResourceList::new().with_cpu_millis(200).with_memory_bytes(128 << 20);
        Deployment {
            meta: ObjectMeta::named("default", name),
            replicas: 2,
            selector: LabelSelector { match_labels: labels(name), ..Default::default() },
            template: PodTemplateSpec {
                labels: labels(name).into(),
                annotations: Default::default(),
                spec: PodSpec {
                    containers: vec![Container {
                        name: "app".into(),
                        image: "web:v1".into(),
                        resources: ResourceRequirements { requests, limits: ResourceList::new() },
                        ..Default::default()
                    }]
                    .into(),
                    ..Default::default()
                },
            },
            ..Default::default()
        }
    }

    fn hpa(name: &str, target: &str, min_replicas: i32) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            meta: ObjectMeta::named("default", name),
            scale_target_ref: CrossVersionObjectReference {
                kind: "Deployment".into(),
                name: target.into(),
                api_version: "apps/v1".into(),
            },
            min_replicas,
            max_replicas: 10,
            metrics: vec![HpaMetricSource::Resource {
                resource: ResourceName::Cpu,
                target: MetricTarget::Utilization(50),
            }],
            behavior: None,
        }
    }

    /// Four apps behind Services whose load steps up at 300 s and down at 900 s (app i at
    /// (i + 1) × 20 req/s, then × 5), each with an HPA, all applied at 5 s (so their syncs run
    /// together); `web0` has a second HPA with another floor, so the two write the same
    /// Deployment in turn and the later one's batched decision is stale.
    fn cluster() -> Cluster<Vec<u8>> {
        let workload = PodWorkload {
            containers: vec![Arc::new(ContainerWorkload {
                cpu_millis: Demand::RequestDriven { base: 0, per_request: 5 },
                ..ContainerWorkload::idle()
            })],
        };
        let workloads = (0..APPS)
            .map(|i| {
                (
                    LabelSelector { match_labels: labels(&app(i)), ..Default::default() },
                    Arc::new(workload.clone()),
                )
            })
            .collect();
        let service_loads = (0..APPS)
            .map(|i| {
                let base = (i as i64 + 1) * 20_000;
                let load = Curve::from_points(
                    &[(s(0), base), (s(300), 5 * base), (s(900), base)],
                    Interpolation::Hold,
                )
                .expect("a step curve");
                ServiceLoad { service: ObjectKey::new("default", &app(i)), requests_per_second_milli: load }
            })
            .collect();
        let config = ClusterConfig { workloads, service_loads, ..Default::default() };
        let mut c = Cluster::new(config, Vec::new()).expect("a cluster");
        for n in 0..4 {
            let mut meta = ObjectMeta::named("", &format!("node-{n}"));
            meta.labels.insert("topology.kubernetes.io/zone".into(), ["a", "b"][n % 2].into());
            let alloc = ResourceList::new()
                .with_cpu_millis(16_000)
                .with_memory_bytes(64 << 30)
                .with(ResourceName::Pods, 110);
            let status = NodeStatus { capacity: alloc.clone(), allocatable: alloc, ..Default::default() };
            c.add_node(Node { meta, status, ..Default::default() }).expect("a node");
        }
        for i in 0..APPS {
            let svc = Service {
                meta: ObjectMeta::named("default", &app(i)),
                selector: Some(labels(&app(i))),
                ..Default::default()
            };
            c.apply_service(svc).expect("a service");
            c.apply_deployment(deployment(&app(i))).expect("a deployment");
        }
        c.run_until(SimTime::from_secs(5)).expect("the run");
        for i in 0..APPS {
            c.apply_hpa(hpa(&app(i), &app(i), 2)).expect("an HPA");
        }
        c.apply_hpa(hpa("web0-floor", &app(0), 3)).expect("an HPA");
        c
    }

    /// The plain serial loop: one event at a time through `World::handle`.
    fn run_serially(c: &mut Cluster<Vec<u8>>, until: SimTime) {
        while let Some((now, event)) = c.queue.pop_until(until) {
            c.world.counters.events_processed += 1;
            c.world.handle(now, event, &mut c.queue);
            c.world.take_error().expect("the log is written");
        }
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool")
    }

    #[test]
    fn batched_syncs_log_what_one_at_a_time_syncs_log_for_any_thread_count() {
        let until = SimTime::from_secs(1300);
        let mut serial = cluster();
        run_serially(&mut serial, until);
        let serial_events = serial.counters().events_processed;
        let (serial_log, serial_digest) = serial.finish().expect("the digest");
        for threads in [1, 2] {
            // The cluster is built inside the pool (it is not `Send`: its runtimes are boxed).
            let (recomputes, events, (log, digest)) = pool(threads).install(|| {
                let mut batched = cluster();
                batched.run_until(until).expect("the run");
                let recomputes = batched.world.ctl.hpa_recomputes;
                let events = batched.counters().events_processed;
                (recomputes, events, batched.finish().expect("the digest"))
            });
            // The twin HPAs of web0 fight over its replicas: the later one's batched decision
            // was made stale by the earlier one's scale write and was computed again.
            assert!(recomputes > 0, "threads={threads}");
            assert_eq!(events, serial_events, "threads={threads}");
            assert!(log == serial_log, "threads={threads}: the logs differ");
            assert_eq!(digest, serial_digest, "threads={threads}");
        }
        // The episode did scale: the apps' HPAs followed the step up.
        let text = String::from_utf8(serial_log).expect("utf-8");
        assert!(text.matches("\"HpaScaled\"").count() >= APPS, "{}", text.matches("HpaScaled").count());
    }
}
