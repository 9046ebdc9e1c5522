//! [`NodeCpu`]: one node's CPU accounting in virtual time, kept lazily.
//!
//! The containers of a node share its CPU by [`crate::cpu::water_fill`] and are throttled by their
//! CFS quota, as [`crate::cpu::CpuAccounting`] models in 1 ms ticks inside 100 ms periods aligned
//! to multiples of 100 ms of simulated time. Nothing here is an event: the accounting is brought
//! up to date only when something changes (a container joins or leaves the node) or someone
//! looks ([`NodeCpu::stat`]), and between those instants it advances in chunks of constant
//! inputs, each costing about one CFS period whatever its length.
//!
//! **Time grid.** Tick `k` covers `[k ms, (k+1) ms)`. A container counts from tick
//! `floor(start / 1 ms)` to tick `floor(exit / 1 ms)` (exclusive): a change at instant `t`
//! applies to the whole tick containing `t`. A query at `now` sees the ticks before
//! `floor(now / 1 ms)`.
//!
//! **Demand sampling.** A container's demand in tick `k` is its demand curve at offset
//! `floor((k ms − start) / grid) · grid` since its start, with `grid` = [`NodeCpu::new`]'s
//! `demand_grid` (1 s by default in [`crate::RuntimeConfig`]): steps that fall on grid points are
//! exact, a ramp or diurnal curve becomes a staircase with one step per grid cell at most. The
//! chunk boundaries are the instants where some container's *sampled* demand changes
//! ([`kubesim_workload::Curve::next_change_after`] rounded up to the grid), so a container with
//! steady demand adds no boundary at all. Because the sampled demand is a function of the tick
//! alone, the counters do not depend on when or how often anyone looks.
//!
//! Request-driven demand (`Demand::RequestDriven`) is taken at a rate of zero requests per
//! second (its base) until the driver feeds request rates.

use std::sync::Arc;

use kubesim_kubelet::cgroups::ContainerCgroup;
use kubesim_kubelet::runtime::ContainerId;
use kubesim_workload::spec::Demand;
use kubesim_workload::ContainerWorkload;
use sim_core::{SimDuration, SimTime};

use crate::cpu::{CpuAccounting, CpuContainer, CpuStat};
use crate::sorted::make_room;

const TICK_NS: u64 = 1_000_000;

/// One container of the node. Its shares and quota live in the matching [`CpuContainer`] of
/// [`NodeCpu::inputs`], beside its sampled demand, which is kept until `boundary`.
#[derive(Clone, Debug)]
struct Member {
    id: ContainerId,
    start: SimTime,
    /// The first tick where the sampled demand held in the inputs may change (0: not sampled yet).
    boundary: u64,
    workload: Arc<ContainerWorkload>,
}

impl Member {
    fn start_tick(&self) -> u64 {
        self.start.as_nanos() / TICK_NS
    }

    /// Sampled offset since start (ns, a multiple of the grid) in tick `k ≥ start_tick`.
    fn sampled_offset(&self, k: u64, grid: u64) -> u64 {
        let offset = k.saturating_mul(TICK_NS).saturating_sub(self.start.as_nanos());
        offset / grid * grid
    }

    fn demand_millis(&self, k: u64, grid: u64) -> u64 {
        if k < self.start_tick() {
            return 0;
        }
        let at = SimDuration::from_nanos(self.sampled_offset(k, grid));
        self.workload.cpu_millis.value(at, 0).max(0) as u64
    }

    /// First tick after `k` where the sampled demand may differ; `u64::MAX` if never.
    fn next_boundary(&self, k: u64, grid: u64) -> u64 {
        let start_tick = self.start_tick();
        if k < start_tick {
            return start_tick;
        }
        let Demand::Curve(curve) = &self.workload.cpu_millis else { return u64::MAX };
        let s = self.sampled_offset(k, grid);
        let Some(change) = curve.next_change_after(SimDuration::from_nanos(s)) else { return u64::MAX };
        // The first grid point at or after the change; the first tick whose sample reaches it.
        let g = change.as_nanos().div_ceil(grid).saturating_mul(grid);
        self.start.as_nanos().saturating_add(g).div_ceil(TICK_NS).max(k + 1)
    }
}

