//! `kubescheduler.config.k8s.io/v1` `KubeSchedulerConfiguration` from YAML, with upstream
//! defaulting (`apis/config/v1/defaults.go`) and validation (`apis/config/validation`).
//! Errors carry the field path (`profiles[0].pluginConfig[1].args.scoringStrategy.type`).

use std::collections::BTreeMap;

use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, NodeAffinity, NodeInclusionPolicy,
    NodeSelector, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, PreferredSchedulingTerm,
    TopologySpreadConstraint, UnsatisfiableConstraintAction,
};
use serde::Deserialize;
use yaml_serde::Value;

use super::args::*;
use super::profile::{ExtensionPoint, PluginRef, PluginSet, Plugins, ProfileConfig, SchedulerConfig};

/// The only accepted `apiVersion`.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, e.g. `profiles[0].schedulerName`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why a configuration was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not parseable YAML or wrong shape.
    #[error("decoding KubeSchedulerConfiguration: {0}")]
    Decode(String),
    /// Failed validation.
    #[error("invalid KubeSchedulerConfiguration: {}", .0.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    api_version: Option<String>,
    kind: Option<String>,
    parallelism: Option<i32>,
    percentage_of_nodes_to_score: Option<i32>,
    pod_initial_backoff_seconds: Option<i64>,
    pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    profiles: Vec<RawProfile>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    scheduler_name: Option<String>,
    percentage_of_nodes_to_score: Option<i32>,
    plugins: Option<RawPlugins>,
    #[serde(default)]
    plugin_config: Vec<RawPluginConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPlugins {
    pre_enqueue: Option<RawPluginSet>,
    queue_sort: Option<RawPluginSet>,
    pre_filter: Option<RawPluginSet>,
    filter: Option<RawPluginSet>,
    post_filter: Option<RawPluginSet>,
    pre_score: Option<RawPluginSet>,
    score: Option<RawPluginSet>,
    reserve: Option<RawPluginSet>,
    permit: Option<RawPluginSet>,
    pre_bind: Option<RawPluginSet>,
    bind: Option<RawPluginSet>,
    post_bind: Option<RawPluginSet>,
    multi_point: Option<RawPluginSet>,
}

#[derive(Deserialize, Default)]
struct RawPluginSet {
    #[serde(default)]
    enabled: Vec<RawPlugin>,
    #[serde(default)]
    disabled: Vec<RawPlugin>,
}

#[derive(Deserialize)]
struct RawPlugin {
    name: String,
    weight: Option<i32>,
}

#[derive(Deserialize)]
struct RawPluginConfig {
    name: String,
    args: Option<Value>,
}

// ---- args ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawFitArgs {
    #[serde(default)]
    ignored_resources: Vec<String>,
    #[serde(default)]
    ignored_resource_groups: Vec<String>,
    scoring_strategy: Option<RawScoringStrategy>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawScoringStrategy {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    resources: Vec<RawResourceSpec>,
    requested_to_capacity_ratio: Option<RawRtc>,
}

#[derive(Deserialize)]
struct RawResourceSpec {
    name: String,
    #[serde(default)]
    weight: i64,
}

#[derive(Deserialize, Default)]
struct RawRtc {
    #[serde(default)]
    shape: Vec<RawShapePoint>,
}

#[derive(Deserialize)]
struct RawShapePoint {
    utilization: i32,
    score: i32,
}

