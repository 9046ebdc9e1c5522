//! One RollingUpdate sync (`rolling.go :: rolloutRolling, reconcileNewReplicaSet,
//! reconcileOldReplicaSets, cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate`).

use kubesim_api::{Deployment, DeploymentStrategy};

use super::fenceposts::max_unavailable;
use super::{by_creation, spec_sum, RsSummary, ScaleAction};

/// What one sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollingStep {
    /// The new RS was resized (up toward `spec.replicas`, or down to it).
    ScaledNew(ScaleAction),
    /// Old RSs were scaled down (unhealthy replicas first, then available ones).
    ScaledDownOld(Vec<ScaleAction>),
    /// Nothing to scale: the caller runs cleanup (if complete) and writes status.
    Idle,
}

/// `NewRSNewReplicas`: the size the new RS may grow to now. RollingUpdate: up to
/// `spec + maxSurge` pods in total, never past `spec`; Recreate: `spec`.
pub fn new_rs_new_replicas(d: &Deployment, all: &[RsSummary], new: &RsSummary) -> i32 {
    match &d.strategy {
        DeploymentStrategy::Recreate => d.replicas,
        DeploymentStrategy::RollingUpdate { max_surge, .. } => {
            let surge = max_surge.scaled(d.replicas, true);
            let current = spec_sum(all);
            let max_total = d.replicas + surge;
            if current >= max_total {
                return new.spec_replicas;
            }
            new.spec_replicas + (max_total - current).min(d.replicas - new.spec_replicas)
        }
    }
}

/// `reconcileNewReplicaSet`.
pub fn reconcile_new_replica_set(d: &Deployment, all: &[RsSummary], new: &RsSummary) -> Option<ScaleAction> {
    let target = if new.spec_replicas == d.replicas {
        return None;
    } else if new.spec_replicas > d.replicas {
        d.replicas
    } else {
        new_rs_new_replicas(d, all, new)
    };
    (target != new.spec_replicas).then(|| ScaleAction::new(&new.name, target))
}

/// `reconcileOldReplicaSets`: scale old RSs down as far as availability allows. `old` may
/// include inactive RSs; only those with `spec > 0` are touched.
pub fn reconcile_old_replica_sets(d: &Deployment, new: &RsSummary, old: &[RsSummary]) -> Vec<ScaleAction> {
    let mut old: Vec<RsSummary> = old.iter().filter(|r| r.spec_replicas > 0).cloned().collect();
    if spec_sum(&old) == 0 {
        return Vec::new();
    }
    let all_pods = spec_sum(&old) + new.spec_replicas;
    let min_available = d.replicas - max_unavailable(d);
    let new_unavailable = new.spec_replicas - new.available;
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    old.sort_by(by_creation);
    let mut actions = Vec::new();
    cleanup_unhealthy_replicas(&mut old, max_scaled_down, &mut actions);
    scale_down_for_rolling_update(d, new, &mut old, &mut actions);
    actions
}

fn record(actions: &mut Vec<ScaleAction>, name: &str, replicas: i32) {
    match actions.iter_mut().find(|a| a.name == name) {
        Some(a) => a.replicas = replicas,
        None => actions.push(ScaleAction::new(name, replicas)),
    }
}

/// Removes replicas that are not available (they cost no availability), oldest RS first, at
/// most `budget` in total.
fn cleanup_unhealthy_replicas(old: &mut [RsSummary], budget: i32, actions: &mut Vec<ScaleAction>) {
    let mut done = 0;
    for rs in old.iter_mut() {
        if done >= budget {
            break;
        }
        if rs.spec_replicas == 0 || rs.spec_replicas == rs.available {
            continue;
        }
        let n = (budget - done).min(rs.spec_replicas - rs.available);
        rs.spec_replicas -= n;
        done += n;
        record(actions, &rs.name, rs.spec_replicas);
    }
}

/// Removes available replicas down to `spec − maxUnavailable` available in total, oldest first.
fn scale_down_for_rolling_update(
    d: &Deployment,
    new: &RsSummary,
    old: &mut [RsSummary],
    actions: &mut Vec<ScaleAction>,
) {
    let min_available = d.replicas - max_unavailable(d);
    let available: i32 = old.iter().map(|r| r.available).sum::<i32>() + new.available;
    if available <= min_available {
        return;
    }
    let total = available - min_available;
    let mut done = 0;
    for rs in old.iter_mut() {
        if done >= total {
            break;
        }
        if rs.spec_replicas == 0 {
            continue;
        }
        let n = rs.spec_replicas.min(total - done);
        rs.spec_replicas -= n;
        done += n;
        record(actions, &rs.name, rs.spec_replicas);
    }
}

