//! Memory: OOM kills and node-pressure eviction inputs.
//!
//! A container's working set follows a [`Curve`] of bytes over time since its start. The kernel
//! OOM-kills it at the first instant the working set would **exceed** its memory limit (exit 137,
//! reason `OOMKilled`); [`oom_time`] finds that instant exactly. At node level the kubelet's
//! eviction manager computes `memory.available = capacity − working set` and, below the hard
//! threshold (100Mi by default), evicts one pod per cycle in the order of
//! [`rank_for_memory_eviction`] (`pkg/kubelet/eviction :: rankMemoryPressure`).

use kubesim_workload::Curve;
use sim_core::{SimDuration, SimTime};

/// Exit code of an OOM-killed container (SIGKILL).
pub const OOM_EXIT_CODE: i32 = 137;
/// Container status reason of an OOM kill.
pub const OOM_REASON: &str = "OOMKilled";
pub use kubesim_kubelet::eviction::DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES;

/// The first instant `≥ from` at which a container started at `start`, whose working set follows
/// `working_set` (offsets since start), exceeds `limit_bytes`. `None`: no limit, or never.
pub fn oom_time(
    working_set: &Curve,
    start: SimTime,
    limit_bytes: Option<i64>,
    from: SimTime,
) -> Option<SimTime> {
    let limit = limit_bytes?;
    let offset = from.saturating_duration_since(start);
    working_set.first_above(offset, limit).and_then(|d| start.checked_add(d))
}

/// The stepping oracle for [`oom_time`]: evaluates the working set every `step` from `from` up to
/// `horizon`. With `step` = 1 ns it is exact over its window.
pub fn oom_time_by_stepping(
    working_set: &Curve,
    start: SimTime,
    limit_bytes: Option<i64>,
    from: SimTime,
    step: SimDuration,
    horizon: SimTime,
) -> Option<SimTime> {
    let limit = limit_bytes?;
    let mut t = from.max(start);
    while t < horizon {
        if working_set.value_at(t - start) > limit {
            return Some(t);
        }
        t = t.saturating_add(step.max(SimDuration::from_nanos(1)));
    }
    None
}

/// `memory.available` for a node: capacity minus the working set of everything on it
/// (containers plus system usage), in bytes; negative when overcommitted.
pub fn memory_available(capacity_bytes: i64, working_sets: impl IntoIterator<Item = i64>) -> i64 {
    capacity_bytes.saturating_sub(working_sets.into_iter().fold(0i64, i64::saturating_add))
}

/// True when the hard threshold is crossed (`available < threshold`).
pub fn memory_pressure(available_bytes: i64, threshold_bytes: i64) -> bool {
    available_bytes < threshold_bytes
}

pub use kubesim_kubelet::eviction::{
    compare_for_memory_eviction, rank_for_memory_eviction, EvictionCandidate,
};

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_workload::Interpolation;
    use proptest::prelude::*;

    const MI: i64 = 1 << 20;

    #[test]
    fn a_leaking_container_is_oom_killed_when_it_first_exceeds_its_limit() {
        // Started at 100 s; 200Mi + 1Mi per second (1048576 B/s), limit 256Mi: over the limit when
        // the leak passes 56Mi, i.e. 56 s + 1 B / 1048576 B/s = 56 s + 953.67 ns → 954 ns.
        let ws = Curve::constant(200 * MI).with_leak_per_sec(MI);
        let start = SimTime::from_secs(100);
        let t = oom_time(&ws, start, Some(256 * MI), start).unwrap();
        assert_eq!(t, SimTime::from_secs(156) + SimDuration::from_nanos(954));
        let oracle = oom_time_by_stepping(
            &ws,
            start,
            Some(256 * MI),
            t - SimDuration::from_micros(5),
            SimDuration::from_nanos(1),
            t + SimDuration::from_secs(1),
        );
        assert_eq!(oracle, Some(t));
    }

    #[test]
    fn no_limit_or_a_flat_working_set_below_it_never_ooms() {
        let ws = Curve::constant(200 * MI);
        assert_eq!(oom_time(&ws, SimTime::ZERO, None, SimTime::ZERO), None);
        assert_eq!(oom_time(&ws, SimTime::ZERO, Some(256 * MI), SimTime::ZERO), None);
        // Exactly at the limit is not over it.
        assert_eq!(oom_time(&ws, SimTime::ZERO, Some(200 * MI), SimTime::ZERO), None);
    }

    #[test]
    fn a_step_in_the_working_set_ooms_at_the_step() {
        let ws = Curve::from_points(
            &[(SimDuration::ZERO, 100 * MI), (SimDuration::from_mins(5), 300 * MI)],
            Interpolation::Hold,
        )
        .unwrap();
        let start = SimTime::from_secs(10);
        assert_eq!(
            oom_time(&ws, start, Some(256 * MI), SimTime::from_secs(20)),
            Some(SimTime::from_secs(310))
        );
    }

    #[test]
    fn memory_available_and_the_100mi_threshold() {
        let cap = 4096 * MI;
        let avail = memory_available(cap, [1000 * MI, 2000 * MI, 1000 * MI]);
        assert_eq!(avail, 96 * MI);
        assert!(memory_pressure(avail, DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES));
        assert!(!memory_pressure(100 * MI, DEFAULT_MEMORY_AVAILABLE_THRESHOLD_BYTES));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn oom_time_matches_nanosecond_stepping(
            base in 0i64..1000, step_at in 1u64..150, step_to in 0i64..3000,
            leak in -2_000_000i64..50_000_000, limit in 0i64..4000, start in 0u64..50, from in 0u64..100,
        ) {
            let ws = Curve::from_points(
                &[(SimDuration::ZERO, base), (SimDuration::from_micros(step_at), step_to)],
                Interpolation::Linear,
            ).unwrap().with_leak_per_sec(leak);
            let start = SimTime::from_nanos(start * 1000);
            let from = SimTime::from_nanos(from * 1000);
            let horizon = SimTime::from_nanos(300_000);
            let fast = oom_time(&ws, start, Some(limit), from);
            let slow = oom_time_by_stepping(&ws, start, Some(limit), from, SimDuration::from_nanos(1), horizon);
            match slow {
                Some(t) => prop_assert_eq!(fast, Some(t)),
                None => prop_assert!(fast.is_none_or(|t| t >= horizon)),
            }
        }
    }
}
