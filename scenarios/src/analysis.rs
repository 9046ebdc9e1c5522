//! What a run's event log says, read as it is written: a [`LogTap`] sits between the cluster's
//! event log and the file, forwards every byte untouched, and feeds complete lines of the kinds
//! that summaries and expectations need to a shared [`LogAnalysis`]. Nothing is kept per record
//! beyond what those need, so a long run does not hold its log in memory.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;

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

/// A writer that forwards to `inner` and feeds complete lines to a shared [`LogAnalysis`].
#[derive(Debug)]
pub struct LogTap<W: Write> {
    inner: W,
    partial: Vec<u8>,
    analysis: Rc<RefCell<LogAnalysis>>,
}

impl<W: Write> LogTap<W> {
    /// Wraps `inner`; read the analysis through the returned handle.
    pub fn new(inner: W) -> (Self, Rc<RefCell<LogAnalysis>>) {
        let analysis = Rc::new(RefCell::new(LogAnalysis::default()));
        (LogTap { inner, partial: Vec::new(), analysis: analysis.clone() }, analysis)
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }

    fn feed(&mut self, bytes: &[u8]) {
        let mut a = self.analysis.borrow_mut();
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                a.line(&rest[..i]);
            } else {
                self.partial.extend_from_slice(&rest[..i]);
                a.line(&self.partial);
                self.partial.clear();
            }
            rest = &rest[i + 1..];
        }
        self.partial.extend_from_slice(rest);
    }
}

impl<W: Write> Write for LogTap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.feed(&buf[..n]);
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
        let a = a.borrow();
        assert_eq!(a.records, 4);
        assert_eq!(a.latencies_ns, vec![3_000_000_000]);
        assert_eq!(a.oom_killed, 1);
        // b waits from 5 s; at 20 s it has waited 15 s, longer than a's 3 s.
        assert_eq!(a.max_pending(SimTime::from_secs(20)), SimDuration::from_secs(15));
    }
}
