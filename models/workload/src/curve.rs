//! Piecewise integer functions of time with exact crossing queries.
//!
//! Every demand model (constant, steps, ramp, diurnal, trace, memory leak) compiles into a
//! [`Curve`]: knots `(offset, value)` joined by holds or straight lines, optionally repeating with
//! a period, plus an optional linear leak (units per second). Inside one segment the value is a
//! **single floor of a linear function**:
//!
//! ```text
//! value(start + u) = base + floor((alpha·u + beta) / denom)      u in [0, segment length)
//! ```
//!
//! so "what is the value at t", "when does it next change" and "when does it first reach x" are
//! answered exactly with integer arithmetic (i128), never by stepping. A linear segment from
//! `(t0, v0)` to `(t1, v1)` with leak `L` per second has `alpha = (v1 − v0)·1e9 + L·(t1 − t0)`,
//! `denom = (t1 − t0)·1e9`, and the leak accumulated before the segment split into its whole part
//! (`base`) and its remainder (`beta`). Values that would overflow saturate at `i64::MAX`.

use sim_core::SimDuration;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// How consecutive knots are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// The value holds until the next knot (a step function; what traces with 5-minute windows mean).
    #[default]
    Hold,
    /// Straight line to the next knot, floored to an integer.
    Linear,
}

/// Errors building a [`Curve`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurveError {
    /// No knots.
    #[error("a curve needs at least one point")]
    Empty,
    /// Knot offsets must be strictly increasing.
    #[error("curve points must be strictly increasing in time: {later} does not come after {earlier}")]
    NotIncreasing {
        /// Earlier offset.
        earlier: SimDuration,
        /// Offending offset.
        later: SimDuration,
    },
    /// A periodic curve's knots must lie inside the period.
    #[error("point at {at} lies outside the period {period}")]
    OutsidePeriod {
        /// Offending offset.
        at: SimDuration,
        /// The period.
        period: SimDuration,
    },
    /// A zero period.
    #[error("the period must be positive")]
    ZeroPeriod,
}

/// A piecewise integer function of the time since its origin (usually the container start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Curve {
    knots: Vec<(u64, i64)>,
    interpolation: Interpolation,
    period: Option<u64>,
    leak_per_sec: i64,
}

/// One segment in closed form (see the module docs). Offsets are absolute nanoseconds since the
/// curve's origin; `end` is exclusive (`u64::MAX` = forever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    start: u64,
    end: u64,
    base: i128,
    alpha: i128,
    beta: i128,
    denom: i128,
}

impl Segment {
    fn value(&self, u: u64) -> i64 {
        let num = self.alpha.checked_mul(u as i128).and_then(|x| x.checked_add(self.beta));
        match num {
            Some(n) => saturate(self.base + n.div_euclid(self.denom)),
            None => {
                if self.alpha >= 0 {
                    i64::MAX
                } else {
                    i64::MIN
                }
            }
        }
    }

    /// Smallest `u` in `[u0, end − start)` with `value(u) ≥ threshold`.
    fn first_at_or_above(&self, u0: u64, threshold: i64) -> Option<u64> {
        let len = self.end - self.start;
        // value ≥ thr ⇔ floor(N/D) ≥ thr − base ⇔ N ≥ (thr − base)·D  (floor(x) ≥ k ⇔ x ≥ k for integer k)
        let k = threshold as i128 - self.base;
        let target = k.checked_mul(self.denom)?.checked_sub(self.beta)?; // need alpha·u ≥ target
        let u = if self.alpha > 0 {
            let need = ceil_div(target, self.alpha);
            if need <= u0 as i128 {
                u0
            } else {
                u64::try_from(need).ok()?
            }
        } else if self.alpha.checked_mul(u0 as i128)? >= target {
            u0 // constant or decreasing: only the start of the window can qualify
        } else {
            return None;
        };
        (u < len).then_some(u)
    }

