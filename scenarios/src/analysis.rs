//! What a run's event log says, read as it is written: a [`LogTap`] sits between the cluster's
//! event log and the file, forwards every byte untouched, and feeds complete lines of the kinds
//! that summaries and expectations need to a shared [`LogAnalysis`]. Nothing is kept per record
//! beyond what those need, so a long run does not hold its log in memory.

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::mpsc;

use serde::Deserialize;
use sim_core::{SimDuration, SimTime};

/// Accumulated facts from the event log.
#[derive(Debug, Clone, Default)]
pub struct LogAnalysis {
    /// Pods created and not yet bound or deleted, with their creation time.
    pub pending_since: BTreeMap<String, SimTime>,
    /// Longest wait from creation to binding among bound pods.
    pub max_pending_scheduled: SimDuration,
    /// Scheduling latency of every bound pod, in binding order (ns).
    pub latencies_ns: Vec<u64>,
    /// Latencies recorded since the caller last took them: `(bind time, pod, latency ns)`.
    pub new_latencies: Vec<(SimTime, String, u64)>,
    /// Per deployment (`namespace/name`): rollout completions `(time, revision)`.
    pub rollout_complete: BTreeMap<String, Vec<(SimTime, i64)>>,
    /// Containers terminated with reason `OOMKilled`.
    pub oom_killed: u64,
    /// Records seen.
    pub records: u64,
    /// Records by kind.
    pub kinds: BTreeMap<String, u64>,
    /// Trace replays only: what the planner report reads (`None` otherwise, at no cost).
    pub trace: Option<Box<crate::planner::TraceLog>>,
}

#[derive(Deserialize)]
struct Head<'a> {
    t: u64,
    #[serde(borrow)]
    kind: &'a str,
}

#[derive(Deserialize)]
struct PodOnly {
    pod: String,
}

#[derive(Deserialize)]
struct Scheduled {
    pod: String,
    latency_ns: u64,
}

#[derive(Deserialize)]
struct Complete {
    deployment: String,
    revision: i64,
}

#[derive(Deserialize)]
struct Terminated<'a> {
    #[serde(borrow)]
    reason: &'a str,
}

/// The time and kind of a log line. The event log writes every line as
/// `{"t":<nanoseconds>,"kind":"<kind>",…`: that prefix is read directly (a run at scale writes
/// millions of lines, most of kinds nothing here reads, and parsing each one whole was a visible
/// share of the run); any other shape is parsed as JSON.
fn head_of(line: &[u8]) -> Option<Head<'_>> {
    canonical_head(line).or_else(|| serde_json::from_slice::<Head<'_>>(line).ok())
}

fn canonical_head(line: &[u8]) -> Option<Head<'_>> {
    let rest = line.strip_prefix(b"{\"t\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // A leading zero is not JSON (and "0" alone is handled by the parser).
    if digits == 0 || digits > 20 || rest[0] == b'0' {
        return None;
    }
    let t: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"kind\":\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if rest[end] != b'"' || !matches!(rest.get(end + 1), Some(b',' | b'}')) {
        return None;
    }
    let kind = std::str::from_utf8(&rest[..end]).ok()?;
    Some(Head { t, kind })
}

impl LogAnalysis {
    /// Feeds one log line (without or with its `\n`).
    pub fn line(&mut self, line: &[u8]) {
        let Some(head) = head_of(line) else { return };
        self.records += 1;
        let t = SimTime::from_nanos(head.t);
        if let Some(trace) = &mut self.trace {
            trace.record(t, head.kind, line);
        }
        match head.kind {
            "PodCreated" => {
                if let Ok(p) = serde_json::from_slice::<PodOnly>(line) {
                    self.pending_since.insert(p.pod, t);
                }
            }
            "PodScheduled" => {
                if let Ok(p) = serde_json::from_slice::<Scheduled>(line) {
                    if let Some(created) = self.pending_since.remove(&p.pod) {
                        self.max_pending_scheduled =
                            self.max_pending_scheduled.max(t.saturating_duration_since(created));
                    }
                    self.latencies_ns.push(p.latency_ns);
                    self.new_latencies.push((t, p.pod, p.latency_ns));
                }
            }
            "PodDeleted" => {
                if let Ok(p) = serde_json::from_slice::<PodOnly>(line) {
                    self.pending_since.remove(&p.pod);
                }
            }
            "DeploymentRolloutComplete" => {
                if let Ok(c) = serde_json::from_slice::<Complete>(line) {
                    self.rollout_complete.entry(c.deployment).or_default().push((t, c.revision));
                }
            }
            "ContainerTerminated"
                if serde_json::from_slice::<Terminated<'_>>(line).is_ok_and(|c| c.reason == "OOMKilled") =>
            {
                self.oom_killed += 1;
            }
            _ => {}
        }
        // Counted without allocating the kind's name for every record (13 M a day at scale).
        match self.kinds.get_mut(head.kind) {
            Some(n) => *n += 1,
            None => {
                self.kinds.insert(head.kind.to_string(), 1);
            }
        }
    }

