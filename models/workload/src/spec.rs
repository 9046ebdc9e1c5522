//! The scenario-file shapes of workload models, and their compilation into [`Curve`]s.
//!
//! ```yaml
//! cpu: {constant: 200m}
//! cpu: {diurnal: {mean: 300m, amplitude: 200m, period: 24h}}
//! cpu: {steps: [[0s, 100m], [10m, 400m]]}
//! cpu: {ramp: {from: 100m, to: 1, start: 5m, duration: 10m}}
//! cpu: {series: {points: [[0s, 120m], [5m, 180m]], interpolation: hold}}
//! cpu: {requests: {per_request: 2m, base: 20m}}
//! memory: {base: 200Mi, leak: 1Mi/min}
//! health: {startup: 20s, hang_at: 1h, crash_at: 2h, crash_mtbf: 12h}
//! ```
//!
//! Amounts: a YAML/JSON **string** is a Kubernetes quantity (`"200m"`, `"1"` = one core,
//! `"256Mi"`); a bare **number** is already in canonical units (millicores for CPU, bytes for
//! memory). Only the suffixes `m`, `k`, `M`, `G`, `Ki`, `Mi`, `Gi`, `Ti` are understood here; the
//! full quantity grammar lives in `kubesim-manifests`.

use serde::Deserialize;
use sim_core::{RngStreams, SimDuration};

use crate::curve::{diurnal, Curve, CurveError, Interpolation};
use crate::health::{ContainerHealth, HealthTimeline, ProbeResponse};

/// A quantity that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    /// As given.
    pub input: String,
    /// Why.
    pub reason: &'static str,
}

/// An amount as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    /// Canonical units already.
    Units(i64),
    /// A Kubernetes quantity string.
    Quantity(String),
}

impl Amount {
    /// In millicores (CPU).
    pub fn cpu_millis(&self) -> Result<i64, QuantityError> {
        self.scaled(1000)
    }
    /// In bytes (memory).
    pub fn bytes(&self) -> Result<i64, QuantityError> {
        self.scaled(1)
    }
    fn scaled(&self, per_unit: i128) -> Result<i64, QuantityError> {
        match self {
            Amount::Units(v) => Ok(*v),
            Amount::Quantity(s) => parse_quantity(s, per_unit),
        }
    }
}

/// `s` × `per_unit` (1000 for millicores), rounded up as upstream; decimals allowed (`1.5Gi`).
pub fn parse_quantity(s: &str, per_unit: i128) -> Result<i64, QuantityError> {
    let err = |reason| QuantityError { input: s.to_string(), reason };
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    // (numerator, denominator) of the suffix multiplier.
    let (mul, div): (i128, i128) = match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        _ => return Err(err("unknown suffix (use m, k, M, G, Ki, Mi, Gi, Ti)")),
    };
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') || frac_part.len() > 9 {
        return Err(err("expected a decimal number"));
    }
    let digits = format!("{int_part}{frac_part}");
    let mantissa: i128 = digits.parse().map_err(|_| err("expected a decimal number"))?;
    let den = div * 10i128.pow(frac_part.len() as u32);
    let num =
        mantissa.checked_mul(mul).and_then(|x| x.checked_mul(per_unit)).ok_or_else(|| err("too large"))?;
    let v = (num + den - 1).div_euclid(den);
    i64::try_from(v).map_err(|_| err("too large"))
}

/// A rate such as `1Mi/min`, in units per second (truncated).
pub fn parse_rate_per_sec(s: &str, per_unit: i128) -> Result<i64, QuantityError> {
    let err = |reason| QuantityError { input: s.to_string(), reason };
    let (amount, unit) = s.split_once('/').ok_or_else(|| err("expected <amount>/<s|min|h>"))?;
    let secs: i64 = match unit.trim() {
        "s" => 1,
        "min" | "m" => 60,
        "h" => 3600,
        _ => return Err(err("rate unit must be s, min or h")),
    };
    Ok(parse_quantity(amount, per_unit)? / secs)
}

/// A demand model as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DemandSpec {
    /// Always the same.
    Constant(Amount),
    /// `[offset, amount]` steps, each holding until the next.
    Steps(Vec<(SimDuration, Amount)>),
    /// Linear from `from` to `to` over `[start, start + duration)`.
    Ramp {
        /// Start value.
        from: Amount,
        /// End value.
        to: Amount,
        /// When the ramp starts.
        #[serde(default)]
        start: SimDuration,
        /// How long it takes.
        duration: SimDuration,
    },
    /// `mean + amplitude·sin(2πt/period)`, 96 linear pieces per period, clamped at 0.
    Diurnal {
        /// Mean.
        mean: Amount,
        /// Amplitude.
        amplitude: Amount,
        /// Period (e.g. `24h`).
        period: SimDuration,
    },
    /// A trace: `[offset, amount]` points.
    Series {
        /// Points.
        points: Vec<(SimDuration, Amount)>,
        /// Hold (default) or linear.
        #[serde(default)]
        interpolation: Interpolation,
    },
    /// Driven by the request rate the container receives (CPU only).
    Requests {
        /// CPU per request per second (e.g. `2m` = 2 millicores per req/s).
        per_request: Amount,
        /// Idle demand.
        #[serde(default = "zero_amount")]
        base: Amount,
    },
}

