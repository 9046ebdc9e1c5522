//! The oracle for the kubelet's analytic probes: random pods with random health timelines, crashes
//! and restart policies run through kubelet + simulated runtime twice — once with analytic probes
//! (one wake-up per result change), once probing every period as upstream does — and the logs of
//! everything observable (status writes, runtime commands, evictions, with their times) must be
//! identical. Only the timer traffic differs.

mod common;

use common::*;
use kubesim_api::{Probe, RestartPolicy};
use kubesim_kubelet::{KubeletEffect, ProbeMode};
use kubesim_runtime_sim::NodeFleet;
use kubesim_runtime_sim::SimNodeRuntime;
use kubesim_workload::{ContainerHealth, ContainerWorkload, HealthTimeline, ProbeResponse};
use proptest::prelude::*;
use sim_core::{SimDuration, SimTime};

#[derive(Clone, Debug)]
struct PodCase {
    policy: RestartPolicy,
    startup: Option<(i32, i32)>,
    liveness: Option<(i32, i32)>,
    readiness: Option<(i32, i32, i32)>,
    health: ContainerHealth,
    /// Crash offset (ms, plus 1 ns so it never coincides with a probe tick).
    crash_ms: Option<u64>,
}

fn arb_timeline() -> impl Strategy<Value = HealthTimeline> {
    prop::collection::vec((1u64..60_000, any::<bool>(), 0u64..3), 0..5).prop_map(|steps| {
        let mut t = 0;
        let pts = steps
            .into_iter()
            .map(|(dt, healthy, lat)| {
                t += dt;
                (
                    SimDuration::from_millis(t),
                    ProbeResponse { healthy, latency: SimDuration::from_millis(lat * 700) },
                )
            })
            .collect();
        HealthTimeline::new(pts).expect("increasing")
    })
}

fn arb_pod() -> impl Strategy<Value = PodCase> {
    (
        prop_oneof![Just(RestartPolicy::Always), Just(RestartPolicy::OnFailure), Just(RestartPolicy::Never)],
        prop::option::of((1i32..6, 1i32..8)),
        prop::option::of((1i32..10, 1i32..4)),
        prop::option::of((1i32..10, 1i32..3, 1i32..4)),
        (arb_timeline(), arb_timeline(), arb_timeline()),
        prop::option::of(5_000u64..200_000),
    )
        .prop_map(|(policy, startup, liveness, readiness, (s, l, r), crash_ms)| PodCase {
            policy,
            startup,
            liveness,
            readiness,
            health: ContainerHealth { startup: s, liveness: l, readiness: r },
            crash_ms,
        })
}

fn probe_spec(period: i32, success: i32, failure: i32) -> Probe {
    Probe { success_threshold: success, ..probe(period, failure) }
}

fn run(cases: &[PodCase], mode: ProbeMode) -> (Vec<(SimTime, String, KubeletEffect)>, u64) {
    let mut n: NodeFleet<SimNodeRuntime> = node_with(16 << 30, mode);
    for (i, case) in cases.iter().enumerate() {
        let mut c = container("app");
        c.startup_probe = case.startup.map(|(p, f)| probe_spec(p, 1, f));
        c.liveness_probe = case.liveness.map(|(p, f)| probe_spec(p, 1, f));
        c.readiness_probe = case.readiness.map(|(p, s, f)| probe_spec(p, s, f));
        let mut p = pod(&format!("p{i}"), vec![], vec![c]);
        p.spec.restart_policy = case.policy;
        p.spec.termination_grace_period = SimDuration::from_secs(3);
        let mut w = ContainerWorkload::idle();
        w.health = case.health.clone();
        w.failures.crash_at = case.crash_ms.map(|m| SimDuration::from_millis(m) + SimDuration::from_nanos(1));
        assign(&mut n, p, vec![w]);
    }
    n.run_until(SimTime::from_secs(1200));
    let events = n.counters().events_processed;
    (canonical(n.log()), events)
}

/// Which pod an effect belongs to (pods are admitted in order, so sandbox `i` is `p{i}`).
fn pod_of(effect: &KubeletEffect) -> String {
    use kubesim_kubelet::RuntimeCommand as C;
    match effect {
        KubeletEffect::PodStatusUpdate { key, .. }
        | KubeletEffect::PodEvicted { key }
        | KubeletEffect::PodRemoved { key } => key.name.to_string(),
        KubeletEffect::Runtime(C::CreateSandbox { sandbox, .. } | C::RemoveSandbox { sandbox }) => {
            format!("p{}", sandbox.0)
        }
        KubeletEffect::Runtime(
            C::PullImage { container, .. }
            | C::StartContainer { container, .. }
            | C::StopContainer { container, .. },
        ) => format!("p{}", container.pod()),
        _ => String::new(),
    }
}

/// The log ordered by (time, pod), keeping each pod's own order. Effects of different pods at the
/// same instant are independent, and their relative order depends only on when each pod's timer
/// was scheduled (long ago for an analytic timer, one period ago for a per-period tick).
fn canonical(log: &[(SimTime, u32, KubeletEffect)]) -> Vec<(SimTime, String, KubeletEffect)> {
    let mut out: Vec<(SimTime, String, KubeletEffect)> =
        log.iter().map(|(t, _, e)| (*t, pod_of(e), e.clone())).collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn analytic_and_per_period_probing_give_identical_kubelet_logs(cases in prop::collection::vec(arb_pod(), 1..4)) {
        let (fast, fast_events) = run(&cases, ProbeMode::Analytic);
        let (slow, slow_events) = run(&cases, ProbeMode::PerPeriod);
        prop_assert_eq!(&fast, &slow);
        prop_assert!(fast_events <= slow_events);
    }
}