/// CPU usage and throttling of every container on one node (see the module docs).
#[derive(Clone, Debug)]
pub struct NodeCpu {
    capacity_millis: u64,
    grid_ns: u64,
    /// Every tick before this one is accounted.
    next_tick: u64,
    acct: CpuAccounting,
    members: Vec<Member>,
    /// `inputs[i]`: the shares, quota and demand of `members[i]`, the demand as sampled in the
    /// tick before `members[i].boundary` (a member's sampled demand is constant between its
    /// boundaries, so it is sampled once per boundary, not once per chunk).
    inputs: Vec<CpuContainer>,
}

impl NodeCpu {
    /// A node with `capacity_millis` of CPU, sampling demand curves every `demand_grid`
    /// (at least 1 ms).
    pub fn new(capacity_millis: u64, demand_grid: SimDuration) -> Self {
        NodeCpu {
            capacity_millis,
            grid_ns: demand_grid.as_nanos().max(TICK_NS),
            next_tick: 0,
            acct: CpuAccounting::new(0),
            members: Vec::new(),
            inputs: Vec::new(),
        }
    }

    /// CPU capacity, millicores.
    pub fn capacity_millis(&self) -> u64 {
        self.capacity_millis
    }

    /// Changes the capacity from `now` on.
    pub fn set_capacity_millis(&mut self, now: SimTime, capacity_millis: u64) {
        self.advance_to(now);
        self.capacity_millis = capacity_millis;
    }

    /// Containers accounted (started or about to start).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True with no containers.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// A container created at `now` that runs from `start` with `cgroup` and `workload`.
    pub fn add(
        &mut self,
        now: SimTime,
        id: ContainerId,
        start: SimTime,
        cgroup: &ContainerCgroup,
        workload: Arc<ContainerWorkload>,
    ) {
        self.advance_to(now);
        self.remove(now, id);
        // Quota scaled to the 100 ms period the model uses.
        let quota_us = cgroup.cpu_quota_us.map(|q| {
            let period = cgroup.cpu_period_us.max(1);
            (u128::from(q) * 100_000 / u128::from(period)) as u64
        });
        self.acct.push_slot(quota_us);
        make_room(&mut self.members);
        make_room(&mut self.inputs);
        self.members.push(Member { id, start, boundary: 0, workload });
        self.inputs.push(CpuContainer { demand_millis: 0, shares: cgroup.cpu_shares, quota_us });
    }

    /// The container stopped at `at` (≥ the last change); returns its final counters.
    pub fn remove(&mut self, at: SimTime, id: ContainerId) -> Option<CpuStat> {
        let i = self.members.iter().position(|m| m.id == id)?;
        self.advance_to(at);
        self.members.remove(i);
        self.inputs.remove(i);
        Some(self.acct.remove_slot(i))
    }

    /// Drops every container (the node lost its runtime state at `at`).
    pub fn clear(&mut self, at: SimTime) {
        self.advance_to(at);
        while self.members.pop().is_some() {
            self.inputs.pop();
            self.acct.remove_slot(self.members.len());
        }
    }

    /// Counters of container `id` as of `now`.
    pub fn stat(&mut self, now: SimTime, id: ContainerId) -> Option<CpuStat> {
        let i = self.members.iter().position(|m| m.id == id)?;
        self.advance_to(now);
        Some(self.acct.stat(i))
    }

    /// Counters of every container as of `now`, in the order they joined.
    pub fn stats(&mut self, now: SimTime) -> Vec<(ContainerId, CpuStat)> {
        self.advance_to(now);
        self.members.iter().enumerate().map(|(i, m)| (m.id, self.acct.stat(i))).collect()
    }

