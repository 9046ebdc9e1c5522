//! Object metadata shared by every kind.

use std::collections::BTreeMap;
use std::fmt;

use sim_core::SimTime;

use crate::name::Name;
use crate::shared::Shared;

/// Labels and annotations: ordered maps, so iteration never depends on hashing.
pub type Labels = BTreeMap<String, String>;

/// `metadata` of an object. Times are [`SimTime`]: nanoseconds since the start of a simulated run,
/// or, for objects read from a real cluster dump (RFC 3339 timestamps), since the Unix epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// `metadata.name` (shared by the object's versions and the keys that name it).
    pub name: Name,
    /// `metadata.namespace` (`default` when absent on a namespaced kind; empty for cluster-scoped).
    pub namespace: Name,
    /// `metadata.uid` (loaders invent a deterministic one when absent).
    pub uid: Name,
    /// `metadata.labels`.
    pub labels: Shared<Labels>,
    /// `metadata.annotations`.
    pub annotations: Shared<Labels>,
    /// `metadata.ownerReferences`.
    pub owner_references: Shared<Vec<OwnerReference>>,
    /// `metadata.creationTimestamp`.
    pub creation_timestamp: SimTime,
    /// `metadata.deletionTimestamp`: set once the object is terminating.
    pub deletion_timestamp: Option<SimTime>,
    /// `metadata.deletionGracePeriodSeconds`.
    pub deletion_grace_period_seconds: Option<i64>,
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.resourceVersion`, as the API store's monotonically increasing counter.
    pub resource_version: u64,
}

impl ObjectMeta {
    /// Metadata with a name and namespace, everything else default.
    pub fn named(namespace: &str, name: &str) -> Self {
        ObjectMeta { name: name.into(), namespace: namespace.into(), ..Default::default() }
    }

    /// `namespace/name` (or just `name` for cluster-scoped objects).
    pub fn key(&self) -> ObjectKey {
        ObjectKey { namespace: self.namespace.clone(), name: self.name.clone() }
    }

    /// The controller owner reference (`controller: true`), if any.
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references.iter().find(|o| o.controller)
    }

    /// True once `deletionTimestamp` is set.
    pub fn is_terminating(&self) -> bool {
        self.deletion_timestamp.is_some()
    }
}

/// `metadata.ownerReferences[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerReference {
    /// Kind of the owner (`ReplicaSet`, `Deployment`, `Job`, …).
    pub kind: String,
    /// Name of the owner (same namespace).
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// True for the managing controller.
    pub controller: bool,
}

/// `namespace/name`: how objects are named in logs, errors and outputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// Empty for cluster-scoped objects.
    pub namespace: Name,
    /// The object's name.
    pub name: Name,
}

impl ObjectKey {
    /// A key from its parts.
    pub fn new(namespace: &str, name: &str) -> Self {
        ObjectKey { namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// Well-known label keys.
pub mod well_known {
    /// `kubernetes.io/hostname`.
    pub const HOSTNAME: &str = "kubernetes.io/hostname";
    /// `topology.kubernetes.io/zone`.
    pub const ZONE: &str = "topology.kubernetes.io/zone";
    /// `topology.kubernetes.io/region`.
    pub const REGION: &str = "topology.kubernetes.io/region";
    /// The label a Deployment adds to its ReplicaSets' pods.
    pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
    /// Annotation ranking pods for ReplicaSet scale-down.
    pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
    /// Taint on unschedulable (cordoned) nodes.
    pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
    /// Taint added by the node lifecycle controller when Ready=False.
    pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
    /// Taint added by the node lifecycle controller when Ready=Unknown.
    pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    /// Taint added under memory pressure.
    pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
}
