//! # kubesim-backend-linux: the real Linux backend
//!
//! The same kubelet that drives the simulated runtime can drive real processes: each node a cgroup
//! subtree, each pod a child cgroup plus a sandbox process holding its network, IPC and UTS
//! namespaces, each container a real process in new PID and mount namespaces that joins the
//! sandbox's, running the workload program. See `shared/reference/real-backend.md` for the
//! measurements behind the choices.
//!
//! | module | job | runs on |
//! |---|---|---|
//! | [`values`] | kubelet cgroup values → v1/v2 files (pure) | everywhere |
//! | [`layout`] | host layout detection (mountinfo, own cgroup paths), privilege check | everywhere (parsing) |
//! | [`driver`] | [`CgroupDriver`](driver::CgroupDriver) trait, [`V1Driver`](driver::V1Driver), [`V2Driver`](driver::V2Driver) on injected roots | everywhere |
//! | [`run_root`] | `ksim-<pid>-<start>-<n>` run roots with the owner record; sweep of crashed runs | everywhere |
//! | [`program`] | [`ProgramSpec`](program::ProgramSpec): a workload flattened for the workload program | everywhere |
//! | [`player`] | the workload program: CPU, memory, health endpoints, SIGTERM, PID-1 reaping | Linux |
//! | [`sys`] | raw syscalls: `clone3`, pidfds, `setns` | Linux |
//! | [`host`] | [`Host`](host::Host): refusal checks, a run root, the spawner thread, pods and containers | Linux |
//! | [`prober`] | HTTP/TCP probes from a thread living in the pod's network namespace | Linux |
//! | [`shell`] | the wall-clock shell: [`WallClock`](shell::WallClock) drives the unchanged cluster, [`LinuxRuntimeFactory`](shell::LinuxRuntimeFactory) gives each node a real runtime | Linux |
//! | [`runtime`] | [`LinuxNodeRuntime`](runtime::LinuxNodeRuntime): the kubelet's `NodeRuntime` in wall-clock time | Linux |
//!
//! Safety rules kept throughout: nothing is written outside our own cgroup's `ksim-*` subtree;
//! containers die with the backend (`PR_SET_PDEATHSIG` from one long-lived spawner thread);
//! exits are observed through pidfds, never `waitpid(-1)`; a crashed run is swept by the next.

#![warn(missing_docs, unreachable_pub)]

pub mod driver;
pub mod layout;
pub mod program;
pub mod run_root;
pub mod sys;
pub mod values;

#[cfg(target_os = "linux")]
pub mod host;
#[cfg(target_os = "linux")]
pub mod player;
#[cfg(target_os = "linux")]
pub mod prober;
#[cfg(target_os = "linux")]
pub mod runtime;
#[cfg(target_os = "linux")]
pub mod shell;
