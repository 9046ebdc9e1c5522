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
//! Tokens are counted in nano-tokens so the arithmetic is exact in integer nanoseconds.

use sim_core::{SimDuration, SimTime};

/// Nano-tokens in one token.
const NANO: u64 = 1_000_000_000;

/// `golang.org/x/time/rate.Limiter` as the workqueue uses it: every reservation is granted,
/// possibly in the future.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Tokens added per second.
    tokens_per_second: u64,
    /// Bucket size in tokens.
    burst: u64,
    /// Tokens (in nano-tokens) at `at`; negative while reservations wait for tokens.
    tokens_nano: i128,
    /// When `tokens_nano` was last brought up to date.
    at: SimTime,
}

impl TokenBucket {
    /// A full bucket (the limiter starts with `burst` tokens).
    pub fn new(tokens_per_second: u64, burst: u64) -> Self {
        TokenBucket {
            tokens_per_second,
            burst,
            tokens_nano: i128::from(burst) * i128::from(NANO),
            at: SimTime::ZERO,
        }
    }

    /// Takes one token at `now` and says how long the caller waits for it (`Reserve().Delay()`).
    pub fn reserve(&mut self, now: SimTime) -> SimDuration {
        if now > self.at {
            let elapsed_ns = i128::from(now.saturating_duration_since(self.at).as_nanos());
            // `tokens_per_second` tokens per 1e9 ns = `tokens_per_second` nano-tokens per ns.
            let refill = elapsed_ns * i128::from(self.tokens_per_second);
            let cap = i128::from(self.burst) * i128::from(NANO);
            self.tokens_nano = (self.tokens_nano + refill).min(cap);
            self.at = now;
        }
        self.tokens_nano -= i128::from(NANO);
        if self.tokens_nano >= 0 || self.tokens_per_second == 0 {
            return SimDuration::ZERO;
        }
        // Wait until the deficit refills; round up so the token is really there.
        let deficit = -self.tokens_nano;
        let rate = i128::from(self.tokens_per_second);
        let wait_ns = (deficit + rate - 1) / rate;
        SimDuration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX))
    }
}

/// `DefaultControllerRateLimiter()` for keys that are `Forget`-ed after every successful sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerRateLimiter {
    bucket: TokenBucket,
}

impl Default for ControllerRateLimiter {
    fn default() -> Self {
        ControllerRateLimiter { bucket: TokenBucket::new(10, 100) }
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
        let mut b = TokenBucket::new(10, 100);
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
        let mut b = TokenBucket::new(10, 2);
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
