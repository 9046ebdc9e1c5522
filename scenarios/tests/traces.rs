//! Scenarios with `spec.trace`: each reader's fixtures replayed through the scenario layer, a
//! trace against the scenario's own cluster and scheduler, and bad `spec.trace` fields.
//! Fixtures: `scenarios/traces/tests/fixtures` (the project's own, small, generated files).

use std::path::{Path, PathBuf};

use kubesim_scenarios::run::NullSink;
use kubesim_scenarios::{load_str, run_scenario, RunOptions, RunResult, Scenario, ScenarioError};

/// A virtual scenario file in this folder: `path:` entries resolve from `scenarios/tests`.
fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("trace-scenario.yaml")
}

fn scenario(spec: &str) -> Scenario {
    let text = format!("apiVersion: kubesim/v1\nkind: Scenario\nmetadata: {{name: t}}\nspec:\n{spec}");
    load_str(&text, &here()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(s: &Scenario) -> (RunResult, String) {
    let (r, log) = run_scenario(s, &RunOptions::default(), Vec::new(), &mut NullSink, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("run: {e}"));
    (r, String::from_utf8(log).unwrap())
}

fn errors_of(spec: &str) -> Vec<String> {
    let text = format!("apiVersion: kubesim/v1\nkind: Scenario\nspec:\n{spec}");
    match load_str(&text, Path::new("bad.yaml")) {
        Err(ScenarioError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

/// The node each pod was bound to, from the event log.
fn bindings(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|l| l.contains("\"kind\":\"PodScheduled\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["pod"].as_str().unwrap().to_string(), v["node"].as_str().unwrap().to_string())
        })
        .collect()
}

const GENERIC_ON_POOLS: &str = "  duration: 3h
  cluster:
    nodePools:
      - {name: n, count: 2, allocatable: {cpu: \"4\", memory: 16Gi, nvidia.com/gpu: \"1\"}}
  scheduler: {policy: most-allocated}
  trace: {format: generic, path: ../traces/tests/fixtures/generic}
  expect:
    - allPodsScheduled: true
";

#[test]
fn a_generic_trace_replays_on_the_scenarios_own_cluster_with_bin_packing() {
    let s = scenario(GENERIC_ON_POOLS);
    let t = s.trace.as_ref().unwrap();
    assert!(!t.nodes_from_trace, "the scenario has node pools: nodes default to `cluster`");
    let (r, log) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert_eq!(replay.counts.node_events_skipped, 2, "the trace's two nodes are not used");
    assert_eq!(replay.counts.pods_submitted, 3);
    // web-0 (0 s, forever), batch-1 (90 s, runs 1h30m), gpu-2 (2 h, runs 10 m): at 3 h both
    // finite pods have completed and web-0 still runs.
    assert_eq!((replay.log.created, replay.log.scheduled, replay.log.completed), (3, 3, 2));
    assert_eq!(replay.log.bound_count(), 1);
    assert_eq!(replay.log.waits_ns, vec![0, 0, 0], "room for everyone: no pod waits");
    // MostAllocated packs batch-1 next to web-0.
    let b = bindings(&log);
    assert_eq!(b[0].1, b[1].1, "{b:?}");
    // batch-1's deletion is scheduled at its bind time + 1h30m exactly.
    assert!(
        log.contains("{\"t\":5490000000000,\"kind\":\"PodDeleting\",\"pod\":\"default/batch-1\""),
        "{log}"
    );
    for e in &s.expectations {
        let v = e.evaluate(&r);
        assert_eq!(v.verdict, kubesim_reports::junit::Verdict::Pass, "{}: {}", v.name, v.message());
    }
}

#[test]
fn the_digest_does_not_depend_on_the_metrics_interval_and_repeats() {
    let a = run(&scenario(GENERIC_ON_POOLS)).0;
    let b = run(&scenario(GENERIC_ON_POOLS)).0;
    let c = run(&scenario(&format!("{GENERIC_ON_POOLS}  metrics: {{interval: 7m}}\n"))).0;
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.digest, c.digest, "samples only read the cluster");
    assert!(a.metrics.rows().len() > c.metrics.rows().len());
}

#[test]
fn an_openb_trace_brings_its_nodes_and_its_gpu_pods_wait_for_whole_devices() {
    // Window of 1 h: openb-pod-0002 (8 whole V100 GPUs) cannot start while openb-pod-0000 holds
    // one GPU of the only V100 node (its run lasts 145 days).
    let s = scenario("  trace: {format: openb, path: ../traces/tests/fixtures/openb, to: 1h}\n");
    assert_eq!(s.duration, sim_core::SimDuration::from_hours(1), "duration = to − from");
    let (r, _) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert_eq!(replay.counts.nodes_added, 3);
    assert_eq!(replay.log.created, 4, "openb-pod-0004 arrives at 5000 s, after the window");
    assert_eq!(replay.log.scheduled, 3);
    let (reasons, waited) = replay.log.unschedulable(r.end);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].0.contains("Insufficient") || reasons[0].0.contains("affinity"), "{reasons:?}");
    assert_eq!(waited, vec![3400.0], "arrived at 200 s, still waiting at 1 h");
    // GPU accounting: pod-0000 (1 GPU) and pod-0001 (460 milli-GPU) run on 10 GPUs in all.
    let gpu = replay.log.requested_ratios().into_iter().find(|(r, _)| *r == "nvidia.com/gpu").unwrap();
    assert_eq!(gpu.1, 0.1);
}

#[test]
fn an_alibaba_2018_trace_replays_containers_and_batch_jobs() {
    let s = scenario(
        "  trace: {format: alibaba-2018, path: ../traces/tests/fixtures/alibaba-2018, maxMemory: 100Gi}\n",
    );
    assert!(s.trace.as_ref().unwrap().until_trace_ends);
    let (r, _) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert_eq!(replay.counts.nodes_added, 3);
    assert_eq!(replay.counts.jobs_submitted, 2, "j_1 starts at time 0, outside the trace's span");
    assert_eq!(replay.log.scheduled, replay.log.created, "every pod finds a node");
    assert!(replay.log.completed >= 1, "the batch jobs' pods complete");
    assert_eq!(replay.log.pending_count(), 0);
}

#[test]
fn a_google_2019_trace_replays_machine_events_and_instances() {
    let s = scenario(
        "  trace:\n    format: google-2019\n    path: ../traces/tests/fixtures/google-2019\n    machineShape: {cpu: 96, memory: 512Gi}\n",
    );
    let (r, _) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert_eq!(replay.counts.nodes_added, 2);
    assert_eq!(replay.counts.nodes_removed, 1, "machine 101 leaves at 1200 s");
    assert_eq!(replay.counts.node_updates_ignored, 1, "machine 102 changes capacity at 600 s");
    assert_eq!((replay.log.created, replay.log.scheduled, replay.log.completed), (2, 2, 1));
}

#[test]
fn keep_nodes_removes_trace_nodes_but_not_the_workload() {
    let s =
        scenario("  trace: {format: openb, path: ../traces/tests/fixtures/openb, to: 1h, keepNodes: 0%}\n");
    let (r, _) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert_eq!((replay.counts.nodes_added, replay.counts.nodes_left_out), (0, 3));
    assert_eq!((replay.log.created, replay.log.scheduled), (4, 0));
}

#[test]
fn bad_trace_fields_are_named() {
    let e = errors_of("  trace: {format: azure, path: .}\n");
    assert!(e[0].starts_with("bad.yaml:4: spec.trace.format: unknown trace format \"azure\""), "{e:?}");
    let e = errors_of("  trace: {format: google-2019, path: .}\n");
    assert!(e.iter().any(|l| l.contains("spec.trace.machineShape: required")), "{e:?}");
    let e = errors_of("  trace: {format: openb, path: ./nope}\n");
    assert!(e.iter().any(|l| l.contains("spec.trace.path:") && l.contains("no such file")), "{e:?}");
    let e = errors_of("  trace: {format: generic, path: ., sampleMachines: lots, from: 2h, to: 1h}\n");
    assert!(e.iter().any(|l| l.contains("spec.trace.sampleMachines: invalid fraction")), "{e:?}");
    assert!(e.iter().any(|l| l.contains("spec.trace.to: must come after from")), "{e:?}");
    let e = errors_of(
        "  duration: 1h\n  trace: {format: alibaba-2018, path: ., nodes: cluster, keepNodes: 50%}\n",
    );
    assert!(
        e.iter().any(|l| l.contains("spec.trace.nodes: cluster: but the scenario defines no nodes")),
        "{e:?}"
    );
    assert!(e.iter().any(|l| l.contains("spec.trace.maxMemory: required")), "{e:?}");
    let e = errors_of("  cluster: {}\n");
    assert!(e[0].contains("spec.duration: required"), "{e:?}");
}

#[test]
fn trace_usage_series_are_handed_to_the_pods_they_belong_to() {
    // The Alibaba 2018 fixture's containers carry container_usage samples: each such pod is created
    // with its own workload (`Cluster::create_pod_with_workload`; the cluster's tests check that
    // such a workload drives the container's CPU).
    let s = scenario(
        "  trace: {format: alibaba-2018, path: ../traces/tests/fixtures/alibaba-2018, maxMemory: 100Gi}\n",
    );
    let (r, _) = run(&s);
    let replay = r.replay.as_ref().unwrap();
    assert!(replay.counts.usage_series_replayed >= 1, "{:?}", replay.counts);
    assert!(replay.counts.usage_series_replayed <= replay.counts.pods_submitted);
}
