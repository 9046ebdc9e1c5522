//! Real-backend tests: real cgroups, namespaces and processes.
//!
//! They run when this process is root with the needed cgroup controllers (as on the project's CI
//! machine) and print what they ran; elsewhere each prints why it skipped. They are serialised
//! (one lock) so each can check afterwards that nothing of ours is left: no run root, no child
//! process, no namespace.
#![cfg(target_os = "linux")]
#![allow(clippy::disallowed_methods)] // wall-clock tests of a wall-clock backend

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kubesim_backend_linux::driver::CgPath;
use kubesim_backend_linux::host::{preflight, workload_exec, Host};
use kubesim_backend_linux::layout;
use kubesim_backend_linux::prober::ProbeTarget;
use kubesim_backend_linux::program::{HealthPoint, ProgramSpec, Series, Shutdown};
use kubesim_backend_linux::run_root::{self, RunRootName};
use kubesim_backend_linux::values::CgroupValues;
use kubesim_kubelet::cgroups::{ContainerCgroup, WeightFormula, CFS_PERIOD_US};

static SERIAL: Mutex<()> = Mutex::new(());

/// Prints straight to the stderr stream, past libtest's output capture, so a plain `cargo test`
/// shows which real-backend tests ran (or why they skipped).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// A host, or `None` after printing why the real tests cannot run here.
fn real_host(test: &str) -> Option<Host> {
    if let Err(e) = preflight() {
        say!("SKIP {test}: {e}");
        return None;
    }
    match Host::open() {
        Ok(h) => {
            say!("RUN {test}: run root {} ({:?})", h.run_root(), h.driver().version());
            Some(h)
        }
        Err(e) => panic!("preflight passed but the host cannot be opened: {e}"),
    }
}

fn workload(spec: &ProgramSpec) -> kubesim_backend_linux::sys::Exec {
    workload_exec(env!("CARGO_BIN_EXE_ksim-workload").into(), &[], spec.to_json())
}

fn container_values(cpu_limit_millis: Option<u64>, memory_limit_bytes: Option<i64>) -> CgroupValues {
    CgroupValues::container(
        &ContainerCgroup {
            cpu_shares: 1024,
            cpu_quota_us: cpu_limit_millis.map(|m| m * CFS_PERIOD_US / 1000),
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes,
        },
        WeightFormula::QuadraticLog,
    )
}

fn our_children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        let ppid: u32 = after.split_whitespace().nth(1).unwrap().parse().unwrap();
        if ppid == me {
            out.push(pid);
        }
    }
    out
}

fn netns_holders(inode_link: &str) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        if std::fs::read_link(format!("/proc/{name}/ns/net")).is_ok_and(|l| l.to_string_lossy() == inode_link)
        {
            n += 1;
        }
        // Open namespace fds count too.
        if let Ok(fds) = std::fs::read_dir(format!("/proc/{name}/fd")) {
            n += fds
                .flatten()
                .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == inode_link))
                .count();
        }
    }
    n
}

/// Nothing of this process is left: no run root in any hierarchy, no child process.
fn assert_no_leftovers(netns: &[String]) {
    let me = run_root::own_record().unwrap();
    let layout = layout::detect().unwrap();
    let driver = kubesim_backend_linux::driver::driver_for(&layout);
    let ours: Vec<String> = driver
        .children(&CgPath::root())
        .into_iter()
        .filter(|n| RunRootName::parse(n).is_some_and(|r| r.owner == me))
        .collect();
    assert!(ours.is_empty(), "run roots left behind: {ours:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let children = our_children();
        let held: usize = netns.iter().map(|l| netns_holders(l)).sum();
        if children.is_empty() && held == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: children {children:?}, netns holders {held}");
        std::thread::sleep(Duration::from_millis(20));
    }
    say!("  leak check: no run root, no child process, no namespace left ({} netns checked)", netns.len());
}

fn netns_link(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap().to_string_lossy().into_owned()
}

fn spec() -> ProgramSpec {
    ProgramSpec::idle()
}

