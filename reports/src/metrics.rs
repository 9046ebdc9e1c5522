//! The tidy metrics stream: `metrics.csv`.
//!
//! # Format (a contract: scripts depend on it)
//!
//! `metrics.csv` is RFC 4180 CSV, UTF-8, `\n` line endings, one header line and then one row per
//! sample:
//!
//! ```text
//! time_s,metric,object,value
//! 0,pending_pods,cluster,0
//! 15,deployment_available_replicas,default/web,3
//! 15.25,node_cpu_utilisation,general-0,0.4375
//! ```
//!
//! | column   | meaning |
//! |----------|---------|
//! | `time_s` | simulated seconds since the start, printed exactly from integer nanoseconds: whole seconds, then at most nine decimals without trailing zeros (`15`, `15.25`), never float noise |
//! | `metric` | a snake_case metric name; units are in the name (`_s`, `_bytes`, `_ratio`, `_total`); see [`names`] |
//! | `object` | what the sample is about: `namespace/name` for namespaced objects, the node name for nodes, `cluster` for cluster-wide series |
//! | `value`  | a number in the shortest text that parses back to the same `f64`: integers without a decimal point (`3`), plain decimals in `[1e-5, 1e16)`, scientific notation otherwise (`1e-7`), `NaN`/`inf`/`-inf` for non-finite values |
//!
//! Fields are quoted only when they contain a comma, a quote or a line break. Rows appear in the
//! order they were recorded, which is simulated-time order for a run. Load it with
//! `pandas.read_csv("metrics.csv")` and pivot on `metric`/`object`, or in R with `read.csv`.
//!
//! [`MetricsWriter`] streams rows to any [`Write`]; [`MetricsTable`] holds them in memory (names
//! interned, 12 bytes a sample; a [`Retention`] may drop bulky per-pod metrics of large runs),
//! reads them back from CSV and answers "the series of `metric` for `object`" for plots and
//! summaries. Both implement [`MetricsSink`], so a simulation can record into either.

use std::io::{Read, Write};
use std::path::Path;

use sim_core::SimTime;

use crate::error::ReportError;
use crate::format::{format_time_s, format_value, parse_time_s, parse_value};

mod table;

pub use table::{MetricsTable, Retention, RowRef, Rows, RowsIter};

/// The header line of `metrics.csv`, without the line ending.
pub const METRICS_HEADER: [&str; 4] = ["time_s", "metric", "object", "value"];

/// The `object` of cluster-wide series.
pub const CLUSTER_OBJECT: &str = "cluster";

/// The recommended metric names. The standard plots of [`crate::plots`] look for these; a run
/// may record other metrics too (they stay in the CSV and in [`MetricsTable`]).
pub mod names {
    /// Fraction (0–1) of a node's allocatable CPU in use; object = node name.
    pub const NODE_CPU_UTILISATION: &str = "node_cpu_utilisation";
    /// Fraction (0–1) of a node's allocatable memory in use; object = node name.
    pub const NODE_MEMORY_UTILISATION: &str = "node_memory_utilisation";
    /// Pods waiting to be scheduled; object = `cluster`.
    pub const PENDING_PODS: &str = "pending_pods";
    /// `.spec.replicas` of a Deployment; object = `namespace/name`.
    pub const DEPLOYMENT_DESIRED_REPLICAS: &str = "deployment_desired_replicas";
    /// `.status.replicas` (all pods, old and new) of a Deployment.
    pub const DEPLOYMENT_REPLICAS: &str = "deployment_replicas";
    /// `.status.updatedReplicas` (pods of the newest template) of a Deployment.
    pub const DEPLOYMENT_UPDATED_REPLICAS: &str = "deployment_updated_replicas";
    /// `.status.readyReplicas` of a Deployment.
    pub const DEPLOYMENT_READY_REPLICAS: &str = "deployment_ready_replicas";
    /// `.status.availableReplicas` of a Deployment.
    pub const DEPLOYMENT_AVAILABLE_REPLICAS: &str = "deployment_available_replicas";
    /// available / desired replicas of a Deployment (1 when desired is 0).
    pub const DEPLOYMENT_AVAILABILITY_RATIO: &str = "deployment_availability_ratio";
    /// The HPA's desired replica count; object = `namespace/name` of the HPA.
    pub const HPA_DESIRED_REPLICAS: &str = "hpa_desired_replicas";
    /// The HPA's current replica count.
    pub const HPA_CURRENT_REPLICAS: &str = "hpa_current_replicas";
    /// Cumulative CPU-throttled seconds; object = pod or `cluster`.
    pub const CPU_THROTTLED_SECONDS_TOTAL: &str = "cpu_throttled_seconds_total";
    /// Cumulative OOM kills; object = `cluster` or a pod.
    pub const OOM_KILLS_TOTAL: &str = "oom_kills_total";
    /// Cumulative container restarts.
    pub const CONTAINER_RESTARTS_TOTAL: &str = "container_restarts_total";
    /// Cumulative evictions.
    pub const EVICTIONS_TOTAL: &str = "evictions_total";
    /// Seconds from pod creation to binding, one sample per scheduled pod; object = pod.
    pub const SCHEDULING_LATENCY_S: &str = "scheduling_latency_s";
}

