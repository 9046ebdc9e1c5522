//! The workload program's input: a container workload flattened into plain series, so the
//! process that plays it needs no curve engine and no seed.
//!
//! The runtime compiles a [`ContainerWorkload`] into a [`ProgramSpec`] ([`ProgramSpec::from_workload`])
//! and passes it as JSON in the `KSIM_WORKLOAD` environment variable (or a file named by
//! `KSIM_WORKLOAD_FILE`). The seeded parts are resolved here, in the backend: the crash time of this
//! container instance is drawn from the same `workload.crash` stream the simulator uses, so both
//! backends crash the same instance at the same offset.
//!
//! Curves are integer step functions, so listing their change points up to a horizon reproduces
//! them exactly; a curve that changes too often (a leak changes every few microseconds) is sampled
//! on a grid instead and played with linear interpolation.

use kubesim_workload::curve::Curve;
use kubesim_workload::health::HealthTimeline;
use kubesim_workload::{ContainerWorkload, Demand, ShutdownSpec};
use serde::{Deserialize, Serialize};
use sim_core::{RngStreams, SimDuration};

/// Environment variable carrying the JSON spec.
pub const SPEC_ENV: &str = "KSIM_WORKLOAD";
/// Environment variable naming a file with the JSON spec (for specs too long for one variable).
pub const SPEC_FILE_ENV: &str = "KSIM_WORKLOAD_FILE";
/// Default port of the health endpoints.
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// Exists while the liveness answer is healthy (for `exec: cat /tmp/healthy` probes).
pub const LIVENESS_FILE: &str = "/tmp/healthy";
/// Exists while the readiness answer is healthy.
pub const READINESS_FILE: &str = "/tmp/ready";
/// Exists while the startup answer is healthy.
pub const STARTUP_FILE: &str = "/tmp/started";

/// A value over time since the program started: `(offset ns, value)` points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// Points, strictly increasing offsets, the first at 0.
    pub points: Vec<(u64, i64)>,
    /// Interpolate linearly between points (a sampled curve) instead of holding each value.
    #[serde(default)]
    pub linear: bool,
}

impl Series {
    /// The same value forever.
    pub fn constant(value: i64) -> Self {
        Series { points: vec![(0, value)], linear: false }
    }

    /// The value at `offset_ns` (the last value holds after the last point).
    pub fn value_at(&self, offset_ns: u64) -> i64 {
        let i = self.points.partition_point(|(t, _)| *t <= offset_ns);
        if i == 0 {
            return self.points.first().map_or(0, |p| p.1);
        }
        let (t0, v0) = self.points[i - 1];
        match self.points.get(i) {
            Some(&(t1, v1)) if self.linear && t1 > t0 => {
                let num = (v1 as i128 - v0 as i128) * (offset_ns - t0) as i128;
                (v0 as i128 + num.div_euclid((t1 - t0) as i128)) as i64
            }
            _ => v0,
        }
    }

    /// The largest value.
    pub fn max(&self) -> i64 {
        self.points.iter().map(|p| p.1).max().unwrap_or(0)
    }

    /// `curve` up to `horizon`: its exact change points, or `max_points` grid samples if it
    /// changes more often than that.
    pub fn from_curve(curve: &Curve, horizon: SimDuration, max_points: usize) -> Series {
        let max_points = max_points.max(2);
        let mut points = vec![(0, curve.value_at(SimDuration::ZERO))];
        let mut t = SimDuration::ZERO;
        while let Some(next) = curve.next_change_after(t) {
            if next > horizon {
                return Series { points, linear: false };
            }
            if points.len() >= max_points {
                let step = horizon.as_nanos() / (max_points as u64 - 1);
                let points = (0..max_points as u64)
                    .map(|i| (i * step, curve.value_at(SimDuration::from_nanos(i * step))))
                    .collect();
                return Series { points, linear: true };
            }
            points.push((next.as_nanos(), curve.value_at(next)));
            t = next;
        }
        Series { points, linear: false }
    }
}