/// Healthy after 7 s, hangs 300 s after each start; startup (2 s, threshold 10), liveness (5 s,
/// threshold 3) and readiness (5 s) probes.
fn hanging_container() -> PodCase {
    PodCase {
        policy: RestartPolicy::Always,
        startup: Some((2, 10)),
        liveness: Some((5, 3)),
        readiness: Some((5, 1, 2)),
        health: ContainerHealth::uniform(
            HealthTimeline::healthy_after(SimDuration::from_secs(7))
                .then_at(SimDuration::from_secs(300), ProbeResponse::UNHEALTHY),
        ),
        crash_ms: None,
    }
}

#[test]
fn a_hanging_container_gives_the_same_log_in_both_modes_at_a_fraction_of_the_events() {
    let case = hanging_container();
    let (fast, fast_events) = run(std::slice::from_ref(&case), ProbeMode::Analytic);
    let (slow, slow_events) = run(std::slice::from_ref(&case), ProbeMode::PerPeriod);
    assert_eq!(fast, slow);
    // It restarts every ~5 min (hang at 300 s after start, then liveness kills it).
    let restarts = fast
        .iter()
        .filter(|(_, _, e)| {
            matches!(e, KubeletEffect::Runtime(kubesim_kubelet::RuntimeCommand::StopContainer { .. }))
        })
        .count();
    assert_eq!(restarts, 3, "{fast:#?}");
    assert!(fast_events * 5 < slow_events, "{fast_events} vs {slow_events}");
}

// ---------------------------------------------------------------- executed probes
//
// The kubelet in `ProbeMode::Executed` asks the runtime to run every due probe
// (`RuntimeCommand::RunProbe`) and applies the `RuntimeEvent::ProbeResult` that comes back; the
// simulated runtime answers from the same health timeline at the same instant. Apart from that
// probe traffic, everything observable must be what the other two modes produce.

/// The log without the executed-probe commands (the only effects the modes may differ in).
fn without_probe_traffic(
    log: Vec<(SimTime, String, KubeletEffect)>,
) -> Vec<(SimTime, String, KubeletEffect)> {
    log.into_iter()
        .filter(|(_, _, e)| {
            !matches!(e, KubeletEffect::Runtime(kubesim_kubelet::RuntimeCommand::RunProbe { .. }))
        })
        .collect()
}

/// `RunProbe` commands in a log: (time, container instance, kind).
fn probe_runs(log: &[(SimTime, String, KubeletEffect)]) -> Vec<(SimTime, u64, kubesim_kubelet::ProbeKind)> {
    log.iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::Runtime(kubesim_kubelet::RuntimeCommand::RunProbe { container, kind, .. }) => {
                Some((*t, container.0, *kind))
            }
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn executed_probes_give_the_same_kubelet_log_as_per_period_and_analytic_probes(
        cases in prop::collection::vec(arb_pod(), 1..4),
    ) {
        let (executed, executed_events) = run(&cases, ProbeMode::Executed);
        let (per_period, per_period_events) = run(&cases, ProbeMode::PerPeriod);
        let (analytic, _) = run(&cases, ProbeMode::Analytic);
        let runs = probe_runs(&executed).len() as u64;
        let executed = without_probe_traffic(executed);
        prop_assert_eq!(&executed, &per_period);
        prop_assert_eq!(&executed, &analytic);
        // Same ticks; one extra event per probe run (its result).
        prop_assert_eq!(executed_events, per_period_events + runs);
    }
}

#[test]
fn a_hanging_container_is_restarted_at_the_same_instants_when_the_runtime_runs_the_probes() {
    // Healthy after 7 s, hangs at 300 s: startup (period 2 s) succeeds at the first tick ≥ 7 s,
    // readiness follows, liveness (period 5 s, threshold 3) kills ~10 s after each hang.
    let case = hanging_container();
    let (executed, _) = run(std::slice::from_ref(&case), ProbeMode::Executed);
    let (per_period, _) = run(std::slice::from_ref(&case), ProbeMode::PerPeriod);
    let runs = probe_runs(&executed);
    assert!(!runs.is_empty());
    // Every probe is asked for at a whole second (the ticks: admission at 0, periods 2 s and 5 s).
    assert!(runs.iter().all(|(t, _, _)| t.as_nanos() % 1_000_000_000 == 0), "{runs:?}");
    // Startup probes stop once the startup probe has succeeded: none within an instance after
    // its first readiness probe.
    for w in runs.windows(2) {
        if w[0].1 == w[1].1 && w[0].2 == kubesim_kubelet::ProbeKind::Readiness {
            assert_ne!(w[1].2, kubesim_kubelet::ProbeKind::Startup, "{w:?}");
        }
    }
    let executed = without_probe_traffic(executed);
    assert_eq!(executed, per_period);
    let stops = executed
        .iter()
        .filter(|(_, _, e)| {
            matches!(e, KubeletEffect::Runtime(kubesim_kubelet::RuntimeCommand::StopContainer { .. }))
        })
        .count();
    assert_eq!(stops, 3);
}
