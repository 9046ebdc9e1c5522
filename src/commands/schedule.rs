//! `kubesim schedule`: where would these pods land, and why?
//!
//! Loads a cluster (Nodes, PriorityClasses, bound Pods) and a list of pods to place, runs the real
//! scheduling cycle for each pod in order (binding it before the next is considered), and prints a
//! table or the JSON contract of [`schedule_report`](super::schedule_report).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kubesim_api::{ObjectKey, Pod};
use kubesim_scheduler::config::args::ScoringStrategyType;
use kubesim_scheduler::config::{parse_config, PluginArgs, SchedulerConfig};
use kubesim_scheduler::diagnosis::Diagnosis;
use kubesim_scheduler::policies::{policy_by_name, POLICY_NAMES};
use kubesim_scheduler::{KubeVersion, ScheduleOutcome, Scheduler, SchedulerOptions};
use sim_core::SimTime;

use super::schedule_report::{
    render_table, FilterResult, NodeResult, PodResult, PodStatus, Preemption, ScheduleReport, ScoreResult,
};
use super::{fail, CliError};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// The stable JSON contract.
    Json,
}

/// Arguments of `kubesim schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Files or folders holding Nodes, PriorityClasses and existing (bound) Pods.
    #[arg(long, required = true, num_args = 1..)]
    pub cluster: Vec<PathBuf>,
    /// Files holding the pods to place, in order (Deployments, ReplicaSets and Jobs expand to their replicas).
    #[arg(long, required = true, num_args = 1..)]
    pub pods: Vec<PathBuf>,
    /// A KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1).
    #[arg(long, conflicts_with = "policy")]
    pub config: Option<PathBuf>,
    /// A named policy instead of the default profile: default, least-allocated, most-allocated,
    /// first-fit, best-fit, worst-fit, random, dot-product.
    #[arg(long)]
    pub policy: Option<String>,
    /// Feature gates, e.g. `SchedulerPopFromBackoffQ=false,TaintTolerationComparisonOperators=true`.
    #[arg(long)]
    pub feature_gates: Option<String>,
    /// Kubernetes version whose behaviour to reproduce.
    #[arg(long, default_value = "1.35")]
    pub kubernetes_version: String,
    /// Seed for tie-breaking among equally scored nodes and preemption's random offset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Profile-based policy names accepted beside the scheduler crate's research policies.
const PROFILE_POLICIES: &[&str] = &["default", "least-allocated", "most-allocated"];

/// Builds the scheduler from `--config` / `--policy` / `--feature-gates` / `--kubernetes-version`.
pub fn build_scheduler(
    config: Option<&PathBuf>,
    policy: Option<&str>,
    feature_gates: Option<&str>,
    kubernetes_version: &str,
    seed: u64,
) -> Result<Scheduler, CliError> {
    let kubernetes_version: KubeVersion =
        kubernetes_version.parse().map_err(|e| CliError::invalid(format!("--kubernetes-version: {e}")))?;
    let feature_gates = match feature_gates {
        Some(spec) => SchedulerOptions::parse_feature_gates(spec)
            .map_err(|e| CliError::invalid(format!("--feature-gates: {e}")))?,
        None => Default::default(),
    };
    for gate in feature_gates.keys() {
        if !SchedulerOptions::is_known_gate(gate) {
            eprintln!(
                "warning: --feature-gates: {gate} is not a gate kubesim's scheduler reads; it has no effect"
            );
        }
    }
    let options = SchedulerOptions { kubernetes_version, feature_gates };
    let mut research_policy = None;
    let sched_config = match (config, policy) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))?;
            let (cfg, warnings) =
                parse_config(&text).map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))?;
            for w in warnings {
                eprintln!("warning: {}: {w}", path.display());
            }
            cfg
        }
        (None, None) | (None, Some("default" | "least-allocated")) => SchedulerConfig::default(),
        (None, Some("most-allocated")) => most_allocated_config(),
        (None, Some(name)) => {
            research_policy = Some(policy_by_name(name).ok_or_else(|| {
                CliError::invalid(format!(
                    "--policy: unknown policy {name:?} (expected one of: {})",
                    PROFILE_POLICIES.iter().chain(POLICY_NAMES).copied().collect::<Vec<_>>().join(", ")
                ))
            })?);
            SchedulerConfig::default()
        }
    };
    let mut scheduler = Scheduler::new(sched_config, options, seed)
        .map_err(|e| CliError::invalid(format!("scheduler configuration: {e}")))?;
    scheduler.set_policy(research_policy);
    Ok(scheduler)
}

/// The default profile with NodeResourcesFit scoring MostAllocated (bin packing).
fn most_allocated_config() -> SchedulerConfig {
    let mut cfg = SchedulerConfig::default();
    for profile in &mut cfg.profiles {
        for (name, args) in &mut profile.plugin_config {
            if name == "NodeResourcesFit" {
                if let PluginArgs::NodeResourcesFit(fit) = args {
                    fit.scoring_strategy.kind = ScoringStrategyType::MostAllocated;
                }
            }
        }
    }
    cfg
}

