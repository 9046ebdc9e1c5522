//! Helpers for `summary.json`: distribution and time-series summaries.
//!
//! * [`Distribution`] — count, mean, min, nearest-rank p50/p90/p99 and max of a set of samples
//!   (e.g. scheduling latency over all pods); percentiles as defined in [`crate::stats`].
//! * [`SeriesSummary`] — first/last/min/max and the time-weighted mean of one series (e.g. the
//!   lowest availability ratio of a deployment and its final replica count).
//!
//! Both read plain data: slices of samples, [`Point`]s, or a [`MetricsTable`].

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sim_core::SimDuration;

use crate::metrics::{MetricsTable, Point};
use crate::stats::{percentile_of_sorted, StatsError};

/// Distribution of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distribution {
    /// Number of samples (≥ 1).
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest sample.
    pub min: f64,
    /// Nearest-rank median.
    pub p50: f64,
    /// Nearest-rank 90th percentile.
    pub p90: f64,
    /// Nearest-rank 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Distribution {
    /// Summarises `samples` (any order). Fails on an empty slice or a non-finite sample.
    pub fn of(samples: &[f64]) -> Result<Distribution, StatsError> {
        let summary = crate::stats::Summary::of(samples)?;
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Ok(Distribution {
            count: sorted.len(),
            mean: summary.mean,
            min: summary.min,
            p50: percentile_of_sorted(&sorted, 50.0)?,
            p90: percentile_of_sorted(&sorted, 90.0)?,
            p99: percentile_of_sorted(&sorted, 99.0)?,
            max: summary.max,
        })
    }

    /// Summarises durations in seconds; `None` when there are none.
    pub fn of_durations(durations: &[SimDuration]) -> Option<Distribution> {
        let seconds: Vec<f64> = durations.iter().map(|d| d.as_secs_f64()).collect();
        Distribution::of(&seconds).ok()
    }

    /// Summarises every sample of `metric` across all objects (e.g. `scheduling_latency_s`);
    /// `None` when the metric has no finite sample. Non-finite samples are skipped.
    pub fn of_metric(table: &MetricsTable, metric: &str) -> Option<Distribution> {
        let values: Vec<f64> = table
            .rows()
            .iter()
            .filter(|r| r.metric == metric && r.value.is_finite())
            .map(|r| r.value)
            .collect();
        Distribution::of(&values).ok()
    }

    /// `{"count", "mean", "min", "p50", "p90", "p99", "max"}` for `summary.json` (write it through
    /// [`crate::canonical`] so key order does not depend on cargo features).
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "mean": self.mean,
            "min": self.min,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
        })
    }
}

/// Summary of one time series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesSummary {
    /// The earliest sample's value.
    pub first: f64,
    /// The latest sample's value (ties: the last recorded).
    pub last: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean over time between the first and the last sample, each value holding until the next
    /// sample (step interpretation, as metrics are sampled states); the plain value when all
    /// samples share one instant.
    pub time_weighted_mean: f64,
}

impl SeriesSummary {
    /// Summarises `points` (sorted or not); `None` when there is no finite sample.
    pub fn of(points: &[Point]) -> Option<SeriesSummary> {
        let mut points: Vec<Point> = points.iter().copied().filter(|p| p.value.is_finite()).collect();
        points.sort_by_key(|p| p.time);
        let (first, last) = (points.first()?, points.last()?);
        let min = points.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
        let max = points.iter().map(|p| p.value).fold(f64::NEG_INFINITY, f64::max);
        let span_nanos = last.time.as_nanos() - first.time.as_nanos();
        let time_weighted_mean = if span_nanos == 0 {
            last.value
        } else {
            let weighted: f64 = points
                .windows(2)
                .map(|w| w[0].value * (w[1].time.as_nanos() - w[0].time.as_nanos()) as f64)
                .sum();
            weighted / span_nanos as f64
        };
        Some(SeriesSummary { first: first.value, last: last.value, min, max, time_weighted_mean })
    }

    /// [`SeriesSummary::of`] for every object of `metric`, keyed by object in sorted order.
    pub fn of_metric(table: &MetricsTable, metric: &str) -> BTreeMap<String, SeriesSummary> {
        table
            .series_by_object(metric)
            .into_iter()
            .filter_map(|(object, points)| SeriesSummary::of(&points).map(|s| (object, s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_metrics;
    use crate::metrics::names;
    use sim_core::SimTime;

    #[test]
    fn scheduling_latency_p50_and_p99_are_nearest_rank() {
        // 200 latencies 1..=200 ms: p50 → rank 100 → 0.1 s; p90 → rank 180; p99 → rank 198.
        let latencies: Vec<SimDuration> = (1..=200).rev().map(SimDuration::from_millis).collect();
        let d = Distribution::of_durations(&latencies).unwrap();
        assert_eq!(d.count, 200);
        assert_eq!((d.min, d.p50, d.p90, d.p99, d.max), (0.001, 0.1, 0.18, 0.198, 0.2));
        assert!((d.mean - 0.1005).abs() < 1e-12);
        assert_eq!(Distribution::of_durations(&[]), None);
    }

    #[test]
    fn distribution_json_has_the_documented_keys() {
        let d = Distribution::of(&[2.0, 4.0]).unwrap();
        assert_eq!(
            crate::canonical::to_string(&d.to_json()),
            r#"{"count":2,"max":4.0,"mean":3.0,"min":2.0,"p50":2.0,"p90":4.0,"p99":4.0}"#
        );
    }

    #[test]
    fn a_metric_distribution_pools_all_objects_and_skips_nan() {
        let mut t = MetricsTable::new();
        t.push(SimTime::ZERO, names::SCHEDULING_LATENCY_S, "default/a", 1.0);
        t.push(SimTime::ZERO, names::SCHEDULING_LATENCY_S, "default/b", 3.0);
        t.push(SimTime::ZERO, names::SCHEDULING_LATENCY_S, "default/c", f64::NAN);
        t.push(SimTime::ZERO, names::PENDING_PODS, "cluster", 100.0);
        let d = Distribution::of_metric(&t, names::SCHEDULING_LATENCY_S).unwrap();
        assert_eq!((d.count, d.p50, d.max), (2, 1.0, 3.0));
        assert!(Distribution::of_metric(&t, "absent").is_none());
    }

    #[test]
    fn time_weighted_mean_holds_each_value_until_the_next_sample() {
        // 0 for 10 s, then 6 for 30 s, last sample at 40 s: (0·10 + 6·30) / 40 = 4.5.
        let points =
            [(0, 0.0), (10, 6.0), (40, 2.0)].map(|(s, value)| Point { time: SimTime::from_secs(s), value });
        let s = SeriesSummary::of(&points).unwrap();
        assert_eq!((s.first, s.last, s.min, s.max), (0.0, 2.0, 0.0, 6.0));
        assert_eq!(s.time_weighted_mean, 4.5);
        let one = SeriesSummary::of(&points[1..2]).unwrap();
        assert_eq!(one.time_weighted_mean, 6.0);
        assert_eq!(SeriesSummary::of(&[]), None);
    }

    #[test]
    fn demo_availability_minimum_is_the_node_failure_dip() {
        // web loses 2 of 6 pods at the node failure: 4/6.
        let by_deployment = SeriesSummary::of_metric(&demo_metrics(), names::DEPLOYMENT_AVAILABILITY_RATIO);
        assert_eq!(by_deployment.keys().collect::<Vec<_>>(), ["default/api", "default/web"]);
        assert_eq!(by_deployment["default/web"].min, 4.0 / 6.0);
        assert_eq!(by_deployment["default/web"].last, 1.0);
    }
}