/// One sample of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When it was taken.
    pub time: SimTime,
    /// What was measured.
    pub value: f64,
}

/// One row of `metrics.csv`, owned ([`MetricsTable::rows`] lends [`RowRef`]s; `to_row` copies one).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// When the sample was taken.
    pub time: SimTime,
    /// Metric name.
    pub metric: String,
    /// The object it is about.
    pub object: String,
    /// The value.
    pub value: f64,
}

/// Anything that accepts metric samples.
pub trait MetricsSink {
    /// Records one sample.
    fn record(&mut self, time: SimTime, metric: &str, object: &str, value: f64) -> Result<(), ReportError>;

    /// False when this sink would discard every row of `metric`: a producer may then skip
    /// building them (at full scale the per-container rows are ~450,000 formatted names per
    /// sample that nothing reads). True by default.
    fn wants(&self, _metric: &str) -> bool {
        true
    }
}

/// Streams `metrics.csv` rows to a writer as they are recorded.
///
/// The header is written on construction. Wrap files in a `BufWriter`; call [`MetricsWriter::finish`]
/// at the end to flush and surface any write error.
pub struct MetricsWriter<W: Write> {
    csv: csv::Writer<W>,
    rows_written: u64,
}

impl<W: Write> std::fmt::Debug for MetricsWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsWriter").field("rows_written", &self.rows_written).finish_non_exhaustive()
    }
}

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

impl<W: Write> MetricsWriter<W> {
    /// Starts a metrics stream on `out` and writes the header line.
    pub fn new(out: W) -> Result<Self, ReportError> {
        let mut csv = csv_writer(out);
        csv.write_record(METRICS_HEADER)?;
        Ok(MetricsWriter { csv, rows_written: 0 })
    }

    /// Writes one row.
    pub fn write(
        &mut self,
        time: SimTime,
        metric: &str,
        object: &str,
        value: f64,
    ) -> Result<(), ReportError> {
        let time_s = format_time_s(time);
        let value = format_value(value);
        self.csv.write_record([time_s.as_str(), metric, object, value.as_str()])?;
        self.rows_written += 1;
        Ok(())
    }

    /// Rows written so far (not counting the header).
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, ReportError> {
        self.csv.flush().map_err(|e| ReportError::io("<metrics stream>", e))?;
        self.csv.into_inner().map_err(|e| ReportError::io("<metrics stream>", e.into_error()))
    }
}

impl<W: Write> MetricsSink for MetricsWriter<W> {
    fn record(&mut self, time: SimTime, metric: &str, object: &str, value: f64) -> Result<(), ReportError> {
        self.write(time, metric, object, value)
    }
}

