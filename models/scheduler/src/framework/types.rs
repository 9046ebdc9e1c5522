//! The scheduler's view of pods and nodes: [`Resource`], [`PodInfo`], [`NodeInfo`]
//! (upstream `framework/types.go`).

use std::sync::Arc;

use kubesim_api::{Container, Node, ObjectKey, Pod, Protocol, ResourceList, ResourceName};

/// Dense node id: a slot in the [`Snapshot`](super::Snapshot); stable while the node exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// As an index.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// CPU assumed for a container without a CPU request, for scoring only (upstream `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory assumed for a container without a memory request, for scoring only (200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Resource amounts with fixed fields for the hot resources and a small sorted vec for the rest
/// (upstream `framework.Resource`). CPU in millicores, everything else in base units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU, millicores.
    pub milli_cpu: i64,
    /// Memory, bytes.
    pub memory: i64,
    /// Ephemeral storage, bytes.
    pub ephemeral_storage: i64,
    /// Pod count (only meaningful for node allocatable).
    pub allowed_pod_number: i64,
    /// Extended resources and hugepages, sorted by name.
    pub scalar_resources: Vec<(ResourceName, i64)>,
}

impl Resource {
    /// From a `ResourceList` (absent = 0).
    pub fn from_list(list: &ResourceList) -> Self {
        let mut r = Resource::default();
        for (name, v) in list.iter() {
            r.add_named(name, v);
        }
        r
    }

    /// The amount of `name`.
    pub fn get(&self, name: &ResourceName) -> i64 {
        match name {
            ResourceName::Cpu => self.milli_cpu,
            ResourceName::Memory => self.memory,
            ResourceName::EphemeralStorage => self.ephemeral_storage,
            ResourceName::Pods => self.allowed_pod_number,
            other => self.scalar(other),
        }
    }

    /// A scalar resource's amount (0 if absent).
    pub fn scalar(&self, name: &ResourceName) -> i64 {
        match self.scalar_resources.binary_search_by(|(n, _)| n.cmp(name)) {
            Ok(i) => self.scalar_resources[i].1,
            Err(_) => 0,
        }
    }

    fn scalar_mut(&mut self, name: &ResourceName) -> &mut i64 {
        let i = match self.scalar_resources.binary_search_by(|(n, _)| n.cmp(name)) {
            Ok(i) => i,
            Err(i) => {
                self.scalar_resources.insert(i, (name.clone(), 0));
                i
            }
        };
        &mut self.scalar_resources[i].1
    }

    /// Adds `v` to `name`.
    pub fn add_named(&mut self, name: &ResourceName, v: i64) {
        match name {
            ResourceName::Cpu => self.milli_cpu += v,
            ResourceName::Memory => self.memory += v,
            ResourceName::EphemeralStorage => self.ephemeral_storage += v,
            ResourceName::Pods => self.allowed_pod_number += v,
            other => *self.scalar_mut(other) += v,
        }
    }

    /// Sets `name` to `v`.
    pub fn set_named(&mut self, name: &ResourceName, v: i64) {
        match name {
            ResourceName::Cpu => self.milli_cpu = v,
            ResourceName::Memory => self.memory = v,
            ResourceName::EphemeralStorage => self.ephemeral_storage = v,
            ResourceName::Pods => self.allowed_pod_number = v,
            other => *self.scalar_mut(other) = v,
        }
    }

    /// Adds every amount of `other` times `sign` (+1 / −1).
    pub fn add_scaled(&mut self, other: &Resource, sign: i64) {
        self.milli_cpu += sign * other.milli_cpu;
        self.memory += sign * other.memory;
        self.ephemeral_storage += sign * other.ephemeral_storage;
        self.allowed_pod_number += sign * other.allowed_pod_number;
        for (n, v) in &other.scalar_resources {
            *self.scalar_mut(n) += sign * v;
        }
    }

    /// Raises each amount to at least `other`'s (upstream `maxResourceList`).
    pub fn max_with(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.max(other.allowed_pod_number);
        for (n, v) in &other.scalar_resources {
            let e = self.scalar_mut(n);
            *e = (*e).max(*v);
        }
    }

    /// True when every amount is zero.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.allowed_pod_number == 0
            && self.scalar_resources.iter().all(|(_, v)| *v == 0)
    }
}

