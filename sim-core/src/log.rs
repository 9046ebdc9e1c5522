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
    /// [`EventLog::write_rendered`] was given a record that was never rendered.
    #[error("a pre-rendered record was written before it was rendered")]
    NotRendered,
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
    hasher: Hashing,
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
        EventLog {
            out,
            hasher: Hashing::Inline(Sha256::new()),
            records: 0,
            line: Vec::with_capacity(256),
            body: Vec::new(),
        }
    }

    /// Moves the hashing to a thread of its own from here on: lines are handed over in chunks
    /// in the order written, so the digest is the same bytes' digest as before, and the writing
    /// thread (a simulation's critical path) no longer spends its time in SHA-256 (≈ 4 % of it
    /// at full scale). Idempotent.
    pub fn hash_on_a_thread(&mut self) {
        if let Hashing::Inline(hasher) = &mut self.hasher {
            let hasher = std::mem::take(hasher);
            self.hasher = Hashing::Threaded(HashThread::spawn(hasher));
        }
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
        write_head(&mut self.line, time, kind)?;
        let inner = &self.body[1..self.body.len() - 1];
        if !inner.is_empty() {
            self.line.push(b',');
            self.line.extend_from_slice(inner);
        }
        self.line.extend_from_slice(b"}\n");
        let line = std::mem::take(&mut self.line);
        let written = self.emit(&line);
        self.line = line;
        written
    }

    /// Appends one record whose body is written field by field by `body` (see [`BodyWriter`]),
    /// straight into the line: the bytes are exactly those [`EventLog::record`] writes for a
    /// serialized struct with the same fields in the same order (strings, integers and floats
    /// are formatted by serde_json itself), without the struct, the serde pass or the copy of
    /// the body. For records written thousands of times a second.
    ///
    /// ```
    /// use sim_core::{EventLog, SimTime};
    /// #[derive(serde::Serialize)]
    /// struct Bound<'a> { pod: &'a str, score: f64, tags: Vec<Option<i32>> }
    ///
    /// let (mut a, mut b) = (EventLog::new(Vec::new()), EventLog::new(Vec::new()));
    /// let body = Bound { pod: "default/\"web\"", score: 0.1, tags: vec![Some(1), None] };
    /// a.record(SimTime::from_secs(2), "PodBound", &body).unwrap();
    /// b.record_with(SimTime::from_secs(2), "PodBound", |w| {
    ///     w.field_str("pod", body.pod).field_f64("score", body.score).begin_array("tags");
    ///     for t in &body.tags {
    ///         w.element().opt_i64(t.map(i64::from));
    ///     }
    ///     w.end_array();
    /// })
    /// .unwrap();
    /// assert_eq!(a.finish().unwrap(), b.finish().unwrap());
    /// ```
    pub fn record_with(
        &mut self,
        time: SimTime,
        kind: &str,
        body: impl FnOnce(&mut BodyWriter<'_>),
    ) -> Result<(), LogError> {
        render_line(&mut self.line, time, kind, body)?;
        let line = std::mem::take(&mut self.line);
        let written = self.emit(&line);
        self.line = line;
        written
    }

    /// Writes a record rendered ahead of its turn: the same bytes, digest and count as the
    /// [`record_with`](Self::record_with) call that rendered it would have given here.
    pub fn write_rendered(&mut self, record: &RenderedRecord) -> Result<(), LogError> {
        if record.line.is_empty() {
            return Err(LogError::NotRendered);
        }
        self.emit(&record.line)
    }

    /// Hashes, writes and counts one whole line (every way of recording ends here).
    fn emit(&mut self, line: &[u8]) -> Result<(), LogError> {
        self.hasher.update(line);
        self.out.write_all(line)?;
        self.records += 1;
        Ok(())
    }

    /// Number of records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The digest of everything written so far, without closing the log.
    pub fn digest_so_far(&self) -> Digest {
        self.hasher.digest()
    }

    /// Flushes and returns the writer and the digest of all bytes written.
    pub fn finish(mut self) -> Result<(W, Digest), LogError> {
        self.out.flush()?;
        let digest = self.hasher.digest();
        Ok((self.out, digest))
    }
}

