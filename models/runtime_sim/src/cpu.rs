//! Node CPU sharing and CFS throttling accounting.
//!
//! **Sharing.** When the containers on a node want more CPU than it has, each gets CPU in
//! proportion to its `cpu.shares`, but never more than its cap (its demand, and its CFS quota);
//! what a capped container leaves is redistributed among the others (water-filling). Everything
//! is integer millicores; the remainder of the final proportional split goes one millicore at a
//! time to the largest fractional parts, ties to the lower index. See [`water_fill`].
//!
//! **Throttling.** The model runs in 1 ms ticks inside 100 ms CFS periods aligned to multiples
//! of 100 ms of simulated time. In each tick a container with demand `d` millicores wants `d` µs
//! of CPU; with a quota it may use at most what is left of `quota_us` in the current period. CPU
//! per tick is shared by [`water_fill`] with cap `min(d, quota left)`. A tick is **throttled**
//! for a container when, at its start, the quota left is below the demand; a period counts in
//! `nr_periods` when the container had a quota and demand in it, and in `nr_throttled` when at
//! least one of its ticks was throttled; `throttled_time` is the number of throttled ticks × 1 ms.
//! Example: demand 200m, limit 100m (quota 10 000 µs) alone on a node: 200 µs per tick for 50
//! ticks, then throttled for 50 → every period throttled, 50 ms throttled per period
//! (= period × (d − q)/d in the fluid limit).
//!
//! [`CpuAccounting::advance`] gets the same numbers as ticking, but skips ahead: within a period
//! it jumps between the ticks where some cap changes, and when inputs stay constant for whole
//! periods it computes one period and multiplies. [`oracle`] ticks every millisecond.

/// Ticks per CFS period (100 ms of 1 ms ticks).
pub const TICKS_PER_PERIOD: u64 = 100;
/// Tick length in µs.
pub const TICK_US: u64 = 1_000;

/// One container's CPU inputs while they stay constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuContainer {
    /// What it would use if unconstrained, in millicores.
    pub demand_millis: u64,
    /// `cpu.shares` (from the request; see `kubesim_kubelet::cgroups::milli_cpu_to_shares`).
    pub shares: u64,
    /// CFS quota in µs per 100 ms period; `None` = no limit.
    pub quota_us: Option<u64>,
}

/// Splits `capacity` among containers with `caps` in proportion to `weights`, never giving
/// anyone more than its cap, redistributing what capped containers leave. Exact integers.
///
/// Rule: if the caps fit, everyone gets its cap. Otherwise repeatedly give their cap to every
/// container whose cap is at most its proportional share of what is left (`cap·W ≤ left·w`);
/// when none is, split what is left by `floor(left·w/W)` and hand out the remaining units one
/// each, largest remainder first, ties to the lower index. A weight of 0 counts as 1.
pub fn water_fill(capacity: u64, caps: &[u64], weights: &[u64]) -> Vec<u64> {
    let mut alloc = Vec::new();
    water_fill_into(capacity, caps, weights, &mut alloc);
    alloc
}

/// [`water_fill`] into `alloc` (cleared first), reusing its buffer.
fn water_fill_into(capacity: u64, caps: &[u64], weights: &[u64], alloc: &mut Vec<u64>) {
    alloc.clear();
    let total: u128 = caps.iter().map(|&c| c as u128).sum();
    if total <= capacity as u128 {
        alloc.extend_from_slice(caps);
        return;
    }
    let w = |i: usize| weights.get(i).copied().unwrap_or(1).max(1) as u128;
    alloc.resize(caps.len(), 0);
    let mut active: Vec<usize> = (0..caps.len()).filter(|&i| caps[i] > 0).collect();
    let mut left = capacity as u128;
    loop {
        let weight_sum: u128 = active.iter().map(|&i| w(i)).sum();
        let (saturated, rest): (Vec<usize>, Vec<usize>) =
            active.iter().partition(|&&i| caps[i] as u128 * weight_sum <= left * w(i));
        if saturated.is_empty() {
            break;
        }
        for &i in &saturated {
            alloc[i] = caps[i];
            left -= caps[i] as u128;
        }
        active = rest;
        if active.is_empty() {
            return;
        }
    }
    let weight_sum: u128 = active.iter().map(|&i| w(i)).sum();
    let mut handed = 0u128;
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(active.len());
    for &i in &active {
        let exact = left * w(i);
        alloc[i] = (exact / weight_sum) as u64;
        handed += exact / weight_sum;
        remainders.push((exact % weight_sum, i));
    }
    // Largest remainder first, then lower index.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let extra = (left - handed) as usize;
    for &(_, i) in remainders.iter().take(extra) {
        alloc[i] += 1; // ≤ cap: cap > exact share, so cap ≥ floor(share) + 1
    }
}

