//! Research placement policies beside the default profile.
//!
//! A [`Policy`] replaces *scoring and selection* only: the profile's PreFilter and Filter plugins
//! still decide feasibility (so taints, affinity, resources and ports are respected), and Reserve
//! and Bind run as usual. Policies examine nodes in node-tree order starting from the first node
//! (not the round-robin start), collecting [`Policy::feasible_nodes_wanted`] feasible nodes.
//!
//! | name | rule |
//! |---|---|
//! | `first-fit` | the first feasible node |
//! | `best-fit` | the tightest node: least free cpu+memory fraction left after placing the pod |
//! | `worst-fit` | the emptiest node: most free fraction left |
//! | `random` | uniform among feasible nodes (stream `scheduler.policy`) |
//! | `dot-product` | Tetris alignment: max Σ_r (request_r / alloc_r) · (free_r / alloc_r) |
//!
//! Ties go to the earliest node in examination order. See `examples/my_policy.rs` for writing one.

use std::fmt::Debug;

use sim_core::RngStream;

use crate::framework::{NodeId, NodeInfo, PodInfo, Snapshot};

/// What a policy may read, and its random stream.
#[derive(Debug)]
pub struct PolicyContext<'a> {
    /// The cluster.
    pub snapshot: &'a Snapshot,
    /// Seeded randomness (stream `scheduler.policy`).
    pub rng: &'a mut RngStream,
}

impl PolicyContext<'_> {
    /// A node by id.
    pub fn node(&self, id: NodeId) -> &NodeInfo {
        self.snapshot.node(id)
    }
}

/// A placement policy: picks one of the feasible nodes.
pub trait Policy: Debug + Send {
    /// The name it is selected by (`--policy NAME`).
    fn name(&self) -> &str;

    /// How many feasible nodes to find before choosing (default: all nodes).
    fn feasible_nodes_wanted(&self, num_nodes: usize) -> usize {
        num_nodes
    }

    /// Index into `feasible` of the chosen node (`None`: leave the pod unscheduled this attempt).
    fn select(&mut self, ctx: &mut PolicyContext<'_>, pod: &PodInfo, feasible: &[NodeId]) -> Option<usize>;
}

/// Index of the maximum of `key` over `feasible` (first on ties).
pub fn argmax_by(feasible: &[NodeId], mut key: impl FnMut(NodeId) -> f64) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &id) in feasible.iter().enumerate() {
        let k = key(id);
        if best.is_none_or(|(_, b)| k > b) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

/// Free fractions of cpu and memory after placing `pod` on `node` (real requests).
pub fn free_fractions_after(pod: &PodInfo, node: &NodeInfo) -> [f64; 2] {
    let frac = |alloc: i64, used: i64, req: i64| {
        if alloc <= 0 {
            0.0
        } else {
            (alloc - used - req) as f64 / alloc as f64
        }
    };
    let r = &pod.resources.requests;
    [
        frac(node.allocatable.milli_cpu, node.requested.milli_cpu, r.milli_cpu),
        frac(node.allocatable.memory, node.requested.memory, r.memory),
    ]
}

/// The first feasible node.
#[derive(Debug, Default)]
pub struct FirstFit;

impl Policy for FirstFit {
    fn name(&self) -> &str {
        "first-fit"
    }
    fn feasible_nodes_wanted(&self, _: usize) -> usize {
        1
    }
    fn select(&mut self, _: &mut PolicyContext<'_>, _: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        (!feasible.is_empty()).then_some(0)
    }
}

/// The tightest feasible node.
#[derive(Debug, Default)]
pub struct BestFit;

impl Policy for BestFit {
    fn name(&self) -> &str {
        "best-fit"
    }
    fn select(&mut self, ctx: &mut PolicyContext<'_>, pod: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        argmax_by(feasible, |id| {
            let [c, m] = free_fractions_after(pod, ctx.node(id));
            -(c + m)
        })
    }
}

/// The emptiest feasible node.
#[derive(Debug, Default)]
pub struct WorstFit;

impl Policy for WorstFit {
    fn name(&self) -> &str {
        "worst-fit"
    }
    fn select(&mut self, ctx: &mut PolicyContext<'_>, pod: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        argmax_by(feasible, |id| {
            let [c, m] = free_fractions_after(pod, ctx.node(id));
            c + m
        })
    }
}

/// A uniformly random feasible node.
#[derive(Debug, Default)]
pub struct RandomFit;

impl Policy for RandomFit {
    fn name(&self) -> &str {
        "random"
    }
    fn select(&mut self, ctx: &mut PolicyContext<'_>, _: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        (!feasible.is_empty()).then(|| ctx.rng.below(feasible.len() as u64) as usize)
    }
}

/// Tetris-style alignment of the pod's demand with the node's free capacity (Grandl et al. 2014).
#[derive(Debug, Default)]
pub struct DotProduct;

impl Policy for DotProduct {
    fn name(&self) -> &str {
        "dot-product"
    }
    fn select(&mut self, ctx: &mut PolicyContext<'_>, pod: &PodInfo, feasible: &[NodeId]) -> Option<usize> {
        let r = &pod.resources.requests;
        argmax_by(feasible, |id| {
            let n = ctx.node(id);
            let term = |req: i64, alloc: i64, used: i64| {
                if alloc <= 0 {
                    0.0
                } else {
                    (req as f64 / alloc as f64) * ((alloc - used) as f64 / alloc as f64)
                }
            };
            let mut s = term(r.milli_cpu, n.allocatable.milli_cpu, n.requested.milli_cpu)
                + term(r.memory, n.allocatable.memory, n.requested.memory);
            for (name, q) in &r.scalar_resources {
                s += term(*q, n.allocatable.scalar(name), n.requested.scalar(name));
            }
            s
        })
    }
}

/// Names accepted by [`policy_by_name`].
pub const POLICY_NAMES: &[&str] = &["first-fit", "best-fit", "worst-fit", "random", "dot-product"];

/// A built-in policy by name (`tetris` is an alias of `dot-product`).
pub fn policy_by_name(name: &str) -> Option<Box<dyn Policy>> {
    Some(match name {
        "first-fit" => Box::new(FirstFit),
        "best-fit" => Box::new(BestFit),
        "worst-fit" => Box::new(WorstFit),
        "random" => Box::new(RandomFit),
        "dot-product" | "tetris" => Box::new(DotProduct),
        _ => return None,
    })
}
