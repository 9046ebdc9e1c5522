//! [`SimNodeRuntime`]: one node's container runtime in virtual time, behind the kubelet's
//! [`NodeRuntime`].
//!
//! Every command is answered at once with the events it will cause, stamped with future
//! [`SimTime`]s: a sandbox ready after the sandbox latency, an image pulled when the serialized
//! puller has fetched the uncached layers, a container started after the start latency and — if
//! its workload says so — exited at the earliest of its own exit (completion, crash at a time or
//! at a seeded rate) and its OOM kill (first instant the working-set curve exceeds the memory
//! limit, [`crate::memory::oom_time`]). A stop request plans SIGTERM/SIGKILL with
//! [`kubesim_kubelet::termination`] and the workload's SIGTERM reaction. Nothing is polled: a
//! steady container costs no events after it starts.
//!
//! Because an event is planned before it happens, a later command can supersede it (a container
//! killed before its planned crash). [`NodeRuntime::commit`] drops such stale events when they
//! come due, so the kubelet only ever sees what really happened.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::PullPolicy;
use kubesim_kubelet::cgroups::ContainerCgroup;
use kubesim_kubelet::runtime::{
    ContainerId, ContainerRole, ContainerStats, ImagePullError, NodeRuntime, RuntimeCommand, RuntimeError,
    RuntimeEvent, SandboxId,
};
use kubesim_kubelet::termination::{kill_outcome, KillPlan, SigtermReaction};
use kubesim_workload::{ContainerWorkload, PodWorkload, ShutdownSpec};
use sim_core::{RngStreams, SimDuration, SimTime};

use crate::images::{ImageCache, ImageCatalog};
use crate::memory::oom_time;

/// Timing parameters of the simulated runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Sandbox creation (pause container, network setup).
    pub sandbox_latency: SimDuration,
    /// Container create + start.
    pub container_start_latency: SimDuration,
    /// Registry answer time for an image that does not exist.
    pub registry_error_latency: SimDuration,
    /// Image pull bandwidth of the node, bytes per second.
    pub image_pull_bytes_per_sec: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            sandbox_latency: SimDuration::from_millis(500),
            container_start_latency: SimDuration::from_millis(300),
            registry_error_latency: SimDuration::from_millis(200),
            image_pull_bytes_per_sec: 100_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PlannedExit {
    at: SimTime,
    exit_code: i32,
    signal: Option<i32>,
    oom_killed: bool,
}

impl PlannedExit {
    fn event(&self, container: ContainerId) -> RuntimeEvent {
        RuntimeEvent::ContainerExited {
            container,
            exit_code: self.exit_code,
            signal: self.signal,
            oom_killed: self.oom_killed,
            at: self.at,
        }
    }
}

#[derive(Clone, Debug)]
struct Container {
    workload: Arc<ContainerWorkload>,
    /// When it runs (after the start latency).
    start: SimTime,
    exit: Option<PlannedExit>,
    cgroup: ContainerCgroup,
}

/// One node's simulated runtime.
#[derive(Clone, Debug)]
pub struct SimNodeRuntime {
    config: RuntimeConfig,
    catalog: Arc<ImageCatalog>,
    streams: RngStreams,
    /// Mixed into random-crash stream indices so nodes draw independently.
    node_salt: u64,
    images: ImageCache,
    sandboxes: BTreeMap<SandboxId, Option<Arc<PodWorkload>>>,
    containers: BTreeMap<ContainerId, Container>,
}

impl SimNodeRuntime {
    /// A node with an empty image cache. `node_index` separates its random draws from other nodes'.
    pub fn new(
        config: RuntimeConfig,
        catalog: Arc<ImageCatalog>,
        streams: RngStreams,
        node_index: u64,
    ) -> Self {
        SimNodeRuntime {
            config,
            catalog,
            streams,
            node_salt: node_index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            images: ImageCache::default(),
            sandboxes: BTreeMap::new(),
            containers: BTreeMap::new(),
        }
    }

    /// The node's image cache (e.g. to preload images).
    pub fn images_mut(&mut self) -> &mut ImageCache {
        &mut self.images
    }

    /// The image catalog.
    pub fn catalog(&self) -> &ImageCatalog {
        &self.catalog
    }

    /// Containers created and not yet exited or removed.
    pub fn live_containers(&self) -> usize {
        self.containers.len()
    }

    fn pull(
        &mut self,
        now: SimTime,
        container: ContainerId,
        image: &str,
        policy: PullPolicy,
    ) -> RuntimeEvent {
        let present = self.images.present_at(image);
        let (result, at) = match (policy, present) {
            (PullPolicy::Never, Some(t)) | (PullPolicy::IfNotPresent, Some(t)) => (Ok(()), t.max(now)),
            (PullPolicy::Never, None) => (Err(ImagePullError::NeverPullMissing), now),
            (_, _) if self.catalog.layers(image).is_none() => {
                (Err(ImagePullError::NotFound), now.saturating_add(self.config.registry_error_latency))
            }
            (_, _) => {
                let done = self.images.pull(&self.catalog, image, now, self.config.image_pull_bytes_per_sec);
                (Ok(()), done)
            }
        };
        RuntimeEvent::ImagePulled { container, result, at }
    }

