//! Options every reader takes: the time window, machine sampling, leniency, node defaults.
//!
//! # Sampling (deterministic, order-independent)
//!
//! With `sample_machines = Some(f)`, machine `m` is kept iff
//!
//! ```text
//! streams.stream_indexed("traces.sample-machines", fnv1a64(m)).unit_f64() < f
//! ```
//!
//! One fresh draw per machine id, from a stream that depends only on the root seed and the id:
//! the decision does not depend on file order or on which other machines exist, the same seed
//! keeps the same machines, and the kept set at `f = 0.2` contains the kept set at `f = 0.1`.
//! Workloads that ran on a machine (Alibaba 2018 containers) follow it. Workloads not tied to a
//! machine (openb pods, generic-CSV pods, Alibaba batch jobs, Google collections) are thinned by
//! the same fraction, keyed by their group id (pod name, job name, collection id) with stream
//! `"traces.sample-workloads"`, so the load keeps its ratio to the capacity.

use std::collections::BTreeMap;

use sim_core::{RngStreams, SimDuration};

use crate::error::TraceError;

/// Stream family for machine sampling.
pub const SAMPLE_MACHINES_STREAM: &str = "traces.sample-machines";
/// Stream family for sampling workloads that are not tied to a machine.
pub const SAMPLE_WORKLOADS_STREAM: &str = "traces.sample-workloads";

/// Options shared by every reader.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Start of the window, as an offset from the trace start. Output times are shifted so
    /// `from` becomes `SimTime::ZERO`; objects alive at `from` appear at zero (see the crate docs).
    pub from: SimDuration,
    /// End of the window (exclusive), as an offset from the trace start; `None` = to the end.
    pub to: Option<SimDuration>,
    /// Fraction of machines to keep, in `[0, 1]`; `None` keeps all.
    pub sample_machines: Option<f64>,
    /// Where sampling draws come from.
    pub streams: RngStreams,
    /// Skip malformed records (counted in [`crate::ReadStats`], with a warning) instead of failing.
    pub lenient: bool,
    /// `pods` capacity given to every node (the kubelet default `maxPods` is 110).
    pub pods_per_node: i64,
    /// Namespace of the pods and jobs created.
    pub namespace: String,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            from: SimDuration::ZERO,
            to: None,
            sample_machines: None,
            streams: RngStreams::new(0),
            lenient: false,
            pods_per_node: 110,
            namespace: "default".to_string(),
        }
    }
}

impl ReadOptions {
    pub(crate) fn validate(&self) -> Result<(), TraceError> {
        if let Some(f) = self.sample_machines {
            if !(0.0..=1.0).contains(&f) {
                return Err(TraceError::Option(format!("sample_machines must be in [0, 1], got {f}")));
            }
        }
        if let Some(to) = self.to {
            if to <= self.from {
                return Err(TraceError::Option(format!(
                    "`to` ({to}) must come after `from` ({})",
                    self.from
                )));
            }
        }
        if self.pods_per_node < 0 {
            return Err(TraceError::Option("pods_per_node must not be negative".to_string()));
        }
        Ok(())
    }
}

/// Parses a sampling fraction as users write it: `10%`, `0.1`.
pub fn parse_fraction(text: &str) -> Result<f64, TraceError> {
    let t = text.trim();
    let bad = || TraceError::Option(format!("invalid fraction {text:?} (expected e.g. \"10%\" or \"0.1\")"));
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
        None => t.parse::<f64>().map_err(|_| bad())?,
    };
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// The capacity a normalised value of 1 stands for (Google 2019: the largest machine's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineShape {
    /// CPU of a machine with normalised CPU 1.0, millicores.
    pub cpu_millis: i64,
    /// Memory of a machine with normalised memory 1.0, bytes.
    pub memory_bytes: i64,
}

/// FNV-1a, 64 bit: a stable index for a stream family from an id.
pub(crate) fn fnv1a64(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The sampling draw in `[0, 1)` of `key` in `family`.
pub fn sample_draw(streams: &RngStreams, family: &str, key: &str) -> f64 {
    streams.stream_indexed(family, fnv1a64(key)).unit_f64()
}

/// Sampling decisions, cached per machine (machines recur on many rows).
#[derive(Debug, Clone)]
pub(crate) struct Sampler {
    streams: RngStreams,
    fraction: Option<f64>,
    machines: BTreeMap<String, bool>,
}

impl Sampler {
    pub(crate) fn new(options: &ReadOptions) -> Self {
        Sampler { streams: options.streams, fraction: options.sample_machines, machines: BTreeMap::new() }
    }

    pub(crate) fn keeps_machine(&mut self, machine_id: &str) -> bool {
        let Some(f) = self.fraction else { return true };
        if let Some(&k) = self.machines.get(machine_id) {
            return k;
        }
        let k = sample_draw(&self.streams, SAMPLE_MACHINES_STREAM, machine_id) < f;
        self.machines.insert(machine_id.to_string(), k);
        k
    }

    pub(crate) fn keeps_workload(&self, group_id: &str) -> bool {
        match self.fraction {
            None => true,
            Some(f) => sample_draw(&self.streams, SAMPLE_WORKLOADS_STREAM, group_id) < f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse_as_percent_or_ratio() {
        assert_eq!(parse_fraction("10%").unwrap(), 0.1);
        assert_eq!(parse_fraction("0.25").unwrap(), 0.25);
        assert!(parse_fraction("150%").is_err());
        assert!(parse_fraction("lots").is_err());
    }

    #[test]
    fn sampling_is_nested_in_the_fraction() {
        let streams = RngStreams::new(7);
        let ids: Vec<String> = (0..500).map(|i| format!("m_{i}")).collect();
        let kept = |f: f64| -> Vec<&String> {
            ids.iter().filter(|id| sample_draw(&streams, SAMPLE_MACHINES_STREAM, id) < f).collect()
        };
        let (small, large) = (kept(0.1), kept(0.3));
        assert!(small.iter().all(|id| large.contains(id)));
        // Roughly the asked fraction of 500 (binomial sd ≈ 6.7 and 10.2).
        assert!((25..=75).contains(&small.len()), "{}", small.len());
        assert!((110..=190).contains(&large.len()), "{}", large.len());
    }

    #[test]
    fn options_reject_a_window_that_ends_before_it_starts() {
        let o = ReadOptions {
            from: SimDuration::from_secs(10),
            to: Some(SimDuration::from_secs(5)),
            ..Default::default()
        };
        assert!(o.validate().is_err());
        assert!(ReadOptions { sample_machines: Some(1.5), ..Default::default() }.validate().is_err());
    }
}
