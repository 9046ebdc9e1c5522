//! # InterPodAffinity
//!
//! Required pod affinity / anti-affinity filter (including existing pods' anti-affinity towards
//! the incoming pod) and the preferred-term score.
//!
//! | module | job | upstream |
//! |---|---|---|
//! | [`terms`] | resolve terms: namespaces, namespace selectors, match/mismatch label keys | `framework/types.go`, `plugin.go` |
//! | [`filtering`] | PreFilter counts per topology pair, AddPod/RemovePod, Filter | `filtering.go` |
//! | [`scoring`] | PreScore topology scores, Score, NormalizeScore | `scoring.go` |
//! | [`plugin`] | the framework plugin (`factory`), namespace labels from `Snapshot::objects` | `plugin.go` |
//!
//! Namespace labels (for `namespaceSelector`) are an input map; a namespace missing from it has
//! no labels, as upstream treats a namespace its lister cannot find.

pub mod filtering;
pub mod plugin;
pub mod scoring;
pub mod terms;

#[cfg(test)]
mod tests;

pub use filtering::{AffinityFilterState, AffinityVerdict};
pub use plugin::{factory, InterPodAffinity};
pub use scoring::{AffinityScoreArgs, AffinityScoreState};
pub use terms::{AffinityTerm, NamespaceLabels, PodAffinityTerms, WeightedAffinityTerm};

/// Plugin name in profiles and outputs.
pub const NAME: &str = "InterPodAffinity";
