//! Constraint building shared by filtering and scoring: hard/soft selection, `matchLabelKeys`
//! merging, system defaults and the default selector, node inclusion policies.
//! Upstream: `podtopologyspread/common.go`, `plugin.go`, `helper/spread.go`.

use kubesim_api::meta::well_known;
use kubesim_api::scheduling::tolerated_by;
use kubesim_api::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels, Node, NodeInclusionPolicy, Pod,
    TaintEffect, TopologySpreadConstraint, UnsatisfiableConstraintAction,
};

/// The system default constraints (`plugin.go :: systemDefaultConstraints`).
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let soft = |key: &str, max_skew: i32| TopologySpreadConstraint {
        max_skew,
        topology_key: key.to_string(),
        when_unsatisfiable: UnsatisfiableConstraintAction::ScheduleAnyway,
        label_selector: None,
        min_domains: None,
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
        match_label_keys: Vec::new(),
    };
    vec![soft(well_known::HOSTNAME, 3), soft(well_known::ZONE, 5)]
}

pub use crate::framework::objects::{
    ClusterObjects, ControllerKind, ControllerSelector, ServiceSelector, WorkloadSelectors,
};

/// Upstream `helper.DefaultSelector`: the union of the selectors of the Services selecting the pod,
/// then the pod's controller (RC merged as labels, RS/StatefulSet requirements ANDed).
/// The result may be empty, meaning "no default constraints".
pub fn default_selector(pod: &Pod, sources: &WorkloadSelectors) -> LabelSelector {
    let mut label_set = Labels::new();
    for svc in &sources.services {
        if svc.namespace != pod.meta.namespace {
            continue;
        }
        // Services with a nil selector match nothing; an empty map matches every pod.
        let Some(sel) = &svc.selector else { continue };
        if sel.iter().all(|(k, v)| pod.meta.labels.get(k) == Some(v)) {
            for (k, v) in sel {
                label_set.insert(k.clone(), v.clone());
            }
        }
    }
    let mut expressions = Vec::new();
    if let Some(owner) = pod.meta.controller_ref() {
        let kind = ControllerKind::from_kind(&owner.kind);
        let found = sources
            .controllers
            .iter()
            .find(|c| Some(c.kind) == kind && c.namespace == pod.meta.namespace && c.name == owner.name);
        if let Some(ctrl) = found {
            apply_controller_selector(ctrl, &mut label_set, &mut expressions);
        }
    }
    LabelSelector { match_labels: label_set, match_expressions: expressions }
}

/// The pod's controller's part of the default selector: an RC's map merged into the label set,
/// a ReplicaSet's or StatefulSet's requirements ANDed.
pub(super) fn apply_controller_selector(
    ctrl: &ControllerSelector,
    label_set: &mut Labels,
    expressions: &mut Vec<LabelSelectorRequirement>,
) {
    let Some(sel) = &ctrl.selector else { return };
    match ctrl.kind {
        ControllerKind::ReplicationController => {
            for (k, v) in &sel.match_labels {
                label_set.insert(k.clone(), v.clone());
            }
        }
        ControllerKind::ReplicaSet | ControllerKind::StatefulSet => {
            expressions.extend(selector_requirements(sel));
        }
    }
}

/// A selector's requirements with `matchLabels` turned into `In` expressions, so that ANDing two
/// selectors never lets one overwrite the other's key.
fn selector_requirements(sel: &LabelSelector) -> Vec<LabelSelectorRequirement> {
    let mut out: Vec<LabelSelectorRequirement> = sel
        .match_labels
        .iter()
        .map(|(k, v)| LabelSelectorRequirement {
            key: k.clone(),
            operator: LabelSelectorOperator::In,
            values: vec![v.clone()],
        })
        .collect();
    out.extend(sel.match_expressions.iter().cloned());
    out
}

