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
        let mut usages = node_usages(w, now).into_iter();
        let mut out = Vec::new();
        for i in 0..w.nodes.len() {
            if w.node_crashed(i as u32) {
                continue;
            }
            let slot = &mut w.nodes[i];
            let usage = usages.next().expect("one usage list per live node");
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

/// Every live (not crashed) node's container usage at `now`, in node order. The runtimes whose
/// usage is their own business ([`ClusterNodeRuntime::usage_is_local`], the simulated ones) are
/// advanced on the pool, each by itself, so the lists do not depend on how the work is split.
fn node_usages<W: Write>(w: &mut World<W>, now: SimTime) -> Vec<Vec<crate::node_runtime::ContainerUsage>> {
    use rayon::prelude::*;
    let live: Vec<bool> = (0..w.nodes.len()).map(|i| !w.node_crashed(i as u32)).collect();
    let mut runtimes: Vec<&mut Box<dyn ClusterNodeRuntime>> =
        w.nodes.iter_mut().zip(&live).filter(|(_, &live)| live).map(|(slot, _)| &mut slot.runtime).collect();
    // Below this many nodes a sample is not worth a hand-over to the pool.
    const PARALLEL_FROM: usize = 64;
    let parallel = rayon::current_num_threads() > 1
        && runtimes.len() >= PARALLEL_FROM
        && runtimes.iter().all(|r| r.usage_is_local());
    if parallel {
        runtimes.par_iter_mut().with_min_len(16).map(|r| r.usage(now)).collect()
    } else {
        runtimes.iter_mut().map(|r| r.usage(now)).collect()
    }
}
