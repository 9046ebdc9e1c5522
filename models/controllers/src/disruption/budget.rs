//! The disruption controller's status computation (`pkg/controller/disruption/disruption.go ::
//! trySync, getExpectedPodCount, getExpectedScale, countHealthyPods, buildDisruptedPodMap,
//! updatePdbStatus`).
//!
//! * Pods: same namespace, matched by the selector (policy/v1: an empty selector selects every
//!   pod, a nil selector none).
//! * `maxUnavailable` (int or percent, percent rounded **up**) and percent `minAvailable` (rounded
//!   up) are scaled against the **expected count**: the sum of `spec.replicas` of the distinct
//!   controllers of the pods (a ReplicaSet owned by a Deployment counts as the Deployment). A pod
//!   without a controller, or with one that cannot be found, fails the sync.
//!   Integer `minAvailable` uses the number of selected pods as the expected count.
//! * `desiredHealthy = expected − maxUnavailable` (floored at 0) or `minAvailable`.
//! * `currentHealthy` counts Ready pods that are not being deleted and not in `disruptedPods`
//!   within the 2-minute deletion timeout.
//! * `disruptionsAllowed = currentHealthy − desiredHealthy`, 0 when negative or expected ≤ 0.
//! * A failed sync sets `disruptionsAllowed = 0` (upstream `failSafe`).

use std::collections::BTreeMap;

use kubesim_api::disruption::PodDisruptionBudget;
use kubesim_api::{Deployment, IntOrPercent, OwnerReference, Pod, ReplicaSet};
use sim_core::{SimDuration, SimTime};

/// How long an eviction admitted by the API stays in `disruptedPods` waiting for the pod's
/// deletion to be observed (`DeletionTimeout`).
pub const DELETION_TIMEOUT: SimDuration = SimDuration::from_mins(2);

/// Why a PDB could not be computed (the controller then fails safe: 0 disruptions allowed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PdbError {
    /// A selected pod has no controller owner reference.
    #[error("found no controller ref for pod {pod:?}")]
    NoControllerRef {
        /// Pod name.
        pod: String,
    },
    /// The pod's controller is not a known scalable kind or is missing.
    #[error("found no controllers for pod {pod:?}")]
    ControllerNotFound {
        /// Pod name.
        pod: String,
    },
}

/// The scale of the controllers pods may belong to (`finders`: ReplicaSet, ReplicaSet owned by a
/// Deployment, and any other kind with a scale subresource by uid).
#[derive(Clone, Debug, Default)]
pub struct ControllerScales {
    /// Controller uid → (uid of the controller whose scale counts, its `spec.replicas`).
    by_uid: BTreeMap<String, (String, i32)>,
}

impl ControllerScales {
    /// Builds the lookup from the store's ReplicaSets and Deployments.
    pub fn from_workloads(replica_sets: &[ReplicaSet], deployments: &[Deployment]) -> Self {
        let mut s = ControllerScales::default();
        for d in deployments {
            s.by_uid.insert(d.meta.uid.to_string(), (d.meta.uid.to_string(), d.replicas));
        }
        for rs in replica_sets {
            // `getPodReplicaSet` / `getPodDeployment`: an RS owned by a Deployment is scaled by it.
            let owner = rs
                .meta
                .controller_ref()
                .filter(|o| o.kind == "Deployment")
                .and_then(|o| deployments.iter().find(|d| d.meta.uid == o.uid));
            let entry = match owner {
                Some(d) => (d.meta.uid.to_string(), d.replicas),
                None => (rs.meta.uid.to_string(), rs.replicas),
            };
            s.by_uid.insert(rs.meta.uid.to_string(), entry);
        }
        s
    }

    /// Adds any other scalable controller (StatefulSet, a custom resource with `/scale`).
    pub fn with(mut self, uid: &str, replicas: i32) -> Self {
        self.by_uid.insert(uid.to_string(), (uid.to_string(), replicas));
        self
    }

    fn lookup(&self, owner: &OwnerReference) -> Option<&(String, i32)> {
        self.by_uid.get(&owner.uid)
    }
}

/// The status the controller writes, with when to look again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdbStatus {
    /// `expectedPods`.
    pub expected_pods: i32,
    /// `currentHealthy`.
    pub current_healthy: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i32,
    /// `disruptedPods` after dropping entries whose pod is gone, deleting, or older than the timeout.
    pub disrupted_pods: BTreeMap<String, SimTime>,
    /// The earliest time a kept `disruptedPods` entry expires (re-sync then).
    pub recheck_at: Option<SimTime>,
}

/// `getPodsForPdb`.
pub fn pods_for_pdb<'a>(pdb: &PodDisruptionBudget, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let Some(selector) = &pdb.selector else { return Vec::new() };
    pods.iter()
        .filter(|p| p.meta.namespace == pdb.meta.namespace && selector.matches(&p.meta.labels))
        .collect()
}

