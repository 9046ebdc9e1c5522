//! # kubesim-kubelet: the kubelet as a sans-IO state machine
//!
//! The pieces here are pure: they take objects, specs and `now` and return decisions. The
//! event-driven pod workers that tie them together come next; the real Linux backend reuses the
//! cgroup mapping verbatim.
//!
//! | module | contents | upstream |
//! |---|---|---|
//! | [`qos`] | QoS class, `oom_score_adj` | `helper/qos`, `kubelet/qos/policy.go` |
//! | [`cgroups`] | shares, v2 weight (linear/quadratic), CFS quota, memory limit, pod-level values | `cm/helpers_linux.go`, runc |
//! | [`probes`] | analytic probe workers (next result change from the health timeline), the per-period oracle, and per-period workers whose probes a runtime executes | `prober/worker.go`, `prober_manager.go` |
//! | [`backoff`] | CrashLoopBackOff state per container (10 s doubling to 300 s, reset after 10 min) | `kuberuntime :: doBackOff`, `flowcontrol.Backoff` |
//! | [`runtime`] | `NodeRuntime` trait (six CRI-like commands, `RunProbe` included) and inbound `RuntimeEvent`s | CRI |
//! | [`termination`] | grace period, preStop, SIGTERM then SIGKILL timing, exit codes | `killContainer` |

#![warn(missing_docs, unreachable_pub)]

pub mod backoff;
pub mod cgroups;
pub mod eviction;
pub mod kubelet;
pub mod probes;
pub mod qos;
pub mod runtime;
pub mod termination;

pub use backoff::{BackoffConfig, CrashLoopBackoff, RestartDecision};
pub use kubelet::{Kubelet, KubeletConfig, KubeletEffect, KubeletInput, ProbeMode, TimerToken};
pub use probes::NaiveProbes;
pub use probes::{
    ContainerProbes, ExecutedProbes, ProbeKind, ProbeRequest, ProbeResult, ProbeSpec, ProbeTransition,
};
pub use qos::{pod_qos, QosClass};
pub use runtime::{
    ContainerId, ContainerRole, ImagePullError, NodeRuntime, RuntimeCommand, RuntimeEvent, SandboxId,
};