impl MetricsTable {
    /// Reads `metrics.csv` text. `label` names the input in error messages.
    pub fn from_csv_reader<R: Read>(input: R, label: &str) -> Result<Self, ReportError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
        let header = reader.headers()?.clone();
        if header.iter().ne(METRICS_HEADER) {
            return Err(ReportError::BadHeader {
                file: label.to_string(),
                expected: METRICS_HEADER.join(","),
                found: header.iter().collect::<Vec<_>>().join(","),
            });
        }
        let mut table = MetricsTable::new();
        for record in reader.records() {
            let record = record?;
            let line = record.position().map_or(0, |p| p.line());
            let bad = |column: &str, message: String| ReportError::BadField {
                file: label.to_string(),
                line,
                column: column.to_string(),
                message,
            };
            let time = parse_time_s(&record[0]).map_err(|m| bad("time_s", m))?;
            let value = parse_value(&record[3]).map_err(|m| bad("value", m))?;
            table.push(time, &record[1], &record[2], value);
        }
        Ok(table)
    }

    /// Reads a `metrics.csv` file.
    pub fn from_csv_path(path: &Path) -> Result<Self, ReportError> {
        let file = std::fs::File::open(path).map_err(|e| ReportError::io(path.display().to_string(), e))?;
        Self::from_csv_reader(std::io::BufReader::new(file), &path.display().to_string())
    }

    /// Writes the table as `metrics.csv` in recording order.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<W, ReportError> {
        let mut writer = MetricsWriter::new(out)?;
        for row in self.rows() {
            writer.write(row.time, row.metric, row.object, row.value)?;
        }
        writer.finish()
    }
}

impl MetricsSink for MetricsTable {
    fn record(&mut self, time: SimTime, metric: &str, object: &str, value: f64) -> Result<(), ReportError> {
        self.push(time, metric, object, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> MetricsTable {
        let mut t = MetricsTable::new();
        t.push(SimTime::ZERO, names::PENDING_PODS, CLUSTER_OBJECT, 0.0);
        t.push(SimTime::from_secs(15), names::DEPLOYMENT_AVAILABLE_REPLICAS, "default/web", 3.0);
        t.push(SimTime::from_millis(15_250), names::NODE_CPU_UTILISATION, "general-0", 0.4375);
        t.push(SimTime::from_secs(30), names::NODE_CPU_UTILISATION, "general-0", 0.1);
        t.push(SimTime::from_secs(30), "odd,metric", "pod \"x\"", 1e-7);
        t
    }

    const EXAMPLE_CSV: &str = "time_s,metric,object,value\n\
        0,pending_pods,cluster,0\n\
        15,deployment_available_replicas,default/web,3\n\
        15.25,node_cpu_utilisation,general-0,0.4375\n\
        30,node_cpu_utilisation,general-0,0.1\n\
        30,\"odd,metric\",\"pod \"\"x\"\"\",1e-7\n";

    #[test]
    fn writer_produces_exactly_the_documented_bytes() {
        let mut w = MetricsWriter::new(Vec::new()).unwrap();
        for row in example().rows() {
            w.record(row.time, row.metric, row.object, row.value).unwrap();
        }
        assert_eq!(w.rows_written(), 5);
        let bytes = w.finish().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), EXAMPLE_CSV);
    }

    #[test]
    fn an_empty_stream_is_just_the_header() {
        let bytes = MetricsWriter::new(Vec::new()).unwrap().finish().unwrap();
        assert_eq!(bytes, b"time_s,metric,object,value\n");
    }

