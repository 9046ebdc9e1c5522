//! A profile instantiated: plugins per extension point and the `run_*` helpers the scheduling
//! cycle calls (upstream `framework/runtime/framework.go`).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::profile::{ExtensionPoint, PluginSet, ProfileConfig};
use crate::options::SchedulerOptions;

use super::cycle_state::CycleState;
use super::interface::{
    Locality, NodeScore, NodeToStatus, Plugin, PostFilterContext, PostFilterResult, PreFilterResult,
    ScorePlugin, MAX_NODE_SCORE, MIN_NODE_SCORE,
};
use super::memo::{reads_images, NodeMemo, ALL_PASS};
use super::nominator::Nominator;
use super::registry::{PluginContext, Registry};
use super::snapshot::Snapshot;
use super::status::{Code, Status};
use super::types::{NodeId, NodeInfo, PodInfo};

/// Why a profile could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameworkError {
    /// A plugin name the registry does not know.
    #[error("profile {profile:?}: plugin {plugin:?} does not exist")]
    UnknownPlugin {
        /// Profile.
        profile: String,
        /// Plugin.
        plugin: String,
    },
    /// A plugin enabled at a point it does not implement.
    #[error("profile {profile:?}: plugin {plugin:?} does not extend {interface}")]
    NotImplemented {
        /// Profile.
        profile: String,
        /// Plugin.
        plugin: String,
        /// Interface name.
        interface: &'static str,
    },
    /// A plugin listed twice at one point.
    #[error("profile {profile:?}: plugin {plugin:?} already registered as {interface}")]
    Duplicate {
        /// Profile.
        profile: String,
        /// Plugin.
        plugin: String,
        /// Interface name.
        interface: &'static str,
    },
    /// The factory refused the args.
    #[error("profile {profile:?}: initializing plugin {plugin:?}: {message}")]
    Factory {
        /// Profile.
        profile: String,
        /// Plugin.
        plugin: String,
        /// Message.
        message: String,
    },
    /// More than 64 plugins in a profile (the skip sets are 64-bit masks).
    #[error("profile {profile:?}: more than 64 plugins")]
    TooManyPlugins {
        /// Profile.
        profile: String,
    },
    /// Score weights overflow.
    #[error("profile {profile:?}: total score of Score plugins could overflow")]
    WeightOverflow {
        /// Profile.
        profile: String,
    },
}

/// A score plugin and its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreEntry {
    /// Plugin slot.
    pub slot: usize,
    /// Weight (≥ 1).
    pub weight: i64,
}

/// One filter plugin's verdict on one node, for the diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterRecord {
    /// Plugin name.
    pub plugin: &'static str,
    /// Outcome.
    pub code: Code,
    /// Reasons.
    pub reasons: Vec<String>,
}

