//! Killing a container (`kuberuntime_container.go :: killContainer`) and exit codes.
//!
//! Grace period: the probe's `terminationGracePeriodSeconds` for liveness/startup kills, else the
//! pod's; an explicit override (eviction, force delete) wins. The preStop hook runs first, bounded
//! by the grace period; its elapsed time in whole seconds (truncated, as Go's `int64(d.Seconds())`)
//! is subtracted; the remainder is floored at 2 s unless an override was given. Then SIGTERM, and
//! SIGKILL when the remaining grace expires.

use sim_core::{SimDuration, SimTime};

/// Remaining grace never drops below this without an explicit override.
pub const MIN_GRACE_PERIOD: SimDuration = SimDuration::from_secs(2);

/// Exit code of a process killed by SIGKILL (also the kernel OOM killer).
pub const EXIT_SIGKILL: i32 = 137;
/// Exit code of a process that died of SIGTERM.
pub const EXIT_SIGTERM: i32 = 143;

/// When the signals go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillPlan {
    /// When SIGTERM is sent (after preStop).
    pub sigterm_at: SimTime,
    /// When SIGKILL is sent if the container is still running.
    pub sigkill_at: SimTime,
}

/// Plans a kill starting at `now` with `grace_period` (already the probe's or the pod's),
/// a preStop hook that would take `pre_stop` (if any) and an optional override.
pub fn plan_kill(
    now: SimTime,
    grace_period: SimDuration,
    pre_stop: Option<SimDuration>,
    grace_override: Option<SimDuration>,
) -> KillPlan {
    let mut grace_secs = grace_override.unwrap_or(grace_period).as_secs();
    let mut sigterm_at = now;
    if let Some(hook) = pre_stop {
        if grace_secs > 0 {
            let ran = hook.min(SimDuration::from_secs(grace_secs));
            sigterm_at = now.saturating_add(ran);
            grace_secs = grace_secs.saturating_sub(ran.as_secs());
        }
    }
    let remaining = match grace_override {
        Some(o) => o,
        None => SimDuration::from_secs(grace_secs).max(MIN_GRACE_PERIOD),
    };
    KillPlan { sigterm_at, sigkill_at: sigterm_at.saturating_add(remaining) }
}

/// How a container reacts to SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigtermReaction {
    /// Default disposition: dies at once with 143.
    Die,
    /// Handles it and exits with `exit_code` after `after` (graceful shutdown).
    ExitAfter {
        /// Shutdown time.
        after: SimDuration,
        /// Exit code (0 for a clean shutdown).
        exit_code: i32,
    },
    /// Ignores it; only SIGKILL stops it.
    Ignore,
}

/// How a container ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// When.
    pub at: SimTime,
    /// Exit code.
    pub exit_code: i32,
    /// The signal that killed it, if any (15 or 9).
    pub signal: Option<i32>,
}

impl Exit {
    /// Upstream `reason`: `Completed` for 0, else `Error` (OOM kills are reported separately).
    pub fn reason(&self) -> &'static str {
        if self.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        }
    }
}

/// When and how a container subject to `plan` exits.
pub fn kill_outcome(plan: &KillPlan, reaction: SigtermReaction) -> Exit {
    let killed = Exit { at: plan.sigkill_at, exit_code: EXIT_SIGKILL, signal: Some(9) };
    match reaction {
        SigtermReaction::Die => Exit { at: plan.sigterm_at, exit_code: EXIT_SIGTERM, signal: Some(15) },
        SigtermReaction::ExitAfter { after, exit_code } => {
            let at = plan.sigterm_at.saturating_add(after);
            if at < plan.sigkill_at {
                Exit { at, exit_code, signal: None }
            } else {
                killed
            }
        }
        SigtermReaction::Ignore => killed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }
    fn at(v: u64) -> SimTime {
        SimTime::from_secs(v)
    }

    #[test]
    fn default_grace_sends_sigkill_30s_after_sigterm() {
        let p = plan_kill(at(100), s(30), None, None);
        assert_eq!(p, KillPlan { sigterm_at: at(100), sigkill_at: at(130) });
        assert_eq!(
            kill_outcome(&p, SigtermReaction::Ignore),
            Exit { at: at(130), exit_code: 137, signal: Some(9) }
        );
        assert_eq!(
            kill_outcome(&p, SigtermReaction::Die),
            Exit { at: at(100), exit_code: 143, signal: Some(15) }
        );
        let clean = kill_outcome(&p, SigtermReaction::ExitAfter { after: s(5), exit_code: 0 });
        assert_eq!((clean.at, clean.exit_code, clean.reason()), (at(105), 0, "Completed"));
    }

    #[test]
    fn pre_stop_time_is_truncated_to_seconds_and_the_rest_is_floored_at_2s() {
        // 30 s grace, preStop 10.7 s: SIGTERM at 10.7 s, remaining 30 − 10 = 20 s.
        let hook = SimDuration::from_millis(10_700);
        let p = plan_kill(at(0), s(30), Some(hook), None);
        assert_eq!(p.sigterm_at, SimTime::from_millis(10_700));
        assert_eq!(p.sigkill_at, SimTime::from_millis(30_700));
        // preStop longer than grace: cut at 30 s, remaining 0 → 2 s.
        let p = plan_kill(at(0), s(30), Some(s(100)), None);
        assert_eq!(p, KillPlan { sigterm_at: at(30), sigkill_at: at(32) });
        // grace 0 → 2 s minimum.
        assert_eq!(plan_kill(at(0), SimDuration::ZERO, None, None).sigkill_at, at(2));
    }

    #[test]
    fn an_override_replaces_grace_and_skips_the_floor() {
        // Hard eviction: 1 s.
        let p = plan_kill(at(50), s(30), None, Some(s(1)));
        assert_eq!(p, KillPlan { sigterm_at: at(50), sigkill_at: at(51) });
    }

    #[test]
    fn a_slow_shutdown_is_cut_by_sigkill() {
        let p = plan_kill(at(0), s(10), None, None);
        let e = kill_outcome(&p, SigtermReaction::ExitAfter { after: s(10), exit_code: 0 });
        assert_eq!((e.at, e.exit_code, e.reason()), (at(10), 137, "Error"));
    }
}
