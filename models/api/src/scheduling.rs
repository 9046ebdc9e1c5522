//! Placement constraints: taints, tolerations, affinity, topology spread, host ports.

use sim_core::SimTime;

use crate::selectors::{LabelSelector, NodeSelector, NodeSelectorTerm};

/// Effect of a taint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    /// New pods that do not tolerate it are not scheduled.
    NoSchedule,
    /// The scheduler prefers other nodes.
    PreferNoSchedule,
    /// Running pods that do not tolerate it are evicted.
    NoExecute,
}

impl TaintEffect {
    /// Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// A node taint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value (may be empty).
    pub value: String,
    /// Taint effect.
    pub effect: TaintEffect,
    /// When a NoExecute taint was added.
    pub time_added: Option<SimTime>,
}

/// `tolerations[].operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TolerationOperator {
    /// Values must be equal (also the meaning of an empty operator).
    #[default]
    Equal,
    /// Any value.
    Exists,
    /// Taint value > toleration value, both integers (feature gate TaintTolerationComparisonOperators).
    Gt,
    /// Taint value < toleration value, both integers (same gate).
    Lt,
}

/// A pod toleration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toleration {
    /// Key; empty with `Exists` tolerates every taint.
    pub key: String,
    /// Operator.
    pub operator: TolerationOperator,
    /// Value for Equal/Gt/Lt.
    pub value: String,
    /// Effect; `None` matches every effect.
    pub effect: Option<TaintEffect>,
    /// For NoExecute: how long the pod stays bound after the taint appears (`None` = forever).
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// Upstream `ToleratesTaint`: effect empty or equal; key empty with Exists, or equal; then the
    /// operator's value rule. Gt/Lt only take effect when `comparison_operators_enabled`.
    pub fn tolerates(&self, taint: &Taint, comparison_operators_enabled: bool) -> bool {
        if let Some(effect) = self.effect {
            if effect != taint.effect {
                return false;
            }
        }
        if self.key.is_empty() {
            if self.operator != TolerationOperator::Exists {
                return false;
            }
        } else if self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value,
            TolerationOperator::Gt | TolerationOperator::Lt => {
                if !comparison_operators_enabled {
                    return false;
                }
                let (Ok(t), Ok(v)) = (taint.value.parse::<i64>(), self.value.parse::<i64>()) else {
                    return false;
                };
                if self.operator == TolerationOperator::Gt {
                    t > v
                } else {
                    t < v
                }
            }
        }
    }
}

/// True if some toleration in `tolerations` tolerates `taint`.
pub fn tolerated_by(taint: &Taint, tolerations: &[Toleration], comparison_operators_enabled: bool) -> bool {
    tolerations.iter().any(|t| t.tolerates(taint, comparison_operators_enabled))
}

/// `affinity.nodeAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    pub required: Option<NodeSelector>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`: (weight 1..100, term).
    pub preferred: Vec<PreferredSchedulingTerm>,
}

/// One weighted preferred node term.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferredSchedulingTerm {
    /// 1..100.
    pub weight: i32,
    /// The term.
    pub preference: NodeSelectorTerm,
}

/// A pod (anti-)affinity term.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// Pods to match; `None` matches no pod.
    pub label_selector: Option<LabelSelector>,
    /// Namespaces to look in; with no selector either, the term's own pod's namespace.
    pub namespaces: Vec<String>,
    /// Namespaces by label; `Some(empty)` means all namespaces.
    pub namespace_selector: Option<LabelSelector>,
    /// Topology domain key, e.g. `kubernetes.io/hostname`.
    pub topology_key: String,
    /// `matchLabelKeys`: label keys of the incoming pod whose values are ANDed into the selector.
    pub match_label_keys: Vec<String>,
    /// `mismatchLabelKeys`: like `matchLabelKeys` with NotIn.
    pub mismatch_label_keys: Vec<String>,
}

/// A weighted pod (anti-)affinity term.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightedPodAffinityTerm {
    /// 1..100.
    pub weight: i32,
    /// The term.
    pub term: PodAffinityTerm,
}

/// `affinity.podAffinity` or `affinity.podAntiAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    /// Required terms.
    pub required: Vec<PodAffinityTerm>,
    /// Preferred terms.
    pub preferred: Vec<WeightedPodAffinityTerm>,
}

impl PodAffinity {
    /// True when there are no terms at all.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty()
    }
}

/// `spec.affinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Affinity {
    /// Node affinity.
    pub node_affinity: NodeAffinity,
    /// Pod affinity.
    pub pod_affinity: PodAffinity,
    /// Pod anti-affinity.
    pub pod_anti_affinity: PodAffinity,
}

/// `whenUnsatisfiable` of a topology spread constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsatisfiableConstraintAction {
    /// Hard: filter.
    DoNotSchedule,
    /// Soft: score.
    ScheduleAnyway,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy` of a topology spread constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeInclusionPolicy {
    /// Only count nodes that pass the pod's node affinity / tolerate the taints.
    Honor,
    /// Count all nodes.
    Ignore,
}

/// `spec.topologySpreadConstraints[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    /// Maximum allowed skew (≥ 1).
    pub max_skew: i32,
    /// Node label defining the domains.
    pub topology_key: String,
    /// Hard or soft.
    pub when_unsatisfiable: UnsatisfiableConstraintAction,
    /// Pods counted; `None` counts none.
    pub label_selector: Option<LabelSelector>,
    /// `minDomains` (hard constraints only), default 1.
    pub min_domains: Option<i32>,
    /// Default Honor.
    pub node_affinity_policy: NodeInclusionPolicy,
    /// Default Ignore.
    pub node_taints_policy: NodeInclusionPolicy,
    /// `matchLabelKeys`.
    pub match_label_keys: Vec<String>,
}

/// Protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Protocol {
    /// TCP (default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// `containers[].ports[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerPort {
    /// Optional port name.
    pub name: Option<String>,
    /// Port inside the container.
    pub container_port: i32,
    /// Host port (0 = none).
    pub host_port: i32,
    /// Host IP to bind (empty = all).
    pub host_ip: String,
    /// Protocol.
    pub protocol: Protocol,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint { key: key.into(), value: value.into(), effect, time_added: None }
    }

    #[test]
    fn toleration_matching_follows_upstream() {
        let t = taint("dedicated", "gpu", TaintEffect::NoSchedule);
        let exists_all = Toleration { operator: TolerationOperator::Exists, ..Default::default() };
        assert!(exists_all.tolerates(&t, false));
        let empty_key_equal = Toleration::default();
        assert!(!empty_key_equal.tolerates(&t, false));
        let eq = Toleration { key: "dedicated".into(), value: "gpu".into(), ..Default::default() };
        assert!(eq.tolerates(&t, false));
        let wrong_effect = Toleration { effect: Some(TaintEffect::NoExecute), ..eq.clone() };
        assert!(!wrong_effect.tolerates(&t, false));
        let gt = Toleration {
            key: "level".into(),
            operator: TolerationOperator::Gt,
            value: "3".into(),
            ..Default::default()
        };
        let lvl = taint("level", "5", TaintEffect::NoSchedule);
        assert!(gt.tolerates(&lvl, true));
        assert!(!gt.tolerates(&lvl, false), "Gt needs the feature gate");
    }
}
