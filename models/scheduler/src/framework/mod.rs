//! The scheduling framework: statuses, NodeInfo/Snapshot, CycleState, plugin traits, the registry
//! and the instantiated profile ([`Framework`]). See `FRAMEWORK.md` in the crate root.

pub mod cycle_state;
pub mod interface;
pub mod memo;
mod name_index;
pub mod node_labels;
pub mod nominator;
pub mod objects;
pub mod registry;
pub mod runtime;
pub mod selector_counts;
pub mod snapshot;
pub mod status;
pub mod types;

pub use cycle_state::{CycleState, StateData};
pub use interface::{
    BindPlugin, ClusterEvent, FilterPlugin, Locality, NodeScore, NodeToStatus, PdbInfo, Plugin,
    PostFilterContext, PostFilterPlugin, PostFilterResult, PreEnqueuePlugin, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, QueueSortItem, QueueSortPlugin, ReservePlugin, ScorePlugin,
    MAX_NODE_SCORE, MIN_NODE_SCORE,
};
pub use memo::NodeMemo;
pub use node_labels::NodeLabelCache;
pub use nominator::Nominator;
pub use objects::{ClusterObjects, ControllerKind, ControllerSelector, ServiceSelector, WorkloadSelectors};
pub use registry::{PluginContext, PluginFactory, Registry};
pub use runtime::{FilterRecord, Framework, FrameworkError, ScoreEntry, ScoreRecord, ScoreScratch};
pub use selector_counts::{SelectorCounts, SelectorId};
pub use snapshot::Snapshot;
pub use status::{Code, Reason, Status};
pub use types::{
    compute_pod_resources, HostPort, ImageState, NodeId, NodeInfo, PodInfo, PodResources,
    PodResourcesOptions, Resource, DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST,
};
