//! Differential test of the node-local memo (`framework::memo`): random clusters and random
//! sequences of pods and cluster changes, scheduled three ways — memo off with diagnosis, memo on
//! with diagnosis, memo on without — must give identical outcomes (node, messages, victims),
//! identical diagnoses, identical round-robin indices and identical placements.
//!
//! Pods come from a few templates so that runs of pods share a signature (memo hits), while the
//! templates between them exercise every node-local plugin (resources, taints and tolerations,
//! node affinity and selectors, host ports, images, nodeName, unschedulable nodes) and the
//! cluster-wide ones (topology spread, pod anti-affinity) plus preemption and its nominations
//! (which bypass the memo on nominated nodes).

use kubesim_api::{
    Affinity, Container, ContainerImage, ContainerPort, LabelSelector, Node, NodeSelector,
    NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, ObjectKey, Pod, PodAffinityTerm,
    PreferredSchedulingTerm, ResourceList, ResourceName, ResourceRequirements, Taint, TaintEffect,
    Toleration, TolerationOperator, TopologySpreadConstraint,
};
use kubesim_scheduler::framework::NodeId;
use kubesim_scheduler::{Diagnosis, ScheduleOutcome, Scheduler};
use proptest::prelude::*;
use sim_core::{SimDuration, SimTime};

#[derive(Clone, Debug)]
struct NodeGen {
    cpu_millis: i64,
    pods: i64,
    zone: u8,
    ssd: bool,
    /// 0 none, 1 dedicated=gpu:NoSchedule, 2 spot:PreferNoSchedule, 3 both.
    taints: u8,
    unschedulable: bool,
    /// Bit i: image i of `IMAGES` present.
    images: u8,
}

const IMAGES: [(&str, i64); 3] =
    [("registry.k8s.io/pause:3.10", 700 << 10), ("nginx:1.27", 180 << 20), ("big/model", 900 << 20)];

fn node(name: &str, g: &NodeGen) -> Node {
    let mut n = Node::default();
    n.meta.name = name.into();
    n.meta.labels.insert("kubernetes.io/hostname".into(), name.into());
    n.meta.labels.insert("topology.kubernetes.io/zone".into(), format!("z{}", g.zone));
    n.meta.labels.insert("disk".into(), if g.ssd { "ssd" } else { "hdd" }.into());
    n.status.allocatable = ResourceList::new()
        .with_cpu_millis(g.cpu_millis)
        .with_memory_bytes(8 << 30)
        .with(ResourceName::Pods, g.pods);
    n.status.capacity = n.status.allocatable.clone();
    if g.taints & 1 != 0 {
        n.spec.taints.push(Taint {
            key: "dedicated".into(),
            value: "gpu".into(),
            effect: TaintEffect::NoSchedule,
            time_added: None,
        });
    }
    if g.taints & 2 != 0 {
        n.spec.taints.push(Taint {
            key: "spot".into(),
            value: String::new(),
            effect: TaintEffect::PreferNoSchedule,
            time_added: None,
        });
    }
    n.spec.unschedulable = g.unschedulable;
    for (i, (img, size)) in IMAGES.iter().enumerate() {
        if g.images & (1 << i) != 0 {
            n.status.images.push(ContainerImage { names: vec![img.to_string()], size_bytes: *size });
        }
    }
    n
}

fn container(cpu_millis: i64, image: &str, host_port: i32) -> Container {
    let mut c = Container {
        name: "c".into(),
        image: image.into(),
        resources: ResourceRequirements {
            requests: ResourceList::new().with_cpu_millis(cpu_millis).with_memory_bytes(256 << 20),
            ..Default::default()
        },
        ..Default::default()
    };
    if host_port > 0 {
        c.ports.push(ContainerPort { container_port: 80, host_port, ..Default::default() });
    }
    c
}

fn in_term(key: &str, values: &[&str]) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: vec![NodeSelectorRequirement {
            key: key.into(),
            operator: NodeSelectorOperator::In,
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
        match_fields: Vec::new(),
    }
}

