//! `kubesim explain hpa --input <file> [--output table|json]`: what the HPA controller decides at
//! one moment, and why.
//!
//! The input is a multi-document YAML (or JSON) dump, as `kubectl` prints it: one
//! HorizontalPodAutoscaler (`autoscaling/v2`), its scale target (a Deployment or ReplicaSet with
//! `spec.replicas`, `spec.selector` and `status.replicas`), the target's Pods, the metrics APIs'
//! answers (PodMetrics, MetricValueList, ExternalMetricValueList) and, optionally, a
//! `kubesim/v1 HPAState` with the controller's in-memory state. Without an HPAState the controller
//! is freshly started with upstream defaults: its recommendation log is seeded with the current
//! replica count (`recordInitialRecommendation`), so it cannot scale down on this reconcile. `now`
//! is the HPAState's `now`, else the newest timestamp in the input.
//!
//! JSON (a contract others script against; extend, never rename):
//!
//! ```text
//! {"hpa": "default/web", "target": "Deployment/web", "now": "2026-01-01T00:10:00Z",
//!  "desired_replicas": 7, "current_replicas": 4,
//!  "metrics": [{"type": "Resource", "name": "cpu", "proposal": 7, "usage_ratio": 1.5333333333333334,
//!               "ready_pods": 4, "unready_pods": 0, "missing_pods": 0, "ignored_pods": 0,
//!               "target": "60%", "current": "92%", "error": null}],
//!  "recommendation": 7, "limited_by": "none",
//!  "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"}, …]}
//! ```
//!
//! `proposal` is the metric's replica count before stabilization and rate limits (null when the
//! metric failed: `error` says why); `usage_ratio` the ratio before unready and missing pods are
//! filled in; `recommendation` the count after stabilization (null when the controller did not
//! get that far: current replicas 0, or outside `[minReplicas, maxReplicas]`, or metrics failed);
//! `limited_by` one of `none`, `stabilization`, `policy`, `min`, `max`, `scale-up-limit`.
//!
//! Exit status: 0 when a decision was explained (even "metrics unavailable, no scaling"), 2 when the
//! input is invalid (the message names file, object and field).

mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use kubesim_api::autoscaling::HorizontalPodAutoscaler;
use kubesim_api::{ContainerState, Pod};
use kubesim_controllers::hpa::from_api::{snapshot_from_api, spec_from_api, target_pods};
use kubesim_controllers::hpa::{
    reconcile, Decision, HpaCondition, HpaControllerConfig, HpaInput, HpaSpec, HpaState, LimitedBy,
    MetricType, Recommendation, Scale, ScaleEvent,
};
use kubesim_manifests::autoscaling::{
    load_autoscaling_str, AutoscalingInput, HpaStateDocument, Located, ScaleTarget,
};
use kubesim_manifests::{Diagnostic, LoadError, Location, Warning};
use serde::Serialize;
use sim_core::SimTime;

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A report for people.
    #[default]
    Table,
    /// The JSON contract (see the module docs).
    Json,
}

/// `kubesim explain hpa` arguments.
#[derive(Debug, clap::Args)]
pub struct ExplainHpaArgs {
    /// Multi-document YAML: the HPA, its target, the target's pods, the metrics APIs' answers
    /// and optionally a kubesim/v1 HPAState.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// The HPA to explain (`name` or `namespace/name`) when the input holds several.
    #[arg(long, value_name = "NAME")]
    pub hpa: Option<String>,
}

/// Why an input cannot be explained.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed YAML or an invalid object.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The objects do not fit together (no HPA, target missing, …).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

fn invalid(location: Location, object: Option<String>, field: Option<&str>, message: String) -> ExplainError {
    ExplainError::Invalid(Box::new(Diagnostic {
        location,
        object,
        field: field.map(str::to_string),
        message,
    }))
}

