//! HorizontalPodAutoscaler (autoscaling/v2) decision core.
//!
//! | module | job |
//! |---|---|
//! | [`spec`] | HPA spec, behavior defaults, controller flags and version switches |
//! | [`samples`] | metric samples (PodMetrics, custom, external) → per-pod milli-values |
//! | [`from_api`] | `autoscaling/v2` objects and metrics API answers → [`HpaSpec`], [`MetricsSnapshot`] |
//! | [`classify`] | ready / unready / missing / ignored pods; per-pod requests |
//! | [`pod_facts`] | what the per-pod pass reads of a pod, precomputable by callers that keep pods |
//! | [`pod_name`] | pod names stored inline when short (compared for every pod of every sync) |
//! | `tally` | the same classification as counts and sums: a map-free merge-join of pods and samples |
//! | [`join`] | pods paired with served samples once, tallied per usage class while both are kept |
//! | [`calculator`] | one metric's proposal (utilization, average value, object, external) |
//! | [`state`] | the controller's in-memory recommendation and scale-event logs |
//! | [`normalize`] | stabilization windows, legacy scale-up limit, behavior policies, bounds |
//! | [`reconcile`](mod@reconcile) | one reconcile: metrics → proposal → normalization → [`Decision`] |
//!
//! Pods are passed as any [`HpaPod`](pod_facts::HpaPod) (`Pod`, `Arc<Pod>`, `&Pod`, or a
//! [`FactPod`](pod_facts::FactPod) with its facts precomputed): the reconcile only borrows them.
//!
//! The caller keeps one [`HpaState`] per HPA, calls [`reconcile()`] every sync period (15 s) with
//! the current pods and samples, writes `desired_replicas` when `rescale` is set, and then calls
//! [`commit_scale`]. A caller that also keeps the target's pods and the served PodMetrics between
//! syncs calls [`reconcile_into`] instead, with a [`join::PodSampleJoin`] rebuilt whenever either
//! changes (pods sharing a usage-class sample are then counted per class, not one by one) and its
//! last [`Decision`] to overwrite.

pub mod calculator;
pub mod classify;
pub mod from_api;
pub mod join;
pub mod normalize;
pub mod pod_facts;
pub mod pod_name;
pub mod reconcile;
pub mod samples;
pub mod spec;
pub mod state;
mod tally;

#[cfg(test)]
mod tests_calculator;
#[cfg(test)]
mod tests_controller;
#[cfg(test)]
mod tests_differential;
#[cfg(test)]
mod tests_oracle;
#[cfg(test)]
mod testutil;

pub use normalize::LimitedBy;
pub use reconcile::{
    commit_scale, reconcile, reconcile_and_commit, reconcile_into, Decision, HpaCondition, HpaConditionType,
    HpaInput, MetricDecision,
};
pub use samples::{
    ContainerMetrics, MetricsSnapshot, PodMetricValue, PodMetrics, PodMetricsList, ServedPodMetrics,
};
pub use spec::{
    Behavior, HpaControllerConfig, HpaSpec, MetricSpec, MetricType, PolicyKind, ResourceTarget, Scale,
    ScalingPolicy, ScalingRules, SelectPolicy, ValueTarget,
};
pub use state::{HpaState, Recommendation, ScaleEvent};

/// Why a metric produced no proposal. Messages follow upstream's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HpaError {
    /// The metrics API answered with no items.
    #[error("no metrics returned from {api} API")]
    NoMetricsReturned {
        /// Which API.
        api: &'static str,
    },
    /// The selector matched no pods.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// Every sample belonged to an ignored or unready pod.
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoMetricsForReadyPods,
    /// No sample matched a pod with a request.
    #[error("no metrics returned matched known pods")]
    NoMatchingMetrics,
    /// A container has no request for the resource.
    #[error("missing request for {resource} in container {container} of Pod {pod}")]
    MissingRequest {
        /// Resource.
        resource: String,
        /// Container.
        container: String,
        /// Pod.
        pod: String,
    },
    /// Pod-level requests are set but lack the resource.
    #[error("missing pod-level request for {resource} in Pod {pod}")]
    MissingPodLevelRequest {
        /// Resource.
        resource: String,
        /// Pod.
        pod: String,
    },
    /// A ContainerResource metric names a container the pod does not have.
    #[error("container {container} not found in Pod {pod}")]
    ContainerNotFound {
        /// Container.
        container: String,
        /// Pod.
        pod: String,
    },
}
