//! Node-pressure eviction: signals, thresholds and the order pods are evicted in
//! (`pkg/kubelet/eviction`).
//!
//! The eviction manager computes `memory.available = capacity − working set` every monitoring
//! interval (10 s) and, below the hard threshold (`memory.available<100Mi`), evicts **one pod per
//! cycle** in the order of [`rank_for_memory_eviction`] (`rankMemoryPressure`). The
//! MemoryPressure node condition stays True for `evictionPressureTransitionPeriod` (5 min) after
//! the signal clears. [`next_possible_pressure`] is what lets the kubelet skip the periodic check
//! while pressure cannot occur.

use std::cmp::Ordering;

use kubesim_workload::Curve;
use sim_core::{SimDuration, SimTime};

/// Default hard eviction threshold `memory.available<100Mi`.
pub const DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES: i64 = 100 * 1024 * 1024;
/// Eviction manager monitoring interval (`housekeeping` / synchronize period).
pub const MONITORING_INTERVAL: SimDuration = SimDuration::from_secs(10);
/// `evictionPressureTransitionPeriod` default.
pub const PRESSURE_TRANSITION_PERIOD: SimDuration = SimDuration::from_mins(5);

/// A pod as the eviction manager ranks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvictionCandidate<K> {
    /// Identifies the pod.
    pub key: K,
    /// Working set of the pod; `None` when no stats are available.
    pub memory_usage_bytes: Option<i64>,
    /// The pod's memory request (effective pod request).
    pub memory_request_bytes: i64,
    /// Pod priority (0 when unset).
    pub priority: i32,
}

/// `exceedMemoryRequests`, then `priority`, then `memory`: the order pods are evicted in.
///
/// 1. pods without stats first, then pods using more than their request;
/// 2. lower priority first;
/// 3. larger `usage − request` first (pods without stats first).
///
/// Upstream sorts with Go's unstable `sort.Sort`, so equal pods come out in an unspecified order;
/// here ties keep their input order (stable sort), which makes the choice deterministic.
pub fn rank_for_memory_eviction<K>(pods: &mut [EvictionCandidate<K>]) {
    pods.sort_by(compare_for_memory_eviction);
}

/// The comparison behind [`rank_for_memory_eviction`] (`Less` = evict first).
pub fn compare_for_memory_eviction<K>(a: &EvictionCandidate<K>, b: &EvictionCandidate<K>) -> Ordering {
    // true sorts first
    let first = |x: bool, y: bool| y.cmp(&x);
    let by_stats = |a: &EvictionCandidate<K>, b: &EvictionCandidate<K>| match (
        a.memory_usage_bytes,
        b.memory_usage_bytes,
    ) {
        (Some(_), Some(_)) => None,
        (ua, ub) => Some(first(ua.is_none(), ub.is_none())),
    };
    let exceeds = by_stats(a, b).unwrap_or_else(|| {
        let ea = a.memory_usage_bytes.is_some_and(|u| u > a.memory_request_bytes);
        let eb = b.memory_usage_bytes.is_some_and(|u| u > b.memory_request_bytes);
        first(ea, eb)
    });
    exceeds.then_with(|| a.priority.cmp(&b.priority)).then_with(|| {
        by_stats(a, b).unwrap_or_else(|| {
            let over = |p: &EvictionCandidate<K>| {
                p.memory_usage_bytes.unwrap_or(0).saturating_sub(p.memory_request_bytes)
            };
            over(b).cmp(&over(a))
        })
    })
}

/// One running container's working set, for [`next_possible_pressure`].
#[derive(Clone, Copy, Debug)]
pub struct RunningMemory<'a> {
    /// Working set over time since `start`.
    pub curve: &'a Curve,
    /// When the container started.
    pub start: SimTime,
}

