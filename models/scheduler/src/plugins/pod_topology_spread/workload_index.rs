//! [`default_selector`](super::common::default_selector) without scanning every Service and
//! controller of the cluster for every pod.
//!
//! The plain version walks all Services (is the pod selected?) and searches the controllers for
//! the pod's owner: O(Services + controllers) per pod, which at thousands of Deployments is most
//! of a scheduling cycle. [`WorkloadIndex`] files each Service with a non-empty selector under its
//! namespace and first selector pair, and each controller under (namespace, name, kind), so a pod
//! looks up only the Services sharing one of its label pairs and its own owner. The result is the
//! same selector: a Service contributes only when it selects the pod, and then every pair it adds
//! carries the pod's own value, so the order of Services does not matter; a Service with an empty
//! selector contributes no pair; of controllers with the same (kind, namespace, name) the first
//! one is used, as the plain search finds it.
//!
//! The cluster hands over a new [`WorkloadSelectors`] whenever a Service or controller changes
//! (every rollout adds a ReplicaSet), sharing the entries that did not change.
//! [`WorkloadIndex::rebuilt`] uses that: the Service part is kept when every Service entry is the
//! same allocation as before, and the check that the controllers are in key order skips the
//! pairs the previous list already had in order.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{LabelSelector, Labels, Pod, Shared};

use super::common::{apply_controller_selector, ControllerKind, ControllerSelector, WorkloadSelectors};

/// namespace → first selector key → its value → indices of Services.
type ServicesByPair = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<usize>>>>;

/// namespace → name → (kind, index of the first such controller).
type ControllersByName = BTreeMap<String, BTreeMap<String, Vec<(ControllerKind, usize)>>>;

/// Services and controllers of a [`WorkloadSelectors`], indexed for the default spreading selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadIndex {
    /// namespace → first selector key → its value → indices of Services (shared with the index
    /// a [`rebuilt`](Self::rebuilt) one came from when the Services are the same).
    services: Arc<ServicesByPair>,
    /// namespace → name → (kind, index of the first such controller); `None` when the
    /// controllers are already ordered by (namespace, name) (the cluster lists them in key
    /// order), which a binary search uses directly: no copy of thousands of names per rebuild.
    controllers: Option<ControllersByName>,
}

impl WorkloadIndex {
    /// Indexes `sources`; [`default_selector`](Self::default_selector) must be given the same.
    pub fn new(sources: &WorkloadSelectors) -> Self {
        let ordered = sources.controllers.windows(2).all(|w| owner_key(&w[0]) <= owner_key(&w[1]));
        Self::with_services(Arc::new(services_by_pair(sources)), ordered, sources)
    }

    /// The index of `sources`, equal to [`new`](Self::new)`(sources)`, given this index built
    /// from `previous`: reuses the Service part when every Service entry of `sources` is the same
    /// allocation as `previous`'s, and compares (namespace, name) only for adjacent controllers
    /// not already known to be in order from `previous` (entries shared with it, in the same
    /// relative order, when `previous` was ordered).
    pub fn rebuilt(&self, previous: &WorkloadSelectors, sources: &WorkloadSelectors) -> Self {
        let same_services = previous.services.len() == sources.services.len()
            && previous.services.iter().zip(&sources.services).all(|(a, b)| Shared::ptr_eq(a, b));
        let services =
            if same_services { self.services.clone() } else { Arc::new(services_by_pair(sources)) };
        let ordered = if self.controllers.is_none() {
            ordered_given(&previous.controllers, &sources.controllers)
        } else {
            sources.controllers.windows(2).all(|w| owner_key(&w[0]) <= owner_key(&w[1]))
        };
        Self::with_services(services, ordered, sources)
    }