    /// Smallest `u' > u` (inside the segment) where the value differs from `value(u)`.
    fn next_change_after(&self, u: u64) -> Option<u64> {
        let len = self.end - self.start;
        let n = self.alpha.checked_mul(u as i128)?.checked_add(self.beta)?;
        let k = n.div_euclid(self.denom);
        let next = match self.alpha.signum() {
            0 => return None,
            1 => ceil_div((k + 1).checked_mul(self.denom)? - self.beta, self.alpha),
            _ => (self.beta - k.checked_mul(self.denom)?).div_euclid(-self.alpha) + 1,
        };
        let next = u64::try_from(next.max(u as i128 + 1)).ok()?;
        (next < len).then_some(next)
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Curve {
    /// The same value forever.
    pub fn constant(value: i64) -> Self {
        Curve { knots: vec![(0, value)], interpolation: Interpolation::Hold, period: None, leak_per_sec: 0 }
    }

    /// Knots joined by `interpolation`; the last value holds forever. A first knot after zero
    /// means the first value also holds before it.
    pub fn from_points(
        points: &[(SimDuration, i64)],
        interpolation: Interpolation,
    ) -> Result<Self, CurveError> {
        let knots = Self::check_points(points)?;
        Ok(Curve { knots, interpolation, period: None, leak_per_sec: 0 })
    }

    /// Knots repeating every `period`: the last knot joins the first knot of the next cycle.
    pub fn periodic(
        points: &[(SimDuration, i64)],
        interpolation: Interpolation,
        period: SimDuration,
    ) -> Result<Self, CurveError> {
        if period.is_zero() {
            return Err(CurveError::ZeroPeriod);
        }
        let knots = Self::check_points(points)?;
        if let Some(&(at, _)) = knots.iter().find(|(at, _)| *at >= period.as_nanos()) {
            return Err(CurveError::OutsidePeriod { at: SimDuration::from_nanos(at), period });
        }
        Ok(Curve { knots, interpolation, period: Some(period.as_nanos()), leak_per_sec: 0 })
    }

    /// A linear ramp from `from` to `to` over `[start, start + duration)`, holding before and after.
    pub fn ramp(from: i64, to: i64, start: SimDuration, duration: SimDuration) -> Self {
        let mut knots = vec![(0, from)];
        if !start.is_zero() {
            knots.push((start.as_nanos(), from));
        }
        let end = start.saturating_add(duration).as_nanos();
        if end > start.as_nanos() {
            knots.push((end, to));
        } else {
            knots.last_mut().expect("non-empty").1 = to;
        }
        Curve { knots, interpolation: Interpolation::Linear, period: None, leak_per_sec: 0 }
    }

    /// This curve plus a linear leak of `per_sec` units per second since the origin (memory leak).
    pub fn with_leak_per_sec(mut self, per_sec: i64) -> Self {
        self.leak_per_sec = per_sec;
        self
    }

    fn check_points(points: &[(SimDuration, i64)]) -> Result<Vec<(u64, i64)>, CurveError> {
        let first = points.first().ok_or(CurveError::Empty)?;
        for pair in points.windows(2) {
            if pair[1].0 <= pair[0].0 {
                return Err(CurveError::NotIncreasing { earlier: pair[0].0, later: pair[1].0 });
            }
        }
        let mut knots: Vec<(u64, i64)> = points.iter().map(|(t, v)| (t.as_nanos(), *v)).collect();
        if !first.0.is_zero() {
            knots.insert(0, (0, first.1));
        }
        Ok(knots)
    }

    /// The knots `(offset, value)`.
    pub fn knots(&self) -> impl Iterator<Item = (SimDuration, i64)> + '_ {
        self.knots.iter().map(|(t, v)| (SimDuration::from_nanos(*t), *v))
    }

    /// The leak in units per second.
    pub fn leak_per_sec(&self) -> i64 {
        self.leak_per_sec
    }

    /// The segment containing absolute offset `t`.
    fn segment(&self, t: u64) -> Segment {
        let (cycle_start, tau) = match self.period {
            Some(p) => ((t / p) * p, t % p),
            None => (0, t),
        };
        let i = self.knots.partition_point(|(at, _)| *at <= tau).saturating_sub(1);
        let (k_at, v0) = self.knots[i];
        let start = cycle_start + k_at;
        let next = match (self.knots.get(i + 1), self.period) {
            (Some(&(at, v)), _) => Some((cycle_start + at, v)),
            (None, Some(p)) => Some((cycle_start.saturating_add(p), self.knots[0].1)),
            (None, None) => None,
        };
        let leak = self.leak_per_sec as i128;
        // Whole and fractional leak accumulated before the segment.
        let leak_total = leak * start as i128;
        let (leak_whole, leak_rem) =
            (leak_total.div_euclid(NANOS_PER_SEC), leak_total.rem_euclid(NANOS_PER_SEC));
        let (end, dv, dt) = match next {
            Some((end, v1)) if self.interpolation == Interpolation::Linear => {
                (end, (v1 - v0) as i128, (end - start) as i128)
            }
            Some((end, _)) => (end, 0, 1),
            None => (u64::MAX, 0, 1),
        };
        let mut alpha = dv * NANOS_PER_SEC + leak * dt;
        let mut beta = leak_rem * dt;
        let mut denom = dt * NANOS_PER_SEC;
        let g = gcd(gcd(alpha, beta), denom);
        if g > 1 {
            alpha /= g;
            beta /= g;
            denom /= g;
        }
        Segment { start, end, base: v0 as i128 + leak_whole, alpha, beta, denom }
    }

    /// The value at `offset` since the origin.
    pub fn value_at(&self, offset: SimDuration) -> i64 {
        let t = offset.as_nanos();
        if let Some(v) = self.held_value_at(t) {
            return v;
        }
        self.segment_value_at(t)
    }

    /// The value at `t` from the segment's closed form.
    fn segment_value_at(&self, t: u64) -> i64 {
        let seg = self.segment(t);
        seg.value(t - seg.start)
    }

    /// The value at `t` when the segment holding `t` is flat (no leak, and a held step or the
    /// last knot of a non-periodic curve): its knot's value, without the closed form's 128-bit
    /// arithmetic. Workload curves (constant memory, stepped CPU) are evaluated for every
    /// container at every scrape, and nearly all are flat.
    fn held_value_at(&self, t: u64) -> Option<i64> {
        if self.leak_per_sec != 0 {
            return None;
        }
        let tau = match self.period {
            Some(p) => t % p,
            None => t,
        };
        let i = self.knots.partition_point(|(at, _)| *at <= tau).saturating_sub(1);
        let last_for_good = i + 1 == self.knots.len() && self.period.is_none();
        (self.interpolation == Interpolation::Hold || last_for_good).then(|| self.knots[i].1)
    }

    /// The curve's only value, if it has one: every knot holds the same value and nothing leaks,
    /// so `value_at` returns it at every offset and no threshold above it is ever reached
    /// (periodic or not, held or linear). Lets callers that hold many such curves (every
    /// container's constant working set) keep a sum instead of evaluating each curve.
    pub fn constant_value(&self) -> Option<i64> {
        let first = self.knots.first()?.1;
        (self.leak_per_sec == 0 && self.knots.iter().all(|&(_, v)| v == first)).then_some(first)
    }

    /// The largest knot value: with no leak, no value of the curve exceeds it.
    fn max_knot(&self) -> i64 {
        self.knots.iter().map(|(_, v)| *v).max().unwrap_or(0)
    }

    /// The first offset `t' > offset` where the value differs from the value at `offset`, or
    /// `None` if it never changes again.
    pub fn next_change_after(&self, offset: SimDuration) -> Option<SimDuration> {
        let t = offset.as_nanos();
        let current = self.value_at(offset);
        let mut seg = self.segment(t);
        let mut u = t - seg.start;
        let scanned_since = seg.start;
        loop {
            if let Some(next) = seg.next_change_after(u) {
                return Some(SimDuration::from_nanos(seg.start + next));
            }
            if seg.end == u64::MAX {
                return None;
            }
            let following = self.segment(seg.end);
            if following.value(0) != current {
                return Some(SimDuration::from_nanos(seg.end));
            }
            if let Some(p) = self.period {
                // A full cycle without change and no leak: periodic and flat, nothing ever changes.
                if self.leak_per_sec == 0 && seg.end - scanned_since >= p {
                    return None;
                }
            }
            seg = following;
            u = 0;
        }
    }

    /// The first offset `t' ≥ from` where the value is at least `threshold`, or `None` if never.
    pub fn first_at_or_above(&self, from: SimDuration, threshold: i64) -> Option<SimDuration> {
        let mut t = from.as_nanos();
        if let (Some(p), true) = (self.period, self.leak_per_sec > 0) {
            // Skip whole cycles that cannot reach the threshold: in cycle c every value is at most
            // max_knot + leak·(c+1)·p/1e9.
            let gap = threshold as i128 - self.max_knot() as i128;
            if gap > 0 {
                let per_cycle = self.leak_per_sec as i128 * p as i128;
                let c = (gap * NANOS_PER_SEC / per_cycle - 1).max(0);
                let skip_to = u64::try_from(c.saturating_mul(p as i128)).unwrap_or(u64::MAX);
                t = t.max(skip_to);
            }
        }
        let mut seg = self.segment(t);
        let mut u = t - seg.start;
        let scan_start = seg.start;
        loop {
            if let Some(hit) = seg.first_at_or_above(u, threshold) {
                return Some(SimDuration::from_nanos(seg.start + hit));
            }
            if seg.end == u64::MAX {
                return None;
            }
            if let Some(p) = self.period {
                if self.leak_per_sec <= 0 && seg.end - scan_start >= p {
                    return None;
                }
            }
            seg = self.segment(seg.end);
            u = 0;
        }
    }

    /// The first offset `t' ≥ from` where the value exceeds `limit` (strictly).
    pub fn first_above(&self, from: SimDuration, limit: i64) -> Option<SimDuration> {
        self.first_at_or_above(from, limit.saturating_add(1))
    }
}

/// A sine with `knots_per_period` knots, rounded to integers and clamped at zero, joined
/// linearly. The sine is evaluated with IEEE-754 basic operations only (a fixed Taylor polynomial
/// after exact range reduction on the knot index), so the knot values are identical on every
/// platform; between knots the curve is exact integer arithmetic like every other [`Curve`].
pub fn diurnal(
    mean: i64,
    amplitude: i64,
    period: SimDuration,
    knots_per_period: u32,
) -> Result<Curve, CurveError> {
    // An even knot count keeps the half-turn reduction exact.
    let n = u64::from(knots_per_period.max(4)).next_multiple_of(2);
    let step = period.as_nanos() / n;
    if step == 0 {
        return Err(CurveError::ZeroPeriod);
    }
    let points: Vec<(SimDuration, i64)> = (0..n)
        .map(|k| {
            let s = sin_turn_fraction(k, n);
            let v = (mean as f64 + amplitude as f64 * s).round().max(0.0);
            (SimDuration::from_nanos(k * step), v as i64)
        })
        .collect();
    Curve::periodic(&points, Interpolation::Linear, SimDuration::from_nanos(step * n))
}

/// `sin(2π·k/n)` for even `n`, using only +, −, ×, ÷ (correctly rounded, hence
/// platform-independent).
fn sin_turn_fraction(k: u64, n: u64) -> f64 {
    let k = k % n;
    // Exact reduction on integers: second half-turn is the negated first; then fold to [0, π/2].
    let (m, sign) = if 2 * k <= n { (k, 1.0) } else { (k - n / 2, -1.0) };
    let x_frac = if 4 * m <= n { (4 * m) as f64 / n as f64 } else { (2 * n - 4 * m) as f64 / n as f64 };
    let x = x_frac * core::f64::consts::FRAC_PI_2;
    let x2 = x * x;
    // Taylor series to x^17: error < 1e-15 on [0, π/2].
    let mut term = x;
    let mut sum = x;
    for i in 1..=8u32 {
        let a = f64::from(2 * i);
        term = -term * x2 / (a * (a + 1.0));
        sum += term;
    }
    sign * sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }
    fn s(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    #[test]
    fn constant_never_changes_and_crosses_only_if_already_there() {
        let c = Curve::constant(200);
        assert_eq!(c.value_at(s(1000)), 200);
        assert_eq!(c.next_change_after(s(5)), None);
        assert_eq!(c.first_at_or_above(s(5), 200), Some(s(5)));
        assert_eq!(c.first_at_or_above(s(5), 201), None);
    }

    #[test]
    fn steps_hold_until_the_next_knot() {
        let c = Curve::from_points(&[(s(0), 100), (s(60), 100), (s(120), 500)], Interpolation::Hold).unwrap();
        assert_eq!(c.value_at(s(119)), 100);
        assert_eq!(c.value_at(s(120)), 500);
        // the knot at 60 s repeats the value: not a change
        assert_eq!(c.next_change_after(s(0)), Some(s(120)));
        assert_eq!(c.first_at_or_above(s(0), 101), Some(s(120)));
    }

    #[test]
    fn ramp_is_floored_and_changes_at_exact_integer_crossings() {
        // 0 → 1000 over 60 s: value(t) = floor(1000·t/60 s); value 1 first at 60 ms.
        let c = Curve::ramp(0, 1000, SimDuration::ZERO, s(60));
        assert_eq!(c.value_at(ms(59)), 0);
        assert_eq!(c.value_at(ms(60)), 1);
        assert_eq!(c.value_at(s(30)), 500);
        assert_eq!(c.value_at(s(61)), 1000);
        assert_eq!(c.next_change_after(SimDuration::ZERO), Some(ms(60)));
        // 750 first at 45 s exactly.
        assert_eq!(c.first_at_or_above(SimDuration::ZERO, 750), Some(s(45)));
        assert_eq!(c.first_at_or_above(SimDuration::ZERO, 1001), None);
    }

    #[test]
    fn a_leak_of_one_mebibyte_a_minute_reaches_the_limit_at_the_exact_nanosecond() {
        // base 200Mi, leak 1Mi/min = 1048576/60 B/s = 17476 B/s (integer leak rate, truncated).
        // Over 256Mi: need leak ≥ 56Mi + 1 = 58720257 B → t = ceil(58720257e9 / 17476) ns.
        let mi = 1 << 20;
        let c = Curve::constant(200 * mi).with_leak_per_sec(17476);
        let expect = (58_720_257u128 * 1_000_000_000).div_ceil(17476) as u64;
        assert_eq!(c.first_above(SimDuration::ZERO, 256 * mi), Some(SimDuration::from_nanos(expect)));
        assert_eq!(c.value_at(SimDuration::from_nanos(expect)), 256 * mi + 1);
        assert_eq!(c.value_at(SimDuration::from_nanos(expect - 1)), 256 * mi);
    }

    #[test]
    fn diurnal_peaks_at_a_quarter_period_and_repeats() {
        let c = diurnal(300, 200, SimDuration::from_hours(24), 96).unwrap();
        assert_eq!(c.value_at(SimDuration::ZERO), 300);
        assert_eq!(c.value_at(SimDuration::from_hours(6)), 500);
        assert_eq!(c.value_at(SimDuration::from_hours(12)), 300);
        assert_eq!(c.value_at(SimDuration::from_hours(18)), 100);
        assert_eq!(c.value_at(SimDuration::from_hours(30)), 500);
        // Knots every 15 min; 300 + 200·sin(2π·23/96) = 499.57 rounds to 500, so the plateau at the
        // peak starts one knot early: 5h45m into the next cycle.
        let peak_next_cycle = SimDuration::from_hours(29) + SimDuration::from_mins(45);
        assert_eq!(c.first_at_or_above(SimDuration::from_hours(7), 500), Some(peak_next_cycle));
        assert_eq!(c.first_at_or_above(SimDuration::ZERO, 501), None);
    }

    #[test]
    fn sine_knots_are_symmetric() {
        for k in 0..96u64 {
            let a = sin_turn_fraction(k, 96);
            let b = sin_turn_fraction(96 - k, 96);
            assert!((a + b).abs() < 1e-12, "k={k}: {a} {b}");
        }
        assert!((sin_turn_fraction(8, 96) - 0.5).abs() < 1e-14);
    }

    fn arb_curve() -> impl Strategy<Value = Curve> {
        (
            prop::collection::vec((1u64..50, -200i64..2000), 1..6),
            any::<bool>(),
            prop::option::of(0u64..3),
            -3_000_000i64..3_000_000,
        )
            .prop_map(|(steps, linear, periodic, leak)| {
                let mut t = 0;
                let pts: Vec<(SimDuration, i64)> = steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (dt, v))| {
                        if i > 0 {
                            t += dt;
                        }
                        (SimDuration::from_micros(t), v)
                    })
                    .collect();
                let interp = if linear { Interpolation::Linear } else { Interpolation::Hold };
                let c = match periodic {
                    Some(extra) => {
                        Curve::periodic(&pts, interp, SimDuration::from_micros(t + 1 + extra * 7)).unwrap()
                    }
                    None => Curve::from_points(&pts, interp).unwrap(),
                };
                c.with_leak_per_sec(leak)
            })
    }

    proptest! {
        /// The flat-segment shortcut answers exactly what the closed form does.
        #[test]
        fn held_values_equal_the_closed_form(c in arb_curve(), t in 0u64..400_000) {
            prop_assert_eq!(c.value_at(SimDuration::from_nanos(t)), c.segment_value_at(t));
            let flat = Curve { leak_per_sec: 0, ..c };
            prop_assert_eq!(flat.value_at(SimDuration::from_nanos(t)), flat.segment_value_at(t));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Oracle: step every nanosecond over a 400 µs window.
        #[test]
        fn crossing_and_change_queries_match_nanosecond_stepping(c in arb_curve(), from in 0u64..200_000, thr in -300i64..2500) {
            let horizon = 400_000u64;
            let stepped = (from..horizon).find(|&t| c.value_at(SimDuration::from_nanos(t)) >= thr);
            let fast = c.first_at_or_above(SimDuration::from_nanos(from), thr).map(|d| d.as_nanos());
            match stepped {
                Some(t) => prop_assert_eq!(fast, Some(t)),
                None => prop_assert!(fast.is_none_or(|t| t >= horizon), "fast {:?}", fast),
            }
            let v0 = c.value_at(SimDuration::from_nanos(from));
            let stepped = (from + 1..horizon).find(|&t| c.value_at(SimDuration::from_nanos(t)) != v0);
            let fast = c.next_change_after(SimDuration::from_nanos(from)).map(|d| d.as_nanos());
            match stepped {
                Some(t) => prop_assert_eq!(fast, Some(t)),
                None => prop_assert!(fast.is_none_or(|t| t >= horizon), "fast {:?}", fast),
            }
        }
    }

    #[test]
    fn a_constant_value_is_reported_only_for_curves_that_never_change() {
        assert_eq!(Curve::constant(7).constant_value(), Some(7));
        let same = Curve::periodic(&[(s(0), 5), (s(10), 5)], Interpolation::Linear, s(20)).unwrap();
        assert_eq!(same.constant_value(), Some(5));
        assert_eq!(Curve::constant(7).with_leak_per_sec(1).constant_value(), None);
        assert_eq!(Curve::ramp(0, 10, s(1), s(1)).constant_value(), None);
        let wave = Curve::periodic(&[(s(0), 5), (s(10), 6)], Interpolation::Hold, s(20)).unwrap();
        assert_eq!(wave.constant_value(), None);
    }

    proptest! {
        /// A constant curve has its value everywhere and never reaches anything above it.
        #[test]
        fn a_constant_value_holds_everywhere(c in arb_curve(), t in 0u64..400_000, up in 1i64..1000) {
            let flat = Curve { knots: vec![(0, c.knots[0].1)], leak_per_sec: 0, ..c.clone() };
            prop_assert_eq!(flat.constant_value(), Some(flat.knots[0].1));
            for curve in [c, flat] {
                if let Some(v) = curve.constant_value() {
                    let at = SimDuration::from_nanos(t);
                    prop_assert_eq!(curve.value_at(at), v);
                    prop_assert_eq!(curve.next_change_after(at), None);
                    prop_assert_eq!(curve.first_at_or_above(at, v + up), None);
                }
            }
        }
    }
}