    fn start(
        &mut self,
        now: SimTime,
        container: ContainerId,
        role: ContainerRole,
        cgroup: ContainerCgroup,
        events: &mut Vec<RuntimeEvent>,
    ) {
        let Some(pod) = self.sandboxes.get(&container.sandbox()) else { return };
        let is_init = role != ContainerRole::Regular;
        let workload = match pod {
            Some(w) => w.container(usize::from(container.index()), is_init),
            None => PodWorkload::default_for(is_init),
        };
        let start = now.saturating_add(self.config.container_start_latency);
        events.push(RuntimeEvent::ContainerStarted { container, at: start });
        let own = workload.own_exit(&self.streams, container.0.wrapping_add(self.node_salt)).map(
            |(after, code)| PlannedExit {
                at: start.saturating_add(after),
                exit_code: code,
                signal: None,
                oom_killed: false,
            },
        );
        let oom = oom_time(&workload.memory_bytes, start, cgroup.memory_limit_bytes, start).map(|at| {
            PlannedExit { at, exit_code: crate::memory::OOM_EXIT_CODE, signal: Some(9), oom_killed: true }
        });
        let exit = match (own, oom) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        if let Some(e) = exit {
            events.push(e.event(container));
        }
        self.containers.insert(container, Container { workload, start, exit, cgroup });
    }

    fn stop(
        &mut self,
        now: SimTime,
        container: ContainerId,
        timeout: SimDuration,
        events: &mut Vec<RuntimeEvent>,
    ) {
        let Some(c) = self.containers.get_mut(&container) else { return };
        let sigterm_at = now.max(c.start);
        let plan = KillPlan { sigterm_at, sigkill_at: sigterm_at.saturating_add(timeout) };
        let reaction = match c.workload.shutdown {
            ShutdownSpec::Die => SigtermReaction::Die,
            ShutdownSpec::Graceful { after, exit_code } => SigtermReaction::ExitAfter { after, exit_code },
            ShutdownSpec::Ignore => SigtermReaction::Ignore,
        };
        let exit = kill_outcome(&plan, reaction);
        let planned =
            PlannedExit { at: exit.at, exit_code: exit.exit_code, signal: exit.signal, oom_killed: false };
        if c.exit.is_none_or(|e| planned.at < e.at) {
            c.exit = Some(planned);
            events.push(planned.event(container));
        }
    }
}

impl NodeRuntime for SimNodeRuntime {
    fn execute(&mut self, now: SimTime, command: RuntimeCommand, events: &mut Vec<RuntimeEvent>) {
        match command {
            RuntimeCommand::CreateSandbox { sandbox, workload, .. } => {
                self.sandboxes.insert(sandbox, workload);
                events.push(RuntimeEvent::SandboxReady {
                    sandbox,
                    at: now.saturating_add(self.config.sandbox_latency),
                });
            }
            RuntimeCommand::PullImage { container, image, policy } => {
                let ev = self.pull(now, container, &image, policy);
                events.push(ev);
            }
            RuntimeCommand::StartContainer { container, role, cgroup, .. } => {
                self.start(now, container, role, cgroup, events)
            }
            RuntimeCommand::StopContainer { container, timeout } => {
                self.stop(now, container, timeout, events)
            }
            RuntimeCommand::RemoveSandbox { sandbox } => {
                self.sandboxes.remove(&sandbox);
                let lo = ContainerId(sandbox.0 << 32);
                let hi = ContainerId(((sandbox.0 + 1) << 32).saturating_sub(1));
                let gone: Vec<ContainerId> = self.containers.range(lo..=hi).map(|(id, _)| *id).collect();
                for id in gone {
                    self.containers.remove(&id);
                }
            }
        }
    }

    fn commit(&mut self, _now: SimTime, event: RuntimeEvent) -> Option<RuntimeEvent> {
        match &event {
            RuntimeEvent::SandboxReady { sandbox, .. } => {
                self.sandboxes.contains_key(sandbox).then_some(event)
            }
            RuntimeEvent::ContainerStarted { container, .. } => {
                self.containers.contains_key(container).then_some(event)
            }
            RuntimeEvent::ContainerExited { container, at, exit_code, .. } => {
                let c = self.containers.get(container)?;
                let planned = c.exit?;
                if planned.at == *at && planned.exit_code == *exit_code {
                    self.containers.remove(container);
                    Some(event)
                } else {
                    None
                }
            }
            RuntimeEvent::ImagePulled { .. } | RuntimeEvent::ProbeResult { .. } => Some(event),
        }
    }

    fn stats(&mut self, now: SimTime, container: ContainerId) -> Result<ContainerStats, RuntimeError> {
        let c = self.containers.get(&container).ok_or(RuntimeError::UnknownContainer(container))?;
        if now < c.start {
            return Err(RuntimeError::UnknownContainer(container));
        }
        let offset = now.saturating_duration_since(c.start);
        let _ = c.cgroup;
        Ok(ContainerStats {
            memory_working_set_bytes: c.workload.memory_bytes.value_at(offset),
            ..ContainerStats::default()
        })
    }
}
