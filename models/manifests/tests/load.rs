//! Loading the fixtures: every conversion and default, checked on realistic manifests.

use std::path::PathBuf;

use kubesim_api::{
    ConditionStatus, ContainerState, DeploymentStrategy, IntOrPercent, NodeConditionType,
    NodeInclusionPolicy, PodPhase, PreemptionPolicy, ProbeAction, Protocol, PullPolicy, ResourceName,
    RestartPolicy, TaintEffect, TolerationOperator, UnsatisfiableConstraintAction,
};
use kubesim_manifests::{expand_to_pods, load_paths, resolve_priorities, Loaded, ObjectRef};
use sim_core::{SimDuration, SimTime};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn cluster() -> Loaded {
    load_paths(&[fixture("cluster.yaml")]).expect("cluster fixture loads")
}

/// 2024-05-01T12:00:00Z in seconds since the Unix epoch.
const MAY_FIRST_NOON: u64 = 1_714_564_800;

#[test]
fn the_cluster_dump_loads_every_kind_in_input_order() {
    let c = cluster();
    assert_eq!(
        c.priority_classes.iter().map(|p| p.meta.name.as_str()).collect::<Vec<_>>(),
        ["high", "batch-low"]
    );
    assert_eq!(
        c.nodes.iter().map(|n| n.meta.name.as_str()).collect::<Vec<_>>(),
        ["node-a", "node-b", "node-c"]
    );
    assert_eq!(c.pods.iter().map(|p| p.meta.name.as_str()).collect::<Vec<_>>(), ["web-0", "old-batch"]);
    let order: Vec<ObjectRef> = c.entries.iter().map(|e| e.object).collect();
    assert_eq!(
        order,
        [
            ObjectRef::PriorityClass(0),
            ObjectRef::PriorityClass(1),
            ObjectRef::Node(0),
            ObjectRef::Node(1),
            ObjectRef::Node(2),
            ObjectRef::Pod(0),
            ObjectRef::Pod(1),
            ObjectRef::Service(0),
        ]
    );
    // Entries know their document and the line of its `---`.
    let web = c.location_of(ObjectRef::Pod(0)).unwrap();
    assert_eq!(web.document, 6);
    assert!(web.file.ends_with("cluster.yaml"));
    let line = web.line.unwrap();
    let text = std::fs::read_to_string(fixture("cluster.yaml")).unwrap();
    assert_eq!(text.lines().nth(line - 1), Some("---"));
    assert!(text.lines().nth(line + 1).unwrap().contains("kind: Pod"));
}

#[test]
fn nodes_keep_labels_taints_images_and_conditions() {
    let c = cluster();
    let a = &c.nodes[0];
    assert_eq!(a.meta.uid, "6a1f0d1e-0000-4000-8000-00000000000a");
    assert_eq!(a.meta.namespace, "", "nodes are cluster-scoped");
    assert_eq!(a.meta.creation_timestamp, SimTime::from_secs(MAY_FIRST_NOON));
    assert_eq!(a.meta.labels["topology.kubernetes.io/zone"], "eu-west-1a");
    assert_eq!(a.spec.taints.len(), 1);
    assert_eq!(a.spec.taints[0].effect, TaintEffect::NoSchedule);
    assert_eq!(a.spec.taints[0].value, "gpu");
    assert_eq!(a.status.capacity.cpu_millis(), 4000);
    assert_eq!(a.status.allocatable.cpu_millis(), 3920);
    // 15.5Gi = 15.5 × 2^30 = 16 642 998 272 bytes.
    assert_eq!(a.status.allocatable.memory_bytes(), 16_642_998_272);
    assert_eq!(a.status.capacity.get(&ResourceName::EphemeralStorage), Some(100_000_000_000));
    assert_eq!(a.status.allocatable.get(&ResourceName::parse("nvidia.com/gpu")), Some(2));
    assert_eq!(a.status.allocatable.get(&ResourceName::Pods), Some(110));
    assert_eq!(a.status.images[0].names.len(), 2);
    assert_eq!(a.status.images[0].size_bytes, 123_456_789);
    let ready = a.condition(&NodeConditionType::Ready).unwrap();
    assert_eq!(ready.status, ConditionStatus::True);
    assert_eq!(ready.last_heartbeat_time, Some(SimTime::from_secs(MAY_FIRST_NOON + 1800)));
    assert!(a.is_ready());
}

