//! Plugin traits, one per extension point (upstream `kube-scheduler/framework/interface.go`).
//!
//! A plugin is one object implementing [`Plugin`] (its name, the events that can make a pod it
//! rejected schedulable) plus any of the extension-point traits; it advertises them through the
//! `as_*` methods, which the [`Framework`](super::Framework) queries once when it builds a profile.
//!
//! ```text
//!  queue ─► PreFilter* ─► Filter* (per node) ─┬─► PreScore* ─► Score*+Normalize (per node) ─► pick ─► Reserve* ─► Bind
//!                                             └─(no node fits)─► PostFilter (preemption)
//! ```
//!
//! Plugins take `&self`: all per-pod data goes into the [`CycleState`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use sim_core::RngStream;

use super::cycle_state::CycleState;
use super::nominator::Nominator;
use super::runtime::Framework;
use super::snapshot::Snapshot;
use super::status::{Code, Status};
use super::types::{NodeId, NodeInfo, PodInfo};

/// Highest score a plugin may give a node after normalisation.
pub const MAX_NODE_SCORE: i64 = 100;
/// Lowest score.
pub const MIN_NODE_SCORE: i64 = 0;

/// A cluster change that may make a rejected pod schedulable (upstream `ClusterEvent`, coarsened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClusterEvent {
    /// A pod was bound to / assumed on a node.
    AssignedPodAdded,
    /// An assigned pod changed (labels, resources).
    AssignedPodUpdated,
    /// An assigned pod was deleted.
    AssignedPodDeleted,
    /// A node was added.
    NodeAdded,
    /// A node changed (allocatable, labels, taints, unschedulable).
    NodeUpdated,
    /// A node was deleted.
    NodeDeleted,
    /// Another object the plugin watches (Service, PDB, namespace) changed.
    OtherObjectChanged,
}

/// What a plugin's Filter and Score results depend on, for memoisation (`framework::memo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Locality {
    /// Reads other nodes, cluster objects, the feasible set or anything else beyond one node:
    /// always run (the default, and the only safe answer for plugins that do not opt in).
    #[default]
    Cluster,
    /// Filter and Score are pure functions of (the pod, as far as
    /// [`Plugin::same_signature`] looks; that node's [`NodeInfo`]; the plugin's args), and so is
    /// whatever its own PreFilter / PreScore decide (Skip, cycle state) from the pod alone.
    Node,
    /// As [`Locality::Node`], and also reads the snapshot's image summary
    /// ([`Snapshot::image_num_nodes`], [`Snapshot::len`]); memoised results are also keyed on
    /// [`Snapshot::image_generation`].
    NodeAndImages,
}

/// The base of every plugin.
pub trait Plugin: Debug + Send + Sync {
    /// The upstream plugin name (`"NodeResourcesFit"`): used in configs, statuses and diagnosis.
    fn name(&self) -> &'static str;

    /// What this plugin's Filter / Score results depend on. Anything but
    /// [`Locality::Cluster`] lets the framework reuse them across consecutive pods with the same
    /// signature on nodes that did not change. Successful Filter calls of a node-local plugin
    /// must return `Status::success()` without reasons.
    fn locality(&self) -> Locality {
        Locality::Cluster
    }

    /// For node-local plugins: true if this plugin cannot tell pod `a` from pod `b` — every
    /// extension point it implements would give both the same result (status, score, skip,
    /// PreFilter node set) on every node. Compare exactly the pod fields the plugin reads.
    fn same_signature(&self, _a: &PodInfo, _b: &PodInfo) -> bool {
        false
    }

    /// Events after which a pod this plugin rejected is worth retrying (upstream `EventsToRegister`).
    fn events_to_register(&self) -> &'static [ClusterEvent] {
        &[]
    }

    /// PreEnqueue extension, if implemented.
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        None
    }
    /// QueueSort extension, if implemented.
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        None
    }
    /// PreFilter extension, if implemented.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// Filter extension, if implemented.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// PostFilter extension, if implemented.
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    /// PreScore extension, if implemented.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    /// Score extension, if implemented.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// Reserve extension, if implemented.
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    /// Bind extension, if implemented.
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// Gates a pod before it enters activeQ (SchedulingGates).
pub trait PreEnqueuePlugin {
    /// Success lets the pod in; anything else keeps it gated.
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// What a queue-sort plugin compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSortItem {
    /// Pod priority.
    pub priority: i32,
    /// When the pod was last added to a queue.
    pub timestamp: sim_core::SimTime,
}

/// Orders activeQ.
pub trait QueueSortPlugin {
    /// True if `a` should be popped before `b`.
    fn less(&self, a: &QueueSortItem, b: &QueueSortItem) -> bool;
}

