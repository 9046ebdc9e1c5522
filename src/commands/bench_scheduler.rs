//! `kubesim bench scheduler`: scheduling throughput on the shape of upstream scheduler_perf's
//! SchedulingBasic (identical nodes, identical pods, nothing else in the cluster).
//!
//! Nodes: 4 CPU, 32 GiB, 110 pods, labelled with a hostname and one of three zones.
//! Pods: one container requesting and limited to 100m CPU and 500 MiB (the upstream pod template).
//! Prints one JSON line: `{"nodes":…,"pods":…,"scheduled":…,"wall_s":…,"pods_per_s":…}`.
// Wall-clock timing is this command's job; nothing it measures feeds back into the simulation.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use kubesim_api::{
    Container, Node, NodeSpec, NodeStatus, ObjectMeta, Pod, PodSpec, ResourceList, ResourceName,
    ResourceRequirements,
};
use kubesim_scheduler::ScheduleOutcome;
use serde::Serialize;
use sim_core::SimTime;

use super::schedule::build_scheduler;
use super::{fail, CliError};

/// Arguments of `kubesim bench scheduler`.
#[derive(Debug, Args)]
pub struct BenchSchedulerArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 5000)]
    pub nodes: usize,
    /// Number of pods to schedule.
    #[arg(long, default_value_t = 50000)]
    pub pods: usize,
    /// A KubeSchedulerConfiguration instead of the default profile.
    #[arg(long, conflicts_with = "policy")]
    pub config: Option<PathBuf>,
    /// A named policy (see `kubesim schedule --help`).
    #[arg(long)]
    pub policy: Option<String>,
    /// Seed for tie-breaking.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kubernetes version whose behaviour to reproduce.
    #[arg(long, default_value = "1.35")]
    pub kubernetes_version: String,
}

/// The JSON line printed.
#[derive(Debug, Serialize)]
pub struct BenchSchedulerResult {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Pods submitted.
    pub pods: usize,
    /// Pods bound.
    pub scheduled: usize,
    /// Wall time from submitting the first pod to the last scheduling decision.
    pub wall_s: f64,
    /// `pods / wall_s`.
    pub pods_per_s: f64,
}

const GIB: i64 = 1 << 30;
const MIB: i64 = 1 << 20;

/// A scheduler_perf default node.
pub fn perf_node(i: usize) -> Node {
    let name = format!("node-{i}");
    let mut meta = ObjectMeta::named("", &name);
    meta.labels.insert("kubernetes.io/hostname".into(), name.clone());
    meta.labels.insert("topology.kubernetes.io/zone".into(), format!("zone-{}", i % 3));
    let allocatable =
        ResourceList::new().with_cpu_millis(4000).with_memory_bytes(32 * GIB).with(ResourceName::Pods, 110);
    Node {
        meta,
        spec: NodeSpec::default(),
        status: NodeStatus { capacity: allocatable.clone(), allocatable, ..Default::default() },
    }
}

/// A scheduler_perf default pod.
pub fn perf_pod(i: usize) -> Pod {
    let mut meta = ObjectMeta::named("default", &format!("pod-{i}"));
    meta.uid = format!("bench-pod-{i}").into();
    let resources = ResourceList::new().with_cpu_millis(100).with_memory_bytes(500 * MIB);
    Pod {
        meta,
        spec: PodSpec {
            containers: vec![Container {
                name: "pause".into(),
                image: "registry.k8s.io/pause:3.10".into(),
                resources: ResourceRequirements { requests: resources.clone(), limits: resources },
                ..Default::default()
            }]
            .into(),
            ..Default::default()
        }
        .into(),
        status: Default::default(),
    }
}

/// Runs the benchmark and returns its result.
pub fn bench(args: &BenchSchedulerArgs) -> Result<BenchSchedulerResult, CliError> {
    let mut scheduler = build_scheduler(
        args.config.as_ref(),
        args.policy.as_deref(),
        None,
        &args.kubernetes_version,
        args.seed,
    )?;
    let now = SimTime::ZERO;
    for i in 0..args.nodes {
        scheduler.add_node(perf_node(i), now);
    }
    let pods: Vec<Pod> = (0..args.pods).map(perf_pod).collect();
    let start = Instant::now();
    for pod in pods {
        scheduler.add_pod(pod, now);
    }
    let mut scheduled = 0;
    while let Some(outcome) = scheduler.schedule_next(now) {
        if matches!(outcome, ScheduleOutcome::Bound { .. }) {
            scheduled += 1;
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    Ok(BenchSchedulerResult {
        nodes: args.nodes,
        pods: args.pods,
        scheduled,
        wall_s,
        pods_per_s: if wall_s > 0.0 { args.pods as f64 / wall_s } else { f64::INFINITY },
    })
}

/// Runs the command.
pub fn run(args: &BenchSchedulerArgs) -> ExitCode {
    match bench(args).and_then(|r| serde_json::to_string(&r).map_err(|e| CliError::internal(e.to_string()))) {
        Ok(line) => {
            outln!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