    #[test]
    fn table_round_trips_through_csv() {
        let table = MetricsTable::from_csv_reader(EXAMPLE_CSV.as_bytes(), "example").unwrap();
        assert_eq!(table.rows(), example().rows());
        let bytes = table.write_csv(Vec::new()).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), EXAMPLE_CSV);
    }

    #[test]
    fn series_are_found_by_metric_and_object_in_time_order() {
        let mut t = example();
        // Recorded out of order on purpose: series() sorts by time.
        t.push(SimTime::from_secs(1), names::NODE_CPU_UTILISATION, "general-0", 0.9);
        t.push(SimTime::from_secs(5), names::NODE_CPU_UTILISATION, "general-1", 0.2);
        let s = t.series(names::NODE_CPU_UTILISATION, "general-0");
        let times: Vec<u64> = s.iter().map(|p| p.time.as_nanos()).collect();
        assert_eq!(times, vec![1_000_000_000, 15_250_000_000, 30_000_000_000]);
        assert_eq!(s[0].value, 0.9);
        assert_eq!(t.objects(names::NODE_CPU_UTILISATION), vec!["general-0", "general-1"]);
        assert_eq!(
            t.metrics(),
            vec!["deployment_available_replicas", "node_cpu_utilisation", "odd,metric", "pending_pods"]
        );
        assert!(t.series("nope", "cluster").is_empty());
        assert_eq!(t.series_by_object(names::NODE_CPU_UTILISATION).len(), 2);
    }

    #[test]
    fn a_wrong_header_is_rejected_with_both_headers_named() {
        let err = MetricsTable::from_csv_reader("t,metric,object,value\n".as_bytes(), "m.csv").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("m.csv") && msg.contains("time_s,metric,object,value"), "{msg}");
    }

    #[test]
    fn a_bad_field_is_reported_with_its_line_and_column() {
        let input = "time_s,metric,object,value\n0,a,b,1\n1.5,a,b,lots\n";
        let err = MetricsTable::from_csv_reader(input.as_bytes(), "m.csv").unwrap_err();
        match err {
            ReportError::BadField { line, column, .. } => {
                assert_eq!((line, column.as_str()), (3, "value"));
            }
            other => panic!("unexpected {other}"),
        }
        let input = "time_s,metric,object,value\n-3,a,b,1\n";
        let err = MetricsTable::from_csv_reader(input.as_bytes(), "m.csv").unwrap_err();
        assert!(err.to_string().contains("time_s"), "{err}");
    }

    /// A writer whose every write fails, like a full disk.
    #[derive(Debug)]
    struct FullDisk;
    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn a_failing_writer_is_reported_not_a_panic() {
        // The csv layer buffers, so the error may surface on a write or at finish().
        let result = MetricsWriter::new(FullDisk).and_then(|mut w| {
            w.write(SimTime::ZERO, "m", "o", 1.0)?;
            w.finish()
        });
        let err = result.unwrap_err().to_string();
        assert!(err.contains("disk full"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn any_rows_round_trip_through_csv_bit_for_bit(
            rows in proptest::collection::vec(
                (proptest::num::u64::ANY, "[a-z_,\"\n é]{0,12}", "[a-z/,\"\r\n-]{0,12}", proptest::num::f64::ANY),
                0..20,
            )
        ) {
            let mut table = MetricsTable::new();
            for (nanos, metric, object, value) in &rows {
                table.push(SimTime::from_nanos(*nanos), metric, object, *value);
            }
            let bytes = table.write_csv(Vec::new()).unwrap();
            let back = MetricsTable::from_csv_reader(bytes.as_slice(), "prop").unwrap();
            proptest::prop_assert_eq!(back.len(), table.len());
            for (a, b) in table.rows().iter().zip(back.rows()) {
                proptest::prop_assert_eq!((a.time, &a.metric, &a.object), (b.time, &b.metric, &b.object));
                // NaN payloads and the sign of zero are normalised; everything else is exact.
                if a.value.is_nan() {
                    proptest::prop_assert!(b.value.is_nan());
                } else if a.value == 0.0 {
                    proptest::prop_assert_eq!(b.value, 0.0);
                } else {
                    proptest::prop_assert_eq!(a.value.to_bits(), b.value.to_bits());
                }
            }
        }
    }

    #[test]
    fn a_short_record_is_an_error_not_a_panic() {
        let input = "time_s,metric,object,value\n0,a\n";
        assert!(MetricsTable::from_csv_reader(input.as_bytes(), "m.csv").is_err());
    }
}
