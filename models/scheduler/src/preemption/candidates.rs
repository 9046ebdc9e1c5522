//! The framework-independent parts of DefaultPreemption: how many candidates to look for, victim
//! importance, PDB accounting, eligibility, and the ordered choice among candidate nodes.
//! Upstream: `defaultpreemption/default_preemption.go`, `framework/preemption/preemption.go`,
//! `scheduler/util :: MoreImportantPod, GetEarliestPodStartTime`.

use std::cmp::Ordering;

use kubesim_api::{ConditionStatus, Pod, PodConditionType, PreemptionPolicy};
use sim_core::{RngStream, SimTime};

use crate::framework::PdbInfo;

/// Upstream `calculateNumCandidates`: `max(N·percentage/100, absolute)` capped at N (integer).
pub fn calculate_num_candidates(num_nodes: i32, min_percentage: i32, min_absolute: i32) -> i32 {
    let n = num_nodes * min_percentage / 100;
    n.max(min_absolute).min(num_nodes)
}

/// A pod's start time for ordering; a pod not started yet counts as starting "now", i.e. after
/// every started pod (upstream `GetPodStartTime` substitutes `time.Now()`).
fn start_time(pod: &Pod) -> SimTime {
    pod.status.start_time.unwrap_or(SimTime::MAX)
}

/// Upstream `MoreImportantPod`: higher priority first, then the one that started earlier.
pub fn more_important(a: &Pod, b: &Pod) -> bool {
    let (pa, pb) = (a.priority(), b.priority());
    if pa != pb {
        return pa > pb;
    }
    start_time(a) < start_time(b)
}

/// Sorts pods by descending importance. Stable (upstream uses an unstable sort; equal pods keep
/// their node order here).
pub fn sort_by_importance<T>(pods: &mut [T], pod_of: impl Fn(&T) -> &Pod) {
    pods.sort_by(|x, y| {
        let (a, b) = (pod_of(x), pod_of(y));
        if more_important(a, b) {
            Ordering::Less
        } else if more_important(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
}

/// Upstream `filterPodsWithPDBViolation`: splits `pods` (kept in order) into those whose eviction
/// would take some matching PDB below zero allowed disruptions — counting the earlier pods of the
/// list as already evicted — and the rest. Returns index lists into `pods`.
pub fn split_by_pdb_violation(pods: &[&Pod], pdbs: &[PdbInfo]) -> (Vec<usize>, Vec<usize>) {
    let mut allowed: Vec<i64> = pdbs.iter().map(|p| i64::from(p.disruptions_allowed)).collect();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for (i, pod) in pods.iter().enumerate() {
        let mut violated = false;
        // A pod without labels matches no PDB.
        if !pod.meta.labels.is_empty() {
            for (j, pdb) in pdbs.iter().enumerate() {
                // A PDB with an empty selector matches nothing here (upstream).
                if pdb.namespace != pod.meta.namespace
                    || pdb.selector.is_empty()
                    || !pdb.selector.matches(&pod.meta.labels)
                {
                    continue;
                }
                allowed[j] -= 1;
                if allowed[j] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(i);
        } else {
            non_violating.push(i);
        }
    }
    (violating, non_violating)
}

/// Why a pod may not preempt now (upstream `PodEligibleToPreemptOthers` messages).
pub const NOT_ELIGIBLE_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
/// The pod already preempted and its victims are still terminating.
pub const NOT_ELIGIBLE_TERMINATING: &str = "not eligible due to a terminating pod on the nominated node.";

/// True for a pod being deleted because the scheduler preempted it (upstream
/// `podTerminatingByPreemption`: deletionTimestamp set and DisruptionTarget=True with reason
/// PreemptionByScheduler).
pub fn terminating_by_preemption(p: &Pod) -> bool {
    p.meta.deletion_timestamp.is_some()
        && p.status.conditions.iter().find(|c| c.kind == PodConditionType::DisruptionTarget).is_some_and(
            |c| {
                c.status == ConditionStatus::True
                    && c.reason.as_deref() == Some(REASON_PREEMPTION_BY_SCHEDULER)
            },
        )
}

/// `DisruptionTarget` reason the scheduler writes on victims.
pub const REASON_PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";

/// Upstream `PodEligibleToPreemptOthers`. `nominated_node_pods` are the pods on the pod's
/// nominated node (if it has one whose filter status was not UnschedulableAndUnresolvable).
pub fn eligible_to_preempt<'a>(
    pod: &Pod,
    nominated_node_pods: Option<impl IntoIterator<Item = &'a Pod>>,
) -> Result<(), &'static str> {
    if pod.spec.preemption_policy == PreemptionPolicy::Never {
        return Err(NOT_ELIGIBLE_NEVER);
    }
    if let Some(pods) = nominated_node_pods {
        let prio = pod.priority();
        if pods.into_iter().any(|p| p.priority() < prio && terminating_by_preemption(p)) {
            return Err(NOT_ELIGIBLE_TERMINATING);
        }
    }
    Ok(())
}

/// A node where preemption would let the pod fit, with the victims (most important first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateSummary<'a> {
    /// Node name.
    pub node: &'a str,
    /// Victims, ordered by decreasing importance.
    pub victims: Vec<&'a Pod>,
    /// Victims whose eviction violates a PDB.
    pub num_pdb_violations: i64,
}

/// Upstream `GetEarliestPodStartTime`: the earliest start time among the highest-priority victims.
fn earliest_start_of_top_priority(victims: &[&Pod]) -> Option<SimTime> {
    let first = victims.first()?;
    let mut max_prio = first.priority();
    let mut earliest = start_time(first);
    for p in victims {
        let prio = p.priority();
        if prio == max_prio {
            earliest = earliest.min(start_time(p));
        } else if prio > max_prio {
            max_prio = prio;
            earliest = start_time(p);
        }
    }
    Some(earliest)
}

/// Upstream `pickOneNodeForPreemption`: keeps, criterion by criterion, the candidates with the best
/// score and returns as soon as one is left:
/// 1. fewest PDB violations; 2. lowest highest-victim priority; 3. smallest Σ(priority + 2^31);
/// 4. fewest victims; 5. latest earliest-start-time among the highest-priority victims;
/// 6. still tied: upstream takes the first of a Go map walk (random order) — here a uniform draw
///    from `rng` among the remaining candidates.
///
/// Returns the index of the chosen candidate, or `None` when there is none.
pub fn pick_one_node_for_preemption(
    candidates: &[CandidateSummary<'_>],
    rng: &mut RngStream,
) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let criteria: [&dyn Fn(&CandidateSummary<'_>) -> i128; 5] = [
        &|c| -i128::from(c.num_pdb_violations),
        &|c| -i128::from(c.victims.first().map_or(0, |p| p.priority())),
        &|c| -c.victims.iter().map(|p| i128::from(p.priority()) + (1i128 << 31)).sum::<i128>(),
        &|c| -(c.victims.len() as i128),
        &|c| earliest_start_of_top_priority(&c.victims).map_or(i128::MIN, |t| i128::from(t.as_nanos())),
    ];
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    for score in criteria {
        let best = remaining.iter().map(|&i| score(&candidates[i])).max().expect("non-empty");
        remaining.retain(|&i| score(&candidates[i]) == best);
        if remaining.len() == 1 {
            return Some(remaining[0]);
        }
    }
    Some(remaining[rng.below(remaining.len() as u64) as usize])
}
