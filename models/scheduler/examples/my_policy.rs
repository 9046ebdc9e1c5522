//! A research policy in under 50 lines: "most free memory after placement", ties to the first.
//! Run: `cargo run -p kubesim-scheduler --example my_policy`.

use kubesim_api::{Container, Node, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::framework::{NodeId, PodInfo};
use kubesim_scheduler::{Policy, PolicyContext, ScheduleOutcome, Scheduler};
use sim_core::SimTime;

/// Places each pod on the node with the most memory left after placing it.
#[derive(Debug)]
struct MostFreeMemory;

impl Policy for MostFreeMemory {
    fn name(&self) -> &str {
        "most-free-memory"
    }
    fn select(&mut self, ctx: &mut PolicyContext<'_>, pod: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        kubesim_scheduler::policies::argmax_by(feasible, |id| {
            let n = ctx.node(id);
            (n.allocatable.memory - n.requested.memory - pod.resources.requests.memory) as f64
        })
    }
}

fn main() {
    let mut s = Scheduler::with_defaults(7);
    s.set_policy(Some(Box::new(MostFreeMemory)));
    for (name, gib) in [("small", 8i64), ("large", 64)] {
        let mut n = Node::default();
        n.meta.name = name.into();
        n.status.allocatable = ResourceList::new()
            .with_cpu_millis(8000)
            .with_memory_bytes(gib << 30)
            .with(ResourceName::Pods, 110);
        s.add_node(n, SimTime::ZERO);
    }
    let mut p = Pod::default();
    p.meta.name = "web".into();
    p.meta.namespace = "default".into();
    let requests = ResourceList::new().with_cpu_millis(500).with_memory_bytes(1 << 30);
    let resources = ResourceRequirements { requests, ..Default::default() };
    p.spec.containers = vec![Container { resources, ..Default::default() }].into();
    s.add_pod(p, SimTime::ZERO);
    if let Some(ScheduleOutcome::Bound { pod, node }) = s.schedule_next(SimTime::ZERO) {
        println!("{pod} -> {node}");
    }
}
