//! EndpointSlice controller decision core: which pods back a Service, with which conditions and
//! ports (`staging/src/k8s.io/endpointslice/utils.go :: podToEndpoint, ShouldPodBeInEndpoints,
//! getEndpointPorts`; `pkg/controller/endpointslice/endpointslice_controller.go :: syncService`;
//! `pkg/api/v1/pod/util.go :: FindPort`).
//!
//! * A Service without a selector is not managed (its slices are written by hand).
//! * A pod is listed when it is in the Service's namespace, matches the selector, is not terminal
//!   (Succeeded/Failed) and has an IP. Terminating pods stay listed (EndpointSlices carry
//!   `terminating`; the legacy Endpoints object drops them).
//! * Conditions: `serving = publishNotReadyAddresses || Ready`, `terminating = deletionTimestamp
//!   set`, `ready = publishNotReadyAddresses || (serving && !terminating)`.
//! * Ports are resolved per pod (a named `targetPort` looks up the container port of that name and
//!   protocol; a port that does not resolve is left out for that pod), and pods are grouped into
//!   slices by their resolved port set, at most `max_endpoints_per_slice` (100) per slice.
//!
//! Simplification (fidelity note): upstream's reconciler packs endpoints into existing slices to
//! minimise churn; here slices are rebuilt from scratch, sorted by pod name, so the *set* of
//! endpoints and their conditions match while slice membership may differ.

use std::collections::BTreeMap;

use kubesim_api::services::{Service, TargetPort};
use kubesim_api::{ContainerState, Pod, PodPhase, Protocol};

/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// One resolved port of a slice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointPort {
    /// The Service port's name.
    pub name: String,
    /// The port on the pod.
    pub port: i32,
    /// Protocol.
    pub protocol: Protocol,
}

/// One endpoint (one pod).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Pod name.
    pub pod: String,
    /// Node the pod runs on.
    pub node_name: Option<String>,
    /// `conditions.ready`: receives new traffic.
    pub ready: bool,
    /// `conditions.serving`: passes readiness (even while terminating).
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
}

/// One desired EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSlice {
    /// Resolved ports shared by every endpoint of the slice.
    pub ports: Vec<EndpointPort>,
    /// Endpoints, sorted by pod name.
    pub endpoints: Vec<Endpoint>,
}

/// A pod has an IP once bound and its sandbox is up. The API `Pod` carries no `podIP`, so this is
/// approximated as "bound and Running, or bound with a container that has started".
pub fn pod_has_ip(pod: &Pod) -> bool {
    pod.is_bound()
        && (pod.status.phase == PodPhase::Running
            || pod
                .status
                .container_statuses
                .iter()
                .any(|c| !matches!(c.state, ContainerState::Unknown | ContainerState::Waiting { .. })))
}

/// `ShouldPodBeInEndpoints(pod, includeTerminating)`.
pub fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    if matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed) {
        return false;
    }
    if !pod_has_ip(pod) {
        return false;
    }
    include_terminating || pod.meta.deletion_timestamp.is_none()
}

/// `podToEndpoint`: the endpoint's conditions.
pub fn pod_to_endpoint(pod: &Pod, service: &Service) -> Endpoint {
    let serving = service.publish_not_ready_addresses || pod.is_ready();
    let terminating = pod.meta.deletion_timestamp.is_some();
    Endpoint {
        pod: pod.meta.name.to_string(),
        node_name: pod.spec.node_name.clone(),
        ready: pod_to_endpoint_ready(pod, service),
        serving,
        terminating,
    }
}

/// `FindPort`: a numeric target port as is; a named one from the pod's containers (name and
/// protocol must match).
pub fn find_port(pod: &Pod, target: &TargetPort, protocol: Protocol) -> Option<i32> {
    match target {
        TargetPort::Number(n) => Some(*n),
        TargetPort::Name(name) => pod
            .spec
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .find(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == protocol)
            .map(|p| p.container_port),
    }
}