impl FilterRecord {
    /// The record of `status` from `plugin`.
    pub fn of(plugin: &'static str, status: &Status) -> Self {
        FilterRecord {
            plugin,
            code: status.code(),
            reasons: status.reasons().iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// One score plugin's contribution on one node, for the diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreRecord {
    /// Plugin name.
    pub plugin: &'static str,
    /// Before NormalizeScore.
    pub raw: i64,
    /// After NormalizeScore.
    pub normalized: i64,
    /// Weight.
    pub weight: i64,
}

/// Reusable buffers for scoring, so a cycle allocates nothing per node.
#[derive(Debug, Default)]
pub struct ScoreScratch {
    /// Per score plugin (index into [`Framework::score_plugins`]), per feasible node.
    pub scores: Vec<Vec<NodeScore>>,
    /// Raw scores per plugin, filled only when recording.
    pub raw: Vec<Vec<i64>>,
    /// Weighted totals per feasible node.
    pub totals: Vec<i64>,
    /// Memoised runs: the (score entry, memo column) of node-local plugins whose raw lists are
    /// gathered from the memo this cycle.
    pub memo_listed: Vec<(usize, usize)>,
    /// Memoised runs: feasible nodes whose memoised raw scores must be (re)computed.
    pub memo_misses: Vec<NodeId>,
    /// Memoised runs: (memo column, weight) of the node-local plugins without NormalizeScore.
    pub memo_direct: Vec<(usize, i64)>,
    /// Memoised runs: positions among the feasible nodes of `memo_misses`.
    pub memo_miss_at: Vec<usize>,
}

/// An instantiated profile.
#[derive(Debug)]
pub struct Framework {
    profile_name: String,
    plugins: Vec<Arc<dyn Plugin>>,
    pre_enqueue: Vec<usize>,
    queue_sort: Vec<usize>,
    pre_filter: Vec<usize>,
    filter: Vec<usize>,
    post_filter: Vec<usize>,
    pre_score: Vec<usize>,
    score: Vec<ScoreEntry>,
    reserve: Vec<usize>,
    bind: Vec<usize>,
    percentage_of_nodes_to_score: Option<i32>,
    memo_plan: MemoPlan,
}

/// What [`NodeMemo`] may keep for this profile, from the plugins' [`Locality`].
#[derive(Debug, Default)]
struct MemoPlan {
    /// Bit `slot` set: the plugin is node-local.
    node_local_mask: u64,
    /// Node-local plugin slots: the ones asked whether two pods share a signature.
    node_local_slots: Vec<usize>,
    /// Per entry of `Framework::score`: its column among the memoised raw scores.
    score_column: Vec<Option<usize>>,
    /// Number of node-local Score plugins.
    score_columns: usize,
    /// A node-local Filter plugin reads the image summary.
    filter_reads_images: bool,
    /// A node-local Score plugin reads the image summary.
    score_reads_images: bool,
}

impl MemoPlan {
    fn new(plugins: &[Arc<dyn Plugin>], filter: &[usize], score: &[ScoreEntry]) -> Self {
        let mut plan = MemoPlan::default();
        for (slot, p) in plugins.iter().enumerate() {
            if p.locality() != Locality::Cluster {
                plan.node_local_mask |= 1u64 << slot;
                plan.node_local_slots.push(slot);
            }
        }
        plan.filter_reads_images = filter.iter().any(|&slot| reads_images(plugins[slot].locality()));
        for e in score {
            let l = plugins[e.slot].locality();
            if l == Locality::Cluster {
                plan.score_column.push(None);
            } else {
                plan.score_column.push(Some(plan.score_columns));
                plan.score_columns += 1;
                plan.score_reads_images |= reads_images(l);
            }
        }
        plan
    }

    #[inline]
    fn is_local(&self, slot: usize) -> bool {
        self.node_local_mask & (1u64 << slot) != 0
    }
}

fn implements(p: &dyn Plugin, ep: ExtensionPoint) -> bool {
    match ep {
        ExtensionPoint::PreEnqueue => p.as_pre_enqueue().is_some(),
        ExtensionPoint::QueueSort => p.as_queue_sort().is_some(),
        ExtensionPoint::PreFilter => p.as_pre_filter().is_some(),
        ExtensionPoint::Filter => p.as_filter().is_some(),
        ExtensionPoint::PostFilter => p.as_post_filter().is_some(),
        ExtensionPoint::PreScore => p.as_pre_score().is_some(),
        ExtensionPoint::Score => p.as_score().is_some(),
        ExtensionPoint::Reserve => p.as_reserve().is_some(),
        ExtensionPoint::Bind => p.as_bind().is_some(),
        ExtensionPoint::Permit | ExtensionPoint::PreBind | ExtensionPoint::PostBind => false,
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl Framework {
    /// Builds a profile: instantiates every plugin it names, then fills each extension point from
    /// its explicit set and the multiPoint set exactly as upstream `NewFramework` +
    /// `expandMultiPointPlugins` (explicit overrides first, then multiPoint order, then the rest
    /// of the explicit set; `disabled: [{name: '*'}]` at a point skips multiPoint there).
    pub fn new(
        profile: &ProfileConfig,
        registry: &Registry,
        options: &SchedulerOptions,
    ) -> Result<Framework, FrameworkError> {
        let pname = profile.scheduler_name.clone();
        let mut needed: Vec<String> = Vec::new();
        for set in profile.plugins.points.iter().chain(std::iter::once(&profile.plugins.multi_point)) {
            for p in &set.enabled {
                push_unique(&mut needed, &p.name);
            }
        }
        if needed.len() > 64 {
            return Err(FrameworkError::TooManyPlugins { profile: pname });
        }
        let mut plugins: Vec<Arc<dyn Plugin>> = Vec::with_capacity(needed.len());
        for name in &needed {
            let factory = registry.get(name).ok_or_else(|| FrameworkError::UnknownPlugin {
                profile: pname.clone(),
                plugin: name.clone(),
            })?;
            let args = profile.args_for(name);
            let ctx = PluginContext { args: &args, options, profile_name: &pname };
            let plugin = factory(&ctx).map_err(|message| FrameworkError::Factory {
                profile: pname.clone(),
                plugin: name.clone(),
                message,
            })?;
            plugins.push(plugin);
        }
        let slot_of = |name: &str| needed.iter().position(|n| n == name).expect("instantiated above");

        let mut lists: Vec<Vec<usize>> = Vec::new();
        for ep in ExtensionPoint::ALL {
            lists.push(Self::expand(profile, ep, &plugins, &slot_of, &pname)?);
        }

        // Weights: explicit Score entries take precedence over multiPoint ones; 0 ⇒ 1.
        let mut score = Vec::new();
        let mut total: i64 = 0;
        for &slot in &lists[ExtensionPoint::Score as usize] {
            let name = plugins[slot].name();
            let weight = profile
                .plugins
                .get(ExtensionPoint::Score)
                .enabled
                .iter()
                .chain(profile.plugins.multi_point.enabled.iter())
                .find(|r| r.name == name)
                .map(|r| r.weight)
                .unwrap_or(0);
            let weight = if weight == 0 { 1 } else { i64::from(weight) };
            total = total.saturating_add(weight.saturating_mul(MAX_NODE_SCORE));
            score.push(ScoreEntry { slot, weight });
        }
        if total == i64::MAX {
            return Err(FrameworkError::WeightOverflow { profile: pname });
        }

        let take = |ep: ExtensionPoint| lists[ep as usize].clone();
        let memo_plan = MemoPlan::new(&plugins, &lists[ExtensionPoint::Filter as usize], &score);
        Ok(Framework {
            memo_plan,
            pre_enqueue: take(ExtensionPoint::PreEnqueue),
            queue_sort: take(ExtensionPoint::QueueSort),
            pre_filter: take(ExtensionPoint::PreFilter),
            filter: take(ExtensionPoint::Filter),
            post_filter: take(ExtensionPoint::PostFilter),
            pre_score: take(ExtensionPoint::PreScore),
            reserve: take(ExtensionPoint::Reserve),
            bind: take(ExtensionPoint::Bind),
            score,
            plugins,
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            profile_name: pname,
        })
    }

    fn expand(
        profile: &ProfileConfig,
        ep: ExtensionPoint,
        plugins: &[Arc<dyn Plugin>],
        slot_of: &dyn Fn(&str) -> usize,
        pname: &str,
    ) -> Result<Vec<usize>, FrameworkError> {
        let set: &PluginSet = profile.plugins.get(ep);
        let mut explicit: Vec<String> = Vec::new();
        for r in &set.enabled {
            let p = &plugins[slot_of(&r.name)];
            if !implements(p.as_ref(), ep) {
                return Err(FrameworkError::NotImplemented {
                    profile: pname.to_string(),
                    plugin: r.name.clone(),
                    interface: ep.interface(),
                });
            }
            if explicit.contains(&r.name) {
                return Err(FrameworkError::Duplicate {
                    profile: pname.to_string(),
                    plugin: r.name.clone(),
                    interface: ep.interface(),
                });
            }
            explicit.push(r.name.clone());
        }
        let mut order: Vec<String> = Vec::new();
        if set.all_disabled() {
            order = explicit;
        } else {
            let mut overrides: Vec<String> = Vec::new();
            let mut multi: Vec<String> = Vec::new();
            for r in &profile.plugins.multi_point.enabled {
                let p = &plugins[slot_of(&r.name)];
                if !implements(p.as_ref(), ep) || set.is_disabled(&r.name) {
                    continue;
                }
                if explicit.contains(&r.name) {
                    push_unique(&mut overrides, &r.name);
                    continue;
                }
                if multi.contains(&r.name) {
                    return Err(FrameworkError::Duplicate {
                        profile: pname.to_string(),
                        plugin: r.name.clone(),
                        interface: ep.interface(),
                    });
                }
                multi.push(r.name.clone());
            }
            for n in overrides.iter().chain(multi.iter()).chain(explicit.iter()) {
                push_unique(&mut order, n);
            }
        }
        Ok(order.iter().map(|n| slot_of(n)).collect())
    }

    /// The profile's schedulerName.
    pub fn profile_name(&self) -> &str {
        &self.profile_name
    }

    /// Profile-level percentageOfNodesToScore.
    pub fn percentage_of_nodes_to_score(&self) -> Option<i32> {
        self.percentage_of_nodes_to_score
    }

    /// The plugin at a slot.
    pub fn plugin(&self, slot: usize) -> &Arc<dyn Plugin> {
        &self.plugins[slot]
    }

    /// All plugins by slot.
    pub fn plugins(&self) -> &[Arc<dyn Plugin>] {
        &self.plugins
    }

    /// The plugin with this name.
    pub fn plugin_by_name(&self, name: &str) -> Option<&Arc<dyn Plugin>> {
        self.plugins.iter().find(|p| p.name() == name)
    }

    /// Names of the plugins at an extension point, in run order.
    pub fn plugin_names(&self, ep: ExtensionPoint) -> Vec<&'static str> {
        let slots: Vec<usize> = match ep {
            ExtensionPoint::PreEnqueue => self.pre_enqueue.clone(),
            ExtensionPoint::QueueSort => self.queue_sort.clone(),
            ExtensionPoint::PreFilter => self.pre_filter.clone(),
            ExtensionPoint::Filter => self.filter.clone(),
            ExtensionPoint::PostFilter => self.post_filter.clone(),
            ExtensionPoint::PreScore => self.pre_score.clone(),
            ExtensionPoint::Score => self.score.iter().map(|s| s.slot).collect(),
            ExtensionPoint::Reserve => self.reserve.clone(),
            ExtensionPoint::Bind => self.bind.clone(),
            _ => Vec::new(),
        };
        slots.into_iter().map(|s| self.plugins[s].name()).collect()
    }

    /// Score plugins with weights, in run order.
    pub fn score_plugins(&self) -> &[ScoreEntry] {
        &self.score
    }

    /// True if the profile has Filter plugins.
    pub fn has_filter_plugins(&self) -> bool {
        !self.filter.is_empty()
    }

    /// True if the profile has Score plugins.
    pub fn has_score_plugins(&self) -> bool {
        !self.score.is_empty()
    }

    /// True if some plugin is node-local ([`Locality`]), so a [`NodeMemo`] can help.
    pub fn has_node_local_plugins(&self) -> bool {
        self.memo_plan.node_local_mask != 0
    }

    /// Bit `slot` set for node-local plugins.
    pub fn node_local_mask(&self) -> u64 {
        self.memo_plan.node_local_mask
    }

    /// Whether a node-local (Filter, Score) plugin reads the snapshot's image summary.
    pub fn node_local_reads_images(&self) -> (bool, bool) {
        (self.memo_plan.filter_reads_images, self.memo_plan.score_reads_images)
    }

    /// Number of node-local Score plugins (columns of the memoised raw scores).
    pub fn node_local_score_count(&self) -> usize {
        self.memo_plan.score_columns
    }

    /// True if every node-local plugin calls `a` and `b` the same ([`Plugin::same_signature`]).
    pub fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        self.memo_plan.node_local_slots.iter().all(|&slot| self.plugins[slot].same_signature(a, b))
    }

    /// True if a Filter plugin that is not node-local runs this cycle (not skipped by PreFilter).
    pub fn has_active_cluster_filters(&self, state: &CycleState) -> bool {
        self.filter.iter().any(|&slot| !self.memo_plan.is_local(slot) && !state.filter_skipped(slot))
    }

    /// PreEnqueue: Success lets the pod into the queue; the first failure is returned.
    pub fn run_pre_enqueue_plugins(&self, pod: &PodInfo) -> Status {
        for &slot in &self.pre_enqueue {
            let p = &self.plugins[slot];
            let s = p.as_pre_enqueue().expect("checked").pre_enqueue(pod);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// PreFilter: returns the intersected node set and the first failure. Skips are recorded in
    /// `state`. An empty intersection is UnschedulableAndUnresolvable, as upstream.
    pub fn run_pre_filter_plugins(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let mut result: Option<PreFilterResult> = None;
        let mut restricting: Vec<&'static str> = Vec::new();
        for &slot in &self.pre_filter {
            let p = &self.plugins[slot];
            let (r, s) = p.as_pre_filter().expect("checked").pre_filter(state, pod, snapshot);
            if s.is_skip() {
                state.skip_filter |= 1u64 << slot;
                continue;
            }
            if !s.is_success() {
                let s = if s.is_rejected() {
                    s
                } else {
                    Status::error(format!("running PreFilter plugin {:?}: {}", p.name(), s.message()))
                };
                return (None, s.with_plugin(p.name()));
            }
            if let Some(r) = r {
                restricting.push(p.name());
                result = Some(match result {
                    None => r,
                    Some(prev) => PreFilterResult {
                        node_names: prev
                            .node_names
                            .intersection(&r.node_names)
                            .cloned()
                            .collect::<BTreeSet<_>>(),
                    },
                });
                if result.as_ref().is_some_and(|r| r.node_names.is_empty()) {
                    let msg = format!("node(s) didn't satisfy plugin(s) {restricting:?} simultaneously");
                    return (result, Status::unresolvable(msg).with_plugin(p.name()));
                }
            }
        }
        (result, Status::success())
    }

    /// Runs PreFilter extensions' AddPod (nominated pods, preemption reprieves).
    pub fn run_pre_filter_extension_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_add: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        for &slot in &self.pre_filter {
            if state.filter_skipped(slot) {
                continue;
            }
            let p = self.plugins[slot].as_pre_filter().expect("checked");
            if p.has_extensions() {
                let s = p.add_pod(state, pod, to_add, node);
                if !s.is_success() {
                    return s.with_plugin(self.plugins[slot].name());
                }
            }
        }
        Status::success()
    }

    /// Runs PreFilter extensions' RemovePod (preemption victims).
    pub fn run_pre_filter_extension_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        for &slot in &self.pre_filter {
            if state.filter_skipped(slot) {
                continue;
            }
            let p = self.plugins[slot].as_pre_filter().expect("checked");
            if p.has_extensions() {
                let s = p.remove_pod(state, pod, to_remove, node);
                if !s.is_success() {
                    return s.with_plugin(self.plugins[slot].name());
                }
            }
        }
        Status::success()
    }

    /// Filter plugins in order on one node; the first non-success stops (upstream `RunFilterPlugins`).
    /// With `record`, every plugin that ran is appended.
    #[inline]
    pub fn run_filter_plugins(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        mut record: Option<&mut Vec<FilterRecord>>,
    ) -> Status {
        for &slot in &self.filter {
            if state.filter_skipped(slot) {
                continue;
            }
            let p = &self.plugins[slot];
            let s = p.as_filter().expect("checked").filter(state, pod, node);
            if let Some(rec) = record.as_deref_mut() {
                rec.push(FilterRecord::of(p.name(), &s));
            }
            if !s.is_success() {
                return self.filter_failure(p.name(), s);
            }
        }
        Status::success()
    }

    /// Filters with nominated pods (§3.4): pass 1 adds pods nominated to this node with priority
    /// ≥ the pod's; if that passes and pods were added, pass 2 runs on the node as is.
    pub fn run_filter_plugins_with_nominated_pods(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominator: &Nominator,
        record: Option<&mut Vec<FilterRecord>>,
    ) -> Status {
        self.filter_node(None, state, pod, node, nominator, record)
    }

    /// [`run_filter_plugins_with_nominated_pods`](Self::run_filter_plugins_with_nominated_pods) on
    /// snapshot node `id`, reading and filling `memo` when no pods are nominated to it. Same
    /// statuses and records as without the memo; a memo hit does not touch the [`NodeInfo`].
    #[allow(clippy::too_many_arguments)]
    pub fn run_filter_plugins_memoized(
        &self,
        memo: &mut NodeMemo,
        snapshot: &Snapshot,
        id: NodeId,
        state: &CycleState,
        pod: &PodInfo,
        nominator: &Nominator,
        record: Option<&mut Vec<FilterRecord>>,
    ) -> Status {
        if !memo.active() {
            return self.filter_node(None, state, pod, snapshot.node(id), nominator, record);
        }
        if record.is_none() {
            if let Some(v) = Self::memoized_filter_verdict(memo, snapshot, id, nominator) {
                return v.map_or_else(Status::clone, |()| Status::success());
            }
        }
        let stamp = snapshot.stamp(id);
        self.filter_node(Some((memo, stamp)), state, pod, snapshot.node(id), nominator, record)
    }

    /// The Filter verdict of snapshot node `id` when the memo alone decides it — this cycle's
    /// active Filter plugins are all node-local, no pod is nominated anywhere, and the verdict
    /// is memoised — without touching the node: `Ok(())` if it passes, else the failing status.
    /// `None`: the full walk is needed.
    #[inline]
    fn memoized_filter_verdict<'m>(
        memo: &'m NodeMemo,
        snapshot: &Snapshot,
        id: NodeId,
        nominator: &Nominator,
    ) -> Option<Result<(), &'m Status>> {
        if !memo.decides_filters_alone(nominator) {
            return None;
        }
        match memo.filter_verdict(id.index(), snapshot.stamp(id))? {
            ALL_PASS => Some(Ok(())),
            _ => Some(Err(memo.filter_status(id.index()))),
        }
    }