/// One probe endpoint's answers: from `at_ns` on, `healthy` after `latency_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthPoint {
    /// Offset since start, ns.
    pub at_ns: u64,
    /// 200 (true) or 500 (false).
    pub healthy: bool,
    /// Answer delay, ns.
    pub latency_ns: u64,
}

fn health_points(t: &HealthTimeline) -> Vec<HealthPoint> {
    t.segments()
        .iter()
        .map(|(at, r)| HealthPoint {
            at_ns: at.as_nanos(),
            healthy: r.healthy,
            latency_ns: r.latency.as_nanos(),
        })
        .collect()
}

/// The answer at `offset_ns` (healthy before the first point).
pub fn health_at(points: &[HealthPoint], offset_ns: u64) -> (bool, u64) {
    let i = points.partition_point(|p| p.at_ns <= offset_ns);
    if i == 0 {
        return (true, 0);
    }
    (points[i - 1].healthy, points[i - 1].latency_ns)
}

/// SIGTERM reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// Exit 143 at once (what the default handler's death looks like as an exit code).
    Die,
    /// Exit with `exit_code` after `after_ns`.
    Graceful {
        /// Delay, ns.
        after_ns: u64,
        /// Exit code.
        exit_code: i32,
    },
    /// Keep running; only SIGKILL stops it.
    Ignore,
}

/// Everything the workload program plays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// CPU demand, millicores.
    pub cpu_millis: Series,
    /// Memory to hold (allocated and touched), bytes.
    pub memory_bytes: Series,
    /// `/healthz` answers.
    pub liveness: Vec<HealthPoint>,
    /// `/ready` answers.
    pub readiness: Vec<HealthPoint>,
    /// `/startup` answers.
    pub startup: Vec<HealthPoint>,
    /// Exit on its own at this offset (crash or completion), ns.
    pub exit_after_ns: Option<u64>,
    /// Exit code then (1 for a crash).
    pub exit_code: i32,
    /// SIGTERM reaction.
    pub shutdown: Shutdown,
    /// Port of the health endpoints.
    pub http_port: u16,
    /// Keep [`LIVENESS_FILE`], [`READINESS_FILE`] and [`STARTUP_FILE`] in step with the health
    /// answers, for exec probes. Only in a container, whose `/tmp` is a private tmpfs.
    #[serde(default)]
    pub health_files: bool,
}

impl ProgramSpec {
    /// An idle program: no CPU, no memory, healthy, never exits, exits 143 on SIGTERM.
    pub fn idle() -> Self {
        ProgramSpec::from_workload(
            &ContainerWorkload::idle(),
            &RngStreams::new(0),
            0,
            SimDuration::from_mins(1),
        )
    }

    /// Compiles instance `instance` of `w` (crash draws from `streams`), curves up to `horizon`.
    pub fn from_workload(
        w: &ContainerWorkload,
        streams: &RngStreams,
        instance: u64,
        horizon: SimDuration,
    ) -> Self {
        let cpu_millis = match &w.cpu_millis {
            Demand::Curve(c) => Series::from_curve(c, horizon, 2000),
            // No request traffic reaches the real backend yet: idle demand only.
            Demand::RequestDriven { base, .. } => Series::constant(*base),
        };
        let own_exit = w.own_exit(streams, instance);
        ProgramSpec {
            cpu_millis,
            memory_bytes: Series::from_curve(&w.memory_bytes, horizon, 2000),
            liveness: health_points(&w.health.liveness),
            readiness: health_points(&w.health.readiness),
            startup: health_points(&w.health.startup),
            exit_after_ns: own_exit.map(|(d, _)| d.as_nanos()),
            exit_code: own_exit.map_or(0, |(_, c)| c),
            shutdown: match w.shutdown {
                ShutdownSpec::Die => Shutdown::Die,
                ShutdownSpec::Graceful { after, exit_code } => {
                    Shutdown::Graceful { after_ns: after.as_nanos(), exit_code }
                }
                ShutdownSpec::Ignore => Shutdown::Ignore,
            },
            http_port: DEFAULT_HTTP_PORT,
            health_files: false,
        }
    }

