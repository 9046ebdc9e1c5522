//! Job controller decision core for NonIndexed Jobs (`pkg/controller/job/job_controller.go ::
//! syncJob, manageJob, pastBackoffLimitOnFailure, pastActiveDeadline, isPodFailed,
//! activePodsForRemoval`; `pkg/controller/job/backoff_utils.go`).
//!
//! One sync, in upstream's order:
//! 1. Count pods: **active** (not terminal, not deleting), **succeeded**, **failed** (phase Failed,
//!    or deleted before succeeding: podReplacementPolicy `TerminatingOrFailed`, the default without
//!    a podFailurePolicy), plus terminal pods already removed from the store.
//! 2. Failure: `failed > backoffLimit`, or (restartPolicy OnFailure) the container restarts of
//!    Running/Pending pods reach `backoffLimit` (any restart when it is 0) → Failed
//!    `BackoffLimitExceeded`; else `now − startTime ≥ activeDeadlineSeconds` → Failed
//!    `DeadlineExceeded`; else re-sync when the deadline falls. A failed Job deletes its active pods.
//! 3. Otherwise `manageJob`: `wantActive = min(completions − succeeded, parallelism)` (≥ 0), or with
//!    no completions `parallelism` until one pod succeeds, then whatever is running. Excess active
//!    pods are deleted in `ActivePods` order; missing ones created, at most 500 per sync, and only
//!    after the pod-failure backoff (10 s doubling per failure since the last success, capped at
//!    6 min, counted from the last failure).
//! 4. Complete when `succeeded ≥ completions` (work queue: `succeeded > 0`) and no pod is active
//!    after step 3.
//!
//! Simplifications (fidelity notes): Indexed completion mode, suspend, podFailurePolicy,
//! backoffLimitPerIndex, successPolicy and the FailureTarget/SuccessCriteriaMet interim conditions
//! are not modelled; the Failed/Complete condition is reported directly.

use std::cmp::Ordering;

use kubesim_api::{Job, Pod, PodPhase, RestartPolicy};
use sim_core::{SimDuration, SimTime};

use crate::replicaset::ranking::{compare_for_deletion, RankingGates};

/// `MaxPodCreateDeletePerSync`.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: i32 = 500;
/// `DefaultJobPodFailureBackOff`.
pub const POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// `MaxJobPodFailureBackOff`.
pub const MAX_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_mins(6);

/// The in-memory pod-failure backoff record of a Job (`backoffRecord`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodBackoff {
    /// Pod failures since the last success.
    pub failures_after_last_success: u32,
    /// Finish time of the last failure.
    pub last_failure_time: Option<SimTime>,
}

impl PodBackoff {
    /// Records a pod that failed at `at`.
    pub fn observe_failure(&mut self, at: SimTime) {
        self.failures_after_last_success += 1;
        self.last_failure_time = Some(self.last_failure_time.map_or(at, |t| t.max(at)));
    }

    /// Records a pod that succeeded: the failure streak restarts.
    pub fn observe_success(&mut self) {
        self.failures_after_last_success = 0;
    }

    /// The delay after the last failure: 0, 10 s, 20 s, 40 s, … capped at 6 min.
    pub fn delay(&self) -> SimDuration {
        match self.failures_after_last_success {
            0 => SimDuration::ZERO,
            n => {
                let factor = 1u64.checked_shl(n - 1).unwrap_or(u64::MAX);
                let d = POD_FAILURE_BACKOFF.saturating_mul(factor);
                if d > MAX_POD_FAILURE_BACKOFF {
                    MAX_POD_FAILURE_BACKOFF
                } else {
                    d
                }
            }
        }
    }

    /// Time left before a pod may be created (`getRemainingTime`).
    pub fn remaining(&self, now: SimTime) -> SimDuration {
        match self.last_failure_time {
            None => SimDuration::ZERO,
            Some(t) => t.saturating_add(self.delay()).saturating_duration_since(now),
        }
    }
}

/// What the controller remembers about a Job between syncs (its status and backoff record).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobTracking {
    /// `status.startTime` (set by the first sync).
    pub start_time: Option<SimTime>,
    /// Succeeded pods already counted and removed from the store.
    pub removed_succeeded: i32,
    /// Failed pods already counted and removed from the store.
    pub removed_failed: i32,
    /// Pod failure backoff.
    pub backoff: PodBackoff,
    /// A finished Job's condition (nothing more happens).
    pub finished: Option<JobCondition>,
}

/// `Complete` or `Failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobConditionType {
    /// All completions reached.
    Complete,
    /// Backoff limit or deadline exceeded.
    Failed,
}

