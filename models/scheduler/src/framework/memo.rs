//! Memoised node-local plugin results, reused across consecutive pods with the same scheduling
//! signature.
//!
//! Most default plugins are pure functions of (pod, one node's [`NodeInfo`](super::NodeInfo), args): they declare
//! [`Locality::Node`] (or [`Locality::NodeAndImages`] for ImageLocality, which also reads the
//! snapshot's image summary). For two consecutive pods that every such plugin calls
//! [`same`](super::Plugin::same_signature), their Filter verdicts and raw Scores on a node that
//! did not change are the same, so the scheduler computes them once per (signature, node stamp)
//! and reads them back afterwards. With homogeneous pods only the node that took the previous pod
//! is recomputed.
//!
//! A memo keeps up to [`MEMO_WAYS`] signatures, so pods of a few workloads arriving interleaved
//! each find their own entries. A signature gets a way on its second recent sighting, taking a
//! free way or one unused for a while; otherwise its pod runs the plain walk and stores nothing,
//! so one-off pods and more alternating signatures than ways cost (almost) nothing extra.
//!
//! | kept per signature and node (one row) | valid while |
//! |---|---|
//! | first failing node-local Filter (position and status), or "all pass" | same filter epoch, same [`Snapshot::stamp`] |
//! | raw Score of every active node-local Score plugin, and the weighted sum of those without NormalizeScore | same score epoch, same stamp |
//!
//! An epoch changes when the signature changes, when the node-local plugins' PreFilter /
//! PreScore Skip set changes, or (for the Filter / Score side that has a
//! [`Locality::NodeAndImages`] plugin) when [`Snapshot::image_generation`] changes; stale
//! entries are then ignored, never cleared. Stamps are never reused for a slot, so an entry
//! whose (epoch, stamp) matches was computed for this signature on this very node content.
//! Plugins with [`Locality::Cluster`] (PodTopologySpread, InterPodAffinity, out-of-tree plugins)
//! always run. NormalizeScore, weights and the tie-break run every cycle over the evaluated
//! set, as upstream. The caller bypasses the memo on nodes with nominated pods (two-pass
//! filtering) and in preemption's what-if runs, which filter modified copies of nodes.
//!
//! The hot loops (`Framework::run_filter_plugins_memoized`, `scan_filter_verdicts`,
//! `Framework::run_score_plugins_memoized`) read one row per node and never touch the
//! [`NodeInfo`](super::NodeInfo) of a node whose row is valid.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cycle_state::CycleState;
use super::interface::Locality;
use super::interface::NodeScore;
use super::nominator::Nominator;
use super::runtime::Framework;
use super::snapshot::Snapshot;
use super::status::Status;
use super::types::{NodeId, PodInfo};

/// `fail_pos` of a node where every node-local filter passes.
pub(crate) const ALL_PASS: u32 = u32::MAX;

/// Words of a row before the raw scores (see `Way::rows`).
const HEADER: usize = 5;
const STAMP: usize = 0;
const FILTER_EPOCH: usize = 1;
const FAIL_POS: usize = 2;
const SCORE_EPOCH: usize = 3;
/// Σ weight × raw over the active node-local score plugins without NormalizeScore, or
/// `i64::MIN` if one of those raws is outside 0..=100.
const DIRECT_SUM: usize = 4;

/// How many signatures a memo keeps at once (least recently used one replaced): pods of a few
/// workloads arriving interleaved still find their entries.
pub const MEMO_WAYS: usize = 4;

/// Signatures seen once and not (yet) given a way, most recent last.
const GHOSTS: usize = 16;

/// Cycles without use after which a way that never served a second pod may be given to another
/// signature.
const UNPROVEN_IDLE: u64 = 2 * MEMO_WAYS as u64;

/// Cycles without use after which a way that served pods may be given to another signature.
const PROVEN_IDLE: u64 = 64;

/// The entries of one signature.
#[derive(Debug, Default)]
struct Way {
    /// The pod whose signature the entries belong to (`None`: unused way).
    signature: Option<Arc<PodInfo>>,
    /// Memo clock at the last cycle that used this way.
    last_used: u64,
    /// Cycles this way served after the one that filled it.
    reuses: u64,
    filter_epoch: u64,
    filter_skip: u64,
    score_epoch: u64,
    score_skip: u64,
    image_generation: u64,
    /// One row of `row_len` words per slot, so that filtering and scoring a node read one
    /// place: `[stamp, filter epoch, failing position, score epoch, direct sum, raw score of
    /// node-local score plugin 0, 1, …]` (counters stored bit for bit as i64). Both halves share
    /// the stamp: whichever half is filled for a new stamp invalidates the other.
    rows: Vec<i64>,
    /// Per slot: the failing plugin's status (plugin name set), when the failing position is
    /// not [`ALL_PASS`].
    filter_status: Vec<Status>,
}

