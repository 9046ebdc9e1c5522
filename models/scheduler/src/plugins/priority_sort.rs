//! PrioritySort: higher priority first, then earlier queue timestamp (upstream `queuesort/priority_sort.go`).
//! The queue implements this order directly with a sort key; the plugin exists so configurations
//! that name it resolve.

use std::sync::Arc;

use crate::framework::{Plugin, PluginContext, QueueSortItem, QueueSortPlugin};

/// Upstream name.
pub const NAME: &str = "PrioritySort";

/// The plugin.
#[derive(Debug, Default)]
pub struct PrioritySort;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(PrioritySort))
}

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSortPlugin> {
        Some(self)
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueueSortItem, b: &QueueSortItem) -> bool {
        a.priority > b.priority || (a.priority == b.priority && a.timestamp < b.timestamp)
    }
}