/// Average CPU (millicores) each container gets when the inputs hold: caps are
/// `min(demand, quota as millicores)`. This ignores the within-period dynamics that
/// [`CpuAccounting`] models; use it for quick "who gets what" views.
pub fn share_cpu(capacity_millis: u64, containers: &[CpuContainer]) -> Vec<u64> {
    let caps: Vec<u64> = containers
        .iter()
        .map(|c| {
            c.quota_us
                .map_or(c.demand_millis, |q| c.demand_millis.min(q * 1000 / (TICKS_PER_PERIOD * TICK_US)))
        })
        .collect();
    let weights: Vec<u64> = containers.iter().map(|c| c.shares).collect();
    water_fill(capacity_millis, &caps, &weights)
}

/// Cumulative CPU counters of one container (what `cpu.stat` reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// CPU time used, µs.
    pub usage_us: u64,
    /// Periods with a quota and some demand.
    pub nr_periods: u64,
    /// Periods with at least one throttled tick.
    pub nr_throttled: u64,
    /// Throttled ticks × 1 ms, in µs.
    pub throttled_us: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    quota_left_us: u64,
    active_in_period: bool,
    throttled_in_period: bool,
    stat: CpuStat,
}

/// The per-node CPU accounting state: position in the CFS period and per-container quota left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuAccounting {
    tick_in_period: u64,
    slots: Vec<Slot>,
}

impl CpuAccounting {
    /// `n` containers, at the start of a period (quota refilled on first use).
    pub fn new(n: usize) -> Self {
        CpuAccounting {
            tick_in_period: 0,
            slots: vec![Slot { quota_left_us: u64::MAX, ..Slot::default() }; n],
        }
    }

    /// Counters of container `i`.
    pub fn stat(&self, i: usize) -> CpuStat {
        self.slots[i].stat
    }

    /// Number of container slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True with no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Appends a slot for a container joining mid-period: its quota starts full (a new cgroup's
    /// first period has its whole `cfs_quota_us`), its counters at zero.
    pub fn push_slot(&mut self, quota_us: Option<u64>) {
        crate::sorted::make_room(&mut self.slots);
        self.slots.push(Slot { quota_left_us: quota_us.unwrap_or(u64::MAX), ..Slot::default() });
    }

    /// Removes slot `i` (later slots move down one) and returns its counters. The period it
    /// leaves in the middle is not counted in its `nr_periods` (the cgroup is gone).
    pub fn remove_slot(&mut self, i: usize) -> CpuStat {
        self.slots.remove(i).stat
    }

    /// Ticks into the current CFS period (0..100).
    pub fn tick_in_period(&self) -> u64 {
        self.tick_in_period
    }

    fn refill(&mut self, containers: &[CpuContainer]) {
        for (slot, c) in self.slots.iter_mut().zip(containers) {
            slot.quota_left_us = c.quota_us.unwrap_or(u64::MAX);
            slot.active_in_period = false;
            slot.throttled_in_period = false;
        }
    }

    fn caps(&self, containers: &[CpuContainer]) -> (Vec<u64>, Vec<bool>) {
        let mut scratch = Scratch::default();
        self.caps_into(containers, &mut scratch);
        (scratch.caps, scratch.throttled)
    }

