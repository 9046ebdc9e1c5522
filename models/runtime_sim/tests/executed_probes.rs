//! The kubelet in `ProbeMode::Executed` on the simulated runtime: every due probe becomes a
//! `RunProbe` command, and its `ProbeResult` is applied when it arrives — at once from the
//! simulated runtime, later from a runtime whose probes take time (as the real backend's do).
//!
//! Timing (defaults): sandbox 500 ms, container start 300 ms, image "img" pulls instantly, so a
//! container admitted at 0 s runs from 0.8 s; probe ticks count from admission at 0 s.

mod common;

use std::sync::Arc;

use common::*;
use kubesim_api::{PodConditionType, ProbeAction, RestartPolicy};
use kubesim_kubelet::runtime::{ContainerStats, RuntimeError};
use kubesim_kubelet::{
    ContainerId, Kubelet, KubeletConfig, KubeletEffect, KubeletInput, NodeRuntime, ProbeKind, ProbeMode,
    RuntimeCommand, RuntimeEvent,
};
use kubesim_runtime_sim::{NodeFleet, RuntimeConfig, SimNodeRuntime};
use kubesim_workload::{ContainerHealth, ContainerWorkload, HealthTimeline, ProbeResponse};
use sim_core::{RngStreams, SimDuration, SimTime};

/// The simulated runtime, but every probe takes `delay` to answer (its result is stamped then).
#[derive(Debug)]
struct SlowProbes {
    inner: SimNodeRuntime,
    delay: SimDuration,
}

impl NodeRuntime for SlowProbes {
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>) {
        let first = events.len();
        self.inner.execute(now, command, events);
        for ev in &mut events[first..] {
            if let RuntimeEvent::ProbeResult { at, .. } = ev {
                *at = at.saturating_add(self.delay);
            }
        }
    }
    fn commit(&mut self, now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent> {
        self.inner.commit(now, event)
    }
    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.inner.stats(now, container)
    }
}

fn slow_node(delay: SimDuration) -> NodeFleet<SlowProbes> {
    let alloc = kubesim_api::ResourceList::new()
        .with_cpu_millis(8000)
        .with_memory_bytes(16 << 30)
        .with(kubesim_api::ResourceName::Pods, 110);
    let mut cfg = KubeletConfig::new("node-0", alloc);
    cfg.probe_mode = ProbeMode::Executed;
    let inner = SimNodeRuntime::new(RuntimeConfig::default(), catalog(), RngStreams::new(7), 0);
    let mut fleet = NodeFleet::new(vec![(Kubelet::new(cfg), SlowProbes { inner, delay })]).with_log();
    fleet.input(0, KubeletInput::NodeStart);
    fleet
}

