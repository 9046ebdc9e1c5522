//! NodeResourcesFit: does the pod fit the node's free resources, and how full would the node be
//! (upstream `noderesources/fit.go` + the scoring strategies).

use std::sync::Arc;

use kubesim_api::ResourceName;

use crate::config::args::{NodeResourcesFitArgs, PluginArgs, ScoringStrategyType};
use crate::framework::{
    ClusterEvent, Code, CycleState, FilterPlugin, Locality, NodeInfo, Plugin, PluginContext, PodInfo, Reason,
    ScorePlugin, Status,
};

use super::resource_allocation::{
    allocatable_and_requested, pod_request, scaled_shape, weighted_resources, Scorer, WeightedResource,
};

/// Upstream name.
pub const NAME: &str = "NodeResourcesFit";

/// The plugin.
#[derive(Debug)]
pub struct NodeResourcesFit {
    ignored_resources: Vec<String>,
    ignored_resource_groups: Vec<String>,
    resources: Vec<WeightedResource>,
    scorer: Scorer,
}

/// Factory.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let args = match ctx.args {
        PluginArgs::NodeResourcesFit(a) => a.clone(),
        PluginArgs::None => NodeResourcesFitArgs::default(),
        other => return Err(format!("want args of type NodeResourcesFitArgs, got {other:?}")),
    };
    Ok(Arc::new(NodeResourcesFit::new(&args)))
}

/// One insufficient resource (upstream `InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    /// Resource name.
    pub resource: ResourceName,
    /// "Insufficient cpu", "Too many pods".
    pub reason: Reason,
    /// The request exceeds the node's whole allocatable: preemption cannot help.
    pub unresolvable: bool,
}

fn insufficient(resource: ResourceName, request: i64, allocatable: i64) -> InsufficientResource {
    let reason: Reason = match &resource {
        ResourceName::Cpu => "Insufficient cpu".into(),
        ResourceName::Memory => "Insufficient memory".into(),
        ResourceName::EphemeralStorage => "Insufficient ephemeral-storage".into(),
        other => format!("Insufficient {}", other.as_str()).into(),
    };
    InsufficientResource { resource, reason, unresolvable: request > allocatable }
}

impl NodeResourcesFit {
    /// From args.
    pub fn new(args: &NodeResourcesFitArgs) -> Self {
        let strategy = &args.scoring_strategy;
        let scorer = match strategy.kind {
            ScoringStrategyType::LeastAllocated => Scorer::LeastAllocated,
            ScoringStrategyType::MostAllocated => Scorer::MostAllocated,
            ScoringStrategyType::RequestedToCapacityRatio => {
                Scorer::RequestedToCapacityRatio(scaled_shape(&strategy.shape))
            }
        };
        NodeResourcesFit {
            ignored_resources: args.ignored_resources.clone(),
            ignored_resource_groups: args.ignored_resource_groups.clone(),
            resources: weighted_resources(&strategy.resources),
            scorer,
        }
    }

    fn ignored(&self, name: &ResourceName) -> bool {
        if !name.is_extended() {
            return false;
        }
        let s = name.as_str();
        if self.ignored_resources.iter().any(|r| r == s) {
            return true;
        }
        let group = s.split('/').next().unwrap_or("");
        self.ignored_resource_groups.iter().any(|g| g == group)
    }

    /// Upstream `fitsRequest`: every insufficient resource, in the order pods, cpu, memory,
    /// ephemeral-storage, then scalars by name.
    pub fn fits_request(&self, pod: &PodInfo, node: &NodeInfo) -> Vec<InsufficientResource> {
        let mut out = Vec::new();
        let allowed = node.allocatable.allowed_pod_number;
        if node.pods.len() as i64 + 1 > allowed {
            out.push(InsufficientResource {
                resource: ResourceName::Pods,
                reason: "Too many pods".into(),
                unresolvable: false,
            });
        }
        let req = &pod.resources.requests;
        if req.milli_cpu == 0
            && req.memory == 0
            && req.ephemeral_storage == 0
            && req.scalar_resources.is_empty()
        {
            return out;
        }
        let alloc = &node.allocatable;
        let used = &node.requested;
        if req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu {
            out.push(insufficient(ResourceName::Cpu, req.milli_cpu, alloc.milli_cpu));
        }
        if req.memory > 0 && req.memory > alloc.memory - used.memory {
            out.push(insufficient(ResourceName::Memory, req.memory, alloc.memory));
        }
        if req.ephemeral_storage > 0
            && req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage
        {
            out.push(insufficient(
                ResourceName::EphemeralStorage,
                req.ephemeral_storage,
                alloc.ephemeral_storage,
            ));
        }
        for (name, q) in &req.scalar_resources {
            if *q == 0 || self.ignored(name) {
                continue;
            }
            let a = alloc.scalar(name);
            if *q > a - used.scalar(name) {
                out.push(insufficient(name.clone(), *q, a));
            }
        }
        out
    }

    /// The strategy's score with explicit (allocatable, requested) pairs — shared with tests.
    pub fn score_node(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let mut pairs = [(0i64, 0i64); 8];
        let mut heap_pairs = Vec::new();
        let pairs: &mut [(i64, i64)] = if self.resources.len() <= pairs.len() {
            &mut pairs[..self.resources.len()]
        } else {
            heap_pairs.resize(self.resources.len(), (0, 0));
            &mut heap_pairs
        };
        for (i, r) in self.resources.iter().enumerate() {
            let p = pod_request(pod, &r.name, false);
            pairs[i] = allocatable_and_requested(node, &r.name, p, false);
        }
        self.scorer.combine(&self.resources, pairs)
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.resources == b.resources
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[
            ClusterEvent::AssignedPodDeleted,
            ClusterEvent::AssignedPodUpdated,
            ClusterEvent::NodeAdded,
            ClusterEvent::NodeUpdated,
        ]
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeResourcesFit {
    #[inline]
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let insufficient = self.fits_request(pod, node);
        if insufficient.is_empty() {
            return Status::success();
        }
        let code = if insufficient.iter().any(|r| r.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status::with_reasons(code, insufficient.into_iter().map(|r| r.reason).collect())
    }
}

impl ScorePlugin for NodeResourcesFit {
    #[inline]
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        if self.resources.is_empty() {
            return Err(Status::error("resources not found"));
        }
        Ok(self.score_node(pod, node))
    }
}
