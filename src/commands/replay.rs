//! `kubesim replay`: replays a cluster trace against the trace's own nodes or a candidate
//! cluster, and answers a capacity planner's questions. A shortcut for a scenario with
//! `spec.trace` (built in memory); writes what `kubesim run` writes plus `planner.json` and
//! `planner.md`, and prints the planner tables.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use kubesim_scenarios::output::{run_into_dir, write_reports};
use kubesim_scenarios::planner::{planner_json, planner_markdown};
use kubesim_scenarios::trace::{load_replay, ReplayRequest, FORMATS};
use kubesim_scenarios::RunOptions;
use sim_core::SimTime;

use super::run::{progress_bar, timed};
use super::{fail, CliError};

/// Arguments of `kubesim replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The trace folder (or, for openb and generic, the pod list file).
    pub trace: PathBuf,
    /// Trace format: openb, alibaba-2018, google-2019 or generic.
    #[arg(long)]
    pub format: String,
    /// Use the trace's machines as the cluster's nodes (the default without --cluster).
    #[arg(long)]
    pub nodes_from_trace: bool,
    /// A scenario file (cluster, scheduler, events, expectations) or a manifests file of Nodes to
    /// replay the trace against.
    #[arg(long)]
    pub cluster: Option<PathBuf>,
    /// Scheduler policy (default, most-allocated, best-fit, …).
    #[arg(long, conflicts_with = "scheduler_config")]
    pub policy: Option<String>,
    /// A KubeSchedulerConfiguration file.
    #[arg(long)]
    pub scheduler_config: Option<PathBuf>,
    /// Window start, from the trace start (e.g. 2h).
    #[arg(long)]
    pub from: Option<String>,
    /// Window end (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Keep this fraction of the machines (and of the workload): 10% or 0.1.
    #[arg(long)]
    pub sample_machines: Option<String>,
    /// Keep this fraction of the trace's nodes, the whole workload ("20 % fewer nodes": 80%).
    #[arg(long)]
    pub keep_nodes: Option<String>,
    /// Skip malformed trace records instead of failing.
    #[arg(long)]
    pub lenient: bool,
    /// openb/generic: the pod list inside the trace folder.
    #[arg(long)]
    pub pods_file: Option<String>,
    /// openb/generic: the node list.
    #[arg(long)]
    pub nodes_file: Option<String>,
    /// alibaba-2018: memory of normalised size 100 (e.g. 512Gi).
    #[arg(long)]
    pub max_memory: Option<String>,
    /// google-2019: CPU of a machine of normalised capacity 1.0 (e.g. 96).
    #[arg(long)]
    pub machine_cpu: Option<String>,
    /// google-2019: memory of a machine of normalised capacity 1.0 (e.g. 512Gi).
    #[arg(long)]
    pub machine_memory: Option<String>,
    /// Stop after this much simulated time (default: the window, or until the trace ends).
    #[arg(long)]
    pub duration: Option<String>,
    /// Metric sampling interval (default 15s; runs of unknown length double it every 256 samples).
    #[arg(long)]
    pub metrics_interval: Option<String>,
    /// Seed (sampling draws and the scheduler's tie-breaks).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder (default `out/replay-<format>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn request(args: &ReplayArgs) -> ReplayRequest {
    let mut fields = Vec::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            fields.push((k.to_string(), v.clone()));
        }
    };
    put("from", &args.from);
    put("to", &args.to);
    put("sampleMachines", &args.sample_machines);
    put("keepNodes", &args.keep_nodes);
    put("podsFile", &args.pods_file);
    put("nodesFile", &args.nodes_file);
    put("maxMemory", &args.max_memory);
    put("machineShape.cpu", &args.machine_cpu);
    put("machineShape.memory", &args.machine_memory);
    if args.lenient {
        fields.push(("lenient".into(), "true".into()));
    }
    ReplayRequest {
        trace: args.trace.clone(),
        format: args.format.clone(),
        cluster: args.cluster.clone(),
        nodes_from_trace: args.nodes_from_trace,
        policy: args.policy.clone(),
        scheduler_config: args.scheduler_config.clone(),
        trace_fields: fields,
        duration: args.duration.clone(),
        metrics_interval: args.metrics_interval.clone(),
    }
}

fn execute(args: &ReplayArgs) -> Result<(), CliError> {
    if !FORMATS.contains(&args.format.as_str()) {
        return Err(CliError::invalid(format!(
            "--format {:?}: expected one of {}",
            args.format,
            FORMATS.join(", ")
        )));
    }
    let scenario = match load_replay(&request(args)) {
        Ok(s) => s,
        Err(e) => {
            let lines: Vec<String> = match e.diagnostics() {
                [] => vec![e.to_string()],
                diags => diags.iter().map(ToString::to_string).collect(),
            };
            return Err(CliError::invalid(lines.join("\nerror: ")));
        }
    };
    for w in &scenario.warnings {
        eprintln!("warning: {w}");
    }
    let dir = args.out.clone().unwrap_or_else(|| Path::new("out").join(format!("replay-{}", args.format)));
    let options = RunOptions { seed: args.seed, until: None };
    let bar = progress_bar(sim_core::SimDuration::from_secs(1));
    let (result, wall_s) = timed(|| {
        run_into_dir(&scenario, &options, &dir, &mut |now: SimTime, end: SimTime| {
            bar.set_length(end.as_secs().max(1));
            bar.set_position(now.as_secs());
        })
    });
    bar.finish_and_clear();
    let result = result.map_err(|e| {
        if e.is_invalid_input() {
            CliError::invalid(e.to_string())
        } else {
            CliError::internal(e.to_string())
        }
    })?;
    write_reports(&dir, &result, Some(wall_s)).map_err(|e| CliError::internal(e.to_string()))?;
    let planner = planner_json(&result);
    let json_path = dir.join("planner.json");
    std::fs::write(&json_path, kubesim_reports::canonical::to_string_pretty(&planner) + "\n")
        .map_err(|e| CliError::internal(format!("{}: {e}", json_path.display())))?;
    let md = planner_markdown(&planner);
    let md_path = dir.join("planner.md");
    std::fs::write(&md_path, &md).map_err(|e| CliError::internal(format!("{}: {e}", md_path.display())))?;
    outln!("{md}");
    let c = &result.counters;
    outln!(
        "{}: simulated {} in {wall_s:.2}s wall, {} events; pods created {}, scheduled {}; evictions {}",
        result.scenario,
        result.end.since_start(),
        c.events_processed,
        c.pods_created,
        c.pods_scheduled,
        c.evictions
    );
    outln!("outputs: {}", dir.display());
    outln!("digest: {}", result.digest);
    Ok(())
}

/// Runs the command.
pub fn run(args: &ReplayArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
