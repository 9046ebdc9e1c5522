//! [`MetricsTable`]: metric samples in memory, compact enough for the scale benchmark.
//!
//! (The layout and the retention rule are documented on [`MetricsTable`].)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim_core::SimTime;

use super::{MetricRow, Point};

/// Which metrics a [`MetricsTable`] may drop, and when (see "Retention" there).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Retention {
    /// Bulky metric names, sorted.
    bulky: Vec<String>,
    /// Objects a bulky metric may have.
    max_objects: usize,
    /// Rows a bulky metric may have.
    max_points: usize,
}

impl Retention {
    /// Every row is kept.
    pub fn keep_all() -> Self {
        Self::default()
    }

    /// `metrics` are bulky: each keeps its series while it has at most `max_objects` objects and
    /// `max_points` rows, and is dropped as a whole past either.
    pub fn bulky<S: Into<String>>(
        metrics: impl IntoIterator<Item = S>,
        max_objects: usize,
        max_points: usize,
    ) -> Self {
        let mut bulky: Vec<String> = metrics.into_iter().map(Into::into).collect();
        bulky.sort();
        bulky.dedup();
        Retention { bulky, max_objects, max_points }
    }

    /// True when `metric` may be dropped.
    pub fn is_bulky(&self, metric: &str) -> bool {
        self.bulky.binary_search_by(|m| m.as_str().cmp(metric)).is_ok()
    }
}

/// One metric: its name, its objects' series, and whether it was dropped.
#[derive(Debug, Clone)]
struct MetricIndex {
    name: Arc<str>,
    /// Object → series id, sorted by object name.
    by_object: BTreeMap<Arc<str>, u32>,
    /// Rows kept (for the bulky limit).
    points: usize,
    bulky: bool,
    /// Rows recorded but not kept; `Some` once the metric is dropped.
    dropped: Option<u64>,
}

/// One row of a series: its time (an index into the table's `times`) and value, 12 bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct Sample {
    time: u32,
    value: f64,
}

/// The samples of one `(metric, object)` in recording order.
#[derive(Debug, Clone)]
struct SeriesData {
    metric: u32,
    object: Arc<str>,
    samples: Vec<Sample>,
}

/// Consecutive rows whose series ids are `first`, `first + 1`, … (`len` of them).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    first: u32,
    len: u32,
}

/// All rows of a metrics stream in memory, indexed by `(metric, object)`.
///
/// # Layout
///
/// A run records millions of rows, nearly all repeating a handful of metric names, a few hundred
/// thousand object names and one time per sample. The table therefore stores each name once,
/// each distinct time once, and each sample as 12 bytes:
///
/// | part | holds | cost |
/// |---|---|---|
/// | `metric_ids` / `metrics` | each metric name once, and per metric its objects → series (sorted) | per metric |
/// | `objects` | each object name once (`Arc<str>`, shared by every metric about that object) | per object |
/// | `times` | sample times, a new entry only when a row's time differs from the previous row's | 8 bytes a sample instant |
/// | `series` | per `(metric, object)`: its samples (index into `times`, value) in recording order | 12 bytes a row (+ growth slack ≤ 50 %) |
/// | `order` | the series of each row in recording order, run-length coded (for [`MetricsTable::rows`] and `write_csv`) | one run per sample when samples repeat the same order; ≤ 8 bytes a row |
///
/// # Retention
///
/// By default ([`Retention::keep_all`]) the table keeps every row. A run's table marks the metrics
/// whose objects grow with the pod count (per-container usage, per-pod scheduling latency) as
/// *bulky* with [`Retention::bulky`]: a bulky metric keeps its series only while it has at most
/// `max_objects` objects and `max_points` rows. The row that would pass either limit drops every
/// series of that metric from the table for good; its rows (before and after) are only counted
/// ([`MetricsTable::dropped_rows`], [`MetricsTable::dropped_metrics`]). A dropped metric is
/// absent from [`MetricsTable::metrics`], [`MetricsTable::objects`], [`MetricsTable::series`]
/// and [`MetricsTable::rows`] — all or nothing, never a silently partial series set.
/// [`MetricsTable::last_time`] still counts dropped rows.
#[derive(Debug, Clone, Default)]
pub struct MetricsTable {
    metric_ids: BTreeMap<Arc<str>, u32>,
    metrics: Vec<MetricIndex>,
    objects: BTreeSet<Arc<str>>,
    times: Vec<SimTime>,
    series: Vec<SeriesData>,
    order: Vec<Run>,
    rows: usize,
    retention: Retention,
    dropped_rows: u64,
    last_time: Option<SimTime>,
}

