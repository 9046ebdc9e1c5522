//! Liveness, readiness and startup probes, computed analytically (`pkg/kubelet/prober/worker.go`).
//!
//! Upstream runs one goroutine per (container, probe type) that ticks every `periodSeconds` and
//! caches a result that changes only when a run of identical outcomes reaches a threshold. Here a
//! [`ContainerProbes`] holds the same per-worker state (cached result, last outcome, run length,
//! on-hold flag, next tick) and answers **"when does a cached result next change, and to what"**
//! by walking the container's [`HealthTimeline`] segment by segment: a probe whose outcome never
//! changes costs one O(1) query and no events, whatever its period. [`naive`] ticks every period
//! and is kept as the oracle (and as a debugging mode); a property test asserts both give
//! identical transition logs. [`NaiveProbes`] is the same oracle as an incremental state machine,
//! split in the two halves of `doProbe` — which ticks are due ([`NaiveProbes::due`]) and what one
//! outcome does ([`NaiveProbes::apply`]) — so that [`ExecutedProbes`] can put a real runtime
//! between them: the kubelet asks the runtime to run each due probe and applies the outcome when
//! it comes back (the real Linux backend probes over HTTP, TCP or exec).
//!
//! Semantics per tick (reference §4.2–4.3), for a running container:
//! * ticks fall at `tick_origin + k·period` (the origin is when the kubelet created the workers);
//! * a tick less than `initialDelaySeconds` after the container start is skipped;
//! * the startup probe gates the others: before the startup result is Success, liveness and
//!   readiness skip; after it, the startup worker is on hold;
//! * the outcome is Success iff the endpoint is healthy and answers before `timeoutSeconds`;
//! * the run counter counts consecutive identical outcomes; the cached result is set when the run
//!   reaches `failureThreshold`/`successThreshold`;
//! * liveness after setting Failure, and startup after setting anything, go on hold (run reset to
//!   0) until a new container starts;
//! * a new container sets the initial results (readiness Failure, liveness Success, startup
//!   Unknown) and clears the hold, but keeps the last outcome and run counter, as upstream does.
//!
//! Timing conventions (documented simplifications): a result counts at its tick time (the probe's
//! own duration is not added); a Success of the startup probe at `s` is visible to the other
//! workers from ticks strictly after `s` (upstream it travels through the status manager first);
//! the initial results are applied at container start rather than at the first tick (equivalent:
//! before the first tick upstream has no result for the new container, which reads the same).
//! The post-kubelet-restart jitter (`rand·period` sleep) and manual readiness triggers are not
//! modelled.

use kubesim_api::{Probe, ProbeAction};
use kubesim_workload::{ContainerHealth, HealthTimeline};
use sim_core::{SimDuration, SimTime};

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    /// `startupProbe`.
    Startup,
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
}

impl ProbeKind {
    /// All kinds, in the order transitions at the same instant are reported.
    pub const ALL: [ProbeKind; 3] = [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness];

    fn index(self) -> usize {
        self as usize
    }

    /// The result a new container starts with.
    pub fn initial_result(self) -> ProbeResult {
        match self {
            ProbeKind::Startup => ProbeResult::Unknown,
            ProbeKind::Liveness => ProbeResult::Success,
            ProbeKind::Readiness => ProbeResult::Failure,
        }
    }

    /// Whether one probe of this kind, run `since_start` after the container started, passes
    /// against the workload's health: the endpoint is healthy and answers within `timeout`. (What
    /// the per-period workers and the simulated runtime's executed probes both evaluate.)
    pub fn succeeds(self, health: &ContainerHealth, since_start: SimDuration, timeout: SimDuration) -> bool {
        self.timeline(health).at(since_start).succeeds_within(timeout)
    }

    /// The health timeline this kind of probe sees.
    pub fn timeline(self, health: &ContainerHealth) -> &HealthTimeline {
        match self {
            ProbeKind::Startup => &health.startup,
            ProbeKind::Liveness => &health.liveness,
            ProbeKind::Readiness => &health.readiness,
        }
    }
}

/// A cached probe result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeResult {
    /// Passed (threshold reached).
    Success,
    /// Failed (threshold reached).
    Failure,
    /// Not decided yet (startup's initial value).
    Unknown,
}

/// Probe timing and thresholds in simulation units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `initialDelaySeconds`.
    pub initial_delay: SimDuration,
    /// `periodSeconds` (positive).
    pub period: SimDuration,
    /// `timeoutSeconds`.
    pub timeout: SimDuration,
    /// `successThreshold` (≥ 1).
    pub success_threshold: u32,
    /// `failureThreshold` (≥ 1).
    pub failure_threshold: u32,
}

/// A probe field out of range (upstream validation would reject the pod).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid probe: {field} = {value} ({reason})")]
pub struct ProbeSpecError {
    /// The field.
    pub field: &'static str,
    /// Its value.
    pub value: i64,
    /// Why.
    pub reason: &'static str,
}

impl ProbeSpec {
    /// Upstream defaults: delay 0, period 10 s, timeout 1 s, thresholds 1 and 3.
    pub const DEFAULT: ProbeSpec = ProbeSpec {
        initial_delay: SimDuration::ZERO,
        period: SimDuration::from_secs(10),
        timeout: SimDuration::from_secs(1),
        success_threshold: 1,
        failure_threshold: 3,
    };

    /// From the API object, validating ranges as upstream does.
    pub fn from_api(probe: &Probe) -> Result<Self, ProbeSpecError> {
        let check = |field, value: i32, min: i32| {
            if value < min {
                Err(ProbeSpecError { field, value: i64::from(value), reason: "below the minimum" })
            } else {
                Ok(value as u64)
            }
        };
        Ok(ProbeSpec {
            initial_delay: SimDuration::from_secs(check(
                "initialDelaySeconds",
                probe.initial_delay_seconds,
                0,
            )?),
            period: SimDuration::from_secs(check("periodSeconds", probe.period_seconds, 1)?),
            timeout: SimDuration::from_secs(check("timeoutSeconds", probe.timeout_seconds, 1)?),
            success_threshold: check("successThreshold", probe.success_threshold, 1)? as u32,
            failure_threshold: check("failureThreshold", probe.failure_threshold, 1)? as u32,
        })
    }

