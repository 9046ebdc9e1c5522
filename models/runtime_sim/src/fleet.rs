//! [`NodeFleet`]: N kubelets and their runtimes on one [`EventQueue`] — the node layer alone,
//! driven exactly as the cluster driver drives it — and [`bench`], the synthetic benchmark behind
//! `kubesim bench nodes`.
//!
//! The loop: pop the next event; a runtime event goes through [`NodeRuntime::commit`] (dropped if
//! superseded) and then to the node's [`Kubelet`]; a timer goes to the kubelet if still pending.
//! Effects are carried out at once: runtime commands are executed and their future events queued,
//! timers set/moved/cancelled, everything else counted (and logged when asked).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{
    Container, ObjectMeta, Pod, PodSpec, Probe, ProbeAction, PullPolicy, ResourceList, ResourceRequirements,
};
use kubesim_kubelet::{
    Kubelet, KubeletConfig, KubeletEffect, KubeletInput, NodeRuntime, ProbeMode, RuntimeEvent, TimerToken,
};
use kubesim_workload::{ContainerWorkload, PodWorkload};
use sim_core::{EventId, EventQueue, RngStreams, SimDuration, SimTime};

use crate::images::ImageCatalog;
use crate::node::{RuntimeConfig, SimNodeRuntime};

/// What is queued.
#[derive(Clone, Debug)]
pub enum FleetEvent {
    /// A runtime event of a node, due at its time.
    Runtime(u32, RuntimeEvent),
    /// A kubelet timer of a node.
    Timer(u32, TimerToken),
}

/// Counters of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetCounters {
    /// Events popped from the queue (runtime events, including superseded ones, and timers).
    pub events_processed: u64,
    /// Runtime events dropped by `commit` as superseded.
    pub stale_runtime_events: u64,
    /// Pod status writes.
    pub status_updates: u64,
    /// Pods evicted.
    pub evictions: u64,
    /// Runtime commands executed.
    pub runtime_commands: u64,
}

/// N nodes (kubelet + runtime) on one event queue.
#[derive(Debug)]
pub struct NodeFleet<R: NodeRuntime> {
    queue: EventQueue<FleetEvent>,
    nodes: Vec<(Kubelet, R)>,
    timers: BTreeMap<(u32, TimerToken), EventId>,
    counters: FleetCounters,
    log: Option<Vec<(SimTime, u32, KubeletEffect)>>,
    effects: Vec<KubeletEffect>,
    events: Vec<RuntimeEvent>,
}

impl<R: NodeRuntime> NodeFleet<R> {
    /// Nodes at time zero, kubelets stopped (send [`KubeletInput::NodeStart`]).
    pub fn new(nodes: Vec<(Kubelet, R)>) -> Self {
        NodeFleet {
            queue: EventQueue::with_capacity(nodes.len() * 4),
            nodes,
            timers: BTreeMap::new(),
            counters: FleetCounters::default(),
            log: None,
            effects: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Records every effect except timer requests (for tests and debugging).
    pub fn with_log(mut self) -> Self {
        self.log = Some(Vec::new());
        self
    }

    /// The recorded effects `(time, node, effect)`.
    pub fn log(&self) -> &[(SimTime, u32, KubeletEffect)] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// Counters so far.
    pub fn counters(&self) -> FleetCounters {
        self.counters
    }

    /// Current time.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// Events pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The kubelets and runtimes.
    pub fn nodes(&self) -> &[(Kubelet, R)] {
        &self.nodes
    }

    /// Hands `input` to node `node`'s kubelet now.
    pub fn input(&mut self, node: u32, input: KubeletInput) {
        let now = self.queue.now();
        let Some((kubelet, _)) = self.nodes.get_mut(node as usize) else { return };
        kubelet.handle(now, input, &mut self.effects);
        self.apply(node);
    }

    /// Runs every event due at or before `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: SimTime) {
        while let Some((now, ev)) = self.queue.pop_until(until) {
            self.counters.events_processed += 1;
            match ev {
                FleetEvent::Runtime(node, ev) => {
                    let Some((kubelet, runtime)) = self.nodes.get_mut(node as usize) else { continue };
                    match runtime.commit(now, ev) {
                        Some(ev) => kubelet.handle(now, KubeletInput::Runtime(ev), &mut self.effects),
                        None => self.counters.stale_runtime_events += 1,
                    }
                    self.apply(node);
                }
                FleetEvent::Timer(node, token) => {
                    self.timers.remove(&(node, token));
                    let Some((kubelet, _)) = self.nodes.get_mut(node as usize) else { continue };
                    kubelet.handle(now, KubeletInput::TimerFired(token), &mut self.effects);
                    self.apply(node);
                }
            }
        }
        if self.queue.now() < until {
            // Cannot fail: nothing pending is due before `until`.
            let _ = self.queue.advance_to(until);
        }
    }

    fn apply(&mut self, node: u32) {
        let now = self.queue.now();
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            match &effect {
                KubeletEffect::Runtime(cmd) => {
                    self.counters.runtime_commands += 1;
                    let runtime = &mut self.nodes[node as usize].1;
                    runtime.execute(now, cmd.clone(), &mut self.events);
                    for ev in self.events.drain(..) {
                        let at = ev.at().max(now);
                        self.queue.schedule_at(at, FleetEvent::Runtime(node, ev)).expect("not in the past");
                    }
                }
                KubeletEffect::SetTimer { at, token } => {
                    if let Some(old) = self.timers.remove(&(node, *token)) {
                        self.queue.cancel(old);
                    }
                    let id = self
                        .queue
                        .schedule_at((*at).max(now), FleetEvent::Timer(node, *token))
                        .expect("not in the past");
                    self.timers.insert((node, *token), id);
                    continue;
                }
                KubeletEffect::CancelTimer { token } => {
                    if let Some(old) = self.timers.remove(&(node, *token)) {
                        self.queue.cancel(old);
                    }
                    continue;
                }
                KubeletEffect::PodStatusUpdate { .. } => self.counters.status_updates += 1,
                KubeletEffect::PodEvicted { .. } => self.counters.evictions += 1,
                _ => {}
            }
            if let Some(log) = &mut self.log {
                log.push((now, node, effect));
            }
        }
        self.effects = effects;
    }
}

