//! The Eviction API's budget check (`pkg/registry/core/pod/storage/eviction.go :: Create,
//! canIgnorePDB, checkAndDecrement, getPodDisruptionBudgets`).
//!
//! Order of checks:
//! 1. Terminal, Pending or already-deleting pods are deleted without consulting any budget.
//! 2. Budgets of the pod: same namespace, selector matches (nil selects nothing). None → allowed.
//!    More than one → 500 ("more than one PodDisruptionBudget").
//! 3. A not-Ready pod: with `unhealthyPodEvictionPolicy: AlwaysAllow` → allowed, no decrement;
//!    with `IfHealthyBudget` (default) → allowed without decrement when
//!    `currentHealthy ≥ desiredHealthy > 0`, else the normal check.
//! 4. `checkAndDecrement`: status not yet observed for this generation → 429; negative
//!    disruptionsAllowed → 403; more than 2000 disruptedPods → 403; 0 → 429 "Cannot evict pod as it
//!    would violate the pod's disruption budget."; else decrement and record the pod in
//!    `disruptedPods` at `now`.

use kubesim_api::disruption::{PodDisruptionBudget, UnhealthyPodEvictionPolicy};
use kubesim_api::{Pod, PodPhase};
use sim_core::SimTime;

/// `MaxDisruptedPodSize`.
pub const MAX_DISRUPTED_POD_SIZE: usize = 2000;

/// The API's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvictionDecision {
    /// 201: the pod is deleted (with its normal grace period).
    Allowed {
        /// The budget consulted and decremented, if any (its status was updated in place).
        decremented: Option<String>,
    },
    /// 429 TooManyRequests: retry later.
    TooManyRequests {
        /// The budget.
        pdb: String,
        /// The error message.
        message: String,
        /// The `DisruptionBudget` cause, when the budget is exhausted.
        cause: Option<String>,
    },
    /// 403 Forbidden.
    Forbidden {
        /// The budget.
        pdb: String,
        /// The error message.
        message: String,
    },
    /// 500: the pod is covered by several budgets.
    InternalError {
        /// The error message.
        message: String,
    },
}

impl EvictionDecision {
    /// The HTTP status code the API server answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            EvictionDecision::Allowed { .. } => 201,
            EvictionDecision::TooManyRequests { .. } => 429,
            EvictionDecision::Forbidden { .. } => 403,
            EvictionDecision::InternalError { .. } => 500,
        }
    }
}

fn can_ignore_pdb(pod: &Pod) -> bool {
    matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed | PodPhase::Pending)
        || pod.meta.deletion_timestamp.is_some()
}

/// Decides an eviction of `pod` at `now`. On an allowed eviction that consumed budget, the
/// budget's status in `pdbs` is updated in place (disruptionsAllowed − 1, `disruptedPods[pod] = now`);
/// the caller persists it and deletes the pod.
pub fn evict(pod: &Pod, pdbs: &mut [PodDisruptionBudget], now: SimTime) -> EvictionDecision {
    if can_ignore_pdb(pod) {
        return EvictionDecision::Allowed { decremented: None };
    }
    let matching: Vec<usize> = pdbs
        .iter()
        .enumerate()
        .filter(|(_, b)| b.meta.namespace == pod.meta.namespace)
        .filter(|(_, b)| b.selector.as_ref().is_some_and(|s| s.matches(&pod.meta.labels)))
        .map(|(i, _)| i)
        .collect();
    let i = match matching.as_slice() {
        [] => return EvictionDecision::Allowed { decremented: None },
        [i] => *i,
        _ => {
            return EvictionDecision::InternalError {
                message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                    .into(),
            }
        }
    };
    let pdb = &mut pdbs[i];
    let name = pdb.meta.name.to_string();
    if !pod.is_ready() {
        if pdb.unhealthy_pod_eviction_policy == UnhealthyPodEvictionPolicy::AlwaysAllow {
            return EvictionDecision::Allowed { decremented: None };
        }
        let s = &pdb.status;
        if s.current_healthy >= s.desired_healthy && s.desired_healthy > 0 {
            return EvictionDecision::Allowed { decremented: None };
        }
    }
    let s = &mut pdb.status;
    if s.observed_generation < pdb.meta.generation {
        return EvictionDecision::TooManyRequests {
            message: format!(
                "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {name} is still being processed by the server."
            ),
            pdb: name,
            cause: None,
        };
    }
    if s.disruptions_allowed < 0 {
        return EvictionDecision::Forbidden {
            pdb: name,
            message: "pdb disruptions allowed is negative".into(),
        };
    }
    if s.disrupted_pods.len() > MAX_DISRUPTED_POD_SIZE {
        return EvictionDecision::Forbidden {
            pdb: name,
            message: "DisruptedPods map too big - too many evictions not confirmed by PDB controller".into(),
        };
    }
    if s.disruptions_allowed == 0 {
        return EvictionDecision::TooManyRequests {
            message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
            cause: Some(format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                s.desired_healthy, s.current_healthy
            )),
            pdb: name,
        };
    }
    s.disruptions_allowed -= 1;
    s.disrupted_pods.insert(pod.meta.name.to_string(), now);
    EvictionDecision::Allowed { decremented: Some(name) }
}