    fn threshold(&self, outcome: ProbeResult) -> u32 {
        match outcome {
            ProbeResult::Success => self.success_threshold.max(1),
            _ => self.failure_threshold.max(1),
        }
    }
}

/// A cached result changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProbeTransition {
    /// When (a probe tick).
    pub at: SimTime,
    /// Which probe.
    pub kind: ProbeKind,
    /// The new cached result.
    pub result: ProbeResult,
}

impl ProbeTransition {
    /// True when the kubelet must kill the container: liveness Failure, or startup Failure.
    pub fn kills_container(&self) -> bool {
        self.result == ProbeResult::Failure && matches!(self.kind, ProbeKind::Liveness | ProbeKind::Startup)
    }
}

/// One worker's state, exactly the fields upstream's `worker` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Worker {
    kind: ProbeKind,
    spec: ProbeSpec,
    cached: Option<ProbeResult>,
    /// Upstream `lastResult`: zero value is Success (results.Result's 0), with run 0.
    last: ProbeResult,
    run: u32,
    on_hold: bool,
    /// First tick index not yet processed.
    next_tick: u64,
}

/// The running container instance the workers probe.
///
/// The two optional instants are kept as an instant and a flag each rather than
/// `Option<SimTime>` (which pads to 16 bytes): the flags share one word's padding, and the
/// analytic workers of every container with probes hold one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Instance {
    start: SimTime,
    /// When it stopped, if `stopped` (see [`Instance::stopped_at`]).
    stop_time: SimTime,
    /// When the startup probe first succeeded, if `started` (see [`Instance::started_at`]).
    started_time: SimTime,
    stopped: bool,
    started: bool,
}

impl Instance {
    fn new(start: SimTime) -> Self {
        Instance {
            start,
            stop_time: SimTime::ZERO,
            started_time: SimTime::ZERO,
            stopped: false,
            started: false,
        }
    }
    fn stopped_at(&self) -> Option<SimTime> {
        self.stopped.then_some(self.stop_time)
    }
    /// Records a stop at `at`; the earliest stop counts.
    fn stop(&mut self, at: SimTime) {
        self.stop_time = self.stopped_at().map_or(at, |s| s.min(at));
        self.stopped = true;
    }
    fn started_at(&self) -> Option<SimTime> {
        self.started.then_some(self.started_time)
    }
    fn set_started(&mut self, at: SimTime) {
        self.started_time = at;
        self.started = true;
    }
}

/// The probe workers of one container, across its restarts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerProbes {
    tick_origin: SimTime,
    workers: [Option<Worker>; 3],
    instance: Option<Instance>,
}

impl Worker {
    fn tick(&self, origin: SimTime, k: u64) -> SimTime {
        origin.saturating_add(self.spec.period.saturating_mul(k))
    }

    /// Smallest `k` with `origin + k·period ≥ t`.
    fn tick_at_or_after(&self, origin: SimTime, t: SimTime) -> u64 {
        let p = self.spec.period.as_nanos().max(1);
        let d = t.saturating_duration_since(origin).as_nanos();
        d.div_ceil(p)
    }

    /// Applies this worker's ticks with time ≤ `until`, stopping right after the first tick that
    /// changes the cached result. Returns that change, if any.
    fn scan(
        &mut self,
        origin: SimTime,
        inst: &Instance,
        gated: bool,
        timeline: &HealthTimeline,
        until: SimTime,
    ) -> Option<ProbeTransition> {
        if self.on_hold {
            return None;
        }
        // Ticks with time < hi are in range.
        let hi =
            until.saturating_add(SimDuration::from_nanos(1)).min(inst.stopped_at().unwrap_or(SimTime::MAX));
        let k_hi = self.tick_at_or_after(origin, hi);
        let mut lo = inst.start.saturating_add(self.spec.initial_delay);
        if gated {
            match inst.started_at() {
                Some(s) => lo = lo.max(s.saturating_add(SimDuration::from_nanos(1))),
                None => {
                    // Every tick up to `until` is skipped; skipping leaves the state untouched.
                    self.next_tick = self.next_tick.max(k_hi);
                    return None;
                }
            }
        }
        let mut k = self.next_tick.max(self.tick_at_or_after(origin, lo));
        while k < k_hi {
            let t = self.tick(origin, k);
            let (_, response, seg_end) = timeline.segment_at(t - inst.start);
            let k_seg_end = self.tick_at_or_after(origin, inst.start.saturating_add(seg_end)).min(k_hi);
            let n = k_seg_end - k; // ≥ 1: tick k lies inside the segment
            let outcome = if response.succeeds_within(self.spec.timeout) {
                ProbeResult::Success
            } else {
                ProbeResult::Failure
            };
            if outcome != self.last {
                self.last = outcome;
                self.run = 0;
            }
            // The j-th tick of the segment (1-based) brings the run to run + j; the result is set
            // from j = threshold − run on (at least the first tick once the run is long enough).
            let need = u64::from(self.spec.threshold(outcome).saturating_sub(self.run).max(1));
            if self.cached != Some(outcome) && need <= n {
                let k_set = k + need - 1;
                self.run = self.run.saturating_add(need as u32);
                self.next_tick = k_set + 1;
                self.cached = Some(outcome);
                if self.kind == ProbeKind::Startup
                    || (self.kind == ProbeKind::Liveness && outcome == ProbeResult::Failure)
                {
                    self.on_hold = true;
                    self.run = 0;
                }
                return Some(ProbeTransition {
                    at: self.tick(origin, k_set),
                    kind: self.kind,
                    result: outcome,
                });
            }
            self.run = self.run.saturating_add(n.min(u64::from(u32::MAX)) as u32);
            k = k_seg_end;
        }
        self.next_tick = self.next_tick.max(k_hi);
        None
    }
}

