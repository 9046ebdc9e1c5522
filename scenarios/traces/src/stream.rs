//! The shared back end of every reader: time-ordered raw events from one or more files, merged,
//! cut to the window, shifted so `from` is zero, with usage samples compiled into curves.

use std::iter::Peekable;

use kubesim_api::{Job, Node, Pod};
use kubesim_workload::{Curve, Interpolation};
use sim_core::{SimDuration, SimTime};

use crate::error::{Ctx, ReadStats, TraceError};
use crate::event::{TraceEvent, TraceEventKind, Usage};
use crate::options::ReadOptions;

/// Usage samples `(offset since container start ns, cpu millis, memory bytes)`, any order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UsageSeries {
    pub(crate) points: Vec<(u64, i64, i64)>,
}

/// An event at trace time `t` (ns since the trace start), before windowing.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) t: u64,
    pub(crate) kind: RawKind,
}

#[derive(Debug)]
pub(crate) enum RawKind {
    AddNode(Box<Node>),
    UpdateNode(Box<Node>),
    RemoveNode(String),
    /// `started`: when the container started in the trace (`None`: at arrival `t`); `duration`
    /// and usage offsets count from there.
    Pod {
        pod: Box<Pod>,
        started: Option<u64>,
        duration: Option<u64>,
        usage: Option<UsageSeries>,
    },
    Job {
        job: Box<Job>,
        pod_duration: Option<u64>,
        usage: Option<UsageSeries>,
    },
}

pub(crate) type RawIter = Box<dyn Iterator<Item = Result<Raw, TraceError>> + Send>;

/// k-way merge of time-ordered sources by `(t, source index)`: equal times keep source order
/// (readers list nodes first, so machines exist before the pods that arrive with them).
pub(crate) struct Merge {
    sources: Vec<Peekable<RawIter>>,
}

impl Merge {
    pub(crate) fn new(sources: Vec<RawIter>) -> Self {
        Merge { sources: sources.into_iter().map(Iterator::peekable).collect() }
    }
}

impl Iterator for Merge {
    type Item = Result<Raw, TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (i, s) in self.sources.iter_mut().enumerate() {
            match s.peek() {
                Some(Err(_)) => return s.next(),
                Some(Ok(r)) if best.is_none_or(|(_, t)| r.t < t) => best = Some((i, r.t)),
                _ => {}
            }
        }
        best.and_then(|(i, _)| self.sources[i].next())
    }
}

/// Checks that one file's times never go backwards.
#[derive(Debug, Default)]
pub(crate) struct OrderCheck {
    last: u64,
}

impl OrderCheck {
    /// `Err(message)` when `t` comes before the previous record's time.
    pub(crate) fn check(&mut self, t: u64, column: &str, sort_hint: &str) -> Result<(), String> {
        if t < self.last {
            return Err(format!(
                "not in time order: {column} {} comes after {} (each file must be sorted by {column}; {sort_hint})",
                fmt_secs(t),
                fmt_secs(self.last)
            ));
        }
        self.last = t;
        Ok(())
    }
}

fn fmt_secs(ns: u64) -> String {
    SimTime::from_nanos(ns).to_string()
}

/// Compiles samples into hold curves, after dropping the first `shift` ns (the part of the
/// container's life before the window): the last sample at or before `shift` becomes the value
/// at offset zero.
pub(crate) fn compile_usage(series: &UsageSeries, shift: u64) -> Option<Usage> {
    let mut pts = series.points.clone();
    pts.sort_by_key(|p| p.0);
    // Keep the last sample of equal offsets.
    let mut dedup: Vec<(u64, i64, i64)> = Vec::with_capacity(pts.len());
    for p in pts {
        match dedup.last_mut() {
            Some(last) if last.0 == p.0 => *last = p,
            _ => dedup.push(p),
        }
    }
    let start = dedup.iter().rposition(|p| p.0 <= shift).unwrap_or(0);
    let kept: Vec<(u64, i64, i64)> =
        dedup[start..].iter().map(|&(o, c, m)| (o.saturating_sub(shift), c, m)).collect();
    if kept.is_empty() {
        return None;
    }
    let cpu: Vec<(SimDuration, i64)> =
        kept.iter().map(|&(o, c, _)| (SimDuration::from_nanos(o), c)).collect();
    let mem: Vec<(SimDuration, i64)> =
        kept.iter().map(|&(o, _, m)| (SimDuration::from_nanos(o), m)).collect();
    // Offsets are strictly increasing after dedup (shifted offsets of later samples stay > 0
    // because only the first kept sample can be at or before `shift`), so this cannot fail.
    let cpu_millis = Curve::from_points(&cpu, Interpolation::Hold).ok()?;
    let memory_bytes = Curve::from_points(&mem, Interpolation::Hold).ok()?;
    Some(Usage { cpu_millis, memory_bytes })
}