#[test]
fn a_64mi_container_allocating_200mi_is_oom_killed() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = real_host("oom kill") else { return };
    let node = host.create_node("node-a", 2000, 1 << 30).unwrap();
    let sb = host.create_sandbox(&node, "pod-1", &CgroupValues::unlimited(), "oom").unwrap();
    let ns = netns_link(sb.process.pid);
    let mut s = spec();
    s.memory_bytes = Series::constant(200 << 20);
    let started = Instant::now();
    let mut c = host
        .start_container(&sb, "c-0", &container_values(None, Some(64 << 20)), Some(1000), workload(&s), None)
        .unwrap();
    let exit = c.wait_exit(host.driver(), Duration::from_secs(10)).unwrap().expect("killed within 10 s");
    say!("  exit after {:?}: {exit:?}", started.elapsed());
    assert_eq!(exit.signal, Some(9));
    assert_eq!(exit.exit_code, 137);
    assert!(exit.oom_killed, "SIGKILL and the oom_kill counter went up");
    assert!(host.driver().oom_kills(&c.path).unwrap() >= 1);
    drop(c);
    host.remove_sandbox(sb).unwrap();
    drop(host);
    assert_no_leftovers(&[ns]);
}

#[test]
fn a_200m_quota_busy_loop_is_throttled_to_about_a_fifth_of_a_cpu() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = real_host("cpu throttling") else { return };
    let node = host.create_node("node-a", 2000, 1 << 30).unwrap();
    let sb = host.create_sandbox(&node, "pod-1", &CgroupValues::unlimited(), "busy").unwrap();
    let ns = netns_link(sb.process.pid);
    let mut s = spec();
    s.cpu_millis = Series::constant(1000);
    let c = host
        .start_container(&sb, "c-0", &container_values(Some(200), None), None, workload(&s), None)
        .unwrap();
    let before = host.driver().stats(&c.path).unwrap();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    let after = host.driver().stats(&c.path).unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let cpus = (after.cpu_usage_ns - before.cpu_usage_ns) as f64 / 1e9 / wall;
    let throttled = after.nr_throttled - before.nr_throttled;
    say!(
        "  {cpus:.3} CPU over {wall:.2} s; nr_periods {} nr_throttled {} throttled {:.2} s",
        after.nr_periods - before.nr_periods,
        throttled,
        (after.throttled_ns - before.throttled_ns) as f64 / 1e9
    );
    assert!(throttled > 0);
    assert!((0.15..=0.25).contains(&cpus), "usage {cpus} CPU, expected ≈ 0.2");
    drop(c);
    host.remove_sandbox(sb).unwrap();
    drop(host);
    assert_no_leftovers(&[ns]);
}

#[test]
fn an_http_readiness_probe_reaches_the_workload_inside_the_pod_network_namespace() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = real_host("http readiness probe") else { return };
    let node = host.create_node("node-a", 2000, 1 << 30).unwrap();
    let sb = host.create_sandbox(&node, "pod-1", &CgroupValues::unlimited(), "web").unwrap();
    let ns = netns_link(sb.process.pid);
    assert_ne!(ns, netns_link(std::process::id()), "the pod has its own network namespace");
    let mut s = spec();
    // Not ready for the first 300 ms, then ready; liveness always fine.
    s.readiness = vec![
        HealthPoint { at_ns: 0, healthy: false, latency_ns: 0 },
        HealthPoint { at_ns: 300_000_000, healthy: true, latency_ns: 0 },
    ];
    let started = Instant::now();
    let c =
        host.start_container(&sb, "c-0", &container_values(None, None), None, workload(&s), None).unwrap();
    let ready = ProbeTarget::Http { port: s.http_port, path: "/ready".into() };
    let mut first_failure = None;
    let ready_at = loop {
        let outcome = sb.probe(ready.clone(), Duration::from_secs(1));
        if outcome.is_success() {
            break started.elapsed();
        }
        first_failure.get_or_insert(outcome);
        assert!(started.elapsed() < Duration::from_secs(5), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    };
    say!("  first failure {first_failure:?}; ready after {ready_at:?}");
    assert!(ready_at >= Duration::from_millis(300));
    assert!(first_failure.is_some());
    let live =
        sb.probe(ProbeTarget::Http { port: s.http_port, path: "/healthz".into() }, Duration::from_secs(1));
    assert!(live.is_success(), "{live:?}");
    // The same port is not reachable from the host's namespace (nothing leaks out).
    let tcp = kubesim_backend_linux::prober::probe_here(
        &ProbeTarget::Tcp { port: s.http_port },
        Duration::from_millis(200),
    );
    say!("  from the host namespace: {tcp:?}");
    drop(c);
    host.remove_sandbox(sb).unwrap();
    drop(host);
    assert_no_leftovers(&[ns]);
}