    /// When container `id` runs from, and its workload, if it is accounted.
    pub fn member(&self, id: ContainerId) -> Option<(SimTime, &Arc<ContainerWorkload>)> {
        self.members.iter().find(|m| m.id == id).map(|m| (m.start, &m.workload))
    }

    /// [`Self::stats`], each with the container's start and workload.
    pub fn stats_with_workloads(
        &mut self,
        now: SimTime,
    ) -> Vec<(ContainerId, CpuStat, SimTime, &Arc<ContainerWorkload>)> {
        self.advance_to(now);
        let acct = &self.acct;
        self.members.iter().enumerate().map(|(i, m)| (m.id, acct.stat(i), m.start, &m.workload)).collect()
    }

    /// Brings the accounting up to the tick containing `now` (exclusive).
    pub fn advance_to(&mut self, now: SimTime) {
        let target = now.as_nanos() / TICK_NS;
        while self.next_tick < target {
            let k = self.next_tick;
            let grid = self.grid_ns;
            let mut until = target;
            for (m, input) in self.members.iter_mut().zip(&mut self.inputs) {
                if m.boundary <= k {
                    input.demand_millis = m.demand_millis(k, grid);
                    m.boundary = m.next_boundary(k, grid);
                }
                until = until.min(m.boundary);
            }
            self.acct.advance(self.capacity_millis, &self.inputs, until - k);
            self.next_tick = until;
        }
    }
}

/// Per-tick reference for [`NodeCpu`]: the same sampled demands fed one tick at a time to
/// [`crate::cpu::oracle::tick_by_tick`].
pub mod oracle {
    use super::*;

    /// One container of the reference run.
    #[derive(Clone, Debug)]
    pub struct OracleContainer {
        /// Id.
        pub id: ContainerId,
        /// Runs from.
        pub start: SimTime,
        /// Stops at (exclusive), if it does.
        pub stop: Option<SimTime>,
        /// Cgroup.
        pub cgroup: ContainerCgroup,
        /// Workload.
        pub workload: Arc<ContainerWorkload>,
    }