impl ContainerProbes {
    /// Workers for a container's probes, ticking from `tick_origin` (when the kubelet added the pod).
    pub fn new(
        tick_origin: SimTime,
        startup: Option<ProbeSpec>,
        liveness: Option<ProbeSpec>,
        readiness: Option<ProbeSpec>,
    ) -> Self {
        let mk = |kind: ProbeKind, spec: Option<ProbeSpec>| {
            spec.map(|spec| Worker {
                kind,
                spec,
                cached: None,
                last: ProbeResult::Success,
                run: 0,
                on_hold: false,
                next_tick: 0,
            })
        };
        ContainerProbes {
            tick_origin,
            workers: [
                mk(ProbeKind::Startup, startup),
                mk(ProbeKind::Liveness, liveness),
                mk(ProbeKind::Readiness, readiness),
            ],
            instance: None,
        }
    }

    /// A new container (new container ID) started at `at`: initial results, holds cleared.
    pub fn container_started(&mut self, at: SimTime) {
        let origin = self.tick_origin;
        for w in self.workers.iter_mut().flatten() {
            w.cached = Some(w.kind.initial_result());
            w.on_hold = false;
            w.next_tick = w.next_tick.max(w.tick_at_or_after(origin, at));
        }
        self.instance = Some(Instance::new(at));
    }

    /// The container stopped running at `at`: no tick at or after `at` probes it. (Upstream then
    /// sets Failure for the dead container ID; the kubelet reads "not running" directly.)
    pub fn container_stopped(&mut self, at: SimTime) {
        if let Some(inst) = &mut self.instance {
            inst.stop(at);
        }
    }

    fn has(&self, kind: ProbeKind) -> bool {
        self.workers[kind.index()].is_some()
    }

    fn running(&self) -> bool {
        self.instance.is_some_and(|i| i.stopped_at().is_none())
    }

    /// The cached result of `kind`, if that probe exists and a container has started.
    pub fn result(&self, kind: ProbeKind) -> Option<ProbeResult> {
        self.workers[kind.index()].and_then(|w| w.cached)
    }

    /// Upstream `started`: running, and startup Success or no startup probe.
    pub fn started(&self) -> bool {
        self.running()
            && (!self.has(ProbeKind::Startup) || self.instance.is_some_and(|i| i.started_at().is_some()))
    }

    /// Upstream container `ready`: started, and readiness Success or no readiness probe.
    pub fn ready(&self) -> bool {
        self.started()
            && (!self.has(ProbeKind::Readiness)
                || self.result(ProbeKind::Readiness) == Some(ProbeResult::Success))
    }

    /// The next change of any cached result, without changing state. `None`: nothing will change
    /// while the health timelines stay as they are.
    pub fn next_change(&self, health: &ContainerHealth) -> Option<ProbeTransition> {
        let inst = self.instance?;
        let gated = self.has(ProbeKind::Startup);
        if gated && inst.started_at().is_none() {
            // Liveness and readiness cannot move before the startup probe succeeds.
            let mut w = self.workers[ProbeKind::Startup.index()]?;
            return w.scan(self.tick_origin, &inst, false, &health.startup, SimTime::MAX);
        }
        [ProbeKind::Liveness, ProbeKind::Readiness]
            .into_iter()
            .filter_map(|kind| {
                let mut w = self.workers[kind.index()]?;
                w.scan(self.tick_origin, &inst, gated, kind.timeline(health), SimTime::MAX)
            })
            .min()
    }

    /// Applies every tick up to and including `now`; returns the transitions, in time order
    /// (same instant: startup, liveness, readiness).
    pub fn advance_to(&mut self, now: SimTime, health: &ContainerHealth) -> Vec<ProbeTransition> {
        let mut out = Vec::new();
        while let Some(next) = self.next_change(health).filter(|t| t.at <= now) {
            let before = out.len();
            self.apply_through(next.at, health, &mut out);
            debug_assert!(out.len() > before, "next_change promised {next:?}");
            if out.len() == before {
                break;
            }
        }
        self.apply_through(now, health, &mut out);
        out
    }

    fn apply_through(&mut self, t: SimTime, health: &ContainerHealth, out: &mut Vec<ProbeTransition>) {
        let Some(mut inst) = self.instance else { return };
        let gated = self.has(ProbeKind::Startup);
        let start_len = out.len();
        for kind in ProbeKind::ALL {
            let origin = self.tick_origin;
            let Some(w) = &mut self.workers[kind.index()] else { continue };
            let worker_gated = gated && kind != ProbeKind::Startup;
            while let Some(tr) = w.scan(origin, &inst, worker_gated, kind.timeline(health), t) {
                if kind == ProbeKind::Startup && tr.result == ProbeResult::Success {
                    inst.set_started(tr.at);
                }
                out.push(tr);
            }
        }
        self.instance = Some(inst);
        out[start_len..].sort();
    }
}

/// The naive per-period oracle: every tick of every worker, one at a time, literally as upstream's
/// `doProbe`. Use it to check [`ContainerProbes`] and to debug scenarios; it costs one step per
/// probe period.
pub mod naive {
    use super::*;

    /// One container instance: runs on `[start, stop)` answering per `health` (offsets from `start`).
    #[derive(Clone, Debug)]
    pub struct InstanceRun {
        /// Start.
        pub start: SimTime,
        /// Stop (exclusive).
        pub stop: SimTime,
        /// What its probes see.
        pub health: ContainerHealth,
    }

    #[derive(Clone, Copy)]
    struct State {
        cached: Option<ProbeResult>,
        last: ProbeResult,
        run: u32,
        on_hold: bool,
    }