/// A terminal Job condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCondition {
    /// Type.
    pub kind: JobConditionType,
    /// `CompletionsReached`, `BackoffLimitExceeded`, `DeadlineExceeded`.
    pub reason: &'static str,
}

/// One sync's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSync {
    /// `status.startTime`.
    pub start_time: SimTime,
    /// Active pods after this sync's creates and deletes.
    pub active: i32,
    /// Ready active pods (before this sync's changes).
    pub ready: i32,
    /// Pods being deleted.
    pub terminating: i32,
    /// Succeeded pods.
    pub succeeded: i32,
    /// Failed pods.
    pub failed: i32,
    /// Pods to create now.
    pub create: i32,
    /// Pods to delete now, in order.
    pub delete: Vec<String>,
    /// Re-sync after this long (deadline or backoff).
    pub requeue_after: Option<SimDuration>,
    /// Set when the Job finishes in this sync.
    pub condition: Option<JobCondition>,
}

fn is_terminal(p: &Pod) -> bool {
    matches!(p.status.phase, PodPhase::Succeeded | PodPhase::Failed)
}

/// `isPodFailed` with podReplacementPolicy `TerminatingOrFailed`.
pub fn is_pod_failed(p: &Pod) -> bool {
    p.status.phase == PodPhase::Failed
        || (p.meta.deletion_timestamp.is_some() && p.status.phase != PodPhase::Succeeded)
}