/// Options for [`compute_pod_resources`], from feature gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodResourcesOptions {
    /// PodLevelResources: pod-level cpu/memory/hugepages requests replace the container sums.
    pub pod_level_resources: bool,
}

impl Default for PodResourcesOptions {
    fn default() -> Self {
        PodResourcesOptions { pod_level_resources: true }
    }
}

fn container_requests(c: &Container, non_zero: Option<(bool, bool)>) -> Resource {
    let mut r = Resource::from_list(&c.resources.requests);
    if let Some((default_cpu, default_memory)) = non_zero {
        if default_cpu && !c.resources.requests.contains(&ResourceName::Cpu) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if default_memory && !c.resources.requests.contains(&ResourceName::Memory) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// Upstream `component-helpers resource.PodRequests` (§5.1): running containers plus sidecars, the
/// init-container peak, pod-level requests, then overhead. `non_zero` = `Some((cpu, memory))`
/// applies the scoring defaults to containers missing those requests.
fn pod_requests(pod: &Pod, opts: PodResourcesOptions, non_zero: Option<(bool, bool)>) -> Resource {
    let mut reqs = Resource::default();
    for c in &pod.spec.containers {
        reqs.add_scaled(&container_requests(c, non_zero), 1);
    }
    let mut sidecar_sum = Resource::default();
    let mut init_peak = Resource::default();
    for c in &pod.spec.init_containers {
        let mut this = container_requests(c, non_zero);
        if c.is_sidecar() {
            reqs.add_scaled(&this, 1);
            sidecar_sum.add_scaled(&this, 1);
            this = sidecar_sum.clone();
        } else {
            this.add_scaled(&sidecar_sum, 1);
        }
        init_peak.max_with(&this);
    }
    reqs.max_with(&init_peak);
    if opts.pod_level_resources {
        if let Some(pod_level) = &pod.spec.extras.resources {
            for (name, v) in pod_level.requests.iter() {
                if matches!(name, ResourceName::Cpu | ResourceName::Memory) || name.is_hugepages() {
                    reqs.set_named(name, v);
                }
            }
        }
    }
    for (name, v) in pod.spec.extras.overhead.iter() {
        reqs.add_named(name, v);
    }
    reqs
}

/// A pod's requests: real (for filtering) and non-zero cpu/memory (for scoring).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodResources {
    /// Real requests (filter; NodeInfo.requested).
    pub requests: Resource,
    /// CPU with the 100m default per container lacking a request (scoring; NodeInfo.non_zero_requested).
    pub non_zero_milli_cpu: i64,
    /// Memory with the 200 MiB default per container lacking a request.
    pub non_zero_memory: i64,
}

/// Computes [`PodResources`] as upstream `PodInfo.calculateResource`.
pub fn compute_pod_resources(pod: &Pod, opts: PodResourcesOptions) -> PodResources {
    let requests = pod_requests(pod, opts, None);
    let pod_level = opts.pod_level_resources.then_some(pod.spec.extras.resources.as_ref()).flatten();
    let default_cpu = !pod_level.is_some_and(|r| r.requests.contains(&ResourceName::Cpu));
    let default_memory = !pod_level.is_some_and(|r| r.requests.contains(&ResourceName::Memory));
    let non_zero = if default_cpu || default_memory {
        pod_requests(pod, opts, Some((default_cpu, default_memory)))
    } else {
        requests.clone()
    };
    PodResources { non_zero_milli_cpu: non_zero.milli_cpu, non_zero_memory: non_zero.memory, requests }
}

/// A host port a pod uses: `(hostIP, protocol, hostPort)` with an empty IP normalised to `0.0.0.0`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    /// Host IP (`0.0.0.0` = all).
    pub ip: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Port number.
    pub port: i32,
}

impl HostPort {
    /// True if `self` and `other` cannot both be bound (upstream `HostPortInfo.CheckConflict`).
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.protocol == other.protocol
            && self.port == other.port
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// The host ports of a pod's containers (those with `hostPort > 0`), as upstream `getContainerPorts`.
pub fn pod_host_ports(pod: &Pod) -> Vec<HostPort> {
    pod.spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter())
        .filter(|p| p.host_port > 0)
        .map(|p| HostPort {
            ip: if p.host_ip.is_empty() { "0.0.0.0".to_string() } else { p.host_ip.clone() },
            protocol: p.protocol,
            port: p.host_port,
        })
        .collect()
}