/// A constraint as the plugin uses it: policies defaulted, selector parsed and merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadConstraint {
    /// `maxSkew`.
    pub max_skew: i32,
    /// `topologyKey`.
    pub topology_key: String,
    /// Selector of counted pods; `None` selects nothing.
    pub selector: Option<LabelSelector>,
    /// `minDomains` (1 when unset).
    pub min_domains: i32,
    /// `nodeAffinityPolicy` (default Honor).
    pub node_affinity_policy: NodeInclusionPolicy,
    /// `nodeTaintsPolicy` (default Ignore).
    pub node_taints_policy: NodeInclusionPolicy,
}

impl SpreadConstraint {
    /// True if the selector selects a pod with these labels.
    pub fn selects(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Upstream `matchNodeInclusionPolicies`: does `node` count for this constraint of `pod`?
    pub fn includes_node(&self, pod: &Pod, node: &Node, taint_comparison_operators: bool) -> bool {
        if self.node_affinity_policy == NodeInclusionPolicy::Honor
            && !matches_required_node_affinity(pod, node)
        {
            return false;
        }
        if self.node_taints_policy == NodeInclusionPolicy::Honor
            && has_untolerated_do_not_schedule_taint(pod, node, taint_comparison_operators)
        {
            return false;
        }
        true
    }
}

/// Upstream `GetRequiredNodeAffinity(pod).Match(node)`: the pod's nodeSelector and required node
/// affinity (not the profile's addedAffinity).
pub fn matches_required_node_affinity(pod: &Pod, node: &Node) -> bool {
    let labels = &node.meta.labels;
    pod.spec.extras.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        && pod
            .spec
            .extras
            .affinity
            .node_affinity
            .required
            .as_ref()
            .is_none_or(|req| req.matches(&node.meta.name, labels))
}

/// A NoSchedule/NoExecute taint on the node that the pod does not tolerate.
pub fn has_untolerated_do_not_schedule_taint(
    pod: &Pod,
    node: &Node,
    taint_comparison_operators: bool,
) -> bool {
    node.spec.taints.iter().any(|t| {
        matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
            && !tolerated_by(t, &pod.spec.tolerations, taint_comparison_operators)
    })
}

/// True if the node has every constraint's topology key (`nodeLabelsMatchSpreadConstraints`).
pub fn node_has_all_keys(node: &Node, constraints: &[SpreadConstraint]) -> bool {
    constraints.iter().all(|c| node.meta.labels.contains_key(&c.topology_key))
}

/// Feature gates that change how constraints are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpreadGates {
    /// MatchLabelKeysInPodTopologySpread (on by default since v1.27): honour `matchLabelKeys`.
    pub match_label_keys: bool,
    /// NodeInclusionPolicyInPodTopologySpread (on since v1.26, GA v1.33): honour the policies;
    /// off ⇒ every constraint behaves as nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore.
    pub node_inclusion_policy: bool,
}

impl Default for SpreadGates {
    fn default() -> Self {
        SpreadGates { match_label_keys: true, node_inclusion_policy: true }
    }
}

/// Upstream `filterTopologySpreadConstraints`: the constraints of one action, with defaults applied
/// and `matchLabelKeys` values of the pod ANDed into the selector (what kube-apiserver does at
/// admission since v1.34; repeating it is harmless).
pub fn filter_constraints(
    constraints: &[TopologySpreadConstraint],
    pod_labels: &Labels,
    action: UnsatisfiableConstraintAction,
) -> Vec<SpreadConstraint> {
    filter_constraints_gated(constraints, pod_labels, action, SpreadGates::default())
}

/// [`filter_constraints`] under explicit feature gates.
pub fn filter_constraints_gated(
    constraints: &[TopologySpreadConstraint],
    pod_labels: &Labels,
    action: UnsatisfiableConstraintAction,
    gates: SpreadGates,
) -> Vec<SpreadConstraint> {
    constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
        .map(|c| {
            let keys: &[String] = if gates.match_label_keys { &c.match_label_keys } else { &[] };
            let (node_affinity_policy, node_taints_policy) = if gates.node_inclusion_policy {
                (c.node_affinity_policy, c.node_taints_policy)
            } else {
                (NodeInclusionPolicy::Honor, NodeInclusionPolicy::Ignore)
            };
            SpreadConstraint {
                max_skew: c.max_skew,
                topology_key: c.topology_key.clone(),
                selector: merge_match_label_keys(c.label_selector.as_ref(), keys, pod_labels),
                min_domains: c.min_domains.unwrap_or(1),
                node_affinity_policy,
                node_taints_policy,
            }
        })
        .collect()
}