impl MetricsTable {
    /// An empty table that keeps every row.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table that drops bulky metrics as `retention` says.
    pub fn with_retention(retention: Retention) -> Self {
        MetricsTable { retention, ..Self::default() }
    }

    /// The table's retention rule.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// Appends one row (or only counts it, for a dropped metric).
    pub fn push(&mut self, time: SimTime, metric: &str, object: &str, value: f64) {
        self.last_time = Some(self.last_time.map_or(time, |t| t.max(time)));
        let m = self.metric_id(metric);
        let entry = &mut self.metrics[m as usize];
        if let Some(dropped) = &mut entry.dropped {
            *dropped += 1;
            self.dropped_rows += 1;
            return;
        }
        let limits = entry.bulky.then_some((self.retention.max_objects, self.retention.max_points));
        let existing = entry.by_object.get(object).copied();
        let over_limit = limits.is_some_and(|(max_objects, max_points)| {
            entry.points >= max_points || (existing.is_none() && entry.by_object.len() >= max_objects)
        });
        if over_limit {
            self.drop_metric(m);
            self.metrics[m as usize].dropped = self.metrics[m as usize].dropped.map(|d| d + 1);
            self.dropped_rows += 1;
            return;
        }
        let s = match existing {
            Some(s) => s,
            None => {
                let object = self.intern(object);
                let s = u32::try_from(self.series.len()).expect("fewer than 2^32 series");
                self.metrics[m as usize].by_object.insert(object.clone(), s);
                self.series.push(SeriesData { metric: m, object, samples: Vec::new() });
                s
            }
        };
        self.metrics[m as usize].points += 1;
        if self.times.last() != Some(&time) {
            self.times.push(time);
        }
        let time = u32::try_from(self.times.len() - 1).expect("fewer than 2^32 sample times");
        let samples = &mut self.series[s as usize].samples;
        if samples.len() == samples.capacity() {
            // Grow by half rather than double: a run's series all grow at the same pace, so
            // doubling would leave up to half of every series unused at once.
            samples.reserve_exact((samples.len() / 2).max(4));
        }
        samples.push(Sample { time, value });
        push_run(&mut self.order, s);
        self.rows += 1;
    }

    /// False once `metric` is dropped (its rows are only counted from then on).
    pub fn keeps(&self, metric: &str) -> bool {
        self.metric_ids.get(metric).is_none_or(|&m| self.metrics[m as usize].dropped.is_none())
    }

    /// Counts `rows` rows of the dropped `metric` at `time` that the producer did not build
    /// (it asked [`Self::keeps`] first): the same bookkeeping as pushing them one by one.
    pub fn count_skipped(&mut self, time: SimTime, metric: &str, rows: u64) {
        if rows == 0 {
            return;
        }
        debug_assert!(!self.keeps(metric), "only a dropped metric's rows may be skipped");
        self.last_time = Some(self.last_time.map_or(time, |t| t.max(time)));
        let m = self.metric_id(metric);
        if let Some(dropped) = &mut self.metrics[m as usize].dropped {
            *dropped += rows;
            self.dropped_rows += rows;
        }
    }

    fn metric_id(&mut self, metric: &str) -> u32 {
        if let Some(&m) = self.metric_ids.get(metric) {
            return m;
        }
        let name: Arc<str> = Arc::from(metric);
        let m = u32::try_from(self.metrics.len()).expect("fewer than 2^32 metrics");
        self.metric_ids.insert(name.clone(), m);
        self.metrics.push(MetricIndex {
            name,
            by_object: BTreeMap::new(),
            points: 0,
            bulky: self.retention.is_bulky(metric),
            dropped: None,
        });
        m
    }

    fn intern(&mut self, object: &str) -> Arc<str> {
        if let Some(o) = self.objects.get(object) {
            return o.clone();
        }
        let o: Arc<str> = Arc::from(object);
        self.objects.insert(o.clone());
        o
    }

