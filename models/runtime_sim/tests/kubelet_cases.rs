//! Kubelet state machine cases, driven through the simulated runtime on one node.
//!
//! Runtime timing (defaults): sandbox 500 ms, container start 300 ms, image "img" pulls instantly,
//! a missing image fails after 200 ms. Probe ticks count from the pod's admission at 0 s.

mod common;

use common::*;
use kubesim_api::{ConditionStatus, NodeConditionType, ObjectKey, PodConditionType, PodPhase, RestartPolicy};
use kubesim_kubelet::{KubeletEffect, KubeletInput, RuntimeCommand};
use kubesim_workload::{ContainerHealth, ContainerWorkload, HealthTimeline, ProbeResponse, ShutdownSpec};
use sim_core::{SimDuration, SimTime};

#[test]
fn init_containers_run_in_order_before_the_app() {
    // init-a runs 5 s, init-b 3 s. Sandbox ready 0.5 → init-a started (cmd 0.5, running 0.8, exits
    // 5.8) → init-b (cmd 5.8, running 6.1, exits 9.1) → app (cmd 9.1, running 9.4).
    let mut n = node();
    let p = pod("p", vec![container("init-a"), container("init-b")], vec![container("app")]);
    assign(&mut n, p, vec![completing(5), completing(3), ContainerWorkload::idle()]);
    n.run_until(secs(60));
    assert_eq!(starts(&n), vec![(ms(500), 0, 0), (ms(5800), 1, 0), (ms(9100), 2, 0)]);
    assert_eq!(
        condition_changes(&n, "p", PodConditionType::Initialized),
        vec![(SimTime::ZERO, false), (ms(9100), true)]
    );
    let last = statuses(&n, "p").last().cloned().unwrap().1;
    assert_eq!(last.phase, PodPhase::Running);
    assert_eq!(last.init_container_statuses.len(), 2);
    // Phase stayed Pending during init.
    assert!(statuses(&n, "p")
        .iter()
        .filter(|(t, _)| *t < ms(9100))
        .all(|(_, s)| s.phase == PodPhase::Pending));
}

#[test]
fn a_sidecar_counts_as_done_once_started_and_keeps_running() {
    let mut n = node();
    let mut sidecar = container("proxy");
    sidecar.restart_policy = Some(RestartPolicy::Always);
    let p = pod("p", vec![sidecar, container("migrate")], vec![container("app")]);
    assign(&mut n, p, vec![ContainerWorkload::idle(), completing(2), ContainerWorkload::idle()]);
    n.run_until(secs(30));
    // Sidecar cmd 0.5, running 0.8 → migrate cmd 0.8, running 1.1, exits 3.1 → app cmd 3.1.
    assert_eq!(starts(&n), vec![(ms(500), 0, 0), (ms(800), 1, 0), (ms(3100), 2, 0)]);
    let last = statuses(&n, "p").last().cloned().unwrap().1;
    assert!(matches!(last.init_container_statuses[0].state, kubesim_api::ContainerState::Running { .. }));
}

#[test]
fn crash_loop_backoff_waits_10_20_40_80_seconds_after_each_exit() {
    // Crashes 1 s after each start. Exit 1.8 → immediate restart (cmd 1.8, running 2.1) → exit 3.1
    // → back-off 10 s → cmd 13.1 → exit 14.4 → 20 s → cmd 34.4 → exit 35.7 → 40 s → cmd 75.7 →
    // exit 77.0 → 80 s → cmd 157.0.
    let mut n = node();
    let mut w = ContainerWorkload::idle();
    w.failures.crash_at = Some(SimDuration::from_secs(1));
    assign(&mut n, pod("p", vec![], vec![container("app")]), vec![w]);
    n.run_until(secs(160));
    let times: Vec<SimTime> = starts(&n).iter().map(|s| s.0).collect();
    assert_eq!(times, vec![ms(500), ms(1800), ms(13_100), ms(34_400), ms(75_700), ms(157_000)]);
    let instances: Vec<u32> = starts(&n).iter().map(|s| s.2).collect();
    assert_eq!(instances, vec![0, 1, 2, 3, 4, 5]);
    let states = container_states(&n, "p", 0);
    assert!(states.contains(&(ms(3100), "waiting:CrashLoopBackOff".into())), "{states:?}");
    assert!(states.contains(&(ms(1800), "terminated:1:Error".into())), "{states:?}");
    assert!(states.contains(&(ms(13_400), "running#2".into())), "{states:?}");
    // The pod stays Running through the crash loop (restartPolicy Always).
    assert!(statuses(&n, "p")
        .iter()
        .filter(|(t, _)| *t > secs(1))
        .all(|(_, s)| s.phase == PodPhase::Running));
}

