//! # DefaultPreemption (PostFilter)
//!
//! When no node fits, find nodes where evicting lower-priority pods would let the pod fit, pick
//! one, and report the victims and the node to nominate (reference §6).
//!
//! | step | function | upstream |
//! |---|---|---|
//! | eligibility | [`candidates::eligible_to_preempt`] | `PodEligibleToPreemptOthers` |
//! | how many candidates | [`candidates::calculate_num_candidates`] | `calculateNumCandidates` |
//! | victims on one node, reprieve | [`select_victims_on_node`] | `SelectVictimsOnNode` |
//! | PDB accounting | [`candidates::split_by_pdb_violation`] | `filterPodsWithPDBViolation` |
//! | dry run over nodes | [`dry_run_preemption`] | `DryRunPreemption` |
//! | choice of node | [`candidates::pick_one_node_for_preemption`] | `pickOneNodeForPreemption` |
//! | nominations to clear | [`lower_priority_nominated_pods`] | `getLowerPriorityNominatedPods` |
//!
//! Victim deletion itself (DisruptionTarget condition, graceful delete) is the caller's effect.

pub mod candidates;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use kubesim_api::ObjectKey;
use sim_core::RngStream;

use crate::config::args::{DefaultPreemptionArgs, PluginArgs};
use crate::framework::{
    Code, CycleState, Framework, NodeInfo, NodeToStatus, Nominator, PdbInfo, Plugin, PluginContext, PodInfo,
    PostFilterContext, PostFilterPlugin, PostFilterResult, Snapshot, Status,
};
use candidates::{
    calculate_num_candidates, eligible_to_preempt, pick_one_node_for_preemption, sort_by_importance,
    split_by_pdb_violation, CandidateSummary,
};

/// Plugin name.
pub const NAME: &str = "DefaultPreemption";

/// The DefaultPreemption plugin.
#[derive(Debug, Clone)]
pub struct DefaultPreemption {
    args: DefaultPreemptionArgs,
}

/// Upstream `ValidateDefaultPreemptionArgs`.
pub fn validate_args(a: &DefaultPreemptionArgs) -> Result<(), String> {
    if !(0..=100).contains(&a.min_candidate_nodes_percentage) {
        return Err(format!(
            "minCandidateNodesPercentage: Invalid value: {}: not in valid range [0, 100]",
            a.min_candidate_nodes_percentage
        ));
    }
    if a.min_candidate_nodes_absolute < 0 {
        return Err(format!(
            "minCandidateNodesAbsolute: Invalid value: {}: not in valid range [0, inf)",
            a.min_candidate_nodes_absolute
        ));
    }
    if a.min_candidate_nodes_percentage == 0 && a.min_candidate_nodes_absolute == 0 {
        return Err("minCandidateNodesPercentage and minCandidateNodesAbsolute: cannot both be zero".into());
    }
    Ok(())
}

/// Factory for the registry.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    let args = match ctx.args {
        PluginArgs::DefaultPreemption(a) => a.clone(),
        PluginArgs::None => DefaultPreemptionArgs::default(),
        other => return Err(format!("want args to be of type DefaultPreemptionArgs, got {other:?}")),
    };
    validate_args(&args)?;
    Ok(Arc::new(DefaultPreemption { args }))
}

impl DefaultPreemption {
    /// A plugin with the given args (validated by the caller).
    pub fn new(args: DefaultPreemptionArgs) -> Self {
        DefaultPreemption { args }
    }
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

/// A node where preemption works, with its victims (most important first).
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Node name.
    pub node: String,
    /// Victims, decreasing importance.
    pub victims: Vec<Arc<PodInfo>>,
    /// Victims whose eviction violates a PDB.
    pub num_pdb_violations: i64,
}

