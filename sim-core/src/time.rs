//! Integer simulated time.
//!
//! [`SimTime`] is an instant on the simulation clock and [`SimDuration`] a span between two instants;
//! both count whole nanoseconds in a `u64` (enough for 584 years of simulated time). There is no
//! floating point anywhere on this path, so "same time" is never a rounding question.
//!
//! Durations parse from the human forms scenario files use — `250ms`, `90s`, `1h30m`, `2d`,
//! `1.5s` — and display in the same compact form, so `parse(display(d)) == d` for every `d`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

/// A span of simulated time in whole nanoseconds.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

/// An instant of simulated time: nanoseconds since the start of the run.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimDuration {
    /// The empty span.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span; used as "never".
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }
    /// A span of `micros` microseconds (saturating).
    pub const fn from_micros(micros: u64) -> Self {
        SimDuration(micros.saturating_mul(NANOS_PER_MICRO))
    }
    /// A span of `millis` milliseconds (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis.saturating_mul(NANOS_PER_MILLI))
    }
    /// A span of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// A span of `mins` minutes (saturating).
    pub const fn from_mins(mins: u64) -> Self {
        SimDuration(mins.saturating_mul(NANOS_PER_MIN))
    }
    /// A span of `hours` hours (saturating).
    pub const fn from_hours(hours: u64) -> Self {
        SimDuration(hours.saturating_mul(NANOS_PER_HOUR))
    }
    /// A span of `days` days (saturating).
    pub const fn from_days(days: u64) -> Self {
        SimDuration(days.saturating_mul(NANOS_PER_DAY))
    }
    /// Whole nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole milliseconds, truncated.
    pub const fn as_millis(self) -> u64 {
        self.0 / NANOS_PER_MILLI
    }
    /// Whole seconds, truncated.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// Seconds as a float, for reports only (never feed this back into the simulation).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// `self + rhs`, or `None` on overflow.
    pub const fn checked_add(self, rhs: SimDuration) -> Option<SimDuration> {
        match self.0.checked_add(rhs.0) {
            Some(n) => Some(SimDuration(n)),
            None => None,
        }
    }
    /// `self + rhs`, clamped at [`SimDuration::MAX`].
    pub const fn saturating_add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
    /// `self - rhs`, clamped at zero.
    pub const fn saturating_sub(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(rhs.0))
    }
    /// `self × k`, clamped at [`SimDuration::MAX`].
    pub const fn saturating_mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }
    /// True for the empty span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The last representable instant; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }
    /// The instant `secs` seconds after the start (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        SimTime(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// The instant `millis` milliseconds after the start (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        SimTime(millis.saturating_mul(NANOS_PER_MILLI))
    }
    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole seconds since the start, truncated.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// Seconds since the start as a float, for reports only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Time elapsed since the start of the run.
    pub const fn since_start(self) -> SimDuration {
        SimDuration(self.0)
    }
    /// `self - earlier`, clamped at zero when `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// `self + d`, or `None` past [`SimTime::MAX`].
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(n) => Some(SimTime(n)),
            None => None,
        }
    }
    /// `self + d`, clamped at [`SimTime::MAX`].
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// `self - d`, clamped at the start.
    pub const fn saturating_sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Panics on overflow past [`SimTime::MAX`], like integer addition in debug builds; use
    /// [`SimTime::checked_add`] where the operand comes from user input.
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.checked_add(rhs.0).expect("SimTime overflow"))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}
impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.checked_sub(rhs.0).expect("SimTime before the start of the run"))
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        SimDuration(self.0.checked_sub(rhs.0).expect("negative SimDuration"))
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.checked_add(rhs.0).expect("SimDuration overflow"))
    }
}
impl AddAssign for SimDuration {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.checked_sub(rhs.0).expect("negative SimDuration"))
    }
}
impl SubAssign for SimDuration {
    fn sub_assign(&mut self, rhs: SimDuration) {
        *self = *self - rhs;
    }
}