/// `rolloutRolling` minus the writes: scale the new RS if it needs it, else the old ones.
pub fn rolling_step(d: &Deployment, new: &RsSummary, old: &[RsSummary]) -> RollingStep {
    let mut all: Vec<RsSummary> = old.to_vec();
    all.push(new.clone());
    if let Some(a) = reconcile_new_replica_set(d, &all, new) {
        return RollingStep::ScaledNew(a);
    }
    let down = reconcile_old_replica_sets(d, new, old);
    if down.is_empty() {
        RollingStep::Idle
    } else {
        RollingStep::ScaledDownOld(down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::IntOrPercent::{self, Int};

    fn d(replicas: i32, surge: IntOrPercent, unavailable: IntOrPercent) -> Deployment {
        Deployment {
            replicas,
            strategy: DeploymentStrategy::RollingUpdate { max_surge: surge, max_unavailable: unavailable },
            ..Default::default()
        }
    }

    fn rs(name: &str, created: u64, spec: i32, available: i32) -> RsSummary {
        RsSummary { available, ..RsSummary::settled(name, created, spec) }
    }

    #[test]
    fn new_rs_grows_by_the_surge_room_but_not_past_spec() {
        // TestReconcileNewReplicaSet-style: spec 10, surge 2. Old 10 + new 0 = 10 < 12 → new 2.
        let dep = d(10, Int(2), Int(0));
        let new = rs("new", 2, 0, 0);
        let all = [rs("old", 1, 10, 10), new.clone()];
        assert_eq!(reconcile_new_replica_set(&dep, &all, &new), Some(ScaleAction::new("new", 2)));
        // Already at 12 pods: no room.
        let new = rs("new", 2, 2, 0);
        let all = [rs("old", 1, 10, 10), new.clone()];
        assert_eq!(reconcile_new_replica_set(&dep, &all, &new), None);
        // Old 1 + new 8: room 3, but spec − new = 2 → 10.
        let new = rs("new", 2, 8, 8);
        let all = [rs("old", 1, 1, 1), new.clone()];
        assert_eq!(reconcile_new_replica_set(&dep, &all, &new), Some(ScaleAction::new("new", 10)));
        // Over spec: scaled straight down to it.
        let new = rs("new", 2, 12, 12);
        assert_eq!(
            reconcile_new_replica_set(&dep, std::slice::from_ref(&new), &new),
            Some(ScaleAction::new("new", 10))
        );
    }

    #[test]
    fn old_replica_sets_scale_down_only_as_availability_allows() {
        // TestReconcileOldReplicaSets-style: spec 10, surge 0 (→ unavailable 1 from 0/0? no: 0/1).
        // Old 10 available, new 0: minAvailable 9, maxScaledDown = 10 − 9 − 0 = 1 → old 9.
        let dep = d(10, Int(0), Int(1));
        let new = rs("new", 2, 0, 0);
        assert_eq!(
            reconcile_old_replica_sets(&dep, &new, &[rs("old", 1, 10, 10)]),
            vec![ScaleAction::new("old", 9)]
        );
        // New RS has 1 unavailable replica: maxScaledDown = 11 − 9 − 1 = 1; available 10 > 9 → 1.
        let new = rs("new", 2, 1, 0);
        assert_eq!(
            reconcile_old_replica_sets(&dep, &new, &[rs("old", 1, 10, 10)]),
            vec![ScaleAction::new("old", 9)]
        );
        // Old 9 available, new 1 unavailable: 10 − 9 − 1 = 0 → stop.
        assert_eq!(reconcile_old_replica_sets(&dep, &new, &[rs("old", 1, 9, 9)]), vec![]);
    }

    #[test]
    fn unhealthy_old_replicas_are_removed_first_oldest_rs_first() {
        // TestCleanupUnhealthyReplicas-style: spec 10, surge 2, unavailable 2 → minAvailable 8.
        // Olds: a (older) 5 spec / 3 available, b 5 / 5; new 2 / 0.
        // maxScaledDown = 12 − 8 − 2 = 2 → cleanup takes 2 unavailable from a (→ 3);
        // then available 3 + 5 + 0 = 8 ≤ 8 → nothing more.
        let dep = d(10, Int(2), Int(2));
        let new = rs("new", 3, 2, 0);
        let olds = [rs("b", 2, 5, 5), rs("a", 1, 5, 3)];
        assert_eq!(reconcile_old_replica_sets(&dep, &new, &olds), vec![ScaleAction::new("a", 3)]);
        // With a budget of 1 only one unavailable replica goes.
        let new = rs("new", 3, 2, 1);
        let olds = [rs("b", 2, 5, 5), rs("a", 1, 4, 2)];
        // all = 11, maxScaledDown = 11 − 8 − 1 = 2: cleanup a −2 → 2; available 2+5+1 = 8 → stop.
        assert_eq!(reconcile_old_replica_sets(&dep, &new, &olds), vec![ScaleAction::new("a", 2)]);
    }

    #[test]
    fn a_whole_rollout_of_three_replicas_with_defaults_runs_in_bounded_steps() {
        // spec 3, 25 %/25 %: surge ceil(0.75) = 1, unavailable floor(0.75) = 0.
        // Pods become available at once (the RS controller and kubelet are instant here).
        let dep = d(3, IntOrPercent::Percent(25), IntOrPercent::Percent(25));
        let mut old = rs("old", 1, 3, 3);
        let mut new = rs("new", 2, 0, 0);
        let mut sizes = vec![(old.spec_replicas, new.spec_replicas)];
        for _ in 0..10 {
            match rolling_step(&dep, &new, std::slice::from_ref(&old)) {
                RollingStep::ScaledNew(a) => {
                    new.spec_replicas = a.replicas;
                    new.available = a.replicas;
                }
                RollingStep::ScaledDownOld(acts) => {
                    old.spec_replicas = acts[0].replicas;
                    old.available = acts[0].replicas;
                }
                RollingStep::Idle => break,
            }
            sizes.push((old.spec_replicas, new.spec_replicas));
            assert!(old.spec_replicas + new.spec_replicas <= 4, "surge bound");
            assert!(old.available + new.available >= 3, "availability bound");
        }
        assert_eq!(sizes, vec![(3, 0), (3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)]);
    }
}