#[test]
fn sigterm_is_handled_as_pid_1_per_the_shutdown_spec() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = real_host("sigterm handling") else { return };
    let node = host.create_node("node-a", 2000, 1 << 30).unwrap();
    let sb = host.create_sandbox(&node, "pod-1", &CgroupValues::unlimited(), "term").unwrap();
    let ns = netns_link(sb.process.pid);
    let cases = [
        ("die", Shutdown::Die, Some((143, None))),
        ("graceful", Shutdown::Graceful { after_ns: 100_000_000, exit_code: 7 }, Some((7, None))),
        ("ignore", Shutdown::Ignore, None),
    ];
    for (i, (name, shutdown, want)) in cases.into_iter().enumerate() {
        let mut s = spec();
        s.shutdown = shutdown;
        s.http_port = 8080 + i as u16; // same pod network namespace
        let mut c = host
            .start_container(&sb, &format!("c-{i}"), &container_values(None, None), None, workload(&s), None)
            .unwrap();
        // Wait until it serves (its handler is installed by then).
        let t0 = Instant::now();
        while !sb.probe(ProbeTarget::Tcp { port: s.http_port }, Duration::from_millis(200)).is_success() {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
        c.process.signal(15).unwrap();
        let exit = c.wait_exit(host.driver(), Duration::from_millis(600)).unwrap();
        say!("  {name}: after SIGTERM {exit:?}");
        match want {
            Some((code, signal)) => {
                let exit = exit.expect("exited");
                assert_eq!((exit.exit_code, exit.signal, exit.oom_killed), (code, signal, false));
            }
            None => {
                assert_eq!(exit, None, "PID 1 ignoring SIGTERM keeps running");
                c.process.signal(9).unwrap();
                let exit = c.wait_exit(host.driver(), Duration::from_secs(2)).unwrap().unwrap();
                assert_eq!((exit.exit_code, exit.signal, exit.oom_killed), (137, Some(9), false));
            }
        }
    }
    host.remove_sandbox(sb).unwrap();
    drop(host);
    assert_no_leftovers(&[ns]);
}

/// Runs in a child process: opens a host, starts a container, prints the run root and the
/// container's pid, then waits to be killed with SIGKILL.
#[test]
#[ignore = "helper for a_crashed_backend_leaves_nothing_after_the_next_sweep"]
fn crash_helper() {
    let Ok(report) = std::env::var("KSIM_CRASH_HELPER") else { return };
    let host = Host::open().unwrap();
    let node = host.create_node("node-a", 1000, 256 << 20).unwrap();
    let sb = host.create_sandbox(&node, "pod-1", &CgroupValues::unlimited(), "crash").unwrap();
    let c = host
        .start_container(&sb, "c-0", &container_values(None, None), None, workload(&spec()), None)
        .unwrap();
    let line = format!(
        "READY {} {} {} {}\n",
        host.run_root().components()[0],
        c.process.pid,
        sb.process.pid,
        netns_link(sb.process.pid)
    );
    // A file, not stdout: libtest may hold a child test's output in its capture buffer.
    std::fs::write(format!("{report}.tmp"), line).unwrap();
    std::fs::rename(format!("{report}.tmp"), &report).unwrap();
    std::thread::sleep(Duration::from_secs(30));
    unreachable!("the test kills this process first");
}

