//! The workqueue's default controller rate limiter (`workqueue.DefaultControllerRateLimiter`).
//!
//! Upstream combines two limiters and waits for the longer of the two:
//!
//! * a per-item exponential backoff, 5 ms × 2^failures up to 1000 s — every controller here
//!   `Forget`s a key after a successful sync, so a requeue from a successful sync always waits the
//!   base 5 ms;
//! * one token bucket **shared by every key of the queue**: 10 tokens per second, burst 100
//!   (`rate.NewLimiter(rate.Limit(10), 100)`).
//!
//! The shared bucket is what keeps a controller with many stuck keys (a zone outage leaves
//! hundreds of Deployments incomplete past their progress deadline, each requeued "now, rate
//! limited") at 10 syncs per second in total rather than 10 per key.
//!
//! The [`TokenBucket`] here is also the node lifecycle controller's zone limiter (burst 1).

use sim_core::{SimDuration, SimTime};

/// A token bucket in integer simulated time, as `golang.org/x/time/rate.Limiter` and client-go's
/// `flowcontrol` limiters count: one token every `1/qps` seconds, at most `burst` held, full when
/// created. It is kept as the time at which the bucket was last empty (tokens at `now` =
/// `(now − empty_at) / interval`, capped at `burst`), in signed nanoseconds because a full bucket
/// was empty before time zero.
///
/// Used with burst 1 by the node lifecycle controller's zone limiters ([`try_accept`]) and with
/// burst 100 by the workqueue's controller rate limiter ([`reserve`]).
///
/// [`try_accept`]: TokenBucket::try_accept
/// [`reserve`]: TokenBucket::reserve
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Nanoseconds per token; `None` = rate 0 (never).
    interval: Option<SimDuration>,
    /// Bucket size in tokens (at least 1).
    burst: u64,
    /// When the bucket was (or will be, with reservations outstanding) empty, in ns.
    empty_at_ns: i128,
}

impl TokenBucket {
    /// A full bucket with burst 1 at `qps` tokens per second.
    pub fn new(qps: f64, now: SimTime) -> Self {
        TokenBucket::with_burst(qps, 1, now)
    }

    /// A full bucket holding up to `burst` tokens at `qps` tokens per second.
    pub fn with_burst(qps: f64, burst: u64, now: SimTime) -> Self {
        let interval = (qps > 0.0).then(|| SimDuration::from_nanos((1e9 / qps).round() as u64));
        let burst = burst.max(1);
        let full_for = interval.map_or(0, |i| i128::from(i.as_nanos()) * i128::from(burst));
        TokenBucket { interval, burst, empty_at_ns: i128::from(now.as_nanos()) - full_for }
    }

    /// Changes the rate (`SwapLimiter`): a new, full bucket as upstream creates.
    pub fn swap_rate(&mut self, qps: f64, now: SimTime) {
        *self = TokenBucket::with_burst(qps, self.burst, now);
    }

    /// When taking one more token would leave the bucket empty: the later of the last empty time
    /// and the time a full bucket would have been empty.
    fn empty_after_take(&self, step_ns: i128, now: SimTime) -> i128 {
        let full_since = i128::from(now.as_nanos()) - step_ns * i128::from(self.burst);
        self.empty_at_ns.max(full_since) + step_ns
    }

    /// Takes a token if one is available at `now` (`TryAccept`).
    pub fn try_accept(&mut self, now: SimTime) -> bool {
        let Some(step) = self.interval else { return false };
        let after = self.empty_after_take(i128::from(step.as_nanos()), now);
        if after > i128::from(now.as_nanos()) {
            return false;
        }
        self.empty_at_ns = after;
        true
    }

