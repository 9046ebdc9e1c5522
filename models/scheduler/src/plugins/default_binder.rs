//! DefaultBinder: binding always succeeds in the simulator (upstream `defaultbinder`); the
//! scheduler then reports `ScheduleOutcome::Bound` and the caller writes `spec.nodeName`.

use std::sync::Arc;

use crate::framework::{BindPlugin, CycleState, Plugin, PluginContext, PodInfo, Status};

/// Upstream name.
pub const NAME: &str = "DefaultBinder";

/// The plugin.
#[derive(Debug, Default)]
pub struct DefaultBinder;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(DefaultBinder))
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        Some(self)
    }
}

impl BindPlugin for DefaultBinder {
    fn bind(&self, _: &CycleState, _: &PodInfo, _: &str) -> Status {
        Status::success()
    }
}
