//! Resource amounts in canonical integer units.
//!
//! CPU is held in **millicores**; every other resource (memory, ephemeral storage, pods, extended
//! resources such as `nvidia.com/gpu`, hugepages) in its **base unit** (bytes or a count) — the same
//! `MilliValue()` / `Value()` split the scheduler and kubelet use upstream. Converting a
//! Kubernetes quantity string (`kubesim_manifests::Quantity`) into these units rounds up, as upstream does.

use std::collections::BTreeMap;
use std::fmt;

/// Name of a resource. The four built-ins get their own variants so hot paths never compare strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// `cpu`, in millicores.
    Cpu,
    /// `memory`, in bytes.
    Memory,
    /// `ephemeral-storage`, in bytes.
    EphemeralStorage,
    /// `pods`, a count (node allocatable only).
    Pods,
    /// Anything else: extended resources (`nvidia.com/gpu`), `hugepages-2Mi`, … in base units.
    Other(String),
}

impl ResourceName {
    /// Parses the Kubernetes spelling.
    pub fn parse(name: &str) -> ResourceName {
        match name {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            "ephemeral-storage" => ResourceName::EphemeralStorage,
            "pods" => ResourceName::Pods,
            other => ResourceName::Other(other.to_string()),
        }
    }

    /// The Kubernetes spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
            ResourceName::EphemeralStorage => "ephemeral-storage",
            ResourceName::Pods => "pods",
            ResourceName::Other(s) => s,
        }
    }

    /// True for hugepages resources (`hugepages-<size>`).
    pub fn is_hugepages(&self) -> bool {
        matches!(self, ResourceName::Other(s) if s.starts_with("hugepages-"))
    }

    /// True for extended resources: a domain-qualified name outside `kubernetes.io/` (e.g.
    /// `nvidia.com/gpu`), as upstream's `IsExtendedResourceName`.
    pub fn is_extended(&self) -> bool {
        match self {
            ResourceName::Other(s) => {
                s.contains('/') && !s.starts_with("requests.") && {
                    let domain = s.split('/').next().unwrap_or("");
                    !(domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"))
                }
            }
            _ => false,
        }
    }

    /// True for resources the scheduler treats as scalar (extended, hugepages, attachable volumes).
    pub fn is_scalar(&self) -> bool {
        match self {
            ResourceName::Other(s) => {
                self.is_extended() || self.is_hugepages() || s.starts_with("attachable-volumes-")
            }
            _ => false,
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of resource amounts. An absent entry is different from an explicit zero (the scheduler's
/// non-zero defaults apply only to absent CPU and memory requests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceList(BTreeMap<ResourceName, i64>);

impl ResourceList {
    /// The empty list.
    pub fn new() -> Self {
        ResourceList(BTreeMap::new())
    }

    /// Builder: sets `name` to `amount`.
    pub fn with(mut self, name: ResourceName, amount: i64) -> Self {
        self.0.insert(name, amount);
        self
    }

    /// Builder shorthand for CPU in millicores.
    pub fn with_cpu_millis(self, cpu_millis: i64) -> Self {
        self.with(ResourceName::Cpu, cpu_millis)
    }

    /// Builder shorthand for memory in bytes.
    pub fn with_memory_bytes(self, memory_bytes: i64) -> Self {
        self.with(ResourceName::Memory, memory_bytes)
    }

    /// The amount of `name`, if present.
    pub fn get(&self, name: &ResourceName) -> Option<i64> {
        self.0.get(name).copied()
    }

    /// The amount of `name`, 0 if absent.
    pub fn get_or_zero(&self, name: &ResourceName) -> i64 {
        self.get(name).unwrap_or(0)
    }

    /// CPU in millicores (0 if absent).
    pub fn cpu_millis(&self) -> i64 {
        self.get_or_zero(&ResourceName::Cpu)
    }

    /// Memory in bytes (0 if absent).
    pub fn memory_bytes(&self) -> i64 {
        self.get_or_zero(&ResourceName::Memory)
    }

    /// Sets `name` to `amount`.
    pub fn set(&mut self, name: ResourceName, amount: i64) {
        self.0.insert(name, amount);
    }

    /// Adds `amount` to `name` (saturating).
    pub fn add(&mut self, name: &ResourceName, amount: i64) {
        let e = self.0.entry(name.clone()).or_insert(0);
        *e = e.saturating_add(amount);
    }

    /// Adds every entry of `other`.
    pub fn add_all(&mut self, other: &ResourceList) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    /// Raises each entry to at least `other`'s amount (entries only in `other` are copied).
    pub fn max_with(&mut self, other: &ResourceList) {
        for (k, v) in &other.0 {
            let e = self.0.entry(k.clone()).or_insert(*v);
            *e = (*e).max(*v);
        }
    }

    /// True if `name` is present.
    pub fn contains(&self, name: &ResourceName) -> bool {
        self.0.contains_key(name)
    }

    /// Entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&ResourceName, i64)> {
        self.0.iter().map(|(k, v)| (k, *v))
    }

    /// True when no entry is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(ResourceName, i64)> for ResourceList {
    fn from_iter<T: IntoIterator<Item = (ResourceName, i64)>>(iter: T) -> Self {
        ResourceList(iter.into_iter().collect())
    }
}

/// A container's (or pod's) requests and limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRequirements {
    /// `resources.requests`. Upstream defaulting copies a limit into an absent request; loaders do
    /// the same, so this is the effective request.
    pub requests: ResourceList,
    /// `resources.limits`.
    pub limits: ResourceList,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_and_scalar_names_follow_upstream() {
        assert!(ResourceName::parse("nvidia.com/gpu").is_extended());
        assert!(!ResourceName::parse("kubernetes.io/foo").is_extended());
        assert!(!ResourceName::parse("cpu").is_extended());
        assert!(ResourceName::parse("hugepages-2Mi").is_scalar());
        assert!(!ResourceName::parse("hugepages-2Mi").is_extended());
        assert_eq!(ResourceName::parse("memory"), ResourceName::Memory);
    }

    #[test]
    fn absent_is_not_zero() {
        let r = ResourceList::new().with_cpu_millis(0);
        assert!(r.contains(&ResourceName::Cpu));
        assert!(!r.contains(&ResourceName::Memory));
        assert_eq!(r.memory_bytes(), 0);
    }
}