/// A pod plus what the scheduler derives from it once (upstream `framework.PodInfo`).
/// Shared as `Arc<PodInfo>` between the queue, the snapshot and plugin states.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod, shared with the caller's object store (the cluster hands over its `Arc<Pod>`, so
    /// the scheduler's cache costs a reference count, not a copy). Changes go through
    /// `Arc::make_mut`, which copies only while the pod is shared.
    pub pod: Arc<Pod>,
    /// Requests (real and non-zero).
    pub resources: PodResources,
    /// Host ports used.
    pub host_ports: Vec<HostPort>,
}

impl PodInfo {
    /// Derives the info of `pod` (a `Pod` or a shared `Arc<Pod>`).
    pub fn new(pod: impl Into<Arc<Pod>>, opts: PodResourcesOptions) -> Self {
        let pod: Arc<Pod> = pod.into();
        let resources = compute_pod_resources(&pod, opts);
        let host_ports = pod_host_ports(&pod);
        PodInfo { pod, resources, host_ports }
    }

    /// The info of `pod`, a new version of the pod `self` is about: what is derived from the
    /// spec (requests, host ports) is taken from `self` when both versions share one spec (a
    /// status or metadata write), and derived anew otherwise.
    pub fn new_version(&self, pod: Arc<Pod>, opts: PodResourcesOptions) -> Self {
        if kubesim_api::Shared::ptr_eq(&self.pod.spec, &pod.spec) {
            let info =
                PodInfo { pod, resources: self.resources.clone(), host_ports: self.host_ports.clone() };
            if cfg!(debug_assertions) {
                let derived = PodInfo::new(Arc::clone(&info.pod), opts);
                debug_assert_eq!(
                    (&info.resources, &info.host_ports),
                    (&derived.resources, &derived.host_ports)
                );
            }
            info
        } else {
            PodInfo::new(pod, opts)
        }
    }

    /// `namespace/name`, built from the pod on each call: the scheduler keeps no copy of every
    /// pod's key (compare with [`has_key`](Self::has_key) / [`same_pod`](Self::same_pod)).
    pub fn key(&self) -> ObjectKey {
        self.pod.meta.key()
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        &self.pod.meta.namespace
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        &self.pod.meta.name
    }

    /// True if this is the pod with `key`.
    #[inline]
    pub fn has_key(&self, key: &ObjectKey) -> bool {
        self.pod.meta.name == key.name && self.pod.meta.namespace == key.namespace
    }

    /// True if both are the same pod (same namespace and name).
    #[inline]
    pub fn same_pod(&self, other: &PodInfo) -> bool {
        self.pod.meta.name == other.pod.meta.name && self.pod.meta.namespace == other.pod.meta.namespace
    }

    /// [`pod_key_hash`] of the pod's key.
    #[inline]
    pub fn key_hash(&self) -> u64 {
        key_hash_of(&self.pod.meta.namespace, &self.pod.meta.name)
    }

    /// `spec.priority` (0 when unset).
    pub fn priority(&self) -> i32 {
        self.pod.priority()
    }

    /// True if the pod has pod affinity or anti-affinity terms (upstream `PodsWithAffinity`).
    pub fn has_affinity(&self) -> bool {
        let a = &self.pod.spec.extras.affinity;
        !a.pod_affinity.is_empty() || !a.pod_anti_affinity.is_empty()
    }

    /// True if the pod has required anti-affinity terms (upstream `PodsWithRequiredAntiAffinity`).
    pub fn has_required_anti_affinity(&self) -> bool {
        !self.pod.spec.extras.affinity.pod_anti_affinity.required.is_empty()
    }
}