    /// Each slot's cap this tick (demand, bounded by the quota left) and whether it is throttled.
    fn caps_into(&self, containers: &[CpuContainer], scratch: &mut Scratch) {
        scratch.caps.clear();
        scratch.throttled.clear();
        for (s, c) in self.slots.iter().zip(containers) {
            scratch.caps.push(c.demand_millis.min(s.quota_left_us));
            scratch
                .throttled
                .push(c.quota_us.is_some() && c.demand_millis > 0 && s.quota_left_us < c.demand_millis);
        }
    }

    fn close_period(&mut self, containers: &[CpuContainer]) {
        for s in &mut self.slots {
            s.stat.nr_periods += u64::from(s.active_in_period);
            s.stat.nr_throttled += u64::from(s.throttled_in_period);
        }
        self.tick_in_period = 0;
        self.refill(containers);
    }

    /// Runs `n` ticks inside the current period (n ≤ ticks left in it), jumping between cap changes.
    /// `scratch.weights` holds the containers' shares.
    fn run_within_period(
        &mut self,
        capacity_millis: u64,
        containers: &[CpuContainer],
        mut n: u64,
        scratch: &mut Scratch,
    ) {
        while n > 0 {
            self.caps_into(containers, scratch);
            let Scratch { weights, caps, throttled, alloc, .. } = &mut *scratch;
            water_fill_into(capacity_millis, caps, weights, alloc);
            // How many ticks until some cap changes (then the split may change).
            let mut len = n;
            for (i, c) in containers.iter().enumerate() {
                let left = self.slots[i].quota_left_us;
                if c.quota_us.is_none() || alloc[i] == 0 {
                    continue;
                }
                if throttled[i] {
                    len = 1; // cap = quota left, which shrinks every tick
                } else {
                    // cap stays `demand` while left − j·alloc ≥ demand.
                    len = len.min((left - c.demand_millis) / alloc[i] + 1);
                }
            }
            for (i, c) in containers.iter().enumerate() {
                let s = &mut self.slots[i];
                let used = alloc[i] * len;
                s.stat.usage_us += used;
                if c.quota_us.is_some() {
                    s.quota_left_us -= used;
                    if c.demand_millis > 0 {
                        s.active_in_period = true;
                    }
                }
                if throttled[i] {
                    s.throttled_in_period = true;
                    s.stat.throttled_us += len * TICK_US;
                }
            }
            self.tick_in_period += len;
            n -= len;
        }
        if self.tick_in_period == TICKS_PER_PERIOD {
            self.close_period(containers);
        }
    }

    /// Advances `ticks` milliseconds with constant inputs. `containers[i]` must describe slot `i`.
    pub fn advance(&mut self, capacity_millis: u64, containers: &[CpuContainer], ticks: u64) {
        assert_eq!(containers.len(), self.slots.len(), "one input per container slot");
        // Each node advances its accounting whenever a container joins or leaves: the buffers
        // are the thread's, reused from call to call, rather than allocated per call (or kept
        // per node, which would cost memory for every container of every node).
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.advance_with(capacity_millis, containers, ticks, &mut scratch),
            // Only a re-entrant call could find them in use; it gets buffers of its own.
            Err(_) => self.advance_with(capacity_millis, containers, ticks, &mut Scratch::default()),
        });
    }

    fn advance_with(
        &mut self,
        capacity_millis: u64,
        containers: &[CpuContainer],
        mut ticks: u64,
        scratch: &mut Scratch,
    ) {
        if self.tick_in_period == 0 {
            self.refill(containers);
        }
        scratch.weights.clear();
        scratch.weights.extend(containers.iter().map(|c| c.shares));
        // Finish the current period.
        if self.tick_in_period > 0 {
            let n = ticks.min(TICKS_PER_PERIOD - self.tick_in_period);
            self.run_within_period(capacity_millis, containers, n, scratch);
            ticks -= n;
        }
        // Whole periods: compute one, multiply.
        let whole = ticks / TICKS_PER_PERIOD;
        if whole > 0 {
            let mut before = std::mem::take(&mut scratch.before);
            before.clear();
            before.extend(self.slots.iter().map(|s| s.stat));
            self.run_within_period(capacity_millis, containers, TICKS_PER_PERIOD, scratch);
            for (s, b) in self.slots.iter_mut().zip(&before) {
                let d = CpuStat {
                    usage_us: s.stat.usage_us - b.usage_us,
                    nr_periods: s.stat.nr_periods - b.nr_periods,
                    nr_throttled: s.stat.nr_throttled - b.nr_throttled,
                    throttled_us: s.stat.throttled_us - b.throttled_us,
                };
                let k = whole - 1;
                s.stat.usage_us += d.usage_us * k;
                s.stat.nr_periods += d.nr_periods * k;
                s.stat.nr_throttled += d.nr_throttled * k;
                s.stat.throttled_us += d.throttled_us * k;
            }
            scratch.before = before;
            ticks -= whole * TICKS_PER_PERIOD;
        }
        if ticks > 0 {
            self.run_within_period(capacity_millis, containers, ticks, scratch);
        }
    }
}

