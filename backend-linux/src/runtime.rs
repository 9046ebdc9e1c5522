//! [`LinuxNodeRuntime`]: the kubelet's [`NodeRuntime`] on real processes, in wall-clock time.
//!
//! Time is the real time elapsed since the runtime was created, as a [`SimTime`], so the kubelet
//! and the event log see the same time base as in a simulation. Commands take effect at once and
//! their events are stamped with the real instant they completed (`max(now, elapsed)`, so never
//! before the driver's `now`). What happens later on its own — an exit, an OOM kill — is found
//! by [`LinuxNodeRuntime::poll`], which the wall-clock shell calls from its loop: it reaps exited
//! containers through their pidfds, classifies OOM kills (SIGKILL and the cgroup's `oom_kill`
//! counter went up) and sends the SIGKILL of a `StopContainer` whose grace ran out.
//!
//! | kubelet command | here |
//! |---|---|
//! | `CreateSandbox` | pod cgroup with the pod values, sandbox process with net/IPC/UTS namespaces |
//! | `PullImage` | nothing to pull (the image is the workload program): pulled at once |
//! | `StartContainer` | container cgroup, workload program as PID 1 of new PID + mount namespaces |
//! | `StopContainer` | SIGTERM now, SIGKILL when `timeout` has passed |
//! | `RemoveSandbox` | kill what is left, remove the pod's cgroups |
//! | `RunProbe` | started at once, never waited for; its `ProbeResult` comes from [`LinuxNodeRuntime::poll`] |
//!
//! ## Probes
//!
//! The workload program stands in for the application, so a probe of the pod spec is mapped onto
//! what the program offers ([`ProbeTargets::WorkloadProgram`], the default):
//!
//! | probe action | runs | succeeds when |
//! |---|---|---|
//! | `httpGet` | `GET` to the program's own port for that container (8080 + container index), path by probe kind: liveness → `/healthz`, readiness → `/ready`, startup → `/startup` (the spec's path and port are not used) | status 200–399 within `timeoutSeconds` |
//! | `tcpSocket` | a TCP connect to the program's port | the connection opens within the timeout |
//! | `grpc` | (no gRPC health server in the program) a TCP connect to its port | as `tcpSocket` |
//! | `exec` | the command, as given, inside the container: its cgroup and its network, IPC, UTS, PID and mount namespaces | exit 0 within the timeout (else the probe process is killed: failure) |
//!
//! For exec probes the program keeps `/tmp/healthy` (present while its liveness answer is
//! healthy), `/tmp/ready` (readiness) and `/tmp/started` (startup) in a private tmpfs `/tmp` of
//! the container's own mount namespace (mounted after making `/` private, so nothing reaches the
//! host), so the classic `cat /tmp/healthy` works. With [`ProbeTargets::AsSpecified`] HTTP, TCP
//! and gRPC probes use the spec's own port and path instead (for programs that serve them).
//!
//! HTTP and TCP probes run on the pod's prober thread (inside its network namespace), one after
//! another; exec probes are forked by the spawner thread and watched through their pidfds. A
//! probe's result is stamped with the real instant it completed. A probe of a container that
//! is not running fails at once; probes still running when their container goes away are dropped
//! (the kubelet ignores results for instances that are no longer current anyway).
#![allow(clippy::disallowed_methods)] // the real backend lives in real time: Instant::now is its clock

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use kubesim_api::ProbeAction;

use kubesim_kubelet::cgroups::WeightFormula;
use kubesim_kubelet::probes::ProbeKind;
use kubesim_kubelet::runtime::{
    ContainerId, ContainerRole, ContainerStats, NodeRuntime, RuntimeCommand, RuntimeError, RuntimeEvent,
    SandboxId,
};
use kubesim_workload::PodWorkload;
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::driver::CgPath;
use crate::host::{self_workload_exec, workload_exec, Container, Host, HostError, Process, Sandbox};
use crate::prober::{PendingProbe, ProbeTarget};
use crate::program::{ProgramSpec, DEFAULT_HTTP_PORT};
use crate::sys::{SIGKILL, SIGTERM};
use crate::values::CgroupValues;