/// An image present on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageState {
    /// Normalised image name (one entry per name of the image).
    pub name: String,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// Everything the scheduler knows about one node (upstream `framework.NodeInfo`).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// Dense id.
    pub id: NodeId,
    /// The node object.
    pub node: Arc<Node>,
    /// Pods assigned (bound or assumed), in the order they were added.
    pub pods: Vec<Arc<PodInfo>>,
    /// Subset of `pods` with pod (anti-)affinity terms.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// Subset of `pods` with required anti-affinity terms.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// Host ports in use.
    pub used_ports: Vec<HostPort>,
    /// Σ real requests of `pods`.
    pub requested: Resource,
    /// Σ non-zero requests of `pods` (only cpu and memory are filled).
    pub non_zero_requested: Resource,
    /// The node's allocatable.
    pub allocatable: Resource,
    /// Images on the node, sorted by name (one entry per image name).
    pub image_states: Vec<ImageState>,
    /// `node.spec.unschedulable`, copied so that filters need not dereference the node.
    pub unschedulable: bool,
    /// `!node.spec.taints.is_empty()`, likewise.
    pub has_taints: bool,
    /// Bumped on every change.
    pub generation: u64,
    /// [`pod_key_hash`] of each of `pods`' keys, in the same order: finding a pod by key scans
    /// these (one cache line per eight pods) instead of following every pod's pointer to compare
    /// key strings. Kept by [`add_pod`](Self::add_pod) / [`remove_pod`](Self::remove_pod); when
    /// `pods` was changed directly (its length differs) lookups fall back to comparing keys.
    pod_key_hashes: Vec<u64>,
}

/// A 64-bit fingerprint of a pod key, for finding pods by key without comparing strings (equal
/// keys have equal fingerprints; a match is confirmed by comparing the keys). Fixed function of
/// the bytes: word-at-a-time multiply-xor, with the lengths mixed in and a final avalanche.
pub fn pod_key_hash(key: &ObjectKey) -> u64 {
    key_hash_of(&key.namespace, &key.name)
}

/// A 64-bit fingerprint of a node name (the [`pod_key_hash`] function with an empty namespace),
/// for the snapshot's name index.
#[inline]
pub(crate) fn name_hash(name: &str) -> u64 {
    key_hash_of("", name)
}

/// [`pod_key_hash`] of the key with this namespace and name.
fn key_hash_of(namespace: &str, name: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    #[inline]
    fn mix(mut h: u64, bytes: &[u8]) -> u64 {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            h = (h.rotate_left(23) ^ w).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
        (h.rotate_left(23) ^ bytes.len() as u64).wrapping_mul(K)
    }
    let h = mix(mix(0x243f_6a88_85a3_08d3, namespace.as_bytes()), name.as_bytes());
    // murmur3's fmix64: every input bit reaches every output bit.
    let mut x = h ^ (h >> 33);
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    #[cfg(test)]
    if test_collisions::ON.with(std::cell::Cell::get) {
        return x & 3;
    }
    x
}

/// Unit tests only: [`pod_key_hash`] keeps two bits on this thread, so that nearly every pod
/// collides with another and the code resolving collisions runs.
#[cfg(test)]
pub(crate) mod test_collisions {
    thread_local! {
        pub(crate) static ON: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}

/// Normalises an image name as upstream `normalizedImageName`: adds `:latest` when there is no tag or digest.
pub fn normalized_image_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(id: NodeId, node: Arc<Node>) -> Self {
        let mut info = NodeInfo {
            id,
            allocatable: Resource::default(),
            node,
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            used_ports: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            image_states: Vec::new(),
            unschedulable: false,
            has_taints: false,
            generation: 0,
            pod_key_hashes: Vec::new(),
        };
        info.refresh_node_derived();
        info
    }