#[cfg(test)]
mod tests {
    use kubesim_api::IntOrPercent;

    use super::super::budget::tests::{pdb, pod};
    use super::*;

    fn budget(allowed: i32, current: i32, desired: i32) -> PodDisruptionBudget {
        let mut b = pdb(Some(IntOrPercent::Int(desired)), None);
        b.status.disruptions_allowed = allowed;
        b.status.current_healthy = current;
        b.status.desired_healthy = desired;
        b
    }

    #[test]
    fn an_allowed_eviction_decrements_the_budget_and_records_the_pod() {
        let mut pdbs = [budget(1, 3, 2)];
        let now = SimTime::from_secs(42);
        let d = evict(&pod("a", "rs1", true), &mut pdbs, now);
        assert_eq!(d, EvictionDecision::Allowed { decremented: Some("web-pdb".into()) });
        assert_eq!(pdbs[0].status.disruptions_allowed, 0);
        assert_eq!(pdbs[0].status.disrupted_pods.get("a"), Some(&now));
        // The next one is refused with 429 and the upstream cause.
        let d = evict(&pod("b", "rs1", true), &mut pdbs, now);
        assert_eq!(d.status_code(), 429);
        let EvictionDecision::TooManyRequests { cause, .. } = d else { unreachable!() };
        assert_eq!(
            cause.as_deref(),
            Some("The disruption budget web-pdb needs 2 healthy pods and has 3 currently")
        );
    }

    #[test]
    fn pending_terminal_and_unbudgeted_pods_are_evicted_freely() {
        let mut pdbs = [budget(0, 2, 2)];
        let mut pending = pod("p", "rs1", false);
        pending.status.phase = PodPhase::Pending;
        assert_eq!(evict(&pending, &mut pdbs, SimTime::ZERO).status_code(), 201);
        let mut other = pod("o", "rs1", true);
        other.meta.labels.insert("app".into(), "api".into());
        assert_eq!(evict(&other, &mut pdbs, SimTime::ZERO), EvictionDecision::Allowed { decremented: None });
        assert_eq!(pdbs[0].status.disruptions_allowed, 0);
    }

    #[test]
    fn an_unready_pod_goes_when_the_budget_is_healthy_or_the_policy_always_allows() {
        let unready = pod("u", "rs1", false);
        // IfHealthyBudget: 2 healthy ≥ 2 desired → allowed without touching disruptionsAllowed (0).
        let mut pdbs = [budget(0, 2, 2)];
        assert_eq!(
            evict(&unready, &mut pdbs, SimTime::ZERO),
            EvictionDecision::Allowed { decremented: None }
        );
        // 1 healthy < 2 desired → the normal check → 429.
        let mut pdbs = [budget(0, 1, 2)];
        assert_eq!(evict(&unready, &mut pdbs, SimTime::ZERO).status_code(), 429);
        pdbs[0].unhealthy_pod_eviction_policy = UnhealthyPodEvictionPolicy::AlwaysAllow;
        assert_eq!(evict(&unready, &mut pdbs, SimTime::ZERO).status_code(), 201);
    }

    #[test]
    fn a_stale_budget_or_two_budgets_refuse_the_eviction() {
        let mut pdbs = [budget(3, 5, 2)];
        pdbs[0].meta.generation = 2;
        pdbs[0].status.observed_generation = 1;
        let d = evict(&pod("a", "rs1", true), &mut pdbs, SimTime::ZERO);
        assert!(
            matches!(&d, EvictionDecision::TooManyRequests { message, .. } if message.contains("still being processed"))
        );
        let mut two = [budget(3, 5, 2), budget(3, 5, 2)];
        assert_eq!(evict(&pod("a", "rs1", true), &mut two, SimTime::ZERO).status_code(), 500);
    }
}
