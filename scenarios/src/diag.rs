//! Findings about a scenario file: errors and warnings naming the file, the line and the field.

use std::fmt;

/// One finding, rendered `scenario.yaml:12: spec.events[2].rollout.deployment: unknown deployment "wbe"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (scenario or manifest).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Field path (`spec.events[2].rollout.deployment`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl From<&kubesim_manifests::Diagnostic> for Diagnostic {
    fn from(d: &kubesim_manifests::Diagnostic) -> Self {
        let field = match (&d.object, &d.field) {
            (Some(o), Some(f)) => Some(format!("{o}: {f}")),
            (Some(o), None) => Some(o.clone()),
            (None, f) => f.clone(),
        };
        Diagnostic { file: d.location.file.clone(), line: d.location.line, field, message: d.message.clone() }
    }
}

/// Why a scenario cannot run. Every variant maps to exit code 2 in the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error text.
        message: String,
    },
    /// The file is not a valid scenario; every finding is listed.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diags: &[Diagnostic]) -> String {
    let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ScenarioError {
    /// The findings (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Invalid(d) => d,
            ScenarioError::Io { .. } => &[],
        }
    }
}

/// Errors of a run after a valid scenario was loaded (I/O on outputs, a refused action).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cluster refused something (a duplicate node, a bad scheduler config) or its log failed.
    #[error("cluster: {0}")]
    Cluster(#[from] kubesim_cluster::ClusterError),
    /// Writing an output failed.
    #[error("{path}: {message}")]
    Output {
        /// The path.
        path: String,
        /// What failed.
        message: String,
    },
    /// A report could not be produced.
    #[error("report: {0}")]
    Report(#[from] kubesim_reports::ReportError),
    /// The trace of `spec.trace` could not be read (a malformed or unsorted record, a missing
    /// file): bad input, like an invalid scenario.
    #[error("trace: {0}")]
    Trace(#[from] kubesim_traces::TraceError),
}

impl RunError {
    /// Whether the run failed on bad input (exit code 2) rather than on output or a bug.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, RunError::Trace(_))
    }
}
