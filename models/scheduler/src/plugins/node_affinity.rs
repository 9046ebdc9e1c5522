//! NodeAffinity: nodeSelector, required node affinity and the profile's addedAffinity filter;
//! preferred terms score (upstream `nodeaffinity/node_affinity.go`).

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesim_api::{Labels, NodeSelector, NodeSelectorOperator, PreferredSchedulingTerm};

use crate::config::args::{NodeAffinityArgs, PluginArgs};
use crate::framework::{
    ClusterEvent, CycleState, FilterPlugin, Locality, NodeId, NodeInfo, NodeScore, Plugin, PluginContext,
    PodInfo, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

use super::helper::normalize;

/// Upstream name.
pub const NAME: &str = "NodeAffinity";
/// The pod's own affinity/selector failed.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// The profile's addedAffinity failed.
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// matchFields metadata.name terms select no node.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity {
    added_required: Option<NodeSelector>,
    added_preferred: Vec<PreferredSchedulingTerm>,
}

/// Factory.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let args = match ctx.args {
        PluginArgs::NodeAffinity(a) => a.clone(),
        PluginArgs::None => NodeAffinityArgs::default(),
        other => return Err(format!("want args of type NodeAffinityArgs, got {other:?}")),
    };
    Ok(Arc::new(NodeAffinity::new(&args)))
}

/// Upstream `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`.
pub fn required_node_affinity_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    let labels: &Labels = &node.node.meta.labels;
    if !pod.pod.spec.extras.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    match &pod.pod.spec.extras.affinity.node_affinity.required {
        Some(sel) => sel.matches(node.name(), labels),
        None => true,
    }
}

fn preferred_score(terms: &[PreferredSchedulingTerm], node: &NodeInfo) -> i64 {
    terms
        .iter()
        .filter(|t| t.weight != 0 && t.preference.matches(node.name(), &node.node.meta.labels))
        .map(|t| i64::from(t.weight))
        .sum()
}

impl NodeAffinity {
    /// From args.
    pub fn new(args: &NodeAffinityArgs) -> Self {
        match &args.added_affinity {
            Some(a) => {
                NodeAffinity { added_required: a.required.clone(), added_preferred: a.preferred.clone() }
            }
            None => NodeAffinity::default(),
        }
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::Node
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        a.pod.spec.extras.node_selector == b.pod.spec.extras.node_selector
            && a.pod.spec.extras.affinity.node_affinity == b.pod.spec.extras.affinity.node_affinity
    }
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[ClusterEvent::NodeAdded, ClusterEvent::NodeUpdated]
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

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let required = &pod.pod.spec.extras.affinity.node_affinity.required;
        if required.is_none() && self.added_required.is_none() && pod.pod.spec.extras.node_selector.is_empty()
        {
            return (None, Status::skip());
        }
        let Some(required) = required else { return (None, Status::success()) };
        if required.terms.is_empty() {
            return (None, Status::success());
        }
        // Terms naming nodes by metadata.name In: union over terms of the per-term intersection;
        // a term without such a field allows every node.
        let mut node_names: BTreeSet<String> = BTreeSet::new();
        for term in &required.terms {
            let mut term_names: Option<BTreeSet<String>> = None;
            for r in &term.match_fields {
                if r.key == "metadata.name" && r.operator == NodeSelectorOperator::In {
                    let s: BTreeSet<String> = r.values.iter().cloned().collect();
                    term_names = Some(match term_names {
                        None => s,
                        Some(prev) => prev.intersection(&s).cloned().collect(),
                    });
                }
            }
            match term_names {
                None => return (None, Status::success()),
                Some(t) => node_names.extend(t),
            }
        }
        if node_names.is_empty() {
            return (None, Status::unresolvable(ERR_REASON_CONFLICT));
        }
        (Some(PreFilterResult { node_names }), Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(added) = &self.added_required {
            if !added.matches(node.name(), &node.node.meta.labels) {
                return Status::unresolvable(ERR_REASON_ENFORCED);
            }
        }
        if required_node_affinity_matches(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, _: &mut CycleState, pod: &PodInfo, _: &[NodeId], _: &Snapshot) -> Status {
        if pod.pod.spec.extras.affinity.node_affinity.preferred.is_empty() && self.added_preferred.is_empty()
        {
            return Status::skip();
        }
        Status::success()
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(preferred_score(&self.added_preferred, node)
            + preferred_score(&pod.pod.spec.extras.affinity.node_affinity.preferred, node))
    }

    fn has_normalize(&self) -> bool {
        true
    }

    fn normalize_score(&self, _: &CycleState, _: &PodInfo, scores: &mut [NodeScore]) -> Status {
        normalize(false, scores);
        Status::success()
    }
}