/// A duration string that could not be parsed. The message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (expected e.g. \"250ms\", \"90s\", \"1h30m\", \"2d\")")]
pub struct ParseDurationError {
    /// The string as given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// Units accepted by [`SimDuration::from_str`], longest suffix first so `ms` is not read as `m`.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", NANOS_PER_MICRO),
    ("µs", NANOS_PER_MICRO),
    ("ms", NANOS_PER_MILLI),
    ("s", NANOS_PER_SEC),
    ("m", NANOS_PER_MIN),
    ("h", NANOS_PER_HOUR),
    ("d", NANOS_PER_DAY),
];

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Parses a sequence of `<number><unit>` terms (`1h30m`, `1.5s`, `250ms`). A bare `0` is
    /// accepted; any other number needs a unit. Fractions are exact down to the nanosecond and
    /// must not go finer (`0.5ns` is an error).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseDurationError { input: input.to_string(), reason };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty string"));
        }
        if s == "0" {
            return Ok(SimDuration::ZERO);
        }
        if s.starts_with('-') {
            return Err(err("durations cannot be negative"));
        }
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            if num_len == 0 {
                return Err(err("expected a number"));
            }
            let (number, after) = rest.split_at(num_len);
            let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
            let (unit, next) = after.split_at(unit_len);
            if unit.is_empty() {
                return Err(err("missing unit"));
            }
            let scale = UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, scale)| *scale)
                .ok_or_else(|| err("unknown unit (use ns, us, ms, s, m, h or d)"))?;
            let nanos = scale_decimal(number, scale).map_err(err)?;
            total = total.checked_add(nanos).ok_or_else(|| err("too large"))?;
            rest = next;
        }
        Ok(SimDuration(total))
    }
}

/// `number × scale` for a decimal `number` such as `1.25`, exactly, in integers.
fn scale_decimal(number: &str, scale: u64) -> Result<u64, &'static str> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') {
        return Err("a number has more than one decimal point");
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err("expected a number");
    }
    let int_value: u64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| "too large")? };
    let mut nanos = int_value.checked_mul(scale).ok_or("too large")?;
    // Fraction: walk the digits, each worth scale / 10^k; any remainder finer than 1 ns is an error.
    let mut place = scale;
    for digit in frac_part.bytes() {
        let d = u64::from(digit - b'0');
        if place % 10 != 0 {
            if d != 0 {
                return Err("finer than one nanosecond");
            }
            continue;
        }
        place /= 10;
        nanos = nanos.checked_add(d * place).ok_or("too large")?;
    }
    Ok(nanos)
}

impl fmt::Display for SimDuration {
    /// Compact form: `0s`, `250ms`, `1h30m`, `2d3h`, `1.5s`. Whole days, hours and minutes are
    /// spelled as such; the remainder below a minute is written in seconds with as many decimals
    /// as needed (or in ms/us/ns when under a second), so the text parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = self.0;
        if n == 0 {
            return f.write_str("0s");
        }
        let mut out = String::new();
        for (unit, scale) in [("d", NANOS_PER_DAY), ("h", NANOS_PER_HOUR), ("m", NANOS_PER_MIN)] {
            if n >= scale {
                out.push_str(&format!("{}{}", n / scale, unit));
                n %= scale;
            }
        }
        if n > 0 {
            if n >= NANOS_PER_SEC || !out.is_empty() {
                out.push_str(&decimal(n, NANOS_PER_SEC, 9));
                out.push('s');
            } else if n % NANOS_PER_MILLI == 0 {
                out.push_str(&format!("{}ms", n / NANOS_PER_MILLI));
            } else if n % NANOS_PER_MICRO == 0 {
                out.push_str(&format!("{}us", n / NANOS_PER_MICRO));
            } else {
                out.push_str(&format!("{n}ns"));
            }
        }
        f.write_str(&out)
    }
}