/// The desired slices of `service` over `pods` (every pod in the store; filtering happens here).
/// `None` when the Service has no selector (not managed by the controller).
pub fn desired_slices<P: std::borrow::Borrow<Pod>>(
    service: &Service,
    pods: &[P],
    max_endpoints_per_slice: usize,
) -> Option<Vec<EndpointSlice>> {
    let selector = service.selector.as_ref().filter(|s| !s.is_empty())?;
    let mut selected: Vec<&Pod> =
        pods.iter().map(P::borrow).filter(|p| is_listed(service, selector, p)).collect();
    selected.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let mut by_ports: BTreeMap<Vec<EndpointPort>, Vec<Endpoint>> = BTreeMap::new();
    for pod in selected {
        let ports: Vec<EndpointPort> = service
            .ports
            .iter()
            .filter_map(|sp| {
                find_port(pod, &sp.target_port, sp.protocol).map(|port| EndpointPort {
                    name: sp.name.clone(),
                    port,
                    protocol: sp.protocol,
                })
            })
            .collect();
        by_ports.entry(ports).or_default().push(pod_to_endpoint(pod, service));
    }
    let chunk = max_endpoints_per_slice.max(1);
    Some(
        by_ports
            .into_iter()
            .flat_map(|(ports, endpoints)| {
                endpoints
                    .chunks(chunk)
                    .map(|c| EndpointSlice { ports: ports.clone(), endpoints: c.to_vec() })
                    .collect::<Vec<_>>()
            })
            .collect(),
    )
}

/// Pods that receive new traffic (`ready` endpoints), sorted: what a request-rate workload spreads
/// over and what availability is measured on.
pub fn ready_pods(slices: &[EndpointSlice]) -> Vec<String> {
    let mut out: Vec<String> =
        slices.iter().flat_map(|s| &s.endpoints).filter(|e| e.ready).map(|e| e.pod.clone()).collect();
    out.sort();
    out.dedup();
    out
}

/// The names of the pods among `pods` that `service`'s slices would list as `ready`, sorted: the
/// same as [`ready_pods`] of [`desired_slices`] (ports and slicing decide which slice an
/// endpoint lands in, never whether it is ready), without building the slices. Borrows the
/// names, so a caller whose answer is unchanged allocates nothing. `None` when the Service has
/// no selector.
pub fn ready_pod_names<'a, P: std::borrow::Borrow<Pod> + 'a>(
    service: &Service,
    pods: impl IntoIterator<Item = &'a P>,
) -> Option<Vec<&'a str>> {
    let selector = service.selector.as_ref().filter(|s| !s.is_empty())?;
    let mut ready: Vec<&str> = pods
        .into_iter()
        .map(P::borrow)
        .filter(|p| is_listed(service, selector, p) && pod_to_endpoint_ready(p, service))
        .map(|p| p.meta.name.as_str())
        .collect();
    // Usually in order already (the store lists by key): sorting then costs one pass.
    ready.sort_unstable();
    ready.dedup();
    Some(ready)
}

/// Whether `service` (with its non-empty `selector`) lists `pod` in some slice.
fn is_listed(service: &Service, selector: &kubesim_api::Labels, pod: &Pod) -> bool {
    pod.meta.namespace == service.meta.namespace
        && selector.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v))
        && should_pod_be_in_endpoints(pod, true)
}

/// [`pod_to_endpoint`]'s `ready` condition alone.
fn pod_to_endpoint_ready(pod: &Pod, service: &Service) -> bool {
    service.publish_not_ready_addresses || (pod.is_ready() && pod.meta.deletion_timestamp.is_none())
}

#[cfg(test)]
mod tests {
    use kubesim_api::services::ServicePort;
    use kubesim_api::{
        ConditionStatus, Container, ContainerPort, ObjectMeta, PodCondition, PodConditionType,
    };
    use sim_core::SimTime;

    use super::*;

