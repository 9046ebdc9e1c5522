//! Deployment status and conditions (`sync.go :: calculateStatus, syncRolloutStatus`;
//! `progress.go :: requeueStuckDeployment`; `deployment_util.go :: DeploymentComplete,
//! DeploymentProgressing, DeploymentTimedOut`) and pod availability (`pod/util.go :: IsPodAvailable`).

use kubesim_api::{ConditionStatus, Deployment, Pod, PodConditionType};
use sim_core::{SimDuration, SimTime};

use super::fenceposts::max_unavailable;
use super::RsSummary;

/// `Progressing` condition reasons.
pub mod reasons {
    /// The new RS is fully rolled out.
    pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
    /// The rollout made progress.
    pub const RS_UPDATED: &str = "ReplicaSetUpdated";
    /// No progress within `progressDeadlineSeconds`.
    pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
    /// Available=True.
    pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
    /// Available=False.
    pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
}

/// A Deployment condition (`Available` or `Progressing`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentCondition {
    /// Status.
    pub status: ConditionStatus,
    /// Reason.
    pub reason: &'static str,
    /// Last time the condition was updated (progress refreshes it).
    pub last_update: SimTime,
    /// Last time the status changed.
    pub last_transition: SimTime,
}

/// `status` of a Deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatus {
    /// `observedGeneration`.
    pub observed_generation: i64,
    /// Σ RS `status.replicas`.
    pub replicas: i32,
    /// New RS `status.replicas`.
    pub updated_replicas: i32,
    /// Σ ready.
    pub ready_replicas: i32,
    /// Σ available.
    pub available_replicas: i32,
    /// `max(0, Σ spec − available)`.
    pub unavailable_replicas: i32,
    /// `Available` condition.
    pub available: Option<DeploymentCondition>,
    /// `Progressing` condition.
    pub progressing: Option<DeploymentCondition>,
}

fn set(slot: &mut Option<DeploymentCondition>, status: ConditionStatus, reason: &'static str, now: SimTime) {
    // SetDeploymentCondition: same status and reason → untouched; same status → keep the
    // transition time.
    match slot {
        Some(c) if c.status == status && c.reason == reason => {}
        Some(c) if c.status == status => {
            *slot = Some(DeploymentCondition {
                status,
                reason,
                last_update: now,
                last_transition: c.last_transition,
            })
        }
        _ => *slot = Some(DeploymentCondition { status, reason, last_update: now, last_transition: now }),
    }
}

/// `calculateStatus`: sums over all RSs and the Available condition.
pub fn calculate_status(
    d: &Deployment,
    all: &[RsSummary],
    new: Option<&RsSummary>,
    previous: &DeploymentStatus,
    now: SimTime,
) -> DeploymentStatus {
    let available: i32 = all.iter().map(|r| r.available).sum();
    let total_spec: i32 = all.iter().map(|r| r.spec_replicas).sum();
    let mut s = DeploymentStatus {
        observed_generation: d.meta.generation,
        replicas: all.iter().map(|r| r.replicas).sum(),
        updated_replicas: new.map_or(0, |n| n.replicas),
        ready_replicas: all.iter().map(|r| r.ready).sum(),
        available_replicas: available,
        unavailable_replicas: (total_spec - available).max(0),
        available: previous.available.clone(),
        progressing: previous.progressing.clone(),
    };
    if available >= d.replicas - max_unavailable(d) {
        set(&mut s.available, ConditionStatus::True, reasons::MIN_AVAILABLE, now);
    } else {
        set(&mut s.available, ConditionStatus::False, reasons::MIN_UNAVAILABLE, now);
    }
    s
}

/// `DeploymentComplete`.
pub fn is_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    s.updated_replicas == d.replicas
        && s.replicas == d.replicas
        && s.available_replicas == d.replicas
        && s.observed_generation >= d.meta.generation
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available replicas.
pub fn is_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    new.updated_replicas > old.updated_replicas
        || (new.replicas - new.updated_replicas) < (old.replicas - old.updated_replicas)
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

fn deadline(d: &Deployment) -> Option<SimDuration> {
    match d.progress_deadline_seconds {
        Some(s) if s != i32::MAX => Some(SimDuration::from_secs(u64::try_from(s).unwrap_or(0))),
        _ => None,
    }
}

/// The result of `syncRolloutStatus`: the status to write, and when to look again so a
/// deadline fires on time (`requeueStuckDeployment`; `Some(ZERO)` = now, rate limited).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutStatus {
    /// New status.
    pub status: DeploymentStatus,
    /// Requeue delay.
    pub requeue_after: Option<SimDuration>,
}

/// `syncRolloutStatus` for an unpaused deployment. `previous` is the deployment's current status.
pub fn sync_rollout_status(
    d: &Deployment,
    all: &[RsSummary],
    new: Option<&RsSummary>,
    previous: &DeploymentStatus,
    now: SimTime,
) -> RolloutStatus {
    let mut s = calculate_status(d, all, new, previous, now);
    let Some(pds) = deadline(d) else {
        s.progressing = None;
        return RolloutStatus { status: s, requeue_after: None };
    };
    if d.paused {
        set(&mut s.progressing, ConditionStatus::Unknown, "DeploymentPaused", now);
        return RolloutStatus { status: s, requeue_after: None };
    }
    let current = previous.progressing.clone();
    let already_complete = s.replicas == s.updated_replicas
        && current.as_ref().is_some_and(|c| c.reason == reasons::NEW_RS_AVAILABLE);
    if !already_complete {
        if is_complete(d, &s) {
            set(&mut s.progressing, ConditionStatus::True, reasons::NEW_RS_AVAILABLE, now);
        } else if is_progressing(previous, &s) {
            // Progress refreshes lastUpdateTime even with an unchanged reason.
            let transition = match &current {
                Some(c) if c.status == ConditionStatus::True => c.last_transition,
                _ => now,
            };
            s.progressing = Some(DeploymentCondition {
                status: ConditionStatus::True,
                reason: reasons::RS_UPDATED,
                last_update: now,
                last_transition: transition,
            });
        } else if timed_out(&s, pds, now) {
            set(&mut s.progressing, ConditionStatus::False, reasons::TIMED_OUT, now);
        }
    }
    let requeue_after = match &current {
        Some(c) if !is_complete(d, &s) && c.reason != reasons::TIMED_OUT => {
            let at = c.last_update.saturating_add(pds);
            let after = at.saturating_duration_since(now);
            Some(if after < SimDuration::from_secs(1) {
                SimDuration::ZERO
            } else {
                after + SimDuration::from_secs(1)
            })
        }
        _ => None,
    };
    RolloutStatus { status: s, requeue_after }
}