/// Parameters of the synthetic node benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// Nodes.
    pub nodes: u32,
    /// Pods, assigned round-robin at time zero.
    pub pods: u32,
    /// Simulated time.
    pub duration: SimDuration,
    /// Root seed.
    pub seed: u64,
    /// Liveness and readiness `periodSeconds`.
    pub probe_period: SimDuration,
    /// Per-period probing (the oracle) instead of analytic.
    pub naive: bool,
}

/// What the benchmark measured (wall time and memory are added by the shell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchReport {
    /// Nodes.
    pub nodes: u32,
    /// Pods.
    pub pods: u32,
    /// Simulated seconds.
    pub sim_duration_s: u64,
    /// Events processed.
    pub events_processed: u64,
    /// What a per-probe simulation processes for the probes alone: pods × probes × ticks.
    pub per_probe_events_equivalent: u64,
    /// Pods Ready at the end.
    pub pods_ready: u64,
    /// Status writes.
    pub status_updates: u64,
}

impl BenchReport {
    /// `events_processed / per_probe_events_equivalent`.
    pub fn event_ratio(&self) -> f64 {
        self.events_processed as f64 / (self.per_probe_events_equivalent.max(1)) as f64
    }

    /// The one-line JSON contract of `kubesim bench nodes`.
    pub fn json_line(&self, wall_s: f64, peak_rss_mb: f64) -> String {
        format!(
            "{{\"nodes\":{},\"pods\":{},\"sim_duration_s\":{},\"events_processed\":{},\"per_probe_events_equivalent\":{},\"event_ratio\":{:.6},\"pods_ready\":{},\"status_updates\":{},\"wall_s\":{:.3},\"peak_rss_mb\":{:.1}}}",
            self.nodes,
            self.pods,
            self.sim_duration_s,
            self.events_processed,
            self.per_probe_events_equivalent,
            self.event_ratio(),
            self.pods_ready,
            self.status_updates,
            wall_s,
            peak_rss_mb
        )
    }
}

const APP_IMAGE: &str = "registry.example/app:v1";

fn bench_pod(i: u32, node: u32, probe_period: SimDuration) -> Pod {
    let probe = Probe {
        period_seconds: i32::try_from(probe_period.as_secs().max(1)).unwrap_or(i32::MAX),
        ..Probe::with_defaults(ProbeAction::HttpGet { path: "/healthz".into(), port: 8080 })
    };
    let requests = ResourceList::new().with_cpu_millis(100).with_memory_bytes(128 << 20);
    let limits = ResourceList::new().with_cpu_millis(200).with_memory_bytes(256 << 20);
    Pod {
        meta: ObjectMeta::named("default", &format!("pod-{i}")),
        spec: PodSpec {
            node_name: Some(format!("node-{node}")),
            containers: vec![Container {
                name: "app".into(),
                image: APP_IMAGE.into(),
                image_pull_policy: PullPolicy::IfNotPresent,
                resources: ResourceRequirements { requests, limits },
                liveness_probe: Some(probe.clone()),
                readiness_probe: Some(probe),
                ..Container::default()
            }]
            .into(),
            ..PodSpec::default()
        }
        .into(),
        ..Pod::default()
    }
}

