//! Taint-based eviction timing (`taint_eviction.go :: processPodOnNode, getMinTolerationTime`)
//! and the `DefaultTolerationSeconds` admission plugin.

use kubesim_api::meta::well_known::{TAINT_NOT_READY, TAINT_UNREACHABLE};
use kubesim_api::{Pod, Taint, TaintEffect, Toleration, TolerationOperator};
use sim_core::{SimDuration, SimTime};

/// Upstream default `--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// When a pod on a node with these taints is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionTime {
    /// No NoExecute taint: nothing happens.
    NotTainted,
    /// Delete at this instant.
    At(SimTime),
    /// Every taint tolerated forever.
    Never,
}

/// `processPodOnNode`: a NoExecute taint not tolerated → now; else the smallest
/// `tolerationSeconds` among the tolerations used, counted from `seen_at` (when the controller
/// saw the taint); ≤ 0 → now; none set → never.
pub fn eviction_time(pod: &Pod, taints: &[Taint], seen_at: SimTime, now: SimTime) -> EvictionTime {
    let no_exec: Vec<&Taint> = taints.iter().filter(|t| t.effect == TaintEffect::NoExecute).collect();
    if no_exec.is_empty() {
        return EvictionTime::NotTainted;
    }
    let mut used: Vec<&Toleration> = Vec::new();
    for taint in &no_exec {
        let matching: Vec<&Toleration> =
            pod.spec.tolerations.iter().filter(|t| t.tolerates(taint, false)).collect();
        if matching.is_empty() {
            return EvictionTime::At(now);
        }
        used.extend(matching);
    }
    let min = used.iter().filter_map(|t| t.toleration_seconds).min();
    match min {
        None => EvictionTime::Never,
        Some(s) if s <= 0 => EvictionTime::At(now),
        Some(s) => {
            let at = seen_at.saturating_add(SimDuration::from_secs(s as u64));
            EvictionTime::At(if at < now { now } else { at })
        }
    }
}

/// `DefaultTolerationSeconds` admission: adds `not-ready` and `unreachable` NoExecute
/// tolerations (300 s) unless the pod already tolerates that taint with NoExecute.
pub fn add_default_tolerations(pod: &mut Pod, seconds: i64) {
    for key in [TAINT_NOT_READY, TAINT_UNREACHABLE] {
        let probe =
            Taint { key: key.into(), value: String::new(), effect: TaintEffect::NoExecute, time_added: None };
        let has = pod.spec.tolerations.iter().any(|t| {
            (t.effect.is_none() || t.effect == Some(TaintEffect::NoExecute)) && t.tolerates(&probe, false)
        });
        if !has {
            pod.spec.tolerations.push(Toleration {
                key: key.into(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some(seconds),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::health::{
        desired_no_execute_taint, unknown_detected_at, NodeHealth, NodeLifecycleConfig,
    };
    use super::*;
    use kubesim_api::ConditionStatus;

    fn taint(key: &str) -> Taint {
        Taint { key: key.into(), value: String::new(), effect: TaintEffect::NoExecute, time_added: None }
    }

    #[test]
    fn a_typical_unreachable_node_evicts_pods_50_plus_300_seconds_after_the_last_heartbeat() {
        // Last heartbeat at 1000 s; the controller sees the grace expire at its first tick after
        // 1050 s (1055 s) and taints at once (bucket full); pods carry the default 300 s.
        let h = NodeHealth {
            created: SimTime::ZERO,
            last_heartbeat: Some(SimTime::from_secs(1000)),
            reported_ready: ConditionStatus::True,
        };
        let detected = unknown_detected_at(&h, &NodeLifecycleConfig::default());
        assert_eq!(detected, SimTime::from_secs(1055));
        let t = desired_no_execute_taint(ConditionStatus::Unknown, detected).unwrap();
        let mut pod = Pod::default();
        add_default_tolerations(&mut pod, DEFAULT_TOLERATION_SECONDS);
        assert_eq!(eviction_time(&pod, &[t], detected, detected), EvictionTime::At(SimTime::from_secs(1355)));
    }

    #[test]
    fn the_smallest_used_toleration_wins_and_untolerated_taints_evict_now() {
        let now = SimTime::from_secs(100);
        let mut pod = Pod::default();
        pod.spec.tolerations.push(Toleration {
            key: "a".into(),
            operator: TolerationOperator::Exists,
            toleration_seconds: Some(60),
            ..Default::default()
        });
        pod.spec.tolerations.push(Toleration {
            key: "b".into(),
            operator: TolerationOperator::Exists,
            toleration_seconds: Some(30),
            ..Default::default()
        });
        assert_eq!(
            eviction_time(&pod, &[taint("a"), taint("b")], now, now),
            EvictionTime::At(SimTime::from_secs(130))
        );
        assert_eq!(eviction_time(&pod, &[taint("a")], now, now), EvictionTime::At(SimTime::from_secs(160)));
        assert_eq!(eviction_time(&pod, &[taint("c")], now, now), EvictionTime::At(now));
        pod.spec.tolerations[0].toleration_seconds = None;
        assert_eq!(eviction_time(&pod, &[taint("a")], now, now), EvictionTime::Never);
        pod.spec.tolerations[1].toleration_seconds = Some(0);
        assert_eq!(eviction_time(&pod, &[taint("b")], now, now), EvictionTime::At(now));
        assert_eq!(eviction_time(&pod, &[], now, now), EvictionTime::NotTainted);
    }

    #[test]
    fn admission_adds_defaults_only_when_missing() {
        let mut pod = Pod::default();
        pod.spec.tolerations.push(Toleration {
            key: TAINT_UNREACHABLE.into(),
            operator: TolerationOperator::Exists,
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: Some(5),
            ..Default::default()
        });
        add_default_tolerations(&mut pod, DEFAULT_TOLERATION_SECONDS);
        assert_eq!(pod.spec.tolerations.len(), 2);
        assert_eq!(pod.spec.tolerations[1].key, TAINT_NOT_READY);
        assert_eq!(pod.spec.tolerations[1].toleration_seconds, Some(300));
    }
}