    /// Longest time any pod waited (or still waits at `end`) for a node.
    pub fn max_pending(&self, end: SimTime) -> SimDuration {
        let still = self
            .pending_since
            .values()
            .map(|&c| end.saturating_duration_since(c))
            .max()
            .unwrap_or(SimDuration::ZERO);
        self.max_pending_scheduled.max(still)
    }
}

/// Forwards every byte to the wrapped writer and feeds complete lines to a [`LogAnalysis`],
/// read through the [`AnalysisHandle`] [`LogTap::new`] returns.
///
/// With [`LogTap::threaded`] the lines are read on a second thread: the tap copies them into
/// chunks and hands each full chunk over, in order, to a worker that owns the analysis while
/// lines flow. Reading the analysis ([`AnalysisHandle::get`]) hands the last partial chunk over,
/// waits for the worker to read everything written so far and takes the analysis back, so a
/// reader sees exactly what the inline tap would have built (the lines are read in the same
/// order by the same code; only which thread runs it differs). At scale the reading was 3-4 % of
/// a run; runs that read the analysis after every event (trace replays) stay inline.
#[derive(Debug)]
pub struct LogTap<W: Write> {
    inner: W,
    feed: Rc<RefCell<Feed>>,
}

/// The reading side of a [`LogTap`]: the analysis of everything written so far.
#[derive(Clone, Debug)]
pub struct AnalysisHandle {
    feed: Rc<RefCell<Feed>>,
}

impl AnalysisHandle {
    /// The analysis of every complete line written so far (waits for the tap's worker, if any,
    /// to catch up). Do not write to the tap while holding it.
    pub fn get(&self) -> RefMut<'_, LogAnalysis> {
        RefMut::map(self.feed.borrow_mut(), |feed| feed.caught_up())
    }
}

/// Bytes per chunk handed to the worker: large enough that the hand-over (a channel send and,
/// now and then, a wake-up) is a small fraction of reading the chunk's ~600 lines.
const CHUNK_BYTES: usize = 128 * 1024;

/// Chunks in flight at most: the main thread waits rather than letting the queue grow when the
/// worker falls behind.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Where the tap's lines go.
struct Feed {
    /// The analysis, when it is here (always, inline; between reads and the next write, threaded).
    analysis: Option<LogAnalysis>,
    /// A line begun but not finished (inline).
    partial: Vec<u8>,
    worker: Option<Worker>,
}

struct Worker {
    chunk: Vec<u8>,
    to_worker: mpsc::SyncSender<ToWorker>,
    /// The analysis handed back after a [`ToWorker::Return`].
    returned: mpsc::Receiver<LogAnalysis>,
    /// Emptied chunks coming back for reuse.
    spent: mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum ToWorker {
    /// The analysis, to carry on with.
    Take(LogAnalysis),
    Bytes(Vec<u8>),
    /// Hand the analysis back once every byte before this message is read.
    Return,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("threaded", &self.worker.is_some()).finish_non_exhaustive()
    }
}

impl Feed {
    fn write(&mut self, bytes: &[u8]) {
        let Some(worker) = &mut self.worker else {
            let analysis = self.analysis.as_mut().expect("an inline tap keeps its analysis");
            feed_lines(analysis, &mut self.partial, bytes);
            return;
        };
        if let Some(analysis) = self.analysis.take() {
            worker.send(ToWorker::Take(analysis));
        }
        worker.chunk.extend_from_slice(bytes);
        if worker.chunk.len() >= CHUNK_BYTES {
            worker.hand_over_chunk();
        }
    }

