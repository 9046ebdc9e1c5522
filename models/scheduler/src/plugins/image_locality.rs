//! ImageLocality: prefer nodes that already have the pod's images, scaled by how widely each
//! image is spread (upstream `imagelocality/image_locality.go`).

use std::sync::Arc;

use crate::framework::types::normalized_image_name;
use crate::framework::{
    CycleState, Locality, NodeId, NodeInfo, Plugin, PluginContext, PodInfo, PreScorePlugin, ScorePlugin,
    Snapshot, Status, MAX_NODE_SCORE,
};

/// Upstream name.
pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
/// Sums below this score 0.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per-container cap.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The plugin.
#[derive(Debug, Default)]
pub struct ImageLocality;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(ImageLocality))
}

/// Per cycle: each container image (normalised) with the number of nodes having it, and the node count.
#[derive(Clone, Debug)]
struct PreScoreState {
    images: Vec<(String, u32)>,
    total_nodes: usize,
    num_containers: usize,
}

/// Upstream `calculatePriority`.
pub fn calculate_priority(sum_scores: i64, num_containers: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * num_containers as i64;
    let s = if sum_scores < MIN_THRESHOLD { MIN_THRESHOLD } else { sum_scores.min(max_threshold) };
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

/// Upstream `scaledImageScore`: size × (nodes having it / all nodes), truncated.
pub fn scaled_image_score(size_bytes: i64, num_nodes: u32, total_nodes: usize) -> i64 {
    let spread = f64::from(num_nodes) / total_nodes as f64;
    (size_bytes as f64 * spread) as i64
}

/// The pod's init-container then container images, as written.
fn images(pod: &PodInfo) -> impl Iterator<Item = &str> + '_ {
    let s = &pod.pod.spec;
    s.init_containers.iter().chain(s.containers.iter()).map(|c| c.image.as_str())
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn locality(&self) -> Locality {
        Locality::NodeAndImages
    }
    fn same_signature(&self, a: &PodInfo, b: &PodInfo) -> bool {
        // The images in order (their count is the container count the score divides by).
        images(a).eq(images(b))
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for ImageLocality {
    // Upstream has no PreScore; this one only precomputes names and node counts so Score does not
    // allocate. It never skips, so outputs are identical.
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[NodeId], snapshot: &Snapshot) -> Status {
        let spec = &pod.pod.spec;
        let images = spec
            .init_containers
            .iter()
            .chain(spec.containers.iter())
            .map(|c| {
                let n = normalized_image_name(&c.image);
                let count = snapshot.image_num_nodes(&n);
                (n, count)
            })
            .collect();
        state.write(PreScoreState {
            images,
            total_nodes: snapshot.len(),
            num_containers: spec.init_containers.len() + spec.containers.len(),
        });
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    #[inline]
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s =
            state.read::<PreScoreState>().ok_or_else(|| Status::error("ImageLocality: no PreScore state"))?;
        let mut sum = 0i64;
        if !node.image_states.is_empty() {
            for (name, count) in &s.images {
                if let Some(img) = node.image(name) {
                    sum += scaled_image_score(img.size_bytes, *count, s.total_nodes);
                }
            }
        }
        Ok(calculate_priority(sum, s.num_containers))
    }
}
