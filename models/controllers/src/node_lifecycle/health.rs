//! Heartbeats and the NoExecute taint a node should carry (`monitorNodeHealth,
//! tryUpdateNodeHealth, doNoExecuteTaintingPass`).

use kubesim_api::meta::well_known::{TAINT_NOT_READY, TAINT_UNREACHABLE};
use kubesim_api::{ConditionStatus, Taint, TaintEffect};
use sim_core::{SimDuration, SimTime};

/// Node lifecycle controller flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLifecycleConfig {
    /// `--node-monitor-period` (5 s).
    pub monitor_period: SimDuration,
    /// `--node-monitor-grace-period`: 50 s since v1.32, 40 s before.
    pub monitor_grace_period: SimDuration,
    /// `--node-startup-grace-period` (60 s): for nodes that never reported.
    pub startup_grace_period: SimDuration,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            monitor_period: SimDuration::from_secs(5),
            monitor_grace_period: SimDuration::from_secs(50),
            startup_grace_period: SimDuration::from_secs(60),
        }
    }
}

impl NodeLifecycleConfig {
    /// The pre-v1.32 defaults (40 s grace).
    pub fn before_v1_32() -> Self {
        NodeLifecycleConfig { monitor_grace_period: SimDuration::from_secs(40), ..Default::default() }
    }
}

/// What the controller knows of one node's heartbeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeHealth {
    /// Node creation time.
    pub created: SimTime,
    /// Last heartbeat (status update or Lease renewal) the controller observed; `None` if the
    /// kubelet never reported.
    pub last_heartbeat: Option<SimTime>,
    /// Ready condition as last reported by the kubelet.
    pub reported_ready: ConditionStatus,
}

/// The Ready status the controller holds at `now`: the kubelet's, or Unknown once the grace
/// period since the last heartbeat (startup grace since creation if none) has passed.
pub fn observed_ready(h: &NodeHealth, cfg: &NodeLifecycleConfig, now: SimTime) -> ConditionStatus {
    if now > grace_deadline(h, cfg) {
        ConditionStatus::Unknown
    } else {
        h.reported_ready
    }
}

/// The instant after which the node is declared Unknown (`probeTimestamp + grace < now`).
pub fn grace_deadline(h: &NodeHealth, cfg: &NodeLifecycleConfig) -> SimTime {
    match h.last_heartbeat {
        Some(t) => t.saturating_add(cfg.monitor_grace_period),
        None => h.created.saturating_add(cfg.startup_grace_period),
    }
}

/// First monitor tick (every `monitor_period` from time zero) that sees the grace expired.
pub fn unknown_detected_at(h: &NodeHealth, cfg: &NodeLifecycleConfig) -> SimTime {
    let deadline = grace_deadline(h, cfg).as_nanos();
    let period = cfg.monitor_period.as_nanos().max(1);
    SimTime::from_nanos((deadline / period + 1) * period)
}

/// The NoExecute taint a node with this Ready status should carry (`None` when Ready=True).
pub fn desired_no_execute_taint(ready: ConditionStatus, now: SimTime) -> Option<Taint> {
    let key = match ready {
        ConditionStatus::True => return None,
        ConditionStatus::False => TAINT_NOT_READY,
        ConditionStatus::Unknown => TAINT_UNREACHABLE,
    };
    Some(Taint {
        key: key.into(),
        value: String::new(),
        effect: TaintEffect::NoExecute,
        time_added: Some(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_node_turns_unknown_after_the_grace_period() {
        let h = NodeHealth {
            created: SimTime::ZERO,
            last_heartbeat: Some(SimTime::from_secs(100)),
            reported_ready: ConditionStatus::True,
        };
        let cfg = NodeLifecycleConfig::default();
        assert_eq!(observed_ready(&h, &cfg, SimTime::from_secs(150)), ConditionStatus::True);
        assert_eq!(observed_ready(&h, &cfg, SimTime::from_nanos(150_000_000_001)), ConditionStatus::Unknown);
        // Monitor ticks every 5 s: 150 s is not "after" the deadline, 155 s is.
        assert_eq!(unknown_detected_at(&h, &cfg), SimTime::from_secs(155));
        let old = NodeLifecycleConfig::before_v1_32();
        assert_eq!(unknown_detected_at(&h, &old), SimTime::from_secs(145));
        let never = NodeHealth { last_heartbeat: None, ..h };
        assert_eq!(grace_deadline(&never, &cfg), SimTime::from_secs(60));
    }

    #[test]
    fn not_ready_and_unknown_map_to_their_taints() {
        let now = SimTime::from_secs(7);
        assert_eq!(desired_no_execute_taint(ConditionStatus::False, now).unwrap().key, TAINT_NOT_READY);
        assert_eq!(desired_no_execute_taint(ConditionStatus::Unknown, now).unwrap().key, TAINT_UNREACHABLE);
        assert!(desired_no_execute_taint(ConditionStatus::True, now).is_none());
    }
}