#[derive(Deserialize, Default)]
struct RawBalancedArgs {
    #[serde(default)]
    resources: Vec<RawResourceSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawNodeAffinityArgs {
    added_affinity: Option<RawNodeAffinity>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawNodeAffinity {
    required_during_scheduling_ignored_during_execution: Option<RawNodeSelector>,
    #[serde(default)]
    preferred_during_scheduling_ignored_during_execution: Vec<RawPreferredTerm>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawNodeSelector {
    #[serde(default)]
    node_selector_terms: Vec<RawNodeSelectorTerm>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawNodeSelectorTerm {
    #[serde(default)]
    match_expressions: Vec<RawRequirement>,
    #[serde(default)]
    match_fields: Vec<RawRequirement>,
}

#[derive(Deserialize)]
struct RawRequirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
struct RawPreferredTerm {
    weight: i32,
    preference: RawNodeSelectorTerm,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpreadArgs {
    #[serde(default)]
    default_constraints: Vec<RawSpreadConstraint>,
    defaulting_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpreadConstraint {
    #[serde(default)]
    max_skew: i32,
    #[serde(default)]
    topology_key: String,
    #[serde(default)]
    when_unsatisfiable: String,
    label_selector: Option<RawLabelSelector>,
    min_domains: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawLabelSelector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<RawRequirement>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawIpaArgs {
    hard_pod_affinity_weight: Option<i32>,
    #[serde(default)]
    ignore_preferred_terms_of_existing_pods: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPreemptionArgs {
    min_candidate_nodes_percentage: Option<i32>,
    min_candidate_nodes_absolute: Option<i32>,
}

struct Errs(Vec<FieldError>);

impl Errs {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { path: path.into(), message: message.into() });
    }
}

fn decode<T: for<'de> Deserialize<'de> + Default>(v: &Option<Value>, path: &str, errs: &mut Errs) -> T {
    match v {
        None => T::default(),
        Some(v) => match yaml_serde::from_value::<T>(v.clone()) {
            Ok(t) => t,
            Err(e) => {
                errs.add(path, format!("cannot decode args: {e}"));
                T::default()
            }
        },
    }
}

fn node_selector_op(op: &str, path: &str, errs: &mut Errs) -> NodeSelectorOperator {
    match op {
        "In" => NodeSelectorOperator::In,
        "NotIn" => NodeSelectorOperator::NotIn,
        "Exists" => NodeSelectorOperator::Exists,
        "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
        "Gt" => NodeSelectorOperator::Gt,
        "Lt" => NodeSelectorOperator::Lt,
        other => {
            errs.add(path, format!("Unsupported value: {other:?}"));
            NodeSelectorOperator::In
        }
    }
}

fn term(raw: &RawNodeSelectorTerm, path: &str, errs: &mut Errs) -> NodeSelectorTerm {
    let reqs = |v: &[RawRequirement], field: &str, errs: &mut Errs| {
        v.iter()
            .enumerate()
            .map(|(i, r)| NodeSelectorRequirement {
                key: r.key.clone(),
                operator: node_selector_op(&r.operator, &format!("{path}.{field}[{i}].operator"), errs),
                values: r.values.clone(),
            })
            .collect()
    };
    NodeSelectorTerm {
        match_expressions: reqs(&raw.match_expressions, "matchExpressions", errs),
        match_fields: reqs(&raw.match_fields, "matchFields", errs),
    }
}

fn resources(raw: &[RawResourceSpec]) -> Vec<ResourceSpec> {
    if raw.is_empty() {
        return default_resources();
    }
    raw.iter()
        .map(|r| ResourceSpec { name: r.name.clone(), weight: if r.weight == 0 { 1 } else { r.weight } })
        .collect()
}

fn validate_resource_weights(res: &[ResourceSpec], path: &str, errs: &mut Errs) {
    for (i, r) in res.iter().enumerate() {
        if !(1..=100).contains(&r.weight) {
            errs.add(
                format!("{path}[{i}].weight"),
                format!(
                    "Invalid value: {}: resource weight of {} not in valid range [1, 100]",
                    r.weight, r.name
                ),
            );
        }
    }
}

fn parse_args(name: &str, raw: &Option<Value>, path: &str, errs: &mut Errs) -> PluginArgs {
    match name {
        "NodeResourcesFit" => {
            let a: RawFitArgs = decode(raw, path, errs);
            let strategy = match a.scoring_strategy {
                None => ScoringStrategy::default(),
                Some(s) => {
                    let sp = format!("{path}.scoringStrategy");
                    let kind = match s.kind.as_str() {
                        "LeastAllocated" => ScoringStrategyType::LeastAllocated,
                        "MostAllocated" => ScoringStrategyType::MostAllocated,
                        "RequestedToCapacityRatio" => ScoringStrategyType::RequestedToCapacityRatio,
                        other => {
                            errs.add(
                                format!("{sp}.type"),
                                format!("Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""),
                            );
                            ScoringStrategyType::LeastAllocated
                        }
                    };
                    let res = resources(&s.resources);
                    validate_resource_weights(&res, &format!("{sp}.resources"), errs);
                    let shape: Vec<UtilizationShapePoint> = s
                        .requested_to_capacity_ratio
                        .map(|r| {
                            r.shape
                                .iter()
                                .map(|p| UtilizationShapePoint { utilization: p.utilization, score: p.score })
                                .collect()
                        })
                        .unwrap_or_default();
                    if kind == ScoringStrategyType::RequestedToCapacityRatio {
                        let shp = format!("{sp}.requestedToCapacityRatio.shape");
                        if shape.is_empty() {
                            errs.add(&shp, "Required value: at least one point must be specified");
                        }
                        for (i, p) in shape.iter().enumerate() {
                            if !(0..=100).contains(&p.utilization) {
                                errs.add(
                                    format!("{shp}[{i}].utilization"),
                                    format!("Invalid value: {}: not in valid range [0, 100]", p.utilization),
                                );
                            } else if i > 0 && p.utilization <= shape[i - 1].utilization {
                                errs.add(format!("{shp}[{i}].utilization"), format!("Invalid value: {}: utilization values must be sorted in increasing order", p.utilization));
                            }
                            if !(0..=10).contains(&p.score) {
                                errs.add(
                                    format!("{shp}[{i}].score"),
                                    format!("Invalid value: {}: not in valid range [0, 10]", p.score),
                                );
                            }
                        }
                    }
                    ScoringStrategy { kind, resources: res, shape }
                }
            };
            for (i, g) in a.ignored_resource_groups.iter().enumerate() {
                if g.contains('/') || g.is_empty() {
                    errs.add(
                        format!("{path}.ignoredResourceGroups[{i}]"),
                        format!("Invalid value: {g:?}: resource group name can't contain '/'"),
                    );
                }
            }
            PluginArgs::NodeResourcesFit(NodeResourcesFitArgs {
                ignored_resources: a.ignored_resources,
                ignored_resource_groups: a.ignored_resource_groups,
                scoring_strategy: strategy,
            })
        }
        "NodeResourcesBalancedAllocation" => {
            let a: RawBalancedArgs = decode(raw, path, errs);
            let res = resources(&a.resources);
            for (i, r) in res.iter().enumerate() {
                if r.weight != 1 {
                    errs.add(
                        format!("{path}.resources[{i}].weight"),
                        format!("Invalid value: {}: must be 1", r.weight),
                    );
                }
            }
            PluginArgs::BalancedAllocation(NodeResourcesBalancedAllocationArgs { resources: res })
        }
        "NodeAffinity" => {
            let a: RawNodeAffinityArgs = decode(raw, path, errs);
            let added = a.added_affinity.map(|na| {
                let ap = format!("{path}.addedAffinity");
                NodeAffinity {
                    required: na.required_during_scheduling_ignored_during_execution.map(|r| NodeSelector {
                        terms: r
                            .node_selector_terms
                            .iter()
                            .enumerate()
                            .map(|(i, t)| term(t, &format!("{ap}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"), errs))
                            .collect(),
                    }),
                    preferred: na
                        .preferred_during_scheduling_ignored_during_execution
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            let pp = format!("{ap}.preferredDuringSchedulingIgnoredDuringExecution[{i}]");
                            if !(1..=100).contains(&p.weight) {
                                errs.add(format!("{pp}.weight"), format!("Invalid value: {}: must be in the range 1-100", p.weight));
                            }
                            PreferredSchedulingTerm { weight: p.weight, preference: term(&p.preference, &format!("{pp}.preference"), errs) }
                        })
                        .collect(),
                }
            });
            PluginArgs::NodeAffinity(NodeAffinityArgs { added_affinity: added })
        }
        "PodTopologySpread" => {
            let a: RawSpreadArgs = decode(raw, path, errs);
            let defaulting_type = match a.defaulting_type.as_deref() {
                None | Some("") | Some("System") => DefaultingType::System,
                Some("List") => DefaultingType::List,
                Some(other) => {
                    errs.add(
                        format!("{path}.defaultingType"),
                        format!("Unsupported value: {other:?}: supported values: \"List\", \"System\""),
                    );
                    DefaultingType::System
                }
            };
            if defaulting_type == DefaultingType::System && !a.default_constraints.is_empty() {
                errs.add(
                    format!("{path}.defaultConstraints"),
                    "Invalid value: when .defaultingType is \"System\", .defaultConstraints must be empty",
                );
            }
            let mut seen: Vec<(String, String)> = Vec::new();
            let constraints = a
                .default_constraints
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let cp = format!("{path}.defaultConstraints[{i}]");
                    if c.max_skew <= 0 {
                        errs.add(format!("{cp}.maxSkew"), format!("Invalid value: {}: must be greater than zero", c.max_skew));
                    }
                    if c.topology_key.is_empty() {
                        errs.add(format!("{cp}.topologyKey"), "Required value: can not be empty");
                    }
                    let when = match c.when_unsatisfiable.as_str() {
                        "DoNotSchedule" => UnsatisfiableConstraintAction::DoNotSchedule,
                        "ScheduleAnyway" => UnsatisfiableConstraintAction::ScheduleAnyway,
                        other => {
                            errs.add(format!("{cp}.whenUnsatisfiable"), format!("Unsupported value: {other:?}: supported values: \"DoNotSchedule\", \"ScheduleAnyway\""));
                            UnsatisfiableConstraintAction::ScheduleAnyway
                        }
                    };
                    let pair = (c.topology_key.clone(), c.when_unsatisfiable.clone());
                    if seen.contains(&pair) {
                        errs.add(cp.clone(), format!("Duplicate value: {{{:?}, {:?}}}", pair.0, pair.1));
                    }
                    seen.push(pair);
                    if c.label_selector.is_some() {
                        errs.add(format!("{cp}.labelSelector"), "Forbidden: constraint must not define a selector, as they deduced for each pod");
                    }
                    let sel = c.label_selector.as_ref().map(|s| LabelSelector {
                        match_labels: s.match_labels.clone(),
                        match_expressions: s
                            .match_expressions
                            .iter()
                            .map(|r| LabelSelectorRequirement {
                                key: r.key.clone(),
                                operator: match r.operator.as_str() {
                                    "NotIn" => LabelSelectorOperator::NotIn,
                                    "Exists" => LabelSelectorOperator::Exists,
                                    "DoesNotExist" => LabelSelectorOperator::DoesNotExist,
                                    _ => LabelSelectorOperator::In,
                                },
                                values: r.values.clone(),
                            })
                            .collect(),
                    });
                    TopologySpreadConstraint {
                        max_skew: c.max_skew,
                        topology_key: c.topology_key.clone(),
                        when_unsatisfiable: when,
                        label_selector: sel,
                        min_domains: c.min_domains,
                        node_affinity_policy: NodeInclusionPolicy::Honor,
                        node_taints_policy: NodeInclusionPolicy::Ignore,
                        match_label_keys: Vec::new(),
                    }
                })
                .collect();
            PluginArgs::PodTopologySpread(PodTopologySpreadArgs {
                default_constraints: constraints,
                defaulting_type,
            })
        }
        "InterPodAffinity" => {
            let a: RawIpaArgs = decode(raw, path, errs);
            let w = a.hard_pod_affinity_weight.unwrap_or(1);
            if !(0..=100).contains(&w) {
                errs.add(
                    format!("{path}.hardPodAffinityWeight"),
                    format!("Invalid value: {w}: not in valid range [0, 100]"),
                );
            }
            PluginArgs::InterPodAffinity(InterPodAffinityArgs {
                hard_pod_affinity_weight: w,
                ignore_preferred_terms_of_existing_pods: a.ignore_preferred_terms_of_existing_pods,
            })
        }
        "DefaultPreemption" => {
            let a: RawPreemptionArgs = decode(raw, path, errs);
            let pct = a.min_candidate_nodes_percentage.unwrap_or(10);
            let abs = a.min_candidate_nodes_absolute.unwrap_or(100);
            if !(0..=100).contains(&pct) {
                errs.add(
                    format!("{path}.minCandidateNodesPercentage"),
                    format!("Invalid value: {pct}: not in valid range [0, 100]"),
                );
            }
            if abs < 0 {
                errs.add(
                    format!("{path}.minCandidateNodesAbsolute"),
                    format!("Invalid value: {abs}: not in valid range [0, inf)"),
                );
            }
            if pct == 0 && abs == 0 {
                errs.add(path, "Invalid value: numCandidates cannot be 0: minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero");
            }
            PluginArgs::DefaultPreemption(DefaultPreemptionArgs {
                min_candidate_nodes_percentage: pct,
                min_candidate_nodes_absolute: abs,
            })
        }
        _ => PluginArgs::None,
    }
}

fn plugin_set(raw: &Option<RawPluginSet>, path: &str, errs: &mut Errs) -> PluginSet {
    let Some(raw) = raw else { return PluginSet::default() };
    let conv = |v: &[RawPlugin], field: &str, errs: &mut Errs| {
        v.iter()
            .enumerate()
            .map(|(i, p)| {
                let w = p.weight.unwrap_or(0);
                if w < 0 {
                    errs.add(
                        format!("{path}.{field}[{i}].weight"),
                        format!("Invalid value: {w}: must not be negative"),
                    );
                }
                PluginRef { name: p.name.clone(), weight: w }
            })
            .collect()
    };
    PluginSet {
        enabled: conv(&raw.enabled, "enabled", errs),
        disabled: conv(&raw.disabled, "disabled", errs),
    }
}

/// Parses, defaults and validates a `KubeSchedulerConfiguration`. Returns the configuration and
/// warnings (unknown top-level fields).
pub fn parse_config(yaml: &str) -> Result<(SchedulerConfig, Vec<String>), ConfigError> {
    let raw: RawConfig = yaml_serde::from_str(yaml).map_err(|e| ConfigError::Decode(e.to_string()))?;
    let mut errs = Errs(Vec::new());
    let warnings: Vec<String> = raw
        .other
        .keys()
        .map(|k| format!("unknown field {k:?} in KubeSchedulerConfiguration ignored"))
        .collect();
    match raw.api_version.as_deref() {
        Some(API_VERSION) => {}
        Some(other) => {
            errs.add("apiVersion", format!("Unsupported value: {other:?}: supported values: {API_VERSION:?}"))
        }
        None => errs.add("apiVersion", "Required value"),
    }
    match raw.kind.as_deref() {
        Some("KubeSchedulerConfiguration") => {}
        other => errs.add(
            "kind",
            format!(
                "Unsupported value: {:?}: supported values: \"KubeSchedulerConfiguration\"",
                other.unwrap_or("")
            ),
        ),
    }
    let parallelism = raw.parallelism.unwrap_or(16);
    if parallelism <= 0 {
        errs.add(
            "parallelism",
            format!("Invalid value: {parallelism}: should be an integer value greater than zero"),
        );
    }
    let pct = raw.percentage_of_nodes_to_score;
    if let Some(p) = pct {
        if !(0..=100).contains(&p) {
            errs.add("percentageOfNodesToScore", format!("Invalid value: {p}: not in valid range [0-100]"));
        }
    }
    let initial = raw.pod_initial_backoff_seconds.unwrap_or(1);
    let max = raw.pod_max_backoff_seconds.unwrap_or(10);
    if initial <= 0 {
        errs.add("podInitialBackoffSeconds", format!("Invalid value: {initial}: must be greater than 0"));
    }
    if max < initial {
        errs.add(
            "podMaxBackoffSeconds",
            format!("Invalid value: {max}: must be greater than or equal to PodInitialBackoffSeconds"),
        );
    }
    let mut raw_profiles = raw.profiles;
    if raw_profiles.is_empty() {
        raw_profiles.push(RawProfile::default());
    }
    let single = raw_profiles.len() == 1;
    let mut profiles = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, rp) in raw_profiles.iter().enumerate() {
        let pp = format!("profiles[{i}]");
        let name = match &rp.scheduler_name {
            Some(n) if !n.is_empty() => n.clone(),
            None if single => kubesim_api::pod::DEFAULT_SCHEDULER_NAME.to_string(),
            _ => {
                errs.add(format!("{pp}.schedulerName"), "Required value");
                String::new()
            }
        };
        if !name.is_empty() && names.contains(&name) {
            errs.add(format!("{pp}.schedulerName"), format!("Duplicate value: {name:?}"));
        }
        names.push(name.clone());
        if let Some(p) = rp.percentage_of_nodes_to_score {
            if !(0..=100).contains(&p) {
                errs.add(
                    format!("{pp}.percentageOfNodesToScore"),
                    format!("Invalid value: {p}: not in valid range [0-100]"),
                );
            }
        }
        let mut custom = Plugins::default();
        if let Some(rpl) = &rp.plugins {
            let sets = [
                (ExtensionPoint::PreEnqueue, &rpl.pre_enqueue),
                (ExtensionPoint::QueueSort, &rpl.queue_sort),
                (ExtensionPoint::PreFilter, &rpl.pre_filter),
                (ExtensionPoint::Filter, &rpl.filter),
                (ExtensionPoint::PostFilter, &rpl.post_filter),
                (ExtensionPoint::PreScore, &rpl.pre_score),
                (ExtensionPoint::Score, &rpl.score),
                (ExtensionPoint::Reserve, &rpl.reserve),
                (ExtensionPoint::Permit, &rpl.permit),
                (ExtensionPoint::PreBind, &rpl.pre_bind),
                (ExtensionPoint::Bind, &rpl.bind),
                (ExtensionPoint::PostBind, &rpl.post_bind),
            ];
            for (ep, set) in sets {
                *custom.get_mut(ep) = plugin_set(set, &format!("{pp}.plugins.{}", ep.field()), &mut errs);
            }
            custom.multi_point = plugin_set(&rpl.multi_point, &format!("{pp}.plugins.multiPoint"), &mut errs);
        }
        let mut profile = ProfileConfig::with_plugins(&name, custom);
        profile.percentage_of_nodes_to_score = rp.percentage_of_nodes_to_score;
        let mut configured: Vec<(String, PluginArgs)> = Vec::new();
        for (j, pc) in rp.plugin_config.iter().enumerate() {
            let cp = format!("{pp}.pluginConfig[{j}]");
            if configured.iter().any(|(n, _)| *n == pc.name) {
                errs.add(format!("{cp}.name"), format!("Duplicate value: {:?}", pc.name));
                continue;
            }
            let args = parse_args(&pc.name, &pc.args, &format!("{cp}.args"), &mut errs);
            configured.push((pc.name.clone(), args));
        }
        profile.plugin_config = configured;
        profile.default_plugin_args();
        profiles.push(profile);
    }
    if !errs.0.is_empty() {
        return Err(ConfigError::Invalid(errs.0));
    }
    Ok((
        SchedulerConfig {
            parallelism,
            percentage_of_nodes_to_score: pct,
            pod_initial_backoff_seconds: initial,
            pod_max_backoff_seconds: max,
            profiles,
        },
        warnings,
    ))
}