impl Way {
    /// Ends both epochs: no entry matches any more. Epochs only grow, and entries start at 0.
    fn invalidate(&mut self) {
        self.filter_epoch += 1;
        self.score_epoch += 1;
    }
}

/// Per-profile memo of node-local Filter verdicts and raw Scores, indexed by [`NodeId`], for up
/// to [`MEMO_WAYS`] signatures.
#[derive(Debug)]
pub struct NodeMemo {
    enabled: bool,
    /// True for this cycle: enabled and the profile has node-local plugins.
    active: bool,
    ways: Vec<Way>,
    /// Signatures seen once recently (see `admit`).
    ghosts: Vec<Arc<PodInfo>>,
    /// The way of this cycle's pod.
    current: usize,
    /// Counts cycles, for least-recently-used replacement.
    clock: u64,
    /// Some active filter plugin is not node-local: the ordered walk must run it.
    cluster_filters_active: bool,
    /// Number of node-local score plugins.
    columns_len: usize,
}

impl Default for NodeMemo {
    fn default() -> Self {
        NodeMemo::new(true)
    }
}

impl NodeMemo {
    /// An empty memo; `enabled = false` makes every lookup miss (the plain path).
    pub fn new(enabled: bool) -> Self {
        NodeMemo {
            enabled,
            active: false,
            ways: Vec::new(),
            ghosts: Vec::new(),
            current: 0,
            clock: 0,
            cluster_filters_active: true,
            columns_len: 0,
        }
    }