fn timed_out(s: &DeploymentStatus, pds: SimDuration, now: SimTime) -> bool {
    match &s.progressing {
        None => false,
        Some(c) if c.reason == reasons::NEW_RS_AVAILABLE => false,
        Some(c) if c.reason == reasons::TIMED_OUT => true,
        Some(c) => c.last_update.saturating_add(pds) < now,
    }
}

/// `IsPodAvailable`: Ready, and Ready for `min_ready_seconds` (`<=` in current releases;
/// `strict_less` selects the older `<`).
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: SimTime, strict_less: bool) -> bool {
    let Some(ready) = pod.condition(PodConditionType::Ready).filter(|c| c.status == ConditionStatus::True)
    else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    let Some(since) = ready.last_transition_time else { return false };
    let at = since.saturating_add(SimDuration::from_secs(u64::try_from(min_ready_seconds).unwrap_or(0)));
    if strict_less {
        at < now
    } else {
        at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{DeploymentStrategy, IntOrPercent::Int, PodCondition};

    fn dep(replicas: i32) -> Deployment {
        Deployment {
            replicas,
            strategy: DeploymentStrategy::RollingUpdate { max_surge: Int(1), max_unavailable: Int(0) },
            ..Default::default()
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn status_sums_and_availability_condition() {
        let old = RsSummary { available: 2, ready: 2, ..RsSummary::settled("old", 1, 3) };
        let new = RsSummary { replicas: 1, ready: 0, available: 0, ..RsSummary::settled("new", 2, 1) };
        let s =
            calculate_status(&dep(3), &[old, new.clone()], Some(&new), &DeploymentStatus::default(), t(10));
        assert_eq!(
            (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas, s.unavailable_replicas),
            (4, 1, 2, 2, 2)
        );
        // 2 available < 3 − 0 → Available=False.
        assert_eq!(s.available.unwrap().status, ConditionStatus::False);
    }

    #[test]
    fn progress_deadline_times_out_after_the_last_progress_and_requeues_on_time() {
        let d = Deployment { progress_deadline_seconds: Some(600), ..dep(2) };
        let stuck = RsSummary { available: 0, ready: 0, ..RsSummary::settled("new", 2, 2) };
        // t=0: first progress (updated replicas 0 → 2) → ReplicaSetUpdated at 0.
        let r0 = sync_rollout_status(
            &d,
            std::slice::from_ref(&stuck),
            Some(&stuck),
            &DeploymentStatus::default(),
            t(0),
        );
        let c = r0.status.progressing.clone().unwrap();
        assert_eq!((c.reason, c.last_update), (reasons::RS_UPDATED, t(0)));
        // t=100: no progress → requeue at 0 + 600 − 100 + 1 = 501 s.
        let r1 = sync_rollout_status(&d, std::slice::from_ref(&stuck), Some(&stuck), &r0.status, t(100));
        assert_eq!(r1.requeue_after, Some(SimDuration::from_secs(501)));
        // t=600: not yet (strictly before).
        let r2 = sync_rollout_status(&d, std::slice::from_ref(&stuck), Some(&stuck), &r1.status, t(600));
        assert_eq!(r2.status.progressing.clone().unwrap().reason, reasons::RS_UPDATED);
        // t=601: timed out.
        let r3 = sync_rollout_status(&d, std::slice::from_ref(&stuck), Some(&stuck), &r2.status, t(601));
        assert_eq!(r3.status.progressing.clone().unwrap().reason, reasons::TIMED_OUT);
        assert_eq!(r3.status.progressing.as_ref().unwrap().status, ConditionStatus::False);
        // Pods become available later: progress flips it back, then completion.
        let done = RsSummary::settled("new", 2, 2);
        let r4 = sync_rollout_status(&d, std::slice::from_ref(&done), Some(&done), &r3.status, t(700));
        assert_eq!(r4.status.progressing.unwrap().reason, reasons::NEW_RS_AVAILABLE);
    }

    #[test]
    fn availability_waits_min_ready_seconds_with_a_version_switch() {
        let mut pod = Pod::default();
        pod.status.conditions.push(PodCondition {
            kind: PodConditionType::Ready,
            status: ConditionStatus::True,
            last_transition_time: Some(t(100)),
            reason: None,
        });
        assert!(is_pod_available(&pod, 0, t(100), false));
        assert!(!is_pod_available(&pod, 10, t(109), false));
        assert!(is_pod_available(&pod, 10, t(110), false));
        assert!(!is_pod_available(&pod, 10, t(110), true));
        assert!(is_pod_available(&pod, 10, SimTime::from_nanos(110_000_000_001), true));
    }
}
