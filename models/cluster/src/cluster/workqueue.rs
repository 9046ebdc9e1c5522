//! The delaying half of a controller workqueue (`AddAfter`), on the cluster's event queue.

use super::*;

/// Keys waiting to be re-synced at a later time. Upstream's delaying queue keeps one entry per
/// key (`waitingForQueue`): adding a key that already waits keeps the earlier ready time. Without
/// it, a controller that requeues on every sync while an object stays incomplete would add one
/// pending event per sync and multiply its own syncs.
#[derive(Debug, Default)]
pub(super) struct DelayedKeys {
    waiting: BTreeMap<ObjectKey, (SimTime, EventId)>,
}

impl DelayedKeys {
    /// `AddAfter`: schedules `event(key)` at `at` unless the key already waits until then.
    pub(super) fn add_at(
        &mut self,
        key: &ObjectKey,
        at: SimTime,
        q: &mut EventQueue<Event>,
        event: impl FnOnce(ObjectKey) -> Event,
    ) {
        if let Some(&(waiting_at, id)) = self.waiting.get(key) {
            if waiting_at <= at && q.is_pending(id) {
                return;
            }
            q.cancel(id);
        }
        let id = q.schedule_at(at, event(key.clone())).expect("not in the past");
        self.waiting.insert(key.clone(), (at, id));
    }

    /// The key's event fired: it is in the work queue now, no longer waiting.
    pub(super) fn fired(&mut self, key: &ObjectKey) {
        self.waiting.remove(key);
    }
}