    /// Takes one token at `now` and says how long the caller waits for it (`Reserve().Delay()`):
    /// every reservation is granted, possibly in the future. At rate 0 the wait is forever
    /// (`SimDuration::MAX`).
    pub fn reserve(&mut self, now: SimTime) -> SimDuration {
        let Some(step) = self.interval else { return SimDuration::MAX };
        self.empty_at_ns = self.empty_after_take(i128::from(step.as_nanos()), now);
        let wait = self.empty_at_ns - i128::from(now.as_nanos());
        SimDuration::from_nanos(u64::try_from(wait.max(0)).unwrap_or(u64::MAX))
    }

    /// When the next token becomes available (`None` at rate 0).
    pub fn next_token_at(&self) -> Option<SimTime> {
        self.interval.map(|step| {
            let at = self.empty_at_ns + i128::from(step.as_nanos());
            SimTime::from_nanos(u64::try_from(at.max(0)).unwrap_or(u64::MAX))
        })
    }
}

/// `DefaultControllerRateLimiter()` for keys that are `Forget`-ed after every successful sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerRateLimiter {
    bucket: TokenBucket,
}

impl Default for ControllerRateLimiter {
    fn default() -> Self {
        ControllerRateLimiter { bucket: TokenBucket::with_burst(10.0, 100, SimTime::ZERO) }
    }
}

impl ControllerRateLimiter {
    /// Per-item base delay of the exponential limiter (its first failure).
    pub const BASE_DELAY: SimDuration = SimDuration::from_millis(5);

    /// The delay of one `AddRateLimited(key)` at `now`: the longer of the item's backoff and the
    /// shared bucket's wait.
    pub fn when(&mut self, now: SimTime) -> SimDuration {
        self.bucket.reserve(now).max(Self::BASE_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    #[test]
    fn a_full_bucket_grants_its_burst_at_once_then_one_token_per_tenth_of_a_second() {
        let mut b = TokenBucket::with_burst(10.0, 100, SimTime::ZERO);
        let now = SimTime::ZERO + SimDuration::from_secs(5);
        for _ in 0..100 {
            assert_eq!(b.reserve(now), SimDuration::ZERO);
        }
        // The 101st waits one refill interval, the 102nd two.
        assert_eq!(b.reserve(now), ms(100));
        assert_eq!(b.reserve(now), ms(200));
        // 150 ms later 1.5 tokens have come in against a deficit of 2: taking one more leaves a
        // deficit of 1.5 tokens, 150 ms of refill.
        assert_eq!(b.reserve(now + ms(150)), ms(150));
    }

    #[test]
    fn an_idle_bucket_refills_only_up_to_its_burst() {
        let mut b = TokenBucket::with_burst(10.0, 2, SimTime::ZERO);
        let t0 = SimTime::ZERO;
        assert_eq!(b.reserve(t0), SimDuration::ZERO);
        assert_eq!(b.reserve(t0), SimDuration::ZERO);
        assert_eq!(b.reserve(t0), ms(100));
        // An hour later the bucket holds 2 tokens, not 36,000.
        let later = t0 + SimDuration::from_secs(3600);
        assert_eq!(b.reserve(later), SimDuration::ZERO);
        assert_eq!(b.reserve(later), SimDuration::ZERO);
        assert_eq!(b.reserve(later), ms(100));
    }

    #[test]
    fn the_controller_limiter_waits_at_least_the_item_base_delay() {
        let mut l = ControllerRateLimiter::default();
        assert_eq!(l.when(SimTime::ZERO), ms(5));
    }

    #[test]
    fn many_keys_requeued_together_share_ten_syncs_per_second() {
        // 300 stuck keys requeued at the same instant: the burst of 100 goes at the base delay,
        // the rest are spread 100 ms apart, the last at 20 s.
        let mut l = ControllerRateLimiter::default();
        let delays: Vec<SimDuration> = (0..300).map(|_| l.when(SimTime::ZERO)).collect();
        assert!(delays[..100].iter().all(|d| *d == ms(5)));
        assert_eq!(delays[100], ms(100));
        assert_eq!(delays[299], ms(20_000));
    }
}
