//! A metrics-server model: what the HPA controller can know about usage, and when.
//!
//! Every `metrics_resolution` (15 s, on a fixed grid of multiples of it) the pipeline scrapes
//! every kubelet: one point per running container of every Running pod, with the container's
//! start time. What it then serves as `metrics.k8s.io` PodMetrics follows metrics-server's
//! `storage/pod.go`: a container needs a *previous* point to have a rate —
//! * a container started less than one resolution but at least 10 s before the scrape uses its
//!   start time (zero usage) as the previous point (`freshContainerMinMetricsResolution`);
//! * otherwise the previous scrape's point, if the container had started before it (no restart);
//! * a pod is served only if every container has a previous point.
//!
//! The served PodMetrics carry `timestamp` = the scrape time and `window` = the time since the
//! previous point (15 s in steady state), and the HPA reads the *last* scrape: its view is up to
//! one resolution stale.
//!
//! Usage comes from the workload model: a container's CPU is its demand curve at the scrape
//! instant (offset since the container started), or for a request-driven demand
//! `base + per_request × rate`, where rate is its Service's offered load divided evenly over the
//! Service's ready endpoints (0 for a pod that is not one); capped by the container's CPU limit.
//! Memory is the working-set curve at the scrape instant (what the simulated runtime's `stats`
//! reports). The same scrape fills the `requests_per_second` Pods metric (custom metrics API) of
//! every running pod behind a loaded Service.
//!
//! A runtime that measures (the real backend's cgroup counters) replaces the modelled CPU with
//! metrics-server's own computation: the cumulative CPU difference between the two points over
//! their time difference.
//!
//! Approximation (fidelity note): metrics-server reports the *average* CPU rate between its two
//! points; here the demand at the scrape instant stands for that average. For piecewise-constant
//! demand the two differ only in the one window that contains a change.

use kubesim_api::autoscaling::{
    ContainerUsage, CustomMetricValue, DescribedObject, ExternalMetricValue, PodMetrics as ApiPodMetrics,
};
use kubesim_api::{ContainerState, ObjectKey, Pod, PodPhase, ResourceList};
use kubesim_workload::Demand;

use super::*;

/// metrics-server's `freshContainerMinMetricsResolution`.
pub(super) const FRESH_CONTAINER_MIN: SimDuration = SimDuration::from_secs(10);

/// The name of the per-pod request-rate metric in the custom metrics API.
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";

/// One container's last point. Containers are identified by their index in `spec.containers`:
/// a pod's container list cannot change for a given uid, and points are only reused under the same
/// uid, so the index names the same container as its name would (without a `String` per point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ContainerPoint {
    index: usize,
    start: SimTime,
    timestamp: SimTime,
    /// Cumulative CPU µs at `timestamp`, when the node's runtime measures it.
    cpu_usage_us: Option<u64>,
}

/// A pod's points from the last scrape that saw it running.
#[derive(Debug)]
struct PodPoints {
    uid: String,
    points: Vec<ContainerPoint>,
    /// The scrape (`MetricsPipeline::generation`) that wrote `points`.
    generation: u64,
    /// What the scrape derived from the pod object, reused while the pod is not written.
    resolved: Resolved,
}

/// What a scrape looks up from a pod's labels: its Service load and its workload. Both depend only
/// on the pod object (its resourceVersion names one write of it) and on the Services.
#[derive(Clone, Debug)]
struct Resolved {
    resource_version: u64,
    services_version: u64,
    /// Index into `config.service_loads`.
    load: Option<usize>,
    workload: Option<Arc<PodWorkload>>,
    /// Whether the pod was one of its load's Service's ready endpoints, as of that Service's
    /// `endpoints_changed_at` stamp (`None`: not checked yet).
    ready_endpoint: Option<(u64, bool)>,
}

/// A served PodMetrics and the scrape that (re)wrote it.
#[derive(Debug)]
pub(super) struct Served {
    pub(super) metrics: ApiPodMetrics,
    generation: u64,
    /// The pod's resourceVersion when its labels and container names were last copied: while the
    /// pod is unchanged only the usage values need writing.
    pod_version: u64,
}