    fn filter_node(
        &self,
        memo: Option<(&mut NodeMemo, u64)>,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominator: &Nominator,
        mut record: Option<&mut Vec<FilterRecord>>,
    ) -> Status {
        // The single-pass walk, through the memo when there is one.
        let walk = |record: Option<&mut Vec<FilterRecord>>| match memo {
            Some((memo, stamp)) => self.run_filter_plugins_memo(memo, stamp, state, pod, node, record),
            None => self.run_filter_plugins(state, pod, node, record),
        };
        if nominator.is_empty() {
            return walk(record);
        }
        let nominated: Vec<&Arc<PodInfo>> = nominator
            .pods_for_node(node.name())
            .iter()
            .filter(|p| p.priority() >= pod.priority() && !p.same_pod(pod))
            .collect();
        if nominated.is_empty() {
            return walk(record);
        }
        let mut state_with = state.clone();
        let mut node_with = node.clone();
        for p in nominated {
            node_with.add_pod(p.clone());
            let s = self.run_pre_filter_extension_add_pod(&mut state_with, pod, p, &node_with);
            if !s.is_success() {
                return s;
            }
        }
        if let Some(rec) = record.as_deref_mut() {
            rec.clear();
        }
        let s = self.run_filter_plugins(&state_with, pod, &node_with, record.as_deref_mut());
        if !s.is_success() {
            return s;
        }
        if let Some(rec) = record.as_deref_mut() {
            rec.clear();
        }
        self.run_filter_plugins(state, pod, node, record)
    }

