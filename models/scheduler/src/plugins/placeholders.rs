//! Stand-ins registered under PodTopologySpread, InterPodAffinity and DefaultPreemption until
//! their real implementations (in `pod_topology_spread/`, `inter_pod_affinity/`, `preemption/`)
//! provide factories. They Skip at PreFilter/PreScore (scores 0) and find no preemption candidate.

use std::sync::Arc;

use crate::framework::{
    CycleState, FilterPlugin, NodeId, NodeInfo, NodeToStatus, Plugin, PluginContext, PodInfo,
    PostFilterContext, PostFilterPlugin, PostFilterResult, PreFilterPlugin, PreFilterResult, PreScorePlugin,
    ScorePlugin, Snapshot, Status,
};

/// A plugin that skips itself everywhere.
#[derive(Debug)]
pub struct Placeholder {
    name: &'static str,
}

/// Placeholder factory for PodTopologySpread.
pub fn pod_topology_spread_factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(Placeholder { name: "PodTopologySpread" }))
}

/// Placeholder factory for InterPodAffinity.
pub fn inter_pod_affinity_factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(Placeholder { name: "InterPodAffinity" }))
}

/// Placeholder DefaultPreemption: never finds a candidate.
#[derive(Debug)]
pub struct NoPreemption;

/// Placeholder factory for DefaultPreemption.
pub fn default_preemption_factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NoPreemption))
}

impl Plugin for Placeholder {
    fn name(&self) -> &'static str {
        self.name
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for Placeholder {
    fn pre_filter(&self, _: &mut CycleState, _: &PodInfo, _: &Snapshot) -> (Option<PreFilterResult>, Status) {
        (None, Status::skip())
    }
}

impl FilterPlugin for Placeholder {
    fn filter(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Status {
        Status::success()
    }
}

impl PreScorePlugin for Placeholder {
    fn pre_score(&self, _: &mut CycleState, _: &PodInfo, _: &[NodeId], _: &Snapshot) -> Status {
        Status::skip()
    }
}

impl ScorePlugin for Placeholder {
    fn score(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Result<i64, Status> {
        Ok(0)
    }
}

impl Plugin for NoPreemption {
    fn name(&self) -> &'static str {
        "DefaultPreemption"
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for NoPreemption {
    fn post_filter(
        &self,
        _: &mut PostFilterContext<'_>,
        _: &CycleState,
        _: &Arc<PodInfo>,
        _: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status) {
        (None, Status::unschedulable("preemption: not implemented yet"))
    }
}