/// Where the log's digest is computed.
enum Hashing {
    /// On the writing thread.
    Inline(Sha256),
    /// On a thread of its own ([`EventLog::hash_on_a_thread`]).
    Threaded(HashThread),
}

impl Hashing {
    fn update(&mut self, line: &[u8]) {
        match self {
            Hashing::Inline(hasher) => hasher.update(line),
            Hashing::Threaded(thread) => thread.update(line),
        }
    }

    /// The digest of everything hashed so far (hashing may go on).
    fn digest(&self) -> Digest {
        match self {
            Hashing::Inline(hasher) => Digest(hasher.clone().finalize().into()),
            Hashing::Threaded(thread) => thread.digest(),
        }
    }
}

/// How many bytes of lines a [`HashThread`] is handed at once.
const HASH_CHUNK: usize = 128 * 1024;

/// What the writing thread tells the hashing thread.
enum HashMessage {
    /// The next bytes of the log.
    Bytes(Vec<u8>),
    /// The digest of everything so far followed by `tail` (bytes not handed over yet), sent back
    /// on `reply`; the hashing state itself goes on without `tail`.
    Digest { tail: Vec<u8>, reply: std::sync::mpsc::Sender<Digest> },
}

/// A thread that hashes the log's bytes in the order they are handed over. The writing thread
/// gathers lines into a chunk and hands it over when full (through a bounded channel: at most a
/// few chunks wait); a digest is asked for with the bytes not yet handed over.
struct HashThread {
    pending: Vec<u8>,
    /// Chunks the thread has hashed, handed back emptied: the writer reuses them instead of
    /// allocating a chunk that the other thread frees (memory freed across threads is reclaimed
    /// lazily by the allocator: 15k pods ran 18 MB larger without this).
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
    /// `None` only while dropping.
    to_thread: Option<std::sync::mpsc::SyncSender<HashMessage>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HashThread {
    fn spawn(mut hasher: Sha256) -> Self {
        let (to_thread, from_writer) = std::sync::mpsc::sync_channel::<HashMessage>(4);
        let (give_back, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("event-log-hash".into())
            .spawn(move || {
                for message in from_writer {
                    match message {
                        HashMessage::Bytes(mut bytes) => {
                            hasher.update(&bytes);
                            bytes.clear();
                            // The writer may be gone (dropping): the chunk is then freed here.
                            let _ = give_back.send(bytes);
                        }
                        HashMessage::Digest { tail, reply } => {
                            let mut so_far = hasher.clone();
                            so_far.update(&tail);
                            // The asker waits for the answer; if it is gone, nobody needs it.
                            let _ = reply.send(Digest(so_far.finalize().into()));
                        }
                    }
                }
            })
            .expect("spawning the event log's hashing thread");
        HashThread {
            pending: Vec::with_capacity(HASH_CHUNK),
            recycled,
            to_thread: Some(to_thread),
            thread: Some(thread),
        }
    }

    fn send(&self, message: HashMessage) {
        let sent = self.to_thread.as_ref().map(|t| t.send(message));
        assert!(matches!(sent, Some(Ok(()))), "the event log's hashing thread stopped");
    }

    fn update(&mut self, line: &[u8]) {
        self.pending.extend_from_slice(line);
        if self.pending.len() >= HASH_CHUNK {
            let next = self.recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_CHUNK));
            let full = std::mem::replace(&mut self.pending, next);
            self.send(HashMessage::Bytes(full));
        }
    }

