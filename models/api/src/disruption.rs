//! PodDisruptionBudget (`policy/v1`).

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::meta::ObjectMeta;
use crate::selectors::LabelSelector;
use crate::workloads::IntOrPercent;

/// `spec.unhealthyPodEvictionPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnhealthyPodEvictionPolicy {
    /// Unhealthy (not Ready) running pods may be evicted only while the budget is met (default).
    #[default]
    IfHealthyBudget,
    /// Unhealthy running pods may always be evicted.
    AlwaysAllow,
}

/// `status` of a PodDisruptionBudget, as the disruption controller writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodDisruptionBudgetStatus {
    /// `observedGeneration`.
    pub observed_generation: i64,
    /// `disruptedPods`: pod name → time the Eviction API admitted its eviction.
    pub disrupted_pods: BTreeMap<String, SimTime>,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i32,
    /// `currentHealthy`.
    pub current_healthy: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
    /// `expectedPods`.
    pub expected_pods: i32,
}

/// A PodDisruptionBudget (`policy/v1`). At most one of `min_available` and `max_unavailable` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodDisruptionBudget {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.selector`; `None` selects no pods (policy/v1: an empty selector selects all).
    pub selector: Option<LabelSelector>,
    /// `spec.minAvailable`.
    pub min_available: Option<IntOrPercent>,
    /// `spec.maxUnavailable`.
    pub max_unavailable: Option<IntOrPercent>,
    /// `spec.unhealthyPodEvictionPolicy`.
    pub unhealthy_pod_eviction_policy: UnhealthyPodEvictionPolicy,
    /// Status.
    pub status: PodDisruptionBudgetStatus,
}