    /// Removes every series of metric `m` (renumbering the others) and marks it dropped.
    fn drop_metric(&mut self, m: u32) {
        let entry = &mut self.metrics[m as usize];
        entry.dropped = Some(entry.points as u64);
        self.dropped_rows += entry.points as u64;
        entry.points = 0;
        entry.by_object = BTreeMap::new();
        let mut renumber = vec![u32::MAX; self.series.len()];
        let mut next = 0u32;
        for (old, s) in self.series.iter().enumerate() {
            if s.metric != m {
                renumber[old] = next;
                next += 1;
            }
        }
        self.series.retain(|s| s.metric != m);
        self.series.shrink_to_fit();
        for entry in &mut self.metrics {
            for s in entry.by_object.values_mut() {
                *s = renumber[*s as usize];
            }
        }
        let mut order = Vec::new();
        for run in &self.order {
            for s in run.first..run.first + run.len {
                let s = renumber[s as usize];
                if s != u32::MAX {
                    push_run(&mut order, s);
                }
            }
        }
        self.order = order;
        self.rows -= self.metrics[m as usize].dropped.unwrap_or(0) as usize;
        // Names only the dropped series used (the interner holds the last reference).
        self.objects.retain(|o| Arc::strong_count(o) > 1);
    }

    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row is kept.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Rows recorded but not kept (every row of each dropped metric).
    pub fn dropped_rows(&self) -> u64 {
        self.dropped_rows
    }

    /// The dropped metrics with how many rows each had, sorted by name.
    pub fn dropped_metrics(&self) -> Vec<(&str, u64)> {
        self.metric_ids
            .values()
            .filter_map(|&m| {
                let e = &self.metrics[m as usize];
                e.dropped.map(|rows| (&*e.name, rows))
            })
            .collect()
    }

    /// The latest sample time recorded, dropped rows included; `None` for an empty table.
    pub fn last_time(&self) -> Option<SimTime> {
        self.last_time
    }

    /// All kept rows in recording order.
    pub fn rows(&self) -> Rows<'_> {
        Rows { table: self }
    }

    /// Metric names that have kept rows, sorted.
    pub fn metrics(&self) -> Vec<&str> {
        self.metric_ids
            .iter()
            .filter(|(_, &m)| !self.metrics[m as usize].by_object.is_empty())
            .map(|(name, _)| &**name)
            .collect()
    }

    fn index(&self, metric: &str) -> Option<&MetricIndex> {
        self.metric_ids.get(metric).map(|&m| &self.metrics[m as usize])
    }

    /// Objects that have samples of `metric`, sorted.
    pub fn objects(&self, metric: &str) -> Vec<&str> {
        self.index(metric).map_or_else(Vec::new, |e| e.by_object.keys().map(|o| &**o).collect())
    }

    /// The samples of `metric` for `object`, ordered by time (ties keep recording order). Empty
    /// when there are none.
    pub fn series(&self, metric: &str, object: &str) -> Vec<Point> {
        self.index(metric)
            .and_then(|e| e.by_object.get(object))
            .map_or_else(Vec::new, |&s| self.sorted_points(s))
    }

    /// Every series of `metric`, keyed by object in sorted order.
    pub fn series_by_object(&self, metric: &str) -> BTreeMap<String, Vec<Point>> {
        let Some(e) = self.index(metric) else { return BTreeMap::new() };
        e.by_object.iter().map(|(object, &s)| (object.to_string(), self.sorted_points(s))).collect()
    }

    fn point(&self, sample: Sample) -> Point {
        Point { time: self.times[sample.time as usize], value: sample.value }
    }

    /// The points of series `s` stably sorted by time.
    fn sorted_points(&self, s: u32) -> Vec<Point> {
        let mut out: Vec<Point> = self.series[s as usize].samples.iter().map(|&p| self.point(p)).collect();
        if !out.is_sorted_by_key(|p| p.time) {
            out.sort_by_key(|p| p.time);
        }
        out
    }
}

/// Appends series `s` to a run-length coded order.
fn push_run(order: &mut Vec<Run>, s: u32) {
    match order.last_mut() {
        Some(run) if run.first.checked_add(run.len) == Some(s) => run.len += 1,
        _ => order.push(Run { first: s, len: 1 }),
    }
}

/// One kept row, borrowed from its [`MetricsTable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowRef<'a> {
    /// When the sample was taken.
    pub time: SimTime,
    /// Metric name.
    pub metric: &'a str,
    /// The object it is about.
    pub object: &'a str,
    /// The value.
    pub value: f64,
}

impl RowRef<'_> {
    /// An owned copy.
    pub fn to_row(&self) -> MetricRow {
        MetricRow {
            time: self.time,
            metric: self.metric.to_string(),
            object: self.object.to_string(),
            value: self.value,
        }
    }
}

/// The kept rows of a [`MetricsTable`] in recording order (from [`MetricsTable::rows`]).
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    table: &'a MetricsTable,
}

impl std::fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Rows<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<'a> Rows<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The rows in recording order.
    pub fn iter(&self) -> RowsIter<'a> {
        RowsIter {
            table: self.table,
            run: 0,
            in_run: 0,
            left: self.table.rows,
            cursor: vec![0; self.table.series.len()],
        }
    }
}