    fn pod(name: &str, app: &str, ready: bool) -> Pod {
        let mut p = Pod { meta: ObjectMeta::named("default", name), ..Default::default() };
        p.meta.labels.insert("app".into(), app.into());
        p.spec.node_name = Some("node-a".into());
        p.status.phase = PodPhase::Running;
        p.status.conditions.push(PodCondition {
            kind: PodConditionType::Ready,
            status: if ready { ConditionStatus::True } else { ConditionStatus::False },
            last_transition_time: Some(SimTime::ZERO),
            reason: None,
        });
        p.spec.containers.push(Container {
            name: "app".into(),
            ports: vec![ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }],
            ..Default::default()
        });
        p
    }

    fn service(publish_not_ready: bool) -> Service {
        Service {
            meta: ObjectMeta::named("default", "web"),
            selector: Some([("app".to_string(), "web".to_string())].into()),
            ports: vec![ServicePort {
                name: "http".into(),
                port: 80,
                target_port: TargetPort::Name("http".into()),
                protocol: Protocol::Tcp,
            }],
            publish_not_ready_addresses: publish_not_ready,
        }
    }

    #[test]
    fn ready_not_ready_and_terminating_pods_get_upstream_conditions() {
        let mut terminating = pod("web-c", "web", true);
        terminating.meta.deletion_timestamp = Some(SimTime::from_secs(5));
        let mut pending = pod("web-d", "web", false);
        pending.status.phase = PodPhase::Pending;
        pending.spec.node_name = None; // no IP yet
        let mut done = pod("web-e", "web", false);
        done.status.phase = PodPhase::Succeeded;
        let pods = [
            pod("web-a", "web", true),
            pod("web-b", "web", false),
            terminating,
            pending,
            done,
            pod("api", "api", true),
        ];
        let slices = desired_slices(&service(false), &pods, MAX_ENDPOINTS_PER_SLICE).unwrap();
        assert_eq!(slices.len(), 1);
        assert_eq!(
            slices[0].ports,
            vec![EndpointPort { name: "http".into(), port: 8080, protocol: Protocol::Tcp }]
        );
        let conds: Vec<(&str, bool, bool, bool)> =
            slices[0].endpoints.iter().map(|e| (e.pod.as_str(), e.ready, e.serving, e.terminating)).collect();
        // A terminating Ready pod keeps serving but takes no new traffic.
        assert_eq!(
            conds,
            vec![("web-a", true, true, false), ("web-b", false, false, false), ("web-c", false, true, true)]
        );
        assert_eq!(ready_pods(&slices), vec!["web-a"]);
    }

    #[test]
    fn publish_not_ready_addresses_makes_every_listed_pod_ready() {
        let mut terminating = pod("web-c", "web", false);
        terminating.meta.deletion_timestamp = Some(SimTime::from_secs(5));
        let slices = desired_slices(&service(true), &[pod("web-b", "web", false), terminating], 100).unwrap();
        assert!(slices[0].endpoints.iter().all(|e| e.ready && e.serving));
    }

    #[test]
    fn pods_whose_named_port_differs_go_to_separate_slices_and_slices_are_capped() {
        let mut other = pod("web-z", "web", true);
        other.spec.containers[0].ports[0].container_port = 9090;
        let mut unnamed = pod("web-y", "web", true);
        unnamed.spec.containers[0].ports[0].name = None;
        let mut pods: Vec<Pod> = (0..5).map(|i| pod(&format!("web-{i}"), "web", true)).collect();
        pods.extend([other, unnamed]);
        let slices = desired_slices(&service(false), &pods, 2).unwrap();
        // Port set {} (web-y: no port named http), {8080} × 5 pods in slices of 2, {9090}.
        let shape: Vec<(Vec<i32>, usize)> =
            slices.iter().map(|s| (s.ports.iter().map(|p| p.port).collect(), s.endpoints.len())).collect();
        assert_eq!(
            shape,
            vec![(vec![], 1), (vec![8080], 2), (vec![8080], 2), (vec![8080], 1), (vec![9090], 1)]
        );
    }

    #[test]
    fn a_service_without_selector_is_not_managed() {
        let mut s = service(false);
        s.selector = None;
        assert_eq!(desired_slices(&s, &[pod("web-a", "web", true)], 100), None);
    }

    proptest::proptest! {
        /// The ready names straight from the pods equal the ready endpoints of the slices.
        #[test]
        fn ready_pod_names_equal_the_ready_endpoints_of_the_slices(
            pods in proptest::collection::vec(
                (0u8..12, proptest::bool::ANY, proptest::bool::ANY, 0u8..4, proptest::bool::ANY, 0u8..3),
                0..12,
            ),
            publish_not_ready in proptest::bool::ANY,
        ) {
            let pods: Vec<Pod> = pods
                .into_iter()
                .map(|(name, web, ready, phase, deleting, port)| {
                    let mut p = pod(&format!("p{name:02}"), if web { "web" } else { "api" }, ready);
                    p.status.phase = [PodPhase::Pending, PodPhase::Running, PodPhase::Succeeded, PodPhase::Failed]
                        [usize::from(phase)];
                    if phase == 0 && !ready {
                        p.spec.node_name = None;
                    }
                    if deleting {
                        p.meta.deletion_timestamp = Some(SimTime::from_secs(1));
                    }
                    match port {
                        0 => {}
                        1 => p.spec.containers[0].ports[0].container_port = 9090,
                        _ => p.spec.containers[0].ports[0].name = None,
                    }
                    p
                })
                .collect();
            let svc = service(publish_not_ready);
            let slices = desired_slices(&svc, &pods, 2).unwrap();
            let names = ready_pod_names(&svc, &pods).unwrap();
            proptest::prop_assert_eq!(names, ready_pods(&slices));
        }
    }
}
