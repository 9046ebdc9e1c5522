//! One CSV file read record by record (the `csv` crate's reader: a fixed 64 KiB buffer), with
//! typed accessors whose errors name the file, the line, the column number and the column name.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::error::TraceError;
use crate::units::Decimal;

const BUFFER_BYTES: usize = 64 * 1024;

/// A CSV file being read.
pub(crate) struct CsvFile {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    record: csv::StringRecord,
    names: Vec<String>,
    /// Headerless files must have exactly this many fields; files with a header, as many as it.
    width: usize,
}

impl CsvFile {
    fn reader(path: &Path, has_headers: bool) -> Result<csv::Reader<BufReader<File>>, TraceError> {
        let file = File::open(path).map_err(|e| TraceError::io(path, e))?;
        Ok(csv::ReaderBuilder::new()
            .has_headers(has_headers)
            .flexible(true)
            .buffer_capacity(BUFFER_BYTES)
            .from_reader(BufReader::with_capacity(BUFFER_BYTES, file)))
    }

    /// A file without a header whose columns are `names`, in order (the Alibaba 2018 tables).
    pub(crate) fn headerless(path: &Path, names: &[&str]) -> Result<Self, TraceError> {
        Ok(CsvFile {
            path: path.to_path_buf(),
            reader: Self::reader(path, false)?,
            record: csv::StringRecord::new(),
            names: names.iter().map(|s| s.to_string()).collect(),
            width: names.len(),
        })
    }

    /// A file whose first line names the columns.
    pub(crate) fn with_header(path: &Path) -> Result<Self, TraceError> {
        let mut reader = Self::reader(path, true)?;
        let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        let names: Vec<String> = header.iter().map(|s| s.trim().to_string()).collect();
        if names.iter().all(String::is_empty) {
            return Err(TraceError::Header {
                file: path.to_path_buf(),
                message: "empty header line".to_string(),
            });
        }
        let width = names.len();
        Ok(CsvFile { path: path.to_path_buf(), reader, record: csv::StringRecord::new(), names, width })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The column names.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Index of a column that must be in the header.
    pub(crate) fn require(&self, name: &str) -> Result<usize, TraceError> {
        self.column(name).ok_or_else(|| TraceError::Header {
            file: self.path.clone(),
            message: format!("missing column `{name}` (found: {})", self.names.join(",")),
        })
    }

    /// Index of an optional column.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Reads the next record: `Ok(false)` at the end. A record with the wrong number of fields
    /// is an error (the record is consumed, so a lenient caller can go on).
    pub(crate) fn advance(&mut self) -> Result<bool, TraceError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(false),
            Ok(true) => {
                if self.record.len() != self.width {
                    return Err(TraceError::row(
                        &self.path,
                        self.line(),
                        format!(
                            "expected {} columns ({}), found {}",
                            self.width,
                            self.names.join(","),
                            self.record.len()
                        ),
                    ));
                }
                Ok(true)
            }
            Err(e) => Err(csv_error(&self.path, e)),
        }
    }

    /// 1-based line of the current record.
    pub(crate) fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    /// The current record.
    pub(crate) fn row(&self) -> Row<'_> {
        Row { file: self }
    }
}

fn csv_error(path: &Path, e: csv::Error) -> TraceError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => TraceError::io(path, io),
        csv::ErrorKind::Utf8 { err, .. } => TraceError::row(path, line, format!("invalid UTF-8: {err}")),
        other => TraceError::row(path, line, format!("{other:?}")),
    }
}

/// The current record of a [`CsvFile`], with typed field access.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a> {
    file: &'a CsvFile,
}

impl<'a> Row<'a> {
    pub(crate) fn line(&self) -> u64 {
        self.file.line()
    }

    /// An error about column `col` (0-based index).
    pub(crate) fn err(&self, col: usize, message: impl Into<String>) -> TraceError {
        TraceError::Field {
            file: self.file.path.clone(),
            line: self.line(),
            column: col as u64 + 1,
            field: self.file.names.get(col).cloned().unwrap_or_default(),
            message: message.into(),
        }
    }

    /// The raw text, trimmed.
    pub(crate) fn str(&self, col: usize) -> &'a str {
        self.file.record.get(col).unwrap_or("").trim()
    }

    /// The text, or `None` when empty or `nan` (how pandas writes a missing value).
    pub(crate) fn opt(&self, col: usize) -> Option<&'a str> {
        let s = self.str(col);
        (!s.is_empty() && !s.eq_ignore_ascii_case("nan")).then_some(s)
    }

    /// A non-empty string.
    pub(crate) fn required(&self, col: usize) -> Result<&'a str, TraceError> {
        self.opt(col).ok_or_else(|| self.err(col, "missing value"))
    }

    /// A non-negative integer.
    pub(crate) fn u64(&self, col: usize) -> Result<u64, TraceError> {
        let s = self.required(col)?;
        s.parse::<u64>().map_err(|_| self.err(col, format!("expected a non-negative integer, found {s:?}")))
    }

    /// An optional non-negative integer.
    pub(crate) fn opt_u64(&self, col: usize) -> Result<Option<u64>, TraceError> {
        match self.opt(col) {
            None => Ok(None),
            Some(_) => self.u64(col).map(Some),
        }
    }

    /// A signed integer.
    pub(crate) fn i64(&self, col: usize) -> Result<i64, TraceError> {
        let s = self.required(col)?;
        s.parse::<i64>().map_err(|_| self.err(col, format!("expected an integer, found {s:?}")))
    }

    /// An exact decimal.
    pub(crate) fn decimal(&self, col: usize) -> Result<Decimal, TraceError> {
        Decimal::parse(self.required(col)?).map_err(|m| self.err(col, m))
    }
}

/// A per-row parser over one CSV file: `parse` turns the current record into an event, or
/// `None` when the record is filtered out (sampling, invalid markers).
pub(crate) trait RowParser {
    type Item;
    fn file(&mut self) -> &mut CsvFile;
    fn ctx(&self) -> &crate::error::Ctx;
    fn parse(&mut self) -> Result<Option<Self::Item>, TraceError>;
}

/// Iterates a [`RowParser`]: one item per kept record; an error consumes its record only.
pub(crate) struct Rows<P>(pub(crate) P);

impl<P: RowParser> Iterator for Rows<P> {
    type Item = Result<P::Item, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.0.file().advance() {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(e)),
            }
            self.0.ctx().with(|s| s.records += 1);
            match self.0.parse() {
                Ok(None) => continue,
                Ok(Some(item)) => return Some(Ok(item)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
