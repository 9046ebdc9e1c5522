//! Recreate strategy (`recreate.go :: rolloutRecreate, oldPodsRunning`).

use kubesim_api::{Deployment, Pod, PodPhase};

use super::{RsSummary, ScaleAction};

/// What one Recreate sync does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecreateStep {
    /// Scale active old RSs to 0.
    ScaleDownOld(Vec<ScaleAction>),
    /// Old pods are still running: wait.
    WaitForOldPods,
    /// Scale the new RS to `spec.replicas` in one step.
    ScaleUpNew(ScaleAction),
    /// Nothing to do (rollout complete or in progress).
    Idle,
}

/// `oldPodsRunning`: an old RS still reports replicas, or an old pod is in a phase other than
/// Failed/Succeeded (terminating pods count as running until they are gone).
pub fn old_pods_running(old: &[RsSummary], old_pods: &[Pod]) -> bool {
    old.iter().any(|r| r.replicas > 0)
        || old_pods.iter().any(|p| !matches!(p.status.phase, PodPhase::Failed | PodPhase::Succeeded))
}

/// `rolloutRecreate`: old RSs down, wait until no old pod runs, then the new RS up to `spec`.
pub fn recreate_step(
    d: &Deployment,
    new: Option<&RsSummary>,
    old: &[RsSummary],
    old_pods: &[Pod],
) -> RecreateStep {
    let down: Vec<ScaleAction> =
        old.iter().filter(|r| r.spec_replicas > 0).map(|r| ScaleAction::new(&r.name, 0)).collect();
    if !down.is_empty() {
        return RecreateStep::ScaleDownOld(down);
    }
    if old_pods_running(old, old_pods) {
        return RecreateStep::WaitForOldPods;
    }
    match new {
        Some(n) if n.spec_replicas != d.replicas => {
            RecreateStep::ScaleUpNew(ScaleAction::new(&n.name, d.replicas))
        }
        _ => RecreateStep::Idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recreate_kills_everything_before_starting_the_new_replica_set() {
        let d = Deployment {
            replicas: 3,
            strategy: kubesim_api::DeploymentStrategy::Recreate,
            ..Default::default()
        };
        let new = RsSummary::settled("new", 2, 0);
        let old = RsSummary::settled("old", 1, 3);
        assert_eq!(
            recreate_step(&d, Some(&new), std::slice::from_ref(&old), &[]),
            RecreateStep::ScaleDownOld(vec![ScaleAction::new("old", 0)])
        );
        // Scaled to 0 but the RS still reports 2 pods: wait.
        let draining = RsSummary { spec_replicas: 0, replicas: 2, ..old.clone() };
        assert_eq!(recreate_step(&d, Some(&new), &[draining], &[]), RecreateStep::WaitForOldPods);
        // Status says 0 but a terminating pod is still Running: wait.
        let gone = RsSummary { spec_replicas: 0, replicas: 0, ..old };
        let mut pod = Pod::default();
        pod.status.phase = PodPhase::Running;
        assert_eq!(
            recreate_step(&d, Some(&new), std::slice::from_ref(&gone), &[pod.clone()]),
            RecreateStep::WaitForOldPods
        );
        pod.status.phase = PodPhase::Failed;
        assert_eq!(
            recreate_step(&d, Some(&new), &[gone], &[pod]),
            RecreateStep::ScaleUpNew(ScaleAction::new("new", 3))
        );
    }
}
