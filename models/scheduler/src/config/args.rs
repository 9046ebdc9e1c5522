//! Typed, defaulted plugin arguments (upstream `pkg/scheduler/apis/config/types_pluginargs.go`).
//! The YAML forms live in [`super::v1`]; these are what plugin factories receive.

use kubesim_api::{NodeAffinity, TopologySpreadConstraint};

/// `scoringStrategy.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScoringStrategyType {
    /// Favour nodes with fewer requested resources (default).
    #[default]
    LeastAllocated,
    /// Favour nodes with more requested resources (bin packing).
    MostAllocated,
    /// Score by a piecewise-linear function of utilisation.
    RequestedToCapacityRatio,
}

impl ScoringStrategyType {
    /// Upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringStrategyType::LeastAllocated => "LeastAllocated",
            ScoringStrategyType::MostAllocated => "MostAllocated",
            ScoringStrategyType::RequestedToCapacityRatio => "RequestedToCapacityRatio",
        }
    }
}

/// A resource and its weight in a resource scorer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Resource name (`cpu`, `memory`, `nvidia.com/gpu`).
    pub name: String,
    /// Weight, 1..=100 after defaulting.
    pub weight: i64,
}

impl ResourceSpec {
    /// A spec.
    pub fn new(name: &str, weight: i64) -> Self {
        ResourceSpec { name: name.to_string(), weight }
    }
}

/// The default scorer resources: cpu and memory, weight 1 each.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec::new("cpu", 1), ResourceSpec::new("memory", 1)]
}

/// One point of a RequestedToCapacityRatio shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// Utilisation, 0..=100.
    pub utilization: i32,
    /// Score, 0..=10.
    pub score: i32,
}

/// `scoringStrategy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringStrategy {
    /// The strategy.
    pub kind: ScoringStrategyType,
    /// Resources and weights.
    pub resources: Vec<ResourceSpec>,
    /// Shape for RequestedToCapacityRatio.
    pub shape: Vec<UtilizationShapePoint>,
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        ScoringStrategy {
            kind: ScoringStrategyType::LeastAllocated,
            resources: default_resources(),
            shape: Vec::new(),
        }
    }
}

/// `NodeResourcesFitArgs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeResourcesFitArgs {
    /// Resources the filter ignores.
    pub ignored_resources: Vec<String>,
    /// Resource groups (prefix before `/`) the filter ignores.
    pub ignored_resource_groups: Vec<String>,
    /// Scoring.
    pub scoring_strategy: ScoringStrategy,
}

/// `NodeResourcesBalancedAllocationArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeResourcesBalancedAllocationArgs {
    /// Resources (weights must be 1).
    pub resources: Vec<ResourceSpec>,
}

impl Default for NodeResourcesBalancedAllocationArgs {
    fn default() -> Self {
        NodeResourcesBalancedAllocationArgs { resources: default_resources() }
    }
}

/// `NodeAffinityArgs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinityArgs {
    /// Affinity added to every pod of the profile.
    pub added_affinity: Option<NodeAffinity>,
}

/// `PodTopologySpreadArgs.defaultingType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DefaultingType {
    /// Built-in defaults (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway).
    #[default]
    System,
    /// `defaultConstraints` as given.
    List,
}

/// `PodTopologySpreadArgs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTopologySpreadArgs {
    /// Constraints for pods without their own (label selectors must be empty; filled from owners).
    pub default_constraints: Vec<TopologySpreadConstraint>,
    /// System or List.
    pub defaulting_type: DefaultingType,
}

/// `InterPodAffinityArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterPodAffinityArgs {
    /// Score weight of existing pods' required affinity terms (default 1, 0..=100).
    pub hard_pod_affinity_weight: i32,
    /// Ignore existing pods' preferred terms when the incoming pod has no affinity.
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinityArgs {
    fn default() -> Self {
        InterPodAffinityArgs { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

/// `DefaultPreemptionArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultPreemptionArgs {
    /// Minimum candidates as a percentage of nodes (default 10).
    pub min_candidate_nodes_percentage: i32,
    /// Minimum candidates absolute (default 100).
    pub min_candidate_nodes_absolute: i32,
}

impl Default for DefaultPreemptionArgs {
    fn default() -> Self {
        DefaultPreemptionArgs { min_candidate_nodes_percentage: 10, min_candidate_nodes_absolute: 100 }
    }
}

/// Arguments handed to a plugin factory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PluginArgs {
    /// The plugin takes no arguments (or none were given and it has no defaults).
    #[default]
    None,
    /// NodeResourcesFit.
    NodeResourcesFit(NodeResourcesFitArgs),
    /// NodeResourcesBalancedAllocation.
    BalancedAllocation(NodeResourcesBalancedAllocationArgs),
    /// NodeAffinity.
    NodeAffinity(NodeAffinityArgs),
    /// PodTopologySpread.
    PodTopologySpread(PodTopologySpreadArgs),
    /// InterPodAffinity.
    InterPodAffinity(InterPodAffinityArgs),
    /// DefaultPreemption.
    DefaultPreemption(DefaultPreemptionArgs),
}

impl PluginArgs {
    /// The defaulted args of an in-tree plugin (`PluginArgs::None` for plugins without args).
    pub fn default_for(plugin: &str) -> PluginArgs {
        match plugin {
            "NodeResourcesFit" => PluginArgs::NodeResourcesFit(NodeResourcesFitArgs::default()),
            "NodeResourcesBalancedAllocation" => {
                PluginArgs::BalancedAllocation(NodeResourcesBalancedAllocationArgs::default())
            }
            "NodeAffinity" => PluginArgs::NodeAffinity(NodeAffinityArgs::default()),
            "PodTopologySpread" => PluginArgs::PodTopologySpread(PodTopologySpreadArgs::default()),
            "InterPodAffinity" => PluginArgs::InterPodAffinity(InterPodAffinityArgs::default()),
            "DefaultPreemption" => PluginArgs::DefaultPreemption(DefaultPreemptionArgs::default()),
            _ => PluginArgs::None,
        }
    }
}
