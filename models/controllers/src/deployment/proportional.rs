//! Proportional scaling when `spec.replicas` changes with several active ReplicaSets
//! (`sync.go :: scale`; `deployment_util.go :: FindActiveOrLatest, IsSaturated,
//! GetReplicaSetProportion, getReplicaSetFraction`).

use std::cmp::Ordering;

use kubesim_api::{Deployment, DeploymentStrategy};

use super::fenceposts::max_surge;
use super::{by_creation, spec_sum, RsSummary, ScaleAction};

/// `FindActiveOrLatest`: the only active RS, or (none active) the new RS, else the newest old
/// one; `None` when several are active.
fn active_or_latest<'a>(new: Option<&'a RsSummary>, old: &'a [RsSummary]) -> Option<&'a RsSummary> {
    let active: Vec<&RsSummary> = old.iter().chain(new).filter(|r| r.spec_replicas > 0).collect();
    match active.len() {
        0 => new.or_else(|| old.iter().max_by(|a, b| by_creation(a, b))),
        1 => Some(active[0]),
        _ => None,
    }
}

/// `IsSaturated`: the new RS already runs the full count, all available.
fn is_saturated(d: &Deployment, new: Option<&RsSummary>) -> bool {
    new.is_some_and(|rs| {
        rs.spec_replicas == d.replicas
            && rs.desired_annotation == Some(d.replicas)
            && rs.available == d.replicas
    })
}

/// `getReplicaSetFraction`: this RS's share of the new size minus its current size, rounded
/// half away from zero. `status_replicas` is `deployment.status.replicas` (the fallback when
/// the RS lacks a max-replicas annotation).
fn fraction(rs: &RsSummary, d: &Deployment, status_replicas: i32) -> i32 {
    if d.replicas == 0 {
        return -rs.spec_replicas;
    }
    let max_now = d.replicas + max_surge(d);
    let before = match rs.max_annotation {
        Some(v) if v != 0 => v,
        _ if status_replicas == 0 => return 0,
        _ => status_replicas,
    };
    let size = f64::from(rs.spec_replicas * max_now) / f64::from(before);
    size.round() as i32 - rs.spec_replicas
}