/// ANDs `key In (pod's value)` for every `matchLabelKeys` key the pod carries. Upstream's
/// scheduler-side merge starts from the key/value set and adds the selector's requirements; a nil
/// selector (selects nothing) has no requirements, so the result is the key/value set alone.
fn merge_match_label_keys(
    selector: Option<&LabelSelector>,
    keys: &[String],
    pod_labels: &Labels,
) -> Option<LabelSelector> {
    let pairs: Vec<(&String, &String)> = keys.iter().filter_map(|k| pod_labels.get_key_value(k)).collect();
    if pairs.is_empty() {
        return selector.cloned();
    }
    let mut merged = LabelSelector {
        match_labels: Labels::new(),
        match_expressions: pairs
            .iter()
            .map(|(k, v)| LabelSelectorRequirement {
                key: (*k).clone(),
                operator: LabelSelectorOperator::In,
                values: vec![(*v).clone()],
            })
            .collect(),
    };
    if let Some(sel) = selector {
        merged.match_expressions.extend(selector_requirements(sel));
    }
    Some(merged)
}

/// Upstream `getConstraints` / `buildDefaultConstraints`: the pod's own constraints of `action`, or,
/// when it has none, the default constraints of `action` with the default selector (none at all
/// if that selector is empty).
///
/// `defaults` are the plugin's default constraints in force ([`system_default_constraints`] with
/// `defaultingType: System`, else `defaultConstraints`).
pub fn pod_constraints(
    pod: &Pod,
    action: UnsatisfiableConstraintAction,
    defaults: &[TopologySpreadConstraint],
    sources: &WorkloadSelectors,
) -> Vec<SpreadConstraint> {
    pod_constraints_gated(pod, action, defaults, sources, SpreadGates::default())
}

/// [`pod_constraints`] under explicit feature gates.
pub fn pod_constraints_gated(
    pod: &Pod,
    action: UnsatisfiableConstraintAction,
    defaults: &[TopologySpreadConstraint],
    sources: &WorkloadSelectors,
    gates: SpreadGates,
) -> Vec<SpreadConstraint> {
    pod_constraints_with(pod, action, defaults, gates, || default_selector(pod, sources))
}

/// [`pod_constraints_gated`] with the pod's default selector computed by `default_selector`
/// (called only when default constraints apply), e.g. through a
/// [`WorkloadIndex`](super::workload_index::WorkloadIndex).
pub fn pod_constraints_with(
    pod: &Pod,
    action: UnsatisfiableConstraintAction,
    defaults: &[TopologySpreadConstraint],
    gates: SpreadGates,
    default_selector: impl FnOnce() -> LabelSelector,
) -> Vec<SpreadConstraint> {
    if !pod.spec.extras.topology_spread_constraints.is_empty() {
        return filter_constraints_gated(
            &pod.spec.extras.topology_spread_constraints,
            &pod.meta.labels,
            action,
            gates,
        );
    }
    // The selector first: without one no default applies, and building the constraints (which
    // allocates) is wasted — the common case of a pod no Service or controller selects.
    if !defaults.iter().any(|c| c.when_unsatisfiable == action) {
        return Vec::new();
    }
    let selector = default_selector();
    if selector.is_empty() {
        return Vec::new();
    }
    let mut constraints = filter_constraints_gated(defaults, &pod.meta.labels, action, gates);
    if let Some((last, rest)) = constraints.split_last_mut() {
        for c in rest {
            c.selector = Some(selector.clone());
        }
        last.selector = Some(selector);
    }
    constraints
}

/// Upstream `countPodsMatchSelector`: pods in `namespace`, not terminating, selected.
pub fn count_matching<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    c: &SpreadConstraint,
    namespace: &str,
) -> i64 {
    pods.into_iter()
        .filter(|p| !p.meta.is_terminating() && p.meta.namespace == namespace && c.selects(&p.meta.labels))
        .count() as i64
}
