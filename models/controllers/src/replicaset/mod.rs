//! ReplicaSet controller decision core (`pkg/controller/replicaset/replica_set.go`).
//!
//! | module | job |
//! |---|---|
//! | [`manage`] | create/delete diff with the 500 burst, slow-start batches |
//! | [`expectations`] | in-flight creates/deletes with the 5-minute TTL |
//! | [`ranking`] | which pods a scale-down deletes first |

pub mod expectations;
pub mod manage;
pub mod ranking;
