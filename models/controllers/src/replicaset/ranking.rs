//! Scale-down victim order (`controller_utils.go :: ActivePodsWithRanks.Less`;
//! `replica_set.go :: getPodsToDelete, getPodsRankedByRelatedPodsOnSameNode`).
//!
//! First in the order = deleted first. Keys: unassigned before assigned; Pending < Unknown <
//! Running; not ready before ready; lower `pod-deletion-cost`; higher rank (more active sibling
//! pods on the same node); both ready: more recently ready first, by `floor(log2(age in ns))`
//! bucket with the pod UID breaking ties inside a bucket; more container restarts (then sidecar
//! restarts) first; newer creation first (same bucket + UID rule).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use kubesim_api::meta::well_known::POD_DELETION_COST;
use kubesim_api::{ConditionStatus, Pod, PodConditionType, PodPhase};
use sim_core::SimTime;

/// Switches for the ordering (upstream feature gates, both on by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankingGates {
    /// PodDeletionCost.
    pub pod_deletion_cost: bool,
    /// LogarithmicScaleDown.
    pub logarithmic_scale_down: bool,
}

impl Default for RankingGates {
    fn default() -> Self {
        RankingGates { pod_deletion_cost: true, logarithmic_scale_down: true }
    }
}

fn phase_ordinal(p: PodPhase) -> u8 {
    match p {
        PodPhase::Pending => 0,
        PodPhase::Unknown => 1,
        PodPhase::Running => 2,
        // Not active; upstream's map lookup yields 0 for them.
        PodPhase::Succeeded | PodPhase::Failed => 0,
    }
}

/// `controller.kubernetes.io/pod-deletion-cost` (0 when absent or not an int32).
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.meta.annotations.get(POD_DELETION_COST).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0)
}

fn ready_time(pod: &Pod) -> Option<SimTime> {
    pod.condition(PodConditionType::Ready)
        .filter(|c| c.status == ConditionStatus::True)
        .and_then(|c| c.last_transition_time)
}

fn max_restarts(pod: &Pod) -> (i32, i32) {
    let regular = pod.status.container_statuses.iter().map(|c| c.restart_count).max().unwrap_or(0);
    let sidecars: Vec<&str> =
        pod.spec.init_containers.iter().filter(|c| c.is_sidecar()).map(|c| c.name.as_str()).collect();
    let sidecar = pod
        .status
        .init_container_statuses
        .iter()
        .filter(|s| sidecars.contains(&s.name.as_str()))
        .map(|s| s.restart_count)
        .max()
        .unwrap_or(0);
    (regular, sidecar)
}

/// `floor(log2(now − t))` in nanoseconds, −1 when `t` is not before `now` (computed in `f64`
/// like upstream's `math.Log2`).
pub fn log2_bucket(t: SimTime, now: SimTime) -> i64 {
    let d = now.as_nanos().saturating_sub(t.as_nanos());
    if d == 0 {
        -1
    } else {
        (d as f64).log2() as i64
    }
}

/// Newer first: by log bucket then UID with the gate, plain time without it. `None` (never
/// ready) counts as newest.
fn newer_first(
    a: Option<SimTime>,
    b: Option<SimTime>,
    a_uid: &str,
    b_uid: &str,
    now: SimTime,
    log: bool,
) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(ta), Some(tb)) if !log => tb.cmp(&ta),
        (Some(ta), Some(tb)) => {
            // Same bucket → UID, also for equal times (see the module docs of the crate's
            // fidelity notes: upstream falls through to later keys for exactly equal times,
            // which is not a consistent order).
            log2_bucket(ta, now).cmp(&log2_bucket(tb, now)).then_with(|| a_uid.cmp(b_uid))
        }
    }
}