/// `getExpectedScale`: Σ replicas of the distinct controllers of `pods`.
fn expected_scale(pods: &[&Pod], scales: &ControllerScales) -> Result<i32, PdbError> {
    let mut controllers: BTreeMap<&str, i32> = BTreeMap::new();
    for pod in pods {
        let owner = pod
            .meta
            .controller_ref()
            .ok_or_else(|| PdbError::NoControllerRef { pod: pod.meta.name.to_string() })?;
        let (uid, replicas) = scales
            .lookup(owner)
            .ok_or_else(|| PdbError::ControllerNotFound { pod: pod.meta.name.to_string() })?;
        controllers.insert(uid.as_str(), *replicas);
    }
    Ok(controllers.values().sum())
}

/// `getExpectedPodCount`: `(expectedCount, desiredHealthy)`.
fn expected_pod_count(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    scales: &ControllerScales,
) -> Result<(i32, i32), PdbError> {
    if let Some(max_unavailable) = &pdb.max_unavailable {
        let expected = expected_scale(pods, scales)?;
        let max = max_unavailable.scaled(expected, true);
        return Ok((expected, (expected - max).max(0)));
    }
    match &pdb.min_available {
        Some(IntOrPercent::Int(n)) => Ok((pods.len() as i32, *n)),
        Some(p @ IntOrPercent::Percent(_)) => {
            let expected = expected_scale(pods, scales)?;
            Ok((expected, p.scaled(expected, true)))
        }
        // Neither set: API defaulting gives minAvailable 1 (policy/v1 validation requires one).
        None => Ok((pods.len() as i32, 1)),
    }
}

/// `buildDisruptedPodMap`.
fn disrupted_pod_map(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    now: SimTime,
) -> (BTreeMap<String, SimTime>, Option<SimTime>) {
    let mut kept = BTreeMap::new();
    let mut recheck: Option<SimTime> = None;
    for (name, at) in &pdb.status.disrupted_pods {
        let Some(pod) = pods.iter().find(|p| &p.meta.name == name) else { continue };
        if pod.meta.deletion_timestamp.is_some() {
            continue;
        }
        let expires = at.saturating_add(DELETION_TIMEOUT);
        if expires < now {
            continue;
        }
        recheck = Some(recheck.map_or(expires, |r| r.min(expires)));
        kept.insert(name.clone(), *at);
    }
    (kept, recheck)
}

/// `countHealthyPods`.
fn count_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, SimTime>, now: SimTime) -> i32 {
    pods.iter()
        .filter(|p| p.meta.deletion_timestamp.is_none())
        .filter(|p| {
            disrupted.get(p.meta.name.as_str()).is_none_or(|at| at.saturating_add(DELETION_TIMEOUT) <= now)
        })
        .filter(|p| p.is_ready())
        .count() as i32
}