/// One metric's line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricExplanation {
    /// `Resource`, `ContainerResource`, `Pods`, `Object`, `External`.
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    /// `cpu`, `requests_per_second`, …
    pub name: String,
    /// Replica count before stabilization and rate limits; `None` when the metric failed.
    pub proposal: Option<i32>,
    /// Ratio before unready and missing pods are filled in; `None` when the metric failed.
    pub usage_ratio: Option<f64>,
    /// Ready pods as upstream counts them.
    pub ready_pods: usize,
    /// Unready pods.
    pub unready_pods: usize,
    /// Pods without a sample.
    pub missing_pods: usize,
    /// Terminating or Failed pods.
    pub ignored_pods: usize,
    /// The target as written (`60%`, `500m`, `30 (average per pod)`).
    pub target: String,
    /// The current value as the HPA status would report it.
    pub current: Option<String>,
    /// Why the metric failed.
    pub error: Option<String>,
}

/// The whole explanation: the JSON contract, plus what the table needs.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// `namespace/name` of the HPA.
    pub hpa: String,
    /// `Kind/name` of the scale target.
    pub target: String,
    /// Evaluation time, RFC 3339.
    pub now: String,
    /// What the controller writes (equal to current when it does not scale).
    pub desired_replicas: i32,
    /// `spec.replicas` of the target.
    pub current_replicas: i32,
    /// Per metric, in `spec.metrics` order.
    pub metrics: Vec<MetricExplanation>,
    /// After stabilization; `None` when normalization did not run.
    pub recommendation: Option<i32>,
    /// What bound the final count.
    pub limited_by: LimitedBy,
    /// Conditions set by the reconcile.
    pub conditions: Vec<HpaCondition>,
    /// Details for the table (not part of the JSON contract).
    #[serde(skip)]
    pub detail: Detail,
}

/// What the table explains beyond the JSON.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    /// The spec the controller used.
    pub spec: Option<HpaSpec>,
    /// The controller flags used.
    pub config: HpaControllerConfig,
    /// Controller state before the reconcile (after seeding, when no HPAState was given).
    pub state_before: HpaState,
    /// True when the input had an HPAState.
    pub state_given: bool,
    /// True when `now` came from the HPAState.
    pub now_given: bool,
    /// Evaluation time.
    pub now: SimTime,
    /// `status.replicas` of the target.
    pub status_replicas: i32,
    /// Per metric: names of unready, missing and ignored pods.
    pub pod_groups: Vec<Option<table::PodNames>>,
    /// Warnings from loading.
    pub warnings: Vec<Warning>,
}