/// Builds the benchmark fleet: `nodes` nodes (16 CPU, 64Gi, 110 pods), `pods` single-container
/// pods with liveness and readiness probes and a steady workload, assigned round-robin at zero.
pub fn bench_fleet(cfg: &BenchConfig) -> NodeFleet<SimNodeRuntime> {
    let mut catalog = ImageCatalog::new();
    catalog.add_image(APP_IMAGE, &[("sha256:base", 50_000_000), ("sha256:app", 20_000_000)]);
    let catalog = Arc::new(catalog);
    let streams = RngStreams::new(cfg.seed);
    let allocatable = ResourceList::new()
        .with_cpu_millis(16_000)
        .with_memory_bytes(64 << 30)
        .with(kubesim_api::ResourceName::Pods, 110);
    let nodes = (0..cfg.nodes)
        .map(|n| {
            let mut kc = KubeletConfig::new(&format!("node-{n}"), allocatable.clone());
            kc.probe_mode = if cfg.naive { ProbeMode::PerPeriod } else { ProbeMode::Analytic };
            let rt = SimNodeRuntime::new(RuntimeConfig::default(), catalog.clone(), streams, u64::from(n));
            (Kubelet::new(kc), rt)
        })
        .collect();
    let mut fleet = NodeFleet::new(nodes);
    for n in 0..cfg.nodes {
        fleet.input(n, KubeletInput::NodeStart);
    }
    let workload =
        Arc::new(PodWorkload { containers: vec![Arc::new(ContainerWorkload::steady(50, 100 << 20))] });
    for i in 0..cfg.pods {
        let node = i % cfg.nodes.max(1);
        let pod = Arc::new(bench_pod(i, node, cfg.probe_period));
        fleet.input(node, KubeletInput::PodAssigned { pod, workload: Some(workload.clone()) });
    }
    fleet
}

/// Runs the benchmark (without wall-clock measurement, which belongs to the shell).
pub fn bench(cfg: &BenchConfig) -> BenchReport {
    let mut fleet = bench_fleet(cfg);
    fleet.run_until(SimTime::ZERO.saturating_add(cfg.duration));
    let c = fleet.counters();
    let period = cfg.probe_period.as_nanos().max(1);
    let ticks = cfg.duration.as_nanos().div_ceil(period);
    BenchReport {
        nodes: cfg.nodes,
        pods: cfg.pods,
        sim_duration_s: cfg.duration.as_secs(),
        events_processed: c.events_processed,
        per_probe_events_equivalent: u64::from(cfg.pods) * 2 * ticks,
        pods_ready: fleet.nodes().iter().map(|(k, _)| k.ready_pods() as u64).sum(),
        status_updates: c.status_updates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_steady_fleet_gets_every_pod_ready_and_then_goes_quiet() {
        let cfg = BenchConfig {
            nodes: 4,
            pods: 40,
            duration: SimDuration::from_mins(10),
            seed: 1,
            probe_period: SimDuration::from_secs(10),
            naive: false,
        };
        let r = bench(&cfg);
        assert_eq!(r.pods_ready, 40);
        // Per pod: sandbox ready, image pulled, container started, readiness success = 4 events.
        assert_eq!(r.events_processed, 4 * 40);
        // 40 pods × 2 probes × 60 ticks.
        assert_eq!(r.per_probe_events_equivalent, 4800);
        let json = r.json_line(0.5, 12.0);
        assert!(json.starts_with("{\"nodes\":4,\"pods\":40,\"sim_duration_s\":600,"), "{json}");
    }

    #[test]
    fn the_naive_fleet_ticks_every_probe_and_ends_in_the_same_state() {
        let mut cfg = BenchConfig {
            nodes: 2,
            pods: 6,
            duration: SimDuration::from_mins(5),
            seed: 1,
            probe_period: SimDuration::from_secs(10),
            naive: true,
        };
        let naive = bench(&cfg);
        cfg.naive = false;
        let fast = bench(&cfg);
        assert_eq!(naive.pods_ready, fast.pods_ready);
        assert_eq!(naive.status_updates, fast.status_updates);
        // One timer per container per tick (both probes tick together): ~30 per pod.
        assert!(naive.events_processed > 6 * 29, "{naive:?}");
        assert!(fast.events_processed < naive.events_processed / 5);
    }
}
