//! Service, HorizontalPodAutoscaler and PodDisruptionBudget: loaded in input order with the API
//! server's defaults, and errors naming file, line, object and field.

use kubesim_api::autoscaling::{HpaMetricSource, MetricTarget};
use kubesim_api::disruption::UnhealthyPodEvictionPolicy;
use kubesim_api::scheduling::Protocol;
use kubesim_api::services::TargetPort;
use kubesim_api::{IntOrPercent, ResourceName};
use kubesim_manifests::{load_str, ObjectRef};

const APP: &str = r#"apiVersion: v1
kind: Service
metadata: {name: shop, namespace: store}
spec:
  selector: {app: shop}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: admin, port: 9000, targetPort: admin, protocol: UDP}
  - {name: plain, port: 81}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: shop, namespace: store}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shop}
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: shop, namespace: store}
spec:
  minAvailable: 50%
  selector: {matchLabels: {app: shop}}
"#;

#[test]
fn service_hpa_and_pdb_load_in_input_order_with_defaults() {
    let l = load_str(APP, "app.yaml").unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let order: Vec<ObjectRef> = l.entries.iter().map(|e| e.object).collect();
    assert_eq!(order, [ObjectRef::Service(0), ObjectRef::Hpa(0), ObjectRef::Pdb(0)]);
    assert_eq!(l.describe(ObjectRef::Hpa(0)), "HorizontalPodAutoscaler store/shop");
    // The HPA starts on line 11 (its `---` is line 10, the document's first line is 11).
    assert!(l.location_of(ObjectRef::Hpa(0)).unwrap().line.is_some());

    let svc = &l.services[0];
    assert_eq!(svc.meta.key().to_string(), "store/shop");
    assert_eq!(svc.selector.as_ref().unwrap()["app"], "shop");
    assert_eq!(svc.ports[0].target_port, TargetPort::Number(8080));
    assert_eq!(svc.ports[1].target_port, TargetPort::Name("admin".into()));
    assert_eq!(svc.ports[1].protocol, Protocol::Udp);
    // targetPort defaults to port, protocol to TCP.
    assert_eq!(svc.ports[2].target_port, TargetPort::Number(81));
    assert_eq!(svc.ports[2].protocol, Protocol::Tcp);
    assert!(!svc.publish_not_ready_addresses);

    let hpa = &l.hpas[0];
    assert_eq!(hpa.min_replicas, 1, "minReplicas defaults to 1");
    assert_eq!(hpa.max_replicas, 20);
    assert_eq!(hpa.scale_target_ref.kind, "Deployment");
    assert_eq!(hpa.scale_target_ref.name, "shop");
    match &hpa.metrics[..] {
        [HpaMetricSource::Resource { resource, target }] => {
            assert_eq!(*resource, ResourceName::Cpu);
            assert_eq!(*target, MetricTarget::Utilization(60));
        }
        other => panic!("{other:?}"),
    }

    let pdb = &l.pdbs[0];
    assert_eq!(pdb.min_available, Some(IntOrPercent::Percent(50)));
    assert_eq!(pdb.max_unavailable, None);
    assert_eq!(pdb.selector.as_ref().unwrap().match_labels["app"], "shop");
    assert_eq!(pdb.unhealthy_pod_eviction_policy, UnhealthyPodEvictionPolicy::IfHealthyBudget);
}

#[test]
fn a_service_without_a_selector_is_not_managed_and_extend_shifts_indices() {
    let mut a = load_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec: {ports: [{port: 5432}]}\n",
        "a",
    )
    .unwrap();
    assert_eq!(a.services[0].selector, None);
    let b = load_str(APP, "b").unwrap();
    a.extend(b);
    assert_eq!(a.services.len(), 2);
    assert_eq!(a.entries[1].object, ObjectRef::Service(1));
    assert_eq!(a.describe(ObjectRef::Service(1)), "Service store/shop");
}

fn error_of(text: &str) -> String {
    match load_str(text, "bad.yaml") {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_values_name_the_object_and_field() {
    assert_eq!(
        error_of(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}, {port: 81}]}\n"
        ),
        "bad.yaml:1: Service default/s: spec.ports[0].name: required when there is more than one port"
    );
    assert_eq!(
        error_of("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 70000}]}\n"),
        "bad.yaml:1: Service default/s: spec.ports[0].port: invalid value 70000: must be between 1 and 65535, inclusive"
    );
    assert_eq!(
        error_of("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {minAvailable: 1, maxUnavailable: 1}\n"),
        "bad.yaml:1: PodDisruptionBudget default/p: spec: minAvailable and maxUnavailable cannot be both set"
    );
    assert_eq!(
        error_of("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailable: 120%}\n"),
        "bad.yaml:1: PodDisruptionBudget default/p: spec.maxUnavailable: invalid value \"120%\": must be between 0% and 100%"
    );
    assert_eq!(
        error_of("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: d}\n  minReplicas: 5\n  maxReplicas: 3\n"),
        "bad.yaml:1: HorizontalPodAutoscaler default/h: spec.maxReplicas: invalid value 3: must be at least 1 and at least minReplicas (5)"
    );
}

#[test]
fn older_api_versions_are_rejected_with_the_served_one() {
    let err = error_of("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {maxReplicas: 3}\n");
    assert!(err.contains("apiVersion: \"autoscaling/v1\" is not served for HorizontalPodAutoscaler: expected \"autoscaling/v2\""), "{err}");
    let err = error_of("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n");
    assert!(err.contains("expected \"policy/v1\""), "{err}");
}

#[test]
fn unknown_fields_of_the_new_kinds_are_warnings() {
    let l = load_str(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {minAvailable: 1, minAvailabel: 2}\n",
        "w.yaml",
    )
    .unwrap();
    let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w, ["w.yaml:1: PodDisruptionBudget default/p: spec.minAvailabel: unknown field: ignored"]);
    assert_eq!(l.pdbs[0].min_available, Some(IntOrPercent::Int(1)));
}
