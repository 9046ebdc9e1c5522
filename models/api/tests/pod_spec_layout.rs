//! The split of `PodSpec` into per-pod fields and shared [`PodSpecExtras`] is invisible to every
//! observer: `Debug` renders exactly as the flat struct did (digests and `template_hash` read it),
//! and the inline sizes stay small. `cargo test -p kubesim-api --test pod_spec_layout -- --nocapture`
//! prints the sizes.

use std::mem::size_of;

use kubesim_api::*;
use sim_core::SimDuration;

/// `PodSpec` as it was declared before the extras moved out (same names, types, order).
#[derive(Debug)]
#[allow(dead_code)] // read only through Debug
struct FlatPodSpec {
    containers: Shared<Vec<Container>>,
    init_containers: Shared<Vec<Container>>,
    overhead: ResourceList,
    resources: Option<ResourceRequirements>,
    priority: Option<i32>,
    priority_class_name: Option<String>,
    preemption_policy: PreemptionPolicy,
    node_name: Option<String>,
    node_selector: Labels,
    affinity: Affinity,
    tolerations: Shared<Vec<Toleration>>,
    topology_spread_constraints: Vec<TopologySpreadConstraint>,
    scheduler_name: String,
    scheduling_gates: Vec<String>,
    restart_policy: RestartPolicy,
    termination_grace_period: SimDuration,
    active_deadline_seconds: Option<i64>,
    host_network: bool,
}

fn flat(s: &PodSpec) -> FlatPodSpec {
    let x = &s.extras;
    FlatPodSpec {
        containers: s.containers.clone(),
        init_containers: s.init_containers.clone(),
        overhead: x.overhead.clone(),
        resources: x.resources.clone(),
        priority: s.priority,
        priority_class_name: x.priority_class_name.clone(),
        preemption_policy: s.preemption_policy,
        node_name: s.node_name.clone(),
        node_selector: x.node_selector.clone(),
        affinity: x.affinity.clone(),
        tolerations: s.tolerations.clone(),
        topology_spread_constraints: x.topology_spread_constraints.clone(),
        scheduler_name: x.scheduler_name.clone(),
        scheduling_gates: x.scheduling_gates.clone(),
        restart_policy: s.restart_policy,
        termination_grace_period: s.termination_grace_period,
        active_deadline_seconds: x.active_deadline_seconds,
        host_network: s.host_network,
    }
}

/// Every field away from its default, so a misplaced or misnamed field shows in the rendering.
fn busy_spec() -> PodSpec {
    let mut s = PodSpec {
        containers: vec![Container { name: "app".into(), image: "web:v1".into(), ..Default::default() }]
            .into(),
        init_containers: vec![Container { name: "init".into(), ..Default::default() }].into(),
        priority: Some(7),
        preemption_policy: PreemptionPolicy::Never,
        node_name: Some("node-1".into()),
        tolerations: vec![Toleration { key: "k".into(), ..Default::default() }].into(),
        restart_policy: RestartPolicy::OnFailure,
        termination_grace_period: SimDuration::from_secs(5),
        host_network: true,
        ..Default::default()
    };
    let x = &mut *s.extras;
    x.overhead = ResourceList::new().with_cpu_millis(250);
    x.resources = Some(ResourceRequirements::default());
    x.priority_class_name = Some("high".into());
    x.node_selector.insert("disk".into(), "ssd".into());
    x.affinity
        .pod_anti_affinity
        .required
        .push(PodAffinityTerm { topology_key: "kubernetes.io/hostname".into(), ..Default::default() });
    x.topology_spread_constraints.push(TopologySpreadConstraint {
        max_skew: 1,
        topology_key: "zone".into(),
        when_unsatisfiable: UnsatisfiableConstraintAction::DoNotSchedule,
        label_selector: None,
        min_domains: None,
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
        match_label_keys: Vec::new(),
    });
    x.scheduler_name = "other".into();
    x.scheduling_gates.push("gate".into());
    x.active_deadline_seconds = Some(60);
    s
}

#[test]
fn debug_renders_as_the_flat_struct_did() {
    for spec in [PodSpec::default(), busy_spec()] {
        let flat = flat(&spec);
        assert_eq!(format!("{spec:?}").replacen("PodSpec", "FlatPodSpec", 1), format!("{flat:?}"));
        assert_eq!(format!("{spec:#?}").replacen("PodSpec", "FlatPodSpec", 1), format!("{flat:#?}"));
    }
}

#[test]
fn equality_still_compares_every_field() {
    let a = busy_spec();
    let mut b = a.clone();
    assert_eq!(a, b);
    b.extras.scheduling_gates.clear();
    assert_ne!(a, b, "a difference in the extras makes the specs differ");
    let separate = PodSpec { extras: Shared::new((*a.extras).clone()), ..a.clone() };
    assert_eq!(a, separate, "equal extras in different allocations are equal");
}

#[test]
fn binding_a_copy_shares_the_extras_and_leaves_the_original_alone() {
    let template = busy_spec();
    let mut bound = template.clone();
    bound.node_name = Some("node-2".into());
    assert!(Shared::ptr_eq(&template.extras, &bound.extras));
    assert_eq!(template.node_name.as_deref(), Some("node-1"));
}

#[test]
fn default_specs_share_one_default_extras() {
    let (a, b) = (PodSpec::default(), PodSpec::default());
    assert!(Shared::ptr_eq(&a.extras, &b.extras));
    assert_eq!(a.extras.scheduler_name, "default-scheduler");
    let mut c = PodSpec::default();
    c.extras.scheduler_name = "mine".into();
    assert_eq!(PodSpec::default().extras.scheduler_name, "default-scheduler", "a write copies first");
}

#[test]
#[cfg(target_pointer_width = "64")]
fn the_per_pod_types_stay_small() {
    macro_rules! sizes {
        ($($t:ty),*) => { $( println!("{:<28} {:>4} B", stringify!($t), size_of::<$t>()); )* };
    }
    sizes!(Pod, ObjectMeta, PodSpec, PodSpecExtras, FlatPodSpec, PodStatus, Container, ContainerStatus);
    sizes!(PodCondition, Affinity, ResourceList, ResourceRequirements, Toleration);
    // Measured (x86_64): PodSpec 80 B (the flat struct: 592 B).
    assert!(size_of::<PodSpec>() <= 96, "PodSpec grew to {} B", size_of::<PodSpec>());
    assert!(size_of::<FlatPodSpec>() > 4 * size_of::<PodSpec>());
}