fn leaking(base: i64, per_sec: i64) -> ContainerWorkload {
    ContainerWorkload {
        memory_bytes: kubesim_workload::Curve::constant(base).with_leak_per_sec(per_sec),
        ..ContainerWorkload::idle()
    }
}

#[test]
fn an_oom_kill_reports_137_oomkilled_and_restarts_per_policy() {
    // 100Mi + 10Mi/s, limit 256Mi: over the limit once floor(10485760·u/1e9) ≥ 156Mi + 1, i.e.
    // u ≥ 15.600000095.4 s → 15_600_000_096 ns after the start at 0.8 s.
    let oom_at = ms(800) + SimDuration::from_nanos(15_600_000_096);
    for (policy, restarts) in [(RestartPolicy::OnFailure, true), (RestartPolicy::Never, false)] {
        let mut n = node();
        let mut p = pod("p", vec![], vec![with_memory(container("app"), 128 * MI, Some(256 * MI))]);
        p.spec.restart_policy = policy;
        assign(&mut n, p, vec![leaking(100 * MI, 10 * MI)]);
        n.run_until(secs(20));
        let states = container_states(&n, "p", 0);
        assert!(states.contains(&(oom_at, "terminated:137:OOMKilled".into())), "{states:?}");
        let last = statuses(&n, "p").last().cloned().unwrap().1;
        if restarts {
            assert_eq!(starts(&n).last().map(|s| s.0), Some(oom_at));
            assert_eq!(last.phase, PodPhase::Running);
        } else {
            assert_eq!(starts(&n).len(), 1);
            assert_eq!(last.phase, PodPhase::Failed);
        }
    }
}

#[test]
fn a_liveness_failure_kills_the_container_with_the_grace_period_and_restarts_it() {
    // Hangs 40 s after start (start 0.8 → hang at 40.8). Liveness period 10, threshold 3: ticks
    // 50, 60, 70 fail → Failure at 70 → StopContainer(timeout 30 s) → SIGTERM kills at once (143)
    // → first restart immediately: cmd at 70.
    let mut n = node();
    let mut c = container("app");
    c.liveness_probe = Some(probe(10, 3));
    let mut w = ContainerWorkload::idle();
    w.health = ContainerHealth::uniform(
        HealthTimeline::default().then_at(SimDuration::from_secs(40), ProbeResponse::UNHEALTHY),
    );
    assign(&mut n, pod("p", vec![], vec![c]), vec![w]);
    n.run_until(secs(75));
    let stops: Vec<(SimTime, SimDuration)> = commands(&n)
        .into_iter()
        .filter_map(|(t, c)| match c {
            RuntimeCommand::StopContainer { timeout, .. } => Some((t, timeout)),
            _ => None,
        })
        .collect();
    assert_eq!(stops, vec![(secs(70), SimDuration::from_secs(30))]);
    let states = container_states(&n, "p", 0);
    assert!(states.contains(&(secs(70), "terminated:143:Error".into())), "{states:?}");
    assert!(states.contains(&(ms(70_300), "running#1".into())), "{states:?}");
    assert_eq!(starts(&n).last().copied(), Some((secs(70), 0, 1)));
}

#[test]
fn readiness_flips_the_ready_condition_with_transition_times() {
    // Readiness period 10, failure threshold 3. Start 0.8 → tick 10 Success (Ready at 10).
    // Unhealthy over offsets [100, 150) = [100.8, 150.8): ticks 110, 120, 130 fail → not ready at
    // 130; tick 160 passes → ready at 160.
    let mut n = node();
    let mut c = container("web");
    c.readiness_probe = Some(probe(10, 3));
    let mut w = ContainerWorkload::idle();
    let readiness = HealthTimeline::default()
        .then_at(SimDuration::from_secs(100), ProbeResponse::UNHEALTHY)
        .then_at(SimDuration::from_secs(150), ProbeResponse::HEALTHY);
    w.health = ContainerHealth { readiness, ..ContainerHealth::default() };
    assign(&mut n, pod("p", vec![], vec![c]), vec![w]);
    n.run_until(secs(300));
    let ready = condition_changes(&n, "p", PodConditionType::Ready);
    assert_eq!(ready, vec![(SimTime::ZERO, false), (secs(10), true), (secs(130), false), (secs(160), true)]);
    let cr = condition_changes(&n, "p", PodConditionType::ContainersReady);
    assert_eq!(cr, ready);
    // Three probe-driven changes, no per-period wake-ups: 3 runtime events + 3 probe timers.
    assert_eq!(n.counters().events_processed, 6);
}

