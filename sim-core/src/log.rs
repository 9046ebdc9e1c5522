//! The canonical event log and its digest.
//!
//! One JSON object a line, simulated time first: `{"t":<ns>,"kind":"<kind>",...fields}`. The
//! run's digest is the SHA-256 of exactly the bytes written, so `sha256sum events.jsonl` prints the
//! same hex string as [`EventLog::finish`].
//!
//! Bodies must serialize deterministically: use structs (fields in declaration order) and
//! `BTreeMap`s. Never put a `serde_json::Value` object in a body: its key order depends on a cargo
//! feature (`preserve_order`) that another crate in the build can switch on.

use std::fmt;
use std::io::{self, Write};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::time::SimTime;

/// The SHA-256 of an event log.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lower-case hex, as `sha256sum` prints it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

/// Errors from writing the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The underlying writer failed; the log is incomplete.
    #[error("writing the event log: {0}")]
    Io(#[from] io::Error),
    /// A body did not serialize to a JSON object.
    #[error("event body for kind {kind:?} must serialize to a JSON object")]
    BodyNotAnObject {
        /// The record's kind.
        kind: String,
    },
    /// A body failed to serialize.
    #[error("serializing an event body: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes canonical event records and hashes them as it goes.
///
/// ```
/// use sim_core::{EventLog, SimTime};
/// #[derive(serde::Serialize)]
/// struct Bound<'a> { pod: &'a str, node: &'a str }
///
/// let mut log = EventLog::new(Vec::new());
/// log.record(SimTime::from_secs(2), "PodBound", &Bound { pod: "default/web-0", node: "n1" }).unwrap();
/// let (bytes, digest) = log.finish().unwrap();
/// assert_eq!(String::from_utf8(bytes).unwrap(),
///            "{\"t\":2000000000,\"kind\":\"PodBound\",\"pod\":\"default/web-0\",\"node\":\"n1\"}\n");
/// assert_eq!(digest.to_hex().len(), 64);
/// ```
pub struct EventLog<W: Write> {
    out: W,
    hasher: Sha256,
    records: u64,
    line: Vec<u8>,
    body: Vec<u8>,
}

impl<W: Write> fmt::Debug for EventLog<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLog").field("records", &self.records).finish()
    }
}

impl EventLog<io::Sink> {
    /// A log that keeps only the digest (for sweeps and benchmarks that never read the lines).
    pub fn digest_only() -> Self {
        EventLog::new(io::sink())
    }
}

impl<W: Write> EventLog<W> {
    /// A log writing to `out`. Wrap files in a `BufWriter`.
    pub fn new(out: W) -> Self {
        EventLog { out, hasher: Sha256::new(), records: 0, line: Vec::with_capacity(256), body: Vec::new() }
    }

    /// Appends one record. `body` must serialize to a JSON object (possibly empty); its fields
    /// follow `t` and `kind`.
    pub fn record<T: Serialize + ?Sized>(
        &mut self,
        time: SimTime,
        kind: &str,
        body: &T,
    ) -> Result<(), LogError> {
        self.body.clear();
        serde_json::to_writer(&mut self.body, body)?;
        if self.body.first() != Some(&b'{') || self.body.last() != Some(&b'}') {
            return Err(LogError::BodyNotAnObject { kind: kind.to_string() });
        }
        self.line.clear();
        self.line.extend_from_slice(b"{\"t\":");
        write!(self.line, "{}", time.as_nanos())?;
        self.line.extend_from_slice(b",\"kind\":");
        serde_json::to_writer(&mut self.line, kind)?;
        let inner = &self.body[1..self.body.len() - 1];
        if !inner.is_empty() {
            self.line.push(b',');
            self.line.extend_from_slice(inner);
        }
        self.line.extend_from_slice(b"}\n");
        self.hasher.update(&self.line);
        self.out.write_all(&self.line)?;
        self.records += 1;
        Ok(())
    }

    /// Number of records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The digest of everything written so far, without closing the log.
    pub fn digest_so_far(&self) -> Digest {
        Digest(self.hasher.clone().finalize().into())
    }

    /// Flushes and returns the writer and the digest of all bytes written.
    pub fn finish(mut self) -> Result<(W, Digest), LogError> {
        self.out.flush()?;
        Ok((self.out, Digest(self.hasher.finalize().into())))
    }
}

/// SHA-256 of a byte string, for checking a log file written earlier.
pub fn digest_of(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn digest_equals_sha256_of_the_bytes() {
        let mut log = EventLog::new(Vec::new());
        let mut fields = BTreeMap::new();
        fields.insert("z", 1);
        fields.insert("a", 2);
        log.record(SimTime::from_nanos(5), "A", &fields).unwrap();
        log.record(SimTime::from_nanos(6), "B", &BTreeMap::<String, u8>::new()).unwrap();
        let (bytes, digest) = log.finish().unwrap();
        assert_eq!(digest, digest_of(&bytes));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"t\":5,\"kind\":\"A\",\"a\":2,\"z\":1}\n{\"t\":6,\"kind\":\"B\"}\n"
        );
    }

    #[test]
    fn known_empty_digest() {
        let (_, d) = EventLog::digest_only().finish().unwrap();
        assert_eq!(d.to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn non_object_bodies_are_rejected() {
        let mut log = EventLog::digest_only();
        assert!(matches!(log.record(SimTime::ZERO, "X", &5), Err(LogError::BodyNotAnObject { .. })));
        assert_eq!(log.records(), 0);
    }
}