#[test]
fn node_allocatable_defaults_to_capacity() {
    let c = cluster();
    let b = &c.nodes[1];
    assert_eq!(b.status.allocatable, b.status.capacity);
    assert_eq!(b.status.allocatable.cpu_millis(), 8000, "a YAML integer is a quantity too");
    assert_eq!(b.meta.uid, "kubesim:Node:node-b", "a uid is invented deterministically");
    let node_c = &c.nodes[2];
    assert!(node_c.spec.unschedulable);
    assert!(!node_c.is_ready());
    assert_eq!(node_c.spec.taints[0].time_added, Some(SimTime::from_secs(MAY_FIRST_NOON + 3600)));
}

#[test]
fn pod_containers_get_requests_from_limits_and_probe_defaults() {
    let c = cluster();
    let web = &c.pods[0];
    assert_eq!(web.meta.key().to_string(), "shop/web-0");
    assert_eq!(web.meta.owner_references[0].kind, "ReplicaSet");
    assert!(web.meta.owner_references[0].controller);
    let container = &web.spec.containers[0];
    assert_eq!(container.image_pull_policy, PullPolicy::IfNotPresent);
    let r = &container.resources;
    assert_eq!(r.requests.cpu_millis(), 250);
    assert_eq!(r.requests.memory_bytes(), 128 << 20);
    assert_eq!(r.limits.cpu_millis(), 1000);
    // The GPU has only a limit: the request defaults to it.
    assert_eq!(r.requests.get(&ResourceName::parse("nvidia.com/gpu")), Some(1));
    assert_eq!(container.ports[0].host_port, 80);
    assert_eq!(container.ports[1].protocol, Protocol::Udp);
    assert_eq!(container.ports[1].host_port, 0);
    let liveness = container.liveness_probe.as_ref().unwrap();
    // The named port `http` resolves to 8080.
    assert_eq!(liveness.action, ProbeAction::HttpGet { path: "/healthz".into(), port: 8080 });
    assert_eq!(
        (liveness.initial_delay_seconds, liveness.period_seconds, liveness.timeout_seconds),
        (5, 10, 1)
    );
    assert_eq!((liveness.success_threshold, liveness.failure_threshold), (1, 3));
    let readiness = container.readiness_probe.as_ref().unwrap();
    assert_eq!(readiness.action, ProbeAction::TcpSocket { port: 8080 });
    assert_eq!((readiness.period_seconds, readiness.failure_threshold), (2, 1));
    let startup = container.startup_probe.as_ref().unwrap();
    assert_eq!(startup.action, ProbeAction::Exec { command: vec!["cat".into(), "/tmp/ready".into()] });
}

#[test]
fn init_containers_and_sidecars_are_kept_in_order() {
    let c = cluster();
    let init = &c.pods[0].spec.init_containers;
    assert_eq!(init.len(), 2);
    assert!(!init[0].is_sidecar());
    assert!(init[1].is_sidecar());
    assert_eq!(init[1].image_pull_policy, PullPolicy::Always, "untagged image");
    assert_eq!(init[1].resources.requests.cpu_millis(), 100);
    assert_eq!(init[1].resources.requests.memory_bytes(), 50 << 20);
}