/// `n / scale` written with up to `digits` decimals and no trailing zeros.
fn decimal(n: u64, scale: u64, digits: usize) -> String {
    let whole = n / scale;
    let frac = n % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let frac_text = format!("{frac:0digits$}");
    format!("{whole}.{}", frac_text.trim_end_matches('0'))
}

impl fmt::Debug for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SimTime {
    /// Seconds since the start with nanosecond precision, e.g. `t=90.25s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}s", decimal(self.0, NANOS_PER_SEC, 9))
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    /// Accepts a human string (`"90s"`) or a bare integer meaning seconds (as Kubernetes fields such
    /// as `periodSeconds` do).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Secs(s) => Ok(SimDuration::from_secs(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for SimTime {
    /// Serialized as integer nanoseconds: exact, and cheap to compare in logs.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> SimDuration {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_forms_scenarios_use() {
        assert_eq!(d("250ms"), SimDuration::from_millis(250));
        assert_eq!(d("90s"), SimDuration::from_secs(90));
        assert_eq!(d("1h30m"), SimDuration::from_mins(90));
        assert_eq!(d("2d"), SimDuration::from_days(2));
        assert_eq!(d("1.5s"), SimDuration::from_millis(1500));
        assert_eq!(d("0.001ms"), SimDuration::from_nanos(1000));
        assert_eq!(d("10us"), SimDuration::from_micros(10));
        assert_eq!(d("7ns"), SimDuration::from_nanos(7));
        assert_eq!(d("0"), SimDuration::ZERO);
        assert_eq!(d("1d2h3m4s5ms"), SimDuration::from_millis(((26 * 60 + 3) * 60 + 4) * 1000 + 5));
        assert_eq!(d(" 5m "), SimDuration::from_mins(5));
    }

    #[test]
    fn bad_strings_are_errors_that_quote_the_input() {
        for bad in ["", "5", "abc", "5x", "-5s", "1.2.3s", "0.5ns", "s", "99999999999999999999d"] {
            let e = bad.parse::<SimDuration>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn display_is_compact_and_round_trips() {
        assert_eq!(SimDuration::ZERO.to_string(), "0s");
        assert_eq!(d("250ms").to_string(), "250ms");
        assert_eq!(d("90s").to_string(), "1m30s");
        assert_eq!(d("1h30m").to_string(), "1h30m");
        assert_eq!(d("2d").to_string(), "2d");
        assert_eq!(d("1.5s").to_string(), "1.5s");
        assert_eq!(d("1m0.25s").to_string(), "1m0.25s");
        for n in [1u64, 999, 1_000, 1_000_001, 59_999_999_999, 86_400_000_000_001, u64::MAX] {
            let x = SimDuration::from_nanos(n);
            assert_eq!(x.to_string().parse::<SimDuration>().unwrap(), x, "{x}");
        }
    }

    #[test]
    fn time_arithmetic_is_exact() {
        let t = SimTime::from_secs(10) + d("250ms");
        assert_eq!(t.as_nanos(), 10_250_000_000);
        assert_eq!(t - SimTime::from_secs(10), d("250ms"));
        assert_eq!(t.to_string(), "t=10.25s");
        assert_eq!(SimTime::from_secs(1).saturating_duration_since(SimTime::from_secs(2)), SimDuration::ZERO);
        assert_eq!(SimTime::MAX.checked_add(SimDuration::from_nanos(1)), None);
    }

    #[test]
    fn deserializes_strings_and_integer_seconds() {
        let v: SimDuration = serde_json::from_str("\"1h\"").unwrap();
        assert_eq!(v, SimDuration::from_hours(1));
        let v: SimDuration = serde_json::from_str("30").unwrap();
        assert_eq!(v, SimDuration::from_secs(30));
        assert!(serde_json::from_str::<SimDuration>("\"3 parsecs\"").is_err());
    }
}