    fn with_services(services: Arc<ServicesByPair>, ordered: bool, sources: &WorkloadSelectors) -> Self {
        let mut index = WorkloadIndex { services, controllers: None };
        if ordered {
            return index;
        }
        let mut by_name = ControllersByName::new();
        for (i, c) in sources.controllers.iter().enumerate() {
            let by_kind = by_name.entry(c.namespace.clone()).or_default().entry(c.name.clone()).or_default();
            if !by_kind.iter().any(|(kind, _)| *kind == c.kind) {
                by_kind.push((c.kind, i));
            }
        }
        index.controllers = Some(by_name);
        index
    }

    /// Upstream `helper.DefaultSelector`, equal to
    /// [`common::default_selector`](super::common::default_selector)`(pod, sources)` for the
    /// `sources` this index was built from.
    pub fn default_selector(&self, pod: &Pod, sources: &WorkloadSelectors) -> LabelSelector {
        let ns = pod.meta.namespace.as_str();
        let mut label_set = Labels::new();
        if let Some(by_key) = self.services.get(ns) {
            for (k, v) in &pod.meta.labels {
                let Some(ids) = by_key.get(k).and_then(|by_value| by_value.get(v)) else { continue };
                for &i in ids {
                    let Some(sel) = &sources.services[i].selector else { continue };
                    if sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v)) {
                        for (k, v) in sel {
                            if !label_set.contains_key(k) {
                                label_set.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
        }
        let mut expressions = Vec::new();
        if let Some(owner) = pod.meta.controller_ref() {
            let found = ControllerKind::from_kind(&owner.kind).and_then(|kind| match &self.controllers {
                Some(by_name) => {
                    let by_kind = by_name.get(ns)?.get(&owner.name)?;
                    by_kind.iter().find(|(k, _)| *k == kind).map(|(_, i)| &*sources.controllers[*i])
                }
                None => {
                    // Equal (namespace, name) entries are adjacent and in list order.
                    let wanted = (ns, owner.name.as_str());
                    let from = sources.controllers.partition_point(|c| owner_key(c) < wanted);
                    sources.controllers[from..]
                        .iter()
                        .take_while(|c| owner_key(c) == wanted)
                        .find(|c| c.kind == kind)
                        .map(|c| &**c)
                }
            });
            if let Some(ctrl) = found {
                apply_controller_selector(ctrl, &mut label_set, &mut expressions);
            }
        }
        LabelSelector { match_labels: label_set, match_expressions: expressions }
    }
}

fn services_by_pair(sources: &WorkloadSelectors) -> ServicesByPair {
    let mut services = ServicesByPair::new();
    for (i, svc) in sources.services.iter().enumerate() {
        let Some((k, v)) = svc.selector.as_ref().and_then(|s| s.iter().next()) else { continue };
        services
            .entry(svc.namespace.clone())
            .or_default()
            .entry(k.clone())
            .or_default()
            .entry(v.clone())
            .or_default()
            .push(i);
    }
    services
}

/// How far ahead in the previous list [`ordered_given`] looks for an entry of the new one.
const LOOKAHEAD: usize = 4;

/// True if `list` is in (namespace, name) order, given `previous` in that order. Each entry of
/// `list` is looked up among the next few entries of `previous` after the last one found (the
/// cluster's lists change by a few insertions and removals, shared entries keeping their order);
/// two adjacent entries found at increasing positions are in order already, others are compared.
fn ordered_given(previous: &[Shared<ControllerSelector>], list: &[Shared<ControllerSelector>]) -> bool {
    let mut next = 0usize;
    let mut last_found: Option<usize> = None;
    for (j, c) in list.iter().enumerate() {
        let end = previous.len().min(next + LOOKAHEAD);
        let found = (next..end).find(|&i| Shared::ptr_eq(&previous[i], c));
        if let Some(i) = found {
            next = i + 1;
        }
        let known = matches!((last_found, found), (Some(a), Some(b)) if a < b);
        if j > 0 && !known && owner_key(&list[j - 1]) > owner_key(c) {
            return false;
        }
        last_found = found;
    }
    true
}

/// What an owner reference finds a controller by (besides its kind).
fn owner_key(c: &ControllerSelector) -> (&str, &str) {
    (&c.namespace, &c.name)
}
