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
#![allow(clippy::disallowed_methods)] // the real backend lives in real time: Instant::now is its clock

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kubesim_kubelet::cgroups::WeightFormula;
use kubesim_kubelet::probes::ProbeKind;
use kubesim_kubelet::runtime::{
    ContainerId, ContainerRole, ContainerStats, NodeRuntime, RuntimeCommand, RuntimeError, RuntimeEvent,
    SandboxId,
};
use kubesim_workload::PodWorkload;
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::driver::CgPath;
use crate::host::{self_workload_exec, workload_exec, Container, Host, HostError, Sandbox};
use crate::prober::ProbeTarget;
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
        }
    }
}

#[derive(Debug)]
struct Pod {
    sandbox: Sandbox,
    workload: Option<Arc<PodWorkload>>,
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
            errors: Vec::new(),
        })
    }

    /// Real time since the runtime was created.
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

    /// Reaps exited containers and sends due SIGKILLs; pushes what happened.
    pub fn poll(&mut self, events: &mut Vec<RuntimeEvent>) {
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
            RuntimeCommand::RemoveSandbox { sandbox } => {
                let lo = ContainerId(sandbox.0 << 32);
                let hi = ContainerId(((sandbox.0 + 1) << 32).saturating_sub(1));
                let gone: Vec<ContainerId> = self.containers.range(lo..=hi).map(|(id, _)| *id).collect();
                for id in gone {
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
