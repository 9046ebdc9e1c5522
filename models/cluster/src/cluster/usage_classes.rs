//! Usage classes: the pods whose served PodMetrics are identical but for their names.
//!
//! Between transitions, a pod's served usage is a function of its containers (which run, their
//! CPU limits and names), its workload, its Service's per-endpoint rate and the scrape time —
//! not of the pod itself, once every container's curves have settled (no later change: constant
//! memory, request-driven CPU) and every container has a point from the previous scrape. The ready
//! replicas of one ReplicaSet share all of that (their container list and workload are the same
//! shared objects), so they share one served sample: a scrape rewrites one sample per class
//! instead of one per pod, and an HPA reads one.
//!
//! A class is identified by the *addresses* of the shared container list and workload. It holds
//! a reference to both, so neither address can be reused while the class lives.
//!
//! What a class cannot express — a fresh container rated against its start, a curve still
//! changing, a runtime that measures CPU — stays on the per-pod path, which is also the oracle:
//! [`MetricsMode::PerPod`](crate::MetricsMode::PerPod) runs without classes, and debug builds
//! check every pod that joins a class against its own computed sample.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{Container, ResourceList, Shared};
use kubesim_controllers::hpa::{ContainerMetrics, PodMetrics as SamplePodMetrics};
use kubesim_workload::{ContainerWorkload, Demand, PodWorkload};
use sim_core::{SimDuration, SimTime};

/// A slot's class when it has none.
pub(super) const NO_CLASS: u32 = u32::MAX;

/// What makes two pods' served samples equal (but for the name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ClassKey {
    /// Address of the pod's workload (0: none, every container idles).
    workload: usize,
    /// Address of the pod's `spec.containers`.
    containers: usize,
    /// How many init containers precede them in the workload.
    init_containers: u32,
    /// Which containers (by index in `spec.containers`) run.
    running: u64,
    /// Index of the pod's Service load, if any.
    pub(super) load: Option<u32>,
    /// Whether the pod is one of that Service's ready endpoints.
    pub(super) ready: bool,
}

/// The parts of a steady pod a class is made from.
pub(super) struct ClassMember<'a> {
    /// The pod's workload.
    pub workload: Option<&'a Arc<PodWorkload>>,
    /// The pod's `spec.containers`.
    pub containers: &'a Shared<Vec<Container>>,
    /// How many init containers the pod has.
    pub init_containers: usize,
    /// The running containers: (index in `spec.containers`, start).
    pub running: &'a [(u32, SimTime)],
    /// The pod's load and whether it is a ready endpoint of it.
    pub load: Option<u32>,
    /// Whether the pod is a ready endpoint of the load's Service.
    pub ready: bool,
}

impl ClassMember<'_> {
    /// The member's key, or `None` when a running container's index does not fit the mask.
    pub(super) fn key(&self) -> Option<ClassKey> {
        let mut running = 0u64;
        for &(index, _) in self.running {
            running |= 1u64.checked_shl(index)?;
        }
        Some(ClassKey {
            workload: self.workload.map_or(0, |w| Arc::as_ptr(w) as usize),
            containers: &**self.containers as *const Vec<Container> as usize,
            init_containers: u32::try_from(self.init_containers).ok()?,
            running,
            load: self.load,
            ready: self.ready,
        })
    }
}

/// One class: its key, how many pods it serves, and what its sample is computed from.
#[derive(Debug)]
struct Class {
    key: ClassKey,
    members: u32,
    /// Held so the addresses in the key stay unique while the class lives.
    workload: Option<Arc<PodWorkload>>,
    containers: Shared<Vec<Container>>,
    /// The running containers: (index, a member's start). Every member's curves have settled, so
    /// the usage at any member's offset is the same; the first member's start stands for all.
    running: Vec<(u32, SimTime)>,
    /// The running containers' CPU limits (millicores), read once from the shared container list
    /// (which never changes) instead of searching each container's limits on every refresh.
    cpu_limits_millis: Vec<Option<i64>>,
    /// The `requests_per_second` custom metric of the members at the last refresh.
    rate: Option<i64>,
}

impl Class {
    /// A class of one member.
    fn new(
        key: ClassKey,
        workload: Option<Arc<PodWorkload>>,
        containers: Shared<Vec<Container>>,
        running: Vec<(u32, SimTime)>,
    ) -> Self {
        let cpu_limits_millis = running
            .iter()
            .map(|&(index, _)| {
                containers[index as usize].resources.limits.get(&kubesim_api::ResourceName::Cpu)
            })
            .collect();
        Class { key, members: 1, workload, containers, running, cpu_limits_millis, rate: None }
    }
}

/// The classes and their samples.
#[derive(Debug, Default)]
pub(super) struct UsageClasses {
    classes: Vec<Option<Class>>,
    free: Vec<u32>,
    by_key: BTreeMap<ClassKey, u32>,
    /// By class id: the served sample (its `pod_name` is empty). Shared with the HPA syncs that
    /// read it between two scrapes, rewritten in place by the next (no reader holds it by then).
    samples: Arc<Vec<SamplePodMetrics>>,
}

impl UsageClasses {
    /// Adds one member to the class of `key` (creating it from `member`), and returns its id.
    pub(super) fn join(&mut self, key: ClassKey, member: &ClassMember<'_>) -> u32 {
        if let Some(&id) = self.by_key.get(&key) {
            self.class_mut(id).members += 1;
            return id;
        }
        self.insert(Class::new(
            key,
            member.workload.cloned(),
            member.containers.clone(),
            member.running.to_vec(),
        ))
    }