#[test]
fn placement_constraints_convert_with_defaults() {
    let c = cluster();
    let spec = &c.pods[0].spec;
    assert_eq!(spec.node_name.as_deref(), Some("node-a"));
    assert_eq!(spec.extras.scheduler_name, "default-scheduler");
    assert_eq!(spec.termination_grace_period, SimDuration::from_secs(30));
    assert_eq!(spec.tolerations.len(), 2);
    assert_eq!(spec.tolerations[1].operator, TolerationOperator::Exists);
    assert_eq!(spec.tolerations[1].effect, Some(TaintEffect::NoExecute));
    assert_eq!(spec.tolerations[1].toleration_seconds, Some(300));
    let node_affinity = &spec.extras.affinity.node_affinity;
    let required = node_affinity.required.as_ref().unwrap();
    assert_eq!(required.terms[0].match_expressions[0].values, ["eu-west-1a", "eu-west-1b"]);
    assert_eq!(node_affinity.preferred[0].weight, 20);
    let anti = &spec.extras.affinity.pod_anti_affinity.preferred[0];
    assert_eq!(anti.weight, 100);
    assert_eq!(anti.term.topology_key, "kubernetes.io/hostname");
    assert!(spec.extras.affinity.pod_affinity.is_empty());
    let spread = &spec.extras.topology_spread_constraints[0];
    assert_eq!(spread.when_unsatisfiable, UnsatisfiableConstraintAction::DoNotSchedule);
    assert_eq!(spread.min_domains, Some(2));
    assert_eq!(spread.node_affinity_policy, NodeInclusionPolicy::Honor);
    assert_eq!(spread.node_taints_policy, NodeInclusionPolicy::Ignore);
}

#[test]
fn pod_status_and_timestamps_are_read() {
    let c = cluster();
    let web = &c.pods[0];
    assert_eq!(web.status.phase, PodPhase::Running);
    assert_eq!(web.status.start_time, Some(SimTime::from_secs(MAY_FIRST_NOON + 300)));
    assert!(web.is_ready());
    assert_eq!(web.status.conditions.len(), 1, "condition types the model lacks are dropped");
    let cs = &web.status.container_statuses[0];
    assert_eq!(cs.restart_count, 2);
    assert_eq!(cs.state, ContainerState::Running { started_at: SimTime::from_secs(MAY_FIRST_NOON + 330) });
    // The List item: default namespace, terminating (with sub-second precision), its own scheduler.
    let old = &c.pods[1];
    assert_eq!(old.meta.namespace, "default");
    assert_eq!(
        old.meta.deletion_timestamp,
        Some(SimTime::from_nanos((MAY_FIRST_NOON + 2400) * 1_000_000_000 + 500_000_000))
    );
    assert!(old.meta.is_terminating());
    assert_eq!(old.spec.extras.scheduler_name, "batch-scheduler");
    assert_eq!(old.spec.restart_policy, RestartPolicy::Never);
    assert_eq!(old.spec.termination_grace_period, SimDuration::from_secs(5));
    assert_eq!(old.spec.containers[0].image_pull_policy, PullPolicy::Always, ":latest");
    assert_eq!(old.spec.containers[0].resources.requests.cpu_millis(), 500);
    assert_eq!(old.spec.containers[0].resources.requests.memory_bytes(), 1_000_000_000, "YAML float 1e9");
}

#[test]
fn unknown_fields_are_warnings_and_the_listed_service_loads() {
    let c = cluster();
    let rendered: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    // PriorityClass.description, Node.spec.podCIDR and status.nodeInfo are known to k8s-openapi;
    // the Service in the List is loaded like any other object.
    assert!(rendered.is_empty(), "{rendered:#?}");
    assert_eq!(c.services.len(), 1);
    assert_eq!(c.services[0].meta.key().to_string(), "default/web");
}

#[test]
fn priorities_resolve_from_classes_and_the_global_default() {
    let mut c = cluster();
    resolve_priorities(&mut c, &[]).unwrap();
    assert_eq!(c.pods[0].spec.priority, Some(1000));
    // No class named: the global default `batch-low` (value -10, preemptionPolicy Never) applies.
    assert_eq!(c.pods[1].spec.priority, Some(-10));
    assert_eq!(c.pods[1].spec.extras.priority_class_name.as_deref(), Some("batch-low"));
    assert_eq!(c.pods[1].spec.preemption_policy, PreemptionPolicy::Never);
}

