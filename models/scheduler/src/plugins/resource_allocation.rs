//! The resource scorer shared by NodeResourcesFit's strategies and BalancedAllocation
//! (upstream `noderesources/resource_allocation.go`, `least_allocated.go`, `most_allocated.go`,
//! `requested_to_capacity_ratio.go`, `helper/shape_score.go`).

use kubesim_api::ResourceName;

use crate::config::args::{ResourceSpec, UtilizationShapePoint};
use crate::framework::{NodeInfo, PodInfo, MAX_NODE_SCORE};

/// Upstream `MaxCustomPriorityScore`: shape scores are 0..=10 and scaled by 100/10.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
/// Utilisation upper bound of a shape.
pub const MAX_UTILIZATION: i64 = 100;

/// A configured resource, parsed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedResource {
    /// Name.
    pub name: ResourceName,
    /// Weight.
    pub weight: i64,
}

/// Parses `ResourceSpec`s.
pub fn weighted_resources(specs: &[ResourceSpec]) -> Vec<WeightedResource> {
    specs.iter().map(|s| WeightedResource { name: ResourceName::parse(&s.name), weight: s.weight }).collect()
}

/// The pod's request for `name`: non-zero cpu/memory unless `use_requested` (upstream
/// `calculatePodResourceRequest`).
#[inline]
pub fn pod_request(pod: &PodInfo, name: &ResourceName, use_requested: bool) -> i64 {
    match name {
        ResourceName::Cpu if !use_requested => pod.resources.non_zero_milli_cpu,
        ResourceName::Memory if !use_requested => pod.resources.non_zero_memory,
        other => pod.resources.requests.get(other),
    }
}

/// (allocatable, requested + pod) of one resource on a node; (0, 0) means "skip this resource"
/// (upstream `calculateResourceAllocatableRequest`).
#[inline]
pub fn allocatable_and_requested(
    node: &NodeInfo,
    name: &ResourceName,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    let requested = if use_requested { &node.requested } else { &node.non_zero_requested };
    match name {
        ResourceName::Cpu => (node.allocatable.milli_cpu, requested.milli_cpu + pod_request),
        ResourceName::Memory => (node.allocatable.memory, requested.memory + pod_request),
        ResourceName::EphemeralStorage => {
            (node.allocatable.ephemeral_storage, node.requested.ephemeral_storage + pod_request)
        }
        other if other.is_scalar() => {
            if pod_request == 0 {
                (0, 0)
            } else {
                (node.allocatable.scalar(other), node.requested.scalar(other) + pod_request)
            }
        }
        _ => (0, 0),
    }
}

/// LeastAllocated per resource: `(capacity − requested) · 100 / capacity`, 0 if over capacity.
#[inline]
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// MostAllocated per resource: `min(requested, capacity) · 100 / capacity`.
#[inline]
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// A shape scaled to 0..=100 scores (upstream scales each score by 100/10).
pub fn scaled_shape(shape: &[UtilizationShapePoint]) -> Vec<(i64, i64)> {
    shape
        .iter()
        .map(|p| {
            (i64::from(p.utilization), i64::from(p.score) * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE))
        })
        .collect()
}

/// Upstream `BuildBrokenLinearFunction` evaluated at `p` (integer, truncating).
pub fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    for i in 0..shape.len() {
        if p <= shape[i].0 {
            if i == 0 {
                return shape[0].1;
            }
            let (u0, s0) = shape[i - 1];
            let (u1, s1) = shape[i];
            return s0 + (s1 - s0) * (p - u0) / (u1 - u0);
        }
    }
    shape.last().map(|s| s.1).unwrap_or(0)
}

/// RequestedToCapacityRatio per resource.
#[inline]
pub fn rtc_resource_score(shape: &[(i64, i64)], requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return broken_linear(shape, MAX_UTILIZATION);
    }
    broken_linear(shape, requested * MAX_UTILIZATION / capacity)
}

/// Which per-resource function and how they are combined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scorer {
    /// Weighted integer mean of least-requested scores.
    LeastAllocated,
    /// Weighted integer mean of most-requested scores.
    MostAllocated,
    /// Rounded weighted mean of positive shape scores.
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

impl Scorer {
    /// Combines per-resource (requested, allocatable) pairs; pairs with allocatable 0 are skipped.
    pub fn combine(&self, resources: &[WeightedResource], pairs: &[(i64, i64)]) -> i64 {
        let mut node_score: i64 = 0;
        let mut weight_sum: i64 = 0;
        for (r, &(alloc, req)) in resources.iter().zip(pairs) {
            if alloc == 0 {
                continue;
            }
            match self {
                Scorer::LeastAllocated => {
                    node_score += least_requested_score(req, alloc) * r.weight;
                    weight_sum += r.weight;
                }
                Scorer::MostAllocated => {
                    node_score += most_requested_score(req, alloc) * r.weight;
                    weight_sum += r.weight;
                }
                Scorer::RequestedToCapacityRatio(shape) => {
                    let s = rtc_resource_score(shape, req, alloc);
                    if s > 0 {
                        node_score += s * r.weight;
                        weight_sum += r.weight;
                    }
                }
            }
        }
        if weight_sum == 0 {
            return 0;
        }
        match self {
            // math.Round: half away from zero; both operands are non-negative here.
            Scorer::RequestedToCapacityRatio(_) => (node_score as f64 / weight_sum as f64).round() as i64,
            _ => node_score / weight_sum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_linear_interpolates_with_truncation() {
        // Shape (0,0)→(100,10) scaled ×10: f(p) = p; shape (0,10)→(100,0) reversed: f(p) = 100 − p.
        let up = scaled_shape(&[
            UtilizationShapePoint { utilization: 0, score: 0 },
            UtilizationShapePoint { utilization: 100, score: 10 },
        ]);
        assert_eq!(broken_linear(&up, 37), 37);
        let steps = vec![(10, 10), (50, 60), (80, 100)];
        assert_eq!(broken_linear(&steps, 5), 10, "below the first point: its score");
        assert_eq!(broken_linear(&steps, 30), 35, "10 + 50·20/40");
        assert_eq!(broken_linear(&steps, 51), 61, "60 + 40·1/30 = 61.33 → 61");
        assert_eq!(broken_linear(&steps, 95), 100, "beyond the last point: its score");
    }

    #[test]
    fn per_resource_scores_match_upstream_formulas() {
        assert_eq!(least_requested_score(3000, 10000), 70);
        assert_eq!(least_requested_score(11000, 10000), 0);
        assert_eq!(most_requested_score(3000, 10000), 30);
        assert_eq!(most_requested_score(11000, 10000), 100);
        assert_eq!(least_requested_score(1, 0), 0);
    }
}