impl<'a> IntoIterator for Rows<'a> {
    type Item = RowRef<'a>;
    type IntoIter = RowsIter<'a>;
    fn into_iter(self) -> RowsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Rows<'a> {
    type Item = RowRef<'a>;
    type IntoIter = RowsIter<'a>;
    fn into_iter(self) -> RowsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Rows`]: walks the recording order, one cursor per series.
#[derive(Debug, Clone)]
pub struct RowsIter<'a> {
    table: &'a MetricsTable,
    /// The next row is the `in_run`-th of `order[run]`.
    run: usize,
    in_run: u32,
    left: usize,
    /// Per series, how many of its samples were returned.
    cursor: Vec<u32>,
}

impl<'a> Iterator for RowsIter<'a> {
    type Item = RowRef<'a>;

    fn next(&mut self) -> Option<RowRef<'a>> {
        let t = self.table;
        let run = *t.order.get(self.run)?;
        let s = (run.first + self.in_run) as usize;
        self.in_run += 1;
        if self.in_run == run.len {
            (self.run, self.in_run) = (self.run + 1, 0);
        }
        self.left -= 1;
        let series = &t.series[s];
        let point = t.point(series.samples[self.cursor[s] as usize]);
        self.cursor[s] += 1;
        Some(RowRef {
            time: point.time,
            metric: &t.metrics[series.metric as usize].name,
            object: &series.object,
            value: point.value,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RowsIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn rows_come_back_in_recording_order_with_names_shared() {
        let mut t = MetricsTable::new();
        t.push(at(0), "a", "x", 1.0);
        t.push(at(0), "b", "x", 2.0);
        t.push(at(1), "a", "y", 3.0);
        t.push(at(1), "a", "x", 4.0);
        let rows: Vec<(u64, &str, &str, f64)> =
            t.rows().iter().map(|r| (r.time.as_secs(), r.metric, r.object, r.value)).collect();
        assert_eq!(
            rows,
            vec![(0, "a", "x", 1.0), (0, "b", "x", 2.0), (1, "a", "y", 3.0), (1, "a", "x", 4.0)]
        );
        // "x" is about two metrics but stored once.
        assert_eq!(t.objects.len(), 2);
        assert_eq!(t.rows().iter().len(), 4);
    }

    #[test]
    fn samples_repeating_one_order_share_one_time_entry_and_one_run_each() {
        // 3 samples × (2 objects × 2 metrics): series 0..4 each time → one run per sample, one
        // time entry per sample.
        let mut t = MetricsTable::new();
        for s in 0..3 {
            for o in ["x", "y"] {
                t.push(at(s), "a", o, 1.0);
                t.push(at(s), "b", o, 2.0);
            }
        }
        assert_eq!((t.len(), t.times.len()), (12, 3));
        assert_eq!(t.order, vec![Run { first: 0, len: 4 }; 3]);
        assert_eq!(std::mem::size_of::<Sample>(), 12);
    }

    #[test]
    fn a_bulky_metric_past_its_object_limit_is_dropped_whole_and_others_keep_their_rows() {
        // At most 2 objects of "per_pod": the third object's row drops all 3 rows (2 kept + it);
        // the later row of an old object is counted too: 4 dropped rows.
        let mut t = MetricsTable::with_retention(Retention::bulky(["per_pod"], 2, 100));
        t.push(at(0), "per_pod", "p1", 1.0);
        t.push(at(0), "nodes", "n1", 0.5);
        t.push(at(0), "per_pod", "p2", 2.0);
        assert_eq!(t.objects("per_pod"), vec!["p1", "p2"]);
        t.push(at(1), "per_pod", "p3", 3.0);
        t.push(at(9), "per_pod", "p1", 4.0);
        t.push(at(2), "nodes", "n1", 0.75);
        assert_eq!(t.dropped_rows(), 4);
        assert_eq!(t.dropped_metrics(), vec![("per_pod", 4)]);
        assert!(t.objects("per_pod").is_empty() && t.series("per_pod", "p1").is_empty());
        assert_eq!(t.metrics(), vec!["nodes"]);
        assert_eq!(t.len(), 2);
        let values: Vec<f64> = t.rows().iter().map(|r| r.value).collect();
        assert_eq!(values, vec![0.5, 0.75]);
        assert_eq!(t.series("nodes", "n1").len(), 2);
        // Pod names only the dropped metric used are released; the latest time still counts.
        assert_eq!(t.objects.iter().map(|o| &**o).collect::<Vec<_>>(), vec!["n1"]);
        assert_eq!(t.last_time(), Some(at(9)));
    }

    #[test]
    fn a_bulky_metric_past_its_row_limit_is_dropped() {
        let mut t = MetricsTable::with_retention(Retention::bulky(["per_pod"], 10, 3));
        for s in 0..3 {
            t.push(at(s), "per_pod", "p1", 1.0);
        }
        assert_eq!((t.len(), t.dropped_rows()), (3, 0));
        t.push(at(3), "per_pod", "p1", 1.0);
        assert_eq!((t.len(), t.dropped_rows()), (0, 4));
    }

    #[test]
    fn metrics_not_named_bulky_are_never_dropped() {
        let mut t = MetricsTable::with_retention(Retention::bulky(["per_pod"], 0, 0));
        for i in 0..100 {
            t.push(at(i), "nodes", &format!("n{i}"), 1.0);
        }
        t.push(at(0), "per_pod", "p", 1.0);
        assert_eq!((t.len(), t.dropped_rows()), (100, 1));
        assert!(Retention::keep_all() == Retention::default() && !Retention::keep_all().is_bulky("nodes"));
    }

    proptest::proptest! {
        /// The compact table answers exactly like the naive one it replaced: rows in recording
        /// order, series stably sorted by time, objects and metrics sorted.
        #[test]
        fn the_table_answers_like_a_list_of_rows(
            rows in proptest::collection::vec((0u64..5, 0usize..3, 0usize..4, -3i32..3), 0..60)
        ) {
            let metrics = ["m_b", "m_a", "m_c"];
            let objects = ["o2", "o1", "o10", "cluster"];
            let mut t = MetricsTable::new();
            let mut naive: Vec<MetricRow> = Vec::new();
            for &(s, m, o, v) in &rows {
                t.push(at(s), metrics[m], objects[o], f64::from(v));
                naive.push(MetricRow { time: at(s), metric: metrics[m].into(), object: objects[o].into(), value: f64::from(v) });
            }
            let back: Vec<MetricRow> = t.rows().iter().map(|r| r.to_row()).collect();
            proptest::prop_assert_eq!(&back, &naive);
            let mut want_metrics: Vec<&str> = naive.iter().map(|r| r.metric.as_str()).collect();
            want_metrics.sort();
            want_metrics.dedup();
            proptest::prop_assert_eq!(t.metrics(), want_metrics.clone());
            for m in want_metrics {
                let mut want_objects: Vec<&str> =
                    naive.iter().filter(|r| r.metric == m).map(|r| r.object.as_str()).collect();
                want_objects.sort();
                want_objects.dedup();
                proptest::prop_assert_eq!(t.objects(m), want_objects.clone());
                for o in want_objects {
                    let mut want: Vec<Point> = naive
                        .iter()
                        .filter(|r| r.metric == m && r.object == o)
                        .map(|r| Point { time: r.time, value: r.value })
                        .collect();
                    want.sort_by_key(|p| p.time);
                    proptest::prop_assert_eq!(t.series(m, o), want.clone());
                    let by_object = t.series_by_object(m);
                    proptest::prop_assert_eq!(by_object.get(o), Some(&want));
                }
            }
            proptest::prop_assert_eq!(t.last_time(), naive.iter().map(|r| r.time).max());
        }

        /// Dropping a bulky metric leaves the other rows exactly as a table that never saw it.
        #[test]
        fn dropping_a_bulky_metric_leaves_the_rest_as_if_it_never_existed(
            rows in proptest::collection::vec((0u64..5, proptest::bool::ANY, 0usize..6), 0..80)
        ) {
            let mut capped = MetricsTable::with_retention(Retention::bulky(["bulky"], 3, 8));
            let mut without = MetricsTable::new();
            for &(s, bulky, o) in &rows {
                let object = format!("o{o}");
                if bulky {
                    capped.push(at(s), "bulky", &object, 1.0);
                } else {
                    capped.push(at(s), "kept", &object, s as f64);
                    without.push(at(s), "kept", &object, s as f64);
                }
            }
            if capped.dropped_rows() > 0 {
                proptest::prop_assert_eq!(capped.rows(), without.rows());
                proptest::prop_assert_eq!(capped.series_by_object("kept"), without.series_by_object("kept"));
                proptest::prop_assert!(capped.objects("bulky").is_empty());
            } else {
                proptest::prop_assert_eq!(capped.len(), rows.len());
            }
        }
    }
}
