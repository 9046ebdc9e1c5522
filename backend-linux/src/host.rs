//! [`Host`]: the real backend's hold on this machine — refusal checks, one run root, the spawner
//! thread — and the pod sandboxes and containers created through it.
//!
//! Opening a host checks privileges and the cgroup layout **before touching anything** and
//! refuses with what is missing; then it sweeps the run roots of dead owners and creates its own.
//! All processes are created on one long-lived spawner thread, because `PR_SET_PDEATHSIG` fires
//! when the *thread* that forked exits: so containers die with the host (or with the process when
//! it crashes), never earlier. Dropping the host kills everything in its run root and removes it.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::driver::{driver_for, CgPath, CgroupDriver, CgroupError};
use crate::layout::{self, LayoutError, PrivilegeError, Privileges};
use crate::prober::{NetnsProber, PendingProbe, ProbeOutcome, ProbeTarget};
use crate::run_root::{self, RunRootName};
use crate::sys::{self, ChildSetup, Exec, ExitStatus, Spawned};
use crate::values::CgroupValues;

/// Why the host cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Not root or missing capabilities.
    #[error(transparent)]
    Privileges(#[from] PrivilegeError),
    /// `/proc/self/status` unreadable.
    #[error("cannot read the process's privileges from /proc/self/status")]
    UnknownPrivileges,
    /// No usable cgroup layout.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// Creating a process failed.
    #[error("{what}: {source}")]
    Spawn {
        /// What was being created.
        what: String,
        /// Why.
        source: io::Error,
    },
}

type Job = Box<dyn FnOnce() + Send>;