/// Node names a PreFilter restricts the cycle to (upstream `PreFilterResult`); `None` = all nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// The allowed node names.
    pub node_names: BTreeSet<String>,
}

/// Runs once per cycle before filtering; may restrict nodes, reject the pod, or Skip its Filter.
pub trait PreFilterPlugin {
    /// Computes per-pod state. Return `Status::skip()` to skip this plugin's Filter for the cycle.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);

    /// True if [`add_pod`](Self::add_pod)/[`remove_pod`](Self::remove_pod) do anything
    /// (upstream `PreFilterExtensions() != nil`).
    fn has_extensions(&self) -> bool {
        false
    }

    /// Updates this cycle's state as if `to_add` were on `node` (nominated pods, preemption reprieve).
    fn add_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _to_add: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }

    /// Updates this cycle's state as if `to_remove` were gone from `node` (preemption victims).
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _to_remove: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
}

/// Decides whether the pod may run on one node.
pub trait FilterPlugin {
    /// Success, or Unschedulable / UnschedulableAndUnresolvable with reasons.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Per-node filter statuses of a failed cycle (upstream `NodeToStatus`).
#[derive(Clone, Debug, Default)]
pub struct NodeToStatus {
    /// Status of every node that was examined and rejected.
    pub statuses: BTreeMap<NodeId, Status>,
    /// Code of nodes with no entry (outside the PreFilterResult or not examined):
    /// UnschedulableAndUnresolvable as upstream.
    pub absent_nodes_code: Code,
}

impl NodeToStatus {
    /// Empty, with absent nodes UnschedulableAndUnresolvable.
    pub fn new() -> Self {
        NodeToStatus { statuses: BTreeMap::new(), absent_nodes_code: Code::UnschedulableAndUnresolvable }
    }

    /// The code of a node.
    pub fn code(&self, id: NodeId) -> Code {
        self.statuses.get(&id).map(Status::code).unwrap_or(self.absent_nodes_code)
    }
}

/// What a PostFilter (preemption) found.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// Node to nominate for the pod.
    pub nominated_node: String,
    /// Pods to delete to make room, in the order chosen.
    pub victims: Vec<Arc<PodInfo>>,
}

/// A PodDisruptionBudget as preemption sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Pods covered.
    pub selector: kubesim_api::LabelSelector,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

/// Everything a PostFilter may use (upstream gives the plugin a framework `Handle`).
#[derive(Debug)]
pub struct PostFilterContext<'a> {
    /// The profile: run filters on hypothetical NodeInfos, PreFilter extensions, etc.
    pub framework: &'a Framework,
    /// The cluster.
    pub snapshot: &'a Snapshot,
    /// Pods nominated to nodes.
    pub nominator: &'a Nominator,
    /// Seeded randomness for preemption (stream `scheduler.preemption`).
    pub rng: &'a mut RngStream,
}

/// Runs when no node fits (DefaultPreemption).
pub trait PostFilterPlugin {
    /// Tries to make room. `filtered` holds the statuses of rejected nodes.
    fn post_filter(
        &self,
        ctx: &mut PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
        filtered: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status);
}

/// Runs once per cycle before scoring, with the feasible nodes.
pub trait PreScorePlugin {
    /// Return `Status::skip()` to skip this plugin's Score (it then contributes 0 to every node).
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> Status;
}

/// A node's score from one plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeScore {
    /// The node.
    pub node: NodeId,
    /// The score (raw before NormalizeScore, then 0..=100).
    pub score: i64,
}

/// Ranks feasible nodes. Final scores must be in `MIN_NODE_SCORE..=MAX_NODE_SCORE`.
pub trait ScorePlugin {
    /// The raw score of one node.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;

    /// The raw scores of the `feasible` nodes, in order, appended to `out` (which the caller
    /// has cleared); stops at the first error. The default calls [`score`](Self::score) per
    /// node. A plugin that computed every feasible node's score at PreScore overrides it to
    /// read its state once per cycle rather than once per node; it must append what `score`
    /// would return for each node.
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        for &id in feasible {
            out.push(NodeScore { node: id, score: self.score(state, pod, snapshot.node(id))? });
        }
        Ok(())
    }

    /// True if [`normalize_score`](Self::normalize_score) does anything.
    fn has_normalize(&self) -> bool {
        false
    }

    /// Rescales all raw scores of this plugin in place (upstream `ScoreExtensions.NormalizeScore`).
    fn normalize_score(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [NodeScore]) -> Status {
        Status::success()
    }
}

/// Claims resources on the chosen node before binding; undone on failure.
pub trait ReservePlugin {
    /// Reserve.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    /// Undo a reservation.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// Binds the pod. The first binder not returning Skip decides.
pub trait BindPlugin {
    /// Bind.
    fn bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
}