/// The pipeline's state. Each scrape updates it in place: a pod's entries keep their allocations
/// (key, uid, labels, container names) from one scrape to the next, and entries the scrape did not
/// rewrite are dropped at its end.
#[derive(Debug, Default)]
pub(super) struct MetricsPipeline {
    timer: Option<EventId>,
    /// Scrapes so far (the current one's number during a scrape).
    generation: u64,
    /// The last scrape's points, per pod.
    last: BTreeMap<ObjectKey, PodPoints>,
    /// What the metrics API serves until the next scrape.
    pub(super) served: BTreeMap<ObjectKey, Served>,
    /// Custom metrics served until the next scrape, in pod key order.
    pub(super) custom: Vec<CustomMetricValue>,
    /// Keys of `served` by each label of the served PodMetrics, and those without labels: the
    /// HPA starts from its selector's smallest list instead of every PodMetrics. Rebuilt only when
    /// a scrape adds or drops a served pod or changes its labels.
    served_by_label: BTreeMap<(String, String), Vec<ObjectKey>>,
    served_unlabelled: Vec<ObjectKey>,
}

impl MetricsPipeline {
    /// The served PodMetrics that `keep` accepts, in key order, starting from the ones carrying
    /// every label of `required` (plus those without labels): `keep` must reject a labelled
    /// PodMetrics that lacks one of `required`.
    pub(super) fn served_where(
        &self,
        required: &kubesim_api::Labels,
        keep: impl Fn(&ApiPodMetrics) -> bool,
    ) -> Vec<&ApiPodMetrics> {
        static NONE: Vec<ObjectKey> = Vec::new();
        let smallest = required
            .iter()
            .map(|pair| self.served_by_label.get(&pair as &dyn crate::store::LabelPair).unwrap_or(&NONE))
            .min_by_key(|keys| keys.len());
        let Some(smallest) = smallest else {
            return self.served.values().map(|s| &s.metrics).filter(|m| keep(m)).collect();
        };
        let mut keys: Vec<&ObjectKey> = smallest.iter().chain(&self.served_unlabelled).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter().filter_map(|k| self.served.get(k)).map(|s| &s.metrics).filter(|m| keep(m)).collect()
    }
}

impl<W: Write> World<W> {
    /// Starts the scrape loop (idempotent): the first scrape is at the next multiple of the
    /// resolution at or after `now`.
    pub(super) fn ensure_metrics_running(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        if self.ctl.metrics.timer.is_some() {
            return;
        }
        let res = self.config.metrics_resolution.as_nanos().max(1);
        let at = SimTime::from_nanos(now.as_nanos().div_ceil(res) * res);
        self.ctl.metrics.timer =
            Some(q.schedule_at(at, Event::Ctl(CtlEvent::MetricsScrape)).expect("not in the past"));
    }

