//! What a container's probe endpoints answer over its lifetime.
//!
//! A [`HealthTimeline`] is a piecewise-constant function of the time since the container started:
//! from each breakpoint on, a probe sent to the container gets a [`ProbeResponse`] (healthy or not,
//! and how long the answer takes). The kubelet's analytic prober walks these segments instead of
//! ticking every period, so a container whose timeline never changes costs nothing.

use sim_core::SimDuration;

/// How the container answers one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeResponse {
    /// True when the check itself would pass (2xx, exit 0, port open).
    pub healthy: bool,
    /// How long the answer takes.
    pub latency: SimDuration,
}

impl ProbeResponse {
    /// A healthy, instant answer.
    pub const HEALTHY: ProbeResponse = ProbeResponse { healthy: true, latency: SimDuration::ZERO };
    /// An unhealthy, instant answer (connection refused, 500, exit 1).
    pub const UNHEALTHY: ProbeResponse = ProbeResponse { healthy: false, latency: SimDuration::ZERO };

    /// True when a probe with `timeout` records Success. A timeout counts as failure (upstream
    /// §4.1); an answer must arrive strictly before the deadline to count.
    pub fn succeeds_within(&self, timeout: SimDuration) -> bool {
        self.healthy && self.latency < timeout
    }
}

/// Errors building a [`HealthTimeline`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthTimelineError {
    /// Breakpoints must be strictly increasing.
    #[error(
        "health timeline breakpoints must be strictly increasing: {later} does not come after {earlier}"
    )]
    NotIncreasing {
        /// The earlier breakpoint.
        earlier: SimDuration,
        /// The offending breakpoint.
        later: SimDuration,
    },
}

/// Probe answers as a function of time since the container started.
///
/// Invariant: the first segment starts at offset zero and offsets strictly increase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthTimeline {
    segments: Vec<(SimDuration, ProbeResponse)>,
}

impl Default for HealthTimeline {
    fn default() -> Self {
        HealthTimeline::always(ProbeResponse::HEALTHY)
    }
}

impl HealthTimeline {
    /// The same answer forever.
    pub fn always(response: ProbeResponse) -> Self {
        HealthTimeline { segments: vec![(SimDuration::ZERO, response)] }
    }

    /// From breakpoints `(offset since start, answer from then on)`. If the first offset is not
    /// zero, the container answers healthily until it.
    pub fn new(mut breakpoints: Vec<(SimDuration, ProbeResponse)>) -> Result<Self, HealthTimelineError> {
        for pair in breakpoints.windows(2) {
            if pair[1].0 <= pair[0].0 {
                return Err(HealthTimelineError::NotIncreasing { earlier: pair[0].0, later: pair[1].0 });
            }
        }
        if breakpoints.first().is_none_or(|(at, _)| !at.is_zero()) {
            breakpoints.insert(0, (SimDuration::ZERO, ProbeResponse::HEALTHY));
        }
        Ok(HealthTimeline { segments: breakpoints })
    }

    /// Unhealthy until `startup`, then healthy: the common "slow start" shape.
    pub fn healthy_after(startup: SimDuration) -> Self {
        if startup.is_zero() {
            return HealthTimeline::always(ProbeResponse::HEALTHY);
        }
        HealthTimeline {
            segments: vec![(SimDuration::ZERO, ProbeResponse::UNHEALTHY), (startup, ProbeResponse::HEALTHY)],
        }
    }

    /// This timeline, but answering `response` from `at` on (a hang, a recovery, a slowdown).
    pub fn then_at(mut self, at: SimDuration, response: ProbeResponse) -> Self {
        self.segments.retain(|(offset, _)| *offset < at);
        if self.segments.is_empty() {
            self.segments.push((SimDuration::ZERO, ProbeResponse::HEALTHY));
        }
        if at.is_zero() {
            self.segments[0].1 = response;
        } else {
            self.segments.push((at, response));
        }
        self
    }

    /// The segments: `(offset since start, answer from then on)`.
    pub fn segments(&self) -> &[(SimDuration, ProbeResponse)] {
        &self.segments
    }

    /// The segment covering `offset`: its index, answer, and the offset where it ends
    /// ([`SimDuration::MAX`] for the last one).
    pub fn segment_at(&self, offset: SimDuration) -> (usize, ProbeResponse, SimDuration) {
        // partition_point: number of segments starting at or before `offset` (always ≥ 1).
        let idx = self.segments.partition_point(|(start, _)| *start <= offset).saturating_sub(1);
        let end = self.segments.get(idx + 1).map_or(SimDuration::MAX, |(start, _)| *start);
        (idx, self.segments[idx].1, end)
    }

    /// The answer at `offset` since start.
    pub fn at(&self, offset: SimDuration) -> ProbeResponse {
        self.segment_at(offset).1
    }
}

/// The three probe endpoints of one container instance. Readiness and liveness often share one
/// timeline; they differ when, say, an overloaded container stays alive but should not get traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerHealth {
    /// What the startup probe sees.
    pub startup: HealthTimeline,
    /// What the liveness probe sees.
    pub liveness: HealthTimeline,
    /// What the readiness probe sees.
    pub readiness: HealthTimeline,
}

impl ContainerHealth {
    /// All three probes see `timeline`.
    pub fn uniform(timeline: HealthTimeline) -> Self {
        ContainerHealth { startup: timeline.clone(), liveness: timeline.clone(), readiness: timeline }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    #[test]
    fn a_timeout_is_a_failure_and_the_deadline_itself_is_too_late() {
        let slow = ProbeResponse { healthy: true, latency: s(1) };
        assert!(!slow.succeeds_within(s(1)));
        assert!(slow.succeeds_within(s(2)));
        assert!(!ProbeResponse::UNHEALTHY.succeeds_within(s(5)));
    }

    #[test]
    fn segments_are_found_by_offset_with_half_open_ends() {
        let t = HealthTimeline::healthy_after(s(20)).then_at(s(300), ProbeResponse::UNHEALTHY);
        assert_eq!(t.at(s(0)), ProbeResponse::UNHEALTHY);
        assert_eq!(t.at(s(19)), ProbeResponse::UNHEALTHY);
        assert_eq!(t.at(s(20)), ProbeResponse::HEALTHY);
        assert_eq!(t.segment_at(s(20)), (1, ProbeResponse::HEALTHY, s(300)));
        assert_eq!(t.segment_at(s(1000)).2, SimDuration::MAX);
    }

    #[test]
    fn breakpoints_must_increase_and_a_missing_zero_means_healthy() {
        assert!(HealthTimeline::new(vec![(s(5), ProbeResponse::HEALTHY), (s(5), ProbeResponse::UNHEALTHY)])
            .is_err());
        let t = HealthTimeline::new(vec![(s(5), ProbeResponse::UNHEALTHY)]).unwrap();
        assert_eq!(t.at(s(0)), ProbeResponse::HEALTHY);
        assert_eq!(t.at(s(5)), ProbeResponse::UNHEALTHY);
    }

    #[test]
    fn then_at_replaces_the_tail() {
        let t = HealthTimeline::healthy_after(s(30)).then_at(s(10), ProbeResponse::HEALTHY);
        assert_eq!(t.segments().len(), 2);
        assert_eq!(t.at(s(10)), ProbeResponse::HEALTHY);
    }
}