/// A pod of template `t` (variation `v` scales its cpu request).
fn pod(name: &str, t: u8, v: u8) -> Pod {
    let mut p = Pod::default();
    p.meta.name = name.into();
    p.meta.namespace = "default".into();
    let cpu = 100 * (1 + i64::from(v));
    p.spec.containers = vec![container(cpu, IMAGES[0].0, 0)].into();
    match t {
        0 => {}
        1 => {
            p.spec.containers = vec![container(cpu * 3, IMAGES[1].0, 0)].into();
            p.spec.tolerations.push(Toleration {
                key: "dedicated".into(),
                operator: TolerationOperator::Equal,
                value: "gpu".into(),
                effect: Some(TaintEffect::NoSchedule),
                toleration_seconds: None,
            });
            p.spec.extras.affinity.node_affinity.preferred =
                vec![PreferredSchedulingTerm { weight: 5, preference: in_term("disk", &["ssd"]) }];
        }
        2 => {
            p.spec.extras.node_selector.insert("topology.kubernetes.io/zone".into(), "z1".into());
            p.spec.containers = vec![container(cpu, IMAGES[2].0, 8080)].into();
        }
        3 => {
            p.meta.labels.insert("app".into(), "web".into());
            p.spec.extras.topology_spread_constraints.push(TopologySpreadConstraint {
                max_skew: 1,
                topology_key: "topology.kubernetes.io/zone".into(),
                when_unsatisfiable: if v == 0 {
                    kubesim_api::UnsatisfiableConstraintAction::DoNotSchedule
                } else {
                    kubesim_api::UnsatisfiableConstraintAction::ScheduleAnyway
                },
                label_selector: Some(LabelSelector::from_labels([("app", "web")])),
                min_domains: None,
                node_affinity_policy: kubesim_api::NodeInclusionPolicy::Honor,
                node_taints_policy: kubesim_api::NodeInclusionPolicy::Ignore,
                match_label_keys: Vec::new(),
            });
        }
        4 => {
            p.meta.labels.insert("app".into(), "db".into());
            p.spec.extras.affinity = Affinity {
                pod_anti_affinity: kubesim_api::PodAffinity {
                    required: vec![PodAffinityTerm {
                        label_selector: Some(LabelSelector::from_labels([("app", "db")])),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    }],
                    preferred: Vec::new(),
                },
                ..Default::default()
            };
        }
        5 => {
            // Big and important: preempts.
            p.spec.priority = Some(1000);
            p.spec.containers = vec![container(1500 + cpu, IMAGES[0].0, 0)].into();
        }
        6 => {
            p.spec.node_name = None;
            p.spec.extras.affinity.node_affinity.required =
                Some(NodeSelector { terms: vec![in_term("disk", &["ssd"])] });
            p.spec.tolerations.push(Toleration {
                key: String::new(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: None,
                toleration_seconds: None,
            });
            p.spec.containers.push(container(50, IMAGES[1].0, 0));
        }
        _ => {
            // Low priority filler with an init container.
            p.spec.priority = Some(-10);
            p.spec.init_containers = vec![container(cpu * 2, IMAGES[2].0, 0)].into();
        }
    }
    p
}

#[derive(Clone, Debug)]
enum Op {
    /// `count` pods of one template, queued.
    AddPods {
        template: u8,
        variation: u8,
        count: u8,
    },
    /// Up to `times` scheduling cycles.
    Schedule {
        times: u8,
    },
    /// Delete the k-th bound pod (modulo).
    DeleteBound(u16),
    UpdateNode(u16, NodeGen),
    AddNode(NodeGen),
    RemoveNode(u16),
    /// Advance the clock (backoff, unschedulable flush).
    Tick(u8),
}

fn node_gen() -> impl Strategy<Value = NodeGen> {
    (
        prop_oneof![Just(2000i64), Just(4000)],
        prop_oneof![Just(3i64), Just(110)],
        0u8..3,
        any::<bool>(),
        prop_oneof![4 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3)],
        prop::bool::weighted(0.1),
        0u8..8,
    )
        .prop_map(|(cpu_millis, pods, zone, ssd, taints, unschedulable, images)| NodeGen {
            cpu_millis,
            pods,
            zone,
            ssd,
            taints,
            unschedulable,
            images,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..8, 0u8..2, 1u8..8).prop_map(|(template, variation, count)| Op::AddPods { template, variation, count }),
        8 => (1u8..10).prop_map(|times| Op::Schedule { times }),
        1 => any::<u16>().prop_map(Op::DeleteBound),
        1 => (any::<u16>(), node_gen()).prop_map(|(i, g)| Op::UpdateNode(i, g)),
        1 => node_gen().prop_map(Op::AddNode),
        1 => any::<u16>().prop_map(Op::RemoveNode),
        1 => (1u8..120).prop_map(Op::Tick),
    ]
}

/// Three schedulers fed the same inputs.
struct Trio {
    plain: Scheduler,
    memo: Scheduler,
    memo_quiet: Scheduler,
    now: SimTime,
    next_node: usize,
    next_pod: usize,
}

impl Trio {
    fn new(seed: u64) -> Self {
        let mut plain = Scheduler::with_defaults(seed);
        plain.set_node_memo(false);
        plain.set_record_diagnosis(true);
        let mut memo = Scheduler::with_defaults(seed);
        memo.set_record_diagnosis(true);
        let memo_quiet = Scheduler::with_defaults(seed);
        Trio { plain, memo, memo_quiet, now: SimTime::ZERO, next_node: 0, next_pod: 0 }
    }