fn zero_amount() -> Amount {
    Amount::Units(0)
}

/// Errors compiling a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Bad amount.
    #[error(transparent)]
    Quantity(#[from] QuantityError),
    /// Bad curve.
    #[error(transparent)]
    Curve(#[from] CurveError),
}

/// A compiled demand model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Demand {
    /// A function of time since container start.
    Curve(Curve),
    /// `base + per_request × requests/s`: the runtime feeds the current rate.
    RequestDriven {
        /// Idle demand, canonical units.
        base: i64,
        /// Per request/s, canonical units.
        per_request: i64,
    },
}

impl Demand {
    /// The demand at a request rate of `rate_milli_rps` thousandths of a request per second
    /// (floored). For a [`Demand::Curve`] the rate is ignored and `offset` is used.
    pub fn value(&self, offset: SimDuration, rate_milli_rps: i64) -> i64 {
        match self {
            Demand::Curve(c) => c.value_at(offset),
            Demand::RequestDriven { base, per_request } => {
                base.saturating_add(((*per_request as i128 * rate_milli_rps as i128).div_euclid(1000)) as i64)
            }
        }
    }
}

impl DemandSpec {
    /// Compiles with `to_units` converting amounts (e.g. [`Amount::cpu_millis`]).
    pub fn compile(
        &self,
        to_units: impl Fn(&Amount) -> Result<i64, QuantityError>,
    ) -> Result<Demand, SpecError> {
        let pts = |points: &[(SimDuration, Amount)]| -> Result<Vec<(SimDuration, i64)>, SpecError> {
            points.iter().map(|(t, a)| Ok((*t, to_units(a)?))).collect()
        };
        Ok(Demand::Curve(match self {
            DemandSpec::Constant(a) => Curve::constant(to_units(a)?),
            DemandSpec::Steps(points) => Curve::from_points(&pts(points)?, Interpolation::Hold)?,
            DemandSpec::Ramp { from, to, start, duration } => {
                Curve::ramp(to_units(from)?, to_units(to)?, *start, *duration)
            }
            DemandSpec::Diurnal { mean, amplitude, period } => {
                diurnal(to_units(mean)?, to_units(amplitude)?, *period, 96)?
            }
            DemandSpec::Series { points, interpolation } => {
                Curve::from_points(&pts(points)?, *interpolation)?
            }
            DemandSpec::Requests { per_request, base } => {
                return Ok(Demand::RequestDriven {
                    base: to_units(base)?,
                    per_request: to_units(per_request)?,
                })
            }
        }))
    }
}

/// Memory working set: a base (constant or any demand model) plus a leak.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    /// Base working set: an amount or a demand model.
    pub base: MemoryBase,
    /// Leak such as `1Mi/min`.
    #[serde(default)]
    pub leak: Option<String>,
}

/// The base of a [`MemorySpec`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum MemoryBase {
    /// A fixed amount.
    Fixed(Amount),
    /// A model.
    Model(DemandSpec),
}

impl MemorySpec {
    /// The working-set curve in bytes.
    pub fn compile(&self) -> Result<Curve, SpecError> {
        let base = match &self.base {
            MemoryBase::Fixed(a) => Curve::constant(a.bytes()?),
            MemoryBase::Model(m) => match m.compile(Amount::bytes)? {
                Demand::Curve(c) => c,
                Demand::RequestDriven { base, .. } => Curve::constant(base),
            },
        };
        let leak = self.leak.as_deref().map(|l| parse_rate_per_sec(l, 1)).transpose()?.unwrap_or(0);
        Ok(base.with_leak_per_sec(leak))
    }
}

/// Health and failures of a container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// Unhealthy (all probes) until this long after start.
    #[serde(default)]
    pub startup: Option<SimDuration>,
    /// From this offset liveness and readiness fail (the process hangs but does not exit).
    #[serde(default)]
    pub hang_at: Option<SimDuration>,
    /// The process exits with code 1 at this offset.
    #[serde(default)]
    pub crash_at: Option<SimDuration>,
    /// Mean time between crashes: each container instance draws an exponential lifetime.
    #[serde(default)]
    pub crash_mtbf: Option<SimDuration>,
}

impl HealthSpec {
    /// What the probes see.
    pub fn health(&self) -> ContainerHealth {
        let mut t = HealthTimeline::healthy_after(self.startup.unwrap_or(SimDuration::ZERO));
        let startup = t.clone();
        if let Some(h) = self.hang_at {
            t = t.then_at(h, ProbeResponse::UNHEALTHY);
        }
        ContainerHealth { startup, liveness: t.clone(), readiness: t }
    }