    fn digest(&self) -> Digest {
        let (reply, answer) = std::sync::mpsc::channel();
        self.send(HashMessage::Digest { tail: self.pending.clone(), reply });
        answer.recv().expect("the event log's hashing thread answers")
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        drop(self.to_thread.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line of the log rendered ahead of its turn, e.g. on a worker thread while the log is
/// busy elsewhere, and written later with [`EventLog::write_rendered`]. Only [`render`]
/// fills it, so the log only ever receives lines that [`EventLog::record_with`] would write.
///
/// [`render`]: RenderedRecord::render
///
/// ```
/// use sim_core::log::RenderedRecord;
/// use sim_core::{EventLog, SimTime};
///
/// let (mut a, mut b) = (EventLog::new(Vec::new()), EventLog::new(Vec::new()));
/// a.record_with(SimTime::from_secs(3), "Tick", |w| { w.field_i64("n", 7); }).unwrap();
/// let mut line = RenderedRecord::default();
/// line.render(SimTime::from_secs(3), "Tick", |w| { w.field_i64("n", 7); }).unwrap();
/// b.write_rendered(&line).unwrap();
/// assert_eq!(a.finish().unwrap(), b.finish().unwrap());
/// ```
#[derive(Debug, Default, Clone)]
pub struct RenderedRecord {
    /// The whole line with its newline; empty until rendered (and after a failed render).
    line: Vec<u8>,
}

impl RenderedRecord {
    /// Renders the record `record_with(time, kind, body)` would write, replacing what was here
    /// (the buffer is kept).
    pub fn render(
        &mut self,
        time: SimTime,
        kind: &str,
        body: impl FnOnce(&mut BodyWriter<'_>),
    ) -> Result<(), LogError> {
        let rendered = render_line(&mut self.line, time, kind, body);
        if rendered.is_err() {
            self.line.clear();
        }
        rendered
    }

    /// The line's bytes (with the newline); empty if nothing was rendered.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line
    }
}

/// `{"t":<ns>,"kind":"<kind>"`: the start of every line, into `line` (cleared first).
fn write_head(line: &mut Vec<u8>, time: SimTime, kind: &str) -> Result<(), LogError> {
    line.clear();
    line.extend_from_slice(b"{\"t\":");
    write!(line, "{}", time.as_nanos())?;
    line.extend_from_slice(b",\"kind\":");
    serde_json::to_writer(&mut *line, kind)?;
    Ok(())
}

/// The bytes of one record, into `line` (cleared first).
fn render_line(
    line: &mut Vec<u8>,
    time: SimTime,
    kind: &str,
    body: impl FnOnce(&mut BodyWriter<'_>),
) -> Result<(), LogError> {
    write_head(line, time, kind)?;
    let mut w = BodyWriter { out: line, depth: 0, has_elements: 0, error: None };
    body(&mut w);
    if let Some(e) = w.error {
        return Err(e.into());
    }
    if w.depth != 0 {
        return Err(LogError::BodyNotAnObject { kind: kind.to_string() });
    }
    line.extend_from_slice(b"}\n");
    Ok(())
}

/// A record body being written field by field ([`EventLog::record_with`]), in serde_json's
/// compact form: `"name":value` pairs separated by commas, arrays `[...]` and objects `{...}`
/// nested inside. Fields are written in call order, as a derived `Serialize` writes a struct's
/// fields in declaration order; `None` is `null`, as serde writes an `Option`.
///
/// A value is written after [`BodyWriter::field`] (in an object) or [`BodyWriter::element`]
/// (in an array); the `field_*` methods do both. Misuse (a value without its field, an array
/// left open) is a wrong line, not a panic: `record_with` rejects a body left open.
pub struct BodyWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Open arrays and objects inside the body (the body itself is level 0).
    depth: u32,
    /// Bit `d`: the container open at depth `d` has an element already (needs a comma before
    /// the next). Level 0 always does: the line's `t` and `kind` precede the body's fields.
    has_elements: u64,
    /// The first formatting error (none occur writing to a `Vec`; kept for honesty).
    error: Option<serde_json::Error>,
}

impl fmt::Debug for BodyWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter").field("depth", &self.depth).finish()
    }
}

impl BodyWriter<'_> {
    /// Writes the separator the next element of the innermost container needs.
    #[inline]
    fn separate(&mut self) {
        let bit = 1u64 << self.depth.min(63);
        if self.depth == 0 || self.has_elements & bit != 0 {
            self.out.push(b',');
        }
        self.has_elements |= bit;
    }

    fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> &mut Self {
        if let Err(e) = serde_json::to_writer(&mut *self.out, value) {
            self.error.get_or_insert(e);
        }
        self
    }

    #[inline]
    fn open(&mut self, bracket: u8) -> &mut Self {
        self.out.push(bracket);
        self.depth += 1;
        self.has_elements &= !(1u64 << self.depth.min(63));
        self
    }

    #[inline]
    fn close(&mut self, bracket: u8) -> &mut Self {
        self.out.push(bracket);
        self.depth = self.depth.saturating_sub(1);
        self
    }

    /// Writes `value` as a JSON string. serde_json escapes exactly the control characters,
    /// `"` and `\\`; a string without them (every field name, most values) is copied between
    /// quotes here, any other goes through serde_json.
    #[inline]
    fn string(&mut self, value: &str) {
        if value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            self.json(value);
        } else {
            self.out.reserve(value.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(value.as_bytes());
            self.out.push(b'"');
        }
    }

    /// Writes `value` in decimal (what serde_json's integer formatting writes: the digits, a
    /// leading `-` when negative).
    #[inline]
    fn decimal(&mut self, negative: bool, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        if negative {
            self.out.push(b'-');
        }
        self.out.extend_from_slice(&digits[at..]);
    }

    /// Starts the field `name` of the innermost object: its value follows.
    #[inline]
    pub fn field(&mut self, name: &str) -> &mut Self {
        self.separate();
        self.string(name);
        self.out.push(b':');
        self
    }

    /// Starts the next element of the innermost array: its value follows.
    #[inline]
    pub fn element(&mut self) -> &mut Self {
        self.separate();
        self
    }

    /// A string value (escaped as serde_json escapes it).
    #[inline]
    pub fn str(&mut self, value: &str) -> &mut Self {
        self.string(value);
        self
    }

