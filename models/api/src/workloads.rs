//! Workload objects that own pods: PriorityClass, ReplicaSet, Deployment, Job.
//! (Controllers add Service, HorizontalPodAutoscaler and PodDisruptionBudget beside these.)

use crate::meta::{Labels, ObjectMeta};
use crate::pod::{PodSpec, PreemptionPolicy};
use crate::selectors::LabelSelector;
use crate::shared::Shared;

/// A PriorityClass (`scheduling.k8s.io/v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriorityClass {
    /// Metadata (cluster-scoped: empty namespace).
    pub meta: ObjectMeta,
    /// The priority value.
    pub value: i32,
    /// Used for pods without `priorityClassName`.
    pub global_default: bool,
    /// Preemption policy given to pods of this class.
    pub preemption_policy: PreemptionPolicy,
}

/// `spec.template` of a workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTemplateSpec {
    /// Template labels and annotations.
    pub labels: Shared<Labels>,
    /// Template annotations.
    pub annotations: Shared<Labels>,
    /// Pod spec.
    pub spec: PodSpec,
}

impl PodTemplateSpec {
    /// A deterministic `pod-template-hash`: FNV-1a (32 bit) over the template's debug rendering,
    /// written in upstream's "safe" alphabet (no vowels, no look-alike digits). Equal templates give
    /// equal hashes. The value differs from upstream's, which hashes Go's dump of the Go struct.
    pub fn template_hash(&self) -> String {
        const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut hash: u32 = 0x811c_9dc5;
        for byte in format!("{self:?}").bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        hash.to_string()
            .bytes()
            .map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char)
            .collect()
    }
}

/// An integer or a percentage (`maxSurge`, `maxUnavailable`, PDB `minAvailable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute count.
    Int(i32),
    /// A percentage (0..=100 usually; more is allowed for maxSurge).
    Percent(i32),
}

impl IntOrPercent {
    /// Scales against `total`, rounding up or down as upstream's `GetScaledValueFromIntOrPercent`.
    pub fn scaled(&self, total: i32, round_up: bool) -> i32 {
        match *self {
            IntOrPercent::Int(v) => v,
            IntOrPercent::Percent(p) => {
                let num = i64::from(p) * i64::from(total);
                let v = if round_up { (num + 99).div_euclid(100) } else { num.div_euclid(100) };
                v as i32
            }
        }
    }
}

/// Deployment `spec.strategy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    /// Kill all old pods before creating new ones.
    Recreate,
    /// Rolling update with surge and unavailability bounds (defaults 25 % / 25 %).
    RollingUpdate {
        /// `maxSurge`.
        max_surge: IntOrPercent,
        /// `maxUnavailable`.
        max_unavailable: IntOrPercent,
    },
}

impl Default for DeploymentStrategy {
    fn default() -> Self {
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        }
    }
}

/// A ReplicaSet (`apps/v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSet {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// Observed status.
    pub status: ReplicaSetStatus,
}

/// `status` of a ReplicaSet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    /// Active pods.
    pub replicas: i32,
    /// Ready pods.
    pub ready_replicas: i32,
    /// Available pods.
    pub available_replicas: i32,
    /// Terminating pods.
    pub terminating_replicas: i32,
    /// Generation observed.
    pub observed_generation: i64,
}

/// A Deployment (`apps/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.strategy`.
    pub strategy: DeploymentStrategy,
    /// `spec.minReadySeconds` (default 0).
    pub min_ready_seconds: i32,
    /// `spec.revisionHistoryLimit` (default 10).
    pub revision_history_limit: Option<i32>,
    /// `spec.progressDeadlineSeconds` (default 600).
    pub progress_deadline_seconds: Option<i32>,
    /// `spec.paused`.
    pub paused: bool,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            meta: ObjectMeta::default(),
            replicas: 1,
            selector: LabelSelector::default(),
            template: PodTemplateSpec::default(),
            strategy: DeploymentStrategy::default(),
            min_ready_seconds: 0,
            revision_history_limit: Some(10),
            progress_deadline_seconds: Some(600),
            paused: false,
        }
    }
}

/// A Job (`batch/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.parallelism` (default 1).
    pub parallelism: i32,
    /// `spec.completions` (`None`: work queue, done when any pod succeeds).
    pub completions: Option<i32>,
    /// `spec.backoffLimit` (default 6).
    pub backoff_limit: i32,
    /// `spec.activeDeadlineSeconds`.
    pub active_deadline_seconds: Option<i64>,
    /// `spec.selector` (generated from the job's uid when absent).
    pub selector: LabelSelector,
    /// `spec.template` (restartPolicy OnFailure or Never).
    pub template: PodTemplateSpec,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            meta: ObjectMeta::default(),
            parallelism: 1,
            completions: Some(1),
            backoff_limit: 6,
            active_deadline_seconds: None,
            selector: LabelSelector::default(),
            template: PodTemplateSpec::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_scaling_rounds_as_upstream() {
        assert_eq!(IntOrPercent::Percent(25).scaled(10, true), 3);
        assert_eq!(IntOrPercent::Percent(25).scaled(10, false), 2);
        assert_eq!(IntOrPercent::Percent(10).scaled(5, true), 1);
        assert_eq!(IntOrPercent::Percent(10).scaled(5, false), 0);
        assert_eq!(IntOrPercent::Int(3).scaled(100, false), 3);
    }
}
