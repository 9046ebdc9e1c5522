//! PodDisruptionBudget controller and the Eviction API's budget check.
//!
//! | module | job |
//! |---|---|
//! | [`budget`] | `status` of a PDB: expected pods, currentHealthy, desiredHealthy, disruptionsAllowed |
//! | [`eviction`] | `POST pods/<name>/eviction`: allowed, or 429 TooManyRequests, and the PDB decrement |

pub mod budget;
pub mod eviction;

pub use budget::{compute_status, pods_for_pdb, ControllerScales, PdbError, PdbStatus, DELETION_TIMEOUT};
pub use eviction::{evict, EvictionDecision};