    /// Counters of each container (that has not stopped) at `until`, ticking every millisecond.
    /// Containers join in the order given; each is created at its `start`.
    pub fn run(
        capacity_millis: u64,
        demand_grid: SimDuration,
        containers: &[OracleContainer],
        until: SimTime,
    ) -> Vec<(ContainerId, CpuStat)> {
        let grid = demand_grid.as_nanos().max(TICK_NS);
        let mut acct = CpuAccounting::new(0);
        let mut live: Vec<(Member, u64, Option<u64>)> = Vec::new();
        let end = until.as_nanos() / TICK_NS;
        for k in 0..end {
            // Leave, then join, at the start of tick k.
            for c in containers {
                if let Some(stop) = c.stop {
                    if stop.as_nanos() / TICK_NS == k {
                        if let Some(i) = live.iter().position(|(m, ..)| m.id == c.id) {
                            live.remove(i);
                            acct.remove_slot(i);
                        }
                    }
                }
            }
            for c in containers {
                if c.start.as_nanos() / TICK_NS == k && c.stop.is_none_or(|s| s.as_nanos() / TICK_NS > k) {
                    let quota_us = c.cgroup.cpu_quota_us.map(|q| q * 100_000 / c.cgroup.cpu_period_us.max(1));
                    acct.push_slot(quota_us);
                    live.push((
                        Member { id: c.id, start: c.start, boundary: 0, workload: c.workload.clone() },
                        c.cgroup.cpu_shares,
                        quota_us,
                    ));
                }
            }
            let inputs: Vec<CpuContainer> = live
                .iter()
                .map(|(m, shares, quota_us)| CpuContainer {
                    demand_millis: m.demand_millis(k, grid),
                    shares: *shares,
                    quota_us: *quota_us,
                })
                .collect();
            crate::cpu::oracle::tick_by_tick(&mut acct, capacity_millis, &inputs, 1);
        }
        live.iter().enumerate().map(|(i, (m, ..))| (m.id, acct.stat(i))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::oracle::{run, OracleContainer};
    use super::*;
    use kubesim_workload::{Curve, Interpolation};
    use proptest::prelude::*;

    fn cgroup(request_millis: i64, limit_millis: Option<i64>) -> ContainerCgroup {
        ContainerCgroup {
            cpu_shares: kubesim_kubelet::cgroups::milli_cpu_to_shares(request_millis),
            cpu_quota_us: limit_millis.map(|l| (l * 100) as u64),
            cpu_period_us: 100_000,
            memory_limit_bytes: None,
        }
    }

    fn workload(cpu: Curve) -> Arc<ContainerWorkload> {
        Arc::new(ContainerWorkload { cpu_millis: Demand::Curve(cpu), ..ContainerWorkload::idle() })
    }

    fn ms(v: u64) -> SimTime {
        SimTime::from_millis(v)
    }

    #[test]
    fn a_container_over_its_limit_is_throttled_half_of_every_period() {
        // 200m demand, 100m limit, started at 300 ms (a period boundary): by 1.3 s it has run 10
        // periods, used 10 ms of CPU in each and been throttled for the other 50 ticks of each.
        let mut cpu = NodeCpu::new(4000, SimDuration::from_secs(1));
        let id = ContainerId::new(0, 0, 0);
        cpu.add(SimTime::ZERO, id, ms(300), &cgroup(100, Some(100)), workload(Curve::constant(200)));
        let s = cpu.stat(ms(1300), id).unwrap();
        assert_eq!(s, CpuStat { usage_us: 100_000, nr_periods: 10, nr_throttled: 10, throttled_us: 500_000 });
    }

    #[test]
    fn two_busy_containers_share_a_core_by_their_requests() {
        // 1000m node, both want 1000m, requests 250m and 750m → shares 256 and 768 → 250/750.
        let mut cpu = NodeCpu::new(1000, SimDuration::from_secs(1));
        let (a, b) = (ContainerId::new(0, 0, 0), ContainerId::new(1, 0, 0));
        cpu.add(SimTime::ZERO, a, SimTime::ZERO, &cgroup(250, None), workload(Curve::constant(1000)));
        cpu.add(SimTime::ZERO, b, SimTime::ZERO, &cgroup(750, None), workload(Curve::constant(1000)));
        let stats = cpu.stats(SimTime::from_secs(2));
        assert_eq!(stats[0].1.usage_us, 500_000);
        assert_eq!(stats[1].1.usage_us, 1_500_000);
        // A leaves at 2 s; B has the core alone afterwards.
        cpu.remove(SimTime::from_secs(2), a);
        assert_eq!(cpu.stat(SimTime::from_secs(3), b).unwrap().usage_us, 2_500_000);
    }

    #[test]
    fn a_step_in_demand_applies_at_the_next_grid_point() {
        // Demand 100m, then 300m from 1.5 s after start; grid 1 s → the sample moves at 2 s.
        let steps = Curve::from_points(
            &[(SimDuration::ZERO, 100), (SimDuration::from_millis(1500), 300)],
            Interpolation::Hold,
        )
        .unwrap();
        let mut cpu = NodeCpu::new(4000, SimDuration::from_secs(1));
        let id = ContainerId::new(0, 0, 0);
        cpu.add(SimTime::ZERO, id, SimTime::ZERO, &cgroup(100, None), workload(steps));
        // 2 s at 100m + 1 s at 300m = 200 ms + 300 ms of CPU.
        assert_eq!(cpu.stat(SimTime::from_secs(3), id).unwrap().usage_us, 500_000);
    }

    #[test]
    fn looking_often_or_rarely_gives_the_same_counters() {
        let ramp = Curve::ramp(0, 3000, SimDuration::from_secs(1), SimDuration::from_secs(20));
        let build = || {
            let mut cpu = NodeCpu::new(2000, SimDuration::from_millis(250));
            cpu.add(
                SimTime::ZERO,
                ContainerId::new(0, 0, 0),
                ms(7),
                &cgroup(500, Some(1500)),
                workload(ramp.clone()),
            );
            cpu.add(
                SimTime::ZERO,
                ContainerId::new(1, 0, 0),
                ms(13),
                &cgroup(100, None),
                workload(Curve::constant(900)),
            );
            cpu
        };
        let mut rare = build();
        let mut often = build();
        for t in (0..30_000).step_by(777) {
            often.advance_to(ms(t));
        }
        assert_eq!(rare.stats(SimTime::from_secs(30)), often.stats(SimTime::from_secs(30)));
    }

    fn arb_curve() -> impl Strategy<Value = Curve> {
        prop_oneof![
            (0i64..2500).prop_map(Curve::constant),
            (prop::collection::vec((1u64..800, 0i64..2500), 1..4)).prop_map(|steps| {
                let mut t = 0;
                let pts: Vec<(SimDuration, i64)> = steps
                    .into_iter()
                    .map(|(dt, v)| {
                        t += dt;
                        (SimDuration::from_millis(t), v)
                    })
                    .collect();
                Curve::from_points(&pts, Interpolation::Hold).unwrap()
            }),
            (0i64..2500, 0i64..2500, 0u64..500, 1u64..1500).prop_map(|(a, b, s, d)| Curve::ramp(
                a,
                b,
                SimDuration::from_millis(s),
                SimDuration::from_millis(d)
            )),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The lazy node accounting equals ticking every millisecond, with containers joining
        /// and leaving at arbitrary nanoseconds and curves sampled on the grid.
        #[test]
        fn lazy_node_accounting_equals_the_per_tick_oracle(
            specs in prop::collection::vec(
                (0u64..400_000_000, prop::option::of(1u64..2_000_000_000),
                 1i64..2000, prop::option::of(10i64..2500), arb_curve()),
                1..5),
            capacity in 200u64..5000,
            latency in 0u64..300_000_000,
            grid_ms in 1u64..400,
            peek_every_ms in 50u64..900,
        ) {
            let grid = SimDuration::from_millis(grid_ms);
            // One start latency: creation order = start order, as in the runtime.
            let mut start = 0u64;
            let mut containers = Vec::new();
            for (i, (gap, life, req, lim, curve)) in specs.into_iter().enumerate() {
                start += gap;
                let created = start.saturating_sub(latency);
                containers.push((SimTime::from_nanos(created), OracleContainer {
                    id: ContainerId::new(i as u32, 0, 0),
                    start: SimTime::from_nanos(start),
                    stop: life.map(|l| SimTime::from_nanos(start + l)),
                    cgroup: cgroup(req, lim),
                    workload: workload(curve),
                }));
            }
            let until = SimTime::from_secs(3);
            // Fast: replay creations and stops in time order, peeking now and then.
            let mut cpu = NodeCpu::new(capacity, grid);
            let mut happenings: Vec<(SimTime, u8, usize)> = Vec::new();
            for (i, (created, c)) in containers.iter().enumerate() {
                happenings.push((*created, 1, i));
                if let Some(s) = c.stop {
                    happenings.push((s, 0, i));
                }
            }
            let mut t = 0;
            while t < 3000 {
                happenings.push((ms(t), 2, 0));
                t += peek_every_ms;
            }
            happenings.sort();
            for (at, what, i) in happenings {
                if at >= until {
                    break;
                }
                let c = &containers[i].1;
                match what {
                    0 => { cpu.remove(at, c.id); }
                    1 => cpu.add(at, c.id, c.start, &c.cgroup, c.workload.clone()),
                    _ => cpu.advance_to(at),
                }
            }
            let fast: Vec<_> = cpu
                .stats(until)
                .into_iter()
                .filter(|(id, _)| containers.iter().any(|(_, c)| c.id == *id && c.start.as_nanos() / TICK_NS < until.as_nanos() / TICK_NS))
                .collect();
            let oracle_in: Vec<OracleContainer> = containers.into_iter().map(|(_, c)| c).collect();
            let slow = run(capacity, grid, &oracle_in, until);
            prop_assert_eq!(fast, slow);
        }
    }
}
