//! `ControllerExpectations`: after issuing creates/deletes a controller waits until it has
//! observed them (or 5 minutes pass) before syncing that object again.

use sim_core::{SimDuration, SimTime};

/// Upstream `ExpectationsTimeout`.
pub const EXPECTATIONS_TIMEOUT: SimDuration = SimDuration::from_mins(5);

/// Outstanding creates and deletes of one controller object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Creates not yet observed.
    pub add: i64,
    /// Deletes not yet observed.
    pub del: i64,
    /// When the expectations were set.
    pub set_at: SimTime,
}

impl Expectations {
    /// `ExpectCreations` / `ExpectDeletions` (`SetExpectations` replaces the record).
    pub fn expect(add: usize, del: usize, now: SimTime) -> Self {
        Expectations { add: add as i64, del: del as i64, set_at: now }
    }
    /// A create was observed (or will never happen).
    pub fn creation_observed(&mut self) {
        self.add -= 1;
    }
    /// A delete was observed.
    pub fn deletion_observed(&mut self) {
        self.del -= 1;
    }
    /// `Fulfilled`.
    pub fn fulfilled(&self) -> bool {
        self.add <= 0 && self.del <= 0
    }
    /// `SatisfiedExpectations`: fulfilled, or older than the 5-minute TTL (strictly).
    pub fn satisfied(&self, now: SimTime) -> bool {
        self.fulfilled() || now.saturating_duration_since(self.set_at) > EXPECTATIONS_TIMEOUT
    }
    /// When an unfulfilled record expires (the time a sync becomes possible again).
    pub fn expires_at(&self) -> SimTime {
        self.set_at.saturating_add(EXPECTATIONS_TIMEOUT).saturating_add(SimDuration::from_nanos(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_block_until_observed_or_five_minutes_pass() {
        let mut e = Expectations::expect(2, 0, SimTime::from_secs(100));
        assert!(!e.satisfied(SimTime::from_secs(101)));
        e.creation_observed();
        assert!(!e.satisfied(SimTime::from_secs(101)));
        e.creation_observed();
        assert!(e.satisfied(SimTime::from_secs(101)));
        let stale = Expectations::expect(1, 0, SimTime::from_secs(100));
        assert!(!stale.satisfied(SimTime::from_secs(400)));
        assert!(stale.satisfied(stale.expires_at()));
    }
}
