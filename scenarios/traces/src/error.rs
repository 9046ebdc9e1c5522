//! Errors that name the file, the line and the column, and the counters a read leaves behind.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many warning messages [`ReadStats::warnings`] keeps (the counters keep counting).
pub const MAX_WARNINGS: usize = 20;

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A malformed line as a whole (wrong column count, out of time order, bad JSON, …).
    #[error("{}:{line}: {message}", file.display())]
    Row {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A malformed value. For CSV, `column` is the 1-based field number; for JSON lines, the
    /// 1-based character column of the key (or of the syntax error).
    #[error("{}:{line}:{column}: {field}: {message}", file.display())]
    Field {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column (see above).
        column: u64,
        /// The column or key name.
        field: String,
        /// What is wrong, quoting the value.
        message: String,
    },
    /// A header that lacks a required column.
    #[error("{}:1: header: {message}", file.display())]
    Header {
        /// The file.
        file: PathBuf,
        /// What is missing.
        message: String,
    },
    /// An invalid reader option (not tied to a file).
    #[error("invalid trace option: {0}")]
    Option(String),
}

impl TraceError {
    /// True for errors confined to one record, which the lenient mode may skip.
    pub fn is_row_level(&self) -> bool {
        matches!(self, TraceError::Row { .. } | TraceError::Field { .. })
    }

    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        TraceError::Io { file: file.to_path_buf(), source }
    }

    pub(crate) fn row(file: &Path, line: u64, message: impl Into<String>) -> Self {
        TraceError::Row { file: file.to_path_buf(), line, message: message.into() }
    }
}

/// What a read did: counts per outcome, and the first [`MAX_WARNINGS`] warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Data records read, over all files and passes.
    pub records: u64,
    /// Malformed records skipped under `lenient` (each also a warning).
    pub skipped_malformed: u64,
    /// Records skipped because the source marks them invalid (time 0 = outside the trace span,
    /// usage percentages of −1 or 101, …): not errors, the trace documents them.
    pub skipped_invalid: u64,
    /// Objects dropped because they fall outside the `from`/`to` window.
    pub outside_window: u64,
    /// Machines dropped by `sample_machines`.
    pub machines_sampled_out: u64,
    /// Workloads (pods, jobs) dropped by sampling.
    pub workloads_sampled_out: u64,
    /// Events produced.
    pub events: u64,
    /// The first [`MAX_WARNINGS`] warnings, in the order they happened.
    pub warnings: Vec<String>,
    /// All warnings, including those not kept in `warnings`.
    pub warning_count: u64,
}

impl ReadStats {
    pub(crate) fn warn(&mut self, message: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        }
    }
}

/// Shared state of one read: its stats and the lenient switch. Cloned into every file source.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) stats: Arc<Mutex<ReadStats>>,
    pub(crate) lenient: bool,
}

impl Ctx {
    pub(crate) fn new(lenient: bool) -> Self {
        Ctx { stats: Arc::new(Mutex::new(ReadStats::default())), lenient }
    }

    /// Runs `f` on the stats (a poisoned lock still holds valid counters).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut ReadStats) -> R) -> R {
        let mut guard = match self.stats.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// A record-level error: skipped and counted under `lenient`, returned otherwise.
    pub(crate) fn tolerate(&self, err: TraceError) -> Result<(), TraceError> {
        if self.lenient && err.is_row_level() {
            self.with(|s| {
                s.skipped_malformed += 1;
                s.warn(format!("skipped: {err}"));
            });
            Ok(())
        } else {
            Err(err)
        }
    }

    pub(crate) fn snapshot(&self) -> ReadStats {
        self.with(|s| s.clone())
    }
}