fn ready_changes(log: &[(SimTime, u32, KubeletEffect)]) -> Vec<(SimTime, bool)> {
    let mut out: Vec<(SimTime, bool)> = Vec::new();
    for (_, _, e) in log {
        let KubeletEffect::PodStatusUpdate { status, .. } = e else { continue };
        let Some(c) = status.conditions.iter().find(|c| c.kind == PodConditionType::Ready) else { continue };
        let v = (c.last_transition_time.unwrap_or_default(), c.status == kubesim_api::ConditionStatus::True);
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    out
}

fn run_probes(log: &[(SimTime, u32, KubeletEffect)]) -> Vec<(SimTime, ContainerId, ProbeKind, ProbeAction)> {
    log.iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::Runtime(RuntimeCommand::RunProbe { container, kind, action, .. }) => {
                Some((*t, *container, *kind, action.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_kubelet_sends_the_probe_action_of_the_pod_spec_with_its_timeout() {
    // Readiness: exec `cat /tmp/ready`, period 10 s, timeout 2 s. Ticks at 10, 20 (0 is before
    // the start at 0.8 s); healthy, so the container is ready at 10 s.
    let mut n = node_with(16 << 30, ProbeMode::Executed);
    let mut c = container("app");
    c.readiness_probe = Some(kubesim_api::Probe {
        timeout_seconds: 2,
        ..kubesim_api::Probe::with_defaults(ProbeAction::Exec {
            command: vec!["cat".into(), "/tmp/ready".into()],
        })
    });
    assign(&mut n, pod("p", vec![], vec![c]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(25));
    let cmds: Vec<(SimTime, RuntimeCommand)> =
        commands(&n).into_iter().filter(|(_, c)| matches!(c, RuntimeCommand::RunProbe { .. })).collect();
    let want = |t| {
        (
            secs(t),
            RuntimeCommand::RunProbe {
                container: ContainerId::new(0, 0, 0),
                kind: ProbeKind::Readiness,
                action: ProbeAction::Exec { command: vec!["cat".into(), "/tmp/ready".into()] },
                timeout: SimDuration::from_secs(2),
            },
        )
    };
    assert_eq!(cmds, vec![want(10), want(20)]);
    assert_eq!(
        condition_changes(&n, "p", PodConditionType::Ready),
        vec![(SimTime::ZERO, false), (secs(10), true)]
    );
}

#[test]
fn a_slow_probe_counts_when_it_completes_and_a_tick_while_it_runs_is_skipped() {
    // Readiness period 1 s; every probe answers 1.5 s after it was asked for. Container runs from
    // 0.8 s: tick 1 asks (answer at 2.5 s → ready then); tick 2 finds the worker busy and skips;
    // tick 3 asks again (answer at 4.5 s).
    let mut n = slow_node(SimDuration::from_millis(1500));
    let mut c = container("app");
    c.readiness_probe = Some(probe(1, 3));
    assign_slow(&mut n, pod("p", vec![], vec![c]), ContainerWorkload::idle());
    n.run_until(SimTime::from_millis(4900));
    let asked: Vec<SimTime> = run_probes(n.log()).iter().map(|r| r.0).collect();
    assert_eq!(asked, vec![secs(1), secs(3)]);
    assert_eq!(ready_changes(n.log()), vec![(SimTime::ZERO, false), (SimTime::from_millis(2500), true)]);
}

fn assign_slow(fleet: &mut NodeFleet<SlowProbes>, pod: kubesim_api::Pod, w: ContainerWorkload) {
    let workload = Arc::new(kubesim_workload::PodWorkload { containers: vec![Arc::new(w)] });
    fleet.input(0, KubeletInput::PodAssigned { pod: Arc::new(pod), workload: Some(workload) });
}

#[test]
fn answers_for_a_replaced_instance_or_that_nobody_awaits_change_nothing() {
    // Liveness period 5 s, threshold 1, unhealthy 19.2 s after each start: instance 0 (running
    // from 0.8 s) fails at the tick at 20 s and is killed (exits at 20 s, restarts at once as
    // instance 1, running from 20.3 s and healthy until 39.5 s).
    let mut n = node_with(16 << 30, ProbeMode::Executed);
    let mut c = container("app");
    c.liveness_probe = Some(probe(5, 1));
    let mut w = ContainerWorkload::idle();
    w.health = ContainerHealth::uniform(
        HealthTimeline::default().then_at(SimDuration::from_millis(19_200), ProbeResponse::UNHEALTHY),
    );
    let mut p = pod("p", vec![], vec![c]);
    p.spec.restart_policy = RestartPolicy::Always;
    assign(&mut n, p, vec![w]);
    n.run_until(secs(22));
    assert_eq!(starts(&n), vec![(SimTime::from_millis(500), 0, 0), (secs(20), 0, 1)]);
    let before = n.log().len();
    // A failure for dead instance 0, then one for instance 1 that no probe asked for.
    for instance in [0, 1] {
        n.input(
            0,
            KubeletInput::Runtime(RuntimeEvent::ProbeResult {
                container: ContainerId::new(0, 0, instance),
                kind: ProbeKind::Liveness,
                success: false,
                at: secs(22),
            }),
        );
    }
    assert_eq!(n.log().len(), before, "{:?}", &n.log()[before..]);
    // The next real tick (25 s) probes instance 1, which is healthy: no stop.
    n.run_until(secs(30));
    let stops =
        commands(&n).iter().filter(|(_, c)| matches!(c, RuntimeCommand::StopContainer { .. })).count();
    assert_eq!(stops, 1);
}

#[test]
fn a_probe_of_a_container_that_is_not_running_fails() {
    let mut n = node_with(16 << 30, ProbeMode::Executed);
    assign(&mut n, pod("p", vec![], vec![container("app")]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(1));
    let mut rt = n.nodes()[0].1.clone();
    let mut events = Vec::new();
    let probe = |container, at| {
        (
            at,
            RuntimeCommand::RunProbe {
                container,
                kind: ProbeKind::Liveness,
                action: ProbeAction::TcpSocket { port: 80 },
                timeout: SimDuration::from_secs(1),
            },
        )
    };
    for (at, cmd) in [probe(ContainerId::new(0, 0, 0), secs(1)), probe(ContainerId::new(0, 0, 7), secs(1))] {
        rt.execute(at, cmd, &mut events);
    }
    let outcomes: Vec<bool> = events
        .iter()
        .map(|e| match e {
            RuntimeEvent::ProbeResult { success, at, .. } => {
                assert_eq!(*at, secs(1));
                *success
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(outcomes, vec![true, false]);
}

#[test]
fn a_probe_in_flight_when_the_kubelet_restarts_is_forgotten() {
    // Readiness period 5 s, every answer 2 s late. Asked at 5 → ready at 7; asked at 10 (answer
    // due at 12). The kubelet restarts at 11: new workers ticking from 11 (readiness back to its
    // initial Failure), so the answer at 12 belongs to nobody; the tick at 11 asks again → ready
    // at 13.
    let mut n = slow_node(SimDuration::from_secs(2));
    let mut c = container("app");
    c.readiness_probe = Some(probe(5, 3));
    assign_slow(&mut n, pod("p", vec![], vec![c]), ContainerWorkload::idle());
    n.run_until(SimTime::from_millis(10_500));
    n.input(0, KubeletInput::NodeStop);
    n.run_until(secs(11));
    n.input(0, KubeletInput::NodeStart);
    n.run_until(secs(15));
    assert_eq!(
        ready_changes(n.log()),
        vec![(SimTime::ZERO, false), (secs(7), true), (secs(11), false), (secs(13), true)]
    );
    let asked: Vec<SimTime> = run_probes(n.log()).iter().map(|r| r.0).collect();
    assert_eq!(asked, vec![secs(5), secs(10), secs(11)]);
}
