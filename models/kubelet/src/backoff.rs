//! CrashLoopBackOff (`kuberuntime :: doBackOff` on client-go `flowcontrol.Backoff`).
//!
//! Per (pod, container) key the kubelet keeps `(backoff, last_update)`. When an exited container is
//! considered for restart at `now`:
//! * if an entry exists, has not expired (`finished_at − last_update ≤ 2·max`), and
//!   `now − finished_at < backoff` → CrashLoopBackOff: wait until `finished_at + backoff`;
//! * otherwise restart now and call `next`: no entry or expired → `backoff = initial`; else
//!   `backoff = min(2·backoff, max)`; `last_update = now`.
//!
//! So the first restart is immediate and later ones wait 10, 20, 40, 80, 160, 300, 300 … s after
//! each exit; a container that ran more than 10 min (2 × max) since the last restart starts over.

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

/// Backoff parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// First delay (upstream 10 s).
    pub initial: SimDuration,
    /// Cap (upstream 300 s). Entries expire after twice this.
    pub max: SimDuration,
}

impl BackoffConfig {
    /// Upstream default: 10 s doubling to 300 s.
    pub const DEFAULT: BackoffConfig =
        BackoffConfig { initial: SimDuration::from_secs(10), max: SimDuration::from_secs(300) };
    /// Alpha gate `ReduceDefaultCrashLoopBackOffDecay`: 1 s doubling to 60 s.
    pub const REDUCED_DECAY: BackoffConfig =
        BackoffConfig { initial: SimDuration::from_secs(1), max: SimDuration::from_secs(60) };
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig::DEFAULT
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    backoff: SimDuration,
    last_update: SimTime,
}

/// What to do with an exited container now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartDecision {
    /// Start it now (the backoff state has been advanced).
    RestartNow,
    /// CrashLoopBackOff until `until`; ask again then (at the next pod sync at or after it).
    BackOff {
        /// Earliest restart time.
        until: SimTime,
    },
}

/// Backoff state for many containers, keyed by `K` (e.g. `(pod uid, container name)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashLoopBackoff<K: Ord> {
    config: BackoffConfig,
    entries: BTreeMap<K, Entry>,
}

impl<K: Ord> CrashLoopBackoff<K> {
    /// Empty state.
    pub fn new(config: BackoffConfig) -> Self {
        CrashLoopBackoff { config, entries: BTreeMap::new() }
    }

    fn expired(&self, event: SimTime, e: &Entry) -> bool {
        event.saturating_duration_since(e.last_update) > self.config.max.saturating_mul(2)
    }

    /// `doBackOff`: decides for a container of `key` that exited at `finished_at`, at `now`.
    pub fn on_exited(&mut self, key: K, finished_at: SimTime, now: SimTime) -> RestartDecision {
        if let Some(e) = self.entries.get(&key) {
            if !self.expired(finished_at, e) && now.saturating_duration_since(finished_at) < e.backoff {
                return RestartDecision::BackOff { until: finished_at.saturating_add(e.backoff) };
            }
        }
        let next = match self.entries.get(&key) {
            Some(e) if !self.expired(finished_at, e) => e.backoff.saturating_mul(2).min(self.config.max),
            _ => self.config.initial,
        };
        self.entries.insert(key, Entry { backoff: next, last_update: now });
        RestartDecision::RestartNow
    }

    /// The current backoff of `key`, if any.
    pub fn current(&self, key: &K) -> Option<SimDuration> {
        self.entries.get(key).map(|e| e.backoff)
    }

    /// Forgets `key` (pod removed).
    pub fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    /// A container that crashes `run` after every start; restarts happen as soon as allowed.
    /// Returns the waits between each exit and the following restart.
    fn waits(config: BackoffConfig, runs: &[SimDuration]) -> Vec<u64> {
        let mut b = CrashLoopBackoff::new(config);
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        for run in runs {
            let exit = now + *run;
            let start = match b.on_exited("c", exit, exit) {
                RestartDecision::RestartNow => exit,
                RestartDecision::BackOff { until } => {
                    assert_eq!(b.on_exited("c", exit, until), RestartDecision::RestartNow);
                    until
                }
            };
            out.push((start - exit).as_secs());
            now = start;
        }
        out
    }

    #[test]
    fn restarts_wait_0_10_20_40_80_160_300_300() {
        let got = waits(BackoffConfig::DEFAULT, &[SimDuration::from_millis(500); 8]);
        assert_eq!(got, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn a_container_that_ran_over_ten_minutes_restarts_at_once_and_starts_over() {
        // Crashes quickly 4 times (0, 10, 20, 40), then runs 601 s: exit − last update = 601 s
        // > 600 s → restart immediately, backoff back to 10 s.
        let mut runs = vec![s(1); 4];
        runs.push(s(601));
        runs.push(s(1));
        assert_eq!(waits(BackoffConfig::DEFAULT, &runs), vec![0, 10, 20, 40, 0, 10]);
        // Exactly 600 s is not "more than": the backoff keeps doubling (80).
        let mut runs = vec![s(1); 4];
        runs.push(s(600));
        assert_eq!(waits(BackoffConfig::DEFAULT, &runs), vec![0, 10, 20, 40, 80]);
    }

    #[test]
    fn reduced_decay_gate_uses_1s_to_60s() {
        let got = waits(BackoffConfig::REDUCED_DECAY, &[SimDuration::ZERO; 9]);
        assert_eq!(got, vec![0, 1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn asking_early_reports_the_restart_time() {
        let mut b = CrashLoopBackoff::new(BackoffConfig::DEFAULT);
        assert_eq!(b.on_exited(1, SimTime::from_secs(5), SimTime::from_secs(5)), RestartDecision::RestartNow);
        assert_eq!(
            b.on_exited(1, SimTime::from_secs(7), SimTime::from_secs(8)),
            RestartDecision::BackOff { until: SimTime::from_secs(17) }
        );
        assert_eq!(b.current(&1), Some(s(10)));
    }
}
