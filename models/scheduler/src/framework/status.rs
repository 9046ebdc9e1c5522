//! Plugin results: a [`Code`] plus reasons, as upstream's `framework.Status`.

use std::borrow::Cow;
use std::fmt;

/// Outcome code of a plugin call (upstream `framework.Code`; names print exactly as upstream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Code {
    /// The plugin ran and the pod may proceed.
    #[default]
    Success,
    /// An internal error: the pod is retried through the error backoff.
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit and preemption on this node cannot help.
    UnschedulableAndUnresolvable,
    /// Permit only: wait.
    Wait,
    /// PreFilter / PreScore: the plugin has nothing to do for this pod; its Filter / Score is skipped.
    Skip,
    /// The pod waits for something outside the scheduler; requeued without backoff.
    Pending,
}

impl Code {
    /// Upstream spelling (`"UnschedulableAndUnresolvable"`), used in diagnosis output.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Error => "Error",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
            Code::Wait => "Wait",
            Code::Skip => "Skip",
            Code::Pending => "Pending",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason string; static in the common cases so a failing filter does not allocate for it.
pub type Reason = Cow<'static, str>;

/// A plugin's verdict. `Status::success()` allocates nothing, so the hot path stays allocation-free.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Status {
    code: Code,
    reasons: Vec<Reason>,
    plugin: &'static str,
}

impl Status {
    /// Success.
    #[inline]
    pub const fn success() -> Self {
        Status { code: Code::Success, reasons: Vec::new(), plugin: "" }
    }

    /// Skip (PreFilter/PreScore only).
    #[inline]
    pub const fn skip() -> Self {
        Status { code: Code::Skip, reasons: Vec::new(), plugin: "" }
    }

    /// A status with one reason.
    pub fn new(code: Code, reason: impl Into<Reason>) -> Self {
        Status { code, reasons: vec![reason.into()], plugin: "" }
    }

    /// A status with several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<Reason>) -> Self {
        Status { code, reasons, plugin: "" }
    }

    /// `Unschedulable` with one reason.
    pub fn unschedulable(reason: impl Into<Reason>) -> Self {
        Status::new(Code::Unschedulable, reason)
    }

    /// `UnschedulableAndUnresolvable` with one reason.
    pub fn unresolvable(reason: impl Into<Reason>) -> Self {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    /// `Error` with one reason.
    pub fn error(reason: impl Into<Reason>) -> Self {
        Status::new(Code::Error, reason)
    }

    /// The code.
    #[inline]
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, in order.
    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }

    /// The plugin that produced this status (set by the framework; empty for success).
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// Records which plugin produced it (the framework does this for failures).
    pub fn with_plugin(mut self, plugin: &'static str) -> Self {
        self.plugin = plugin;
        self
    }

    /// Sets the plugin in place.
    pub fn set_plugin(&mut self, plugin: &'static str) {
        self.plugin = plugin;
    }

    /// True for `Success`.
    #[inline]
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// True for `Skip`.
    #[inline]
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// True for `Unschedulable` or `UnschedulableAndUnresolvable` (upstream `IsRejected` minus Pending).
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable | Code::Pending)
    }

    /// Reasons joined with ", " (upstream `Message`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if !self.plugin.is_empty() {
            write!(f, " ({})", self.plugin)?;
        }
        if !self.reasons.is_empty() {
            write!(f, ": {}", self.message())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_spelled_as_upstream() {
        assert_eq!(Code::UnschedulableAndUnresolvable.as_str(), "UnschedulableAndUnresolvable");
        assert_eq!(Code::Unschedulable.to_string(), "Unschedulable");
    }

    #[test]
    fn a_status_prints_code_plugin_and_reasons() {
        let s = Status::with_reasons(
            Code::Unschedulable,
            vec!["Insufficient cpu".into(), "Insufficient memory".into()],
        )
        .with_plugin("NodeResourcesFit");
        assert_eq!(s.to_string(), "Unschedulable (NodeResourcesFit): Insufficient cpu, Insufficient memory");
        assert!(s.is_rejected());
        assert!(!Status::success().is_rejected());
    }
}