    /// Turns memoisation on or off (off forgets everything).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
        self.active = false;
        self.ghosts.clear();
        for w in &mut self.ways {
            w.signature = None;
            w.invalidate();
        }
    }

    /// True if memoisation is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// True if this cycle uses the memo.
    #[inline]
    pub fn active(&self) -> bool {
        self.active
    }

    #[inline]
    fn row_len(&self) -> usize {
        HEADER + self.columns_len
    }

    #[inline]
    fn way(&self) -> &Way {
        &self.ways[self.current]
    }

    #[inline]
    fn way_mut(&mut self) -> &mut Way {
        &mut self.ways[self.current]
    }

    /// Starts a cycle after PreFilter: picks the way of `pod`'s signature (or recycles the least
    /// recently used one) and keeps its entries if the node-local plugins skipped the same
    /// Filters and the image summary they read did not change; otherwise starts a new epoch.
    pub fn begin_cycle(
        &mut self,
        fw: &Framework,
        pod: &Arc<PodInfo>,
        state: &CycleState,
        snapshot: &Snapshot,
    ) {
        self.active = self.enabled && fw.has_node_local_plugins();
        if !self.active {
            return;
        }
        if self.columns_len != fw.node_local_score_count() {
            self.columns_len = fw.node_local_score_count();
            self.ways.clear();
        }
        self.clock += 1;
        let same = |prev: &Arc<PodInfo>| Arc::ptr_eq(prev, pod) || fw.same_signature(prev, pod);
        self.current = match self.ways.iter().position(|w| w.signature.as_ref().is_some_and(same)) {
            Some(i) => {
                self.ways[i].reuses += 1;
                i
            }
            None => match self.admit(pod, same) {
                Some(i) => i,
                None => {
                    // A signature seen once, or no way to spare: the plain walk, nothing stored.
                    self.active = false;
                    return;
                }
            },
        };
        let (filter_images, score_images) = fw.node_local_reads_images();
        let row_words = snapshot.slot_count() * self.row_len();
        let slots = snapshot.slot_count();
        let clock = self.clock;
        let w = self.way_mut();
        w.last_used = clock;
        let filter_skip = state.skip_filter & fw.node_local_mask();
        if filter_skip != w.filter_skip {
            w.filter_skip = filter_skip;
            w.filter_epoch += 1;
        }
        if snapshot.image_generation() != w.image_generation {
            w.image_generation = snapshot.image_generation();
            w.filter_epoch += u64::from(filter_images);
            w.score_epoch += u64::from(score_images);
        }
        if w.filter_status.len() < slots {
            w.filter_status.resize_with(slots, Status::success);
        }
        if w.rows.len() < row_words {
            w.rows.resize(row_words, 0);
        }
        self.cluster_filters_active = fw.has_active_cluster_filters(state);
    }

    /// A way for a signature no way holds, if it deserves one: it must have been seen recently
    /// (a "ghost": the first sighting only records it, so a stream of one-off pods never pays
    /// for filling a way), and a way must be free or idle — for [`UNPROVEN_IDLE`] cycles if it
    /// never served a second pod, [`PROVEN_IDLE`] if it did — so that more signatures taking
    /// turns than there are ways do not evict each other endlessly: the ways keep serving some
    /// of them and the others run plain.
    fn admit(&mut self, pod: &Arc<PodInfo>, same: impl Fn(&Arc<PodInfo>) -> bool) -> Option<usize> {
        let Some(ghost) = self.ghosts.iter().position(&same) else {
            if self.ghosts.len() == GHOSTS {
                self.ghosts.remove(0);
            }
            self.ghosts.push(pod.clone());
            return None;
        };
        let i = if self.ways.len() < MEMO_WAYS {
            self.ways.push(Way { filter_epoch: 1, score_epoch: 1, ..Way::default() });
            self.ways.len() - 1
        } else {
            let clock = self.clock;
            let idle_enough =
                |w: &Way| clock - w.last_used >= if w.reuses == 0 { UNPROVEN_IDLE } else { PROVEN_IDLE };
            (0..self.ways.len())
                .filter(|&i| idle_enough(&self.ways[i]))
                .min_by_key(|&i| self.ways[i].last_used)?
        };
        self.ghosts.remove(ghost);
        let w = &mut self.ways[i];
        w.signature = Some(pod.clone());
        w.reuses = 0;
        w.invalidate();
        Some(i)
    }

    /// After PreScore: a different Skip set among node-local Score plugins starts a new score epoch.
    pub fn begin_scoring(&mut self, fw: &Framework, state: &CycleState) {
        let score_skip = state.skip_score & fw.node_local_mask();
        let w = self.way_mut();
        if score_skip != w.score_skip {
            w.score_skip = score_skip;
            w.score_epoch += 1;
        }
    }

    #[inline]
    fn row(&self, slot: usize) -> &[i64] {
        let len = self.row_len();
        &self.way().rows[slot * len..(slot + 1) * len]
    }

    /// The row of `slot` for writing under `stamp`: a new stamp invalidates both halves.
    fn row_mut(&mut self, slot: usize, stamp: u64) -> &mut [i64] {
        let len = self.row_len();
        let row = &mut self.way_mut().rows[slot * len..(slot + 1) * len];
        if row[STAMP] as u64 != stamp {
            row[STAMP] = stamp as i64;
            row[FILTER_EPOCH] = 0;
            row[SCORE_EPOCH] = 0;
        }
        row
    }

    /// The memoised filter verdict of the node in `slot` with `stamp`: the position of the
    /// failing node-local plugin, or [`ALL_PASS`].
    #[inline(always)]
    pub(crate) fn filter_verdict(&self, slot: usize, stamp: u64) -> Option<u32> {
        let row = self.row(slot);
        (row[STAMP] as u64 == stamp && row[FILTER_EPOCH] as u64 == self.way().filter_epoch)
            .then_some(row[FAIL_POS] as u32)
    }

    /// The status of the failing node-local filter of the node in `slot` (valid after
    /// [`filter_verdict`](Self::filter_verdict) returned a position other than [`ALL_PASS`]).
    #[inline]
    pub(crate) fn filter_status(&self, slot: usize) -> &Status {
        &self.way().filter_status[slot]
    }

    pub(crate) fn store_filter(&mut self, slot: usize, stamp: u64, fail_pos: u32, status: Status) {
        let epoch = self.way().filter_epoch;
        let row = self.row_mut(slot, stamp);
        row[FILTER_EPOCH] = epoch as i64;
        row[FAIL_POS] = i64::from(fail_pos);
        if fail_pos != ALL_PASS {
            self.way_mut().filter_status[slot] = status;
        }
    }

    /// True if some active Filter plugin is not node-local.
    #[inline]
    pub(crate) fn cluster_filters_active(&self) -> bool {
        self.cluster_filters_active
    }

    /// True if a memoised verdict is the whole Filter verdict this cycle: the memo is active,
    /// every active Filter plugin is node-local and no pod is nominated anywhere.
    #[inline]
    pub fn decides_filters_alone(&self, nominator: &Nominator) -> bool {
        self.active && !self.cluster_filters_active && nominator.is_empty()
    }

    /// Walks `order` (cyclically, from `*next`) while memoised verdicts decide alone (the caller
    /// checked [`decides_filters_alone`](Self::decides_filters_alone)): passing nodes go to
    /// `feasible`, rejected ones with their status to `rejected`. Stops when `feasible` holds
    /// `to_find` nodes, after `budget` nodes, or before the first node without a memoised
    /// verdict (left at `*next` for the full path). Returns the number of nodes examined.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scan_filter_verdicts(
        &self,
        snapshot: &Snapshot,
        order: &[NodeId],
        next: &mut usize,
        budget: usize,
        to_find: usize,
        feasible: &mut Vec<NodeId>,
        rejected: &mut BTreeMap<NodeId, Status>,
    ) -> usize {
        let len = self.row_len();
        let way = self.way();
        let (rows, epoch) = (way.rows.as_slice(), way.filter_epoch);
        let stamps = snapshot.stamps();
        let mut examined = 0;
        let mut at = *next;
        // Contiguous stretches of `order` (it wraps around once at most per stretch).
        while examined < budget && feasible.len() < to_find {
            let want = to_find - feasible.len();
            let stretch = &order[at..order.len().min(at + (budget - examined))];
            let (mut found, mut taken, mut stopped) = (0usize, 0usize, false);
            for &id in stretch {
                let slot = id.index();
                let row = &rows[slot * len..slot * len + HEADER];
                let stamp = stamps.get(slot).copied().unwrap_or(0);
                if row[STAMP] as u64 != stamp || row[FILTER_EPOCH] as u64 != epoch {
                    stopped = true;
                    break;
                }
                taken += 1;
                if row[FAIL_POS] as u32 == ALL_PASS {
                    feasible.push(id);
                    found += 1;
                    if found == want {
                        break;
                    }
                } else {
                    rejected.insert(id, way.filter_status[slot].clone());
                }
            }
            examined += taken;
            at += taken;
            if at == order.len() {
                at = 0;
            }
            if stopped {
                break;
            }
        }
        *next = at;
        examined
    }

    /// The raw scores of the node in `slot`, to write before [`raw_scores_mut`](Self::raw_scores_mut)
    /// marks them valid (until then the row's key does not match, whatever they hold).
    #[inline]
    pub(crate) fn unchecked_raw_scores_mut(&mut self, slot: usize) -> &mut [i64] {
        let len = self.row_len();
        &mut self.way_mut().rows[slot * len + HEADER..(slot + 1) * len]
    }

    /// Where to write the raw scores of the node in `slot`; marks them valid for `stamp`.
    pub(crate) fn raw_scores_mut(&mut self, slot: usize, stamp: u64) -> &mut [i64] {
        let epoch = self.way().score_epoch;
        let row = self.row_mut(slot, stamp);
        row[SCORE_EPOCH] = epoch as i64;
        &mut row[HEADER..]
    }

    /// Records the direct sum of the row of `slot` (after [`raw_scores_mut`](Self::raw_scores_mut)).
    pub(crate) fn set_direct_sum(&mut self, slot: usize, sum: i64) {
        let len = self.row_len();
        self.way_mut().rows[slot * len + DIRECT_SUM] = sum;
    }

    /// One pass over `feasible` reading the memoised scores: pushes each node's direct sum onto
    /// `totals` (0 when `with_direct` is false) and, for each `(entry, column)` of `listed`, its
    /// raw score of that column onto `scores[entry]`. A node whose row is not valid for its
    /// current stamp gets 0 placeholders and its position is pushed onto `misses` (fill its row,
    /// then patch those positions). Returns true if some valid row's direct sum is `i64::MIN`
    /// (a node-local raw score outside 0..=100) while `with_direct`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gather_scores(
        &self,
        snapshot: &Snapshot,
        feasible: &[NodeId],
        with_direct: bool,
        listed: &[(usize, usize)],
        totals: &mut Vec<i64>,
        scores: &mut [Vec<NodeScore>],
        misses: &mut Vec<usize>,
    ) -> bool {
        let len = self.row_len();
        let way = self.way();
        let (rows, epoch) = (way.rows.as_slice(), way.score_epoch);
        let stamps = snapshot.stamps();
        let mut out_of_range = false;
        let start = totals.len();
        totals.extend(feasible.iter().enumerate().map(|(p, &id)| {
            let slot = id.index();
            let row = &rows[slot * len..slot * len + HEADER];
            let stamp = stamps.get(slot).copied().unwrap_or(0);
            if row[STAMP] as u64 != stamp || row[SCORE_EPOCH] as u64 != epoch {
                misses.push(p);
                return 0;
            }
            let direct_sum = if with_direct { row[DIRECT_SUM] } else { 0 };
            out_of_range |= direct_sum == i64::MIN;
            direct_sum
        }));
        debug_assert_eq!(totals.len(), start + feasible.len());
        // The listed raws, whatever the rows of the misses hold (patched after the fill).
        for &(k, column) in listed {
            let at = HEADER + column;
            scores[k].extend(
                feasible.iter().map(|&id| NodeScore { node: id, score: rows[id.index() * len + at] }),
            );
        }
        for &p in misses.iter() {
            totals[start + p] = 0;
            for &(k, _) in listed {
                scores[k][p].score = 0;
            }
        }
        out_of_range
    }

    /// The direct sum and the raw scores of the node in `slot` (valid after
    /// [`gather_scores`](Self::gather_scores) found the row valid, or after a fill).
    #[inline]
    pub(crate) fn scores(&self, slot: usize) -> (i64, &[i64]) {
        let row = self.row(slot);
        (row[DIRECT_SUM], &row[HEADER..])
    }
}

