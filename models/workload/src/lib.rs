//! # kubesim-workload: what runs inside a container
//!
//! Per-container models of CPU demand, memory working set and health over simulated time. Every
//! model answers analytically — value at `t`, next change after `t`, first time a threshold is
//! reached — in exact integer arithmetic, so the runtime and the kubelet schedule only the moments
//! where something changes (an OOM kill, a probe flipping) instead of ticking.
//!
//! | module | contents |
//! |---|---|
//! | [`curve`] | [`Curve`]: piecewise integer functions (hold/linear, periodic, leak) with exact crossing queries; deterministic diurnal sine |
//! | [`spec`] | scenario-file shapes (`{constant: 200m}`, `{diurnal: …}`, `memory: {base, leak}`, `health: {…}`), minimal quantity parser, seeded crash times |
//! | [`container`] | [`ContainerWorkload`] (CPU, memory, health, own exit, SIGTERM reaction), [`PodWorkload`], scenario [`WorkloadSpec`] |
//! | [`health`] | [`HealthTimeline`], [`ContainerHealth`]: what probes see over a container's life |

#![warn(missing_docs, unreachable_pub)]

pub mod container;
pub mod curve;
pub mod health;
pub mod spec;

pub use container::{ContainerWorkload, PodWorkload, ShutdownSpec, WorkloadSpec};
pub use curve::{diurnal, Curve, CurveError, Interpolation};
pub use health::{ContainerHealth, HealthTimeline, HealthTimelineError, ProbeResponse};
pub use spec::{Amount, Demand, DemandSpec, HealthSpec, MemorySpec, SpecError};