    fn all(&mut self) -> [&mut Scheduler; 3] {
        [&mut self.plain, &mut self.memo, &mut self.memo_quiet]
    }

    /// Nodes by slot (the node-tree order is only refreshed by a cycle).
    fn nodes(s: &Scheduler) -> impl Iterator<Item = &kubesim_scheduler::framework::NodeInfo> {
        let snap = s.snapshot();
        (0..snap.slot_count()).filter_map(move |i| snap.get(NodeId(i as u32)))
    }

    fn node_names(&self) -> Vec<String> {
        Self::nodes(&self.plain).map(|n| n.name().to_string()).collect()
    }

    fn bound_pods(&self) -> Vec<ObjectKey> {
        Self::nodes(&self.plain).flat_map(|n| n.pods.iter().map(|p| p.key())).collect()
    }

    fn placements(s: &Scheduler) -> Vec<(String, Vec<String>)> {
        Self::nodes(s)
            .map(|n| (n.name().to_string(), n.pods.iter().map(|p| p.key().to_string()).collect()))
            .collect()
    }

    fn add_node(&mut self, g: &NodeGen) {
        let name = format!("n{}", self.next_node);
        self.next_node += 1;
        let now = self.now;
        for s in self.all() {
            s.add_node(node(&name, g), now);
        }
    }

