//! Pods stamped from one template hold the template's labels and containers, not copies: the
//! memory per running pod depends on it (issue 7). Checked through `Shared::ptr_eq`, after the pods
//! have been scheduled, started and had their status written several times.

mod common;

use common::*;
use kubesim_api::{Name, Pod, Shared};
use kubesim_cluster::ClusterConfig;
use sim_core::SimTime;

#[test]
fn the_pods_of_one_replica_set_share_its_template_labels_and_containers() {
    let mut c = cluster(2, ClusterConfig::default());
    c.apply_deployment(deployment("web", 3, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(60)).unwrap();
    let store = c.store();
    let rs = store.replica_sets.values().next().expect("the deployment made a replica set");
    let pods: Vec<&Pod> = store.pods().map(|p| &**p).collect();
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        assert!(pod.is_ready(), "{} ran: its status was written more than once", pod.meta.name);
        assert!(Shared::ptr_eq(&pod.meta.labels, &rs.template.labels), "labels are the template's");
        assert!(Shared::ptr_eq(&pod.meta.annotations, &rs.template.annotations));
        assert!(Shared::ptr_eq(&pod.spec.containers, &rs.template.spec.containers), "containers too");
        assert!(Shared::ptr_eq(&pod.spec.init_containers, &rs.template.spec.init_containers));
        assert!(Name::ptr_eq(&pod.meta.namespace, &rs.meta.namespace), "the namespace is the RS's");
        let key = pod.meta.key();
        assert!(Name::ptr_eq(&key.name, &pod.meta.name), "a key shares the pod's name");
    }
    assert!(Shared::ptr_eq(&pods[0].meta.labels, &pods[1].meta.labels));
    assert!(Shared::ptr_eq(&pods[1].spec.containers, &pods[2].spec.containers));
    // Owner references and the defaulted tolerations are built per pod, then the sibling's equal
    // copy is taken instead.
    for pod in &pods[1..] {
        assert_eq!(pod.spec.tolerations.len(), 2, "not-ready and unreachable, 300 s");
        assert!(Shared::ptr_eq(&pod.meta.owner_references, &pods[0].meta.owner_references));
        assert!(Shared::ptr_eq(&pod.spec.tolerations, &pods[0].spec.tolerations));
    }
}

#[test]
fn a_status_write_keeps_the_spec_of_the_version_it_replaces() {
    let mut c = cluster(1, ClusterConfig::default());
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    // Every version the store held once the pod was bound, sampled every 50 ms of simulated time.
    let mut bound: Vec<std::sync::Arc<Pod>> = Vec::new();
    for step in 1..=1200 {
        c.run_until(SimTime::from_millis(step * 50)).unwrap();
        let pod = c.store().pods().next().unwrap().clone();
        let is_new = bound.last().is_none_or(|b| b.meta.resource_version != pod.meta.resource_version);
        if pod.spec.node_name.is_some() && is_new {
            bound.push(pod);
        }
    }
    assert!(bound.len() >= 2, "the kubelet wrote the bound pod's status: {} versions", bound.len());
    assert_ne!(bound[0].status, bound.last().unwrap().status);
    for version in &bound[1..] {
        assert!(Shared::ptr_eq(&version.spec, &bound[0].spec), "the spec was not copied");
        assert!(Name::ptr_eq(&version.meta.name, &bound[0].meta.name), "nor the name");
        assert!(Name::ptr_eq(&version.meta.uid, &bound[0].meta.uid), "nor the uid");
    }
}

#[test]
fn the_deployment_template_is_copied_once_per_replica_set_for_its_hash_label() {
    let mut c = cluster(1, ClusterConfig::default());
    c.apply_deployment(deployment("web", 1, "web:v1")).unwrap();
    c.run_until(SimTime::from_secs(5)).unwrap();
    let store = c.store();
    let d = store.deployments.values().next().unwrap();
    let rs = store.replica_sets.values().next().unwrap();
    // The RS template gained `pod-template-hash`: a write, so its own copy, not the deployment's.
    assert!(!Shared::ptr_eq(&d.template.labels, &rs.template.labels));
    assert!(rs.template.labels.contains_key("pod-template-hash"));
    assert!(!d.template.labels.contains_key("pod-template-hash"), "the deployment's is untouched");
    // The containers were not written: still the deployment's.
    assert!(Shared::ptr_eq(&d.template.spec.containers, &rs.template.spec.containers));
}