/// Runs the command.
pub fn run(args: &ScheduleArgs) -> ExitCode {
    match schedule(args) {
        Ok((report, total_nodes)) => {
            match args.output {
                OutputFormat::Json => match serde_json::to_string_pretty(&report) {
                    Ok(text) => outln!("{text}"),
                    Err(e) => return fail(&CliError::internal(e.to_string())),
                },
                OutputFormat::Table => out!("{}", render_table(&report, total_nodes)),
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn load(paths: &[PathBuf]) -> Result<kubesim_manifests::Loaded, CliError> {
    let loaded = kubesim_manifests::load_paths(paths).map_err(|e| CliError::invalid(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// Loads the inputs and schedules every pod; returns the report and the cluster's node count.
pub fn schedule(args: &ScheduleArgs) -> Result<(ScheduleReport, usize), CliError> {
    let mut cluster = load(&args.cluster)?;
    kubesim_manifests::resolve_priorities(&mut cluster, &[]).map_err(|e| CliError::invalid(e.to_string()))?;
    let mut to_place = load(&args.pods)?;
    kubesim_manifests::resolve_priorities(&mut to_place, &cluster.priority_classes)
        .map_err(|e| CliError::invalid(e.to_string()))?;
    let pods = kubesim_manifests::expand_to_pods(&to_place);
    if cluster.nodes.is_empty() {
        eprintln!("warning: --cluster holds no Nodes: every pod will be unschedulable");
    }

    let mut scheduler = build_scheduler(
        args.config.as_ref(),
        args.policy.as_deref(),
        args.feature_gates.as_deref(),
        &args.kubernetes_version,
        args.seed,
    )?;
    scheduler.set_record_diagnosis(true);
    let now = SimTime::ZERO;
    let total_nodes = cluster.nodes.len();
    for node in cluster.nodes {
        scheduler.add_node(node, now);
    }
    for pod in cluster.pods {
        if pod.spec.node_name.is_some() {
            scheduler.add_pod(pod, now);
        } else {
            eprintln!(
                "warning: {} in --cluster is not bound (no spec.nodeName) and is ignored; put pods to place in --pods",
                pod.meta.key()
            );
        }
    }

    let mut results = Vec::with_capacity(pods.len());
    for pod in pods {
        results.push(place_one(&mut scheduler, pod, now)?);
    }
    Ok((ScheduleReport { results }, total_nodes))
}

/// Places one pod: one cycle; after a preemption the victims are deleted and the pod gets one more
/// cycle (on its nominated node, as upstream's next attempt would). An unschedulable pod is removed
/// from the queue so it does not come back while later pods are placed.
fn place_one(scheduler: &mut Scheduler, pod: Pod, now: SimTime) -> Result<PodResult, CliError> {
    let key = pod.meta.key();
    if pod.spec.node_name.is_some() {
        return Err(CliError::invalid(format!(
            "{key} in --pods already has spec.nodeName; bound pods belong in --cluster"
        )));
    }
    if !scheduler.add_pod(pod, now) {
        return Err(CliError::invalid(format!(
            "{key} was not queued: its schedulerName matches no profile, or it is a duplicate"
        )));
    }
    let (outcome, diagnosis) = cycle_for(scheduler, &key, now)?;
    let mut result = result_from(&key, &diagnosis);
    match outcome {
        ScheduleOutcome::Bound { node, .. } => {
            result.node = Some(node);
            result.status = PodStatus::Scheduled;
        }
        ScheduleOutcome::Preempting { node, victims, .. } => {
            for v in &victims {
                scheduler.delete_pod(v, now);
            }
            result.preemption = Some(Preemption {
                node: node.clone(),
                victims: victims.iter().map(ToString::to_string).collect(),
            });
            let (retry, _) = cycle_for(scheduler, &key, now)?;
            if let ScheduleOutcome::Bound { node, .. } = retry {
                result.node = Some(node);
                result.status = PodStatus::Scheduled;
            } else {
                scheduler.delete_pod(&key, now);
            }
        }
        ScheduleOutcome::Unschedulable { .. } | ScheduleOutcome::Error { .. } => {
            scheduler.delete_pod(&key, now);
        }
    }
    Ok(result)
}

/// Runs cycles until one concerns `key` (others can only be pods nominated earlier).
fn cycle_for(
    scheduler: &mut Scheduler,
    key: &ObjectKey,
    now: SimTime,
) -> Result<(ScheduleOutcome, Diagnosis), CliError> {
    scheduler.tick(now);
    while let Some((outcome, diagnosis)) = scheduler.schedule_one_with_diagnosis(now) {
        if outcome.pod() == key {
            return Ok((outcome, diagnosis));
        }
    }
    Err(CliError::internal(format!("{key} was queued but never popped")))
}

fn result_from(key: &ObjectKey, d: &Diagnosis) -> PodResult {
    PodResult {
        pod: key.to_string(),
        node: None,
        status: PodStatus::Unschedulable,
        evaluated_nodes: d.evaluated_nodes as u32,
        feasible_nodes: d.feasible_nodes as u32,
        nodes: d
            .nodes
            .iter()
            .map(|n| NodeResult {
                name: n.name.clone(),
                filters: n
                    .filters
                    .iter()
                    .map(|f| FilterResult {
                        plugin: f.plugin.to_string(),
                        code: f.code.as_str().to_string(),
                        reasons: f.reasons.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
                scores: n
                    .scores
                    .iter()
                    .map(|s| ScoreResult {
                        plugin: s.plugin.to_string(),
                        raw: s.raw,
                        normalized: s.normalized,
                        weight: s.weight,
                    })
                    .collect(),
                total: n.total,
            })
            .collect(),
        preemption: None,
    }
}