/// The resizes `scale()` performs. `status_replicas` is the deployment's `status.replicas`.
pub fn proportional_scale(
    d: &Deployment,
    new: Option<&RsSummary>,
    old: &[RsSummary],
    status_replicas: i32,
) -> Vec<ScaleAction> {
    if let Some(rs) = active_or_latest(new, old) {
        if rs.spec_replicas == d.replicas {
            return Vec::new();
        }
        return vec![ScaleAction::new(&rs.name, d.replicas)];
    }
    if is_saturated(d, new) {
        return old.iter().filter(|r| r.spec_replicas > 0).map(|r| ScaleAction::new(&r.name, 0)).collect();
    }
    if !matches!(d.strategy, DeploymentStrategy::RollingUpdate { .. }) {
        return Vec::new();
    }
    let mut active: Vec<&RsSummary> = old.iter().chain(new).filter(|r| r.spec_replicas > 0).collect();
    let owned: Vec<RsSummary> = active.iter().map(|r| (*r).clone()).collect();
    let allowed = if d.replicas > 0 { d.replicas + max_surge(d) } else { 0 };
    let to_add = allowed - spec_sum(&owned);
    match to_add.cmp(&0) {
        // Larger first; equal sizes: newer first when growing, older first when shrinking.
        Ordering::Greater => {
            active.sort_by(|a, b| b.spec_replicas.cmp(&a.spec_replicas).then_with(|| by_creation(b, a)))
        }
        Ordering::Less => {
            active.sort_by(|a, b| b.spec_replicas.cmp(&a.spec_replicas).then_with(|| by_creation(a, b)))
        }
        Ordering::Equal => {}
    }
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(active.len());
    for rs in &active {
        let mut size = rs.spec_replicas;
        if to_add != 0 && to_add != added {
            let f = fraction(rs, d, status_replicas);
            let allowed_left = to_add - added;
            let p = if to_add > 0 { f.min(allowed_left) } else { f.max(allowed_left) };
            size += p;
            added += p;
        }
        sizes.push(size);
    }
    if to_add != 0 {
        if let Some(first) = sizes.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
    }
    active
        .iter()
        .zip(sizes)
        .filter(|(rs, size)| rs.spec_replicas != *size)
        .map(|(rs, size)| ScaleAction::new(&rs.name, size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::IntOrPercent::Int;

    /// Deployment with surge/unavailable 0/0 as upstream's sync_test `newDeployment`.
    fn dep(replicas: i32) -> Deployment {
        Deployment {
            replicas,
            strategy: DeploymentStrategy::RollingUpdate { max_surge: Int(0), max_unavailable: Int(0) },
            ..Default::default()
        }
    }

    /// An RS annotated as sized for a deployment of `old_size` (max-replicas = old_size).
    fn rs(name: &str, created: u64, spec: i32, old_size: i32) -> RsSummary {
        RsSummary {
            max_annotation: Some(old_size),
            desired_annotation: Some(old_size),
            ..RsSummary::settled(name, created, spec)
        }
    }

    fn sizes(actions: &[ScaleAction], name: &str, before: i32) -> i32 {
        actions.iter().find(|a| a.name == name).map_or(before, |a| a.replicas)
    }

    #[test]
    fn a_single_active_replica_set_takes_the_whole_count() {
        let a = proportional_scale(&dep(12), Some(&rs("new", 2, 10, 10)), &[rs("old", 1, 0, 10)], 10);
        assert_eq!(a, vec![ScaleAction::new("new", 12)]);
    }

    #[test]
    fn scale_5_to_10_splits_by_current_share() {
        // old 3: round(3 × 10 / 5) − 3 = 3 → 6; new 2: round(4) − 2 = 2 → 4.
        let a = proportional_scale(&dep(10), Some(&rs("new", 2, 2, 5)), &[rs("old", 1, 3, 5)], 5);
        assert_eq!((sizes(&a, "new", 2), sizes(&a, "old", 3)), (4, 6));
    }

    #[test]
    fn scale_5_to_3_rounds_half_away_from_zero() {
        // old 3: round(1.8) − 3 = −1 → 2; new 2: round(1.2) − 2 = −1 → 1.
        let a = proportional_scale(&dep(3), Some(&rs("new", 2, 2, 5)), &[rs("old", 1, 3, 5)], 5);
        assert_eq!((sizes(&a, "new", 2), sizes(&a, "old", 3)), (1, 2));
    }

    #[test]
    fn scale_9_to_4_scales_the_larger_first() {
        // new 8: round(3.56) − 8 = −4 → 4; old 1: round(0.44) − 1 = −1 → 0.
        let a = proportional_scale(&dep(4), Some(&rs("new", 2, 8, 9)), &[rs("old", 1, 1, 9)], 9);
        assert_eq!((sizes(&a, "new", 8), sizes(&a, "old", 1)), (4, 0));
    }

    #[test]
    fn scale_7_to_10_breaks_size_ties_newer_first() {
        // a 3: round(4.29) − 3 = 1 → 4; new 2 (newer): round(2.86) − 2 = 1 → 3; b 2: 1 → 3.
        let olds = [rs("a", 1, 3, 7), rs("b", 2, 2, 7)];
        let a = proportional_scale(&dep(10), Some(&rs("new", 3, 2, 7)), &olds, 7);
        assert_eq!((sizes(&a, "new", 2), sizes(&a, "a", 3), sizes(&a, "b", 2)), (3, 4, 3));
    }

    #[test]
    fn scale_13_to_8() {
        // a 8: round(4.92) − 8 = −3 → 5; b 3: round(1.85) − 3 = −1 → 2; new 2: round(1.23) − 2 = −1 → 1.
        let olds = [rs("a", 1, 8, 13), rs("b", 2, 3, 13)];
        let a = proportional_scale(&dep(8), Some(&rs("new", 3, 2, 13)), &olds, 13);
        assert_eq!((sizes(&a, "new", 2), sizes(&a, "a", 8), sizes(&a, "b", 3)), (1, 5, 2));
    }

    #[test]
    fn leftovers_go_to_the_first_replica_set() {
        // 3 → 4 with three RSs of 1: each fraction round(4/3) − 1 = 0; the leftover 1 goes to
        // the first in order (equal sizes, growing → newest first = new).
        let olds = [rs("a", 1, 1, 3), rs("b", 2, 1, 3)];
        let a = proportional_scale(&dep(4), Some(&rs("new", 3, 1, 3)), &olds, 3);
        assert_eq!(a, vec![ScaleAction::new("new", 2)]);
    }

    #[test]
    fn scaling_to_zero_empties_every_replica_set() {
        let olds = [rs("a", 1, 3, 5)];
        let a = proportional_scale(&dep(0), Some(&rs("new", 2, 2, 5)), &olds, 5);
        assert_eq!((sizes(&a, "new", 2), sizes(&a, "a", 3)), (0, 0));
    }

    #[test]
    fn a_saturated_new_replica_set_scales_old_ones_to_zero() {
        let new = RsSummary { desired_annotation: Some(5), ..RsSummary::settled("new", 2, 5) };
        let a = proportional_scale(&dep(5), Some(&new), &[rs("old", 1, 2, 5)], 7);
        assert_eq!(a, vec![ScaleAction::new("old", 0)]);
    }
}