/// The long-lived thread every clone happens on.
#[derive(Debug)]
struct Spawner {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Spawner {
    fn start() -> io::Result<Spawner> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name("ksim-spawner".into()).spawn(move || {
            for job in rx {
                job();
            }
        })?;
        Ok(Spawner { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)) })
    }

    fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> io::Result<R> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let sent = self.tx.lock().map_err(|_| io::Error::other("spawner poisoned"))?.as_ref().map(|tx| {
            tx.send(Box::new(move || {
                let _ = rtx.send(f());
            }))
        });
        match sent {
            Some(Ok(())) => rrx.recv().map_err(|_| io::Error::other("spawner thread died")),
            _ => Err(io::Error::other("spawner stopped")),
        }
    }

    /// Queues `f` and returns at once; its result arrives on the receiver. (If the receiver is
    /// gone by then, the result is dropped on the spawner thread: a `Process` is killed and reaped.)
    fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> io::Result<mpsc::Receiver<R>> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let sent = self.tx.lock().map_err(|_| io::Error::other("spawner poisoned"))?.as_ref().map(|tx| {
            tx.send(Box::new(move || {
                let _ = rtx.send(f());
            }))
        });
        match sent {
            Some(Ok(())) => Ok(rrx),
            _ => Err(io::Error::other("spawner stopped")),
        }
    }

    fn stop(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// The backend's hold on this machine.
#[derive(Debug)]
pub struct Host {
    driver: Arc<dyn CgroupDriver>,
    root: CgPath,
    spawner: Spawner,
}

/// Checks that the real backend can run here, without touching anything: privileges, then the
/// cgroup layout. The error says what is missing and how to run.
pub fn preflight() -> Result<layout::Layout, HostError> {
    Privileges::current().ok_or(HostError::UnknownPrivileges)?.check()?;
    Ok(layout::detect()?)
}

impl Host {
    /// Preflight, sweep dead runs' leftovers, create this run's root.
    pub fn open() -> Result<Host, HostError> {
        let layout = preflight()?;
        let driver: Arc<dyn CgroupDriver> = Arc::from(driver_for(&layout));
        run_root::sweep(driver.as_ref(), &run_root::owner_alive)?;
        let owner = run_root::own_record().ok_or(HostError::UnknownPrivileges)?;
        let root = CgPath::root().child(&run_root::next_name(owner).render())?;
        driver.create(&root)?;
        let spawner =
            Spawner::start().map_err(|source| HostError::Spawn { what: "spawner thread".into(), source })?;
        Ok(Host { driver, root, spawner })
    }

    /// The cgroup driver.
    pub fn driver(&self) -> &dyn CgroupDriver {
        self.driver.as_ref()
    }

    /// This run's root (`ksim-<pid>-<start>-<n>`).
    pub fn run_root(&self) -> &CgPath {
        &self.root
    }

    /// Parses this run's root name.
    pub fn run_root_name(&self) -> Option<RunRootName> {
        self.root.components().last().and_then(|n| RunRootName::parse(n))
    }

    /// Creates a node subtree with `cpu_millis` of CPU and `memory_bytes` of memory.
    pub fn create_node(&self, name: &str, cpu_millis: i64, memory_bytes: i64) -> Result<CgPath, HostError> {
        let path = self.root.child(name)?;
        self.driver.create(&path)?;
        self.driver.apply(&path, &CgroupValues::node(cpu_millis, memory_bytes))?;
        Ok(path)
    }

    /// Creates a pod: its cgroup under `node` with `values`, and a sandbox process holding new
    /// network (with `lo` up), IPC and UTS (`hostname`) namespaces, in `<pod>/pause`.
    pub fn create_sandbox(
        &self,
        node: &CgPath,
        name: &str,
        values: &CgroupValues,
        hostname: &str,
    ) -> Result<Sandbox, HostError> {
        let path = node.child(name)?;
        self.driver.create(&path)?;
        self.driver.apply(&path, values)?;
        let pause = path.child("pause")?;
        self.driver.create(&pause)?;
        let setup = ChildSetup {
            hostname: Some(hostname.as_bytes().to_vec()),
            loopback_up: true,
            ..ChildSetup::default()
        };
        let flags = (libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) as u64;
        let spawned = self.spawn(flags, &pause, setup, format!("sandbox {path}"))?;
        let ns = |kind: &str| {
            File::open(format!("/proc/{}/ns/{kind}", spawned.pid)).map_err(|source| HostError::Spawn {
                what: format!("open {kind} namespace of {path}"),
                source,
            })
        };
        let (net, ipc, uts) = (ns("net")?, ns("ipc")?, ns("uts")?);
        let prober = NetnsProber::new(
            net.try_clone().map_err(|source| HostError::Spawn { what: "prober".into(), source })?,
        )
        .map_err(|source| HostError::Spawn { what: format!("prober for {path}"), source })?;
        Ok(Sandbox {
            path,
            process: Process { pid: spawned.pid, pidfd: Some(spawned.pidfd) },
            net,
            ipc,
            uts,
            prober,
        })
    }

    /// Starts a container of `sandbox`: cgroup `<pod>/<name>` with `values`, new PID and mount
    /// namespaces (fresh `/proc`), the sandbox's network, IPC and UTS namespaces, placed in its
    /// cgroup before `execve(exec)`.
    pub fn start_container(
        &self,
        sandbox: &Sandbox,
        name: &str,
        values: &CgroupValues,
        oom_score_adj: Option<i64>,
        exec: Exec,
        log: Option<File>,
    ) -> Result<Container, HostError> {
        let path = sandbox.path.child(name)?;
        self.driver.create(&path)?;
        self.driver.apply(&path, values)?;
        let oom_kills_at_start = self.driver.oom_kills(&path).unwrap_or(0);
        let dup = |f: &File| {
            f.try_clone().map_err(|source| HostError::Spawn { what: "dup namespace fd".into(), source })
        };
        let setup = ChildSetup {
            join: vec![
                (dup(&sandbox.net)?, libc::CLONE_NEWNET),
                (dup(&sandbox.ipc)?, libc::CLONE_NEWIPC),
                (dup(&sandbox.uts)?, libc::CLONE_NEWUTS),
            ],
            fresh_proc: true,
            private_tmp: true,
            oom_score_adj,
            log,
            exec: Some(exec),
            ..ChildSetup::default()
        };
        let flags = (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64;
        let spawned = self.spawn(flags, &path, setup, format!("container {path}"))?;
        Ok(Container {
            path,
            process: Process { pid: spawned.pid, pidfd: Some(spawned.pidfd) },
            oom_kills_at_start,
        })
    }

    /// Starts an exec probe in `container` **without waiting**: on the spawner thread, a process
    /// placed in the container's cgroup joins all its namespaces (network, IPC, UTS, PID, mount:
    /// one `setns` through the container's pidfd) and forks the probe command, which runs inside
    /// the container's PID namespace and sees its `/tmp` and `/proc`. The process (the
    /// intermediate, whose exit status is the command's) arrives on the receiver once it has
    /// exec'd; kill it to stop the probe. `command[0]` without a `/` is looked up in the usual
    /// `PATH` directories (containers share the host's filesystem apart from `/proc` and `/tmp`).
    pub fn start_exec_probe(
        &self,
        container: &Container,
        command: &[String],
    ) -> Result<mpsc::Receiver<Result<Process, HostError>>, HostError> {
        let spawn_err = |what: &str, source| HostError::Spawn { what: what.to_string(), source };
        let program = command
            .first()
            .and_then(|c| resolve_command(c))
            .ok_or_else(|| spawn_err("exec probe", io::Error::from(io::ErrorKind::NotFound)))?;
        let exec = Exec {
            path: program,
            argv: command.to_vec(),
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        };
        let pidfd = container.process.pidfd_dup().map_err(|e| spawn_err("dup container pidfd", e))?;
        let setup = ChildSetup {
            join: vec![(pidfd, sys::CONTAINER_NAMESPACES)],
            fork_exec: true,
            exec: Some(exec),
            ..ChildSetup::default()
        };
        let driver = Arc::clone(&self.driver);
        let cgroup = container.path.clone();
        let into_dir = driver.clone_into_dir(&cgroup);
        let what = format!("exec probe in {cgroup}");
        self.spawner
            .submit(move || {
                let dir = into_dir.map(File::open).transpose().map_err(|e| spawn_err(&what, e))?;
                let spawned = sys::spawn(0, dir.as_ref(), setup, |pid| {
                    if dir.is_some() {
                        return Ok(());
                    }
                    driver.attach(&cgroup, pid).map_err(|e| io::Error::other(e.to_string()))
                })
                .map_err(|e| spawn_err(&what, e))?;
                Ok(Process { pid: spawned.pid, pidfd: Some(spawned.pidfd) })
            })
            .map_err(|e| spawn_err("exec probe", e))
    }

    fn spawn(
        &self,
        flags: u64,
        cgroup: &CgPath,
        setup: ChildSetup,
        what: String,
    ) -> Result<Spawned, HostError> {
        let driver = Arc::clone(&self.driver);
        let cgroup = cgroup.clone();
        let into_dir = driver.clone_into_dir(&cgroup);
        let result = self.spawner.run(move || -> io::Result<Spawned> {
            let dir = into_dir.map(File::open).transpose()?;
            sys::spawn(flags, dir.as_ref(), setup, |pid| {
                if dir.is_some() {
                    return Ok(()); // v2: CLONE_INTO_CGROUP placed it already, no migration
                }
                driver.attach(&cgroup, pid).map_err(|e| io::Error::other(e.to_string()))
            })
        });
        result.and_then(|r| r).map_err(|source| HostError::Spawn { what, source })
    }

    /// Removes a pod: kills what is left in it and removes its cgroups.
    pub fn remove_sandbox(&self, mut sandbox: Sandbox) -> Result<(), HostError> {
        self.driver.kill_all(&sandbox.path)?;
        sandbox.process.kill_and_reap();
        self.driver.remove(&sandbox.path)?;
        Ok(())
    }

    /// Kills everything in the run root and removes it (also done on drop).
    pub fn close(&self) -> Result<(), HostError> {
        self.driver.kill_all(&self.root)?;
        self.driver.remove(&self.root)?;
        Ok(())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.close();
        self.spawner.stop();
    }
}

/// A child process we hold a pidfd for; killed and reaped on drop.
#[derive(Debug)]
pub struct Process {
    /// Pid in our namespace.
    pub pid: u32,
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl Process {
    /// Sends `signal` (through the pidfd, so never to a recycled pid).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        match &self.pidfd {
            Some(fd) => sys::pidfd_kill(fd, signal),
            None => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }

    /// A duplicate of its pidfd (to `setns` into its namespaces).
    pub fn pidfd_dup(&self) -> io::Result<File> {
        match &self.pidfd {
            Some(fd) => Ok(File::from(fd.try_clone()?)),
            None => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }

    /// Reaps it if it exited; `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let Some(fd) = &self.pidfd else { return Err(io::Error::from_raw_os_error(libc::ECHILD)) };
        let status = sys::wait(fd, true)?;
        if status.is_some() {
            self.pidfd = None;
        }
        Ok(status)
    }

    /// Waits up to `timeout` for it to exit and reaps it.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(fd) = &self.pidfd {
            let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            sys::poll_exit(fd, ms);
        }
        self.try_wait()
    }

    fn kill_and_reap(&mut self) {
        if let Some(fd) = self.pidfd.take() {
            let _ = sys::pidfd_kill(&fd, sys::SIGKILL);
            let _ = sys::wait(&fd, false);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// A pod sandbox: its cgroup, the process holding its namespaces, and a prober inside them.
#[derive(Debug)]
pub struct Sandbox {
    /// The pod cgroup.
    pub path: CgPath,
    /// The namespace-holding process.
    pub process: Process,
    net: File,
    ipc: File,
    uts: File,
    prober: NetnsProber,
}

impl Sandbox {
    /// Probes `target` from inside the pod's network namespace (blocks up to about `timeout`).
    pub fn probe(&self, target: ProbeTarget, timeout: Duration) -> ProbeOutcome {
        self.prober.probe(target, timeout)
    }

    /// Queues a probe of `target` on the pod's prober thread and returns at once.
    pub fn submit_probe(&self, target: ProbeTarget, timeout: Duration) -> PendingProbe {
        self.prober.submit(target, timeout)
    }
}

/// A running (or exited, not yet collected) container.
#[derive(Debug)]
pub struct Container {
    /// Its cgroup.
    pub path: CgPath,
    /// PID 1 of its PID namespace, as seen from ours.
    pub process: Process,
    /// The cgroup's OOM-kill counter when it started.
    pub oom_kills_at_start: u64,
}

/// How a container ended, as the kubelet is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerExit {
    /// 128 + signal when killed.
    pub exit_code: i32,
    /// The killing signal.
    pub signal: Option<i32>,
    /// Killed by SIGKILL **and** the cgroup's `oom_kill` counter went up (runc's rule).
    pub oom_killed: bool,
}

/// runc's `OOMKilled` rule.
pub fn classify_exit(status: ExitStatus, oom_kills_at_start: u64, oom_kills_now: u64) -> ContainerExit {
    ContainerExit {
        exit_code: status.code(),
        signal: status.signal(),
        oom_killed: status.signal() == Some(sys::SIGKILL) && oom_kills_now > oom_kills_at_start,
    }
}

impl Container {
    /// Reaps it if it exited, classifying the exit with the cgroup's OOM counter.
    pub fn try_exit(&mut self, driver: &dyn CgroupDriver) -> io::Result<Option<ContainerExit>> {
        let status = self.process.try_wait()?;
        Ok(status
            .map(|s| classify_exit(s, self.oom_kills_at_start, driver.oom_kills(&self.path).unwrap_or(0))))
    }

    /// Waits up to `timeout` for the exit.
    pub fn wait_exit(
        &mut self,
        driver: &dyn CgroupDriver,
        timeout: Duration,
    ) -> io::Result<Option<ContainerExit>> {
        let status = self.process.wait_timeout(timeout)?;
        Ok(status
            .map(|s| classify_exit(s, self.oom_kills_at_start, driver.oom_kills(&self.path).unwrap_or(0))))
    }
}

/// `command` as a path to exec: as given if it contains a `/`, else the first executable file of
/// that name in the standard `PATH` directories.
pub fn resolve_command(command: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if command.contains('/') {
        return Some(command.to_string());
    }
    ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| format!("{dir}/{command}"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The command that runs the workload program: this executable's `workload-program` subcommand.
pub fn self_workload_exec(spec_json: String) -> Exec {
    Exec {
        path: "/proc/self/exe".into(),
        argv: vec!["kubesim".into(), "workload-program".into()],
        env: vec![format!("{}={spec_json}", crate::program::SPEC_ENV), "PATH=/usr/bin:/bin".into()],
    }
}

/// The workload program at `path` (e.g. the `ksim-workload` binary) with `spec_json`.
pub fn workload_exec(path: PathBuf, args: &[String], spec_json: String) -> Exec {
    let path = path.to_string_lossy().into_owned();
    Exec {
        argv: std::iter::once(path.clone()).chain(args.iter().cloned()).collect(),
        path,
        env: vec![format!("{}={spec_json}", crate::program::SPEC_ENV), "PATH=/usr/bin:/bin".into()],
    }
}
