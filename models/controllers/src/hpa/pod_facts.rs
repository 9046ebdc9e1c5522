//! What the replica calculator's per-pod pass reads of a pod, as one small `Copy` value.
//!
//! A reconcile classifies each target pod from a handful of fields scattered over the pod object
//! (deletion timestamp, phase, the Ready condition, start time, the container lists its request
//! is computed from). A caller that keeps its target pods between syncs can compute these
//! [`PodFacts`] once per pod version and hand them in beside the pod ([`HpaPod`]): the pass then
//! reads a contiguous array instead of following several pointers per pod. A plain `Pod` or
//! `Arc<Pod>` computes them on the spot, with the same result.

use std::borrow::Borrow;
use std::sync::Arc;

use kubesim_api::{ConditionStatus, Pod, PodConditionType, PodPhase};
use sim_core::SimTime;

use super::pod_name::PodName;

/// The fields of a pod that [`groupPods`](super::classify::group_pods)' rules and the request
/// memo read. Equal for two pods that the per-pod pass treats alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodFacts {
    /// Terminating or Failed: the pod is ignored.
    pub ignored: bool,
    /// Phase Pending.
    pub pending: bool,
    /// The Ready condition: (status is False, last transition time, zero when unset).
    pub ready_condition: Option<(bool, SimTime)>,
    /// `status.startTime`.
    pub start_time: Option<SimTime>,
    /// The addresses of `spec.containers` and `spec.initContainers`, when the pod's request is a
    /// function of those two lists alone (no pod-level resources): pods sharing both lists
    /// share their request.
    pub request_lists: Option<(usize, usize)>,
}

impl PodFacts {
    /// Reads the facts of `pod`.
    pub fn of(pod: &Pod) -> Self {
        PodFacts {
            ignored: pod.meta.deletion_timestamp.is_some() || pod.status.phase == PodPhase::Failed,
            pending: pod.status.phase == PodPhase::Pending,
            ready_condition: pod.condition(PodConditionType::Ready).map(|c| {
                (c.status == ConditionStatus::False, c.last_transition_time.unwrap_or(SimTime::ZERO))
            }),
            start_time: pod.status.start_time,
            request_lists: pod
                .spec
                .extras
                .resources
                .is_none()
                .then(|| (pod.spec.containers.as_ptr() as usize, pod.spec.init_containers.as_ptr() as usize)),
        }
    }
}

/// A pod as the HPA decision core takes it: anything that borrows a [`Pod`], optionally with its
/// [`PodFacts`] and name kept beside it.
pub trait HpaPod: Borrow<Pod> {
    /// The pod's facts (computed from the pod unless the implementor keeps them).
    fn facts(&self) -> PodFacts {
        PodFacts::of(self.borrow())
    }

    /// The pod's name (`metadata.name`).
    fn name(&self) -> &str {
        &self.borrow().meta.name
    }
}

impl HpaPod for Pod {}
impl HpaPod for Arc<Pod> {}
impl HpaPod for &Pod {}

/// A target pod's facts and name, read once per pod version: what a caller keeps between syncs
/// instead of the pod object. Keeping the object would keep its version alive after the pod is
/// written — a second copy of every pod while pods start — so a caller that can find the same
/// object again (the cluster's store does, while no target pod was written) keeps these and
/// pairs them with the object at each sync ([`FactPod::with_kept`]).
#[derive(Clone, Debug, PartialEq)]
pub struct KeptFacts {
    facts: PodFacts,
    /// The name, inline when short.
    name: PodName,
}

impl KeptFacts {
    /// Reads the facts and name of `pod`.
    pub fn of(pod: &Pod) -> Self {
        KeptFacts { facts: PodFacts::of(pod), name: PodName::from(pod.meta.name.as_str()) }
    }
}

/// A target pod with its facts and name copied out (so that the per-pod pass reads one array),
/// held as `P`: the pod's `Arc`, or a borrow of the object the facts were read from.
#[derive(Clone, Debug)]
pub struct FactPod<P = Arc<Pod>> {
    pod: P,
    kept: KeptFacts,
}

impl<P: Borrow<Pod>> FactPod<P> {
    /// Wraps `pod`, reading its facts now.
    pub fn new(pod: P) -> Self {
        let kept = KeptFacts::of(pod.borrow());
        FactPod { pod, kept }
    }

    /// Wraps `pod` with the facts read from this very object earlier (checked in debug builds:
    /// facts of another version would decide for a pod that is not there).
    pub fn with_kept(pod: P, kept: KeptFacts) -> Self {
        debug_assert_eq!(kept, KeptFacts::of(pod.borrow()), "facts kept for another version of the pod");
        FactPod { pod, kept }
    }

    /// The pod.
    pub fn pod(&self) -> &P {
        &self.pod
    }
}

impl<P: Borrow<Pod>> Borrow<Pod> for FactPod<P> {
    fn borrow(&self) -> &Pod {
        self.pod.borrow()
    }
}

impl<P: Borrow<Pod>> HpaPod for FactPod<P> {
    fn facts(&self) -> PodFacts {
        self.kept.facts
    }

    fn name(&self) -> &str {
        &self.kept.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpa::pod_name::INLINE_NAME_BYTES;
    use crate::hpa::testutil::ready_pod;

    #[test]
    fn a_fact_pod_carries_the_facts_its_pod_computes() {
        let pod = Arc::new(ready_pod("a", 100, SimTime::from_secs(5)));
        let kept = FactPod::new(Arc::clone(&pod));
        assert_eq!(kept.facts(), pod.facts());
        assert_eq!(HpaPod::name(&kept), "a");
        let mut long = (*pod).clone();
        long.meta.name = ("x".repeat(INLINE_NAME_BYTES + 1)).into();
        assert_eq!(HpaPod::name(&FactPod::new(Arc::new(long))), "x".repeat(INLINE_NAME_BYTES + 1));
        let f = kept.facts();
        assert!(!f.ignored && !f.pending);
        assert!(f.start_time.is_some() && f.request_lists.is_some());
        assert_eq!(f.ready_condition.map(|(is_false, _)| is_false), Some(false));
    }

    #[test]
    fn pods_sharing_container_lists_share_request_lists() {
        let a = ready_pod("a", 100, SimTime::ZERO);
        let mut b = a.clone();
        b.meta.name = "b".into();
        // Cloning a pod shares its spec (copy-on-write): same lists, same request.
        assert_eq!(PodFacts::of(&a).request_lists, PodFacts::of(&b).request_lists);
    }
}