    fn insert(&mut self, class: Class) -> u32 {
        let key = class.key;
        let id = match self.free.pop() {
            Some(id) => {
                self.classes[id as usize] = Some(class);
                id
            }
            None => {
                self.classes.push(Some(class));
                u32::try_from(self.classes.len() - 1).expect("fewer than 2^32 classes")
            }
        };
        self.by_key.insert(key, id);
        id
    }

    /// Removes one member of class `id` (no-op for [`NO_CLASS`]); the class goes with its last.
    pub(super) fn leave(&mut self, id: u32) {
        if id == NO_CLASS {
            return;
        }
        let class = self.class_mut(id);
        class.members -= 1;
        if class.members == 0 {
            let key = class.key;
            self.by_key.remove(&key);
            self.classes[id as usize] = None;
            self.free.push(id);
        }
    }

    /// The key of class `id`.
    pub(super) fn key(&self, id: u32) -> ClassKey {
        self.class(id).key
    }

    /// Moves one member from class `id` to the class that differs only in being (or not being) a
    /// ready endpoint, and returns that class's id.
    pub(super) fn set_ready(&mut self, id: u32, ready: bool) -> u32 {
        let class = self.class(id);
        let key = ClassKey { ready, ..class.key };
        let new = match self.by_key.get(&key) {
            Some(&new) => {
                self.class_mut(new).members += 1;
                new
            }
            None => {
                let class =
                    Class::new(key, class.workload.clone(), class.containers.clone(), class.running.clone());
                self.insert(class)
            }
        };
        self.leave(id);
        new
    }

    /// The `requests_per_second` value of class `id`'s members.
    pub(super) fn rate(&self, id: u32) -> Option<i64> {
        self.class(id).rate
    }

    /// The served sample of class `id` (as of the last [`UsageClasses::refresh`]).
    pub(super) fn sample(&self, id: u32) -> &SamplePodMetrics {
        &self.samples[id as usize]
    }

    /// Every class's sample, by id (for the HPA's metrics client).
    pub(super) fn samples(&self) -> &Arc<Vec<SamplePodMetrics>> {
        &self.samples
    }

    /// How many classes there are.
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Rewrites every class's sample for a scrape at `now` whose points are rated over `window`;
    /// `rate_of(load, ready)` is a member's share of its load's offered rate.
    pub(super) fn refresh(&mut self, now: SimTime, window: SimDuration, rate_of: impl Fn(u32, bool) -> i64) {
        let idle = PodWorkload::default_for(false);
        let samples = Arc::make_mut(&mut self.samples);
        samples.resize_with(self.classes.len(), SamplePodMetrics::default);
        for (class, sample) in self.classes.iter_mut().zip(samples.iter_mut()) {
            let Some(class) = class else { continue };
            class.rate = class.key.load.map(|l| rate_of(l, class.key.ready));
            let rate = class.rate.unwrap_or(0);
            sample.timestamp = now;
            sample.window = window;
            let fresh = sample.containers.len() != class.running.len();
            if fresh {
                sample.containers.clear();
            }
            for (i, (&(index, start), &cpu_limit)) in
                class.running.iter().zip(&class.cpu_limits_millis).enumerate()
            {
                let container = &class.containers[index as usize];
                let workload = class
                    .workload
                    .as_deref()
                    .and_then(|w| w.containers.get(class.key.init_containers as usize + index as usize))
                    .unwrap_or(&idle);
                let (cpu, memory) = container_usage(workload, cpu_limit, start, rate, now);
                if fresh {
                    sample.containers.push(ContainerMetrics {
                        name: container.name.clone(),
                        usage: ResourceList::new().with_cpu_millis(cpu).with_memory_bytes(memory),
                    });
                } else {
                    let c = &mut sample.containers[i];
                    if c.name != container.name {
                        c.name.clone_from(&container.name);
                    }
                    c.usage.set(kubesim_api::ResourceName::Cpu, cpu);
                    c.usage.set(kubesim_api::ResourceName::Memory, memory);
                }
            }
        }
    }

    fn class(&self, id: u32) -> &Class {
        self.classes[id as usize].as_ref().expect("live class")
    }

    fn class_mut(&mut self, id: u32) -> &mut Class {
        self.classes[id as usize].as_mut().expect("live class")
    }
}

/// Usage of a container with `workload` and `cpu_limit_millis` started at `start`, at `now`:
/// (CPU millicores, memory bytes).
pub(super) fn container_usage(
    workload: &ContainerWorkload,
    cpu_limit_millis: Option<i64>,
    start: SimTime,
    rate_milli: i64,
    now: SimTime,
) -> (i64, i64) {
    let offset = now.saturating_duration_since(start);
    let mut cpu = match &workload.cpu_millis {
        Demand::Curve(c) => c.value_at(offset),
        d @ Demand::RequestDriven { .. } => d.value(offset, rate_milli),
    }
    .max(0);
    if let Some(limit) = cpu_limit_millis {
        cpu = cpu.min(limit);
    }
    let memory = workload.memory_bytes.value_at(offset).max(0);
    (cpu, memory)
}

/// Whether `workload`'s usage is the same at every offset from `offset` on (whatever the
/// request rate does, which a class accounts for).
pub(super) fn settled(workload: &ContainerWorkload, offset: SimDuration) -> bool {
    let cpu_settled = match &workload.cpu_millis {
        Demand::Curve(c) => c.next_change_after(offset).is_none(),
        Demand::RequestDriven { .. } => true,
    };
    cpu_settled && workload.memory_bytes.next_change_after(offset).is_none()
}