    /// [`run_filter_plugins`](Self::run_filter_plugins) with the node-local verdict read from
    /// (or first computed into) `memo`. Node-local plugins are pure, so running them ahead of
    /// the others and replaying their verdict at their position in the order is indistinguishable
    /// from the plain walk; a node-local plugin returning anything but Success or a rejection is
    /// not memoised (the plain walk runs instead, so errors surface exactly as without the memo).
    fn run_filter_plugins_memo(
        &self,
        memo: &mut NodeMemo,
        stamp: u64,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        mut record: Option<&mut Vec<FilterRecord>>,
    ) -> Status {
        let slot_index = node.id.index();
        let fail_pos = match memo.filter_verdict(slot_index, stamp) {
            Some(pos) => pos,
            None => {
                let mut verdict = (ALL_PASS, Status::success());
                for (pos, &slot) in self.filter.iter().enumerate() {
                    if !self.memo_plan.is_local(slot) || state.filter_skipped(slot) {
                        continue;
                    }
                    let p = &self.plugins[slot];
                    let s = p.as_filter().expect("checked").filter(state, pod, node);
                    if s.is_success() {
                        debug_assert!(
                            s.reasons().is_empty(),
                            "{}: node-local Success with reasons",
                            p.name()
                        );
                        continue;
                    }
                    if !s.is_rejected() {
                        return self.run_filter_plugins(state, pod, node, record);
                    }
                    verdict = (pos as u32, s.with_plugin(p.name()));
                    break;
                }
                let pos = verdict.0;
                memo.store_filter(slot_index, stamp, verdict.0, verdict.1);
                pos
            }
        };
        if record.is_none() && !memo.cluster_filters_active() {
            if fail_pos == ALL_PASS {
                return Status::success();
            }
            return memo.filter_status(slot_index).clone();
        }
        for (pos, &slot) in self.filter.iter().enumerate() {
            if state.filter_skipped(slot) {
                continue;
            }
            let p = &self.plugins[slot];
            if self.memo_plan.is_local(slot) {
                if pos as u32 == fail_pos {
                    let s = memo.filter_status(slot_index).clone();
                    if let Some(rec) = record.as_deref_mut() {
                        rec.push(FilterRecord::of(p.name(), &s));
                    }
                    return s;
                }
                if let Some(rec) = record.as_deref_mut() {
                    rec.push(FilterRecord::of(p.name(), &Status::success()));
                }
                continue;
            }
            let s = p.as_filter().expect("checked").filter(state, pod, node);
            if let Some(rec) = record.as_deref_mut() {
                rec.push(FilterRecord::of(p.name(), &s));
            }
            if !s.is_success() {
                return self.filter_failure(p.name(), s);
            }
        }
        Status::success()
    }