/// Runs the subcommand: 0 on success, 2 on invalid input.
pub fn run(args: &ExplainHpaArgs) -> ExitCode {
    let origin = args.input.display().to_string();
    let result = std::fs::read_to_string(&args.input)
        .map_err(|source| ExplainError::Io { path: origin.clone(), source })
        .and_then(|text| explain_selected(&text, &origin, args.hpa.as_deref()));
    match result {
        Ok(x) => {
            for w in &x.detail.warnings {
                eprintln!("warning: {w}");
            }
            match args.output {
                OutputFormat::Table => out!("{}", table::render(&x)),
                OutputFormat::Json => match serde_json::to_string_pretty(&x) {
                    Ok(s) => outln!("{s}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                },
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Explains the only HPA of `input_text`. `origin` names the text in diagnostics.
#[cfg_attr(not(test), allow(dead_code))]
pub fn explain(input_text: &str, origin: &str) -> Result<Explanation, ExplainError> {
    explain_selected(input_text, origin, None)
}

/// Explains the HPA named `hpa` (`name` or `namespace/name`; `None`: the only one).
pub fn explain_selected(
    input_text: &str,
    origin: &str,
    hpa: Option<&str>,
) -> Result<Explanation, ExplainError> {
    let input = load_autoscaling_str(input_text, origin)?;
    let located = pick_hpa(&input, origin, hpa)?;
    let h = &located.object;
    let target = find_target(&input, located)?;
    let spec = spec_from_api(h).map_err(|e| {
        invalid(located.location.clone(), Some(located.name.clone()), Some(&e.field), e.to_string())
    })?;
    let state_doc = find_state(&input, h)?;

    let mut config = HpaControllerConfig::default();
    if let Some(doc) = state_doc {
        let k = &doc.object.controller;
        config.tolerance = k.tolerance.unwrap_or(config.tolerance);
        config.cpu_initialization_period =
            k.cpu_initialization_period.unwrap_or(config.cpu_initialization_period);
        config.initial_readiness_delay = k.initial_readiness_delay.unwrap_or(config.initial_readiness_delay);
        config.downscale_stabilization_window =
            k.downscale_stabilization_window.unwrap_or(config.downscale_stabilization_window);
    }
    let now_given = state_doc.and_then(|d| d.object.now).is_some();
    let now = state_doc.and_then(|d| d.object.now).unwrap_or_else(|| newest_timestamp(&input));

    let all_pods: Vec<&Pod> = input.pods.iter().map(|p| &p.object).collect();
    let pods = target_pods(&h.meta.namespace, &target.selector, all_pods);
    let snapshot = snapshot_from_api(
        h,
        &target.selector,
        &pods,
        &input.pod_metrics,
        &input.custom_metrics,
        &input.external_metrics,
    );
    let mut state = match state_doc {
        Some(d) => state_from_document(&d.object),
        None => HpaState::default(),
    };
    // The seeding reconcile() would do; shown in the table as the state before.
    state.record_initial_recommendation(target.spec_replicas, now);
    let state_before = state.clone();
    let scale = Scale { spec_replicas: target.spec_replicas, status_replicas: target.status_replicas };
    let hpa_input = HpaInput { spec: &spec, scale, pods: &pods, metrics: &snapshot, now };
    let decision = reconcile(&config, &hpa_input, &mut state);

    let pod_groups = table::pod_groups(&config, &spec, &pods, &snapshot, now, &decision);
    Ok(Explanation {
        hpa: h.meta.key().to_string(),
        target: format!("{}/{}", target.kind, target.meta.name),
        now: rfc3339(now),
        desired_replicas: decision.desired_replicas,
        current_replicas: decision.current_replicas,
        metrics: metric_lines(&spec, &decision),
        recommendation: decision.recommendation,
        limited_by: decision.limited_by,
        conditions: decision.conditions.clone(),
        detail: Detail {
            spec: Some(spec),
            config,
            state_before,
            state_given: state_doc.is_some(),
            now_given,
            now,
            status_replicas: target.status_replicas,
            pod_groups,
            warnings: input.warnings.clone(),
        },
    })
}

fn pick_hpa<'a>(
    input: &'a AutoscalingInput,
    origin: &str,
    wanted: Option<&str>,
) -> Result<&'a Located<HorizontalPodAutoscaler>, ExplainError> {
    let file = Location { file: origin.to_string(), document: 0, line: None };
    let names: Vec<String> = input.hpas.iter().map(|h| h.object.meta.key().to_string()).collect();
    match wanted {
        Some(w) => {
            let found: Vec<_> = input
                .hpas
                .iter()
                .filter(|h| h.object.meta.key().to_string() == w || h.object.meta.name == w)
                .collect();
            match found.as_slice() {
                [one] => Ok(one),
                [] => Err(invalid(
                    file,
                    None,
                    None,
                    format!(
                        "no HorizontalPodAutoscaler {w:?} in the input (found: {})",
                        list_or_none(&names)
                    ),
                )),
                _ => Err(invalid(file, None, None, format!("{w:?} is ambiguous: name it as namespace/name"))),
            }
        }
        None => match input.hpas.as_slice() {
            [one] => Ok(one),
            [] => Err(invalid(
                file,
                None,
                None,
                "no HorizontalPodAutoscaler (apiVersion autoscaling/v2) in the input".into(),
            )),
            _ => Err(invalid(
                file,
                None,
                None,
                format!(
                    "the input holds {} HorizontalPodAutoscalers ({}): pick one with --hpa",
                    names.len(),
                    names.join(", ")
                ),
            )),
        },
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn find_target<'a>(
    input: &'a AutoscalingInput,
    hpa: &Located<HorizontalPodAutoscaler>,
) -> Result<&'a ScaleTarget, ExplainError> {
    let r = &hpa.object.scale_target_ref;
    let ns = &hpa.object.meta.namespace;
    if r.kind != "Deployment" && r.kind != "ReplicaSet" {
        return Err(invalid(
            hpa.location.clone(),
            Some(hpa.name.clone()),
            Some("spec.scaleTargetRef.kind"),
            format!(
                "{:?} targets are not supported: explain hpa reads Deployment or ReplicaSet targets",
                r.kind
            ),
        ));
    }
    input
        .scale_targets
        .iter()
        .map(|t| &t.object)
        .find(|t| t.kind == r.kind && t.meta.name == r.name && &t.meta.namespace == ns)
        .ok_or_else(|| {
            invalid(
                hpa.location.clone(),
                Some(hpa.name.clone()),
                Some("spec.scaleTargetRef"),
                format!("the scale target {} {ns}/{} is not in the input", r.kind, r.name),
            )
        })
}

fn find_state<'a>(
    input: &'a AutoscalingInput,
    hpa: &HorizontalPodAutoscaler,
) -> Result<Option<&'a Located<HpaStateDocument>>, ExplainError> {
    let mut found = input.hpa_states.iter().filter(|s| s.object.meta.key() == hpa.meta.key());
    let first = found.next();
    if let Some(second) = found.next() {
        return Err(invalid(
            second.location.clone(),
            Some(second.name.clone()),
            None,
            format!("a second HPAState for HorizontalPodAutoscaler {}", hpa.meta.key()),
        ));
    }
    Ok(first)
}

fn state_from_document(doc: &HpaStateDocument) -> HpaState {
    let events = |list: &[kubesim_manifests::autoscaling::TimedCount]| {
        list.iter()
            .map(|e| ScaleEvent { timestamp: e.timestamp, replica_change: e.count, outdated: false })
            .collect()
    };
    HpaState {
        recommendations: Some(
            doc.recommendations
                .iter()
                .map(|r| Recommendation { timestamp: r.timestamp, replicas: r.count })
                .collect(),
        ),
        scale_up_events: events(&doc.scale_up_events),
        scale_down_events: events(&doc.scale_down_events),
    }
}

/// The newest timestamp anywhere in the input: metric samples, pod and object times, and the
/// HPAState's logs.
fn newest_timestamp(input: &AutoscalingInput) -> SimTime {
    let mut t: Vec<SimTime> = Vec::new();
    for p in &input.pods {
        let p = &p.object;
        t.push(p.meta.creation_timestamp);
        t.extend(p.meta.deletion_timestamp);
        t.extend(p.status.start_time);
        t.extend(p.status.conditions.iter().filter_map(|c| c.last_transition_time));
        for c in p.status.container_statuses.iter().chain(&p.status.init_container_statuses) {
            match &c.state {
                ContainerState::Running { started_at } => t.push(*started_at),
                ContainerState::Terminated { finished_at, .. } => t.push(*finished_at),
                _ => {}
            }
        }
    }
    t.extend(input.hpas.iter().map(|h| h.object.meta.creation_timestamp));
    t.extend(input.scale_targets.iter().map(|s| s.object.meta.creation_timestamp));
    t.extend(input.pod_metrics.iter().map(|m| m.timestamp));
    t.extend(input.custom_metrics.iter().map(|m| m.timestamp));
    t.extend(input.external_metrics.iter().map(|m| m.timestamp));
    for s in &input.hpa_states {
        let s = &s.object;
        t.extend(
            s.recommendations
                .iter()
                .chain(&s.scale_up_events)
                .chain(&s.scale_down_events)
                .map(|e| e.timestamp),
        );
    }
    t.into_iter().max().unwrap_or(SimTime::ZERO)
}

fn metric_lines(spec: &HpaSpec, d: &Decision) -> Vec<MetricExplanation> {
    let metrics = spec.effective_metrics();
    d.metrics
        .iter()
        .zip(&metrics)
        .map(|(m, s)| MetricExplanation {
            metric_type: m.metric_type,
            name: m.name.clone(),
            proposal: m.proposal,
            usage_ratio: m.error.is_none().then_some(m.usage_ratio),
            ready_pods: m.ready_pods,
            unready_pods: m.unready_pods,
            missing_pods: m.missing_pods,
            ignored_pods: m.ignored_pods,
            target: table::target_text(s),
            current: m.error.is_none().then(|| table::current_text(s, m)),
            error: m.error.clone(),
        })
        .collect()
}

/// `2026-01-01T00:10:00Z` (fractional seconds only when present) from nanoseconds since the epoch.
pub fn rfc3339(t: SimTime) -> String {
    let nanos = t.as_nanos();
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut s =
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    if frac != 0 {
        s.push_str(format!(".{frac:09}").trim_end_matches('0'));
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests;