    /// A signed integer value.
    #[inline]
    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.decimal(value < 0, value.unsigned_abs());
        self
    }

    /// An unsigned integer value.
    #[inline]
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.decimal(false, value);
        self
    }

    /// A float value, as serde_json writes an `f64` (`null` when not finite).
    #[inline]
    pub fn f64(&mut self, value: f64) -> &mut Self {
        self.json(&value)
    }

    /// `null`.
    #[inline]
    pub fn null(&mut self) -> &mut Self {
        self.out.extend_from_slice(b"null");
        self
    }

    /// An optional signed integer (`null` when `None`).
    #[inline]
    pub fn opt_i64(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.i64(v),
            None => self.null(),
        }
    }

    /// An optional string (`null` when `None`).
    #[inline]
    pub fn opt_str(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(v),
            None => self.null(),
        }
    }

    /// `"name":"value"`.
    #[inline]
    pub fn field_str(&mut self, name: &str, value: &str) -> &mut Self {
        self.field(name).str(value)
    }

    /// `"name":value` for a signed integer.
    #[inline]
    pub fn field_i64(&mut self, name: &str, value: i64) -> &mut Self {
        self.field(name).i64(value)
    }

    /// `"name":value` for an unsigned integer.
    #[inline]
    pub fn field_u64(&mut self, name: &str, value: u64) -> &mut Self {
        self.field(name).u64(value)
    }

    /// `"name":value` for a float.
    #[inline]
    pub fn field_f64(&mut self, name: &str, value: f64) -> &mut Self {
        self.field(name).f64(value)
    }

    /// `"name":value` for an optional signed integer.
    #[inline]
    pub fn field_opt_i64(&mut self, name: &str, value: Option<i64>) -> &mut Self {
        self.field(name).opt_i64(value)
    }

    /// `"name":value` for an optional string.
    #[inline]
    pub fn field_opt_str(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        self.field(name).opt_str(value)
    }

    /// `"name":[`: an array field; its elements follow, then [`BodyWriter::end_array`].
    #[inline]
    pub fn begin_array(&mut self, name: &str) -> &mut Self {
        self.field(name).open(b'[')
    }

    /// `]`.
    #[inline]
    pub fn end_array(&mut self) -> &mut Self {
        self.close(b']')
    }

    /// `{`: an object value (after [`BodyWriter::element`] or [`BodyWriter::field`]); its
    /// fields follow, then [`BodyWriter::end_object`].
    #[inline]
    pub fn begin_object(&mut self) -> &mut Self {
        self.open(b'{')
    }

    /// `}`.
    #[inline]
    pub fn end_object(&mut self) -> &mut Self {
        self.close(b'}')
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
    fn a_log_hashed_on_a_thread_gives_the_inline_digest_at_every_point() {
        // Lines of varied lengths across many chunk boundaries, the switch made after some
        // records were written, and digests asked for along the way (which must neither change
        // what follows nor lose the bytes not yet handed over).
        let (mut inline, mut threaded) = (EventLog::new(Vec::new()), EventLog::new(Vec::new()));
        let mut checks = 0;
        for i in 0..6_000u64 {
            if i == 17 {
                threaded.hash_on_a_thread();
                threaded.hash_on_a_thread();
            }
            let body = BTreeMap::from([("pad", "x".repeat((i * 37 % 400) as usize)), ("i", i.to_string())]);
            inline.record(SimTime::from_nanos(i), "R", &body).unwrap();
            threaded.record(SimTime::from_nanos(i), "R", &body).unwrap();
            if i % 997 == 0 {
                assert_eq!(inline.digest_so_far(), threaded.digest_so_far(), "after record {i}");
                checks += 1;
            }
        }
        assert!(checks >= 6);
        let (a, da) = inline.finish().unwrap();
        let (b, db) = threaded.finish().unwrap();
        assert!(a.len() > 4 * HASH_CHUNK, "the records span several chunks");
        assert_eq!(a, b);
        assert_eq!(da, db);
        assert_eq!(db, digest_of(&b));
        // A threaded log that is dropped unfinished stops its thread (the test would hang).
        let mut dropped = EventLog::new(Vec::new());
        dropped.hash_on_a_thread();
        dropped.record(SimTime::ZERO, "R", &BTreeMap::from([("a", 1)])).unwrap();
        drop(dropped);
        let (_, empty) = {
            let mut log = EventLog::digest_only();
            log.hash_on_a_thread();
            log.finish().unwrap()
        };
        assert_eq!(empty.to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn known_empty_digest() {
        let (_, d) = EventLog::digest_only().finish().unwrap();
        assert_eq!(d.to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[derive(serde::Serialize)]
    struct Inner<'a> {
        name: &'a str,
        ratio: f64,
        n: Option<i32>,
    }

    #[derive(serde::Serialize)]
    struct Outer<'a> {
        who: &'a str,
        count: usize,
        signed: i64,
        note: Option<&'a str>,
        items: Vec<Inner<'a>>,
        empty: Vec<Inner<'a>>,
    }

    fn write_outer(w: &mut BodyWriter<'_>, o: &Outer<'_>) {
        w.field_str("who", o.who)
            .field_u64("count", o.count as u64)
            .field_i64("signed", o.signed)
            .field_opt_str("note", o.note)
            .begin_array("items");
        for i in &o.items {
            w.element()
                .begin_object()
                .field_str("name", i.name)
                .field_f64("ratio", i.ratio)
                .field_opt_i64("n", i.n.map(i64::from))
                .end_object();
        }
        w.end_array().begin_array("empty").end_array();
    }

    /// The record through serde and field by field; the second is also rendered ahead and
    /// written with `write_rendered`, which must give the same bytes and digest.
    fn both_ways(o: &Outer<'_>) -> (Vec<u8>, Vec<u8>) {
        let (mut a, mut b) = (EventLog::new(Vec::new()), EventLog::new(Vec::new()));
        a.record(SimTime::from_nanos(7), "K\"ind", o).unwrap();
        b.record_with(SimTime::from_nanos(7), "K\"ind", |w| write_outer(w, o)).unwrap();
        let mut c = EventLog::new(Vec::new());
        let mut ahead = RenderedRecord::default();
        // A stale line in the buffer first: rendering replaces it.
        ahead.render(SimTime::from_nanos(1), "Stale", |w| write_outer(w, o)).unwrap();
        ahead.render(SimTime::from_nanos(7), "K\"ind", |w| write_outer(w, o)).unwrap();
        c.write_rendered(&ahead).unwrap();
        assert_eq!(c.records(), b.records());
        let (b, c) = (b.finish().unwrap(), c.finish().unwrap());
        assert_eq!(c, b, "a rendered record writes what record_with writes");
        (a.finish().unwrap().0, b.0)
    }

    #[test]
    fn a_record_never_rendered_is_refused() {
        let mut log = EventLog::digest_only();
        let mut ahead = RenderedRecord::default();
        assert!(matches!(log.write_rendered(&ahead), Err(LogError::NotRendered)));
        let open = ahead.render(SimTime::ZERO, "Open", |w| {
            w.begin_array("a");
        });
        assert!(matches!(open, Err(LogError::BodyNotAnObject { .. })));
        assert!(ahead.as_bytes().is_empty(), "a failed render leaves nothing to write");
        assert!(matches!(log.write_rendered(&ahead), Err(LogError::NotRendered)));
        assert_eq!(log.records(), 0);
    }

    #[test]
    fn a_body_written_field_by_field_is_the_serialized_struct_byte_for_byte() {
        let o = Outer {
            who: "a\"b\\c\n\u{1}é",
            count: usize::MAX,
            signed: i64::MIN,
            note: None,
            items: vec![
                Inner { name: "x", ratio: 0.1 + 0.2, n: Some(-1) },
                Inner { name: "", ratio: f64::NAN, n: None },
                Inner { name: "y", ratio: f64::NEG_INFINITY, n: Some(i32::MAX) },
                Inner { name: "z", ratio: 1e300, n: None },
            ],
            empty: Vec::new(),
        };
        let (a, b) = both_ways(&o);
        assert_eq!(String::from_utf8(b).unwrap(), String::from_utf8(a).unwrap());
    }

    #[test]
    fn an_empty_body_is_the_head_alone_and_an_open_array_is_rejected() {
        let mut log = EventLog::new(Vec::new());
        log.record_with(SimTime::from_nanos(1), "E", |_| {}).unwrap();
        assert!(matches!(
            log.record_with(SimTime::from_nanos(2), "Open", |w| {
                w.begin_array("a");
            }),
            Err(LogError::BodyNotAnObject { .. })
        ));
        assert_eq!(log.records(), 1);
        assert_eq!(String::from_utf8(log.finish().unwrap().0).unwrap(), "{\"t\":1,\"kind\":\"E\"}\n");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_written_field_by_field_match_serde_json(
            who in ".*",
            count in proptest::num::usize::ANY,
            signed in proptest::num::i64::ANY,
            note in proptest::option::of(".*"),
            items in proptest::collection::vec((".*", proptest::num::f64::ANY, proptest::option::of(proptest::num::i32::ANY)), 0..4),
        ) {
            let o = Outer {
                who: &who,
                count,
                signed,
                note: note.as_deref(),
                items: items.iter().map(|(name, ratio, n)| Inner { name, ratio: *ratio, n: *n }).collect(),
                empty: Vec::new(),
            };
            let (a, b) = both_ways(&o);
            proptest::prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn non_object_bodies_are_rejected() {
        let mut log = EventLog::digest_only();
        assert!(matches!(log.record(SimTime::ZERO, "X", &5), Err(LogError::BodyNotAnObject { .. })));
        assert_eq!(log.records(), 0);
    }
}
