//! Why a pod landed where it did: the per-node record behind `kubesim schedule --output json`.
//! Recorded only when asked for ([`crate::Scheduler::set_record_diagnosis`]), so the hot path
//! allocates nothing for it.

use serde::Serialize;

use crate::framework::{Code, FilterRecord, ScoreRecord};

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for FilterRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FilterRecord", 3)?;
        st.serialize_field("plugin", self.plugin)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("reasons", &self.reasons)?;
        st.end()
    }
}

impl Serialize for ScoreRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ScoreRecord", 4)?;
        st.serialize_field("plugin", self.plugin)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("normalized", &self.normalized)?;
        st.serialize_field("weight", &self.weight)?;
        st.end()
    }
}

/// One node examined in a cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeDiagnosis {
    /// Node name.
    pub name: String,
    /// Every filter plugin that ran, in order (the last one failed unless the node is feasible).
    pub filters: Vec<FilterRecord>,
    /// Every score plugin, for feasible nodes that were scored (empty otherwise).
    pub scores: Vec<ScoreRecord>,
    /// Σ weight × normalized, for scored nodes.
    pub total: Option<i64>,
}

/// A status as recorded (PreFilter rejection, PostFilter outcome).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRecord {
    /// Plugin.
    pub plugin: String,
    /// Code.
    pub code: Code,
    /// Reasons.
    pub reasons: Vec<String>,
}

impl From<&crate::framework::Status> for StatusRecord {
    fn from(s: &crate::framework::Status) -> Self {
        StatusRecord {
            plugin: s.plugin().to_string(),
            code: s.code(),
            reasons: s.reasons().iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// The record of one scheduling cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// `namespace/name`.
    pub pod: String,
    /// The profile (schedulerName) or policy that ran.
    pub profile: String,
    /// Nodes whose filters ran, in examination order.
    pub evaluated_nodes: usize,
    /// Of those, nodes that passed.
    pub feasible_nodes: usize,
    /// The nominated node was tried first and passed.
    pub used_nominated_node: bool,
    /// Set when a PreFilter rejected the pod (no node was examined).
    pub pre_filter: Option<StatusRecord>,
    /// Examined nodes in examination order.
    pub nodes: Vec<NodeDiagnosis>,
    /// Set when PostFilter (preemption) ran.
    pub post_filter: Option<StatusRecord>,
    /// The chosen node.
    pub selected: Option<String>,
}
