//! The one error type of the crate.

use std::io;

/// Everything that can go wrong while writing or reading a report artefact.
///
/// Nothing in this crate panics on bad input; malformed CSV, non-finite samples or a failing
/// writer all come back as one of these variants with enough context to name the culprit.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing to (or reading from) the underlying stream or file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file (or `<stream>` for an in-memory writer).
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The CSV layer failed (quoting, UTF-8, a short record).
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
    /// A CSV file was readable but a field does not follow the documented format.
    #[error("{file}, line {line}, column `{column}`: {message}")]
    BadField {
        /// Which input (a path or a label such as `metrics.csv`).
        file: String,
        /// 1-based line number, counting the header as line 1.
        line: u64,
        /// The column name from the documented header.
        column: String,
        /// What is wrong with it.
        message: String,
    },
    /// The CSV header is not the documented one.
    #[error("{file}: expected header `{expected}`, found `{found}`")]
    BadHeader {
        /// Which input.
        file: String,
        /// The documented header.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A statistic was asked of data it cannot describe.
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    /// The plotting backend refused to draw.
    #[error("plot `{title}`: {message}")]
    Plot {
        /// The plot's title.
        title: String,
        /// The backend's message.
        message: String,
    },
}

impl ReportError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<String>, source: io::Error) -> Self {
        ReportError::Io { path: path.into(), source }
    }
}
