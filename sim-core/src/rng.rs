//! Named random streams derived from one root seed.
//!
//! # Derivation (stable across platforms and releases)
//!
//! A stream named `name` with index `i` under root seed `s` is a ChaCha12 generator
//! (`rand_chacha::ChaCha12Rng`) keyed with the 32-byte SHA-256 of
//!
//! ```text
//! "kubesim/rng/v1\0" ‖ s as 8 little-endian bytes ‖ len(name) as 8 little-endian bytes ‖ name (UTF-8) ‖ i as 8 little-endian bytes
//! ```
//!
//! Every input is fixed-width or length-prefixed, so no two `(name, index)` pairs share a key, and a
//! stream depends on nothing but its own name, its index and the root seed: adding, removing or
//! drawing from another stream never changes the values this one yields. The conversions from raw
//! 64-bit words to integers in a range, floats and exponential variates are implemented here rather
//! than borrowed from `rand`, so a dependency upgrade cannot shift a draw.

use rand_chacha::ChaCha12Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"kubesim/rng/v1\0";

/// The root of all randomness in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngStreams {
    root_seed: u64,
}

impl RngStreams {
    /// Streams under `root_seed`.
    pub fn new(root_seed: u64) -> Self {
        RngStreams { root_seed }
    }

    /// The root seed.
    pub fn root_seed(&self) -> u64 {
        self.root_seed
    }

    /// The stream called `name` (index 0).
    pub fn stream(&self, name: &str) -> RngStream {
        self.stream_indexed(name, 0)
    }

    /// One of a family of streams, e.g. one per node: `stream_indexed("kubelet.jitter", node_id)`.
    pub fn stream_indexed(&self, name: &str, index: u64) -> RngStream {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(self.root_seed.to_le_bytes());
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(index.to_le_bytes());
        let key: [u8; 32] = h.finalize().into();
        RngStream { rng: ChaCha12Rng::from_seed(key) }
    }
}

/// One independent random stream. Cloning it forks the stream at its current position.
#[derive(Debug, Clone)]
pub struct RngStream {
    rng: ChaCha12Rng,
}

impl RngStream {
    /// A uniformly random 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform integer in `0..n` without modulo bias (Lemire's multiply-and-reject).
    /// Returns 0 when `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi` (inclusive); `lo` when `hi < lo`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }

    /// An exponential variate with the given mean, as whole nanoseconds (rounded to nearest).
    /// Uses inversion, `−mean · ln(1 − U)`, so one draw consumes exactly one word.
    pub fn exp_nanos(&mut self, mean_nanos: u64) -> u64 {
        let u = self.unit_f64();
        let x = -(mean_nanos as f64) * (1.0 - u).ln();
        if x >= u64::MAX as f64 {
            u64::MAX
        } else {
            x.round() as u64
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(s: &mut RngStream, n: usize) -> Vec<u64> {
        (0..n).map(|_| s.next_u64()).collect()
    }

    #[test]
    fn same_seed_and_name_give_the_same_sequence() {
        let a = draws(&mut RngStreams::new(42).stream("scheduler.tiebreak"), 64);
        let b = draws(&mut RngStreams::new(42).stream("scheduler.tiebreak"), 64);
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_names_or_indices_differ() {
        let base = draws(&mut RngStreams::new(42).stream("x"), 8);
        assert_ne!(base, draws(&mut RngStreams::new(43).stream("x"), 8));
        assert_ne!(base, draws(&mut RngStreams::new(42).stream("y"), 8));
        assert_ne!(base, draws(&mut RngStreams::new(42).stream_indexed("x", 1), 8));
    }

    #[test]
    fn length_prefix_keeps_name_index_pairs_apart() {
        // Without the length prefix "a" + index bytes could alias a longer name.
        let a = draws(&mut RngStreams::new(1).stream_indexed("a", 0x62), 4);
        let b = draws(&mut RngStreams::new(1).stream_indexed("ab", 0), 4);
        assert_ne!(a, b);
    }

    #[test]
    fn the_derivation_is_pinned() {
        // Guards the documented derivation: changing it would silently change every run's digest.
        let v = RngStreams::new(0).stream("pinned").next_u64();
        assert_eq!(v, PINNED_FIRST_DRAW, "stream derivation changed: got {v:#x}");
    }

    const PINNED_FIRST_DRAW: u64 = 0xdb4f_2fd6_3a09_f242;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut s = RngStreams::new(7).stream("below");
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            let v = s.below(6) as usize;
            seen[v] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_eq!(s.below(0), 0);
        assert_eq!(s.range_inclusive(5, 5), 5);
    }

    #[test]
    fn exponential_draws_have_the_right_mean() {
        let mut s = RngStreams::new(9).stream("exp");
        let n = 20_000u64;
        let sum: u64 = (0..n).map(|_| s.exp_nanos(1_000_000)).sum();
        let mean = sum / n;
        assert!((950_000..1_050_000).contains(&mean), "{mean}");
    }
}