/// `pastBackoffLimitOnFailure`.
pub fn past_backoff_limit_on_failure(job: &Job, pods: &[Pod]) -> bool {
    if job.template.spec.restart_policy != RestartPolicy::OnFailure {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter(|p| matches!(p.status.phase, PodPhase::Running | PodPhase::Pending))
        .flat_map(|p| p.status.init_container_statuses.iter().chain(&p.status.container_statuses))
        .map(|c| c.restart_count)
        .sum();
    if job.backoff_limit == 0 {
        restarts > 0
    } else {
        restarts >= job.backoff_limit
    }
}

/// `controller.ActivePods` order (no ranks, no log buckets): first is deleted first.
fn active_pods_order(a: &Pod, b: &Pod, now: SimTime) -> Ordering {
    let plain = RankingGates { pod_deletion_cost: false, logarithmic_scale_down: false };
    compare_for_deletion(a, 0, b, 0, now, plain)
}

/// One sync of `job` over its pods.
pub fn sync_job(job: &Job, pods: &[Pod], tracking: &JobTracking, now: SimTime) -> JobSync {
    let start_time = tracking.start_time.unwrap_or(now);
    let mut active_pods: Vec<&Pod> =
        pods.iter().filter(|p| !is_terminal(p) && p.meta.deletion_timestamp.is_none()).collect();
    let mut s = JobSync {
        start_time,
        active: active_pods.len() as i32,
        ready: active_pods.iter().filter(|p| p.is_ready()).count() as i32,
        terminating: pods.iter().filter(|p| !is_terminal(p) && p.meta.deletion_timestamp.is_some()).count()
            as i32,
        succeeded: tracking.removed_succeeded
            + pods.iter().filter(|p| p.status.phase == PodPhase::Succeeded).count() as i32,
        failed: tracking.removed_failed + pods.iter().filter(|p| is_pod_failed(p)).count() as i32,
        create: 0,
        delete: Vec::new(),
        requeue_after: None,
        condition: None,
    };
    if tracking.finished.is_some() {
        return s;
    }

    let deadline =
        job.active_deadline_seconds.map(|secs| SimDuration::from_secs(u64::try_from(secs).unwrap_or(0)));
    if s.failed > job.backoff_limit || past_backoff_limit_on_failure(job, pods) {
        s.condition = Some(JobCondition { kind: JobConditionType::Failed, reason: "BackoffLimitExceeded" });
    } else if let Some(d) = deadline {
        let elapsed = now.saturating_duration_since(start_time);
        if elapsed >= d {
            s.condition = Some(JobCondition { kind: JobConditionType::Failed, reason: "DeadlineExceeded" });
        } else {
            s.requeue_after = Some(d - elapsed);
        }
    }
    if s.condition.is_some() {
        active_pods.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        s.delete = active_pods.iter().map(|p| p.meta.name.to_string()).collect();
        s.active = 0;
        return s;
    }

    // manageJob
    let active = s.active;
    let want_active = match job.completions {
        None if s.succeeded > 0 => active,
        None => job.parallelism,
        // parallelism ≥ 0 after max(0), so clamp cannot panic.
        Some(c) => (c - s.succeeded).clamp(0, job.parallelism.max(0)),
    };
    let remove = (active - want_active).clamp(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if remove > 0 {
        active_pods.sort_by(|a, b| active_pods_order(a, b, now));
        s.delete = active_pods.iter().take(remove as usize).map(|p| p.meta.name.to_string()).collect();
        s.active -= remove;
    } else if want_active > active {
        let wait = tracking.backoff.remaining(now);
        if wait > SimDuration::ZERO {
            s.requeue_after = Some(s.requeue_after.map_or(wait, |r| r.min(wait)));
        } else {
            s.create = (want_active - active).min(MAX_POD_CREATE_DELETE_PER_SYNC);
            s.active += s.create;
        }
    }

    let complete = match job.completions {
        None => s.succeeded > 0 && s.active == 0,
        Some(c) => s.succeeded >= c && s.active == 0,
    };
    if complete {
        s.condition = Some(JobCondition { kind: JobConditionType::Complete, reason: "CompletionsReached" });
        s.requeue_after = None;
    }
    s
}

#[cfg(test)]
mod tests {
    use kubesim_api::{ConditionStatus, ContainerStatus, ObjectMeta, PodCondition, PodConditionType};

    use super::*;

    fn job(completions: Option<i32>, parallelism: i32, backoff_limit: i32) -> Job {
        let mut j = Job { completions, parallelism, backoff_limit, ..Default::default() };
        j.template.spec.restart_policy = RestartPolicy::Never;
        j
    }

    fn pod(name: &str, phase: PodPhase, ready: bool) -> Pod {
        let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
        p.meta.uid = name.into();
        p.spec.node_name = Some("n1".into());
        p.status.phase = phase;
        p.status.conditions.push(PodCondition {
            kind: PodConditionType::Ready,
            status: if ready { ConditionStatus::True } else { ConditionStatus::False },
            last_transition_time: Some(SimTime::ZERO),
            reason: None,
        });
        p
    }

    fn running(n: usize) -> Vec<Pod> {
        (0..n).map(|i| pod(&format!("r{i}"), PodPhase::Running, true)).collect()
    }

    fn succeeded(n: usize) -> Vec<Pod> {
        (0..n).map(|i| pod(&format!("s{i}"), PodPhase::Succeeded, false)).collect()
    }

    const NOW: SimTime = SimTime::from_secs(1000);

    #[test]
    fn a_fresh_job_starts_parallelism_pods_and_never_more_than_remaining_completions() {
        let t = JobTracking::default();
        let s = sync_job(&job(Some(5), 2, 6), &[], &t, NOW);
        assert_eq!((s.create, s.start_time), (2, NOW));
        // 3 succeeded, 2 running: want min(5 − 3, 2) = 2 → nothing to do.
        let pods: Vec<Pod> = [succeeded(3), running(2)].concat();
        assert_eq!(sync_job(&job(Some(5), 2, 6), &pods, &t, NOW).create, 0);
        // 4 succeeded, 2 running: want 1 → delete the not-ready one first.
        let mut pods: Vec<Pod> = [succeeded(4), running(2)].concat();
        pods[5].status.conditions[0].status = ConditionStatus::False;
        let s = sync_job(&job(Some(5), 2, 6), &pods, &t, NOW);
        assert_eq!((s.delete.clone(), s.active), (vec!["r1".to_string()], 1));
    }

    #[test]
    fn reaching_completions_with_nothing_active_completes_the_job() {
        let s = sync_job(&job(Some(3), 2, 6), &succeeded(3), &JobTracking::default(), NOW);
        assert_eq!(
            s.condition,
            Some(JobCondition { kind: JobConditionType::Complete, reason: "CompletionsReached" })
        );
        // Counted-and-removed pods count too.
        let t = JobTracking { removed_succeeded: 2, ..Default::default() };
        assert!(sync_job(&job(Some(3), 2, 6), &succeeded(1), &t, NOW).condition.is_some());
    }

    #[test]
    fn a_work_queue_job_stops_creating_after_the_first_success() {
        let j = job(None, 3, 6);
        let pods: Vec<Pod> = [succeeded(1), running(2)].concat();
        let s = sync_job(&j, &pods, &JobTracking::default(), NOW);
        assert_eq!((s.create, s.delete.len(), s.condition), (0, 0, None));
        let s = sync_job(&j, &succeeded(1), &JobTracking::default(), NOW);
        assert_eq!(s.condition.map(|c| c.kind), Some(JobConditionType::Complete));
    }

    #[test]
    fn one_failure_beyond_the_backoff_limit_fails_the_job_and_deletes_active_pods() {
        let j = job(Some(5), 2, 2);
        let failed: Vec<Pod> = (0..2).map(|i| pod(&format!("f{i}"), PodPhase::Failed, false)).collect();
        let pods: Vec<Pod> = [failed.clone(), running(1)].concat();
        // 2 failures = backoffLimit: not exceeded.
        assert_eq!(sync_job(&j, &pods, &JobTracking::default(), NOW).condition, None);
        // A running pod being deleted counts as failed: 3 > 2.
        let mut deleting = pod("d", PodPhase::Running, true);
        deleting.meta.deletion_timestamp = Some(NOW);
        let pods: Vec<Pod> = [failed, running(1), vec![deleting]].concat();
        let s = sync_job(&j, &pods, &JobTracking::default(), NOW);
        assert_eq!((s.failed, s.terminating), (3, 1));
        assert_eq!(
            s.condition,
            Some(JobCondition { kind: JobConditionType::Failed, reason: "BackoffLimitExceeded" })
        );
        assert_eq!(s.delete, vec!["r0"]);
    }

    #[test]
    fn on_failure_restarts_count_against_the_backoff_limit() {
        let mut j = job(Some(1), 1, 2);
        j.template.spec.restart_policy = RestartPolicy::OnFailure;
        let mut p = pod("r", PodPhase::Running, false);
        p.status.container_statuses.push(ContainerStatus { restart_count: 1, ..Default::default() });
        assert!(!past_backoff_limit_on_failure(&j, std::slice::from_ref(&p)));
        p.status.container_statuses[0].restart_count = 2;
        assert!(past_backoff_limit_on_failure(&j, std::slice::from_ref(&p)));
        j.backoff_limit = 0;
        p.status.container_statuses[0].restart_count = 1;
        assert!(past_backoff_limit_on_failure(&j, &[p]));
    }

    #[test]
    fn the_active_deadline_requeues_then_fails_exactly_on_time() {
        let mut j = job(Some(1), 1, 6);
        j.active_deadline_seconds = Some(60);
        let t = JobTracking { start_time: Some(SimTime::from_secs(100)), ..Default::default() };
        let s = sync_job(&j, &running(1), &t, SimTime::from_secs(130));
        assert_eq!((s.requeue_after, s.condition), (Some(SimDuration::from_secs(30)), None));
        let s = sync_job(&j, &running(1), &t, SimTime::from_secs(160));
        assert_eq!(
            s.condition,
            Some(JobCondition { kind: JobConditionType::Failed, reason: "DeadlineExceeded" })
        );
        assert_eq!(s.delete, vec!["r0"]);
    }

    #[test]
    fn replacements_wait_for_the_exponential_pod_failure_backoff() {
        let mut b = PodBackoff::default();
        b.observe_failure(SimTime::from_secs(100));
        b.observe_failure(SimTime::from_secs(95));
        // Two failures: 10 s × 2 = 20 s after the latest (100 s).
        assert_eq!(b.delay(), SimDuration::from_secs(20));
        let t = JobTracking { backoff: b, ..Default::default() };
        let s = sync_job(&job(Some(3), 1, 6), &[], &t, SimTime::from_secs(110));
        assert_eq!((s.create, s.requeue_after), (0, Some(SimDuration::from_secs(10))));
        assert_eq!(sync_job(&job(Some(3), 1, 6), &[], &t, SimTime::from_secs(120)).create, 1);
        for _ in 0..10 {
            b.observe_failure(SimTime::from_secs(100));
        }
        assert_eq!(b.delay(), MAX_POD_FAILURE_BACKOFF);
        b.observe_success();
        assert_eq!(b.delay(), SimDuration::ZERO);
    }

    proptest::proptest! {
        /// After one sync the Job never runs more pods than parallelism or than the completions
        /// still missing, and never both creates and deletes.
        #[test]
        fn a_sync_never_overshoots_parallelism_or_remaining_completions(
            completions in 1i32..20, parallelism in 0i32..10, n_succeeded in 0usize..25, n_running in 0usize..15,
        ) {
            let pods: Vec<Pod> = [succeeded(n_succeeded), running(n_running)].concat();
            let s = sync_job(&job(Some(completions), parallelism, 100), &pods, &JobTracking::default(), NOW);
            proptest::prop_assert!(s.create == 0 || s.delete.is_empty());
            proptest::prop_assert!(s.active <= parallelism);
            proptest::prop_assert!(s.active <= (completions - n_succeeded as i32).max(0));
        }
    }

    #[test]
    fn at_most_500_pods_are_created_per_sync() {
        assert_eq!(sync_job(&job(None, 1200, 6), &[], &JobTracking::default(), NOW).create, 500);
    }
}
