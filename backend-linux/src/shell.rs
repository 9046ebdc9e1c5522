//! The wall-clock shell: the unchanged cluster (API store, scheduler, controllers, kubelets) driven
//! by a monotonic clock, with a [`LinuxNodeRuntime`] under every kubelet.
//!
//! The cluster's event queue is the timer structure: the shell sleeps until the earliest queued
//! deadline (a kubelet's probe period, a controller resync, a back-off), at most one
//! [`WallClock::poll_interval`] at a time, then collects what the real nodes saw on their own
//! (exits through pidfds, OOM kills, probe results) with [`Cluster::poll_runtimes`] and runs every
//! event that is due. Time is the real time since one shared epoch, as a [`SimTime`], so the event
//! log has the same schema and time base as a simulated run.
//!
//! Nothing here branches the shared code: the cluster asks its [`RuntimeFactory`] for each node's
//! runtime ([`LinuxRuntimeFactory`]), exactly as the simulator's factory hands out simulated ones.
//!
//! What a real node cannot do, it says: a start-latency fault is recorded as unsupported, an image
//! missing from the "registry" changes nothing (the image is always the workload program), and a
//! container kill is a SIGKILL (exit 137) whatever exit code the scenario asked for.
#![allow(clippy::disallowed_methods)] // the wall-clock shell reads the real clock: that is its job

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubesim_cluster::node_runtime::{ContainerUsage, ImageCatalog};
use kubesim_cluster::{Cluster, ClusterError, ClusterNodeRuntime, RuntimeContext, RuntimeFactory};
use kubesim_kubelet::cgroups::WeightFormula;
use kubesim_kubelet::runtime::{
    ContainerId, ContainerStats, NodeRuntime, RuntimeCommand, RuntimeError, RuntimeEvent,
};
use sim_core::{SimDuration, SimTime};

use crate::host::Host;
use crate::runtime::{LinuxNodeRuntime, LinuxRuntimeConfig, WorkloadProgram};

/// Errors the real nodes met while carrying out commands, shared by every node of a run.
pub type ErrorSink = Arc<Mutex<Vec<String>>>;

/// Hands each node of a cluster a real runtime on `host`.
#[derive(Debug)]
pub struct LinuxRuntimeFactory {
    host: Arc<Host>,
    epoch: Instant,
    program: WorkloadProgram,
    horizon: SimDuration,
    weight_formula: WeightFormula,
    log_dir: Option<PathBuf>,
    errors: ErrorSink,
}

impl LinuxRuntimeFactory {
    /// Nodes on `host`, counting time from `epoch`, each container running `program` with its
    /// workload flattened up to `horizon` (the run's length).
    pub fn new(host: Arc<Host>, epoch: Instant, program: WorkloadProgram, horizon: SimDuration) -> Self {
        LinuxRuntimeFactory {
            host,
            epoch,
            program,
            horizon,
            weight_formula: WeightFormula::QuadraticLog,
            log_dir: None,
            errors: ErrorSink::default(),
        }
    }

    /// Container output goes to files in `dir`.
    pub fn with_log_dir(mut self, dir: PathBuf) -> Self {
        self.log_dir = Some(dir);
        self
    }

    /// Where the nodes put the errors they meet.
    pub fn errors(&self) -> ErrorSink {
        self.errors.clone()
    }
}

impl RuntimeFactory for LinuxRuntimeFactory {
    fn create(&mut self, ctx: RuntimeContext<'_>) -> Result<Box<dyn ClusterNodeRuntime>, String> {
        let status = &ctx.node.status;
        // The node subtree gets the node's allocatable (the kubepods cgroup's limits).
        let mut config = LinuxRuntimeConfig::node(
            &ctx.node.meta.name,
            status.allocatable.cpu_millis(),
            status.allocatable.memory_bytes(),
        );
        config.program = self.program.clone();
        config.horizon = self.horizon;
        config.weight_formula = self.weight_formula;
        config.seed = ctx.config.seed;
        // The simulated runtime's salt for the same node, so seeded crash draws agree.
        config.node_salt = u64::from(ctx.index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        config.log_dir = self.log_dir.clone();
        let runtime = LinuxNodeRuntime::new(self.host.clone(), config)
            .map_err(|e| format!("real node {}: {e}", ctx.node.meta.name))?
            .with_epoch(self.epoch);
        Ok(Box::new(RealNode {
            name: ctx.node.meta.name.to_string(),
            runtime: RefCell::new(runtime),
            last: BTreeMap::new(),
            errors: self.errors.clone(),
        }))
    }
}

/// One real node as the cluster drives it: the runtime plus what usage sampling remembers.
#[derive(Debug)]
struct RealNode {
    name: String,
    /// In a cell because reading a cgroup counter for metrics-server is a `&self` question.
    runtime: RefCell<LinuxNodeRuntime>,
    /// Per running container: the previous usage sample (when, counters then).
    last: BTreeMap<ContainerId, (SimTime, ContainerStats)>,
    errors: ErrorSink,
}

impl RealNode {
    fn drain_errors(&self) {
        let errors = self.runtime.borrow_mut().take_errors();
        if !errors.is_empty() {
            if let Ok(mut sink) = self.errors.lock() {
                sink.extend(errors.into_iter().map(|e| format!("{}: {e}", self.name)));
            }
        }
    }
}

impl NodeRuntime for RealNode {
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>) {
        self.runtime.get_mut().execute(now, command, events);
        self.drain_errors();
    }

