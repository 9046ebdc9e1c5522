//! What the cluster needs from a node's runtime, beyond the kubelet's [`NodeRuntime`] verbs, and
//! how it gets one per node.
//!
//! The cluster is the host of the control plane for both shells: the simulation drives it from
//! virtual time with [`SimNodeRuntime`]s (the default [`SimRuntimeFactory`]); the wall-clock
//! shell in `backend-linux` drives the very same cluster with real runtimes through
//! [`Cluster::with_runtime_factory`](crate::Cluster::with_runtime_factory). Nothing in the
//! scheduler, controllers or kubelets knows which.
//!
//! The extra verbs are what faults and metrics need: kill a container, crash the node, read usage.
//! Runtimes that measure rather than model (a real node) also report what happened on its own
//! since the last look ([`ClusterNodeRuntime::poll`]); a simulated runtime plans every event when
//! the command is executed and has nothing to poll.

use std::sync::Arc;

use kubesim_api::Node;
use kubesim_kubelet::{ContainerId, NodeRuntime, RuntimeEvent};
use kubesim_runtime_sim::SimNodeRuntime;
pub use kubesim_runtime_sim::{ContainerUsage, ImageCatalog};
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::config::ClusterConfig;

/// A node runtime as the cluster drives it. `Send`, so that the nodes' own work of one
/// instant (usage sampling) can be split over threads.
pub trait ClusterNodeRuntime: NodeRuntime + std::fmt::Debug + Send {
    /// Usage of every running container over the interval since the previous call, in id order.
    fn usage(&mut self, now: SimTime) -> Vec<ContainerUsage>;
    /// Whether [`usage`](Self::usage) reads and writes this runtime alone (a model's accounting),
    /// so that the usage of many nodes may be taken at once on several threads with the same
    /// results. Default: no (a real node reports errors to a shared sink, in call order).
    fn usage_is_local(&self) -> bool {
        false
    }
    /// The node crashed: every container is gone, no exit is reported.
    fn crash(&mut self, now: SimTime);
    /// Kills a running container (exit 137 = SIGKILL, else the process's own code). Returns the
    /// exit event when the runtime knows it at once; a real runtime reports it through
    /// [`poll`](Self::poll) instead.
    fn kill(&mut self, now: SimTime, container: ContainerId, exit_code: i32) -> Option<RuntimeEvent>;
    /// Changes the container start latency (a slow-start fault). `false` if the runtime cannot.
    fn set_container_start_latency(&mut self, latency: SimDuration) -> bool;
    /// The registry changed (an image became missing or available again).
    fn set_catalog(&mut self, catalog: Arc<ImageCatalog>);
    /// Events that happened on their own since the last call (exits, OOM kills, probe results),
    /// each stamped with when it happened. Default: none (a model plans its events up front).
    fn poll(&mut self, _now: SimTime, _events: &mut Vec<RuntimeEvent>) {}
    /// The container's cumulative CPU time in µs when the runtime *measures* it (a real node's
    /// cgroup counter), for metrics-server's rate between two scrapes. `None` = use the workload
    /// model, which is where the simulated runtime's demand comes from anyway.
    fn measured_cpu_usage_us(&self, _container: ContainerId) -> Option<u64> {
        None
    }

    /// Whether [`measured_cpu_usage_us`](Self::measured_cpu_usage_us) can ever answer: when not,
    /// a scrape does not look the container up at all (it is called for every running container
    /// every 15 s).
    fn measures_cpu_usage(&self) -> bool {
        false
    }
}

impl ClusterNodeRuntime for SimNodeRuntime {
    fn usage(&mut self, now: SimTime) -> Vec<ContainerUsage> {
        SimNodeRuntime::usage(self, now)
    }
    fn usage_is_local(&self) -> bool {
        true
    }
    fn crash(&mut self, now: SimTime) {
        SimNodeRuntime::crash(self, now);
    }
    fn kill(&mut self, now: SimTime, container: ContainerId, exit_code: i32) -> Option<RuntimeEvent> {
        SimNodeRuntime::kill(self, now, container, exit_code)
    }
    fn set_container_start_latency(&mut self, latency: SimDuration) -> bool {
        SimNodeRuntime::set_container_start_latency(self, latency);
        true
    }
    fn set_catalog(&mut self, catalog: Arc<ImageCatalog>) {
        SimNodeRuntime::set_catalog(self, catalog);
    }
}

/// Everything a factory may use to build node `index`'s runtime.
#[derive(Debug)]
pub struct RuntimeContext<'a> {
    /// The node as it is being added.
    pub node: &'a Node,
    /// Its dense index (stable for the run; salts its random draws).
    pub index: u32,
    /// When it is added.
    pub now: SimTime,
    /// The cluster's configuration (runtime latencies, images, seed).
    pub config: &'a ClusterConfig,
    /// The run's random streams.
    pub streams: RngStreams,
}

/// Makes one runtime per node.
pub trait RuntimeFactory: std::fmt::Debug {
    /// The runtime for a node being added; an error refuses the node.
    fn create(&mut self, ctx: RuntimeContext<'_>) -> Result<Box<dyn ClusterNodeRuntime>, String>;
}

/// The simulation's factory: a [`SimNodeRuntime`] per node with the node's CPU capacity.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimRuntimeFactory;

impl RuntimeFactory for SimRuntimeFactory {
    fn create(&mut self, ctx: RuntimeContext<'_>) -> Result<Box<dyn ClusterNodeRuntime>, String> {
        let mut runtime = SimNodeRuntime::new(
            ctx.config.runtime.clone(),
            ctx.config.images.clone(),
            ctx.streams,
            u64::from(ctx.index),
        );
        // Containers may use the whole machine (the kubepods cgroup has no quota).
        let status = &ctx.node.status;
        let cpu_millis = match status.capacity.cpu_millis() {
            0 => status.allocatable.cpu_millis(),
            c => c,
        };
        if cpu_millis > 0 {
            runtime.set_cpu_capacity_millis(ctx.now, cpu_millis as u64);
        }
        Ok(Box::new(runtime))
    }
}