    /// All cached-result changes for `instances` (sequential, non-overlapping), ticking every period.
    pub fn simulate(
        tick_origin: SimTime,
        specs: [Option<ProbeSpec>; 3],
        instances: &[InstanceRun],
    ) -> Vec<ProbeTransition> {
        let mut state = [State { cached: None, last: ProbeResult::Success, run: 0, on_hold: false }; 3];
        let mut out = Vec::new();
        let has_startup = specs[0].is_some();
        for inst in instances {
            for (i, kind) in ProbeKind::ALL.into_iter().enumerate() {
                state[i].cached = Some(kind.initial_result());
                state[i].on_hold = false;
            }
            let mut started_at: Option<SimTime> = None;
            // Every tick time of every worker inside the instance, in order.
            let mut ticks: Vec<(SimTime, usize)> = Vec::new();
            for (i, spec) in specs.iter().enumerate() {
                let Some(spec) = spec else { continue };
                let mut t = tick_origin;
                while t < inst.stop {
                    if t >= inst.start {
                        ticks.push((t, i));
                    }
                    t = t.saturating_add(spec.period);
                }
            }
            ticks.sort();
            for (t, i) in ticks {
                let spec = specs[i].expect("tick of an existing worker");
                let kind = ProbeKind::ALL[i];
                let st = &mut state[i];
                if st.on_hold {
                    continue;
                }
                if t - inst.start < spec.initial_delay {
                    continue;
                }
                let started = !has_startup || started_at.is_some_and(|s| s < t);
                if started == (kind == ProbeKind::Startup) && has_startup {
                    continue; // startup stops once started; the others wait for it
                }
                let timeline = kind.timeline(&inst.health);
                let outcome = if timeline.at(t - inst.start).succeeds_within(spec.timeout) {
                    ProbeResult::Success
                } else {
                    ProbeResult::Failure
                };
                if outcome == st.last {
                    st.run = st.run.saturating_add(1);
                } else {
                    st.last = outcome;
                    st.run = 1;
                }
                if st.run < spec.threshold(outcome) {
                    continue;
                }
                if st.cached != Some(outcome) {
                    st.cached = Some(outcome);
                    out.push(ProbeTransition { at: t, kind, result: outcome });
                    if kind == ProbeKind::Startup && outcome == ProbeResult::Success {
                        started_at = Some(t);
                    }
                }
                if kind == ProbeKind::Startup
                    || (kind == ProbeKind::Liveness && outcome == ProbeResult::Failure)
                {
                    st.on_hold = true;
                    st.run = 0;
                }
            }
        }
        out
    }
}

/// The per-period prober as an incremental state machine: the kubelet's naive mode wakes it at
/// every probe tick ([`NaiveProbes::next_tick`]) and it runs `doProbe` literally, tick by tick. It
/// gives the same cached-result changes as [`ContainerProbes`] at one event per probe period, which
/// is what the kubelet-level oracle test and the per-probe event count need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NaiveProbes {
    tick_origin: SimTime,
    specs: [Option<ProbeSpec>; 3],
    state: [NaiveWorker; 3],
    /// Next tick index per worker.
    next_k: [u64; 3],
    instance: Option<Instance>,
    ticks_run: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NaiveWorker {
    cached: Option<ProbeResult>,
    last: ProbeResult,
    run: u32,
    on_hold: bool,
}

impl NaiveProbes {
    /// Workers ticking from `tick_origin`.
    pub fn new(
        tick_origin: SimTime,
        startup: Option<ProbeSpec>,
        liveness: Option<ProbeSpec>,
        readiness: Option<ProbeSpec>,
    ) -> Self {
        let w = NaiveWorker { cached: None, last: ProbeResult::Success, run: 0, on_hold: false };
        NaiveProbes {
            tick_origin,
            specs: [startup, liveness, readiness],
            state: [w; 3],
            next_k: [0; 3],
            instance: None,
            ticks_run: 0,
        }
    }

    fn tick_at_or_after(&self, i: usize, t: SimTime) -> u64 {
        let p = self.specs[i].map_or(1, |s| s.period.as_nanos().max(1));
        t.saturating_duration_since(self.tick_origin).as_nanos().div_ceil(p)
    }

    fn tick_time(&self, i: usize, k: u64) -> SimTime {
        let p = self.specs[i].map_or(SimDuration::MAX, |s| s.period);
        self.tick_origin.saturating_add(p.saturating_mul(k))
    }

    /// A new container instance started at `at`.
    pub fn container_started(&mut self, at: SimTime) {
        for i in 0..3 {
            self.state[i].cached = Some(ProbeKind::ALL[i].initial_result());
            self.state[i].on_hold = false;
            self.next_k[i] = self.next_k[i].max(self.tick_at_or_after(i, at));
        }
        self.instance = Some(Instance::new(at));
    }

    /// The instance stopped at `at`.
    pub fn container_stopped(&mut self, at: SimTime) {
        if let Some(inst) = &mut self.instance {
            inst.stop(at);
        }
    }

    /// The next tick of any worker while the instance runs.
    pub fn next_tick(&self) -> Option<SimTime> {
        let inst = self.instance?;
        let t =
            (0..3).filter(|&i| self.specs[i].is_some()).map(|i| self.tick_time(i, self.next_k[i])).min()?;
        (t < inst.stopped_at().unwrap_or(SimTime::MAX)).then_some(t)
    }

    /// Probe ticks run so far (the per-probe event count).
    pub fn ticks_run(&self) -> u64 {
        self.ticks_run
    }

    /// Runs every worker tick at exactly `now` (startup, liveness, readiness order), probing the
    /// health timeline: [`due`](Self::due), then [`apply`](Self::apply) for each probe run.
    pub fn tick(&mut self, now: SimTime, health: &ContainerHealth) -> Vec<ProbeTransition> {
        let mut out = Vec::new();
        let Some(inst) = self.instance else { return out };
        for kind in self.due(now).into_iter().flatten() {
            let Some(spec) = self.specs[kind.index()] else { continue };
            let success = kind.succeeds(health, now - inst.start, spec.timeout);
            out.extend(self.apply(kind, success, now));
        }
        out
    }

    /// The first half of `doProbe` for every worker whose tick falls at exactly `now`: consumes
    /// those ticks and returns the kinds that get as far as running their probe (in startup,
    /// liveness, readiness order) — not on hold, past `initialDelaySeconds`, not gated by the
    /// startup probe (which gates the others until strictly after its Success, and stops once it
    /// has one). Nothing is returned once the instance has stopped.
    pub fn due(&mut self, now: SimTime) -> [Option<ProbeKind>; 3] {
        let mut out = [None; 3];
        let Some(inst) = self.instance else { return out };
        if now >= inst.stopped_at().unwrap_or(SimTime::MAX) {
            return out;
        }
        let has_startup = self.specs[0].is_some();
        for (i, kind) in ProbeKind::ALL.into_iter().enumerate() {
            let Some(spec) = self.specs[i] else { continue };
            if self.tick_time(i, self.next_k[i]) != now {
                continue;
            }
            self.next_k[i] += 1;
            self.ticks_run += 1;
            if self.state[i].on_hold || now - inst.start < spec.initial_delay {
                continue;
            }
            let started = !has_startup || inst.started_at().is_some_and(|s| s < now);
            if has_startup && started == (kind == ProbeKind::Startup) {
                continue;
            }
            out[i] = Some(kind);
        }
        out
    }

