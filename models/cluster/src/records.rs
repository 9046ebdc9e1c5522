//! The canonical event log's records: one struct per kind, fields in a fixed order.
//!
//! Every record is `{"t":<ns>,"kind":"<Kind>",...}` (see `sim_core::log`). Object names are
//! `namespace/name` strings. These kinds are a contract: reports read them, users grep them; add
//! kinds and fields, never rename.

use serde::Serialize;
use sim_core::log::BodyWriter;

/// `NodeAdded`, `NodeRemoved`.
#[derive(Debug, Serialize)]
pub struct NodeRef<'a> {
    /// Node name.
    pub node: &'a str,
}

/// `NodeCondition`: a node condition changed (Ready, MemoryPressure).
#[derive(Debug, Serialize)]
pub struct NodeConditionChanged<'a> {
    /// Node name.
    pub node: &'a str,
    /// Condition type.
    pub condition: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// Who changed it: `kubelet` or `node-lifecycle`.
    pub by: &'a str,
}

/// `NodeTainted` / `NodeUntainted`.
#[derive(Debug, Serialize)]
pub struct NodeTaint<'a> {
    /// Node name.
    pub node: &'a str,
    /// Taint key.
    pub key: &'a str,
    /// Taint effect.
    pub effect: &'a str,
}

/// `KubeletStopped` / `KubeletStarted`.
#[derive(Debug, Serialize)]
pub struct KubeletState<'a> {
    /// Node name.
    pub node: &'a str,
    /// Why (`scenario`, …).
    pub reason: &'a str,
}

/// `PodCreated`.
#[derive(Debug, Serialize)]
pub struct PodCreated<'a> {
    /// The pod.
    pub pod: &'a str,
    /// `Kind/name` of its controller, if any.
    pub owner: Option<String>,
    /// Resolved priority.
    pub priority: i32,
}

/// `PodScheduled`.
#[derive(Debug, Serialize)]
pub struct PodScheduled<'a> {
    /// The pod.
    pub pod: &'a str,
    /// The node.
    pub node: &'a str,
    /// Time since the pod was created, ns.
    pub latency_ns: u64,
}

/// `PodUnschedulable`.
#[derive(Debug, Serialize)]
pub struct PodUnschedulable<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Upstream's FitError text.
    pub message: &'a str,
}

/// `PodPreempting`: the scheduler nominated a node and chose victims.
#[derive(Debug, Serialize)]
pub struct PodPreempting<'a> {
    /// The preemptor.
    pub pod: &'a str,
    /// Nominated node.
    pub node: &'a str,
    /// Victims.
    pub victims: Vec<String>,
}

/// `PodPhase`: the pod's phase changed.
#[derive(Debug, Serialize)]
pub struct PodPhaseChanged<'a> {
    /// The pod.
    pub pod: &'a str,
    /// New phase.
    pub phase: &'a str,
    /// Status reason (`Evicted`, …), if any.
    pub reason: Option<&'a str>,
}

/// `PodReady` / `PodNotReady`.
#[derive(Debug, Serialize)]
pub struct PodReadiness<'a> {
    /// The pod.
    pub pod: &'a str,
}

/// `ContainerStarted`.
#[derive(Debug, Serialize)]
pub struct ContainerStarted<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Restarts before this start.
    pub restart_count: i32,
}