/// A trace read: an iterator of time-ordered events. See the crate docs for the window rules.
pub struct TraceStream {
    inner: RawIter,
    ctx: Ctx,
    from: u64,
    to: Option<u64>,
    done: bool,
}

impl std::fmt::Debug for TraceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStream").field("from", &self.from).field("to", &self.to).finish_non_exhaustive()
    }
}

impl TraceStream {
    pub(crate) fn new(inner: RawIter, ctx: Ctx, options: &ReadOptions) -> Self {
        TraceStream {
            inner,
            ctx,
            from: options.from.as_nanos(),
            to: options.to.map(SimDuration::as_nanos),
            done: false,
        }
    }

    /// Counters and warnings so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> ReadStats {
        self.ctx.snapshot()
    }

    /// Drains the stream into a vector (tests and small traces).
    pub fn collect_all(self) -> Result<Vec<TraceEvent>, TraceError> {
        self.collect()
    }

    /// Windowing of one raw event: `None` = dropped.
    fn window(&self, raw: Raw) -> Option<TraceEvent> {
        let at = SimTime::from_nanos(raw.t.max(self.from) - self.from);
        let from = self.from;
        // Time still to run at `from` for something whose run started at `start`: `None` when it
        // ended before `from`; the whole run when it had not started yet.
        let clip = |start: u64, d: Option<u64>| -> Option<Option<u64>> {
            match d {
                None => Some(None),
                Some(d) if start >= from => Some(Some(d)),
                Some(d) => {
                    let end = start.saturating_add(d);
                    (end > from).then(|| Some(end - from))
                }
            }
        };
        let kind = match raw.kind {
            RawKind::AddNode(n) => TraceEventKind::AddNode(n),
            RawKind::UpdateNode(n) => TraceEventKind::UpdateNode(n),
            RawKind::RemoveNode(name) => TraceEventKind::RemoveNode { name },
            RawKind::Pod { mut pod, started, duration, usage } => {
                let start = started.unwrap_or(raw.t);
                let duration = clip(start, duration)?;
                let shift = from.saturating_sub(start);
                pod.meta.creation_timestamp = at;
                TraceEventKind::SubmitPod {
                    pod,
                    duration: duration.map(SimDuration::from_nanos),
                    usage: usage.as_ref().and_then(|u| compile_usage(u, shift)),
                }
            }
            RawKind::Job { mut job, pod_duration, usage } => {
                let pod_duration = clip(raw.t, pod_duration)?;
                let shift = from.saturating_sub(raw.t);
                job.meta.creation_timestamp = at;
                TraceEventKind::SubmitJob {
                    job,
                    pod_duration: pod_duration.map(SimDuration::from_nanos),
                    usage: usage.as_ref().and_then(|u| compile_usage(u, shift)),
                }
            }
        };
        Some(TraceEvent { at, kind })
    }
}

impl Iterator for TraceStream {
    type Item = Result<TraceEvent, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.inner.next() {
                None => self.done = true,
                Some(Err(e)) => {
                    if let Err(e) = self.ctx.tolerate(e) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Some(Ok(raw)) => {
                    if self.to.is_some_and(|to| raw.t >= to) {
                        // Sources are time-ordered: nothing later can fall inside the window.
                        self.done = true;
                        break;
                    }
                    match self.window(raw) {
                        Some(ev) => {
                            self.ctx.with(|s| s.events += 1);
                            return Some(Ok(ev));
                        }
                        None => self.ctx.with(|s| s.outside_window += 1),
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_shift_keeps_the_sample_in_force_at_the_window_start() {
        let s = UsageSeries { points: vec![(20, 3, 30), (0, 1, 10), (10, 2, 20)] };
        let u = compile_usage(&s, 15).unwrap();
        // At shift 15 the sample from offset 10 is in force; offset 20 becomes 5.
        let knots: Vec<_> = u.cpu_millis.knots().map(|(t, v)| (t.as_nanos(), v)).collect();
        assert_eq!(knots, vec![(0, 2), (5, 3)]);
        let unshifted: Vec<_> =
            compile_usage(&s, 0).unwrap().memory_bytes.knots().map(|(t, v)| (t.as_nanos(), v)).collect();
        assert_eq!(unshifted, vec![(0, 10), (10, 20), (20, 30)]);
    }

    #[test]
    fn time_order_check_names_both_times() {
        let mut c = OrderCheck::default();
        c.check(5_000_000_000, "time", "sort it").unwrap();
        let e = c.check(1_000_000_000, "time", "sort it").unwrap_err();
        assert!(e.contains("t=1s comes after t=5s"), "{e}");
    }
}