/// A lower bound on the first instant `≥ now` at which the summed working set of `running` can
/// exceed `limit_bytes` (i.e. `memory.available` drops below the threshold), or `None` if it never
/// can while the set of containers stays the same. Exact when nothing is over the limit yet:
/// if the sum must grow by `H + 1` bytes, some container must grow by at least `⌈(H+1)/n⌉`, so the
/// earliest such single-container growth bounds the crossing from below. The caller checks at the
/// first monitoring tick at or after the bound and asks again if pressure has not arrived.
pub fn next_possible_pressure(
    now: SimTime,
    running: &[RunningMemory<'_>],
    limit_bytes: i64,
) -> Option<SimTime> {
    let offset = |r: &RunningMemory<'_>| now.saturating_duration_since(r.start);
    let total = running.iter().fold(0i64, |acc, r| acc.saturating_add(r.curve.value_at(offset(r))));
    if total > limit_bytes {
        return Some(now);
    }
    let n = running.len() as i64;
    if n == 0 {
        return None;
    }
    let need = limit_bytes.saturating_sub(total).saturating_add(1); // growth that brings pressure
    let per_container = (need.saturating_add(n - 1) / n).max(1); // ceil: both positive
    running
        .iter()
        .filter_map(|r| {
            let from = offset(r);
            let level = r.curve.value_at(from).saturating_add(per_container);
            r.curve.first_at_or_above(from, level).and_then(|d| r.start.checked_add(d))
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: i64 = 1 << 20;

    fn cand(
        key: &'static str,
        usage: Option<i64>,
        request: i64,
        priority: i32,
    ) -> EvictionCandidate<&'static str> {
        EvictionCandidate { key, memory_usage_bytes: usage, memory_request_bytes: request, priority }
    }

    #[test]
    fn eviction_ranks_over_request_then_priority_then_excess() {
        let mut pods = vec![
            cand("guaranteed-at-request", Some(500 * MI), 500 * MI, 0),
            cand("burstable-small-excess", Some(300 * MI), 200 * MI, 0),
            cand("besteffort", Some(50 * MI), 0, 0),
            cand("high-priority-over", Some(900 * MI), 100 * MI, 1000),
            cand("no-stats", None, 100 * MI, 2000),
            cand("low-priority-under", Some(10 * MI), 100 * MI, -5),
        ];
        rank_for_memory_eviction(&mut pods);
        let order: Vec<_> = pods.iter().map(|p| p.key).collect();
        assert_eq!(
            order,
            vec![
                "no-stats",
                "burstable-small-excess", // over request, priority 0, excess 100Mi
                "besteffort",             // over request, priority 0, excess 50Mi
                "high-priority-over",     // over request but priority 1000
                "low-priority-under",     // under request: priority −5 first
                "guaranteed-at-request",
            ]
        );
    }

    #[test]
    fn flat_working_sets_never_need_a_check_and_a_leak_bounds_the_crossing_from_below() {
        let flat = Curve::constant(100 * MI);
        let run = [RunningMemory { curve: &flat, start: SimTime::ZERO }];
        assert_eq!(next_possible_pressure(SimTime::from_secs(5), &run, 200 * MI), None);
        // Two containers at 100Mi, one leaking 1Mi/s, limit 300Mi: the sum exceeds 300Mi when the
        // leak passes 100Mi (just after 100 s). The bound asks for a single growth of
        // ceil((100Mi+1)/2) bytes ≈ 50Mi: at 50 s + a few ns — a valid lower bound.
        let leak = Curve::constant(100 * MI).with_leak_per_sec(MI);
        let run = [
            RunningMemory { curve: &flat, start: SimTime::ZERO },
            RunningMemory { curve: &leak, start: SimTime::ZERO },
        ];
        let bound = next_possible_pressure(SimTime::ZERO, &run, 300 * MI).unwrap();
        assert!(bound > SimTime::from_secs(50) && bound < SimTime::from_secs(51), "{bound}");
        // Asked again at the bound, it moves closer: need (50Mi+1) more, all from the leaker…
        let again = next_possible_pressure(bound, &run, 300 * MI).unwrap();
        assert!(again > SimTime::from_secs(75) && again <= SimTime::from_secs(101), "{again}");
        // …and over the limit it answers "now".
        assert_eq!(
            next_possible_pressure(SimTime::from_secs(101), &run, 300 * MI),
            Some(SimTime::from_secs(101))
        );
    }
}