    /// The second half of `doProbe`: one outcome of `kind`'s probe, observed at `at`, moves the
    /// run counter and, once a threshold is reached, the cached result (liveness Failure and any
    /// startup result put the worker on hold; a startup Success lets the other workers probe
    /// from the next tick strictly after `at`). Returns the cached-result change, if any.
    /// Ignored (`None`) without a running instance or a worker of that kind.
    pub fn apply(&mut self, kind: ProbeKind, success: bool, at: SimTime) -> Option<ProbeTransition> {
        let i = kind.index();
        let spec = self.specs[i]?;
        let inst = self.instance.as_mut()?;
        if at >= inst.stopped_at().unwrap_or(SimTime::MAX) {
            return None;
        }
        let outcome = if success { ProbeResult::Success } else { ProbeResult::Failure };
        let st = &mut self.state[i];
        if outcome == st.last {
            st.run = st.run.saturating_add(1);
        } else {
            st.last = outcome;
            st.run = 1;
        }
        if st.run < spec.threshold(outcome) {
            return None;
        }
        let mut change = None;
        if st.cached != Some(outcome) {
            st.cached = Some(outcome);
            change = Some(ProbeTransition { at, kind, result: outcome });
            if kind == ProbeKind::Startup && outcome == ProbeResult::Success {
                inst.set_started(at);
            }
        }
        if kind == ProbeKind::Startup || (kind == ProbeKind::Liveness && outcome == ProbeResult::Failure) {
            st.on_hold = true;
            st.run = 0;
        }
        change
    }

    /// The spec of `kind`'s worker, if the container has that probe.
    pub fn spec(&self, kind: ProbeKind) -> Option<ProbeSpec> {
        self.specs[kind.index()]
    }

    /// The cached result of `kind`.
    pub fn result(&self, kind: ProbeKind) -> Option<ProbeResult> {
        self.specs[kind.index()].and(self.state[kind.index()].cached)
    }

    /// Running, and startup Success or no startup probe.
    pub fn started(&self) -> bool {
        self.instance.is_some_and(|i| {
            i.stopped_at().is_none() && (self.specs[0].is_none() || i.started_at().is_some())
        })
    }

    /// Started, and readiness Success or no readiness probe.
    pub fn ready(&self) -> bool {
        self.started()
            && (self.specs[2].is_none() || self.result(ProbeKind::Readiness) == Some(ProbeResult::Success))
    }
}

/// One probe the runtime must run now (the kubelet turns it into
/// [`RuntimeCommand::RunProbe`](crate::runtime::RuntimeCommand::RunProbe)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Which probe.
    pub kind: ProbeKind,
    /// What to run (from the container's probe in the pod spec).
    pub action: ProbeAction,
    /// `timeoutSeconds`: a probe that has not answered by then fails.
    pub timeout: SimDuration,
}

/// Per-period probe workers whose probes a runtime executes ([`ProbeMode::Executed`]
/// (crate::ProbeMode::Executed)): the same ticks and gating as [`NaiveProbes`] — which it wraps,
/// so the threshold logic exists once — but each probe that is due becomes a [`ProbeRequest`]
/// ([`start_due`](Self::start_due)) and its outcome is applied when the runtime reports it
/// ([`finish`](Self::finish)).
///
/// A worker has at most one probe in flight, as upstream's worker goroutine blocks in `doProbe`:
/// a tick that comes while the previous probe of that worker has not answered is skipped (Go's
/// ticker would deliver one late tick as soon as the probe returns: a simplification). A new
/// container instance forgets what was in flight, so a late answer for the old instance cannot
/// count.
/// Workers rebuilt by a restarted kubelet discard the answers still due to the old workers
/// ([`discard_answers_due_to`](Self::discard_answers_due_to)): the runtime answers one worker's
/// probes in the order they were asked for, so the next answers are those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutedProbes {
    workers: NaiveProbes,
    /// The probe actions, kept per worker (the only part of the pod spec needed later).
    actions: [Option<ProbeAction>; 3],
    in_flight: [bool; 3],
    /// Answers still due to requests of workers this one replaced, to be dropped.
    stale: [u32; 3],
}

impl ExecutedProbes {
    /// Workers ticking from `tick_origin`, one per `(spec, action)` given (startup, liveness,
    /// readiness).
    pub fn new(tick_origin: SimTime, probes: [Option<(ProbeSpec, ProbeAction)>; 3]) -> Self {
        let specs = [0, 1, 2].map(|i| probes[i].as_ref().map(|(s, _)| *s));
        ExecutedProbes {
            workers: NaiveProbes::new(tick_origin, specs[0], specs[1], specs[2]),
            actions: probes.map(|p| p.map(|(_, a)| a)),
            in_flight: [false; 3],
            stale: [0; 3],
        }
    }

    /// These workers replace `previous` (a kubelet restart) for the same running instance: the
    /// answers to `previous`'s probes still in flight will arrive, and must not count here.
    pub fn discard_answers_due_to(&mut self, previous: &ExecutedProbes) {
        for i in 0..3 {
            self.stale[i] = previous.stale[i].saturating_add(u32::from(previous.in_flight[i]));
        }
    }

    /// A new container instance started at `at`.
    pub fn container_started(&mut self, at: SimTime) {
        self.workers.container_started(at);
        self.in_flight = [false; 3];
        self.stale = [0; 3];
    }

    /// The instance stopped at `at`.
    pub fn container_stopped(&mut self, at: SimTime) {
        self.workers.container_stopped(at);
    }

    /// The next tick of any worker while the instance runs.
    pub fn next_tick(&self) -> Option<SimTime> {
        self.workers.next_tick()
    }