    /// JSON for [`SPEC_ENV`].
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<ProgramSpec, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid workload spec: {e}"))
    }

    /// Reads the spec from [`SPEC_ENV`] or [`SPEC_FILE_ENV`].
    pub fn from_env() -> Result<ProgramSpec, String> {
        let text = match (std::env::var(SPEC_ENV), std::env::var(SPEC_FILE_ENV)) {
            (Ok(json), _) => json,
            (Err(_), Ok(path)) => {
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?
            }
            _ => return Err(format!("set {SPEC_ENV} (JSON) or {SPEC_FILE_ENV} (a file with it)")),
        };
        Self::from_json(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_workload::curve::Interpolation;
    use kubesim_workload::health::ProbeResponse;

    fn s(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    #[test]
    fn a_step_curve_is_listed_exactly_by_its_change_points() {
        let c = Curve::from_points(&[(s(0), 100), (s(10), 400), (s(20), 0)], Interpolation::Hold).unwrap();
        let series = Series::from_curve(&c, SimDuration::from_mins(1), 100);
        assert_eq!(
            series,
            Series { points: vec![(0, 100), (10_000_000_000, 400), (20_000_000_000, 0)], linear: false }
        );
        assert_eq!(series.value_at(9_999_999_999), 100);
        assert_eq!(series.value_at(10_000_000_000), 400);
        assert_eq!(series.value_at(u64::MAX), 0);
    }

    #[test]
    fn a_leak_is_sampled_on_a_grid_and_interpolated() {
        // 100 MiB + 1 MiB/s: 10 s horizon, 11 points one second apart.
        let c = Curve::constant(100 << 20).with_leak_per_sec(1 << 20);
        let series = Series::from_curve(&c, s(10), 11);
        assert!(series.linear);
        assert_eq!(series.points.len(), 11);
        assert_eq!(series.value_at(5_000_000_000), (105 << 20));
        assert_eq!(series.value_at(5_500_000_000), (105 << 20) + (1 << 19)); // halfway: +0.5 MiB
        assert_eq!(series.max(), 110 << 20);
    }

    #[test]
    fn the_spec_carries_health_exit_and_shutdown_and_round_trips_as_json() {
        let mut w = ContainerWorkload::steady(1000, 200 << 20);
        w.health.readiness = HealthTimeline::healthy_after(s(2)).then_at(s(30), ProbeResponse::UNHEALTHY);
        w.failures.crash_at = Some(s(45));
        w.shutdown = ShutdownSpec::Graceful { after: SimDuration::from_millis(300), exit_code: 7 };
        let spec = ProgramSpec::from_workload(&w, &RngStreams::new(1), 0, SimDuration::from_mins(10));
        assert_eq!(spec.cpu_millis, Series::constant(1000));
        assert_eq!(spec.memory_bytes, Series::constant(200 << 20));
        assert_eq!((spec.exit_after_ns, spec.exit_code), (Some(45_000_000_000), 1));
        assert_eq!(spec.shutdown, Shutdown::Graceful { after_ns: 300_000_000, exit_code: 7 });
        assert_eq!(health_at(&spec.readiness, 1_000_000_000), (false, 0));
        assert_eq!(health_at(&spec.readiness, 2_000_000_000), (true, 0));
        assert_eq!(health_at(&spec.readiness, 31_000_000_000), (false, 0));
        assert_eq!(health_at(&spec.liveness, 0), (true, 0));
        let back: ProgramSpec = serde_json::from_str(&spec.to_json()).unwrap();
        assert_eq!(back, spec);
    }
}
