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
    /// Whether the class took its slot after the last refresh: the slot's sample is then an
    /// earlier class's (or none), so the next refresh writes it whole, names included. A class
    /// keeps its container list (its address is in the key), so later refreshes only rewrite the
    /// numbers.
    new_in_slot: bool,
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
        Class {
            key,
            members: 1,
            workload,
            containers,
            running,
            cpu_limits_millis,
            rate: None,
            new_in_slot: true,
        }
    }

    /// Writes the class's served sample for a scrape at `now` over `window` (its `rate` is
    /// already this scrape's).
    fn refresh_sample(
        &mut self,
        sample: &mut SamplePodMetrics,
        idle: &ContainerWorkload,
        now: SimTime,
        window: SimDuration,
    ) {
        let rate = self.rate.unwrap_or(0);
        sample.timestamp = now;
        sample.window = window;
        let fresh = std::mem::take(&mut self.new_in_slot) || sample.containers.len() != self.running.len();
        if fresh {
            sample.containers.clear();
        }
        for (i, (&(index, start), &cpu_limit)) in self.running.iter().zip(&self.cpu_limits_millis).enumerate()
        {
            let workload = self
                .workload
                .as_deref()
                .and_then(|w| w.containers.get(self.key.init_containers as usize + index as usize))
                .map_or(idle, |w| &**w);
            let (cpu, memory) = container_usage(workload, cpu_limit, start, rate, now);
            if fresh {
                sample.containers.push(ContainerMetrics {
                    name: self.containers[index as usize].name.clone(),
                    usage: ResourceList::new().with_cpu_millis(cpu).with_memory_bytes(memory),
                });
            } else {
                // The names are this class's since it was first written (see `new_in_slot`).
                let c = &mut sample.containers[i];
                c.usage.set(kubesim_api::ResourceName::Cpu, cpu);
                c.usage.set(kubesim_api::ResourceName::Memory, memory);
            }
        }
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
    ///
    /// The samples are computed in parallel (each from its own class alone, so the result does
    /// not depend on how the work is split); with one thread, here.
    pub(super) fn refresh(&mut self, now: SimTime, window: SimDuration, rate_of: impl Fn(u32, bool) -> i64) {
        use rayon::prelude::*;
        for class in self.classes.iter_mut().flatten() {
            class.rate = class.key.load.map(|l| rate_of(l, class.key.ready));
        }
        let idle = PodWorkload::default_for(false);
        let samples = Arc::make_mut(&mut self.samples);
        samples.resize_with(self.classes.len(), SamplePodMetrics::default);
        let refresh_one = |(class, sample): (&mut Option<Class>, &mut SamplePodMetrics)| {
            if let Some(class) = class {
                class.refresh_sample(sample, &idle, now, window);
            }
        };
        // Below this many classes a scrape's refresh is not worth a hand-over to the pool.
        const PARALLEL_FROM: usize = 256;
        if rayon::current_num_threads() <= 1 || self.classes.len() < PARALLEL_FROM {
            self.classes.iter_mut().zip(samples.iter_mut()).for_each(refresh_one);
        } else {
            self.classes.par_iter_mut().zip(samples.par_iter_mut()).with_min_len(64).for_each(refresh_one);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn containers(names: &[&str]) -> Shared<Vec<Container>> {
        Shared::new(names.iter().map(|n| Container { name: n.to_string(), ..Default::default() }).collect())
    }

    /// A request-driven workload (`base + per_request × rate`) and constant memory per container.
    fn workload(base: i64, memory: i64, n: usize) -> Arc<PodWorkload> {
        let c = ContainerWorkload {
            cpu_millis: Demand::RequestDriven { base, per_request: 1000 },
            memory_bytes: kubesim_workload::Curve::constant(memory),
            ..ContainerWorkload::idle()
        };
        // Every container shares one workload, as the containers of a stamped template do.
        let c = Arc::new(c);
        Arc::new(PodWorkload { containers: (0..n).map(|_| Arc::clone(&c)).collect() })
    }

    fn join(
        classes: &mut UsageClasses,
        workload: &Arc<PodWorkload>,
        containers: &Shared<Vec<Container>>,
        load: u32,
    ) -> u32 {
        let running: Vec<(u32, SimTime)> = (0..containers.len() as u32).map(|i| (i, SimTime::ZERO)).collect();
        let member = ClassMember {
            workload: Some(workload),
            containers,
            init_containers: 0,
            running: &running,
            load: Some(load),
            ready: true,
        };
        classes.join(member.key().expect("fits the mask"), &member)
    }

    fn served(classes: &UsageClasses, id: u32) -> Vec<(String, i64, i64)> {
        classes
            .sample(id)
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.usage.cpu_millis(), c.usage.memory_bytes()))
            .collect()
    }

    #[test]
    fn a_class_taking_a_freed_slot_serves_its_own_container_names() {
        let mut classes = UsageClasses::default();
        let (w, first) = (workload(5, 100, 1), containers(&["web"]));
        let id = join(&mut classes, &w, &first, 0);
        let rate = |_load: u32, _ready: bool| 7;
        classes.refresh(SimTime::from_secs(15), SimDuration::from_secs(15), rate);
        assert_eq!(served(&classes, id), vec![("web".to_string(), 12, 100)]);
        classes.leave(id);
        // Same container count, another name: the slot's old sample has the right shape and the
        // wrong name.
        let second = containers(&["api"]);
        let again = join(&mut classes, &w, &second, 0);
        assert_eq!(again, id, "the freed slot is reused");
        classes.refresh(SimTime::from_secs(30), SimDuration::from_secs(15), rate);
        assert_eq!(served(&classes, again), vec![("api".to_string(), 12, 100)]);
        // And a later refresh of the same class keeps the name, with the new numbers.
        classes.refresh(SimTime::from_secs(45), SimDuration::from_secs(15), |_, _| 9);
        assert_eq!(served(&classes, again), vec![("api".to_string(), 14, 100)]);
    }

    #[test]
    fn refreshing_on_two_threads_serves_what_one_thread_serves() {
        // Enough classes to be split over the pool, with freed slots reused in between.
        let build = || {
            let mut classes = UsageClasses::default();
            let lists: Vec<_> = (0..600).map(|i| (workload(i, 1000 + i, 1 + (i % 3) as usize), i)).collect();
            let mut ids = Vec::new();
            for (w, i) in &lists {
                let names: Vec<String> = (0..w.containers.len()).map(|c| format!("c{i}-{c}")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                ids.push(join(&mut classes, w, &containers(&names), (*i % 4) as u32));
            }
            (classes, ids, lists)
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
            pool.install(|| {
                let (mut classes, mut ids, lists) = build();
                let rate = |load: u32, ready: bool| i64::from(load) * 10 + i64::from(ready);
                classes.refresh(SimTime::from_secs(15), SimDuration::from_secs(15), rate);
                for &id in ids.iter().step_by(3) {
                    classes.leave(id);
                }
                for (w, i) in lists.iter().step_by(5) {
                    ids.push(join(
                        &mut classes,
                        w,
                        &containers(&["late"; 3][..w.containers.len()]),
                        (*i % 4) as u32,
                    ));
                }
                classes.refresh(SimTime::from_secs(30), SimDuration::from_secs(15), rate);
                let live: Vec<u32> = (0..classes.classes.len() as u32)
                    .filter(|&id| classes.classes[id as usize].is_some())
                    .collect();
                live.iter().map(|&id| (id, served(&classes, id), classes.rate(id))).collect::<Vec<_>>()
            })
        };
        let one = run(1);
        assert!(one.len() > 400, "most classes live: {}", one.len());
        assert_eq!(run(2), one);
    }
}
