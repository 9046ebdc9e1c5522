//! One test body per behaviour, run against both runtimes: the simulator (virtual time,
//! `SimNodeRuntime`) and the real Linux backend (the wall-clock shell, real processes in cgroups
//! and namespaces). Each body states what Kubernetes does — an OOM kill and its restart, CFS
//! throttling under a CPU limit, a liveness restart with HTTP and with exec probes, readiness, a
//! rolling update — with bands wide enough for a real machine and narrow enough to fail when a
//! runtime gets it wrong.
//!
//! The real runs need root and cgroup controllers; elsewhere they print `SKIP` with the reason. The
//! scenarios are the `scenarios/validation/` files, cut short with `until` to keep CI fast.
#![allow(clippy::disallowed_methods)] // the wall-clock shell's epoch is real time

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use kubesim_backend_linux::host::{preflight, Host};
use kubesim_backend_linux::runtime::WorkloadProgram;
use kubesim_backend_linux::shell::{LinuxRuntimeFactory, WallClock};
use kubesim_cluster::{Cluster, ClusterError, RuntimeFactory};
use kubesim_kubelet::ProbeMode;
use kubesim_reports::MetricsTable;
use kubesim_scenarios::{run_scenario_in, RunOptions, RunResult, Scenario, Shell, VirtualTime};
use sim_core::{SimDuration, SimTime};

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// What one run showed: the result and its event log, parsed.
struct Run {
    result: RunResult,
    events: Vec<serde_json::Value>,
}

impl Run {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.events.iter().filter(move |e| e["kind"] == kind)
    }
    fn secs(e: &serde_json::Value) -> f64 {
        e["t"].as_u64().unwrap_or(0) as f64 / 1e9
    }
    /// Mean of a per-container metric over samples after `from_s`.
    fn mean(&self, metric: &str, object_prefix: &str, from_s: f64) -> f64 {
        let xs: Vec<f64> = self
            .result
            .metrics
            .rows()
            .iter()
            .filter(|r| r.metric == metric && r.object.starts_with(object_prefix))
            .filter(|r| r.time.as_nanos() as f64 / 1e9 > from_s)
            .map(|r| r.value)
            .collect();
        xs.iter().sum::<f64>() / xs.len().max(1) as f64
    }
}

/// The two runtimes.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Simulated,
    Real,
}

struct RealShell {
    clock: WallClock,
    factory: Option<LinuxRuntimeFactory>,
}

impl Shell for RealShell {
    fn runtime_factory(&mut self) -> Box<dyn RuntimeFactory> {
        Box::new(self.factory.take().expect("one cluster per run"))
    }
    fn advance<W: std::io::Write>(
        &mut self,
        cluster: &mut Cluster<W>,
        until: SimTime,
    ) -> Result<(), ClusterError> {
        self.clock.advance(cluster, until)
    }
}

fn scenario(file: &str, edit: impl Fn(String) -> String) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/validation").join(file);
    let text = edit(std::fs::read_to_string(&path).unwrap());
    kubesim_scenarios::load_str(&text, &path).unwrap()
}

