//! # kubesim-controllers: kube-controller-manager's decisions, as pure functions
//!
//! Each controller's decision core is a set of pure functions and small state machines over plain
//! structs: they take objects, samples and `now` and return decisions. They never read a clock or
//! touch the event queue, so a level-triggered, sans-IO reconciler (in the simulator or on the
//! real backend) calls them unchanged. Semantics follow upstream Kubernetes (v1.35 by default;
//! version-dependent behaviour is a switch in each controller's config), integer arithmetic and
//! `float64` ratios included.
//!
//! | module | controller | entry points |
//! |---|---|---|
//! | [`hpa`] | HorizontalPodAutoscaler (autoscaling/v2) | [`hpa::reconcile()`], [`hpa::commit_scale`] |
//! | [`deployment`] | Deployment (RollingUpdate, Recreate, proportional scaling, status) | [`deployment::rolling::rolling_step`], [`deployment::proportional::proportional_scale`], [`deployment::status::sync_rollout_status`] |
//! | [`replicaset`] | ReplicaSet (burst, slow start, expectations, deletion ranking) | [`replicaset::manage::replica_diff`], [`replicaset::ranking::pods_to_delete`] |
//! | [`node_lifecycle`] | node lifecycle, zone rate limits, taint-based eviction | [`node_lifecycle::health::observed_ready`], [`node_lifecycle::eviction::eviction_time`] |
//! | [`endpoints`] | EndpointSlice (ready / serving / terminating endpoints behind a Service) | [`endpoints::desired_slices`], [`endpoints::ready_pods`] |
//! | [`disruption`] | PodDisruptionBudget status and the Eviction API check | [`disruption::compute_status`], [`disruption::evict`] |
//! | [`job`] | Job (completions, parallelism, backoffLimit, activeDeadlineSeconds, pod backoff) | [`job::sync_job`] |
//! | [`rate_limit`] | the workqueue's default controller rate limiter (shared 10 qps bucket) | [`rate_limit::ControllerRateLimiter::when`] |
//! | [`garbage_collector`] | ownerReference cascades (Background, Foreground, Orphan) | [`garbage_collector::delete_cascade`] |

#![warn(missing_docs, unreachable_pub)]

pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod garbage_collector;
pub mod hpa;
pub mod job;
pub mod node_lifecycle;
pub mod rate_limit;
pub mod replicaset;