/// Which executable plays the workloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadProgram {
    /// This executable's hidden `workload-program` subcommand (the `kubesim` binary).
    SelfExe,
    /// Another executable (e.g. `ksim-workload`) with these arguments.
    Path(PathBuf, Vec<String>),
}

/// Settings of one real node.
#[derive(Clone, Debug)]
pub struct LinuxRuntimeConfig {
    /// Node name (its cgroup under the run root).
    pub node_name: String,
    /// Node CPU (quota), millicores; 0 = unlimited.
    pub cpu_millis: i64,
    /// Node memory (limit), bytes; 0 = unlimited.
    pub memory_bytes: i64,
    /// `podPidsLimit`.
    pub pod_pids_limit: Option<i64>,
    /// Who plays the workloads.
    pub program: WorkloadProgram,
    /// Curves are flattened up to this offset (the run's length is enough).
    pub horizon: SimDuration,
    /// The OCI runtime's shares → weight map for container cgroups (v2).
    pub weight_formula: WeightFormula,
    /// Root seed for the seeded crash draws (same streams as the simulator).
    pub seed: u64,
    /// Added to the container id for the crash draw, as the simulated runtime does.
    pub node_salt: u64,
    /// Container stdout/stderr go to `<dir>/<container>.log`; `None` = discarded.
    pub log_dir: Option<PathBuf>,
    /// Where HTTP, TCP and gRPC probes go.
    pub probe_targets: ProbeTargets,
}

/// Where network probes go (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProbeTargets {
    /// The workload program's own port for the container; HTTP paths by probe kind.
    #[default]
    WorkloadProgram,
    /// The port and path written in the pod spec.
    AsSpecified,
}

/// The HTTP path the workload program answers a probe of `kind` on.
pub fn program_path(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Liveness => "/healthz",
        ProbeKind::Readiness => "/ready",
        ProbeKind::Startup => "/startup",
    }
}

/// What a network probe connects to: `None` for exec probes (and for a spec port out of range).
pub fn probe_target(
    targets: ProbeTargets,
    action: &ProbeAction,
    kind: ProbeKind,
    program_port: u16,
) -> Option<ProbeTarget> {
    let port = |p: i32| match targets {
        ProbeTargets::WorkloadProgram => Some(program_port),
        ProbeTargets::AsSpecified => u16::try_from(p).ok(),
    };
    Some(match action {
        ProbeAction::HttpGet { path, port: p } => ProbeTarget::Http {
            port: port(*p)?,
            path: match targets {
                ProbeTargets::WorkloadProgram => program_path(kind).to_string(),
                ProbeTargets::AsSpecified => path.clone(),
            },
        },
        ProbeAction::TcpSocket { port: p } | ProbeAction::Grpc { port: p, .. } => {
            ProbeTarget::Tcp { port: port(*p)? }
        }
        ProbeAction::Exec { .. } => return None,
    })
}

impl LinuxRuntimeConfig {
    /// A node with `cpu_millis` and `memory_bytes`, defaults elsewhere.
    pub fn node(name: &str, cpu_millis: i64, memory_bytes: i64) -> Self {
        LinuxRuntimeConfig {
            node_name: name.to_string(),
            cpu_millis,
            memory_bytes,
            pod_pids_limit: None,
            program: WorkloadProgram::SelfExe,
            horizon: SimDuration::from_mins(15),
            weight_formula: WeightFormula::QuadraticLog,
            seed: 0,
            node_salt: 0,
            log_dir: None,
            probe_targets: ProbeTargets::WorkloadProgram,
        }
    }
}

#[derive(Debug)]
struct Pod {
    sandbox: Sandbox,
    workload: Option<Arc<PodWorkload>>,
}

/// A probe under way.
#[derive(Debug)]
struct InFlight {
    container: ContainerId,
    kind: ProbeKind,
    work: ProbeWork,
}