#[test]
fn a_crashed_backend_leaves_nothing_after_the_next_sweep() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = preflight() {
        say!("SKIP crash cleanup: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("ready");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_helper", "--ignored", "--test-threads=1"])
        .env("KSIM_CRASH_HELPER", &report)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the helper on every path out of this test, including a failed assertion.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(child);
    let t0 = Instant::now();
    let line = loop {
        if let Ok(line) = std::fs::read_to_string(&report) {
            break line;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "helper never got ready");
        assert!(child.0.try_wait().unwrap().is_none(), "helper ended without READY");
        std::thread::sleep(Duration::from_millis(10));
    };
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (root, container_pid, sandbox_pid, ns) =
        (parts[1].to_string(), parts[2], parts[3], parts[4].to_string());
    say!(
        "RUN crash cleanup: helper {} owns {root}, container pid {container_pid}; kill -9 the helper",
        child.0.id()
    );
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    // PR_SET_PDEATHSIG: the sandbox and the container die with their spawner.
    let t0 = Instant::now();
    for pid in [container_pid, sandbox_pid] {
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z")
        {
            assert!(t0.elapsed() < Duration::from_secs(2), "pid {pid} survived its backend");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let layout = layout::detect().unwrap();
    let driver = kubesim_backend_linux::driver::driver_for(&layout);
    let root_path = CgPath::root().child(&root).unwrap();
    assert!(driver.exists(&root_path), "the crashed run's cgroups are still there before the sweep");
    let removed = run_root::sweep(driver.as_ref(), &run_root::owner_alive).unwrap();
    say!("  swept {removed:?}");
    assert!(removed.contains(&root));
    assert!(!driver.exists(&root_path));
    // Its network namespace died with its last process.
    let t0 = Instant::now();
    while netns_holders(&ns) > 0 {
        assert!(t0.elapsed() < Duration::from_secs(2), "netns {ns} still held");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_no_leftovers(&[ns]);
}

#[test]
fn the_linux_node_runtime_answers_kubelet_commands_with_real_events() {
    use kubesim_backend_linux::runtime::{LinuxNodeRuntime, LinuxRuntimeConfig, WorkloadProgram};
    use kubesim_kubelet::runtime::{
        ContainerId, ContainerRole, NodeRuntime, RuntimeCommand, RuntimeEvent, SandboxId,
    };
    use kubesim_workload::{ContainerWorkload, PodWorkload, ShutdownSpec};
    use sim_core::{SimDuration, SimTime};
    use std::sync::Arc;

    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = real_host("LinuxNodeRuntime") else { return };
    let host = Arc::new(host);
    let mut config = LinuxRuntimeConfig::node("node-a", 2000, 1 << 30);
    config.program = WorkloadProgram::Path(env!("CARGO_BIN_EXE_ksim-workload").into(), vec![]);
    let mut rt = LinuxNodeRuntime::new(Arc::clone(&host), config).unwrap();

    // Container 0 crashes at 200 ms, container 1 holds 200 MiB under a 64 MiB limit, container 2
    // ignores SIGTERM.
    let mut crash = ContainerWorkload::idle();
    crash.failures.crash_at = Some(SimDuration::from_millis(200));
    let hog = ContainerWorkload::steady(0, 200 << 20);
    let stubborn = ContainerWorkload { shutdown: ShutdownSpec::Ignore, ..ContainerWorkload::idle() };
    let pod = PodWorkload { containers: vec![Arc::new(crash), Arc::new(hog), Arc::new(stubborn)] };
    let mut events = Vec::new();
    let sandbox = SandboxId(1);
    let cgroup = kubesim_kubelet::cgroups::pod_cgroup(&kubesim_api::PodSpec::default());
    rt.execute(
        rt.now(),
        RuntimeCommand::CreateSandbox { sandbox, cgroup, workload: Some(Arc::new(pod)) },
        &mut events,
    );
    assert!(
        matches!(events.as_slice(), [RuntimeEvent::SandboxReady { .. }]),
        "{events:?} {:?}",
        rt.take_errors()
    );
    let ids = [ContainerId::new(1, 0, 0), ContainerId::new(1, 1, 0), ContainerId::new(1, 2, 0)];
    for (i, id) in ids.iter().enumerate() {
        let cgroup = ContainerCgroup {
            cpu_shares: 102,
            cpu_quota_us: None,
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: (i == 1).then_some(64 << 20),
        };
        let cmd = RuntimeCommand::StartContainer {
            container: *id,
            role: ContainerRole::Regular,
            cgroup,
            oom_score_adj: 1000,
        };
        rt.execute(rt.now(), cmd, &mut events);
    }
    let started = events.iter().filter(|e| matches!(e, RuntimeEvent::ContainerStarted { .. })).count();
    assert_eq!(started, 3, "{events:?} {:?}", rt.take_errors());
    assert!(rt.stats(rt.now(), ids[2]).is_ok());
    let stop_at = rt.now();
    rt.execute(
        stop_at,
        RuntimeCommand::StopContainer { container: ids[2], timeout: SimDuration::from_millis(200) },
        &mut events,
    );
    events.clear();
    let t0 = Instant::now();
    while events.len() < 3 && t0.elapsed() < Duration::from_secs(10) {
        rt.poll_for(Duration::from_millis(100), &mut events);
    }
    let exit = |id: ContainerId| {
        events
            .iter()
            .find_map(|e| match e {
                RuntimeEvent::ContainerExited { container, exit_code, signal, oom_killed, at }
                    if *container == id =>
                {
                    Some((*exit_code, *signal, *oom_killed, *at))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{id:?} did not exit: {events:?}"))
    };
    let (crash_exit, oom_exit, killed_exit) = (exit(ids[0]), exit(ids[1]), exit(ids[2]));
    say!("  crash {crash_exit:?}\n  oom {oom_exit:?}\n  stop {killed_exit:?}");
    assert_eq!(&(crash_exit.0, crash_exit.1, crash_exit.2), &(1, None, false));
    assert!(crash_exit.3 >= SimTime::from_millis(200));
    assert_eq!(&(oom_exit.0, oom_exit.1, oom_exit.2), &(137, Some(9), true));
    assert_eq!(&(killed_exit.0, killed_exit.1, killed_exit.2), &(137, Some(9), false));
    assert!(
        killed_exit.3.saturating_duration_since(stop_at) >= SimDuration::from_millis(200),
        "SIGKILL only after the grace"
    );
    assert_eq!(rt.live_containers(), 0);
    rt.execute(rt.now(), RuntimeCommand::RemoveSandbox { sandbox }, &mut events);
    assert!(rt.take_errors().is_empty());
    drop(rt);
    drop(host);
    assert_no_leftovers(&[]);
}

// ---------------------------------------------------------------- executed probes (RunProbe)

mod executed_probes {
    use super::*;
    use kubesim_api::ProbeAction;
    use kubesim_backend_linux::runtime::{LinuxNodeRuntime, LinuxRuntimeConfig, WorkloadProgram};
    use kubesim_kubelet::probes::ProbeKind;
    use kubesim_kubelet::runtime::{
        ContainerId, ContainerRole, NodeRuntime, RuntimeCommand, RuntimeEvent, SandboxId,
    };
    use kubesim_workload::{ContainerHealth, ContainerWorkload, HealthTimeline, PodWorkload, ProbeResponse};
    use sim_core::{SimDuration, SimTime};
    use std::sync::Arc;

    /// One running container (pod 1, index 0) on a fresh `LinuxNodeRuntime`.
    pub(super) struct Node {
        pub(super) rt: LinuxNodeRuntime,
        pub(super) host: Arc<Host>,
        pub(super) id: ContainerId,
        pub(super) netns: String,
    }

    pub(super) fn node_with(test: &str, workload: ContainerWorkload) -> Option<Node> {
        let host = Arc::new(real_host(test)?);
        let mut config = LinuxRuntimeConfig::node("node-a", 2000, 1 << 30);
        config.program = WorkloadProgram::Path(env!("CARGO_BIN_EXE_ksim-workload").into(), vec![]);
        let mut rt = LinuxNodeRuntime::new(Arc::clone(&host), config).unwrap();
        let mut events = Vec::new();
        let cgroup = kubesim_kubelet::cgroups::pod_cgroup(&kubesim_api::PodSpec::default());
        let pod = PodWorkload { containers: vec![Arc::new(workload)] };
        rt.execute(
            rt.now(),
            RuntimeCommand::CreateSandbox { sandbox: SandboxId(1), cgroup, workload: Some(Arc::new(pod)) },
            &mut events,
        );
        let id = ContainerId::new(1, 0, 0);
        let cgroup = ContainerCgroup {
            cpu_shares: 102,
            cpu_quota_us: None,
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: None,
        };
        rt.execute(
            rt.now(),
            RuntimeCommand::StartContainer {
                container: id,
                role: ContainerRole::Regular,
                cgroup,
                oom_score_adj: 0,
            },
            &mut events,
        );
        assert!(
            matches!(
                events.as_slice(),
                [RuntimeEvent::SandboxReady { .. }, RuntimeEvent::ContainerStarted { .. }]
            ),
            "{events:?} {:?}",
            rt.take_errors()
        );
        // The container joined the pod's network namespace: the leak check watches that one.
        let pid = container_pid(&host);
        let netns = netns_link(pid);
        Some(Node { rt, host, id, netns })
    }

    /// The pid of the one workload process in our run root (read from its cgroup).
    fn container_pid(host: &Host) -> u32 {
        let node = host.run_root().child("node-a").unwrap();
        let path = node.child("pod-1").unwrap().child("c-0-0").unwrap();
        let pids = host.driver().procs(&path).unwrap();
        assert_eq!(pids.len(), 1, "{pids:?}");
        pids[0]
    }

    impl Node {
        /// Sends `RunProbe` and checks it returns at once (no result yet for a live container).
        pub(super) fn start_probe(&mut self, kind: ProbeKind, action: ProbeAction, timeout: Duration) {
            let mut events = Vec::new();
            let t0 = Instant::now();
            let cmd = RuntimeCommand::RunProbe {
                container: self.id,
                kind,
                action,
                timeout: SimDuration::from_nanos(timeout.as_nanos() as u64),
            };
            self.rt.execute(self.rt.now(), cmd, &mut events);
            assert!(t0.elapsed() < Duration::from_millis(100), "RunProbe blocked for {:?}", t0.elapsed());
            assert!(events.is_empty(), "{events:?}");
        }

        /// Polls until the probe's result arrives: (success, completion time, waited).
        pub(super) fn await_result(&mut self, kind: ProbeKind) -> (bool, SimTime, Duration) {
            let t0 = Instant::now();
            let mut events = Vec::new();
            loop {
                self.rt.poll(&mut events);
                if let Some(RuntimeEvent::ProbeResult { container, kind: k, success, at }) = events.pop() {
                    assert_eq!((container, k), (self.id, kind));
                    assert!(events.is_empty(), "{events:?}");
                    return (success, at, t0.elapsed());
                }
                assert!(events.is_empty(), "{events:?}");
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "no probe result: {:?}",
                    self.rt.take_errors()
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }

        pub(super) fn probe(&mut self, kind: ProbeKind, action: ProbeAction, timeout: Duration) -> bool {
            self.start_probe(kind, action, timeout);
            self.await_result(kind).0
        }

        pub(super) fn finish(mut self) {
            let mut events = Vec::new();
            self.rt.execute(
                self.rt.now(),
                RuntimeCommand::RemoveSandbox { sandbox: SandboxId(1) },
                &mut events,
            );
            assert!(self.rt.take_errors().is_empty());
            assert_eq!(self.rt.probes_in_flight(), 0);
            drop(self.rt);
            drop(self.host);
            assert_no_leftovers(&[self.netns]);
        }
    }

    fn exec(cmd: &[&str]) -> ProbeAction {
        ProbeAction::Exec { command: cmd.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn an_http_readiness_probe_goes_to_the_programs_ready_endpoint_and_is_collected_by_poll() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = ContainerWorkload::idle();
        // Not ready for the first 800 ms; liveness always fine.
        w.health.readiness = HealthTimeline::healthy_after(SimDuration::from_millis(800));
        let Some(mut n) = node_with("executed http probe", w) else { return };
        // The spec's path and port are not used: the program answers /ready on 8080 + index.
        let get = ProbeAction::HttpGet { path: "/not-served".into(), port: 80 };
        let t0 = Instant::now();
        let mut outcomes = Vec::new();
        loop {
            n.start_probe(ProbeKind::Readiness, get.clone(), Duration::from_secs(1));
            let (ok, at, _) = n.await_result(ProbeKind::Readiness);
            assert!(at <= n.rt.now());
            outcomes.push(ok);
            if ok {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(5), "never ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        say!("  readiness outcomes {outcomes:?}, ready after {:?}", t0.elapsed());
        assert!(!outcomes[0], "not ready at first");
        assert!(n.probe(ProbeKind::Liveness, get.clone(), Duration::from_secs(1)), "/healthz answers 200");
        n.finish();
    }

    #[test]
    fn a_tcp_probe_connects_to_the_program_and_a_probe_of_a_stopped_container_fails_at_once() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut n) = node_with("executed tcp probe", ContainerWorkload::idle()) else { return };
        let tcp = ProbeAction::TcpSocket { port: 9999 };
        let t0 = Instant::now();
        while !n.probe(ProbeKind::Liveness, tcp.clone(), Duration::from_millis(500)) {
            assert!(t0.elapsed() < Duration::from_secs(5), "the program never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        say!("  tcp probe succeeded after {:?}", t0.elapsed());
        // Stop it (SIGTERM: the idle program exits 143) and collect the exit.
        let mut events = Vec::new();
        n.rt.execute(
            n.rt.now(),
            RuntimeCommand::StopContainer { container: n.id, timeout: SimDuration::from_secs(2) },
            &mut events,
        );
        let t0 = Instant::now();
        while !events.iter().any(|e| matches!(e, RuntimeEvent::ContainerExited { .. })) {
            assert!(t0.elapsed() < Duration::from_secs(5));
            n.rt.poll_for(Duration::from_millis(50), &mut events);
        }
        events.clear();
        let cmd = RuntimeCommand::RunProbe {
            container: n.id,
            kind: ProbeKind::Liveness,
            action: tcp,
            timeout: SimDuration::from_secs(1),
        };
        n.rt.execute(n.rt.now(), cmd, &mut events);
        assert!(
            matches!(events.as_slice(), [RuntimeEvent::ProbeResult { success: false, .. }]),
            "{events:?}"
        );
        n.finish();
    }

    #[test]
    fn an_exec_probe_runs_inside_the_container_and_flips_when_liveness_goes_bad() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut w = ContainerWorkload::idle();
        w.health = ContainerHealth {
            liveness: HealthTimeline::default()
                .then_at(SimDuration::from_millis(1500), ProbeResponse::UNHEALTHY),
            ..ContainerHealth::default()
        };
        let host_tmp_before = std::path::Path::new("/tmp/healthy").exists();
        let Some(mut n) = node_with("executed exec probe", w) else { return };
        let cat = exec(&["cat", "/tmp/healthy"]);
        // Inside the container: its PID namespace (small pids), its hostname (the pod's), its /tmp.
        let inside =
            exec(&["sh", "-c", "test $$ -lt 100 && test \"$(hostname)\" = pod-1 && test -e /tmp/ready"]);
        assert!(n.probe(ProbeKind::Liveness, inside, Duration::from_secs(2)), "{:?}", n.rt.take_errors());
        let (ok, _, took) = {
            n.start_probe(ProbeKind::Liveness, cat.clone(), Duration::from_secs(2));
            n.await_result(ProbeKind::Liveness)
        };
        say!("  cat /tmp/healthy while healthy: {ok} after {took:?}");
        assert!(ok);
        assert!(!n.probe(ProbeKind::Liveness, exec(&["false"]), Duration::from_secs(2)), "exit 1 fails");
        let t0 = Instant::now();
        while n.probe(ProbeKind::Liveness, cat.clone(), Duration::from_secs(2)) {
            assert!(t0.elapsed() < Duration::from_secs(5), "still healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        say!("  cat /tmp/healthy failed {:?} after the first check", t0.elapsed());
        // Readiness stays good, and nothing reached the host's /tmp.
        assert!(n.probe(ProbeKind::Readiness, exec(&["cat", "/tmp/ready"]), Duration::from_secs(2)));
        assert_eq!(std::path::Path::new("/tmp/healthy").exists(), host_tmp_before);
        n.finish();
    }

    #[test]
    fn an_exec_probe_that_outlives_its_timeout_fails_and_is_killed() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut n) = node_with("executed exec probe timeout", ContainerWorkload::idle()) else { return };
        let asked = n.rt.now();
        n.start_probe(ProbeKind::Liveness, exec(&["sleep", "5"]), Duration::from_millis(300));
        let (ok, at, waited) = n.await_result(ProbeKind::Liveness);
        say!(
            "  sleep 5 with a 300 ms timeout: {ok} at +{:?}, after {waited:?}",
            at.saturating_duration_since(asked)
        );
        assert!(!ok);
        assert!(at.saturating_duration_since(asked) >= SimDuration::from_millis(300));
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        // Only the workload is left in the container's cgroup: the probe processes are gone.
        let t0 = Instant::now();
        loop {
            let path =
                n.host.run_root().child("node-a").unwrap().child("pod-1").unwrap().child("c-0-0").unwrap();
            let pids = n.host.driver().procs(&path).unwrap();
            if pids.len() == 1 {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(2), "probe processes left: {pids:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        n.finish();
    }
}
