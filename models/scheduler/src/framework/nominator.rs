//! Pods nominated to nodes by preemption (upstream `nominator`): they reserve room on that node
//! for pods of equal or lower priority (§3.4).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::ObjectKey;

use super::types::PodInfo;

/// Nominated pods by node name.
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    by_node: BTreeMap<String, Vec<Arc<PodInfo>>>,
    node_of: BTreeMap<ObjectKey, String>,
}

impl Nominator {
    /// Empty.
    pub fn new() -> Self {
        Nominator::default()
    }

    /// True if no pod is nominated anywhere (the hot path then skips all nominated-pod work).
    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }

    /// Nominates `pod` to `node` (replacing any earlier nomination).
    pub fn add(&mut self, pod: Arc<PodInfo>, node: &str) {
        let key = pod.key();
        self.remove(&key);
        self.node_of.insert(key, node.to_string());
        self.by_node.entry(node.to_string()).or_default().push(pod);
    }

    /// Clears the nomination of a pod. Returns the node it was nominated to.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<String> {
        let node = self.node_of.remove(key)?;
        if let Some(v) = self.by_node.get_mut(&node) {
            v.retain(|p| !p.has_key(key));
            if v.is_empty() {
                self.by_node.remove(&node);
            }
        }
        Some(node)
    }

    /// The node a pod is nominated to.
    pub fn node_of(&self, key: &ObjectKey) -> Option<&str> {
        self.node_of.get(key).map(String::as_str)
    }

    /// Pods nominated to `node`, in nomination order.
    pub fn pods_for_node(&self, node: &str) -> &[Arc<PodInfo>] {
        self.by_node.get(node).map(Vec::as_slice).unwrap_or(&[])
    }
}