    /// One scheduling cycle on all three; returns false when nothing was ready.
    fn schedule(&mut self) -> Result<bool, TestCaseError> {
        let now = self.now;
        let a = self.plain.schedule_next(now);
        let da: Option<Diagnosis> = self.plain.take_last_diagnosis();
        let b = self.memo.schedule_next(now);
        let db: Option<Diagnosis> = self.memo.take_last_diagnosis();
        let c = self.memo_quiet.schedule_next(now);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
        prop_assert_eq!(&da, &db);
        prop_assert_eq!(self.plain.next_start_node_index(), self.memo.next_start_node_index());
        prop_assert_eq!(self.plain.next_start_node_index(), self.memo_quiet.next_start_node_index());
        let Some(out) = a else { return Ok(false) };
        if let ScheduleOutcome::Preempting { victims, .. } = out {
            for v in &victims {
                for s in self.all() {
                    s.delete_pod(v, now);
                }
            }
        }
        Ok(true)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.now;
        match op {
            Op::AddPods { template, variation, count } => {
                for _ in 0..*count {
                    let name = format!("p{}", self.next_pod);
                    self.next_pod += 1;
                    for s in self.all() {
                        s.add_pod(pod(&name, *template, *variation), now);
                    }
                }
            }
            Op::Schedule { times } => {
                for _ in 0..*times {
                    if !self.schedule()? {
                        break;
                    }
                }
            }
            Op::DeleteBound(k) => {
                let bound = self.bound_pods();
                if !bound.is_empty() {
                    let key = bound[*k as usize % bound.len()].clone();
                    for s in self.all() {
                        s.delete_pod(&key, now);
                    }
                }
            }
            Op::UpdateNode(k, g) => {
                let names = self.node_names();
                if !names.is_empty() {
                    let name = names[*k as usize % names.len()].clone();
                    for s in self.all() {
                        s.update_node(node(&name, g), now);
                    }
                }
            }
            Op::AddNode(g) => self.add_node(g),
            Op::RemoveNode(k) => {
                let names = self.node_names();
                if names.len() > 1 {
                    let name = names[*k as usize % names.len()].clone();
                    for s in self.all() {
                        s.remove_node(&name, now);
                    }
                }
            }
            Op::Tick(secs) => {
                self.now += SimDuration::from_secs(u64::from(*secs));
                let now = self.now;
                for s in self.all() {
                    s.tick(now);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), TestCaseError> {
        // Drain what is ready, then compare where everything landed.
        for _ in 0..400 {
            if !self.schedule()? {
                break;
            }
        }
        let p = Self::placements(&self.plain);
        prop_assert_eq!(&p, &Self::placements(&self.memo));
        prop_assert_eq!(&p, &Self::placements(&self.memo_quiet));
        prop_assert_eq!(self.plain.pending_pods(), self.memo_quiet.pending_pods());
        Ok(())
    }
}

fn run(seed: u64, nodes: &[NodeGen], ops: &[Op]) -> Result<(), TestCaseError> {
    let mut t = Trio::new(seed);
    for g in nodes {
        t.add_node(g);
    }
    for op in ops {
        t.apply(op)?;
    }
    t.finish()
}

fn worked_node(name: &str, images: u8) -> Node {
    node(
        name,
        &NodeGen {
            cpu_millis: 4000,
            pods: 110,
            zone: 0,
            ssd: false,
            taints: 0,
            unschedulable: false,
            images,
        },
    )
}

fn raw_score(d: &Diagnosis, node: &str, plugin: &str) -> i64 {
    let n = d.nodes.iter().find(|n| n.name == node).expect("node examined");
    n.scores.iter().find(|s| s.plugin == plugin).expect("plugin scored").raw
}

#[test]
fn a_node_tainted_after_its_verdict_was_memoised_is_filtered_again() {
    let mut s = Scheduler::with_defaults(3);
    for n in ["n1", "n2"] {
        s.add_node(worked_node(n, 0), SimTime::ZERO);
    }
    for i in 0..4 {
        s.add_pod(pod(&format!("a{i}"), 0, 0), SimTime::ZERO);
        assert!(matches!(s.schedule_next(SimTime::ZERO), Some(ScheduleOutcome::Bound { .. })));
    }
    let mut tainted = worked_node("n1", 0);
    tainted.spec.taints.push(Taint {
        key: "dedicated".into(),
        value: "gpu".into(),
        effect: TaintEffect::NoSchedule,
        time_added: None,
    });
    s.update_node(tainted, SimTime::ZERO);
    for i in 0..4 {
        // Same signature as before: only the memo entry of n1 is stale, and it must be redone.
        s.add_pod(pod(&format!("b{i}"), 0, 0), SimTime::ZERO);
        let out = s.schedule_next(SimTime::ZERO).unwrap();
        assert_eq!(
            out,
            ScheduleOutcome::Bound { pod: ObjectKey::new("default", &format!("b{i}")), node: "n2".into() }
        );
    }
}

#[test]
fn image_locality_scores_follow_the_spread_of_an_image_on_other_nodes() {
    // Template 2 pods run `big/model` (900 MiB) and want zone z1 — all nodes are in z0 here, so
    // use template 0 with the image swapped in. n1 has the image and is nearly full (it is not
    // chosen, so its own stamp never changes); n2, n3 do not.
    // ImageLocality raw on n1: spread 1/3 ⇒ 300 MiB ⇒ 100·(300 − 23)/(1000 − 23) = 28;
    // after n3 pulls it, spread 2/3 ⇒ 600 MiB ⇒ 100·577/977 = 59.
    let big = |name: &str| {
        let mut p = pod(name, 0, 0);
        p.spec.containers[0].image = IMAGES[2].0.into();
        p
    };
    let mut s = Scheduler::with_defaults(5);
    s.set_record_diagnosis(true);
    s.add_node(worked_node("n1", 0b100), SimTime::ZERO);
    s.add_node(worked_node("n2", 0), SimTime::ZERO);
    s.add_node(worked_node("n3", 0), SimTime::ZERO);
    let mut filler = pod("filler", 0, 0);
    filler.spec.containers[0].resources.requests =
        ResourceList::new().with_cpu_millis(3900).with_memory_bytes(1 << 30);
    filler.spec.node_name = Some("n1".into());
    s.add_pod(filler, SimTime::ZERO);

    s.add_pod(big("a"), SimTime::ZERO);
    let out = s.schedule_next(SimTime::ZERO).unwrap();
    assert!(!matches!(&out, ScheduleOutcome::Bound { node, .. } if node == "n1"), "{out:?}");
    let d = s.take_last_diagnosis().unwrap();
    assert_eq!(raw_score(&d, "n1", "ImageLocality"), 28);

    s.update_node(worked_node("n3", 0b100), SimTime::ZERO);
    s.add_pod(big("b"), SimTime::ZERO);
    s.schedule_next(SimTime::ZERO).unwrap();
    let d = s.take_last_diagnosis().unwrap();
    assert_eq!(raw_score(&d, "n1", "ImageLocality"), 59, "n1 did not change, the image summary did");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Small clusters: every node is examined each cycle.
    #[test]
    fn the_memo_changes_no_decision_score_or_diagnosis_on_small_clusters(
        seed in any::<u64>(),
        nodes in prop::collection::vec(node_gen(), 1..12),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(seed, &nodes, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Over 100 nodes only numFeasibleNodesToFind (100) are examined, from the round-robin
    /// start, so consecutive pods meet memo entries filled several cycles earlier.
    #[test]
    fn the_memo_changes_no_decision_score_or_diagnosis_on_partial_windows(
        seed in any::<u64>(),
        nodes in prop::collection::vec(node_gen(), 110..140),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        run(seed, &nodes, &ops)?;
    }
}