#[test]
fn a_pods_file_resolves_against_the_clusters_classes_and_expands_workloads() {
    let cluster = cluster();
    let mut pods = load_paths(&[fixture("pods.yaml")]).unwrap();
    assert!(pods.warnings.is_empty(), "{:?}", pods.warnings);
    resolve_priorities(&mut pods, &cluster.priority_classes).unwrap();
    let d = &pods.deployments[0];
    assert_eq!(d.replicas, 3);
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25)
        }
    );
    assert_eq!((d.revision_history_limit, d.progress_deadline_seconds), (Some(10), Some(600)));
    assert_eq!(d.template.spec.priority, Some(1000));
    let job = &pods.jobs[0];
    assert_eq!((job.parallelism, job.completions, job.backoff_limit), (2, Some(5), 6));
    assert_eq!(job.template.labels["batch.kubernetes.io/job-name"], "report");
    assert!(job.selector.matches(&job.template.labels));

    let expanded = expand_to_pods(&pods);
    let names: Vec<String> = expanded.iter().map(|p| p.meta.key().to_string()).collect();
    assert_eq!(names.len(), 1 + 3 + 2 + 2, "{names:?}");
    assert_eq!(names[0], "default/solo");
    let rs_name = names[1].strip_prefix("shop/").unwrap().strip_suffix("-0").unwrap().to_string();
    assert!(rs_name.starts_with("api-"));
    assert_eq!(names[2], format!("shop/{rs_name}-1"));
    assert_eq!(&names[4..], ["default/cache-0", "default/cache-1", "default/report-0", "default/report-1"]);
    let api0 = &expanded[1];
    assert_eq!(api0.meta.labels["app"], "api");
    assert_eq!(api0.meta.labels["pod-template-hash"], rs_name.strip_prefix("api-").unwrap());
    assert_eq!(api0.meta.owner_references[0].kind, "ReplicaSet");
    assert_eq!(api0.meta.owner_references[0].name, rs_name);
    assert_eq!(api0.spec.priority, Some(1000));
    assert_eq!(expanded[7].meta.owner_references[0].kind, "Job");
    // Deterministic: expanding again gives the same names.
    let again: Vec<String> = expand_to_pods(&pods).iter().map(|p| p.meta.name.to_string()).collect();
    assert_eq!(again, expanded.iter().map(|p| p.meta.name.clone()).collect::<Vec<_>>());
}

#[test]
fn folders_load_recursively_in_sorted_order_and_skip_other_files() {
    let loaded = load_paths(&[fixture("cluster-dir")]).unwrap();
    let names: Vec<&str> = loaded.nodes.iter().map(|n| n.meta.name.as_str()).collect();
    // a-nodes.yaml, b-nodes.yml, nested/c-node.json; README.txt ignored.
    assert_eq!(names, ["dir-node-1", "dir-node-2", "dir-node-3"]);
    assert_eq!(loaded.nodes[2].status.allocatable.cpu_millis(), 3000);
}

#[test]
fn several_paths_keep_their_order() {
    let loaded = load_paths(&[fixture("pods.yaml"), fixture("cluster-dir")]).unwrap();
    assert_eq!(loaded.pods.len(), 1);
    assert_eq!(loaded.nodes.len(), 3);
    assert_eq!(loaded.entries.first().map(|e| e.object), Some(ObjectRef::Pod(0)));
    assert_eq!(loaded.entries.last().map(|e| e.object), Some(ObjectRef::Node(2)));
}

#[test]
fn extending_loaded_sets_shifts_entry_indices() {
    let mut all = load_paths(&[fixture("pods.yaml")]).unwrap();
    all.extend(load_paths(&[fixture("cluster.yaml")]).unwrap());
    assert_eq!(all.pods.len(), 3);
    // The cluster's first pod (web-0) follows the pods file's `solo`.
    let web = all.entries.iter().find(|e| e.object == ObjectRef::Pod(1)).unwrap();
    assert!(web.location.file.ends_with("cluster.yaml"));
    assert_eq!(all.describe(ObjectRef::Pod(1)), "Pod shop/web-0");
    assert_eq!(expand_to_pods(&all).len(), 8 + 2);
}