    /// Consumes the ticks at exactly `now` and returns the probes to run (startup, liveness,
    /// readiness order), marking them in flight.
    pub fn start_due(&mut self, now: SimTime) -> Vec<ProbeRequest> {
        let mut out = Vec::new();
        for kind in self.workers.due(now).into_iter().flatten() {
            let i = kind.index();
            let (Some(spec), Some(action)) = (self.workers.spec(kind), &self.actions[i]) else { continue };
            if self.in_flight[i] {
                continue;
            }
            self.in_flight[i] = true;
            out.push(ProbeRequest { kind, action: action.clone(), timeout: spec.timeout });
        }
        out
    }

    /// The runtime reports one outcome of `kind`'s probe, completed at `at`. Applied only if that
    /// worker has a probe in flight and no replaced worker's answer is still due (otherwise it is
    /// a stale answer: `None`).
    pub fn finish(&mut self, kind: ProbeKind, success: bool, at: SimTime) -> Option<ProbeTransition> {
        let stale = &mut self.stale[kind.index()];
        if *stale > 0 {
            *stale -= 1;
            return None;
        }
        let flight = &mut self.in_flight[kind.index()];
        if !*flight {
            return None;
        }
        *flight = false;
        self.workers.apply(kind, success, at)
    }

    /// True while a probe of `kind` awaits its outcome.
    pub fn in_flight(&self, kind: ProbeKind) -> bool {
        self.in_flight[kind.index()]
    }

    /// The action of `kind`'s probe.
    pub fn action(&self, kind: ProbeKind) -> Option<&ProbeAction> {
        self.actions[kind.index()].as_ref()
    }

    /// Probe ticks run so far.
    pub fn ticks_run(&self) -> u64 {
        self.workers.ticks_run()
    }

    /// The cached result of `kind`.
    pub fn result(&self, kind: ProbeKind) -> Option<ProbeResult> {
        self.workers.result(kind)
    }

    /// Running, and startup Success or no startup probe.
    pub fn started(&self) -> bool {
        self.workers.started()
    }

    /// Started, and readiness Success or no readiness probe.
    pub fn ready(&self) -> bool {
        self.workers.ready()
    }
}

#[cfg(test)]
mod tests {
    use super::naive::{simulate, InstanceRun};
    use super::*;
    use kubesim_workload::ProbeResponse;
    use proptest::prelude::*;

    fn s(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }
    fn at(v: u64) -> SimTime {
        SimTime::from_secs(v)
    }
    fn tr(t: u64, kind: ProbeKind, result: ProbeResult) -> ProbeTransition {
        ProbeTransition { at: at(t), kind, result }
    }

    /// Runs the analytic model over instances the way a kubelet would: one event per change.
    fn analytic(
        origin: SimTime,
        specs: [Option<ProbeSpec>; 3],
        instances: &[InstanceRun],
    ) -> Vec<ProbeTransition> {
        let mut p = ContainerProbes::new(origin, specs[0], specs[1], specs[2]);
        let mut out = Vec::new();
        for inst in instances {
            p.container_started(inst.start);
            p.container_stopped(inst.stop);
            let last_tick = inst.stop - SimDuration::from_nanos(1);
            while let Some(next) = p.next_change(&inst.health).filter(|t| t.at <= last_tick) {
                let got = p.advance_to(next.at, &inst.health);
                assert_eq!(got.first(), Some(&next));
                out.extend(got);
            }
            out.extend(p.advance_to(last_tick, &inst.health));
        }
        out
    }

    fn both(
        origin: SimTime,
        specs: [Option<ProbeSpec>; 3],
        instances: &[InstanceRun],
    ) -> Vec<ProbeTransition> {
        let a = analytic(origin, specs, instances);
        assert_eq!(a, simulate(origin, specs, instances));
        a
    }

    #[test]
    fn a_healthy_container_becomes_ready_at_the_first_tick_and_then_nothing_changes() {
        let spec = ProbeSpec::DEFAULT;
        let mut p = ContainerProbes::new(at(0), None, Some(spec), Some(spec));
        let health = ContainerHealth::default();
        p.container_started(at(0));
        assert!(!p.ready());
        assert_eq!(p.next_change(&health), Some(tr(0, ProbeKind::Readiness, ProbeResult::Success)));
        p.advance_to(at(0), &health);
        assert!(p.ready());
        // Zero work from here on: no further change, however far ahead.
        assert_eq!(p.next_change(&health), None);
        assert!(p.advance_to(SimTime::from_secs(3600), &health).is_empty());
    }

    #[test]
    fn a_hang_kills_after_failure_threshold_periods() {
        // Liveness period 10 s, threshold 3; the app hangs at 95 s. Ticks at 100, 110, 120 fail →
        // Failure at 120 s (= first tick ≥ 95 plus 2 periods), then the worker holds.
        let spec = ProbeSpec::DEFAULT;
        let health =
            ContainerHealth::uniform(HealthTimeline::default().then_at(s(95), ProbeResponse::UNHEALTHY));
        let got =
            both(at(0), [None, Some(spec), None], &[InstanceRun { start: at(0), stop: at(1000), health }]);
        assert_eq!(got, vec![tr(120, ProbeKind::Liveness, ProbeResult::Failure)]);
        assert!(got[0].kills_container());
    }

    #[test]
    fn a_slow_answer_is_a_failure() {
        // Answers take 1.5 s from 30 s on; timeout 1 s → failures at 30, 40, 50 → Failure at 50 s.
        let slow = ProbeResponse { healthy: true, latency: SimDuration::from_millis(1500) };
        let health = ContainerHealth::uniform(HealthTimeline::default().then_at(s(30), slow));
        let got = both(
            at(0),
            [None, Some(ProbeSpec::DEFAULT), None],
            &[InstanceRun { start: at(0), stop: at(100), health }],
        );
        assert_eq!(got, vec![tr(50, ProbeKind::Liveness, ProbeResult::Failure)]);
    }

    #[test]
    fn startup_gates_liveness_and_readiness_until_strictly_after_its_success() {
        // Healthy from 25 s; startup period 5 s threshold 30 → Success at 25 s. Readiness
        // (period 10) ticks at 20 (gated), 30 → Success at 30. Liveness never changes.
        let startup = ProbeSpec { period: s(5), failure_threshold: 30, ..ProbeSpec::DEFAULT };
        let health = ContainerHealth::uniform(HealthTimeline::healthy_after(s(25)));
        let got = both(
            at(0),
            [Some(startup), Some(ProbeSpec::DEFAULT), Some(ProbeSpec::DEFAULT)],
            &[InstanceRun { start: at(0), stop: at(200), health }],
        );
        assert_eq!(
            got,
            vec![
                tr(25, ProbeKind::Startup, ProbeResult::Success),
                tr(30, ProbeKind::Readiness, ProbeResult::Success)
            ]
        );
    }

