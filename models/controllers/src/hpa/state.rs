//! What the HPA controller keeps in memory per HPA: the recommendation log and the scale-event
//! logs. Lost on controller restart; the caller owns one [`HpaState`] per HPA key.

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

/// One logged raw recommendation (`timestampedRecommendation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    /// When it was computed.
    pub timestamp: SimTime,
    /// The proposal before stabilization.
    pub replicas: i32,
}

/// One successful scale (`timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScaleEvent {
    /// When the scale was written.
    pub timestamp: SimTime,
    /// `|new − old|`.
    pub replica_change: i32,
    /// Older than the longest policy period: the slot may be reused.
    pub outdated: bool,
}

/// The controller's memory for one HPA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaState {
    /// Recommendation log; `None` until the first reconcile seeds it with the current replicas
    /// (`recordInitialRecommendation`).
    pub recommendations: Option<Vec<Recommendation>>,
    /// Scale-up events (only kept when `behavior` is set).
    pub scale_up_events: Vec<ScaleEvent>,
    /// Scale-down events (only kept when `behavior` is set).
    pub scale_down_events: Vec<ScaleEvent>,
}

impl HpaState {
    /// A state with an explicit recommendation log (an empty log is not seeded).
    pub fn with_recommendations(recommendations: Vec<Recommendation>) -> Self {
        HpaState { recommendations: Some(recommendations), ..Default::default() }
    }

    /// Seeds the log with `{current, now}` if the controller has never seen this HPA.
    pub fn record_initial_recommendation(&mut self, current_replicas: i32, now: SimTime) {
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![Recommendation { timestamp: now, replicas: current_replicas }]);
        }
    }

    /// Logs a raw proposal, overwriting the slot `reuse` if given.
    pub(crate) fn log_recommendation(&mut self, reuse: Option<usize>, rec: Recommendation) {
        let log = self.recommendations.get_or_insert_with(Vec::new);
        match reuse {
            Some(i) => log[i] = rec,
            None => log.push(rec),
        }
    }

    /// `storeScaleEvent`: after a successful scale from `prev` to `new`, append `|new − prev|`
    /// to the direction's log, reusing the last slot older than `longest_period`.
    pub fn store_scale_event(&mut self, prev: i32, new: i32, longest_period: SimDuration, now: SimTime) {
        let log = if new > prev { &mut self.scale_up_events } else { &mut self.scale_down_events };
        let cutoff = now.saturating_sub(longest_period);
        let mut reuse = None;
        for (i, e) in log.iter_mut().enumerate() {
            if e.timestamp < cutoff {
                e.outdated = true;
            }
            if e.outdated {
                reuse = Some(i);
            }
        }
        let event = ScaleEvent { timestamp: now, replica_change: (new - prev).abs(), outdated: false };
        match reuse {
            Some(i) => log[i] = event,
            None => log.push(event),
        }
    }
}

/// Σ `replica_change` of events strictly after `now − period` (`getReplicasChangePerPeriod`).
pub fn replicas_changed_in_period(events: &[ScaleEvent], period: SimDuration, now: SimTime) -> i32 {
    let cutoff = now.saturating_sub(period);
    events.iter().filter(|e| e.timestamp > cutoff).map(|e| e.replica_change).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reconcile_seeds_the_log_once() {
        let mut s = HpaState::default();
        s.record_initial_recommendation(3, SimTime::from_secs(10));
        s.record_initial_recommendation(7, SimTime::from_secs(20));
        assert_eq!(
            s.recommendations,
            Some(vec![Recommendation { timestamp: SimTime::from_secs(10), replicas: 3 }])
        );
        let mut empty = HpaState::with_recommendations(vec![]);
        empty.record_initial_recommendation(3, SimTime::from_secs(10));
        assert_eq!(empty.recommendations, Some(vec![]));
    }

    #[test]
    fn event_windows_are_strict_and_outdated_slots_are_reused() {
        let mut s = HpaState::default();
        let p = SimDuration::from_secs(60);
        s.store_scale_event(2, 4, p, SimTime::from_secs(100));
        s.store_scale_event(4, 7, p, SimTime::from_secs(130));
        // At 160 s the first event is exactly 60 s old: outside "after now − 60 s".
        assert_eq!(replicas_changed_in_period(&s.scale_up_events, p, SimTime::from_secs(160)), 3);
        assert_eq!(replicas_changed_in_period(&s.scale_up_events, p, SimTime::from_secs(159)), 5);
        // At 161 s the first event is older than the cutoff: its slot is reused.
        s.store_scale_event(7, 8, p, SimTime::from_secs(161));
        assert_eq!(s.scale_up_events.len(), 2);
        assert_eq!(
            s.scale_up_events[0],
            ScaleEvent { timestamp: SimTime::from_secs(161), replica_change: 1, outdated: false }
        );
        s.store_scale_event(8, 5, p, SimTime::from_secs(170));
        assert_eq!(s.scale_down_events.len(), 1);
        assert_eq!(s.scale_down_events[0].replica_change, 3);
    }
}