    /// The first load (in config order) whose Service selects the pod; only the loads indexed
    /// under one of the pod's labels can.
    fn pod_load(&self, pod: &Pod) -> Option<usize> {
        self.ctl.load_index.candidates(&pod.meta.labels).into_iter().find(|&i| {
            let l = &self.config.service_loads[i];
            l.service.namespace == pod.meta.namespace
                && self.store.services.get(&l.service).is_some_and(|s| {
                    s.selector.as_ref().is_some_and(|sel| {
                        !sel.is_empty() && sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v))
                    })
                })
        })
    }

    /// A load's Service's ready endpoints (sorted) and when they last changed.
    fn load_endpoints(&self, load: usize) -> (&[String], u64) {
        let service = &self.config.service_loads[load].service;
        let ready = self.ctl.endpoints.get(service).map_or(&[][..], |v| v.as_slice());
        (ready, self.ctl.endpoints_changed_at.get(service).copied().unwrap_or(0))
    }

    /// [`Resolved`] for `pod`, reusing `previous` when neither the pod nor the Services changed.
    fn resolve(&self, pod: &Pod, previous: Option<&Resolved>) -> Resolved {
        let services_version = self.ctl.services_version;
        match previous {
            Some(r)
                if r.resource_version == pod.meta.resource_version
                    && r.services_version == services_version =>
            {
                r.clone()
            }
            _ => Resolved {
                resource_version: pod.meta.resource_version,
                services_version,
                load: self.pod_load(pod),
                workload: self.workload_for(pod),
                ready_endpoint: None,
            },
        }
    }

    /// Usage of container `index` (regular containers) of `pod` started at `start`, at `now`:
    /// (CPU millicores, memory bytes). `workload` is [`World::workload_for`]`(pod)`.
    fn container_usage(
        pod: &Pod,
        workload: Option<&kubesim_workload::PodWorkload>,
        index: usize,
        start: SimTime,
        rate_milli: i64,
        now: SimTime,
    ) -> (i64, i64) {
        let container = &pod.spec.containers[index];
        let workload = workload
            .map(|w| w.container(pod.spec.init_containers.len() + index, false))
            .unwrap_or_else(|| kubesim_workload::PodWorkload::default_for(false));
        let offset = now.saturating_duration_since(start);
        let mut cpu = match &workload.cpu_millis {
            Demand::Curve(c) => c.value_at(offset),
            d @ Demand::RequestDriven { .. } => d.value(offset, rate_milli),
        }
        .max(0);
        if let Some(limit) = container.resources.limits.get(&kubesim_api::ResourceName::Cpu) {
            cpu = cpu.min(limit);
        }
        let memory = workload.memory_bytes.value_at(offset).max(0);
        (cpu, memory)
    }

    /// The cumulative CPU µs of `pod`'s running container `name` if its node's runtime measures it.
    fn measured_cpu_usage_us(&self, pod: &Pod, key: &ObjectKey, name: &str) -> Option<u64> {
        let node = *self.node_index.get(pod.spec.node_name.as_deref()?)?;
        let slot = &self.nodes[node as usize];
        if !slot.runtime.measures_cpu_usage() {
            return None;
        }
        let id = slot.kubelet.running_container(key, name)?;
        slot.runtime.measured_cpu_usage_us(id)
    }

    /// One scrape: new points, then what the metrics APIs serve until the next one.
    pub(super) fn metrics_scrape(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        let resolution = self.config.metrics_resolution;
        self.ctl.metrics.timer = Some(
            q.schedule_at(
                now + resolution.max(SimDuration::from_nanos(1)),
                Event::Ctl(CtlEvent::MetricsScrape),
            )
            .expect("not in the past"),
        );
        // Taken out for the scrape so `self` can be read while they are written.
        let mut last = std::mem::take(&mut self.ctl.metrics.last);
        let mut served = std::mem::take(&mut self.ctl.metrics.served);
        let mut old_custom = std::mem::take(&mut self.ctl.metrics.custom).into_iter().peekable();
        let mut custom = Vec::with_capacity(old_custom.len());
        self.ctl.metrics.generation += 1;
        let generation = self.ctl.metrics.generation;
        // Whether the set of served keys or their labels changed (then the label index is rebuilt).
        let mut served_keys_changed = false;
        let mut points: Vec<ContainerPoint> = Vec::new();
        let mut usages: Vec<(usize, i64, i64)> = Vec::new();
        // Simulated nodes never measure: skip the per-container runtime lookup altogether.
        let any_node_measures = self.nodes.iter().any(|n| n.runtime.measures_cpu_usage());
        // Each load's offered rate at this instant, evaluated once per scrape.
        let offset = now.saturating_duration_since(SimTime::ZERO);
        let offered: Vec<i64> =
            self.config.service_loads.iter().map(|l| l.requests_per_second_milli.value_at(offset)).collect();
        let endpoints: Vec<(&[String], u64)> =
            (0..self.config.service_loads.len()).map(|l| self.load_endpoints(l)).collect();
        for (key, pod) in self.store.pods_with_keys() {
            if pod.status.phase != PodPhase::Running || !pod.is_bound() {
                continue;
            }
            let previous = last.get(key).filter(|p| p.uid == pod.meta.uid);
            let mut resolved = self.resolve(pod, previous.map(|p| &p.resolved));
            // The pod's share: its load's offered rate even over the Service's ready endpoints,
            // 0 if it is not one (membership re-checked only when the endpoints changed).
            let rate = resolved.load.map(|l| {
                let (ready, changed_at) = endpoints[l];
                let is_ready = match resolved.ready_endpoint {
                    Some((at, is_ready)) if at == changed_at => is_ready,
                    _ => {
                        // Sorted (sync_endpoints sorts it).
                        let is_ready = ready.binary_search(&pod.meta.name).is_ok();
                        resolved.ready_endpoint = Some((changed_at, is_ready));
                        is_ready
                    }
                };
                if is_ready {
                    offered[l] / ready.len() as i64
                } else {
                    0
                }
            });
            let workload = resolved.workload.clone();
            points.clear();
            usages.clear();
            let mut window: Option<SimDuration> = None;
            let mut complete = true;
            for (i, c) in pod.spec.containers.iter().enumerate() {
                let Some(start) =
                    pod.status.container_statuses.iter().find(|s| s.name == c.name).and_then(|s| {
                        match s.state {
                            ContainerState::Running { started_at } => Some(started_at),
                            _ => None,
                        }
                    })
                else {
                    continue;
                };
                let cpu_usage_us =
                    if any_node_measures { self.measured_cpu_usage_us(pod, key, &c.name) } else { None };
                points.push(ContainerPoint { index: i, start, timestamp: now, cpu_usage_us });
                let age = now.saturating_duration_since(start);
                // The previous point: (when, cumulative CPU then); a fresh container's start counts
                // as a point with zero usage.
                let prev = if start < now && age < resolution && age >= FRESH_CONTAINER_MIN {
                    Some((start, Some(0)))
                } else {
                    previous
                        .and_then(|p| p.points.iter().find(|p| p.index == i))
                        .filter(|p| start < p.timestamp && now > p.timestamp)
                        .map(|p| (p.timestamp, p.cpu_usage_us))
                };
                match prev {
                    Some((t, prev_cpu_us)) => {
                        let window_now = now.saturating_duration_since(t);
                        window.get_or_insert(window_now);
                        let (mut cpu, memory) =
                            Self::container_usage(pod, workload.as_deref(), i, start, rate.unwrap_or(0), now);
                        if let (Some(now_us), Some(prev_us)) = (cpu_usage_us, prev_cpu_us) {
                            // metrics-server: the average rate between the two points.
                            let micros = window_now.as_nanos() / 1_000;
                            let millis =
                                (now_us.saturating_sub(prev_us) * 1_000).checked_div(micros).unwrap_or(0);
                            cpu = i64::try_from(millis).unwrap_or(i64::MAX);
                        }
                        usages.push((i, cpu, memory));
                    }
                    None => complete = false,
                }
            }
            if points.is_empty() {
                continue;
            }
            if complete {
                let window = window.unwrap_or(resolution);
                served_keys_changed |= serve(&mut served, key, pod, &usages, now, window, generation);
            }
            if let Some(rate) = rate {
                // Reuse the previous scrape's value for this pod (both lists are in key order).
                while old_custom.next_if(|v| described_key(v) < (&key.namespace, &key.name)).is_some() {}
                let value = match old_custom.next_if(|v| described_key(v) == (&key.namespace, &key.name)) {
                    Some(mut v) => {
                        v.timestamp = now;
                        v.window = resolution;
                        v.value_milli = rate;
                        v
                    }
                    None => CustomMetricValue {
                        described_object: DescribedObject {
                            kind: "Pod".into(),
                            namespace: pod.meta.namespace.clone(),
                            name: pod.meta.name.clone(),
                        },
                        metric_name: REQUESTS_PER_SECOND.into(),
                        metric_labels: Default::default(),
                        timestamp: now,
                        window: resolution,
                        value_milli: rate,
                    },
                };
                custom.push(value);
            }
            match last.get_mut(key) {
                Some(entry) => {
                    if entry.uid != pod.meta.uid {
                        entry.uid.clone_from(&pod.meta.uid);
                    }
                    entry.points.clear();
                    entry.points.extend_from_slice(&points);
                    entry.generation = generation;
                    entry.resolved = resolved;
                }
                None => {
                    last.insert(
                        key.clone(),
                        PodPoints { uid: pod.meta.uid.clone(), points: points.clone(), generation, resolved },
                    );
                }
            }
        }
        last.retain(|_, p| p.generation == generation);
        let before = served.len();
        served.retain(|_, s| s.generation == generation);
        served_keys_changed |= served.len() != before;
        if served_keys_changed {
            let mut served_by_label: BTreeMap<(String, String), Vec<ObjectKey>> = BTreeMap::new();
            let mut served_unlabelled = Vec::new();
            for (key, s) in &served {
                if s.metrics.meta.labels.is_empty() {
                    served_unlabelled.push(key.clone());
                }
                for (k, v) in &s.metrics.meta.labels {
                    served_by_label.entry((k.clone(), v.clone())).or_default().push(key.clone());
                }
            }
            self.ctl.metrics.served_by_label = served_by_label;
            self.ctl.metrics.served_unlabelled = served_unlabelled;
        }
        self.ctl.metrics.last = last;
        self.ctl.metrics.served = served;
        self.ctl.metrics.custom = custom;
    }

    /// External metric values as the external metrics API answers at `now` (read live).
    pub(super) fn external_metric_values(&self, now: SimTime) -> Vec<ExternalMetricValue> {
        let offset = now.saturating_duration_since(SimTime::ZERO);
        self.config
            .external_metrics
            .iter()
            .map(|s| ExternalMetricValue {
                metric_name: s.name.clone(),
                metric_labels: s.labels.clone(),
                timestamp: now,
                window: SimDuration::ZERO,
                value_milli: s.value_milli.value_at(offset),
            })
            .collect()
    }
}