    #[test]
    fn startup_failure_after_threshold_kills_and_readiness_never_probes() {
        let startup = ProbeSpec { period: s(5), failure_threshold: 4, ..ProbeSpec::DEFAULT };
        let health = ContainerHealth::uniform(HealthTimeline::always(ProbeResponse::UNHEALTHY));
        let got = both(
            at(0),
            [Some(startup), None, Some(ProbeSpec::DEFAULT)],
            &[InstanceRun { start: at(0), stop: at(100), health }],
        );
        // Ticks 0, 5, 10, 15 fail → Failure at 15 s.
        assert_eq!(got, vec![tr(15, ProbeKind::Startup, ProbeResult::Failure)]);
        assert!(got[0].kills_container());
    }

    #[test]
    fn initial_delay_and_tick_origin_place_the_first_probe() {
        // Workers created at 3 s, container starts at 7 s, initial delay 10 s: ticks at 3+10k;
        // the first at or after 17 s is 23 s.
        let spec = ProbeSpec { initial_delay: s(10), ..ProbeSpec::DEFAULT };
        let health = ContainerHealth::default();
        let got =
            both(at(3), [None, None, Some(spec)], &[InstanceRun { start: at(7), stop: at(100), health }]);
        assert_eq!(got, vec![tr(23, ProbeKind::Readiness, ProbeResult::Success)]);
    }

    #[test]
    fn readiness_flaps_with_thresholds() {
        // success 2, failure 2, period 10: unhealthy [40, 70): ticks 40, 50 fail → Failure at 50;
        // healthy again at 70: ticks 70, 80 → Success at 80.
        let spec = ProbeSpec { success_threshold: 2, failure_threshold: 2, ..ProbeSpec::DEFAULT };
        let timeline = HealthTimeline::default()
            .then_at(s(40), ProbeResponse::UNHEALTHY)
            .then_at(s(70), ProbeResponse::HEALTHY);
        let got = both(
            at(0),
            [None, None, Some(spec)],
            &[InstanceRun { start: at(0), stop: at(200), health: ContainerHealth::uniform(timeline) }],
        );
        assert_eq!(
            got,
            vec![
                tr(10, ProbeKind::Readiness, ProbeResult::Success),
                tr(50, ProbeKind::Readiness, ProbeResult::Failure),
                tr(80, ProbeKind::Readiness, ProbeResult::Success),
            ]
        );
    }

    #[test]
    fn the_run_counter_survives_a_restart_as_upstream() {
        // Liveness threshold 3. First container fails at ticks 0 and 10, then exits at 15 s on
        // its own. The new container (start 20 s) fails at its first tick (20): the run reaches 3
        // and liveness fails immediately.
        let unhealthy = ContainerHealth::uniform(HealthTimeline::always(ProbeResponse::UNHEALTHY));
        let got = both(
            at(0),
            [None, Some(ProbeSpec::DEFAULT), None],
            &[
                InstanceRun { start: at(0), stop: at(15), health: unhealthy.clone() },
                InstanceRun { start: at(20), stop: at(100), health: unhealthy },
            ],
        );
        assert_eq!(got, vec![tr(20, ProbeKind::Liveness, ProbeResult::Failure)]);
    }

    fn arb_spec(kind: ProbeKind) -> impl Strategy<Value = ProbeSpec> {
        (0u64..12, 1u64..8, 1u64..4, 1u32..4, 1u32..5).prop_map(
            move |(delay, period, timeout, succ, fail)| ProbeSpec {
                initial_delay: s(delay),
                period: s(period),
                timeout: s(timeout),
                success_threshold: if kind == ProbeKind::Readiness { succ } else { 1 },
                failure_threshold: fail,
            },
        )
    }

    fn arb_timeline() -> impl Strategy<Value = HealthTimeline> {
        prop::collection::vec((1u64..40_000, any::<bool>(), 0u64..5), 0..7).prop_map(|steps| {
            let mut t = 0;
            let pts = steps
                .into_iter()
                .enumerate()
                .map(|(i, (dt_ms, healthy, lat))| {
                    if i > 0 {
                        t += dt_ms;
                    }
                    (
                        SimDuration::from_millis(t),
                        ProbeResponse { healthy, latency: SimDuration::from_millis(lat * 700) },
                    )
                })
                .collect();
            HealthTimeline::new(pts).expect("increasing")
        })
    }

    fn arb_health() -> impl Strategy<Value = ContainerHealth> {
        (arb_timeline(), arb_timeline(), arb_timeline(), any::<bool>()).prop_map(|(a, b, c, shared)| {
            if shared {
                ContainerHealth::uniform(a)
            } else {
                ContainerHealth { startup: a, liveness: b, readiness: c }
            }
        })
    }