#[derive(Debug)]
enum ProbeWork {
    /// On the pod's prober thread.
    Net(PendingProbe),
    /// The spawner thread is starting the exec probe process.
    Spawning { rx: mpsc::Receiver<Result<Process, HostError>>, deadline: Instant },
    /// The exec probe process runs (killed on drop).
    Exec { process: Process, deadline: Instant },
}

#[derive(Debug)]
struct Running {
    container: Container,
    http_port: u16,
    kill_at: Option<Instant>,
}

/// One real node behind the kubelet's [`NodeRuntime`].
#[derive(Debug)]
pub struct LinuxNodeRuntime {
    host: Arc<Host>,
    config: LinuxRuntimeConfig,
    node: CgPath,
    epoch: Instant,
    streams: RngStreams,
    pods: BTreeMap<SandboxId, Pod>,
    containers: BTreeMap<ContainerId, Running>,
    probes: Vec<InFlight>,
    errors: Vec<String>,
}

impl LinuxNodeRuntime {
    /// Creates the node's cgroup subtree on `host`; time starts now.
    pub fn new(host: Arc<Host>, config: LinuxRuntimeConfig) -> Result<Self, HostError> {
        let node = host.create_node(&config.node_name, config.cpu_millis, config.memory_bytes)?;
        Ok(LinuxNodeRuntime {
            streams: RngStreams::new(config.seed),
            host,
            config,
            node,
            epoch: Instant::now(),
            pods: BTreeMap::new(),
            containers: BTreeMap::new(),
            probes: Vec::new(),
            errors: Vec::new(),
        })
    }

    /// Counts time from `epoch` instead of the runtime's creation, so every node of a cluster and
    /// the wall-clock shell share one time base.
    pub fn with_epoch(mut self, epoch: Instant) -> Self {
        self.epoch = epoch;
        self
    }

    /// The running containers, in id order.
    pub fn container_ids(&self) -> Vec<ContainerId> {
        self.containers.keys().copied().collect()
    }

    /// The sandboxes present, in id order.
    pub fn sandbox_ids(&self) -> Vec<SandboxId> {
        self.pods.keys().copied().collect()
    }

