//! Usage metrics from the simulated runtimes: per container CPU (average over the interval since
//! the previous sample), throttling and working set; per node CPU and memory used against
//! allocatable. Sampling reads the runtimes' lazy accounting (bringing it up to date), never the
//! event queue, so the event log does not depend on the sampling interval.

use crate::metrics::{names, MetricSample};

use super::*;

impl<W: Write> Cluster<W> {
    /// Samples usage now, node by node in index order, containers in id order. Call it at each
    /// sampling instant (after [`Cluster::sample_metrics`]): the CPU figures are averages since
    /// the previous call. Crashed nodes report nothing.
    pub fn sample_node_metrics(&mut self) -> Vec<MetricSample> {
        self.sample_node_metrics_where(true).0
    }

    /// As [`Cluster::sample_node_metrics`], but the per-container rows are built only when
    /// `per_container`; otherwise they are skipped and only counted: the second value is the
    /// number of containers whose three rows were skipped. The runtimes' accounting advances
    /// either way, so a later sample reads the same averages.
    pub fn sample_node_metrics_where(&mut self, per_container: bool) -> (Vec<MetricSample>, u64) {
        let now = self.queue.now();
        let mut skipped = 0u64;
        let w = &mut self.world;
        let mut out = Vec::new();
        for i in 0..w.nodes.len() {
            if w.node_crashed(i as u32) {
                continue;
            }
            let slot = &mut w.nodes[i];
            let usage = slot.runtime.usage(now);
            let (mut cpu_millis, mut memory_bytes) = (0f64, 0i64);
            for u in &usage {
                cpu_millis += u.cpu_millis;
                memory_bytes = memory_bytes.saturating_add(u.memory_working_set_bytes);
                if !per_container {
                    // Counted without reading the pod: the same yes/no as `container_owner`.
                    skipped += u64::from(slot.kubelet.knows_container(u.container));
                    continue;
                }
                let Some((pod, container)) = slot.kubelet.container_owner(u.container) else { continue };
                // `ObjectKey`'s display (no namespace: the name alone), then the container.
                let object = match pod.meta.namespace.as_str() {
                    "" => format!("{}/{container}", pod.meta.name),
                    namespace => format!("{namespace}/{}/{container}", pod.meta.name),
                };
                out.push(MetricSample {
                    metric: names::CONTAINER_CPU_USAGE,
                    object: object.clone(),
                    value: u.cpu_millis,
                });
                out.push(MetricSample {
                    metric: names::CONTAINER_CPU_THROTTLED,
                    object: object.clone(),
                    value: u.throttled_ratio,
                });
                out.push(MetricSample {
                    metric: names::CONTAINER_MEMORY_WORKING_SET,
                    object,
                    value: u.memory_working_set_bytes as f64,
                });
            }
            let Some(node) = w.store.nodes.get(&slot.name) else { continue };
            let alloc = &node.status.allocatable;
            let ratio = |used: f64, total: i64| if total > 0 { used / total as f64 } else { 0.0 };
            out.push(MetricSample {
                metric: names::NODE_CPU_USED,
                object: slot.name.clone(),
                value: ratio(cpu_millis, alloc.cpu_millis()),
            });
            out.push(MetricSample {
                metric: names::NODE_MEMORY_USED,
                object: slot.name.clone(),
                value: ratio(memory_bytes as f64, alloc.memory_bytes()),
            });
        }
        (out, skipped)
    }
}
