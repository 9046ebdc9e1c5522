//! Deployment controller decision core (`pkg/controller/deployment`).
//!
//! | module | job |
//! |---|---|
//! | [`fenceposts`] | maxSurge / maxUnavailable resolution and rounding |
//! | [`rolling`] | one RollingUpdate step: scale the new RS up, or old RSs down (with cleanup of unhealthy replicas) |
//! | [`recreate`] | Recreate gating: old pods gone before the new RS scales |
//! | [`proportional`] | proportional scaling when `spec.replicas` changes mid-rollout |
//! | [`status`] | status sums, Available / Progressing conditions, progress deadline, pod availability |
//! | [`history`] | new-RS identification, revision numbering, revision-history cleanup |
//!
//! ReplicaSets are seen through [`RsSummary`]: name, revision, creation time, spec and status
//! counts, and the two size annotations. Decisions are lists of [`ScaleAction`]s.

pub mod fenceposts;
pub mod history;
pub mod proportional;
pub mod recreate;
pub mod rolling;
pub mod status;

use kubesim_api::ReplicaSet;
use sim_core::SimTime;

/// `deployment.kubernetes.io/revision`.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// `deployment.kubernetes.io/revision-history`.
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// `deployment.kubernetes.io/desired-replicas`.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// `deployment.kubernetes.io/max-replicas`.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";

/// What the deployment controller needs to know about one of its ReplicaSets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RsSummary {
    /// Name (unique within the deployment; the final tie-break of every ordering).
    pub name: String,
    /// `deployment.kubernetes.io/revision` (0 if absent or invalid).
    pub revision: i64,
    /// `metadata.creationTimestamp`.
    pub created: SimTime,
    /// `spec.replicas`.
    pub spec_replicas: i32,
    /// `status.replicas`.
    pub replicas: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// `status.terminatingReplicas`.
    pub terminating: i32,
    /// `deployment.kubernetes.io/desired-replicas`.
    pub desired_annotation: Option<i32>,
    /// `deployment.kubernetes.io/max-replicas`.
    pub max_annotation: Option<i32>,
    /// `status.observedGeneration >= metadata.generation`.
    pub observed_current: bool,
    /// `metadata.deletionTimestamp` set.
    pub deleting: bool,
}

impl RsSummary {
    /// A summary with a name, creation time and spec/status replicas all equal to `replicas`
    /// (all available), as tests and fresh objects need.
    pub fn settled(name: &str, created_secs: u64, replicas: i32) -> Self {
        RsSummary {
            name: name.into(),
            created: SimTime::from_secs(created_secs),
            spec_replicas: replicas,
            replicas,
            ready: replicas,
            available: replicas,
            observed_current: true,
            ..Default::default()
        }
    }

    /// Summarizes an API ReplicaSet.
    pub fn from_replica_set(rs: &ReplicaSet) -> Self {
        let ann = |k: &str| rs.meta.annotations.get(k).and_then(|v| v.parse::<i32>().ok());
        RsSummary {
            name: rs.meta.name.to_string(),
            revision: rs.meta.annotations.get(REVISION_ANNOTATION).and_then(|v| v.parse().ok()).unwrap_or(0),
            created: rs.meta.creation_timestamp,
            spec_replicas: rs.replicas,
            replicas: rs.status.replicas,
            ready: rs.status.ready_replicas,
            available: rs.status.available_replicas,
            terminating: rs.status.terminating_replicas,
            desired_annotation: ann(DESIRED_REPLICAS_ANNOTATION),
            max_annotation: ann(MAX_REPLICAS_ANNOTATION),
            observed_current: rs.status.observed_generation >= rs.meta.generation,
            deleting: rs.meta.deletion_timestamp.is_some(),
        }
    }
}

/// `ReplicaSetsByCreationTimestamp`: older first, then by name.
pub fn by_creation(a: &RsSummary, b: &RsSummary) -> std::cmp::Ordering {
    a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name))
}

/// Σ `spec.replicas`.
pub fn spec_sum(rss: &[RsSummary]) -> i32 {
    rss.iter().map(|r| r.spec_replicas).sum()
}

/// One write: set ReplicaSet `name` to `replicas`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleAction {
    /// ReplicaSet name.
    pub name: String,
    /// New `spec.replicas`.
    pub replicas: i32,
}

impl ScaleAction {
    /// An action.
    pub fn new(name: &str, replicas: i32) -> Self {
        ScaleAction { name: name.to_string(), replicas }
    }
}