    /// A failing filter status as the framework reports it: rejections keep their code, anything
    /// else becomes an Error naming the plugin.
    fn filter_failure(&self, name: &'static str, s: Status) -> Status {
        let s = if s.is_rejected() {
            s
        } else {
            Status::error(format!("running {name:?} filter plugin: {}", s.message()))
        };
        s.with_plugin(name)
    }

    /// PostFilter plugins in order until one succeeds (upstream `RunPostFilterPlugins`). An
    /// UnschedulableAndUnresolvable status stops the walk with that plugin's result; a plain
    /// rejection's result is kept (the last one wins) and returned with the Unschedulable status
    /// naming the first rejecting plugin — DefaultPreemption uses it to clear the pod's
    /// nomination (`nominated_node == ""`) when no candidate exists.
    pub fn run_post_filter_plugins(
        &self,
        ctx: &mut PostFilterContext<'_>,
        state: &CycleState,
        pod: &Arc<PodInfo>,
        filtered: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status) {
        let mut result = None;
        let mut reasons = Vec::new();
        let mut rejector: &'static str = "";
        for &slot in &self.post_filter {
            let p = &self.plugins[slot];
            let (r, s) = p.as_post_filter().expect("checked").post_filter(ctx, state, pod, filtered);
            if s.is_success() {
                return (r, s);
            }
            if s.code() == Code::UnschedulableAndUnresolvable {
                return (r, s.with_plugin(p.name()));
            }
            if !s.is_rejected() {
                let s = if s.code() == Code::Error { s } else { Status::error(s.message()) };
                return (None, s.with_plugin(p.name()));
            }
            if r.is_some() {
                result = r;
            }
            reasons.extend(s.reasons().iter().cloned());
            if rejector.is_empty() {
                rejector = p.name();
            }
        }
        (result, Status::with_reasons(Code::Unschedulable, reasons).with_plugin(rejector))
    }

