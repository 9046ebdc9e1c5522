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

/// Constant working sets at most this large are summed exactly by [`WorkingSetTally`] (a node
/// would need a million such containers to come near `i64::MAX`).
const TALLIED_MAX_BYTES: i64 = 1 << 53;

/// The working sets of a node's running containers, kept up to date as containers start and
/// stop, so that [`next_possible_pressure`] need not walk them when every one is a constant (a
/// `memory: {base: …}` workload: the usual case, where each walk would read every container's
/// curve for the answer "never").
///
/// A container whose curve is constant (`Curve::constant_value`) with a value in
/// `0..=TALLIED_MAX_BYTES` adds its value to an exact sum; any other container is counted as
/// varying, and while one runs the tally has no answer (the caller walks the containers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkingSetTally {
    /// Sum of the tallied constants (non-negative, so the saturating sum of a walk in any order
    /// is this sum capped at `i64::MAX`).
    constant_bytes: i128,
    /// Running containers not in the sum.
    varying: u64,
}

impl WorkingSetTally {
    fn tallied(curve: &Curve) -> Option<i64> {
        curve.constant_value().filter(|v| (0..=TALLIED_MAX_BYTES).contains(v))
    }

    /// A container with working set `curve` started running.
    pub fn started(&mut self, curve: &Curve) {
        match Self::tallied(curve) {
            Some(v) => self.constant_bytes += i128::from(v),
            None => self.varying += 1,
        }
    }

    /// A container with working set `curve`, counted by [`Self::started`], stopped running.
    pub fn stopped(&mut self, curve: &Curve) {
        match Self::tallied(curve) {
            Some(v) => self.constant_bytes -= i128::from(v),
            None => self.varying = self.varying.saturating_sub(1),
        }
    }

    /// What [`next_possible_pressure`] answers for the running containers at `now`, when every
    /// one of them is a tallied constant; `None` (no answer) while a varying one runs.
    ///
    /// Why it is the same answer: the walk's saturating sum of non-negative values is the exact
    /// sum capped at `i64::MAX`; over the limit it answers `now`; otherwise each container must
    /// grow by at least one byte, which a constant never does (and below `i64::MAX` the level it
    /// must reach is above its value), so it answers `None`.
    pub fn next_possible_pressure(&self, now: SimTime, limit_bytes: i64) -> Option<Option<SimTime>> {
        if self.varying > 0 {
            return None;
        }
        let total = i64::try_from(self.constant_bytes).unwrap_or(i64::MAX);
        Some((total > limit_bytes).then_some(now))
    }
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
    next_possible_pressure_of(now, running.iter().copied(), limit_bytes)
}

/// [`next_possible_pressure`] over the containers `running` yields (walked twice), so that a
/// caller need not collect them into a list first.
pub fn next_possible_pressure_of<'a>(
    now: SimTime,
    running: impl Iterator<Item = RunningMemory<'a>> + Clone,
    limit_bytes: i64,
) -> Option<SimTime> {
    let offset = |r: &RunningMemory<'_>| now.saturating_duration_since(r.start);
    let (total, n) = running
        .clone()
        .fold((0i64, 0i64), |(acc, n), r| (acc.saturating_add(r.curve.value_at(offset(&r))), n + 1));
    if total > limit_bytes {
        return Some(now);
    }
    if n == 0 {
        return None;
    }
    let need = limit_bytes.saturating_sub(total).saturating_add(1); // growth that brings pressure
    let per_container = (need.saturating_add(n - 1) / n).max(1); // ceil: both positive
    running
        .filter_map(|r| {
            let from = offset(&r);
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

    #[test]
    fn the_tally_answers_as_the_walk_for_constant_working_sets_and_abstains_otherwise() {
        let (a, b) = (Curve::constant(100 * MI), Curve::constant(150 * MI));
        let leak = Curve::constant(10 * MI).with_leak_per_sec(MI);
        let now = SimTime::from_secs(7);
        let mut tally = WorkingSetTally::default();
        // Nothing running: never (and "now" if the limit is already negative).
        assert_eq!(tally.next_possible_pressure(now, 0), Some(None));
        assert_eq!(tally.next_possible_pressure(now, -1), Some(Some(now)));
        tally.started(&a);
        tally.started(&b);
        let run =
            [RunningMemory { curve: &a, start: SimTime::ZERO }, RunningMemory { curve: &b, start: now }];
        // 250Mi in all: over a 249Mi limit now, never over 250Mi.
        for limit in [249 * MI, 250 * MI, 250 * MI - 1, 1 << 40] {
            assert_eq!(
                tally.next_possible_pressure(now, limit),
                Some(next_possible_pressure(now, &run, limit))
            );
        }
        assert_eq!(tally.next_possible_pressure(now, 249 * MI), Some(Some(now)));
        // A leaking container running: no answer until it stops.
        tally.started(&leak);
        assert_eq!(tally.next_possible_pressure(now, 1 << 40), None);
        tally.stopped(&leak);
        tally.stopped(&b);
        assert_eq!(tally.next_possible_pressure(now, 100 * MI - 1), Some(Some(now)));
        assert_eq!(tally.next_possible_pressure(now, 100 * MI), Some(None));
        // Negative or huge constants are not summed (a walk's saturation order would matter).
        tally.started(&Curve::constant(-5));
        assert_eq!(tally.next_possible_pressure(now, 1 << 40), None);
    }
}