/// `ContainerTerminated`.
#[derive(Debug, Serialize)]
pub struct ContainerTerminated<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Exit code.
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`, …
    pub reason: &'a str,
}

/// `ContainerWaiting`: a container entered a waiting state worth seeing (`CrashLoopBackOff`,
/// `ImagePullBackOff`, `ErrImagePull`).
#[derive(Debug, Serialize)]
pub struct ContainerWaiting<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Reason.
    pub reason: &'a str,
}

/// `PodDeleting`: a deletionTimestamp was set.
#[derive(Debug, Serialize)]
pub struct PodDeleting<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Who asked: `replicaset`, `taint-eviction`, `preemption`, `scenario`.
    pub by: &'a str,
}

/// `PodDeleted`: the object is gone.
#[derive(Debug, Serialize)]
pub struct PodDeleted<'a> {
    /// The pod.
    pub pod: &'a str,
}

/// `PodEvicted`: the kubelet's node-pressure eviction.
#[derive(Debug, Serialize)]
pub struct PodEvicted<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Node.
    pub node: &'a str,
}

/// `ReplicaSetCreated`.
#[derive(Debug, Serialize)]
pub struct ReplicaSetCreated<'a> {
    /// The ReplicaSet.
    pub replicaset: &'a str,
    /// Owning Deployment.
    pub deployment: &'a str,
    /// Revision.
    pub revision: i64,
    /// Initial replicas.
    pub replicas: i32,
}

/// `ReplicaSetScaled`.
#[derive(Debug, Serialize)]
pub struct ReplicaSetScaled<'a> {
    /// The ReplicaSet.
    pub replicaset: &'a str,
    /// Old spec.replicas.
    pub from: i32,
    /// New spec.replicas.
    pub to: i32,
}

/// `DeploymentRolloutComplete`.
#[derive(Debug, Serialize)]
pub struct RolloutComplete<'a> {
    /// The Deployment.
    pub deployment: &'a str,
    /// Revision now fully rolled out.
    pub revision: i64,
}

/// `DeploymentUpdated`: a scenario or user changed the spec.
#[derive(Debug, Serialize)]
pub struct DeploymentUpdated<'a> {
    /// The Deployment.
    pub deployment: &'a str,
    /// `spec.replicas` after the change.
    pub replicas: i32,
    /// Generation after the change.
    pub generation: i64,
}

// ---------------------------------------------------------------- HPA, endpoints, disruption, Job, GC

/// `ObjectApplied`: an HPA, Service, PDB or Job was created or updated.
#[derive(Debug, Serialize)]
pub struct ObjectApplied<'a> {
    /// `HorizontalPodAutoscaler`, `Service`, `PodDisruptionBudget`, `Job` (not `kind`: that key
    /// names the record).
    pub object_kind: &'a str,
    /// The object.
    pub object: &'a str,
    /// Generation after the write.
    pub generation: i64,
}

/// `ObjectRejected`: a scenario action carried an invalid object (validation error).
#[derive(Debug, Serialize)]
pub struct ObjectRejected<'a> {
    /// The error, naming the object and field.
    pub error: &'a str,
}

/// One metric's line of an `HpaDecision`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HpaMetric<'a> {
    /// `Resource`, `ContainerResource`, `Pods`, `Object`, `External`.
    #[serde(rename = "type")]
    pub metric_type: &'a str,
    /// Metric name (`cpu`, `requests_per_second`).
    pub name: &'a str,
    /// Replica count this metric proposes, before stabilization and rate limits; absent on error.
    pub proposal: Option<i32>,
    /// Usage ratio before unready and missing pods are filled in.
    pub usage_ratio: f64,
    /// Current average utilization in percent (utilization targets).
    pub utilization_percent: Option<i32>,
    /// Current value in milli-units, as the HPA status reports it.
    pub value_milli: i64,
    /// Ready pods as upstream counts them.
    pub ready_pods: usize,
    /// Unready pods (Pending, or CPU samples not trusted yet).
    pub unready_pods: usize,
    /// Pods without a sample.
    pub missing_pods: usize,
    /// Terminating or Failed pods.
    pub ignored_pods: usize,
    /// Why the metric failed.
    pub error: Option<&'a str>,
}

/// `HpaDecision`: one reconcile of one HPA (every sync period).
#[derive(Debug, Serialize)]
pub struct HpaDecision<'a> {
    /// The HPA.
    pub hpa: &'a str,
    /// `scale.spec.replicas` of the target at evaluation.
    pub current_replicas: i32,
    /// What the controller wants (equal to current when nothing is written).
    pub desired_replicas: i32,
    /// Recommendation after stabilization (absent when normalization did not run).
    pub recommendation: Option<i32>,
    /// `none`, `stabilization`, `policy`, `min`, `max`, `scale-up-limit`.
    pub limited_by: &'a str,
    /// `ScalingActive` reason (`ValidMetricFound`, `FailedGetResourceMetric`, …).
    pub scaling_active: &'a str,
    /// Per metric.
    pub metrics: Vec<HpaMetric<'a>>,
}

impl HpaMetric<'_> {
    /// Writes the line as an element of the `metrics` array, byte for byte as serde writes it.
    fn write(&self, w: &mut BodyWriter<'_>) {
        w.element()
            .begin_object()
            .field_str("type", self.metric_type)
            .field_str("name", self.name)
            .field_opt_i64("proposal", self.proposal.map(i64::from))
            .field_f64("usage_ratio", self.usage_ratio)
            .field_opt_i64("utilization_percent", self.utilization_percent.map(i64::from))
            .field_i64("value_milli", self.value_milli)
            .field_u64("ready_pods", self.ready_pods as u64)
            .field_u64("unready_pods", self.unready_pods as u64)
            .field_u64("missing_pods", self.missing_pods as u64)
            .field_u64("ignored_pods", self.ignored_pods as u64)
            .field_opt_str("error", self.error)
            .end_object();
    }
}

impl HpaDecision<'_> {
    /// Writes the record's body as serde writes it (for
    /// [`EventLog::record_with`](sim_core::EventLog::record_with)).
    pub fn write_body(&self, w: &mut BodyWriter<'_>) {
        write_hpa_decision(w, self, self.metrics.iter().copied());
    }
}

/// Writes an `HpaDecision` body whose metric lines are `metrics` (`head.metrics` is not read):
/// the HPA controller writes its decision's lines without collecting them. The bytes are those
/// serde writes for `head` with `metrics` in its `metrics` field (see the tests).
pub fn write_hpa_decision<'m>(
    w: &mut BodyWriter<'_>,
    head: &HpaDecision<'_>,
    metrics: impl IntoIterator<Item = HpaMetric<'m>>,
) {
    w.field_str("hpa", head.hpa)
        .field_i64("current_replicas", head.current_replicas.into())
        .field_i64("desired_replicas", head.desired_replicas.into())
        .field_opt_i64("recommendation", head.recommendation.map(i64::from))
        .field_str("limited_by", head.limited_by)
        .field_str("scaling_active", head.scaling_active)
        .begin_array("metrics");
    for m in metrics {
        m.write(w);
    }
    w.end_array();
}

/// `HpaScaled`: the HPA wrote its target's scale subresource.
#[derive(Debug, Serialize)]
pub struct HpaScaled<'a> {
    /// The HPA.
    pub hpa: &'a str,
    /// `Kind/name` of the target.
    pub target: &'a str,
    /// Old `spec.replicas`.
    pub from: i32,
    /// New `spec.replicas`.
    pub to: i32,
    /// What bound the new count.
    pub limited_by: &'a str,
}

/// `HpaTargetMissing`: the scale target does not exist (or is not a Deployment).
#[derive(Debug, Serialize)]
pub struct HpaTargetMissing<'a> {
    /// The HPA.
    pub hpa: &'a str,
    /// `Kind/name` of the target.
    pub target: &'a str,
}

/// `EndpointsChanged`: the number of ready endpoints behind a Service changed.
#[derive(Debug, Serialize)]
pub struct EndpointsChanged<'a> {
    /// The Service.
    pub service: &'a str,
    /// Ready endpoints now.
    pub ready: usize,
}

/// `PdbStatus`: the disruption controller wrote a new status.
#[derive(Debug, Serialize)]
pub struct PdbStatus<'a> {
    /// The PodDisruptionBudget.
    pub pdb: &'a str,
    /// `expectedPods`.
    pub expected_pods: i32,
    /// `currentHealthy`.
    pub current_healthy: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: i32,
    /// The sync error when the controller failed safe (0 allowed).
    pub error: Option<String>,
}

/// `EvictionRequest`: one call of the Eviction API.
#[derive(Debug, Serialize)]
pub struct EvictionRequest<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Who called: `drain`, `scenario`.
    pub by: &'a str,
    /// HTTP status: 201 allowed, 429 budget exhausted, 403 forbidden, 500 several budgets, 404 no pod.
    pub code: u16,
    /// The budget consulted, if any.
    pub pdb: Option<&'a str>,
}

/// `NodeCordoned` / `NodeDrained`.
#[derive(Debug, Serialize)]
pub struct NodeDrain<'a> {
    /// Node name.
    pub node: &'a str,
}

/// `JobFinished`: a Job reached Complete or Failed.
#[derive(Debug, Serialize)]
pub struct JobFinished<'a> {
    /// The Job.
    pub job: &'a str,
    /// `Complete` or `Failed`.
    pub condition: &'a str,
    /// `CompletionsReached`, `BackoffLimitExceeded`, `DeadlineExceeded`.
    pub reason: &'a str,
    /// Succeeded pods.
    pub succeeded: i32,
    /// Failed pods.
    pub failed: i32,
}

/// `ObjectDeleted`: a Deployment, ReplicaSet or Job was removed from the store.
#[derive(Debug, Serialize)]
pub struct ObjectDeleted<'a> {
    /// `Deployment`, `ReplicaSet`, `Job`.
    pub object_kind: &'a str,
    /// The object.
    pub object: &'a str,
    /// `scenario` for the root, `garbage-collector` for dependents.
    pub by: &'a str,
}

/// `NodeCrashed`, `NodeRecovered`, `NodePartitioned`, `NodeHealed`: an injected node fault.
#[derive(Debug, Serialize)]
pub struct NodeFault<'a> {
    /// Node name.
    pub node: &'a str,
    /// `scenario`, `random` (the MTBF process) or `zone-outage`.
    pub reason: &'a str,
}

/// `ZoneOutage`: every node of a zone cut off for a duration.
#[derive(Debug, Serialize)]
pub struct ZoneOutage<'a> {
    /// Zone.
    pub zone: &'a str,
    /// Nodes in it.
    pub nodes: usize,
    /// Duration, ns.
    pub duration_ns: u64,
}

/// `ContainerKilled`: a scenario killed a container's process.
#[derive(Debug, Serialize)]
pub struct ContainerKilled<'a> {
    /// The pod.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// Exit code it dies with.
    pub exit_code: i32,
}

/// `ImageAvailability`: an image was removed from (or put back into) the registry.
#[derive(Debug, Serialize)]
pub struct ImageAvailability<'a> {
    /// Image reference.
    pub image: &'a str,
    /// Missing from now on.
    pub missing: bool,
}

/// `NodeStartLatency`: a node's container start latency changed (slow start).
#[derive(Debug, Serialize)]
pub struct NodeStartLatency<'a> {
    /// Node name.
    pub node: &'a str,
    /// New latency, ns.
    pub latency_ns: u64,
}

/// `ActionUnsupported`: a scenario action this node's runtime cannot carry out (a real node has
/// no adjustable start latency); the run goes on without it.
#[derive(Debug, Serialize)]
pub struct ActionUnsupported<'a> {
    /// The action.
    pub action: &'a str,
    /// Node name.
    pub node: &'a str,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sim_core::{EventLog, SimTime};

    use super::*;

    /// The bytes of `d` through serde and through the hand-written writer.
    fn both_ways(d: &HpaDecision<'_>) -> (String, String) {
        let (mut serde, mut hand) = (EventLog::new(Vec::new()), EventLog::new(Vec::new()));
        serde.record(SimTime::from_secs(15), "HpaDecision", d).unwrap();
        hand.record_with(SimTime::from_secs(15), "HpaDecision", |w| d.write_body(w)).unwrap();
        let text = |log: EventLog<Vec<u8>>| String::from_utf8(log.finish().unwrap().0).unwrap();
        (text(serde), text(hand))
    }

    fn metric<'a>(name: &'a str, usage_ratio: f64, error: Option<&'a str>) -> HpaMetric<'a> {
        HpaMetric {
            metric_type: "Resource",
            name,
            proposal: Some(120),
            usage_ratio,
            utilization_percent: None,
            value_milli: -7,
            ready_pods: 100,
            unready_pods: 1,
            missing_pods: 0,
            ignored_pods: usize::MAX,
            error,
        }
    }

    #[test]
    fn a_typical_hpa_decision_is_written_as_serde_writes_it() {
        let d = HpaDecision {
            hpa: "default/app-1",
            current_replicas: 100,
            desired_replicas: 103,
            recommendation: None,
            limited_by: "none",
            scaling_active: "ValidMetricFound",
            metrics: vec![
                metric("cpu", 1.0333333333333334, None),
                metric("memory", f64::NAN, Some("no \"metrics\"\n")),
            ],
        };
        let (serde, hand) = both_ways(&d);
        assert_eq!(hand, serde);
        assert!(hand.contains("\"usage_ratio\":1.0333333333333334,"), "{hand}");
        assert!(hand.contains("\"usage_ratio\":null,"), "NaN is null: {hand}");
    }

    /// (type, name, proposal, usage ratio, utilization, value, pod counts, error).
    type MetricParts = (String, String, Option<i32>, f64, Option<i32>, i64, [usize; 4], Option<String>);

    fn any_metric() -> impl Strategy<Value = MetricParts> {
        (
            ".*",
            ".*",
            any::<Option<i32>>(),
            prop_oneof![
                any::<f64>(),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-0.0),
                (0u32..1000).prop_map(|x| f64::from(x) / 7.0)
            ],
            any::<Option<i32>>(),
            any::<i64>(),
            any::<[usize; 4]>(),
            proptest::option::of(".*"),
        )
    }

    proptest! {
        #[test]
        fn any_hpa_decision_is_written_as_serde_writes_it(
            hpa in ".*",
            replicas in any::<(i32, i32, Option<i32>)>(),
            limited_by in ".*",
            scaling_active in ".*",
            metrics in proptest::collection::vec(any_metric(), 0..3),
        ) {
            let metrics: Vec<HpaMetric<'_>> = metrics
                .iter()
                .map(|(t, name, proposal, usage_ratio, utilization_percent, value_milli, pods, error)| HpaMetric {
                    metric_type: t,
                    name,
                    proposal: *proposal,
                    usage_ratio: *usage_ratio,
                    utilization_percent: *utilization_percent,
                    value_milli: *value_milli,
                    ready_pods: pods[0],
                    unready_pods: pods[1],
                    missing_pods: pods[2],
                    ignored_pods: pods[3],
                    error: error.as_deref(),
                })
                .collect();
            let d = HpaDecision {
                hpa: &hpa,
                current_replicas: replicas.0,
                desired_replicas: replicas.1,
                recommendation: replicas.2,
                limited_by: &limited_by,
                scaling_active: &scaling_active,
                metrics,
            };
            let (serde, hand) = both_ways(&d);
            prop_assert_eq!(hand, serde);
        }
    }
}
