//! Label selectors and node selectors, with upstream matching semantics.

use crate::meta::Labels;

/// `matchExpressions[].operator` of a label selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelSelectorOperator {
    /// Label present with one of the values.
    In,
    /// Label absent, or present with none of the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
}

/// One `matchExpressions[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: LabelSelectorOperator,
    /// Values for In/NotIn.
    pub values: Vec<String>,
}

impl LabelSelectorRequirement {
    /// True if `labels` satisfy this requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.key);
        match self.operator {
            LabelSelectorOperator::In => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            LabelSelectorOperator::NotIn => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            LabelSelectorOperator::Exists => v.is_some(),
            LabelSelectorOperator::DoesNotExist => v.is_none(),
        }
    }
}

/// A `metav1.LabelSelector`. The empty selector matches everything; where the API distinguishes a
/// nil selector (which matches nothing), fields are `Option<LabelSelector>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: Labels,
    /// `matchExpressions`.
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// A selector from `matchLabels` only.
    pub fn from_labels<I: IntoIterator<Item = (K, V)>, K: Into<String>, V: Into<String>>(labels: I) -> Self {
        LabelSelector {
            match_labels: labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            match_expressions: Vec::new(),
        }
    }

    /// True if every label and every expression matches.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

/// `operator` of a node selector requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSelectorOperator {
    /// Label present with one of the values.
    In,
    /// Label absent, or present with none of the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
    /// Label present, parses as an integer, greater than the single value.
    Gt,
    /// Label present, parses as an integer, less than the single value.
    Lt,
}

/// One node selector requirement (`matchExpressions[]` or `matchFields[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorRequirement {
    /// Label key (or field path `metadata.name` in `matchFields`).
    pub key: String,
    /// The operator.
    pub operator: NodeSelectorOperator,
    /// The values.
    pub values: Vec<String>,
}

impl NodeSelectorRequirement {
    /// Matches against a label value lookup, with upstream's Gt/Lt rules (both sides parse as
    /// int64; leading zeros are fine; exactly one value).
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        match self.operator {
            NodeSelectorOperator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::Exists => value.is_some(),
            NodeSelectorOperator::DoesNotExist => value.is_none(),
            NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                let (Some(v), [bound]) = (value, self.values.as_slice()) else { return false };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else { return false };
                if self.operator == NodeSelectorOperator::Gt {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// One `nodeSelectorTerms[]` entry: its requirements are ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    /// Requirements on node labels.
    pub match_expressions: Vec<NodeSelectorRequirement>,
    /// Requirements on node fields (only `metadata.name` is supported upstream).
    pub match_fields: Vec<NodeSelectorRequirement>,
}

impl NodeSelectorTerm {
    /// True if the node matches. An empty term matches nothing (upstream).
    pub fn matches(&self, node_name: &str, node_labels: &Labels) -> bool {
        if self.match_expressions.is_empty() && self.match_fields.is_empty() {
            return false;
        }
        self.match_expressions.iter().all(|r| r.matches_value(node_labels.get(&r.key).map(String::as_str)))
            && self.match_fields.iter().all(|r| {
                r.key == "metadata.name"
                    && matches!(r.operator, NodeSelectorOperator::In | NodeSelectorOperator::NotIn)
                    && r.matches_value(Some(node_name))
            })
    }
}

/// A required node selector: terms are ORed; an empty list matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelector {
    /// `nodeSelectorTerms`.
    pub terms: Vec<NodeSelectorTerm>,
}

impl NodeSelector {
    /// True if any term matches.
    pub fn matches(&self, node_name: &str, node_labels: &Labels) -> bool {
        self.terms.iter().any(|t| t.matches(node_name, node_labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn req(key: &str, op: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn gt_lt_parse_integers_with_leading_zeros() {
        let l = labels(&[("gen", "0206")]);
        let gt = req("gen", NodeSelectorOperator::Gt, &["0204"]);
        assert!(gt.matches_value(l.get("gen").map(String::as_str)));
        let lt = req("gen", NodeSelectorOperator::Lt, &["0204"]);
        assert!(!lt.matches_value(Some("0206")));
        assert!(!gt.matches_value(Some("abc")));
        assert!(!gt.matches_value(None));
        assert!(!req("gen", NodeSelectorOperator::Gt, &["1", "2"]).matches_value(Some("5")));
    }

    #[test]
    fn empty_terms_match_nothing_and_terms_are_ored() {
        let l = labels(&[("zone", "a")]);
        assert!(!NodeSelectorTerm::default().matches("n", &l));
        assert!(!NodeSelector::default().matches("n", &l));
        let sel = NodeSelector {
            terms: vec![
                NodeSelectorTerm {
                    match_expressions: vec![req("zone", NodeSelectorOperator::In, &["b"])],
                    ..Default::default()
                },
                NodeSelectorTerm {
                    match_expressions: vec![req("zone", NodeSelectorOperator::In, &["a"])],
                    ..Default::default()
                },
            ],
        };
        assert!(sel.matches("n", &l));
    }

    #[test]
    fn match_fields_support_metadata_name_only() {
        let t = NodeSelectorTerm {
            match_fields: vec![req("metadata.name", NodeSelectorOperator::In, &["n1"])],
            ..Default::default()
        };
        assert!(t.matches("n1", &Labels::new()));
        assert!(!t.matches("n2", &Labels::new()));
        let bad = NodeSelectorTerm {
            match_fields: vec![req("metadata.uid", NodeSelectorOperator::In, &["n1"])],
            ..Default::default()
        };
        assert!(!bad.matches("n1", &Labels::new()));
    }

    #[test]
    fn label_selector_semantics() {
        let l = labels(&[("app", "web"), ("tier", "fe")]);
        assert!(LabelSelector::default().matches(&l));
        assert!(LabelSelector::from_labels([("app", "web")]).matches(&l));
        let notin = LabelSelector {
            match_expressions: vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: LabelSelectorOperator::NotIn,
                values: vec!["prod".into()],
            }],
            ..Default::default()
        };
        assert!(notin.matches(&l));
    }
}
