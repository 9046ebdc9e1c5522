//! `maxSurge` / `maxUnavailable` (`deployment_util.go :: ResolveFenceposts, MaxSurge, MaxUnavailable`).

use kubesim_api::{Deployment, DeploymentStrategy, IntOrPercent};

/// Surge scaled against `desired` rounding up, unavailable rounding down; absent values count as
/// 0; if both come out 0, unavailable becomes 1 so a rollout can always progress.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrPercent>,
    max_unavailable: Option<&IntOrPercent>,
    desired: i32,
) -> (i32, i32) {
    let surge = max_surge.map_or(0, |v| v.scaled(desired, true));
    let unavailable = max_unavailable.map_or(0, |v| v.scaled(desired, false));
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

fn resolved(d: &Deployment) -> Option<(i32, i32)> {
    match &d.strategy {
        DeploymentStrategy::Recreate => None,
        DeploymentStrategy::RollingUpdate { max_surge, max_unavailable } => {
            Some(resolve_fenceposts(Some(max_surge), Some(max_unavailable), d.replicas))
        }
    }
}

/// `MaxSurge`: 0 for Recreate.
pub fn max_surge(d: &Deployment) -> i32 {
    resolved(d).map_or(0, |(s, _)| s)
}

/// `MaxUnavailable`: 0 for Recreate or zero replicas; otherwise capped at `spec.replicas`.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if d.replicas == 0 {
        return 0;
    }
    resolved(d).map_or(0, |(_, u)| u.min(d.replicas))
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntOrPercent::{Int, Percent};

    fn rolling(replicas: i32, surge: IntOrPercent, unavailable: IntOrPercent) -> Deployment {
        Deployment {
            replicas,
            strategy: DeploymentStrategy::RollingUpdate { max_surge: surge, max_unavailable: unavailable },
            ..Default::default()
        }
    }

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        // 25 %/25 % of 10: ceil(2.5) = 3, floor(2.5) = 2.
        assert_eq!(resolve_fenceposts(Some(&Percent(25)), Some(&Percent(25)), 10), (3, 2));
        // 10 %/10 % of 5 → 1/0; 1 %/1 % of 5 → 1/0.
        assert_eq!(resolve_fenceposts(Some(&Percent(10)), Some(&Percent(10)), 5), (1, 0));
        assert_eq!(resolve_fenceposts(Some(&Percent(1)), Some(&Percent(1)), 5), (1, 0));
    }

    #[test]
    fn both_zero_makes_unavailable_one() {
        assert_eq!(resolve_fenceposts(Some(&Percent(0)), Some(&Percent(1)), 5), (0, 1));
        assert_eq!(resolve_fenceposts(Some(&Int(0)), Some(&Int(0)), 5), (0, 1));
        assert_eq!(resolve_fenceposts(None, None, 5), (0, 1));
    }

    #[test]
    fn max_unavailable_is_capped_and_zero_for_recreate_or_no_replicas() {
        assert_eq!(max_unavailable(&rolling(10, Int(0), Int(1))), 1);
        assert_eq!(max_unavailable(&rolling(10, Int(0), Int(10))), 10);
        assert_eq!(max_unavailable(&rolling(1, Int(0), Int(5))), 1);
        assert_eq!(max_unavailable(&rolling(0, Int(0), Int(5))), 0);
        let recreate =
            Deployment { replicas: 3, strategy: DeploymentStrategy::Recreate, ..Default::default() };
        assert_eq!((max_unavailable(&recreate), max_surge(&recreate)), (0, 0));
        assert_eq!(max_surge(&rolling(10, Percent(25), Percent(25))), 3);
    }
}
