//! NodeResourcesBalancedAllocation: favour nodes whose resource fractions stay balanced
//! (upstream `noderesources/balanced_allocation.go`). Two formulas by version (§5.3):
//! ≤ 1.35 `trunc((1 − std)·100)`; ≥ 1.36 compares balance with and without the pod.

use std::sync::Arc;

use crate::config::args::{NodeResourcesBalancedAllocationArgs, PluginArgs};
use crate::framework::{
    CycleState, Locality, NodeId, NodeInfo, Plugin, PluginContext, PodInfo, PreScorePlugin, ScorePlugin,
    Snapshot, Status, MAX_NODE_SCORE,
};

use super::resource_allocation::{
    allocatable_and_requested, pod_request, weighted_resources, WeightedResource,
};

/// Upstream name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// The plugin.
#[derive(Debug)]
pub struct BalancedAllocation {
    resources: Vec<WeightedResource>,
    v136: bool,
}

/// Factory.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let args = match ctx.args {
        PluginArgs::BalancedAllocation(a) => a.clone(),
        PluginArgs::None => NodeResourcesBalancedAllocationArgs::default(),
        other => return Err(format!("want args of type NodeResourcesBalancedAllocationArgs, got {other:?}")),
    };
    Ok(Arc::new(BalancedAllocation::new(&args, ctx.options.balanced_allocation_v136())))
}

/// Upstream `balancedResourceScorer` on (requested, allocatable) pairs; allocatable 0 is skipped.
pub fn balanced_score(pairs: impl Iterator<Item = (i64, i64)>) -> i64 {
    let mut fractions = [0f64; 8];
    let mut n = 0usize;
    let mut extra: Vec<f64> = Vec::new();
    let mut total = 0f64;
    for (req, alloc) in pairs {
        if alloc == 0 {
            continue;
        }
        let f = (req as f64 / alloc as f64).min(1.0);
        total += f;
        if n < fractions.len() {
            fractions[n] = f;
        } else {
            extra.push(f);
        }
        n += 1;
    }
    let all = fractions[..n.min(fractions.len())].iter().chain(extra.iter());
    let std = match n {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        _ => {
            let mean = total / n as f64;
            let sum: f64 = all.map(|f| (f - mean) * (f - mean)).sum();
            (sum / n as f64).sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl BalancedAllocation {
    /// From args; `v136` selects the 1.36 formula.
    pub fn new(args: &NodeResourcesBalancedAllocationArgs, v136: bool) -> Self {
        BalancedAllocation { resources: weighted_resources(&args.resources), v136 }
    }

    /// The score of one node.
    pub fn score_node(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let with = balanced_score(self.resources.iter().map(|r| {
            let (alloc, req) =
                allocatable_and_requested(node, &r.name, pod_request(pod, &r.name, true), true);
            (req, alloc)
        }));
        if !self.v136 {
            return with;
        }
        // Same resource set as with the pod (a scalar the pod does not request stays skipped).
        let without = balanced_score(self.resources.iter().map(|r| {
            let p = pod_request(pod, &r.name, true);
            let (alloc, req) = allocatable_and_requested(node, &r.name, p, true);
            (req - p, alloc)
        }));
        50 + (50 + with - without) / 2
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.resources.requests == b.resources.requests
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &[NodeId], _: &Snapshot) -> Status {
        // Best-effort pods (nothing requested among the configured resources) are skipped.
        if self.resources.iter().all(|r| pod_request(pod, &r.name, true) == 0) {
            return Status::skip();
        }
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    #[inline]
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(self.score_node(pod, node))
    }
}