/// Runs `scenario` for `until` on `backend`; `None` when the real backend cannot run here.
fn run(backend: Backend, test: &str, scenario: &Scenario, until: SimDuration) -> Option<Run> {
    let options = RunOptions { seed: None, until: Some(until) };
    let mut metrics = MetricsTable::new();
    let (result, log) = match backend {
        Backend::Simulated => {
            run_scenario_in(&mut VirtualTime, scenario, &options, Vec::new(), &mut metrics, &mut |_, _| {})
                .unwrap()
        }
        Backend::Real => {
            if let Err(e) = preflight() {
                say!("SKIP {test} on the real backend: {e}");
                return None;
            }
            let host = Arc::new(Host::open().expect("preflight passed"));
            let root = host.run_root().to_string();
            say!("RUN {test} on the real backend: run root {root}, {until} of wall-clock time");
            let epoch = std::time::Instant::now();
            let program =
                WorkloadProgram::Path(env!("CARGO_BIN_EXE_kubesim").into(), vec!["workload-program".into()]);
            let factory = LinuxRuntimeFactory::new(host.clone(), epoch, program, scenario.duration);
            let errors = factory.errors();
            let mut shell = RealShell { clock: WallClock::new(epoch), factory: Some(factory) };
            let mut real = scenario.clone();
            real.config.probe_mode = ProbeMode::Executed;
            let out = run_scenario_in(&mut shell, &real, &options, Vec::new(), &mut metrics, &mut |_, _| {});
            drop(shell);
            host.close().expect("the run root is removed");
            drop(host);
            let errors = errors.lock().unwrap().clone();
            assert!(errors.is_empty(), "{test}: the real node met errors: {errors:?}");
            assert_run_root_gone(&root);
            out.unwrap()
        }
    };
    let events = String::from_utf8(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Some(Run { result, events })
}

/// The run's cgroup subtree is gone from every hierarchy it could live in.
fn assert_run_root_gone(root: &str) {
    let leaf = root.rsplit('/').next().unwrap_or(root);
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if p.file_name().is_some_and(|n| n == leaf) {
                    found.push(p.display().to_string());
                } else if p.components().count() < 9 {
                    stack.push(p);
                }
            }
        }
    }
    assert!(found.is_empty(), "run root left behind: {found:?}");
    say!("  leak check: run root {leaf} gone from every hierarchy");
}

// ---------------------------------------------------------------- the behaviours

/// A container leaking past its memory limit is OOM-killed (exit 137, reason OOMKilled) about a
/// second after it starts, and the kubelet restarts it.
fn oom_kill_then_restart(backend: Backend) {
    let s = scenario("oom-crashloop.yaml", |t| t);
    let Some(r) = run(backend, "oom_kill_then_restart", &s, SimDuration::from_secs(5)) else { return };
    let ooms: Vec<_> = r.of_kind("ContainerTerminated").filter(|e| e["reason"] == "OOMKilled").collect();
    assert!(!ooms.is_empty(), "{backend:?}: no OOM kill in {:?}", r.events);
    assert_eq!(ooms[0]["exit_code"], 137, "{backend:?}");
    let first = Run::secs(ooms[0]);
    // 16Mi + 48Mi/s crosses 64Mi 1 s after the start (0.02–0.8 s after scheduling).
    assert!((0.6..=2.8).contains(&first), "{backend:?}: first OOM kill at {first:.2}s");
    assert!(r.result.counters.oom_kills >= 1, "{backend:?}");
    assert!(
        r.of_kind("ContainerStarted").any(|e| e["restart_count"] == 1 && Run::secs(e) > first),
        "{backend:?}: no restart after the OOM kill"
    );
}

/// Under a 200m limit, a container wanting 400m is throttled in nearly every period and uses
/// about 200m; a 100m container under a 500m limit is not throttled.
fn cpu_throttling_under_a_limit(backend: Backend) {
    let s = scenario("cpu-throttle.yaml", |t| t.replace("interval: 5s", "interval: 2s"));
    let Some(r) = run(backend, "cpu_throttling_under_a_limit", &s, SimDuration::from_secs(6)) else { return };
    let capped = r.mean("container_cpu_throttled_ratio", "default/capped", 1.0);
    let roomy = r.mean("container_cpu_throttled_ratio", "default/roomy", 1.0);
    let used = r.mean("container_cpu_usage_millicores", "default/capped", 1.0);
    // 0.995 on a quiet machine (see docs/validation.md); on a loaded one some periods go by in which
    // the container could not even run its quota, and those are not throttled.
    assert!(capped > 0.6, "{backend:?}: capped throttled ratio {capped:.2}");
    assert!(roomy < 0.1, "{backend:?}: roomy throttled ratio {roomy:.2}");
    assert!((160.0..=230.0).contains(&used), "{backend:?}: capped usage {used:.0}m");
}