/// A custom metric value's object as (namespace, name), comparable with a pod key's fields.
fn described_key(v: &CustomMetricValue) -> (&String, &String) {
    (&v.described_object.namespace, &v.described_object.name)
}

/// Serves `pod`'s PodMetrics with `usages` (container index, CPU millicores, memory bytes),
/// rewriting its previous entry in place when there is one. Returns whether a key was added or a
/// pod's labels changed.
fn serve(
    served: &mut BTreeMap<ObjectKey, Served>,
    key: &ObjectKey,
    pod: &Pod,
    usages: &[(usize, i64, i64)],
    now: SimTime,
    window: SimDuration,
    generation: u64,
) -> bool {
    let usage_of = |cpu: i64, memory: i64| ResourceList::new().with_cpu_millis(cpu).with_memory_bytes(memory);
    match served.get_mut(key) {
        Some(s) => {
            let m = &mut s.metrics;
            s.generation = generation;
            m.timestamp = now;
            m.window = window;
            // Served means every running container had a point, and which containers run is part
            // of the pod object: an unchanged pod has the same container list and labels.
            let unchanged_pod = s.pod_version == pod.meta.resource_version;
            s.pod_version = pod.meta.resource_version;
            let same_containers = unchanged_pod
                || m.containers.len() == usages.len()
                    && m.containers
                        .iter()
                        .zip(usages)
                        .all(|(c, (i, _, _))| c.name == pod.spec.containers[*i].name);
            if same_containers {
                for (c, (_, cpu, memory)) in m.containers.iter_mut().zip(usages) {
                    c.usage.set(kubesim_api::ResourceName::Cpu, *cpu);
                    c.usage.set(kubesim_api::ResourceName::Memory, *memory);
                }
            } else {
                m.containers = usages
                    .iter()
                    .map(|(i, cpu, memory)| ContainerUsage {
                        name: pod.spec.containers[*i].name.clone(),
                        usage: usage_of(*cpu, *memory),
                    })
                    .collect();
            }
            if !unchanged_pod && m.meta.labels != pod.meta.labels {
                m.meta.labels.clone_from(&pod.meta.labels);
                return true;
            }
            false
        }
        None => {
            let mut meta = kubesim_api::ObjectMeta::named(&pod.meta.namespace, &pod.meta.name);
            meta.labels = pod.meta.labels.clone();
            let containers = usages
                .iter()
                .map(|(i, cpu, memory)| ContainerUsage {
                    name: pod.spec.containers[*i].name.clone(),
                    usage: usage_of(*cpu, *memory),
                })
                .collect();
            served.insert(
                key.clone(),
                Served {
                    metrics: ApiPodMetrics { meta, timestamp: now, window, containers },
                    generation,
                    pod_version: pod.meta.resource_version,
                },
            );
            true
        }
    }
}

impl<W: Write> Cluster<W> {
    /// The PodMetrics the metrics API serves now (from the last scrape), in pod key order.
    pub fn pod_metrics(&self) -> Vec<&ApiPodMetrics> {
        self.world.ctl.metrics.served.values().map(|s| &s.metrics).collect()
    }

    /// Starts the metrics-server scrape loop without an HPA (e.g. to read [`Cluster::pod_metrics`]).
    pub fn enable_metrics(&mut self) {
        let now = self.queue.now();
        self.world.ensure_metrics_running(now, &mut self.queue);
    }
}