    /// Real time since the epoch (the runtime's creation unless [`with_epoch`](Self::with_epoch)).
    pub fn now(&self) -> SimTime {
        SimTime::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn stamp(&self, now: SimTime) -> SimTime {
        now.max(self.now())
    }

    /// Errors met while carrying out commands (the trait has no error channel), oldest first.
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Containers currently running.
    pub fn live_containers(&self) -> usize {
        self.containers.len()
    }

    /// The port the workload of `container` serves its health endpoints on (containers of a pod
    /// share its network namespace, so each index gets its own port).
    pub fn http_port(&self, container: ContainerId) -> Option<u16> {
        self.containers.get(&container).map(|r| r.http_port)
    }

    fn at(&self, instant: Instant) -> SimTime {
        let since = instant.saturating_duration_since(self.epoch);
        SimTime::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Probes under way.
    pub fn probes_in_flight(&self) -> usize {
        self.probes.len()
    }

    /// Starts one probe (never waits for it); a failure to start is a failed probe now.
    fn run_probe(
        &mut self,
        now: SimTime,
        container: ContainerId,
        kind: ProbeKind,
        action: &ProbeAction,
        timeout: SimDuration,
        events: &mut Vec<RuntimeEvent>,
    ) {
        let fail_now = |events: &mut Vec<RuntimeEvent>, at| {
            events.push(RuntimeEvent::ProbeResult { container, kind, success: false, at })
        };
        let (Some(r), Some(pod)) = (self.containers.get(&container), self.pods.get(&container.sandbox()))
        else {
            return fail_now(events, self.stamp(now));
        };
        let timeout = Duration::from_nanos(timeout.as_nanos());
        let work = match (action, probe_target(self.config.probe_targets, action, kind, r.http_port)) {
            (_, Some(target)) => ProbeWork::Net(pod.sandbox.submit_probe(target, timeout)),
            (ProbeAction::Exec { command }, None) => {
                match self.host.start_exec_probe(&r.container, command) {
                    Ok(rx) => ProbeWork::Spawning { rx, deadline: Instant::now() + timeout },
                    Err(e) => {
                        self.errors.push(format!("exec probe of {container:?}: {e}"));
                        return fail_now(events, self.stamp(now));
                    }
                }
            }
            (_, None) => return fail_now(events, self.stamp(now)),
        };
        self.probes.push(InFlight { container, kind, work });
    }

    /// Collects the probes that completed (or timed out), in the order they were started.
    fn poll_probes(&mut self, events: &mut Vec<RuntimeEvent>) {
        let mut i = 0;
        while i < self.probes.len() {
            let p = &mut self.probes[i];
            let done: Option<(bool, Instant)> = match &mut p.work {
                ProbeWork::Net(pending) => pending.try_take().map(|(o, at)| (o.is_success(), at)),
                ProbeWork::Spawning { rx, deadline } => match rx.try_recv() {
                    Ok(Ok(process)) => {
                        p.work = ProbeWork::Exec { process, deadline: *deadline };
                        continue; // look at it again at once
                    }
                    Ok(Err(e)) => {
                        self.errors.push(format!("exec probe of {:?}: {e}", p.container));
                        Some((false, Instant::now()))
                    }
                    Err(mpsc::TryRecvError::Empty) => None,
                    Err(mpsc::TryRecvError::Disconnected) => Some((false, Instant::now())),
                },
                ProbeWork::Exec { process, deadline } => match process.try_wait() {
                    Ok(Some(status)) => Some((status.code() == 0, Instant::now())),
                    Ok(None) if Instant::now() >= *deadline => {
                        // Timed out: the probe fails and its process is killed (on drop below).
                        Some((false, *deadline))
                    }
                    Ok(None) => None,
                    Err(e) => {
                        self.errors.push(format!("exec probe of {:?}: {e}", p.container));
                        Some((false, Instant::now()))
                    }
                },
            };
            match done {
                Some((success, at)) => {
                    let p = self.probes.remove(i);
                    events.push(RuntimeEvent::ProbeResult {
                        container: p.container,
                        kind: p.kind,
                        success,
                        at: self.at(at),
                    });
                }
                None => i += 1,
            }
        }
    }

    /// Reaps exited containers, sends due SIGKILLs and collects finished probes; pushes what
    /// happened.
    pub fn poll(&mut self, events: &mut Vec<RuntimeEvent>) {
        self.poll_probes(events);
        let now = Instant::now();
        let mut exited = Vec::new();
        for (id, r) in &mut self.containers {
            if r.kill_at.is_some_and(|at| now >= at) {
                let _ = r.container.process.signal(SIGKILL);
                r.kill_at = None;
            }
            match r.container.try_exit(self.host.driver()) {
                Ok(Some(exit)) => exited.push((*id, exit)),
                Ok(None) => {}
                Err(e) => self.errors.push(format!("wait for {id:?}: {e}")),
            }
        }
        for (id, exit) in exited {
            self.probes.retain(|p| p.container != id);
            if let Some(r) = self.containers.remove(&id) {
                let _ = self.host.driver().remove(&r.container.path);
            }
            events.push(RuntimeEvent::ContainerExited {
                container: id,
                exit_code: exit.exit_code,
                signal: exit.signal,
                oom_killed: exit.oom_killed,
                at: self.now(),
            });
        }
    }

    /// Polls until something happens or `timeout` passes.
    pub fn poll_for(&mut self, timeout: Duration, events: &mut Vec<RuntimeEvent>) {
        let deadline = Instant::now() + timeout;
        let before = events.len();
        loop {
            self.poll(events);
            if events.len() > before || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Runs one HTTP probe of `kind` against `path` of `container`'s workload, from inside its
    /// pod's network namespace; `None` if the container is not running.
    pub fn probe_http(
        &mut self,
        container: ContainerId,
        kind: ProbeKind,
        path: &str,
        timeout: Duration,
    ) -> Option<RuntimeEvent> {
        let port = self.containers.get(&container)?.http_port;
        let pod = self.pods.get(&container.sandbox())?;
        let outcome = pod.sandbox.probe(ProbeTarget::Http { port, path: path.to_string() }, timeout);
        Some(RuntimeEvent::ProbeResult { container, kind, success: outcome.is_success(), at: self.now() })
    }

    fn start(
        &mut self,
        now: SimTime,
        container: ContainerId,
        role: ContainerRole,
        values: CgroupValues,
        oom: i64,
    ) -> Result<RuntimeEvent, String> {
        let pod = self.pods.get(&container.sandbox()).ok_or("no sandbox for this container")?;
        let index = usize::from(container.index());
        let workload = match &pod.workload {
            Some(w) => w.container(index, role == ContainerRole::Init),
            None => PodWorkload::default_for(role == ContainerRole::Init),
        };
        let mut spec = ProgramSpec::from_workload(
            &workload,
            &self.streams,
            container.0.wrapping_add(self.config.node_salt),
            self.config.horizon,
        );
        spec.http_port = DEFAULT_HTTP_PORT + container.index() as u16;
        spec.health_files = true;
        let exec = match &self.config.program {
            WorkloadProgram::SelfExe => self_workload_exec(spec.to_json()),
            WorkloadProgram::Path(p, args) => workload_exec(p.clone(), args, spec.to_json()),
        };
        let name = format!("c-{}-{}", container.index(), container.instance());
        let log = match &self.config.log_dir {
            Some(dir) => Some(
                File::create(dir.join(format!("pod-{}-{name}.log", container.pod())))
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let c = self
            .host
            .start_container(&pod.sandbox, &name, &values, Some(oom), exec, log)
            .map_err(|e| e.to_string())?;
        self.containers.insert(container, Running { container: c, http_port: spec.http_port, kill_at: None });
        Ok(RuntimeEvent::ContainerStarted { container, at: self.stamp(now) })
    }
}

impl NodeRuntime for LinuxNodeRuntime {
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>) {
        match command {
            RuntimeCommand::CreateSandbox { sandbox, cgroup, workload } => {
                let values = CgroupValues::pod(&cgroup, self.config.pod_pids_limit);
                let name = format!("pod-{}", sandbox.0);
                match self.host.create_sandbox(&self.node, &name, &values, &name) {
                    Ok(sb) => {
                        self.pods.insert(sandbox, Pod { sandbox: sb, workload });
                        events.push(RuntimeEvent::SandboxReady { sandbox, at: self.stamp(now) });
                    }
                    Err(e) => self.errors.push(format!("create sandbox {sandbox:?}: {e}")),
                }
            }
            RuntimeCommand::PullImage { container, .. } => {
                events.push(RuntimeEvent::ImagePulled { container, result: Ok(()), at: self.stamp(now) });
            }
            RuntimeCommand::StartContainer { container, role, cgroup, oom_score_adj } => {
                let values = CgroupValues::container(&cgroup, self.config.weight_formula);
                match self.start(now, container, role, values, oom_score_adj) {
                    Ok(ev) => events.push(ev),
                    Err(e) => {
                        // runc reports a failed start as exit code 128 (StartError).
                        self.errors.push(format!("start {container:?}: {e}"));
                        events.push(RuntimeEvent::ContainerExited {
                            container,
                            exit_code: 128,
                            signal: None,
                            oom_killed: false,
                            at: self.stamp(now),
                        });
                    }
                }
            }
            RuntimeCommand::StopContainer { container, timeout } => {
                if let Some(r) = self.containers.get_mut(&container) {
                    if timeout.is_zero() {
                        let _ = r.container.process.signal(SIGKILL);
                    } else {
                        let _ = r.container.process.signal(SIGTERM);
                        let grace = Duration::from_nanos(timeout.as_nanos());
                        let at = Instant::now()
                            .checked_add(grace)
                            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
                        // A second stop can only bring the SIGKILL forward.
                        r.kill_at = Some(r.kill_at.map_or(at, |k| k.min(at)));
                    }
                }
            }
            RuntimeCommand::RunProbe { container, kind, action, timeout } => {
                self.run_probe(now, container, kind, &action, timeout, events);
            }
            RuntimeCommand::RemoveSandbox { sandbox } => {
                let lo = ContainerId(sandbox.0 << 32);
                let hi = ContainerId(((sandbox.0 + 1) << 32).saturating_sub(1));
                let gone: Vec<ContainerId> = self.containers.range(lo..=hi).map(|(id, _)| *id).collect();
                for id in gone {
                    self.probes.retain(|p| p.container != id); // an exec probe is killed on drop
                    self.containers.remove(&id); // drop: SIGKILL through the pidfd, reap
                }
                if let Some(pod) = self.pods.remove(&sandbox) {
                    if let Err(e) = self.host.remove_sandbox(pod.sandbox) {
                        self.errors.push(format!("remove sandbox {sandbox:?}: {e}"));
                    }
                }
            }
        }
    }

    fn commit(&mut self, _now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent> {
        // Events here are facts already observed, never plans: only a sandbox removed since is stale.
        match &event {
            RuntimeEvent::SandboxReady { sandbox, .. } => self.pods.contains_key(sandbox).then_some(event),
            _ => Some(event),
        }
    }

    fn stats(&mut self, _now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError> {
        let r = self.containers.get(&container).ok_or(RuntimeError::UnknownContainer(container))?;
        let s = self
            .host
            .driver()
            .stats(&r.container.path)
            .map_err(|_| RuntimeError::UnknownContainer(container))?;
        Ok(ContainerStats {
            cpu_usage_us: s.cpu_usage_ns / 1000,
            cpu_nr_periods: s.nr_periods,
            cpu_nr_throttled: s.nr_throttled,
            cpu_throttled_us: s.throttled_ns / 1000,
            memory_working_set_bytes: i64::try_from(s.memory_working_set_bytes).unwrap_or(i64::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_probes_go_to_the_workload_programs_port_with_the_path_of_their_kind() {
        let get = ProbeAction::HttpGet { path: "/custom".into(), port: 80 };
        let at = |kind| probe_target(ProbeTargets::WorkloadProgram, &get, kind, 8081);
        assert_eq!(at(ProbeKind::Liveness), Some(ProbeTarget::Http { port: 8081, path: "/healthz".into() }));
        assert_eq!(at(ProbeKind::Readiness), Some(ProbeTarget::Http { port: 8081, path: "/ready".into() }));
        assert_eq!(at(ProbeKind::Startup), Some(ProbeTarget::Http { port: 8081, path: "/startup".into() }));
        let tcp = ProbeAction::TcpSocket { port: 5432 };
        let grpc = ProbeAction::Grpc { port: 9090, service: None };
        for action in [&tcp, &grpc] {
            assert_eq!(
                probe_target(ProbeTargets::WorkloadProgram, action, ProbeKind::Liveness, 8081),
                Some(ProbeTarget::Tcp { port: 8081 })
            );
        }
        let exec = ProbeAction::Exec { command: vec!["cat".into(), "/tmp/healthy".into()] };
        assert_eq!(probe_target(ProbeTargets::WorkloadProgram, &exec, ProbeKind::Liveness, 8081), None);
    }

    #[test]
    fn told_otherwise_network_probes_use_the_port_and_path_of_the_spec() {
        let get = ProbeAction::HttpGet { path: "/custom".into(), port: 80 };
        assert_eq!(
            probe_target(ProbeTargets::AsSpecified, &get, ProbeKind::Readiness, 8081),
            Some(ProbeTarget::Http { port: 80, path: "/custom".into() })
        );
        let tcp = ProbeAction::TcpSocket { port: 5432 };
        assert_eq!(
            probe_target(ProbeTargets::AsSpecified, &tcp, ProbeKind::Liveness, 8081),
            Some(ProbeTarget::Tcp { port: 5432 })
        );
        // A port out of range cannot be probed: the runtime reports a failure.
        let bad = ProbeAction::TcpSocket { port: 70_000 };
        assert_eq!(probe_target(ProbeTargets::AsSpecified, &bad, ProbeKind::Liveness, 8081), None);
    }
}