    fn caught_up(&mut self) -> &mut LogAnalysis {
        if let (None, Some(worker)) = (&self.analysis, &mut self.worker) {
            worker.hand_over_chunk();
            worker.send(ToWorker::Return);
            self.analysis = Some(worker.returned.recv().expect("the log analysis thread stopped"));
        }
        self.analysis.as_mut().expect("the analysis is here once caught up")
    }
}

impl Worker {
    fn spawn() -> Self {
        let (to_worker, inbox) = mpsc::sync_channel::<ToWorker>(CHUNKS_IN_FLIGHT);
        let (give_back, returned) = mpsc::channel();
        let (recycle, spent) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("log-analysis".into())
            .spawn(move || {
                let mut analysis = None;
                let mut partial = Vec::new();
                for message in inbox {
                    match message {
                        ToWorker::Take(a) => analysis = Some(a),
                        ToWorker::Bytes(mut chunk) => {
                            let a = analysis.as_mut().expect("the analysis arrives before lines");
                            feed_lines(a, &mut partial, &chunk);
                            chunk.clear();
                            // The tap may be gone (the run ended); the chunk is then dropped.
                            let _ = recycle.send(chunk);
                        }
                        ToWorker::Return => {
                            let a = analysis.take().expect("the analysis is handed back once");
                            if give_back.send(a).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .expect("spawning the log analysis thread");
        Worker { chunk: Vec::with_capacity(CHUNK_BYTES), to_worker, returned, spent, thread: Some(thread) }
    }

    fn send(&self, message: ToWorker) {
        self.to_worker.send(message).expect("the log analysis thread stopped");
    }

    fn hand_over_chunk(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        let next = self.spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES));
        let full = std::mem::replace(&mut self.chunk, next);
        self.send(ToWorker::Bytes(full));
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the worker's loop.
        let (closed, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.to_worker, closed));
        if let Some(thread) = self.thread.take() {
            // A worker that panicked has already reported it; the analysis is then lost.
            let _ = thread.join();
        }
    }
}

/// Feeds the complete lines of `bytes` (after `partial`, a line begun earlier) to `analysis`
/// and keeps the unfinished rest in `partial`.
fn feed_lines(analysis: &mut LogAnalysis, partial: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        if partial.is_empty() {
            analysis.line(&rest[..i]);
        } else {
            partial.extend_from_slice(&rest[..i]);
            analysis.line(partial);
            partial.clear();
        }
        rest = &rest[i + 1..];
    }
    partial.extend_from_slice(rest);
}

impl<W: Write> LogTap<W> {
    /// Wraps `inner`, reading lines as they are written; read the analysis through the handle.
    pub fn new(inner: W) -> (Self, AnalysisHandle) {
        Self::with_feed(inner, None)
    }

    /// Wraps `inner`, reading lines on a second thread (see [`LogTap`]).
    pub fn threaded(inner: W) -> (Self, AnalysisHandle) {
        Self::with_feed(inner, Some(Worker::spawn()))
    }

