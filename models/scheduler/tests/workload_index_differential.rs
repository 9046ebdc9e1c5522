//! PodTopologySpread's default selector through the `WorkloadIndex` against the plain
//! `default_selector` (every Service and controller scanned), over random Services (nil, empty,
//! one or two pairs, two namespaces), controllers (all kinds, duplicates, nil selectors) and pods
//! (labels, controller owner references of any kind, present or not).

use proptest::prelude::*;

use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, ObjectMeta, OwnerReference, Pod,
};
use kubesim_scheduler::plugins::pod_topology_spread::workload_index::WorkloadIndex;
use kubesim_scheduler::plugins::pod_topology_spread::{
    default_selector, ControllerKind, ControllerSelector, ServiceSelector, WorkloadSelectors,
};

const NAMESPACES: [&str; 2] = ["default", "other"];
const KEYS: [&str; 3] = ["app", "tier", "hash"];
const VALUES: [&str; 3] = ["a", "b", "c"];
const NAMES: [&str; 3] = ["rs-0", "rs-1", "rs-2"];
const KINDS: [&str; 5] = ["ReplicaSet", "StatefulSet", "ReplicationController", "Job", "Deployment"];

fn labels() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(
        (0..3usize).prop_map(|k| KEYS[k].to_string()),
        (0..3usize).prop_map(|v| VALUES[v].to_string()),
        0..3,
    )
}

fn service() -> impl Strategy<Value = ServiceSelector> {
    (0..2usize, prop::option::weighted(0.9, labels()))
        .prop_map(|(ns, selector)| ServiceSelector { namespace: NAMESPACES[ns].into(), selector })
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    (labels(), prop::option::of((0..3usize, 0..3usize))).prop_map(|(match_labels, expr)| LabelSelector {
        match_labels,
        match_expressions: expr
            .map(|(k, v)| LabelSelectorRequirement {
                key: KEYS[k].into(),
                operator: LabelSelectorOperator::In,
                values: vec![VALUES[v].into()],
            })
            .into_iter()
            .collect(),
    })
}

fn controller() -> impl Strategy<Value = ControllerSelector> {
    (0..3usize, 0..2usize, 0..3usize, prop::option::weighted(0.9, selector())).prop_map(
        |(kind, ns, name, selector)| ControllerSelector {
            kind: [
                ControllerKind::ReplicaSet,
                ControllerKind::StatefulSet,
                ControllerKind::ReplicationController,
            ][kind],
            namespace: NAMESPACES[ns].into(),
            name: NAMES[name].into(),
            selector,
        },
    )
}

fn pod() -> impl Strategy<Value = Pod> {
    (0..2usize, labels(), prop::option::of((0..5usize, 0..3usize, any::<bool>()))).prop_map(
        |(ns, labels, owner)| {
            let mut p = Pod { meta: ObjectMeta::named(NAMESPACES[ns], "p"), ..Default::default() };
            p.meta.labels = labels.into();
            if let Some((kind, name, controller)) = owner {
                p.meta.owner_references.push(OwnerReference {
                    kind: KINDS[kind].into(),
                    name: NAMES[name].into(),
                    uid: String::new(),
                    controller,
                });
            }
            p
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_indexed_default_selector_equals_the_scanned_one(
        services in prop::collection::vec(service(), 0..8),
        controllers in prop::collection::vec(controller(), 0..8),
        pods in prop::collection::vec(pod(), 1..8),
    ) {
        let mut sources = WorkloadSelectors {
            services: services.into_iter().map(kubesim_api::Shared::new).collect(),
            controllers: controllers.into_iter().map(kubesim_api::Shared::new).collect(),
        };
        let index = WorkloadIndex::new(&sources);
        for p in &pods {
            prop_assert_eq!(index.default_selector(p, &sources), default_selector(p, &sources), "pod {:?}", p.meta);
        }
        // Controllers in (namespace, name) order, as the cluster lists them (repeats and other
        // kinds kept in list order): the index searches the list instead of copying it.
        sources.controllers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let index = WorkloadIndex::new(&sources);
        for p in &pods {
            prop_assert_eq!(index.default_selector(p, &sources), default_selector(p, &sources), "sorted, pod {:?}", p.meta);
        }
    }

    #[test]
    fn an_index_rebuilt_from_the_previous_one_equals_a_fresh_one(
        services in prop::collection::vec(service(), 0..8),
        controllers in prop::collection::vec(controller(), 0..10),
        extra_services in prop::collection::vec(service(), 0..2),
        extra_controllers in prop::collection::vec(controller(), 0..3),
        edits in prop::collection::vec((0..4usize, 0..12usize), 0..6),
        sort_before in any::<bool>(),
        pods in prop::collection::vec(pod(), 1..6),
    ) {
        // The previous list, sorted or not; the next one shares its entries, with entries
        // removed, inserted (fresh allocations) or replaced, as the cluster's lists change.
        let mut before = WorkloadSelectors {
            services: services.into_iter().map(kubesim_api::Shared::new).collect(),
            controllers: controllers.into_iter().map(kubesim_api::Shared::new).collect(),
        };
        if sort_before {
            before.controllers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
        let mut after = before.clone();
        let mut fresh_services = extra_services.into_iter().map(kubesim_api::Shared::new);
        let mut fresh_controllers = extra_controllers.into_iter().map(kubesim_api::Shared::new);
        for (op, at) in edits {
            let c = &mut after.controllers;
            match op {
                0 if !c.is_empty() => { c.remove(at % c.len()); }
                1 => if let Some(f) = fresh_controllers.next() { c.insert(at % (c.len() + 1), f); },
                2 => if let Some(f) = fresh_services.next() {
                    let s = &mut after.services;
                    s.insert(at % (s.len() + 1), f);
                },
                _ if !c.is_empty() => { let n = c.len(); c.swap(at % n, (at + 1) % n); }
                _ => {}
            }
        }
        let previous = WorkloadIndex::new(&before);
        let rebuilt = previous.rebuilt(&before, &after);
        prop_assert_eq!(&rebuilt, &WorkloadIndex::new(&after));
        for p in &pods {
            prop_assert_eq!(rebuilt.default_selector(p, &after), default_selector(p, &after), "pod {:?}", p.meta);
        }
        // Sorting the next list (the cluster's key order) exercises the ordered path.
        after.controllers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        prop_assert_eq!(previous.rebuilt(&before, &after), WorkloadIndex::new(&after));
        let sorted_index = WorkloadIndex::new(&after);
        let mut again = after.clone();
        if let Some(f) = fresh_controllers.next() {
            let at = again.controllers.partition_point(|c| (&c.namespace, &c.name) < (&f.namespace, &f.name));
            again.controllers.insert(at, f);
        }
        prop_assert_eq!(sorted_index.rebuilt(&after, &again), WorkloadIndex::new(&again));
    }
}
