//! Node lifecycle and taint-based eviction (`pkg/controller/nodelifecycle`, `pkg/controller/tainteviction`,
//! admission `DefaultTolerationSeconds`).
//!
//! | module | job |
//! |---|---|
//! | [`health`] | heartbeat grace, Ready → Unknown, which NoExecute taint a node should carry |
//! | [`zones`] | zone states and the per-zone tainting rate limiter (token bucket in SimTime) |
//! | [`eviction`] | when a pod on a NoExecute-tainted node is deleted; default tolerations |

pub mod eviction;
pub mod health;
pub mod zones;