/// Upstream `SelectVictimsOnNode`, on a private copy of the node and the cycle state: removes
/// every lower-priority pod; if the pod then fits, re-adds them one by one (PDB-violating ones
/// first, each group most important first) keeping those that still let it fit. Returns the
/// victims (most important first) and how many of them violate a PDB, or the failing status
/// (not a candidate).
pub fn select_victims_on_node(
    framework: &Framework,
    nominator: &Nominator,
    state: &mut CycleState,
    pod: &PodInfo,
    node: &mut NodeInfo,
    pdbs: &[PdbInfo],
) -> Result<(Vec<Arc<PodInfo>>, i64), Status> {
    let prio = pod.priority();
    let mut potential: Vec<Arc<PodInfo>> =
        node.pods.iter().filter(|p| p.priority() < prio).cloned().collect();
    for p in &potential {
        node.remove_pod(&p.key());
        let s = framework.run_pre_filter_extension_remove_pod(state, pod, p, node);
        if !s.is_success() {
            return Err(s);
        }
    }
    if potential.is_empty() {
        return Err(Status::unresolvable("No preemption victims found for incoming pod"));
    }
    let s = framework.run_filter_plugins_with_nominated_pods(state, pod, node, nominator, None);
    if !s.is_success() {
        return Err(s);
    }
    sort_by_importance(&mut potential, |p| &p.pod);
    let pods: Vec<&kubesim_api::Pod> = potential.iter().map(|p| &*p.pod).collect();
    let (violating, non_violating) = split_by_pdb_violation(&pods, pdbs);
    let mut victims: Vec<Arc<PodInfo>> = Vec::new();
    let mut num_violating = 0i64;
    let mut reprieve =
        |p: &Arc<PodInfo>, state: &mut CycleState, node: &mut NodeInfo| -> Result<bool, Status> {
            node.add_pod(p.clone());
            let s = framework.run_pre_filter_extension_add_pod(state, pod, p, node);
            if !s.is_success() {
                return Err(s);
            }
            let fits = framework
                .run_filter_plugins_with_nominated_pods(state, pod, node, nominator, None)
                .is_success();
            if !fits {
                node.remove_pod(&p.key());
                let s = framework.run_pre_filter_extension_remove_pod(state, pod, p, node);
                if !s.is_success() {
                    return Err(s);
                }
                victims.push(p.clone());
            }
            Ok(fits)
        };
    for &i in &violating {
        if !reprieve(&potential[i], state, node)? {
            num_violating += 1;
        }
    }
    for &i in &non_violating {
        reprieve(&potential[i], state, node)?;
    }
    if !violating.is_empty() && !non_violating.is_empty() {
        sort_by_importance(&mut victims, |p| &p.pod);
    }
    Ok((victims, num_violating))
}

/// Upstream `DryRunPreemption` (sequential): walks `potential` round-robin from `offset`,
/// simulating victim selection on each node; stops once it holds at least one PDB-free candidate
/// and `num_candidates` in all. Each list keeps at most `num_candidates` entries. Returns the
/// PDB-free candidates first, then the violating ones.
#[allow(clippy::too_many_arguments)]
pub fn dry_run_preemption(
    framework: &Framework,
    nominator: &Nominator,
    state: &CycleState,
    pod: &PodInfo,
    potential: &[&NodeInfo],
    pdbs: &[PdbInfo],
    offset: usize,
    num_candidates: usize,
) -> Vec<Candidate> {
    let mut non_violating: Vec<Candidate> = Vec::new();
    let mut violating: Vec<Candidate> = Vec::new();
    for i in 0..potential.len() {
        let mut node = potential[(offset + i) % potential.len()].clone();
        let mut state_copy = state.clone();
        let Ok((victims, num_pdb_violations)) =
            select_victims_on_node(framework, nominator, &mut state_copy, pod, &mut node, pdbs)
        else {
            continue;
        };
        if victims.is_empty() {
            // Upstream reports this as an error status for the node; it is not a candidate.
            continue;
        }
        let c = Candidate { node: node.name().to_string(), victims, num_pdb_violations };
        let list = if num_pdb_violations == 0 { &mut non_violating } else { &mut violating };
        if list.len() < num_candidates {
            list.push(c);
        }
        if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
            break;
        }
    }
    non_violating.extend(violating);
    non_violating
}

