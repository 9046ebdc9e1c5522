//! Zone states and the tainting rate limit (`ComputeZoneState, setLimiterInZone,
//! ReducedQPSFunc, HealthyQPSFunc`; flowcontrol token bucket with burst 1).

/// Zone health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    /// Mostly healthy.
    Normal,
    /// More than 2 nodes and at least 55 % not ready.
    PartialDisruption,
    /// No ready node (and at least one not ready).
    FullDisruption,
}

/// Rate-limit flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZoneConfig {
    /// `--node-eviction-rate` (0.1 nodes/s).
    pub eviction_rate: f64,
    /// `--secondary-node-eviction-rate` (0.01 nodes/s).
    pub secondary_eviction_rate: f64,
    /// `--unhealthy-zone-threshold` (0.55).
    pub unhealthy_zone_threshold: f64,
    /// `--large-cluster-size-threshold` (50).
    pub large_cluster_size_threshold: usize,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        ZoneConfig {
            eviction_rate: 0.1,
            secondary_eviction_rate: 0.01,
            unhealthy_zone_threshold: 0.55,
            large_cluster_size_threshold: 50,
        }
    }
}

/// `ComputeZoneState` from the count of nodes whose Ready is True vs not.
pub fn zone_state(ready: usize, not_ready: usize, cfg: &ZoneConfig) -> ZoneState {
    let total = ready + not_ready;
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && (not_ready as f64) / (total.max(1) as f64) >= cfg.unhealthy_zone_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// Tainting rate of a zone in nodes per second; 0 stops tainting. `all_full` is true when every
/// zone is in FullDisruption (then the controller stops everywhere).
pub fn zone_rate(state: ZoneState, zone_size: usize, all_full: bool, cfg: &ZoneConfig) -> f64 {
    if all_full {
        return 0.0;
    }
    match state {
        ZoneState::Normal | ZoneState::FullDisruption => cfg.eviction_rate,
        ZoneState::PartialDisruption => {
            if zone_size > cfg.large_cluster_size_threshold {
                cfg.secondary_eviction_rate
            } else {
                0.0
            }
        }
    }
}

/// The zone limiters' bucket (burst 1), shared with the workqueue's rate limiter.
pub use crate::rate_limit::TokenBucket;

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimTime;

    #[test]
    fn zone_states_follow_the_threshold_and_the_more_than_two_rule() {
        let c = ZoneConfig::default();
        assert_eq!(zone_state(0, 1, &c), ZoneState::FullDisruption);
        assert_eq!(zone_state(0, 0, &c), ZoneState::Normal);
        // 2 of 3 not ready is 67 % but not more than 2 nodes.
        assert_eq!(zone_state(1, 2, &c), ZoneState::Normal);
        assert_eq!(zone_state(2, 3, &c), ZoneState::PartialDisruption); // 60 %
        assert_eq!(zone_state(3, 3, &c), ZoneState::Normal); // 50 %
    }

    #[test]
    fn partial_disruption_slows_large_zones_and_stops_small_ones() {
        let c = ZoneConfig::default();
        assert_eq!(zone_rate(ZoneState::PartialDisruption, 51, false, &c), 0.01);
        assert_eq!(zone_rate(ZoneState::PartialDisruption, 50, false, &c), 0.0);
        assert_eq!(zone_rate(ZoneState::FullDisruption, 10, false, &c), 0.1);
        assert_eq!(zone_rate(ZoneState::Normal, 10, true, &c), 0.0);
    }

    #[test]
    fn the_bucket_allows_one_node_every_ten_seconds() {
        let mut b = TokenBucket::new(0.1, SimTime::ZERO);
        assert!(b.try_accept(SimTime::ZERO));
        assert!(!b.try_accept(SimTime::from_secs(9)));
        assert!(b.try_accept(SimTime::from_secs(10)));
        // Idle for a minute: still only one token (burst 1).
        assert!(b.try_accept(SimTime::from_secs(70)));
        assert!(!b.try_accept(SimTime::from_secs(71)));
        b.swap_rate(0.0, SimTime::from_secs(71));
        assert!(!b.try_accept(SimTime::from_secs(1000)));
        assert_eq!(b.next_token_at(), None);
    }
}
