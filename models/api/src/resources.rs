//! Resource amounts in canonical integer units.
//!
//! CPU is held in **millicores**; every other resource (memory, ephemeral storage, pods, extended
//! resources such as `nvidia.com/gpu`, hugepages) in its **base unit** (bytes or a count) — the same
//! `MilliValue()` / `Value()` split the scheduler and kubelet use upstream. Converting a
//! Kubernetes quantity string (`kubesim_manifests::Quantity`) into these units rounds up, as upstream does.

use std::collections::BTreeMap;
use std::fmt;

use smallvec::SmallVec;

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
///
/// Stored as a list sorted by name rather than a `BTreeMap`: a list holds two or three entries,
/// and a `BTreeMap` node costs ~460 bytes however few entries it has, several times per pod (every
/// container's requests and limits, in every copy of the pod). Up to two entries (CPU and memory,
/// the usual case) live inline: reading a request or a usage sample is then no pointer chase,
/// which the HPA and the metrics pipeline do for every pod every 15 s. Iteration order, equality
/// and the `Debug` form are those of the map.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ResourceList(SmallVec<[(ResourceName, i64); 2]>);

impl fmt::Debug for ResourceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The entries formatted as a map (what the `BTreeMap` field printed).
        struct Entries<'a>(&'a [(ResourceName, i64)]);
        impl fmt::Debug for Entries<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.iter().map(|(k, v)| (k, v))).finish()
            }
        }
        f.debug_tuple("ResourceList").field(&Entries(&self.0)).finish()
    }
}

impl ResourceList {
    /// The empty list.
    pub fn new() -> Self {
        ResourceList(SmallVec::new())
    }

    fn position(&self, name: &ResourceName) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(name))
    }

    /// Builder: sets `name` to `amount`.
    pub fn with(mut self, name: ResourceName, amount: i64) -> Self {
        self.set(name, amount);
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
        self.position(name).ok().map(|i| self.0[i].1)
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
        match self.position(&name) {
            Ok(i) => self.0[i].1 = amount,
            Err(i) => self.0.insert(i, (name, amount)),
        }
    }

    /// The entry of `name`, inserted with `default` if absent.
    fn entry(&mut self, name: &ResourceName, default: i64) -> &mut i64 {
        let i = match self.position(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name.clone(), default));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Adds `amount` to `name` (saturating).
    pub fn add(&mut self, name: &ResourceName, amount: i64) {
        let e = self.entry(name, 0);
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
            let e = self.entry(k, *v);
            *e = (*e).max(*v);
        }
    }

    /// True if `name` is present.
    pub fn contains(&self, name: &ResourceName) -> bool {
        self.position(name).is_ok()
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
        // Through a map: sorted, and a repeated name keeps its last amount, as before.
        let map: BTreeMap<ResourceName, i64> = iter.into_iter().collect();
        ResourceList(map.into_iter().collect())
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
    fn the_list_behaves_as_the_map_it_replaced() {
        let names = [ResourceName::Memory, ResourceName::parse("nvidia.com/gpu"), ResourceName::Cpu];
        let mut list = ResourceList::new();
        let mut map: BTreeMap<ResourceName, i64> = BTreeMap::new();
        for (i, n) in names.iter().cycle().take(9).enumerate() {
            let v = i as i64 * 7 - 20;
            match i % 3 {
                0 => {
                    list.set(n.clone(), v);
                    map.insert(n.clone(), v);
                }
                1 => {
                    list.add(n, v);
                    let e = map.entry(n.clone()).or_insert(0);
                    *e = e.saturating_add(v);
                }
                _ => {
                    list.max_with(&ResourceList::new().with(n.clone(), v));
                    let e = map.entry(n.clone()).or_insert(v);
                    *e = (*e).max(v);
                }
            }
            let entries: Vec<(ResourceName, i64)> = list.iter().map(|(k, v)| (k.clone(), v)).collect();
            let expected: Vec<(ResourceName, i64)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
            assert_eq!(entries, expected);
        }
        assert_eq!(format!("{list:?}"), format!("ResourceList({map:?})"));
        let collected: ResourceList =
            [(ResourceName::Cpu, 1), (ResourceName::Memory, 2), (ResourceName::Cpu, 3)].into_iter().collect();
        assert_eq!(collected, ResourceList::new().with_cpu_millis(3).with_memory_bytes(2));
    }

    #[test]
    fn absent_is_not_zero() {
        let r = ResourceList::new().with_cpu_millis(0);
        assert!(r.contains(&ResourceName::Cpu));
        assert!(!r.contains(&ResourceName::Memory));
        assert_eq!(r.memory_bytes(), 0);
    }
}