/// The comparator: `Less` means `a` is deleted before `b`. `rank_*` are the pods' ranks.
pub fn compare_for_deletion(
    a: &Pod,
    rank_a: usize,
    b: &Pod,
    rank_b: usize,
    now: SimTime,
    gates: RankingGates,
) -> Ordering {
    let assigned = |p: &Pod| p.spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_ordinal(a.status.phase).cmp(&phase_ordinal(b.status.phase)))
        .then_with(|| a.is_ready().cmp(&b.is_ready()))
        .then_with(|| {
            if gates.pod_deletion_cost {
                deletion_cost(a).cmp(&deletion_cost(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| rank_b.cmp(&rank_a))
        .then_with(|| {
            if a.is_ready() && b.is_ready() {
                let (ra, rb) = (ready_time(a), ready_time(b));
                if ra == rb && !gates.logarithmic_scale_down {
                    Ordering::Equal
                } else {
                    newer_first(ra, rb, &a.meta.uid, &b.meta.uid, now, gates.logarithmic_scale_down)
                }
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| max_restarts(b).cmp(&max_restarts(a)))
        .then_with(|| {
            let (ca, cb) = (a.meta.creation_timestamp, b.meta.creation_timestamp);
            if ca == cb && !gates.logarithmic_scale_down {
                Ordering::Equal
            } else {
                newer_first(Some(ca), Some(cb), &a.meta.uid, &b.meta.uid, now, gates.logarithmic_scale_down)
            }
        })
}

/// Rank of each pod: active pods among `related` (pods of all ReplicaSets with the same owner)
/// on the pod's node (unassigned pods share the "" node).
pub fn ranks<P: Borrow<Pod>, R: Borrow<Pod>>(pods: &[P], related: &[R]) -> Vec<usize> {
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for p in related.iter().map(R::borrow).filter(|p| p.is_active()) {
        *per_node.entry(p.spec.node_name.as_deref().unwrap_or("")).or_default() += 1;
    }
    pods.iter()
        .map(P::borrow)
        .map(|p| per_node.get(p.spec.node_name.as_deref().unwrap_or("")).copied().unwrap_or(0))
        .collect()
}

/// `getPodsToDelete`: indices into `active` of the `diff` pods to delete, in deletion order.
pub fn pods_to_delete<P: Borrow<Pod>, R: Borrow<Pod>>(
    active: &[P],
    related: &[R],
    diff: usize,
    now: SimTime,
    gates: RankingGates,
) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..active.len()).collect();
    if diff < active.len() {
        let r = ranks(active, related);
        idx.sort_by(|&i, &j| {
            compare_for_deletion(active[i].borrow(), r[i], active[j].borrow(), r[j], now, gates)
        });
    }
    idx.truncate(diff);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{ContainerStatus, PodCondition};
    use proptest::prelude::*;

    fn pod(uid: &str) -> Pod {
        let mut p = Pod::default();
        p.meta.uid = uid.into();
        p.meta.name = uid.into();
        p.spec.node_name = Some("n1".into());
        p.status.phase = PodPhase::Running;
        p
    }

    fn ready(mut p: Pod, since_secs: u64) -> Pod {
        p.status.conditions.push(PodCondition {
            kind: PodConditionType::Ready,
            status: ConditionStatus::True,
            last_transition_time: Some(SimTime::from_secs(since_secs)),
            reason: None,
        });
        p
    }

    const NOW: SimTime = SimTime::from_secs(10_000);

    fn first(a: &Pod, b: &Pod) -> Ordering {
        compare_for_deletion(a, 0, b, 0, NOW, RankingGates::default())
    }

    #[test]
    fn unassigned_pods_go_first() {
        let mut a = pod("a");
        a.spec.node_name = None;
        assert_eq!(first(&a, &ready(pod("b"), 1)), Ordering::Less);
    }

    #[test]
    fn pending_before_unknown_before_running() {
        let mut pending = pod("a");
        pending.status.phase = PodPhase::Pending;
        let mut unknown = pod("b");
        unknown.status.phase = PodPhase::Unknown;
        assert_eq!(first(&pending, &unknown), Ordering::Less);
        assert_eq!(first(&unknown, &pod("c")), Ordering::Less);
    }

    #[test]
    fn not_ready_before_ready_and_cheaper_before_costlier() {
        assert_eq!(first(&pod("z"), &ready(pod("a"), 1)), Ordering::Less);
        let mut cheap = ready(pod("z"), 1);
        cheap.meta.annotations.insert(POD_DELETION_COST.into(), "-5".into());
        assert_eq!(first(&cheap, &ready(pod("a"), 1)), Ordering::Less);
        let mut junk = ready(pod("z"), 1);
        junk.meta.annotations.insert(POD_DELETION_COST.into(), "lots".into());
        assert_eq!(deletion_cost(&junk), 0);
    }

    #[test]
    fn more_colocated_siblings_go_first() {
        let (a, b) = (ready(pod("z"), 1), ready(pod("a"), 1));
        assert_eq!(compare_for_deletion(&a, 3, &b, 1, NOW, RankingGates::default()), Ordering::Less);
        let mut other = pod("x");
        other.spec.node_name = Some("n2".into());
        assert_eq!(ranks(&[a.clone(), other.clone()], &[a, b, other]), vec![2, 1]);
    }

    #[test]
    fn recently_ready_first_by_log_bucket_then_uid() {
        // Ready 1000 s vs 3000 s ago: buckets floor(log2(1e12)) = 39 vs floor(log2(3e12)) = 41.
        let young = ready(pod("z"), 9_000);
        let old = ready(pod("a"), 7_000);
        assert_eq!(first(&young, &old), Ordering::Less);
        // 1000 s vs 1050 s ago: both bucket 39 (2^40 ns ≈ 1099.5 s) → UID decides ("a" < "z").
        let y2 = ready(pod("z"), 9_000);
        let o2 = ready(pod("a"), 8_950);
        assert_eq!(first(&o2, &y2), Ordering::Less);
        // Without the gate: plain newer-first.
        let off = RankingGates { logarithmic_scale_down: false, ..Default::default() };
        assert_eq!(compare_for_deletion(&y2, 0, &o2, 0, NOW, off), Ordering::Less);
        assert_eq!(log2_bucket(SimTime::from_secs(9_000), NOW), 39);
    }

    #[test]
    fn more_restarts_then_newer_creation_first() {
        // Not-ready pods skip the ready-time key.
        let mut crashy = pod("z");
        crashy.status.container_statuses.push(ContainerStatus { restart_count: 4, ..Default::default() });
        assert_eq!(first(&crashy, &pod("a")), Ordering::Less);
        let mut newer = pod("z");
        newer.meta.creation_timestamp = SimTime::from_secs(9_990);
        let mut older = pod("a");
        older.meta.creation_timestamp = SimTime::from_secs(1_000);
        assert_eq!(first(&newer, &older), Ordering::Less);
    }

    #[test]
    fn equal_ready_times_in_one_bucket_are_ordered_by_uid() {
        // Fidelity note: upstream would consult restarts here; UID keeps the order consistent.
        let mut crashy = ready(pod("z"), 5_000);
        crashy.status.container_statuses.push(ContainerStatus { restart_count: 4, ..Default::default() });
        assert_eq!(first(&ready(pod("a"), 5_000), &crashy), Ordering::Less);
    }

    #[test]
    fn all_pods_going_skips_the_sort() {
        let pods = vec![ready(pod("a"), 1), pod("b")];
        assert_eq!(pods_to_delete(&pods, &pods, 2, NOW, RankingGates::default()), vec![0, 1]);
        assert_eq!(pods_to_delete(&pods, &pods, 1, NOW, RankingGates::default()), vec![1]);
    }

    fn arb_pod() -> impl Strategy<Value = (Pod, usize)> {
        (
            0u8..3,
            0u8..4,
            any::<bool>(),
            prop::option::of(prop::sample::select(vec![1_000u64, 8_900, 8_950, 9_000, 9_990])),
            -2i32..2,
            0i32..3,
            prop::sample::select(vec![1_000u64, 8_950, 9_000, 9_990]),
            "[a-d]",
            0usize..3,
        )
            .prop_map(|(node, phase, is_ready, ready_at, cost, restarts, created, uid, rank)| {
                let mut p = Pod::default();
                p.meta.uid = uid.into();
                p.spec.node_name = match node {
                    0 => None,
                    1 => Some("n1".into()),
                    _ => Some("n2".into()),
                };
                p.status.phase = [PodPhase::Pending, PodPhase::Unknown, PodPhase::Running, PodPhase::Running]
                    [phase as usize];
                p.status.conditions.push(PodCondition {
                    kind: PodConditionType::Ready,
                    status: if is_ready { ConditionStatus::True } else { ConditionStatus::False },
                    last_transition_time: ready_at.map(SimTime::from_secs),
                    reason: None,
                });
                if cost != 0 {
                    p.meta.annotations.insert(POD_DELETION_COST.into(), cost.to_string());
                }
                p.status
                    .container_statuses
                    .push(ContainerStatus { restart_count: restarts, ..Default::default() });
                p.meta.creation_timestamp = SimTime::from_secs(created);
                (p, rank)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_comparator_is_a_strict_weak_order(
            a in arb_pod(), b in arb_pod(), c in arb_pod(), log in any::<bool>()
        ) {
            let gates = RankingGates { logarithmic_scale_down: log, ..Default::default() };
            let cmp = |x: &(Pod, usize), y: &(Pod, usize)| compare_for_deletion(&x.0, x.1, &y.0, y.1, NOW, gates);
            // Irreflexive and antisymmetric.
            prop_assert_eq!(cmp(&a, &a), Ordering::Equal);
            prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse());
            // Transitive for both < and ~ (equivalence).
            if cmp(&a, &b) != Ordering::Greater && cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(cmp(&a, &c), Ordering::Greater);
                if cmp(&a, &b) == Ordering::Less || cmp(&b, &c) == Ordering::Less {
                    prop_assert_eq!(cmp(&a, &c), Ordering::Less);
                }
            }
        }
    }
}