    fn commit(&mut self, now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent> {
        let event = self.runtime.get_mut().commit(now, event)?;
        match &event {
            RuntimeEvent::ContainerStarted { container, at } => {
                self.last.insert(*container, (*at, ContainerStats::default()));
            }
            RuntimeEvent::ContainerExited { container, .. } => {
                self.last.remove(container);
            }
            _ => {}
        }
        Some(event)
    }

    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError> {
        self.runtime.get_mut().stats(now, container)
    }
}

impl ClusterNodeRuntime for RealNode {
    fn usage(&mut self, now: SimTime) -> Vec<ContainerUsage> {
        let runtime = self.runtime.get_mut();
        let mut out = Vec::new();
        for id in runtime.container_ids() {
            let Ok(stats) = runtime.stats(now, id) else { continue };
            let (since, before) = self.last.get(&id).copied().unwrap_or((now, stats));
            let interval_us = now.saturating_duration_since(since).as_nanos() / 1_000;
            let cpu_us = stats.cpu_usage_us.saturating_sub(before.cpu_usage_us);
            let periods = stats.cpu_nr_periods.saturating_sub(before.cpu_nr_periods);
            let throttled = stats.cpu_nr_throttled.saturating_sub(before.cpu_nr_throttled);
            out.push(ContainerUsage {
                container: id,
                cpu_millis: if interval_us >= 1_000 {
                    cpu_us as f64 * 1_000.0 / interval_us as f64
                } else {
                    0.0
                },
                throttled_ratio: if periods > 0 { throttled as f64 / periods as f64 } else { 0.0 },
                memory_working_set_bytes: stats.memory_working_set_bytes,
            });
            self.last.insert(id, (now, stats));
        }
        out
    }

    fn crash(&mut self, now: SimTime) {
        let runtime = self.runtime.get_mut();
        let mut ignored = Vec::new();
        for sandbox in runtime.sandbox_ids() {
            runtime.execute(now, RuntimeCommand::RemoveSandbox { sandbox }, &mut ignored);
        }
        self.last.clear();
        self.drain_errors();
    }

    fn kill(&mut self, now: SimTime, container: ContainerId, _exit_code: i32) -> Option<RuntimeEvent> {
        // A real kill is a SIGKILL; the exit (137) arrives through `poll`.
        let mut events = Vec::new();
        self.runtime.get_mut().execute(
            now,
            RuntimeCommand::StopContainer { container, timeout: SimDuration::ZERO },
            &mut events,
        );
        None
    }

    fn set_container_start_latency(&mut self, _latency: SimDuration) -> bool {
        false
    }

    fn set_catalog(&mut self, _catalog: Arc<ImageCatalog>) {}

    fn poll(&mut self, _now: SimTime, events: &mut Vec<RuntimeEvent>) {
        self.runtime.get_mut().poll(events);
        self.drain_errors();
    }

    fn measured_cpu_usage_us(&self, container: ContainerId) -> Option<u64> {
        let mut runtime = self.runtime.borrow_mut();
        let now = runtime.now();
        runtime.stats(now, container).ok().map(|s| s.cpu_usage_us)
    }

    fn measures_cpu_usage(&self) -> bool {
        true
    }
}

/// A monotonic clock driving a cluster.
#[derive(Debug, Clone)]
pub struct WallClock {
    epoch: Instant,
    /// The longest the shell sleeps before looking at the real nodes again.
    pub poll_interval: Duration,
    interrupted: Option<&'static AtomicBool>,
}

impl WallClock {
    /// A clock whose zero is `epoch` (give the runtime factory the same one).
    pub fn new(epoch: Instant) -> Self {
        WallClock { epoch, poll_interval: Duration::from_millis(5), interrupted: None }
    }

    /// Stop with [`ClusterError::Stopped`] once SIGINT or SIGTERM arrives (see
    /// [`install_interrupt_flag`]).
    pub fn interruptible(mut self) -> Self {
        self.interrupted = Some(install_interrupt_flag());
        self
    }

    /// Real time since the epoch.
    pub fn now(&self) -> SimTime {
        SimTime::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// Runs `cluster` in real time until `until`: everything due is handled as the clock passes
    /// it, what the nodes report is delivered when it is seen.
    pub fn advance<W: Write>(
        &mut self,
        cluster: &mut Cluster<W>,
        until: SimTime,
    ) -> Result<(), ClusterError> {
        loop {
            if self.interrupted.is_some_and(|f| f.load(Ordering::Relaxed)) {
                return Err(ClusterError::Stopped("interrupted (SIGINT/SIGTERM)".into()));
            }
            let now = self.now().min(until).max(cluster.now());
            cluster.run_until(now)?;
            if cluster.poll_runtimes() > 0 {
                cluster.run_until(now)?;
            }
            if now >= until {
                return Ok(());
            }
            let next = cluster.next_event_time().unwrap_or(until).min(until);
            let wait = Duration::from_nanos(next.saturating_duration_since(self.now()).as_nanos());
            let wait = wait.min(self.poll_interval);
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set a flag instead of killing the process, so a run can stop, kill
/// its containers and remove its cgroups. Idempotent.
pub fn install_interrupt_flag() -> &'static AtomicBool {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe; the
        // sigaction struct is fully initialised (zeroed, then handler and mask set).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(signal, &sa, std::ptr::null_mut());
        }
    }
    &INTERRUPTED
}