thread_local! {
    /// [`CpuAccounting::advance`]'s buffers (plain scratch space: nothing carries over between
    /// calls but the allocations).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Per-slot buffers of one [`CpuAccounting::advance`] call.
#[derive(Default)]
struct Scratch {
    /// `cpu.shares` of each slot.
    weights: Vec<u64>,
    /// This step's cap of each slot.
    caps: Vec<u64>,
    /// Whether each slot is throttled this step.
    throttled: Vec<bool>,
    /// What each slot gets this step.
    alloc: Vec<u64>,
    /// The counters before the one period that whole periods multiply.
    before: Vec<CpuStat>,
}

/// The per-tick reference model: one [`water_fill`] per millisecond.
pub mod oracle {
    use super::*;

    /// Ticks `ticks` milliseconds one at a time; same state type and semantics as
    /// [`CpuAccounting::advance`].
    pub fn tick_by_tick(
        acct: &mut CpuAccounting,
        capacity_millis: u64,
        containers: &[CpuContainer],
        ticks: u64,
    ) {
        let weights: Vec<u64> = containers.iter().map(|c| c.shares).collect();
        for _ in 0..ticks {
            if acct.tick_in_period == 0 {
                acct.refill(containers);
            }
            let (caps, throttled) = acct.caps(containers);
            let alloc = water_fill(capacity_millis, &caps, &weights);
            for (i, c) in containers.iter().enumerate() {
                let s = &mut acct.slots[i];
                s.stat.usage_us += alloc[i];
                if c.quota_us.is_some() {
                    s.quota_left_us -= alloc[i];
                    s.active_in_period |= c.demand_millis > 0;
                }
                if throttled[i] {
                    s.throttled_in_period = true;
                    s.stat.throttled_us += TICK_US;
                }
            }
            acct.tick_in_period += 1;
            if acct.tick_in_period == TICKS_PER_PERIOD {
                acct.close_period(containers);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(demand_millis: u64, shares: u64, limit_millis: Option<u64>) -> CpuContainer {
        CpuContainer { demand_millis, shares, quota_us: limit_millis.map(|l| l * 100) }
    }

    #[test]
    fn when_demand_fits_everyone_gets_its_demand() {
        assert_eq!(share_cpu(4000, &[c(1000, 1024, None), c(500, 2, None)]), vec![1000, 500]);
    }

    #[test]
    fn contention_splits_by_shares() {
        // 1000m between shares 1024 and 3072 (both want 2000m): 250 / 750.
        assert_eq!(share_cpu(1000, &[c(2000, 1024, None), c(2000, 3072, None)]), vec![250, 750]);
    }

    #[test]
    fn a_capped_container_leaves_its_share_to_the_others() {
        // 3000m, equal shares, the first is limited to 500m: 500, then 2500 split 1250/1250.
        assert_eq!(
            share_cpu(3000, &[c(4000, 1024, Some(500)), c(4000, 1024, None), c(4000, 1024, None)]),
            vec![500, 1250, 1250]
        );
        // Low demand is a cap too.
        assert_eq!(water_fill(1000, &[100, 5000, 5000], &[1024, 1024, 1024]), vec![100, 450, 450]);
    }

    #[test]
    fn the_remainder_goes_to_the_largest_fractions_then_the_lower_index() {
        // 1000 by 1:1:1 → 333.33 each; one unit left → index 0.
        assert_eq!(water_fill(1000, &[2000, 2000, 2000], &[2, 2, 2]), vec![334, 333, 333]);
        // 10 by 1:2 → 3.33 / 6.67: the second has the larger remainder.
        assert_eq!(water_fill(10, &[100, 100], &[1, 2]), vec![3, 7]);
    }

    #[test]
    fn demand_over_quota_throttles_every_period_for_the_excess_fraction() {
        // 200m demand, 100m limit, alone: 50 ms throttled per period, every period.
        let inputs = [c(200, 1024, Some(100))];
        let mut a = CpuAccounting::new(1);
        a.advance(4000, &inputs, 1000); // 1 s
        assert_eq!(
            a.stat(0),
            CpuStat { usage_us: 100_000, nr_periods: 10, nr_throttled: 10, throttled_us: 500_000 }
        );
    }

    #[test]
    fn an_uneven_quota_throttles_from_the_tick_it_runs_short() {
        // 400m demand, 150m limit (15 000 µs): 37 full ticks (14 800 µs), tick 37 gets 200 µs and
        // is throttled, ticks 38..99 get nothing → 63 throttled ticks per period.
        let mut a = CpuAccounting::new(1);
        a.advance(4000, &[c(400, 1024, Some(150))], 100);
        assert_eq!(
            a.stat(0),
            CpuStat { usage_us: 15_000, nr_periods: 1, nr_throttled: 1, throttled_us: 63_000 }
        );
    }

    #[test]
    fn contention_alone_is_not_throttling() {
        let mut a = CpuAccounting::new(2);
        a.advance(1000, &[c(2000, 1024, Some(2000)), c(2000, 1024, None)], 200);
        let s = a.stat(0);
        assert_eq!((s.usage_us, s.nr_periods, s.nr_throttled, s.throttled_us), (100_000, 2, 0, 0));
    }

    fn arb_containers(n: usize) -> impl Strategy<Value = Vec<CpuContainer>> {
        prop::collection::vec(
            (0u64..3000, 2u64..3000, prop::option::of(10u64..2500)).prop_map(|(d, s, l)| c(d, s, l)),
            n,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn water_fill_respects_caps_and_capacity_and_is_work_conserving(
            caps in prop::collection::vec(0u64..5000, 1..7),
            weights in prop::collection::vec(0u64..5000, 7),
            capacity in 0u64..12000,
        ) {
            let a = water_fill(capacity, &caps, &weights);
            let total: u64 = a.iter().sum();
            prop_assert!(a.iter().zip(&caps).all(|(x, c)| x <= c));
            prop_assert_eq!(total, capacity.min(caps.iter().sum()));
        }

        #[test]
        fn skipping_accounting_equals_the_per_tick_oracle(
            n in 1usize..5,
            seed_inputs in prop::collection::vec((arb_containers(4), 100u64..4000, 1u64..450), 1..5),
        ) {
            let mut fast = CpuAccounting::new(n);
            let mut slow = CpuAccounting::new(n);
            for (inputs, capacity, ticks) in seed_inputs {
                let inputs = &inputs[..n];
                fast.advance(capacity, inputs, ticks);
                oracle::tick_by_tick(&mut slow, capacity, inputs, ticks);
                prop_assert_eq!(&fast, &slow);
            }
        }
    }
}