    /// When this container instance exits on its own (offset since start), if ever. The random
    /// part draws from stream `workload.crash` indexed by `instance` (e.g. a hash-free running
    /// counter of container instances), so adding other streams never shifts it.
    pub fn crash_after(&self, streams: &RngStreams, instance: u64) -> Option<SimDuration> {
        let random = self.crash_mtbf.map(|mtbf| {
            let mut rng = streams.stream_indexed("workload.crash", instance);
            SimDuration::from_nanos(rng.exp_nanos(mtbf.as_nanos()))
        });
        match (self.crash_at, random) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: for<'de> Deserialize<'de>>(s: &str) -> T {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn quantities_parse_with_the_common_suffixes_rounding_up() {
        assert_eq!(parse_quantity("200m", 1000), Ok(200));
        assert_eq!(parse_quantity("1", 1000), Ok(1000));
        assert_eq!(parse_quantity("1.5", 1000), Ok(1500));
        assert_eq!(parse_quantity("0.1m", 1000), Ok(1)); // rounds up
        assert_eq!(parse_quantity("256Mi", 1), Ok(256 << 20));
        assert_eq!(parse_quantity("1.5Gi", 1), Ok(3 << 29));
        assert_eq!(parse_quantity("2G", 1), Ok(2_000_000_000));
        assert!(parse_quantity("2X", 1).is_err());
        assert!(parse_quantity("", 1).is_err());
        assert_eq!(parse_rate_per_sec("1Mi/min", 1), Ok(17476)); // 1048576/60 truncated
        assert_eq!(parse_rate_per_sec("10Mi/s", 1), Ok(10 << 20));
    }

    #[test]
    fn demand_specs_read_the_scenario_shapes() {
        let d: DemandSpec = json(r#"{"constant": "200m"}"#);
        assert_eq!(d.compile(Amount::cpu_millis).unwrap(), Demand::Curve(Curve::constant(200)));
        let d: DemandSpec = json(r#"{"diurnal": {"mean": 300, "amplitude": 200, "period": "24h"}}"#);
        let Demand::Curve(c) = d.compile(Amount::cpu_millis).unwrap() else { panic!() };
        assert_eq!(c.value_at(SimDuration::from_hours(6)), 500);
        let d: DemandSpec = json(r#"{"steps": [["0s", "100m"], ["10m", "400m"]]}"#);
        let Demand::Curve(c) = d.compile(Amount::cpu_millis).unwrap() else { panic!() };
        assert_eq!(c.value_at(SimDuration::from_mins(10)), 400);
        let d: DemandSpec =
            json(r#"{"ramp": {"from": "100m", "to": "1", "start": "5m", "duration": "10m"}}"#);
        let Demand::Curve(c) = d.compile(Amount::cpu_millis).unwrap() else { panic!() };
        assert_eq!(c.value_at(SimDuration::from_mins(10)), 550);
        let d: DemandSpec = json(r#"{"requests": {"per_request": "2m", "base": "20m"}}"#);
        let demand = d.compile(Amount::cpu_millis).unwrap();
        // 150.5 req/s × 2m + 20m = 321m
        assert_eq!(demand.value(SimDuration::ZERO, 150_500), 321);
        assert!(serde_json::from_str::<DemandSpec>(r#"{"sawtooth": 3}"#).is_err());
    }

    #[test]
    fn memory_spec_is_base_plus_leak() {
        let m: MemorySpec = json(r#"{"base": "200Mi", "leak": "1Mi/min"}"#);
        let c = m.compile().unwrap();
        assert_eq!(c.value_at(SimDuration::from_secs(60)), (200 << 20) + 17476 * 60);
        let m: MemorySpec = json(r#"{"base": {"steps": [["0s", "100Mi"], ["1h", "300Mi"]]}}"#);
        assert_eq!(m.compile().unwrap().value_at(SimDuration::from_hours(2)), 300 << 20);
    }

    #[test]
    fn health_spec_gives_startup_hang_and_seeded_crashes() {
        let h: HealthSpec =
            json(r#"{"startup": "20s", "hang_at": "5m", "crash_at": "1h", "crash_mtbf": "10m"}"#);
        let health = h.health();
        assert!(!health.readiness.at(SimDuration::from_secs(19)).healthy);
        assert!(health.liveness.at(SimDuration::from_secs(20)).healthy);
        assert!(!health.liveness.at(SimDuration::from_mins(5)).healthy);
        assert!(health.startup.at(SimDuration::from_mins(5)).healthy);
        let streams = RngStreams::new(7);
        let a = h.crash_after(&streams, 0).unwrap();
        assert_eq!(a, h.crash_after(&RngStreams::new(7), 0).unwrap()); // reproducible
        assert!(a <= SimDuration::from_hours(1));
        assert_ne!(h.crash_after(&streams, 0), h.crash_after(&streams, 1));
        let never: HealthSpec = json("{}");
        assert_eq!(never.crash_after(&streams, 0), None);
    }
}