/// Upstream `SelectCandidate`: the only candidate, or [`pick_one_node_for_preemption`].
pub fn select_candidate(candidates: &[Candidate], rng: &mut RngStream) -> Option<usize> {
    match candidates.len() {
        0 => None,
        1 => Some(0),
        _ => {
            let summaries: Vec<CandidateSummary<'_>> = candidates
                .iter()
                .map(|c| CandidateSummary {
                    node: &c.node,
                    victims: c.victims.iter().map(|p| &*p.pod).collect(),
                    num_pdb_violations: c.num_pdb_violations,
                })
                .collect();
            pick_one_node_for_preemption(&summaries, rng)
        }
    }
}

/// Upstream `getLowerPriorityNominatedPods`: pods nominated to `node` with lower priority than
/// `pod`; after a successful preemption their nominations are cleared (they may no longer fit).
pub fn lower_priority_nominated_pods(nominator: &Nominator, pod: &PodInfo, node: &str) -> Vec<ObjectKey> {
    nominator.pods_for_node(node).iter().filter(|p| p.priority() < pod.priority()).map(|p| p.key()).collect()
}

/// The pod's nominated node, from the nominator or its status.
fn nominated_node<'a>(nominator: &'a Nominator, pod: &'a PodInfo) -> Option<&'a str> {
    nominator.node_of(&pod.key()).or(pod.pod.status.nominated_node_name.as_deref()).filter(|n| !n.is_empty())
}

fn nominated_node_pods<'a>(
    snapshot: &'a Snapshot,
    filtered: &NodeToStatus,
    nominator: &'a Nominator,
    pod: &'a PodInfo,
) -> Option<impl Iterator<Item = &'a kubesim_api::Pod>> {
    let name = nominated_node(nominator, pod)?;
    let id = snapshot.id_of(name)?;
    // A nominated node that the filters call UnschedulableAndUnresolvable no longer holds the
    // pod back: it may preempt elsewhere.
    if filtered.code(id) == Code::UnschedulableAndUnresolvable {
        return None;
    }
    Some(snapshot.node(id).pods.iter().map(|p| &*p.pod))
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        ctx: &mut PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
        filtered: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status) {
        // 1) Eligibility.
        if let Err(msg) =
            eligible_to_preempt(&pod.pod, nominated_node_pods(ctx.snapshot, filtered, ctx.nominator, pod))
        {
            return (None, Status::unschedulable(format!("preemption: {msg}")));
        }
        // 2) Candidates: only nodes whose filter status was plain Unschedulable.
        let all = ctx.snapshot.len();
        let potential: Vec<&NodeInfo> =
            ctx.snapshot.iter().filter(|n| filtered.code(n.id) == Code::Unschedulable).collect();
        let clear = || Some(PostFilterResult { nominated_node: String::new(), victims: Vec::new() });
        if potential.is_empty() {
            return (
                clear(),
                Status::unschedulable(format!(
                    "preemption: 0/{all} nodes are available: {all} Preemption is not helpful for scheduling."
                )),
            );
        }
        let n = potential.len() as i32;
        let offset = ctx.rng.below(potential.len() as u64) as usize;
        let num_candidates = calculate_num_candidates(
            n,
            self.args.min_candidate_nodes_percentage,
            self.args.min_candidate_nodes_absolute,
        ) as usize;
        let pdbs = &crate::plugins::pod_topology_spread::cluster_objects(ctx.snapshot).pdbs;
        let candidates = dry_run_preemption(
            ctx.framework,
            ctx.nominator,
            state,
            pod,
            &potential,
            pdbs,
            offset,
            num_candidates,
        );
        // 3) Choose.
        let Some(best) = select_candidate(&candidates, ctx.rng) else {
            return (
                clear(),
                Status::unschedulable(format!(
                    "preemption: 0/{all} nodes are available: no preemption victims found."
                )),
            );
        };
        let c = &candidates[best];
        (
            Some(PostFilterResult { nominated_node: c.node.clone(), victims: c.victims.clone() }),
            Status::success(),
        )
    }
}
