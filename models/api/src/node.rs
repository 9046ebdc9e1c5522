//! Nodes.

use sim_core::SimTime;

use crate::meta::ObjectMeta;
use crate::pod::ConditionStatus;
use crate::resources::ResourceList;
use crate::scheduling::Taint;

/// A node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Metadata (labels carry zone and hostname).
    pub meta: ObjectMeta,
    /// Desired state.
    pub spec: NodeSpec,
    /// Observed state.
    pub status: NodeStatus,
}

/// `spec` of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSpec {
    /// Cordoned.
    pub unschedulable: bool,
    /// Taints.
    pub taints: Vec<Taint>,
}

/// A node condition type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeConditionType {
    /// `Ready`.
    Ready,
    /// `MemoryPressure`.
    MemoryPressure,
    /// `DiskPressure`.
    DiskPressure,
    /// `PIDPressure`.
    PidPressure,
    /// `NetworkUnavailable`.
    NetworkUnavailable,
    /// Anything else.
    Other(String),
}

/// `status.conditions[]` of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCondition {
    /// Which condition.
    pub kind: NodeConditionType,
    /// Status.
    pub status: ConditionStatus,
    /// Last heartbeat that reported it.
    pub last_heartbeat_time: Option<SimTime>,
    /// Last change.
    pub last_transition_time: Option<SimTime>,
    /// Reason.
    pub reason: Option<String>,
}

/// `status.images[]`: an image present on the node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerImage {
    /// Names (tags and digests) of the image.
    pub names: Vec<String>,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// `status` of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Capacity.
    pub capacity: ResourceList,
    /// Allocatable (what the scheduler uses). Loaders copy capacity when absent.
    pub allocatable: ResourceList,
    /// Conditions.
    pub conditions: Vec<NodeCondition>,
    /// Images present (for ImageLocality).
    pub images: Vec<ContainerImage>,
}

impl Node {
    /// The condition of a type, if reported.
    pub fn condition(&self, kind: &NodeConditionType) -> Option<&NodeCondition> {
        self.status.conditions.iter().find(|c| &c.kind == kind)
    }

    /// Ready=True, or no Ready condition at all (objects loaded without status are taken as ready).
    pub fn is_ready(&self) -> bool {
        self.condition(&NodeConditionType::Ready).is_none_or(|c| c.status == ConditionStatus::True)
    }
}