    /// Replaces the node object (pods stay).
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.node = node;
        self.refresh_node_derived();
        self.generation += 1;
    }

    fn refresh_node_derived(&mut self) {
        self.allocatable = Resource::from_list(&self.node.status.allocatable);
        self.unschedulable = self.node.spec.unschedulable;
        self.has_taints = !self.node.spec.taints.is_empty();
        let mut images: Vec<ImageState> = Vec::new();
        for img in &self.node.status.images {
            for n in &img.names {
                images.push(ImageState { name: normalized_image_name(n), size_bytes: img.size_bytes });
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        images.dedup_by(|a, b| a.name == b.name);
        self.image_states = images;
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.node.meta.name
    }

    /// The image of that (normalised) name, if present.
    pub fn image(&self, normalized_name: &str) -> Option<&ImageState> {
        self.image_states
            .binary_search_by(|s| s.name.as_str().cmp(normalized_name))
            .ok()
            .map(|i| &self.image_states[i])
    }

    /// Adds a pod (upstream `NodeInfo.AddPodInfo`).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.update_sums(&pod, 1);
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if pod.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.used_ports.extend(pod.host_ports.iter().cloned());
        self.pods.push(pod);
        if self.pod_key_hashes.len() + 1 == self.pods.len() {
            self.pod_key_hashes.push(self.pods[self.pods.len() - 1].key_hash());
        } else {
            // `pods` was changed directly: fingerprint them all again.
            self.pod_key_hashes = self.pods.iter().map(|p| p.key_hash()).collect();
        }
        self.generation += 1;
    }

    /// The position in `pods` of the pod with this key, whose [`pod_key_hash`] is `hash`.
    #[inline]
    pub fn pod_position(&self, key: &ObjectKey, hash: u64) -> Option<usize> {
        self.pod_position_by(hash, |p| p.has_key(key))
    }

    /// The position in `pods` of the pod whose key has [`pod_key_hash`] `hash` and for which
    /// `is_it` holds.
    #[inline]
    pub(crate) fn pod_position_by(&self, hash: u64, is_it: impl Fn(&PodInfo) -> bool) -> Option<usize> {
        if self.pod_key_hashes.len() != self.pods.len() {
            return self.pods.iter().position(|p| is_it(p));
        }
        let mut from = 0;
        while let Some(i) = self.pod_key_hashes[from..].iter().position(|h| *h == hash) {
            let at = from + i;
            if is_it(&self.pods[at]) {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }

    /// The earlier version of `pod` (same namespace and name), if assigned here.
    pub(crate) fn version_of(&self, pod: &Pod) -> Option<&Arc<PodInfo>> {
        let (namespace, name) = (&pod.meta.namespace, &pod.meta.name);
        let hash = key_hash_of(namespace, name);
        self.pod_position_by(hash, |p| p.pod.meta.name == *name && p.pod.meta.namespace == *namespace)
            .map(|i| &self.pods[i])
    }

    /// The pod with this key, if assigned here.
    pub fn pod(&self, key: &ObjectKey) -> Option<&Arc<PodInfo>> {
        self.pod_position(key, pod_key_hash(key)).map(|i| &self.pods[i])
    }

    /// Removes the pod with this key; returns it if it was there (upstream `NodeInfo.RemovePod`).
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Option<Arc<PodInfo>> {
        self.remove_pod_hashed(key, pod_key_hash(key))
    }

    /// [`remove_pod`](Self::remove_pod) given the key's [`pod_key_hash`].
    pub fn remove_pod_hashed(&mut self, key: &ObjectKey, hash: u64) -> Option<Arc<PodInfo>> {
        let i = self.pod_position(key, hash)?;
        Some(self.remove_pod_at(i))
    }

    /// Removes `pods[i]` (a position from [`pod_position`](Self::pod_position)) and returns it.
    pub(crate) fn remove_pod_at(&mut self, i: usize) -> Arc<PodInfo> {
        if self.pod_key_hashes.len() == self.pods.len() {
            self.pod_key_hashes.remove(i);
        } else {
            // `pods` was changed directly: fingerprinted again on the next add.
            self.pod_key_hashes.clear();
        }
        let pod = self.pods.remove(i);
        if !self.pods_with_affinity.is_empty() {
            self.pods_with_affinity.retain(|p| !p.same_pod(&pod));
        }
        if !self.pods_with_required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.retain(|p| !p.same_pod(&pod));
        }
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.remove(j);
            }
        }
        self.update_sums(&pod, -1);
        self.generation += 1;
        pod
    }

    fn update_sums(&mut self, pod: &PodInfo, sign: i64) {
        self.requested.add_scaled(&pod.resources.requests, sign);
        self.non_zero_requested.milli_cpu += sign * pod.resources.non_zero_milli_cpu;
        self.non_zero_requested.memory += sign * pod.resources.non_zero_memory;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{ResourceRequirements, RestartPolicy};

    fn container(cpu: Option<i64>, mem: Option<i64>) -> Container {
        let mut requests = ResourceList::new();
        if let Some(c) = cpu {
            requests.set(ResourceName::Cpu, c);
        }
        if let Some(m) = mem {
            requests.set(ResourceName::Memory, m);
        }
        Container { resources: ResourceRequirements { requests, ..Default::default() }, ..Default::default() }
    }

    #[test]
    fn a_new_version_sharing_the_spec_keeps_the_requests_and_one_with_a_new_spec_derives_them() {
        let mut pod = Pod::default();
        pod.spec.containers = vec![container(Some(300), Some(64))].into();
        let first = PodInfo::new(pod.clone(), PodResourcesOptions::default());
        // A status write: the same spec, shared.
        let mut status_write = pod.clone();
        status_write.status.phase = kubesim_api::PodPhase::Running;
        let next = first.new_version(Arc::new(status_write), PodResourcesOptions::default());
        assert_eq!(next.pod.status.phase, kubesim_api::PodPhase::Running);
        assert_eq!((next.resources.requests.milli_cpu, next.resources.requests.memory), (300, 64));
        // A resize: the spec is copied on write, so its requests are read again.
        let mut resized = pod;
        resized.spec.containers = vec![container(Some(500), Some(64))].into();
        let after = next.new_version(Arc::new(resized), PodResourcesOptions::default());
        assert_eq!(after.resources.requests.milli_cpu, 500);
    }

    #[test]
    fn init_peak_counts_sidecars_declared_before_it() {
        // sidecar 100m, then init 500m, then sidecar 200m; app 300m.
        // running = 300 + 100 + 200 = 600; init peak = max(100 [sidecar's own: running sum],
        // 500 + 100 = 600, 300 [second sidecar: 100+200]) = 600 ⇒ 600.
        // Raise the plain init to 700: peak = 800 > 600 ⇒ 800.
        let mut pod = Pod::default();
        pod.spec.containers = vec![container(Some(300), Some(0))].into();
        let mut sc1 = container(Some(100), Some(0));
        sc1.restart_policy = Some(RestartPolicy::Always);
        let init = container(Some(700), Some(0));
        let mut sc2 = container(Some(200), Some(0));
        sc2.restart_policy = Some(RestartPolicy::Always);
        pod.spec.init_containers = vec![sc1, init, sc2].into();
        let r = compute_pod_resources(&pod, PodResourcesOptions::default());
        assert_eq!(r.requests.milli_cpu, 800);
        pod.spec.init_containers[1] = container(Some(500), Some(0));
        assert_eq!(compute_pod_resources(&pod, PodResourcesOptions::default()).requests.milli_cpu, 600);
    }

    #[test]
    fn non_zero_defaults_apply_per_container_missing_a_request_only() {
        // Two containers: one without any request, one with explicit cpu 0 and memory 1 GiB.
        // real: cpu 0, mem 1Gi. non-zero: cpu 100m (first) + 0 (explicit), mem 200Mi + 1Gi.
        let mut pod = Pod::default();
        pod.spec.containers = vec![container(None, None), container(Some(0), Some(1 << 30))].into();
        let r = compute_pod_resources(&pod, PodResourcesOptions::default());
        assert_eq!(r.requests.milli_cpu, 0);
        assert_eq!(r.non_zero_milli_cpu, 100);
        assert_eq!(r.non_zero_memory, DEFAULT_MEMORY_REQUEST + (1 << 30));
    }

    #[test]
    fn a_pod_without_containers_gets_no_defaults_but_overhead_counts() {
        let mut pod = Pod::default();
        pod.spec.extras.overhead = ResourceList::new().with_cpu_millis(250);
        let r = compute_pod_resources(&pod, PodResourcesOptions::default());
        assert_eq!((r.requests.milli_cpu, r.non_zero_milli_cpu, r.non_zero_memory), (250, 250, 0));
    }

    #[test]
    fn host_ports_conflict_on_same_protocol_port_and_overlapping_ip() {
        let any = HostPort { ip: "0.0.0.0".into(), protocol: Protocol::Tcp, port: 80 };
        let one = HostPort { ip: "10.0.0.1".into(), protocol: Protocol::Tcp, port: 80 };
        let two = HostPort { ip: "10.0.0.2".into(), protocol: Protocol::Tcp, port: 80 };
        let udp = HostPort { ip: "0.0.0.0".into(), protocol: Protocol::Udp, port: 80 };
        assert!(any.conflicts_with(&one) && one.conflicts_with(&any));
        assert!(!one.conflicts_with(&two));
        assert!(!udp.conflicts_with(&any));
    }

    #[test]
    fn image_names_get_latest_when_untagged() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(normalized_image_name("nginx:1.2"), "nginx:1.2");
        assert_eq!(normalized_image_name("registry:5000/nginx"), "registry:5000/nginx:latest");
        assert_eq!(normalized_image_name("nginx@sha256:abc"), "nginx@sha256:abc");
    }
}
