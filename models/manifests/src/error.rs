//! Errors and warnings, each naming where it comes from: file (and line when known), object
//! (`Kind namespace/name`) and field path (`spec.containers[0].resources.requests.cpu`).

use std::fmt;

use thiserror::Error;

/// Where something was found: the file (or the origin name given to `load_str`), the YAML document
/// in it (1-based) and a line when one is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// File path or origin name.
    pub file: String,
    /// 1-based index of the YAML document in the file.
    pub document: usize,
    /// 1-based line: of the offending value when the YAML parser reports it, else of the
    /// document's start (its `---`), when that can be told.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        Ok(())
    }
}

/// One problem, with its full context. Rendered as
/// `cluster.yaml:12: Pod default/web-0: spec.containers[0].resources.requests.cpu: invalid quantity "5x"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// `Kind namespace/name` (or `Kind name` for cluster-scoped kinds), when known.
    pub object: Option<String>,
    /// Field path inside the object, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if let Some(object) = &self.object {
            write!(f, ": {object}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A non-fatal finding: an unknown field, a skipped kind. Loading goes on.
pub type Warning = Diagnostic;

/// Why loading failed.
#[derive(Debug, Error)]
pub enum LoadError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed, or an object has an invalid value.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

impl LoadError {
    /// The diagnostic, for [`LoadError::Invalid`].
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            LoadError::Invalid(d) => Some(d),
            LoadError::Io { .. } => None,
        }
    }
}

/// An invalid value found while converting one object: the field path and message. The loader
/// adds the file and object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Result of converting one object.
pub(crate) type FieldResult<T> = Result<T, FieldError>;