#[test]
fn a_missing_image_shows_err_image_pull_then_image_pull_backoff_with_doubling_retries() {
    // Pull at 0.5 fails at 0.7 (ErrImagePull); next sync 1 s later shows ImagePullBackOff; retry
    // after 10 s (10.7) fails at 10.9; back-off 20 s → retry 30.9 fails at 31.1; then 40 s.
    let mut n = node();
    let mut c = container("app");
    c.image = "nope:latest".into();
    assign(&mut n, pod("p", vec![], vec![c]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(75));
    let states = container_states(&n, "p", 0);
    assert_eq!(
        states,
        vec![
            (SimTime::ZERO, "waiting:ContainerCreating".into()),
            (ms(700), "waiting:ErrImagePull".into()),
            (ms(1700), "waiting:ImagePullBackOff".into()),
            (ms(10_900), "waiting:ErrImagePull".into()),
            (ms(11_900), "waiting:ImagePullBackOff".into()),
            (ms(31_100), "waiting:ErrImagePull".into()),
            (ms(32_100), "waiting:ImagePullBackOff".into()),
            (ms(71_300), "waiting:ErrImagePull".into()),
            (ms(72_300), "waiting:ImagePullBackOff".into()),
        ]
    );
    assert_eq!(statuses(&n, "p").last().unwrap().1.phase, PodPhase::Pending);
}

#[test]
fn image_pulls_are_serialized_and_cached_per_node() {
    // "big" is 100 MB at 100 MB/s. Two pods ask at 0.5: the first pull ends at 1.5, the second
    // finds the layers already fetched (IfNotPresent → present at 1.5): both start at 1.5.
    let mut n = node();
    let mut c = container("app");
    c.image = "big".into();
    assign(&mut n, pod("a", vec![], vec![c.clone()]), vec![ContainerWorkload::idle()]);
    assign(&mut n, pod("b", vec![], vec![c.clone()]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(5));
    let times: Vec<SimTime> = starts(&n).iter().map(|s| s.0).collect();
    assert_eq!(times, vec![ms(1500), ms(1500)]);
    // imagePullPolicy Always re-checks but fetches no bytes: starts at once.
    c.image_pull_policy = kubesim_api::PullPolicy::Always;
    assign(&mut n, pod("c", vec![], vec![c]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(10));
    assert_eq!(starts(&n).last().map(|s| s.0), Some(ms(5500)));
}

#[test]
fn deletion_sends_sigterm_then_sigkill_after_the_grace_period() {
    // Grace 10 s, delete at 100 s: "graceful" exits 0 at 105, "stubborn" is SIGKILLed at 110
    // (137), "plain" dies on SIGTERM at 100 (143). Terminal phase Failed (not all exited 0), then
    // the removal is confirmed at 110.
    let mut n = node();
    let mut p = pod("p", vec![], vec![container("graceful"), container("stubborn"), container("plain")]);
    p.spec.termination_grace_period = SimDuration::from_secs(10);
    let graceful = ContainerWorkload {
        shutdown: ShutdownSpec::Graceful { after: SimDuration::from_secs(5), exit_code: 0 },
        ..ContainerWorkload::idle()
    };
    let stubborn = ContainerWorkload { shutdown: ShutdownSpec::Ignore, ..ContainerWorkload::idle() };
    assign(&mut n, p, vec![graceful, stubborn, ContainerWorkload::idle()]);
    n.run_until(secs(100));
    n.input(0, KubeletInput::PodDeletionRequested { key: ObjectKey::new("default", "p"), grace: None });
    n.run_until(secs(200));
    assert_eq!(
        container_states(&n, "p", 0).last().cloned(),
        Some((ms(105_000), "terminated:0:Completed".into()))
    );
    assert_eq!(
        container_states(&n, "p", 1).last().cloned(),
        Some((secs(110), "terminated:137:Error".into()))
    );
    assert_eq!(
        container_states(&n, "p", 2).last().cloned(),
        Some((secs(100), "terminated:143:Error".into()))
    );
    assert_eq!(statuses(&n, "p").last().unwrap().1.phase, PodPhase::Failed);
    let removed: Vec<SimTime> = n
        .log()
        .iter()
        .filter_map(|(t, _, e)| matches!(e, KubeletEffect::PodRemoved { .. }).then_some(*t))
        .collect();
    assert_eq!(removed, vec![secs(110)]);
    assert!(commands(&n)
        .iter()
        .any(|(t, c)| *t == secs(110) && matches!(c, RuntimeCommand::RemoveSandbox { .. })));
    assert_eq!(n.nodes()[0].0.pod_count(), 0);
}

#[test]
fn admission_rejects_a_pod_that_does_not_fit_with_out_of_resource() {
    let mut n = node_with(1024 * MI, kubesim_kubelet::ProbeMode::Analytic);
    assign(&mut n, pod("fits", vec![], vec![with_memory(container("a"), 800 * MI, None)]), vec![]);
    assign(&mut n, pod("too-big", vec![], vec![with_memory(container("a"), 300 * MI, None)]), vec![]);
    let s = statuses(&n, "too-big");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1.phase, PodPhase::Failed);
    assert_eq!(s[0].1.reason.as_deref(), Some("OutOfmemory"));
    assert_eq!(n.nodes()[0].0.pod_count(), 1);
}

#[test]
fn memory_pressure_evicts_over_request_low_priority_pods_first_one_per_check() {
    // Node 1024Mi, threshold 100Mi → pressure when the working set exceeds 924Mi.
    // A: request 100Mi, uses 300Mi, priority 0. B: request 400Mi, uses 200Mi (under request).
    // C: request 100Mi, uses 200Mi + 1Mi/s from 0.8 s, priority 10.
    // Sum 700Mi + leak: pressure after 224.8 s → check at 230: A and C exceed their requests,
    // A has the lower priority → A evicted (grace 1 s; dies on SIGTERM at 230). Then pressure
    // again when 400Mi + C > 924Mi, after 524.8 s → check at 530: C (over request) before B.
    // The condition clears 5 min after the last observation: 830.
    let mut n = node_with(1024 * MI, kubesim_kubelet::ProbeMode::Analytic);
    let a = pod("a", vec![], vec![with_memory(container("c"), 100 * MI, None)]);
    let b = pod("b", vec![], vec![with_memory(container("c"), 400 * MI, None)]);
    let mut c = pod("c", vec![], vec![with_memory(container("c"), 100 * MI, None)]);
    c.spec.priority = Some(10);
    assign(&mut n, a, vec![ContainerWorkload::steady(0, 300 * MI)]);
    assign(&mut n, b, vec![ContainerWorkload::steady(0, 200 * MI)]);
    assign(&mut n, c, vec![leaking(200 * MI, MI)]);
    n.run_until(secs(1000));
    let evicted: Vec<(SimTime, String)> = n
        .log()
        .iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::PodEvicted { key } => Some((*t, key.name.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(evicted, vec![(secs(230), "a".to_string()), (secs(530), "c".to_string())]);
    let pressure: Vec<(SimTime, ConditionStatus)> = n
        .log()
        .iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::NodeCondition { kind: NodeConditionType::MemoryPressure, status } => {
                Some((*t, *status))
            }
            _ => None,
        })
        .collect();
    assert_eq!(pressure, vec![(secs(230), ConditionStatus::True), (secs(830), ConditionStatus::False)]);
    let a_last = statuses(&n, "a").last().unwrap().1.clone();
    assert_eq!((a_last.phase, a_last.reason.as_deref()), (PodPhase::Failed, Some("Evicted")));
    assert_eq!(statuses(&n, "b").last().unwrap().1.phase, PodPhase::Running);
    // One eviction per check, and no checks at all once nothing can grow.
    let stops_a = commands(&n).iter().filter(|(t, c)| *t == secs(230) && matches!(c, RuntimeCommand::StopContainer { timeout, .. } if *timeout == SimDuration::from_secs(1))).count();
    assert_eq!(stops_a, 1);
    assert_eq!(n.pending(), 0);
}

#[test]
fn a_stopped_kubelet_stops_renewing_its_lease_and_catches_up_on_restart() {
    // The container crashes at 20.8 while the kubelet is down (10 s – 30 s): nothing happens until
    // the kubelet restarts at 30, which sees the exit and restarts the container then.
    let mut n = node();
    let mut w = ContainerWorkload::idle();
    w.failures.crash_at = Some(SimDuration::from_secs(20));
    assign(&mut n, pod("p", vec![], vec![container("app")]), vec![w]);
    n.run_until(secs(10));
    n.input(0, KubeletInput::NodeStop);
    n.run_until(secs(30));
    assert_eq!(starts(&n).len(), 1);
    n.input(0, KubeletInput::NodeStart);
    n.run_until(secs(31));
    assert_eq!(starts(&n).last().map(|s| s.0), Some(secs(30)));
    let leases: Vec<(SimTime, bool)> = n
        .log()
        .iter()
        .filter_map(|(t, _, e)| match e {
            KubeletEffect::NodeLease { renewing } => Some((*t, *renewing)),
            _ => None,
        })
        .collect();
    assert_eq!(leases, vec![(SimTime::ZERO, true), (secs(10), false), (secs(30), true)]);
    let states = container_states(&n, "p", 0);
    assert!(states.contains(&(secs(30), "terminated:1:Error".into())), "{states:?}");
}

#[test]
fn last_state_keeps_the_previous_termination_while_the_next_instance_runs() {
    // OOM at 0.8 s + 15.6 s (see above), restart at once: the running instance #1 shows the
    // OOM kill as lastState; the first instance showed none.
    let mut n = node();
    let p = pod("p", vec![], vec![with_memory(container("app"), 128 * MI, Some(256 * MI))]);
    assign(&mut n, p, vec![leaking(100 * MI, 10 * MI)]);
    n.run_until(secs(20));
    let all = statuses(&n, "p");
    let first_running = all
        .iter()
        .find(|(_, s)| matches!(s.container_statuses[0].state, kubesim_api::ContainerState::Running { .. }))
        .unwrap();
    assert_eq!(first_running.1.container_statuses[0].last_state, kubesim_api::ContainerState::Unknown);
    let cs = &all.last().unwrap().1.container_statuses[0];
    assert_eq!(cs.restart_count, 1);
    assert!(matches!(cs.state, kubesim_api::ContainerState::Running { .. }));
    assert!(
        matches!(&cs.last_state, kubesim_api::ContainerState::Terminated { exit_code: 137, reason, .. } if reason == "OOMKilled")
    );
}

#[test]
fn a_rebooted_kubelet_restarts_running_pods_with_last_state_unknown_255() {
    // The node crashes at 10 s; a fresh kubelet boots at 20 s and is handed the pod as the API
    // server still shows it (running, 0 restarts).
    let mut n = node();
    assign(&mut n, pod("p", vec![], vec![container("app")]), vec![ContainerWorkload::idle()]);
    n.run_until(secs(10));
    let shown = statuses(&n, "p").last().cloned().unwrap().1;
    let mut effects = Vec::new();
    let mut fresh = kubesim_kubelet::Kubelet::new(kubesim_kubelet::KubeletConfig::new(
        "node-0",
        kubesim_api::ResourceList::new().with_cpu_millis(8000).with_memory_bytes(16 << 30),
    ));
    fresh.handle(secs(20), KubeletInput::NodeStart, &mut effects);
    let mut p = pod("p", vec![], vec![container("app")]);
    p.status = shown;
    fresh.handle(
        secs(20),
        KubeletInput::PodAssigned { pod: std::sync::Arc::new(p), workload: None },
        &mut effects,
    );
    let status = effects
        .iter()
        .rev()
        .find_map(|e| match e {
            KubeletEffect::PodStatusUpdate { status, .. } => Some(status.clone()),
            _ => None,
        })
        .unwrap();
    let cs = &status.container_statuses[0];
    // Waiting for the new sandbox; the lost instance is the last state.
    assert!(
        matches!(&cs.state, kubesim_api::ContainerState::Waiting { reason } if reason == "ContainerCreating")
    );
    assert!(
        matches!(&cs.last_state, kubesim_api::ContainerState::Terminated { exit_code: 255, reason, .. } if reason == "Unknown")
    );
    assert_eq!(cs.restart_count, 0, "counts the restart when the new instance starts");
    assert!(effects
        .iter()
        .any(|e| matches!(e, KubeletEffect::Runtime(RuntimeCommand::CreateSandbox { .. }))));
}