    /// PreScore plugins; Skip marks the plugin's Score as skipped.
    pub fn run_pre_score_plugins(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
    ) -> Status {
        for &slot in &self.pre_score {
            let p = &self.plugins[slot];
            let s = p.as_pre_score().expect("checked").pre_score(state, pod, feasible, snapshot);
            if s.is_skip() {
                state.skip_score |= 1u64 << slot;
                continue;
            }
            if !s.is_success() {
                return Status::error(format!("running PreScore plugin {:?}: {}", p.name(), s.message()))
                    .with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Score, NormalizeScore and weights for every feasible node (upstream `RunScorePlugins`).
    /// Results land in `scratch`: `totals[i]` per node and, when `record_raw`, `scores[k]` per
    /// plugin (normalised) and `raw[k]` (before NormalizeScore). A skipped plugin contributes 0.
    pub fn run_score_plugins(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
        scratch: &mut ScoreScratch,
        record_raw: bool,
    ) -> Status {
        scratch.totals.clear();
        scratch.totals.resize(feasible.len(), 0);
        self.score_nodes(state, pod, feasible, scratch, record_raw, 0, 0, |_, sp, buf| {
            sp.score_nodes(state, pod, feasible, snapshot, buf)
        })
    }

    /// [`run_score_plugins`](Self::run_score_plugins) with the raw scores of node-local plugins
    /// read from (or first computed into) `memo`. The memoised raws equal what the plugins would
    /// return, so everything after them (errors of other plugins included) is as in the plain run.
    ///
    /// Node-local plugins without NormalizeScore have their raw score as final score: unless
    /// recording, their weighted sum per node, memoised too, goes straight into the totals. Two
    /// cases fall back to the plain run, so that the error reported is the one the plain order
    /// meets first: a node-local plugin failing while the memo is filled, and a node-local score
    /// outside 0..=100 that no NormalizeScore would fix.
    #[allow(clippy::too_many_arguments)]
    pub fn run_score_plugins_memoized(
        &self,
        memo: &mut NodeMemo,
        state: &CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        snapshot: &Snapshot,
        scratch: &mut ScoreScratch,
        record_raw: bool,
    ) -> Status {
        if !memo.active() || self.memo_plan.score_columns == 0 {
            return self.run_score_plugins(state, pod, feasible, snapshot, scratch, record_raw);
        }
        memo.begin_scoring(self, state);
        // Which active node-local entries are summed directly and which need their list.
        let mut direct: u64 = 0;
        let mut listed: u64 = 0;
        scratch.memo_listed.clear();
        for (k, (e, column)) in self.score.iter().zip(&self.memo_plan.score_column).enumerate() {
            let Some(column) = *column else { continue };
            if state.score_skipped(e.slot) {
                continue;
            }
            if !record_raw && !self.plugins[e.slot].as_score().expect("checked").has_normalize() {
                direct |= 1u64 << k;
            } else {
                listed |= 1u64 << k;
                scratch.memo_listed.push((k, column));
            }
        }
        // One pass gathers the valid rows: totals start from the direct sums, listed entries get
        // their raw lists; nodes that changed since they were last scored for this signature get
        // placeholders and are listed in `memo_miss_at`.
        scratch.scores.resize_with(self.score.len(), Vec::new);
        for &(k, _) in &scratch.memo_listed {
            scratch.scores[k].clear();
        }
        scratch.totals.clear();
        scratch.memo_miss_at.clear();
        let mut out_of_range = memo.gather_scores(
            snapshot,
            feasible,
            direct != 0,
            &scratch.memo_listed,
            &mut scratch.totals,
            &mut scratch.scores,
            &mut scratch.memo_miss_at,
        );
        if !scratch.memo_miss_at.is_empty() {
            // Fill their rows plugin by plugin as the plain run does; a row becomes valid once
            // all its raws are in.
            scratch.memo_misses.clear();
            scratch.memo_misses.extend(scratch.memo_miss_at.iter().map(|&p| feasible[p]));
            for (e, column) in self.score.iter().zip(&self.memo_plan.score_column) {
                let Some(column) = *column else { continue };
                if state.score_skipped(e.slot) {
                    continue;
                }
                let sp = self.plugins[e.slot].as_score().expect("checked");
                for &id in &scratch.memo_misses {
                    match sp.score(state, pod, snapshot.node(id)) {
                        Ok(v) => memo.unchecked_raw_scores_mut(id.index())[column] = v,
                        // Rows not yet marked valid: nothing to forget.
                        Err(_) => {
                            return self
                                .run_score_plugins(state, pod, feasible, snapshot, scratch, record_raw)
                        }
                    }
                }
            }
            // Σ weight × raw over the plugins without NormalizeScore: their final scores.
            scratch.memo_direct.clear();
            for (e, column) in self.score.iter().zip(&self.memo_plan.score_column) {
                let Some(column) = *column else { continue };
                if !state.score_skipped(e.slot)
                    && !self.plugins[e.slot].as_score().expect("checked").has_normalize()
                {
                    scratch.memo_direct.push((column, e.weight));
                }
            }
            for (&p, &id) in scratch.memo_miss_at.iter().zip(&scratch.memo_misses) {
                let raw = memo.raw_scores_mut(id.index(), snapshot.stamp(id));
                let mut direct_sum = 0i64;
                for &(column, weight) in &scratch.memo_direct {
                    let v = raw[column];
                    if !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(&v) {
                        direct_sum = i64::MIN;
                        break;
                    }
                    direct_sum += v * weight;
                }
                memo.set_direct_sum(id.index(), direct_sum);
                // Patch the placeholders.
                let (direct_sum, raw) = memo.scores(id.index());
                if direct != 0 {
                    out_of_range |= direct_sum == i64::MIN;
                    scratch.totals[p] = direct_sum;
                }
                for &(k, column) in &scratch.memo_listed {
                    scratch.scores[k][p].score = raw[column];
                }
            }
        }
        if out_of_range {
            return self.run_score_plugins(state, pod, feasible, snapshot, scratch, record_raw);
        }
        self.score_nodes(state, pod, feasible, scratch, record_raw, direct, listed, |_, sp, buf| {
            sp.score_nodes(state, pod, feasible, snapshot, buf)
        })
    }

    /// The scoring walk shared by the plain and memoised runs, adding to `scratch.totals` (one
    /// entry per feasible node): for each score entry `k` not in `done` (already added), the raw
    /// score of every feasible node — already in `scratch.scores[k]` for entries in `listed`,
    /// else appended by `raw_scores(k, plugin, buf)` — then NormalizeScore, the range check and
    /// the weights. Skipped plugins add nothing; when `record_raw`, every entry's raw and
    /// normalised lists are kept in `scratch`.
    #[allow(clippy::too_many_arguments)]
    fn score_nodes(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        feasible: &[NodeId],
        scratch: &mut ScoreScratch,
        record_raw: bool,
        done: u64,
        listed: u64,
        mut raw_scores: impl FnMut(usize, &dyn ScorePlugin, &mut Vec<NodeScore>) -> Result<(), Status>,
    ) -> Status {
        let n = feasible.len();
        debug_assert_eq!(scratch.totals.len(), n);
        scratch.scores.resize_with(self.score.len(), Vec::new);
        scratch.raw.resize_with(self.score.len(), Vec::new);
        for (k, entry) in self.score.iter().enumerate() {
            let buf = &mut scratch.scores[k];
            scratch.raw[k].clear();
            if listed & (1u64 << k) == 0 {
                buf.clear();
            }
            if done & (1u64 << k) != 0 {
                continue;
            }
            if state.score_skipped(entry.slot) {
                if record_raw {
                    buf.extend(feasible.iter().map(|&node| NodeScore { node, score: 0 }));
                    scratch.raw[k].resize(n, 0);
                }
                continue;
            }
            let p = &self.plugins[entry.slot];
            let sp = p.as_score().expect("checked");
            if listed & (1u64 << k) != 0 {
                debug_assert_eq!(buf.len(), n);
            } else if let Err(s) = raw_scores(k, sp, buf) {
                return Status::error(format!("running Score plugin {:?}: {}", p.name(), s.message()))
                    .with_plugin(p.name());
            }
            if record_raw {
                scratch.raw[k].extend(buf.iter().map(|s| s.score));
            }
            if sp.has_normalize() {
                let s = sp.normalize_score(state, pod, buf);
                if !s.is_success() {
                    return Status::error(format!(
                        "running Normalize on Score plugin {:?}: {}",
                        p.name(),
                        s.message()
                    ))
                    .with_plugin(p.name());
                }
            }
            if let Some(s) = buf.iter().find(|s| !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(&s.score)) {
                return Status::error(format!(
                    "plugin {:?} returns an invalid score {}, it should in the range of [{}, {}] after normalizing",
                    p.name(),
                    s.score,
                    MIN_NODE_SCORE,
                    MAX_NODE_SCORE
                ))
                .with_plugin(p.name());
            }
            for (total, s) in scratch.totals.iter_mut().zip(buf.iter()) {
                *total += s.score * entry.weight;
            }
        }
        Status::success()
    }

    /// Reserve plugins; on failure the caller runs [`run_unreserve_plugins`](Self::run_unreserve_plugins).
    pub fn run_reserve_plugins(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        for &slot in &self.reserve {
            let p = &self.plugins[slot];
            let s = p.as_reserve().expect("checked").reserve(state, pod, node);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Unreserve in reverse order.
    pub fn run_unreserve_plugins(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for &slot in self.reserve.iter().rev() {
            self.plugins[slot].as_reserve().expect("checked").unreserve(state, pod, node);
        }
    }

    /// Bind plugins until one does not Skip.
    pub fn run_bind_plugins(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for &slot in &self.bind {
            let p = &self.plugins[slot];
            let s = p.as_bind().expect("checked").bind(state, pod, node);
            if s.is_skip() {
                continue;
            }
            return if s.is_success() { s } else { s.with_plugin(p.name()) };
        }
        Status::skip()
    }
}