/// A hung app fails readiness (NotReady) and then liveness (three failures, 1 s apart): the kubelet
/// kills it with SIGTERM (exit 143) about 9 s in and starts it again; it becomes ready again.
fn liveness_restart(backend: Backend, probe: &str) {
    let edit = |t: String| match probe {
        "exec" => t.replace(
            "livenessProbe: {httpGet: {path: /healthz, port: 8080},",
            "livenessProbe: {exec: {command: [cat, /tmp/healthy]},",
        ),
        _ => t,
    };
    let s = scenario("liveness-restart.yaml", edit);
    let test = format!("liveness_restart_{probe}");
    let Some(r) = run(backend, &test, &s, SimDuration::from_secs(13)) else { return };
    let ready = r.of_kind("PodReady").map(Run::secs).next();
    assert!(
        ready.is_some_and(|t| (0.9..=3.0).contains(&t)),
        "{backend:?} {probe}: first PodReady at {ready:?}"
    );
    let not_ready = r.of_kind("PodNotReady").map(Run::secs).next();
    let killed: Vec<_> = r.of_kind("ContainerTerminated").collect();
    assert!(!killed.is_empty(), "{backend:?} {probe}: no liveness kill in {:?}", r.events);
    assert_eq!(killed[0]["exit_code"], 143, "{backend:?} {probe}: SIGTERM exit");
    let kill = Run::secs(killed[0]);
    // Hang at 6 s after the start; probes at whole seconds after it; the third failure kills.
    assert!((7.5..=10.5).contains(&kill), "{backend:?} {probe}: liveness kill at {kill:.2}s");
    assert!(
        not_ready.is_some_and(|t| t <= kill + 0.01),
        "{backend:?} {probe}: NotReady {not_ready:?} kill {kill}"
    );
    assert!(
        r.of_kind("ContainerStarted").any(|e| e["restart_count"] == 1 && Run::secs(e) >= kill),
        "{backend:?} {probe}: no restart after the kill"
    );
}

/// A 4-replica rolling update with maxSurge 1 / maxUnavailable 0 and a 2 s warm-up completes
/// revision 2 in about four warm-ups, never dropping below 4 available.
fn rolling_update_completes(backend: Backend) {
    let s = scenario("rolling-update.yaml", |t| t);
    let Some(r) = run(backend, "rolling_update_completes", &s, SimDuration::from_secs(20)) else { return };
    let done = r.of_kind("DeploymentRolloutComplete").find(|e| e["revision"] == 2).map(Run::secs);
    // Each new pod: scheduling, start, ready 2 s later (probe period 1 s): 4 × ≈2–3 s after 5 s.
    assert!(done.is_some_and(|t| (12.0..=19.0).contains(&t)), "{backend:?}: rollout complete at {done:?}");
    let min_available = r
        .result
        .metrics
        .rows()
        .iter()
        .filter(|row| {
            row.metric == "deployment_available_replicas"
                && row.time > SimTime::ZERO + SimDuration::from_secs(4)
        })
        .map(|row| row.value)
        .fold(f64::INFINITY, f64::min);
    assert!(min_available >= 4.0, "{backend:?}: available dropped to {min_available}");
}

// ---------------------------------------------------------------- both runtimes, each behaviour

#[test]
fn oom_kill_then_restart_simulated() {
    oom_kill_then_restart(Backend::Simulated);
}
#[test]
fn oom_kill_then_restart_real() {
    oom_kill_then_restart(Backend::Real);
}
#[test]
fn cpu_throttling_under_a_limit_simulated() {
    cpu_throttling_under_a_limit(Backend::Simulated);
}
#[test]
fn cpu_throttling_under_a_limit_real() {
    cpu_throttling_under_a_limit(Backend::Real);
}
#[test]
fn liveness_restart_http_simulated() {
    liveness_restart(Backend::Simulated, "http");
}
#[test]
fn liveness_restart_http_real() {
    liveness_restart(Backend::Real, "http");
}
#[test]
fn liveness_restart_exec_simulated() {
    liveness_restart(Backend::Simulated, "exec");
}
#[test]
fn liveness_restart_exec_real() {
    liveness_restart(Backend::Real, "exec");
}
#[test]
fn rolling_update_completes_simulated() {
    rolling_update_completes(Backend::Simulated);
}
#[test]
fn rolling_update_completes_real() {
    rolling_update_completes(Backend::Real);
}