/// One sync of a PDB over every pod of the store. `Err` means fail safe: the caller writes
/// `disruptionsAllowed = 0` (and a SyncFailed condition).
pub fn compute_status(
    pdb: &PodDisruptionBudget,
    all_pods: &[Pod],
    scales: &ControllerScales,
    now: SimTime,
) -> Result<PdbStatus, PdbError> {
    let pods = pods_for_pdb(pdb, all_pods);
    let (expected, desired) = expected_pod_count(pdb, &pods, scales)?;
    let (disrupted, recheck_at) = disrupted_pod_map(pdb, &pods, now);
    let healthy = count_healthy(&pods, &disrupted, now);
    let allowed = if expected <= 0 { 0 } else { (healthy - desired).max(0) };
    Ok(PdbStatus {
        expected_pods: expected,
        current_healthy: healthy,
        desired_healthy: desired,
        disruptions_allowed: allowed,
        disrupted_pods: disrupted,
        recheck_at,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use kubesim_api::{ConditionStatus, LabelSelector, ObjectMeta, PodCondition, PodConditionType, PodPhase};

    use super::*;

    pub(crate) fn pod(name: &str, owner_uid: &str, ready: bool) -> Pod {
        let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
        p.meta.labels.insert("app".into(), "web".into());
        p.meta.owner_references.push(OwnerReference {
            kind: "ReplicaSet".into(),
            name: "web-rs".into(),
            uid: owner_uid.into(),
            controller: true,
        });
        p.status.phase = PodPhase::Running;
        p.status.conditions.push(PodCondition {
            kind: PodConditionType::Ready,
            status: if ready { ConditionStatus::True } else { ConditionStatus::False },
            last_transition_time: Some(SimTime::ZERO),
            reason: None,
        });
        p
    }

    pub(crate) fn pdb(min: Option<IntOrPercent>, max: Option<IntOrPercent>) -> PodDisruptionBudget {
        PodDisruptionBudget {
            meta: ObjectMeta::named("default", "web-pdb"),
            selector: Some(LabelSelector::from_labels([("app", "web")])),
            min_available: min,
            max_unavailable: max,
            ..Default::default()
        }
    }

    fn rs(uid: &str, replicas: i32, owner: Option<&str>) -> ReplicaSet {
        let mut r = ReplicaSet { meta: ObjectMeta::named("default", uid), replicas, ..Default::default() };
        r.meta.uid = uid.into();
        if let Some(o) = owner {
            r.meta.owner_references.push(OwnerReference {
                kind: "Deployment".into(),
                name: o.into(),
                uid: o.into(),
                controller: true,
            });
        }
        r
    }

    #[test]
    fn percent_min_available_rounds_up_against_the_controller_scale() {
        // Upstream TestReplicationController: 34 % of 3 replicas → ceil(1.02) = 2 desired.
        let scales = ControllerScales::from_workloads(&[rs("rs1", 3, None)], &[]);
        let p = pdb(Some(IntOrPercent::Percent(34)), None);
        let pods = [pod("a", "rs1", true), pod("b", "rs1", true)];
        let s = compute_status(&p, &pods, &scales, SimTime::ZERO).unwrap();
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.current_healthy, s.disruptions_allowed),
            (3, 2, 2, 0)
        );
        let pods = [pod("a", "rs1", true), pod("b", "rs1", true), pod("c", "rs1", true)];
        let s = compute_status(&p, &pods, &scales, SimTime::ZERO).unwrap();
        assert_eq!(s.disruptions_allowed, 1);
    }

    #[test]
    fn max_unavailable_counts_a_deployment_once_across_its_replica_sets() {
        // Two ReplicaSets of one Deployment with 4 replicas: expected 4, maxUnavailable 25 % → 1.
        let d = Deployment {
            meta: ObjectMeta { uid: "dep".into(), ..ObjectMeta::named("default", "web") },
            replicas: 4,
            ..Default::default()
        };
        let scales =
            ControllerScales::from_workloads(&[rs("old", 1, Some("dep")), rs("new", 3, Some("dep"))], &[d]);
        let p = pdb(None, Some(IntOrPercent::Percent(25)));
        let pods =
            [pod("a", "old", true), pod("b", "new", true), pod("c", "new", true), pod("d", "new", false)];
        let s = compute_status(&p, &pods, &scales, SimTime::ZERO).unwrap();
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.current_healthy, s.disruptions_allowed),
            (4, 3, 3, 0)
        );
    }

    #[test]
    fn integer_min_available_uses_the_pod_count_and_needs_no_controller() {
        let p = pdb(Some(IntOrPercent::Int(2)), None);
        let mut orphan = pod("x", "none", true);
        orphan.meta.owner_references.clear();
        let pods = [pod("a", "rs1", true), pod("b", "rs1", true), orphan];
        let s = compute_status(&p, &pods, &ControllerScales::default(), SimTime::ZERO).unwrap();
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.current_healthy, s.disruptions_allowed),
            (3, 2, 3, 1)
        );
    }

    #[test]
    fn a_pod_without_a_controller_fails_a_percentage_budget() {
        let p = pdb(None, Some(IntOrPercent::Int(1)));
        let mut orphan = pod("x", "none", true);
        orphan.meta.owner_references.clear();
        assert_eq!(
            compute_status(&p, &[orphan], &ControllerScales::default(), SimTime::ZERO),
            Err(PdbError::NoControllerRef { pod: "x".into() })
        );
    }

    #[test]
    fn recently_disrupted_and_deleting_pods_are_not_healthy_until_the_timeout() {
        let scales = ControllerScales::default().with("rs1", 3);
        let mut p = pdb(Some(IntOrPercent::Int(1)), None);
        let mut deleting = pod("c", "rs1", true);
        deleting.meta.deletion_timestamp = Some(SimTime::from_secs(100));
        p.status.disrupted_pods.insert("a".into(), SimTime::from_secs(100));
        p.status.disrupted_pods.insert("c".into(), SimTime::from_secs(100));
        p.status.disrupted_pods.insert("gone".into(), SimTime::from_secs(100));
        let pods = [pod("a", "rs1", true), pod("b", "rs1", true), deleting];
        let s = compute_status(&p, &pods, &scales, SimTime::from_secs(150)).unwrap();
        // a: disrupted 50 s ago (< 2 min) → not healthy; c: deleting; only b is healthy.
        assert_eq!((s.current_healthy, s.disruptions_allowed), (1, 0));
        assert_eq!(s.disrupted_pods.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(s.recheck_at, Some(SimTime::from_secs(220)));
        // After the timeout the entry expires and a counts again.
        let s = compute_status(&p, &pods, &scales, SimTime::from_secs(221)).unwrap();
        assert_eq!((s.current_healthy, s.disruptions_allowed), (2, 1));
        assert!(s.disrupted_pods.is_empty());
    }

    #[test]
    fn a_nil_selector_selects_nothing_and_an_empty_one_everything() {
        let mut p = pdb(Some(IntOrPercent::Int(0)), None);
        p.selector = None;
        assert!(pods_for_pdb(&p, &[pod("a", "rs1", true)]).is_empty());
        p.selector = Some(LabelSelector::default());
        assert_eq!(pods_for_pdb(&p, &[pod("a", "rs1", true)]).len(), 1);
    }
}