    /// Consecutive instances from (gap before start, run length, health) triples, in ms after
    /// `origin_ms`.
    fn instances_from(origin_ms: u64, runs: Vec<(u64, u64, ContainerHealth)>) -> Vec<InstanceRun> {
        let mut t = origin_ms;
        runs.into_iter()
            .map(|(gap, len, health)| {
                let start = t + gap;
                t = start + len;
                InstanceRun { start: SimTime::from_millis(start), stop: SimTime::from_millis(t), health }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn analytic_and_per_period_probing_give_identical_transitions(
            startup in prop::option::of(arb_spec(ProbeKind::Startup)),
            liveness in prop::option::of(arb_spec(ProbeKind::Liveness)),
            readiness in prop::option::of(arb_spec(ProbeKind::Readiness)),
            origin_ms in 0u64..10_000,
            runs in prop::collection::vec((0u64..15_000, 1_000u64..120_000, arb_health()), 1..4),
        ) {
            let origin = SimTime::from_millis(origin_ms);
            let instances = instances_from(origin_ms, runs);
            let specs = [startup, liveness, readiness];
            let a = analytic(origin, specs, &instances);
            let n = simulate(origin, specs, &instances);
            prop_assert_eq!(a, n);
        }
    }

    /// Runs executed workers over instances the way a kubelet with a runtime that answers at once
    /// from the health timeline would: at each tick, ask for the due probes, answer each.
    fn executed(
        origin: SimTime,
        specs: [Option<ProbeSpec>; 3],
        instances: &[InstanceRun],
    ) -> Vec<ProbeTransition> {
        let action = || ProbeAction::Exec { command: vec!["cat".into(), "/tmp/healthy".into()] };
        let mut p = ExecutedProbes::new(origin, specs.map(|s| s.map(|s| (s, action()))));
        let mut out = Vec::new();
        for inst in instances {
            p.container_started(inst.start);
            p.container_stopped(inst.stop);
            while let Some(now) = p.next_tick() {
                for req in p.start_due(now) {
                    assert_eq!(req.action, action());
                    let ok = req.kind.succeeds(&inst.health, now - inst.start, req.timeout);
                    out.extend(p.finish(req.kind, ok, now));
                }
            }
        }
        out
    }

    #[test]
    fn executed_workers_ask_for_a_probe_per_due_tick_and_count_its_answer() {
        // Readiness period 10 s, success 1: tick 0 → one request, its success sets Success.
        let spec = ProbeSpec::DEFAULT;
        let get = ProbeAction::HttpGet { path: "/ready".into(), port: 8080 };
        let mut p = ExecutedProbes::new(at(0), [None, None, Some((spec, get.clone()))]);
        p.container_started(at(0));
        assert_eq!(p.next_tick(), Some(at(0)));
        let reqs = p.start_due(at(0));
        assert_eq!(reqs, vec![ProbeRequest { kind: ProbeKind::Readiness, action: get, timeout: s(1) }]);
        assert!(p.in_flight(ProbeKind::Readiness));
        assert!(!p.ready());
        assert_eq!(
            p.finish(ProbeKind::Readiness, true, at(0)),
            Some(tr(0, ProbeKind::Readiness, ProbeResult::Success))
        );
        assert!(p.ready());
        assert_eq!(p.next_tick(), Some(at(10)));
    }

    #[test]
    fn a_tick_while_the_last_probe_is_unanswered_is_skipped_and_stale_answers_are_ignored() {
        // Liveness period 1 s, threshold 1. The probe of tick 0 answers only after tick 1: tick 1
        // asks for nothing (the worker is busy), the late Failure still counts (it is the answer
        // the worker awaited) and kills. An answer nobody awaits changes nothing.
        let spec = ProbeSpec { period: s(1), failure_threshold: 1, ..ProbeSpec::DEFAULT };
        let tcp = ProbeAction::TcpSocket { port: 80 };
        let mut p = ExecutedProbes::new(at(0), [None, Some((spec, tcp)), None]);
        p.container_started(at(0));
        assert_eq!(p.start_due(at(0)).len(), 1);
        assert!(p.start_due(at(1)).is_empty(), "busy: tick 1 skipped");
        assert_eq!(p.ticks_run(), 2);
        let late = SimTime::from_millis(1500);
        let t = p.finish(ProbeKind::Liveness, false, late).unwrap();
        assert_eq!((t.at, t.result), (late, ProbeResult::Failure));
        assert!(t.kills_container());
        assert_eq!(p.finish(ProbeKind::Liveness, false, at(2)), None, "nothing in flight");
        // A restart forgets the probe in flight: its late answer cannot count for the new instance.
        p.container_stopped(at(3));
        p.container_started(at(4));
        assert_eq!(p.start_due(at(4)).len(), 1);
        p.container_stopped(SimTime::from_millis(4500));
        p.container_started(at(5));
        assert_eq!(p.finish(ProbeKind::Liveness, false, at(5)), None);
        assert_eq!(p.result(ProbeKind::Liveness), Some(ProbeResult::Success));
    }

    #[test]
    fn the_per_period_workers_split_into_due_and_apply_give_the_same_results_as_tick() {
        // Startup period 5 s (threshold 2) gates readiness; healthy from 12 s.
        let startup = ProbeSpec { period: s(5), failure_threshold: 10, ..ProbeSpec::DEFAULT };
        let health = ContainerHealth::uniform(HealthTimeline::healthy_after(s(12)));
        let mut a = NaiveProbes::new(at(0), Some(startup), None, Some(ProbeSpec::DEFAULT));
        let mut b = a.clone();
        a.container_started(at(0));
        b.container_started(at(0));
        let mut by_tick = Vec::new();
        let mut by_halves = Vec::new();
        while let Some(now) = a.next_tick().filter(|t| *t <= at(60)) {
            by_tick.extend(a.tick(now, &health));
            assert_eq!(b.next_tick(), Some(now));
            for kind in b.due(now).into_iter().flatten() {
                let ok = kind.succeeds(&health, now - at(0), b.spec(kind).unwrap().timeout);
                by_halves.extend(b.apply(kind, ok, now));
            }
        }
        // Startup: ticks 0, 5, 10 fail, 15 succeeds; readiness: tick 20 (strictly after 15).
        assert_eq!(
            by_tick,
            vec![
                tr(15, ProbeKind::Startup, ProbeResult::Success),
                tr(20, ProbeKind::Readiness, ProbeResult::Success)
            ]
        );
        assert_eq!(by_halves, by_tick);
        assert_eq!(a, b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn executed_workers_answered_from_the_timeline_match_the_per_period_oracle(
            startup in prop::option::of(arb_spec(ProbeKind::Startup)),
            liveness in prop::option::of(arb_spec(ProbeKind::Liveness)),
            readiness in prop::option::of(arb_spec(ProbeKind::Readiness)),
            origin_ms in 0u64..10_000,
            runs in prop::collection::vec((0u64..15_000, 1_000u64..120_000, arb_health()), 1..4),
        ) {
            let origin = SimTime::from_millis(origin_ms);
            let instances = instances_from(origin_ms, runs);
            let specs = [startup, liveness, readiness];
            prop_assert_eq!(executed(origin, specs, &instances), simulate(origin, specs, &instances));
        }
    }
}
