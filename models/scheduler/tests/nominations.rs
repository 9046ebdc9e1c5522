//! Nominations made and cleared by preemption, through `Scheduler` (reference §6 step 6).

use kubesim_api::{Container, Node, ObjectKey, Pod, ResourceList, ResourceName, ResourceRequirements};
use kubesim_scheduler::{ScheduleOutcome, Scheduler};
use sim_core::{SimDuration, SimTime};

fn node(name: &str, cpu_millis: i64) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.status.allocatable = ResourceList::new()
        .with_cpu_millis(cpu_millis)
        .with_memory_bytes(8 << 30)
        .with(ResourceName::Pods, 110);
    n
}

fn pod(name: &str, priority: i32, cpu_millis: i64, on: Option<&str>) -> Pod {
    let mut p = Pod::default();
    p.meta.name = name.into();
    p.meta.namespace = "default".into();
    p.spec.priority = Some(priority);
    p.spec.node_name = on.map(str::to_string);
    p.spec.containers = vec![Container {
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(1 << 20),
            ..Default::default()
        },
        ..Default::default()
    }]
    .into();
    p
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new("default", name)
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

#[test]
fn a_failed_preemption_clears_the_pods_nomination() {
    // n1 (1000m) holds `low` (prio 0, 800m). `high` (prio 100, 500m) preempts it and is
    // nominated to n1. Before it retries, `low` is gone but `vip` (prio 200, 800m) took the room:
    // no victim exists any more, preemption fails, and the nomination must be cleared (upstream
    // DefaultPreemption returns NominatedNodeName "" with the Unschedulable status).
    let mut s = Scheduler::with_defaults(7);
    s.add_node(node("n1", 1000), SimTime::ZERO);
    s.add_pod(pod("low", 0, 800, Some("n1")), SimTime::ZERO);
    s.add_pod(pod("high", 100, 500, None), SimTime::ZERO);
    match s.schedule_next(SimTime::ZERO) {
        Some(ScheduleOutcome::Preempting { node, victims, .. }) => {
            assert_eq!((node.as_str(), victims), ("n1", vec![key("low")]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.nominator().node_of(&key("high")), Some("n1"));

    s.delete_pod(&key("low"), secs(1));
    s.add_pod(pod("vip", 200, 800, Some("n1")), secs(1));
    s.tick(secs(30));
    let (out, diag) = s.schedule_one_with_diagnosis(secs(30)).expect("high is retried");
    assert!(matches!(out, ScheduleOutcome::Unschedulable { .. }), "{out:?}");
    assert!(!diag.used_nominated_node, "the nominated node no longer fits");
    let post = diag.post_filter.expect("preemption ran");
    assert_eq!(post.plugin, "DefaultPreemption", "the rejecting PostFilter is named, as upstream");
    assert_eq!(s.nominator().node_of(&key("high")), None, "nomination cleared");
    assert!(s.nominator().is_empty());
}

#[test]
fn a_successful_preemption_clears_lower_priority_nominations_on_its_node() {
    // n1 (1000m) holds `low` (prio 0, 900m). `mid` (prio 50, 600m) preempts `low` and is
    // nominated to n1; `low` is still terminating when `high` (prio 100, 500m) arrives. Filters
    // ignore `mid`'s nomination for `high` (lower priority), so n1 looks full; `high` preempts
    // `low` on n1 too, and `mid`, nominated there with lower priority, loses its nomination
    // (upstream `getLowerPriorityNominatedPods` in `prepareCandidate`).
    let mut s = Scheduler::with_defaults(11);
    s.add_node(node("n1", 1000), SimTime::ZERO);
    s.add_pod(pod("low", 0, 900, Some("n1")), SimTime::ZERO);
    s.add_pod(pod("mid", 50, 600, None), SimTime::ZERO);
    assert!(matches!(s.schedule_next(SimTime::ZERO), Some(ScheduleOutcome::Preempting { .. })));
    assert_eq!(s.nominator().node_of(&key("mid")), Some("n1"));

    s.add_pod(pod("high", 100, 500, None), secs(1));
    match s.schedule_next(secs(1)) {
        Some(ScheduleOutcome::Preempting { pod, node, victims }) => {
            assert_eq!((pod, node.as_str(), victims), (key("high"), "n1", vec![key("low")]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.nominator().node_of(&key("high")), Some("n1"));
    assert_eq!(s.nominator().node_of(&key("mid")), None, "the lower-priority nomination is cleared");

    // With `low` gone, `high` takes n1 through its nomination and `mid` (600m) no longer fits.
    s.delete_pod(&key("low"), secs(2));
    s.tick(secs(60));
    let mut placed = Vec::new();
    while let Some(out) = s.schedule_next(secs(60)) {
        placed.push(out);
    }
    assert!(placed.contains(&ScheduleOutcome::Bound { pod: key("high"), node: "n1".into() }), "{placed:?}");
    assert!(
        placed.iter().any(|o| matches!(o, ScheduleOutcome::Unschedulable { pod, .. } if *pod == key("mid"))),
        "{placed:?}"
    );
}