/// True if `l` makes a plugin's results depend on the snapshot's image summary.
pub(crate) fn reads_images(l: Locality) -> bool {
    l == Locality::NodeAndImages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::ProfileConfig;
    use crate::framework::{PodResourcesOptions, Registry};
    use crate::options::SchedulerOptions;
    use kubesim_api::{Container, Node, Pod, ResourceList, ResourceRequirements};

    fn framework() -> Framework {
        Framework::new(&ProfileConfig::default_profile(), &Registry::in_tree(), &SchedulerOptions::default())
            .expect("default profile")
    }

    /// A pod whose signature is its cpu request.
    fn pod(name: &str, cpu_millis: i64) -> Arc<PodInfo> {
        let mut p = Pod::default();
        p.meta.name = name.into();
        p.spec.containers = vec![Container {
            resources: ResourceRequirements {
                requests: ResourceList::new().with_cpu_millis(cpu_millis),
                ..Default::default()
            },
            ..Default::default()
        }]
        .into();
        Arc::new(PodInfo::new(p, PodResourcesOptions::default()))
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::new();
        let mut n = Node::default();
        n.meta.name = "n1".into();
        s.upsert_node(n);
        s
    }

    #[test]
    fn a_signature_gets_a_way_on_its_second_sighting() {
        let (fw, snap, state) = (framework(), snapshot(), CycleState::new());
        let mut memo = NodeMemo::new(true);
        memo.begin_cycle(&fw, &pod("a", 100), &state, &snap);
        assert!(!memo.active(), "first sighting: plain walk");
        memo.begin_cycle(&fw, &pod("b", 100), &state, &snap);
        assert!(memo.active(), "same signature again: a way");
        memo.begin_cycle(&fw, &pod("c", 200), &state, &snap);
        assert!(!memo.active());
        memo.begin_cycle(&fw, &pod("d", 100), &state, &snap);
        assert!(memo.active(), "the first signature kept its way");
    }

    #[test]
    fn more_signatures_in_turn_than_ways_leave_the_warm_ways_alone() {
        // MEMO_WAYS + 1 signatures in turn: once warm, MEMO_WAYS of them keep their ways every
        // round and the odd one out runs plain (LRU would evict on every pod and never hit).
        let (fw, snap, state) = (framework(), snapshot(), CycleState::new());
        let mut memo = NodeMemo::new(true);
        let k = MEMO_WAYS as i64 + 1;
        let mut active_per_round = Vec::new();
        for round in 0..6 {
            let mut active = 0;
            for s in 0..k {
                memo.begin_cycle(&fw, &pod(&format!("p{round}-{s}"), 100 * (s + 1)), &state, &snap);
                active += usize::from(memo.active());
            }
            active_per_round.push(active);
        }
        assert_eq!(active_per_round, [0, MEMO_WAYS, MEMO_WAYS, MEMO_WAYS, MEMO_WAYS, MEMO_WAYS]);
    }

    #[test]
    fn a_disabled_memo_is_never_active() {
        let (fw, snap, state) = (framework(), snapshot(), CycleState::new());
        let mut memo = NodeMemo::new(false);
        for name in ["a", "b", "c"] {
            memo.begin_cycle(&fw, &pod(name, 100), &state, &snap);
            assert!(!memo.active());
        }
    }
}
