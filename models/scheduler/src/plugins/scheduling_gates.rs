//! SchedulingGates: a pod with `spec.schedulingGates` stays out of activeQ (upstream `schedulinggates`).

use std::sync::Arc;

use crate::framework::{Code, Plugin, PluginContext, PodInfo, PreEnqueuePlugin, Status};

/// Upstream name.
pub const NAME: &str = "SchedulingGates";

/// The plugin.
#[derive(Debug, Default)]
pub struct SchedulingGates;

/// Factory.
pub fn factory(_: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(SchedulingGates))
}

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueuePlugin> {
        Some(self)
    }
}

impl PreEnqueuePlugin for SchedulingGates {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        let gates = &pod.pod.spec.extras.scheduling_gates;
        if gates.is_empty() {
            Status::success()
        } else {
            Status::new(
                Code::UnschedulableAndUnresolvable,
                format!("waiting for scheduling gates: {gates:?}"),
            )
        }
    }
}