    fn with_feed(inner: W, worker: Option<Worker>) -> (Self, AnalysisHandle) {
        let feed = Feed { analysis: Some(LogAnalysis::default()), partial: Vec::new(), worker };
        let feed = Rc::new(RefCell::new(feed));
        (LogTap { inner, feed: feed.clone() }, AnalysisHandle { feed })
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for LogTap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.feed.borrow_mut().write(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct read of a line's head agrees with parsing it, for the event log's lines and
    /// for lines of other shapes (which fall back to the parser).
    #[test]
    fn the_head_is_read_as_the_json_parser_reads_it() {
        let lines: [&[u8]; 9] = [
            b"{\"t\":5,\"kind\":\"A\",\"a\":2}",
            b"{\"t\":0,\"kind\":\"B\"}",
            b"{\"t\":18446744073709551615,\"kind\":\"HpaDecision\",\"hpa\":\"x\"}",
            b"{\"t\":12,\"kind\":\"Esc\\\"aped\",\"x\":1}",
            b"{\"kind\":\"Swapped\",\"t\":3}",
            b"{\"t\":007,\"kind\":\"LeadingZeros\"}",
            b"{\"t\":99999999999999999999,\"kind\":\"Overflow\"}",
            b"{\"t\":4,\"kind\":\"Unterminated",
            b"not json",
        ];
        for line in lines {
            let parsed = serde_json::from_slice::<Head<'_>>(line).ok().map(|h| (h.t, h.kind.to_string()));
            let read = head_of(line).map(|h| (h.t, h.kind.to_string()));
            assert_eq!(read, parsed, "{}", String::from_utf8_lossy(line));
        }
        assert!(
            canonical_head(lines[0]).is_some() && canonical_head(lines[2]).is_some(),
            "the fast path is taken"
        );
    }

    #[test]
    fn the_tap_forwards_bytes_and_reads_split_lines() {
        let (mut tap, a) = LogTap::new(Vec::new());
        let log = concat!(
            "{\"t\":1000000000,\"kind\":\"PodCreated\",\"pod\":\"default/a\",\"owner\":null,\"priority\":0}\n",
            "{\"t\":4000000000,\"kind\":\"PodScheduled\",\"pod\":\"default/a\",\"node\":\"n\",\"latency_ns\":3000000000}\n",
            "{\"t\":5000000000,\"kind\":\"PodCreated\",\"pod\":\"default/b\",\"owner\":null,\"priority\":0}\n",
            "{\"t\":6000000000,\"kind\":\"ContainerTerminated\",\"pod\":\"default/a\",\"container\":\"c\",\"exit_code\":137,\"reason\":\"OOMKilled\"}\n",
        );
        // Split mid-line on purpose.
        let (x, y) = log.as_bytes().split_at(50);
        tap.write_all(x).unwrap();
        tap.write_all(y).unwrap();
        assert_eq!(tap.into_inner(), log.as_bytes());
        let a = a.get();
        assert_eq!(a.records, 4);
        assert_eq!(a.latencies_ns, vec![3_000_000_000]);
        assert_eq!(a.oom_killed, 1);
        // b waits from 5 s; at 20 s it has waited 15 s, longer than a's 3 s.
        assert_eq!(a.max_pending(SimTime::from_secs(20)), SimDuration::from_secs(15));
    }

    fn facts(a: &LogAnalysis) -> impl PartialEq + std::fmt::Debug {
        (
            a.records,
            a.kinds.clone(),
            a.latencies_ns.clone(),
            a.new_latencies.clone(),
            a.pending_since.clone(),
            a.rollout_complete.clone(),
            a.oom_killed,
            a.max_pending_scheduled,
        )
    }

    /// The threaded tap reads the same lines into the same analysis as the inline one, whatever
    /// the write sizes, across many chunks, with reads (which take the analysis back from the
    /// worker) in between writes.
    #[test]
    fn the_threaded_tap_reads_what_the_inline_tap_reads() {
        let mut log = String::new();
        for i in 0..20_000u64 {
            let t = i * 1_000_000;
            log.push_str(&match i % 5 {
                0 => format!("{{\"t\":{t},\"kind\":\"PodCreated\",\"pod\":\"default/p{i}\",\"owner\":null}}\n"),
                1 => format!(
                    "{{\"t\":{t},\"kind\":\"PodScheduled\",\"pod\":\"default/p{}\",\"latency_ns\":{}}}\n",
                    i - 1,
                    i * 7
                ),
                2 => format!("{{\"t\":{t},\"kind\":\"HpaDecision\",\"hpa\":\"default/h{}\"}}\n", i % 13),
                3 => format!(
                    "{{\"t\":{t},\"kind\":\"DeploymentRolloutComplete\",\"deployment\":\"default/d{}\",\"revision\":{i}}}\n",
                    i % 3
                ),
                _ => format!("{{\"t\":{t},\"kind\":\"PodDeleted\",\"pod\":\"default/p{}\"}}\n", i - 4),
            });
        }
        let bytes = log.as_bytes();
        let (mut inline, inline_analysis) = LogTap::new(Vec::new());
        let (mut threaded, threaded_analysis) = LogTap::threaded(Vec::new());
        let mut at = 0;
        let mut step = 1;
        while at < bytes.len() {
            let end = (at + step).min(bytes.len());
            inline.write_all(&bytes[at..end]).unwrap();
            threaded.write_all(&bytes[at..end]).unwrap();
            at = end;
            step = step * 7 % 9_973 + 1;
            if step % 5 == 0 {
                assert_eq!(facts(&threaded_analysis.get()), facts(&inline_analysis.get()));
                threaded_analysis.get().new_latencies.clear();
                inline_analysis.get().new_latencies.clear();
            }
        }
        assert_eq!(facts(&threaded_analysis.get()), facts(&inline_analysis.get()));
        assert_eq!(threaded_analysis.get().records, 20_000);
        assert_eq!(threaded.into_inner(), inline.into_inner());
    }
}
