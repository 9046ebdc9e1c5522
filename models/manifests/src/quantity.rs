//! Kubernetes resource quantities (`500m`, `1.5`, `128Mi`, `1G`, `1e3`), parsed exactly.
//!
//! Upstream (`k8s.io/apimachinery/pkg/api/resource`) keeps a quantity as an arbitrary-precision
//! decimal, but every parse rounds it **away from zero to a multiple of 10⁻⁹** (`inf.RoundUp` at
//! scale `Nano`: "if you want some resources, you should get some resources"). So the value is
//! always an integer number of nano-units, and [`Quantity`] stores exactly that integer in an
//! `i128` — no floating point anywhere. Binary-suffixed quantities (`Ki` … `Ei`) are capped at
//! 2⁶³−1 as upstream; decimal ones are not capped upstream, here they saturate at ±`i128::MAX`
//! nano-units (≈1.7·10²⁹), far beyond any resource amount.
//!
//! [`Quantity::milli_value`] and [`Quantity::value`] are upstream's `MilliValue()` / `Value()`:
//! they round a value that is not exact **away from zero** (up, for the positive amounts resources
//! use: cpu `0.0001` → 1 milli, memory `100m` → 1 byte) and saturate at the `i64` range.
//!
//! The grammar is upstream's scanner (`parseQuantityString`), quirks included: `1.` and `.5` are
//! numbers, and a number part with no digits at all (`-`, `.`, `Mi`) is zero.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

const NANOS_PER_UNIT: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Upstream's `maxAllowed` (2⁶³−1), the cap on binary-suffixed quantities, in nano-units.
const BINARY_CAP_NANOS: i128 = (i64::MAX as i128) * NANOS_PER_UNIT;

/// How a quantity was written; decides how it is formatted back (upstream `Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QuantityFormat {
    /// `12M`, `500m`, `1`: powers of 1000 with SI suffixes.
    #[default]
    DecimalSI,
    /// `12e6`: an explicit base-10 exponent.
    DecimalExponent,
    /// `12Mi`: powers of 1024.
    BinarySI,
}

/// Why a string is not a quantity. The message quotes the input.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// The text does not match upstream's grammar
    /// `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`.
    #[error("invalid quantity {0:?}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format(String),
    /// The suffix is not one of `n u m "" k M G T P E`, `Ki … Ei`, or `e<exponent>`.
    #[error("invalid quantity {0:?}: unable to parse quantity's suffix")]
    Suffix(String),
    /// The number part has no digits where upstream needs them.
    #[error("invalid quantity {0:?}: unable to parse numeric part of quantity")]
    Numeric(String),
}

/// An exact Kubernetes quantity: an integer count of 10⁻⁹ units plus the format it was written in.
///
/// Equality and ordering compare the amount only (`1Ki` == `1024`), as upstream's `Cmp`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// Decimal SI suffixes and their power of ten.
const DECIMAL_SUFFIXES: [(&str, i32); 10] =
    [("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];
/// Binary SI suffixes and their power of two.
const BINARY_SUFFIXES: [(&str, u32); 6] =
    [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)];

/// The pieces upstream's scanner cuts a quantity string into.
struct Scanned<'a> {
    negative: bool,
    /// Integer digits with leading zeros stripped (may be empty).
    num: &'a str,
    /// Fraction digits (may be empty).
    denom: &'a str,
    /// True if the number part (`value` upstream) contains at least one digit.
    has_digit: bool,
    suffix: &'a str,
}

fn scan(s: &str) -> Option<Scanned<'_>> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut negative = false;
    if let Some(&c) = b.first() {
        if c == b'-' {
            negative = true;
            pos = 1;
        } else if c == b'+' {
            pos = 1;
        }
    }
    let number_start = pos;
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = &s[num_start..pos];
    let mut denom = "";
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let d0 = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[d0..pos];
    }
    let has_digit = s[number_start..pos].bytes().any(|c| c.is_ascii_digit());
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return None;
    }
    Some(Scanned { negative, num, denom, has_digit, suffix: &s[suffix_start..] })
}

/// Upstream `suffixHandler.interpret`: the multiplier `10^exp10 · 2^exp2` and the format.
fn interpret_suffix(suffix: &str) -> Option<(i32, u32, QuantityFormat)> {
    if let Some(&(_, e)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((e, 0, QuantityFormat::DecimalSI));
    }
    if let Some(&(_, e)) = BINARY_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((0, e, QuantityFormat::BinarySI));
    }
    let rest = suffix.strip_prefix(['e', 'E'])?;
    if rest.is_empty() {
        return None;
    }
    // Go's strconv.ParseInt(…, 10, 64) then int32(): accepts a sign, wraps beyond 32 bits.
    let parsed: i64 = rest.parse().ok()?;
    Some((parsed as i32, 0, QuantityFormat::DecimalExponent))
}

/// `digits · 2^exp2 · 10^exp10` in nano-units, rounded away from zero, saturating at `i128::MAX`.
fn magnitude_nanos(digits: &[u8], exp2: u32, exp10: i64) -> i128 {
    let digits: Vec<u8> = digits.iter().copied().skip_while(|&d| d == 0).collect();
    if digits.is_empty() {
        return 0;
    }
    let n = digits.len() as i64;
    let k = exp10 + 9; // power of ten, in nano-units
    if k >= 0 && n + k > 40 {
        return i128::MAX; // ≥ 10^40 nano-units
    }
    if k < 0 && -k > n + 20 {
        return 1; // < 10^-1 nano-units even times 2^60 < 10^19: rounds up to one nano-unit
    }
    // Multiply the decimal digit vector by 2^exp2 (exp2 ≤ 60, so this stays small).
    let mut digits = digits;
    for _ in 0..exp2 {
        let mut carry = 0u8;
        for d in digits.iter_mut().rev() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.insert(0, carry);
        }
    }
    let (int_digits, frac_nonzero) = if k >= 0 {
        digits.extend(std::iter::repeat_n(0, k as usize));
        (&digits[..], false)
    } else {
        let q = (-k) as usize;
        let split = digits.len().saturating_sub(q);
        (&digits[..split], digits[split..].iter().any(|&d| d != 0))
    };
    let mut value: i128 = 0;
    for &d in int_digits {
        match value.checked_mul(10).and_then(|v| v.checked_add(i128::from(d))) {
            Some(v) => value = v,
            None => return i128::MAX,
        }
    }
    if frac_nonzero {
        value = value.saturating_add(1);
    }
    value
}

impl Quantity {
    /// Parses a quantity exactly as upstream `resource.ParseQuantity` (no whitespace trimming; the
    /// manifest loader trims as upstream's JSON decoding does).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::Format(text.to_string()));
        }
        let scanned = scan(text).ok_or_else(|| QuantityError::Format(text.to_string()))?;
        let (exp10, exp2, mut format) =
            interpret_suffix(scanned.suffix).ok_or_else(|| QuantityError::Suffix(text.to_string()))?;
        let scale = i64::from(exp10) - scanned.denom.len() as i64;
        // Upstream's slow path (scale finer than nano) re-parses the number part with inf.Dec,
        // which needs a digit.
        if !scanned.has_digit && exp2 == 0 && scale < -9 {
            return Err(QuantityError::Numeric(text.to_string()));
        }
        let digits: Vec<u8> = scanned.num.bytes().chain(scanned.denom.bytes()).map(|c| c - b'0').collect();
        let mut magnitude = magnitude_nanos(&digits, exp2, scale);
        if format == QuantityFormat::BinarySI {
            magnitude = magnitude.min(BINARY_CAP_NANOS);
            if magnitude > 0 && magnitude < NANOS_PER_UNIT {
                format = QuantityFormat::DecimalSI;
            }
        }
        let nanos = if scanned.negative { -magnitude } else { magnitude };
        Ok(Quantity { nanos, format })
    }

    /// A quantity of `nanos` 10⁻⁹ units.
    pub fn from_nanos(nanos: i128, format: QuantityFormat) -> Quantity {
        Quantity { nanos, format }
    }

    /// A whole number of units (`Value()` == `value`).
    pub fn from_value(value: i64, format: QuantityFormat) -> Quantity {
        Quantity { nanos: i128::from(value) * NANOS_PER_UNIT, format }
    }

    /// A number of thousandths (`MilliValue()` == `millis`), DecimalSI.
    pub fn from_millis(millis: i64) -> Quantity {
        Quantity { nanos: i128::from(millis) * NANOS_PER_MILLI, format: QuantityFormat::DecimalSI }
    }

    /// The exact amount in 10⁻⁹ units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format it was written in.
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Upstream `MilliValue()`: thousandths, rounded away from zero, saturating at the `i64` range.
    /// CPU is used in these units.
    pub fn milli_value(&self) -> i64 {
        scaled(self.nanos, NANOS_PER_MILLI)
    }

    /// Upstream `Value()`: whole units, rounded away from zero, saturating at the `i64` range.
    /// Memory, storage, pods and extended resources are used in these units.
    pub fn value(&self) -> i64 {
        scaled(self.nanos, NANOS_PER_UNIT)
    }

    /// The canonical string, as upstream `String()` emits for a parsed quantity: the largest
    /// suffix that loses no precision (`1.5` → `1500m`, `1.5Gi` → `1536Mi`).
    pub fn to_canonical_string(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == QuantityFormat::BinarySI
            && (self.nanos.abs() < 1024 * NANOS_PER_UNIT || self.nanos % NANOS_PER_UNIT != 0)
        {
            format = QuantityFormat::DecimalSI;
        }
        if format == QuantityFormat::BinarySI {
            let mut mantissa = self.nanos / NANOS_PER_UNIT;
            let mut exponent = 0usize;
            while mantissa % 1024 == 0 && exponent < BINARY_SUFFIXES.len() {
                mantissa /= 1024;
                exponent += 1;
            }
            let suffix = if exponent == 0 { "" } else { BINARY_SUFFIXES[exponent - 1].0 };
            return format!("{mantissa}{suffix}");
        }
        // Decimal: strip factors of ten, then lower the exponent to a multiple of three.
        let mut mantissa = self.nanos;
        let mut exponent: i32 = -9;
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        while exponent.rem_euclid(3) != 0 {
            mantissa *= 10;
            exponent -= 1;
        }
        if format == QuantityFormat::DecimalSI {
            if let Some((suffix, _)) = DECIMAL_SUFFIXES.iter().find(|(_, e)| *e == exponent) {
                return format!("{mantissa}{suffix}");
            }
        }
        if exponent == 0 {
            format!("{mantissa}")
        } else {
            format!("{mantissa}e{exponent}")
        }
    }
}

/// `nanos / per`, rounded away from zero, saturated to `i64`.
fn scaled(nanos: i128, per: i128) -> i64 {
    let q = nanos / per;
    let r = nanos % per;
    let q = if r > 0 {
        q + 1
    } else if r < 0 {
        q - 1
    } else {
        q
    };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn worked_cases_from_the_brief() {
        assert_eq!(q("500m").milli_value(), 500);
        assert_eq!(q("1.5").milli_value(), 1500); // 1.5 × 1000
        assert_eq!(q("128Mi").value(), 134_217_728); // 128 × 2^20
        assert_eq!(q("1G").value(), 1_000_000_000);
        assert_eq!(q("1e3").value(), 1000);
        // metrics-server reports nanocores: 250 000 000 n = 0.25 cores.
        assert_eq!(q("250000000n").milli_value(), 250);
    }

    #[test]
    fn inexact_values_round_away_from_zero() {
        assert_eq!(q("0.0001").milli_value(), 1); // 0.1 milli → 1
        assert_eq!(q("100m").value(), 1); // 0.1 byte → 1
        assert_eq!(q("1001m").value(), 2);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("-1n").milli_value(), -1);
        assert_eq!(q("-1.5").value(), -2);
        // Parsing itself rounds to nano-units: 10^-10 becomes 1n.
        assert_eq!(q("0.0000000001").nanos(), 1);
        assert_eq!(q("1e-20").nanos(), 1);
    }

    #[test]
    fn every_suffix_and_notation_parses() {
        let cases: [(&str, i128); 22] = [
            ("1n", 1),
            ("1u", 1_000),
            ("1m", 1_000_000),
            ("1", NANOS_PER_UNIT),
            ("1k", 1_000 * NANOS_PER_UNIT),
            ("1M", 1_000_000 * NANOS_PER_UNIT),
            ("1T", 1_000_000_000_000 * NANOS_PER_UNIT),
            ("1P", 1_000_000_000_000_000 * NANOS_PER_UNIT),
            ("1E", 1_000_000_000_000_000_000 * NANOS_PER_UNIT),
            ("1Ki", 1024 * NANOS_PER_UNIT),
            ("1Gi", (1 << 30) * NANOS_PER_UNIT),
            ("1Ti", (1 << 40) * NANOS_PER_UNIT),
            ("1Pi", (1 << 50) * NANOS_PER_UNIT),
            ("1Ei", (1 << 60) * NANOS_PER_UNIT),
            ("1.5E2", 150 * NANOS_PER_UNIT),
            ("1E+2", 100 * NANOS_PER_UNIT),
            ("15e-1", 1_500_000_000),
            (".5", 500_000_000),
            ("1.", NANOS_PER_UNIT),
            ("+2", 2 * NANOS_PER_UNIT),
            ("-0.1", -100_000_000),
            ("0.5Ki", 512 * NANOS_PER_UNIT),
        ];
        for (s, nanos) in cases {
            assert_eq!(q(s).nanos(), nanos, "{s}");
        }
    }

    #[test]
    fn upstream_scanner_quirks_are_kept() {
        // No digits in the number part means zero, as upstream's scanner.
        for s in ["-", "+", ".", "Mi", "m", "0", "000", "-0"] {
            assert_eq!(q(s).nanos(), 0, "{s}");
        }
        // … except where upstream's slow path needs a digit.
        assert_eq!(Quantity::parse("e-20"), Err(QuantityError::Numeric("e-20".into())));
    }

    #[test]
    fn malformed_strings_are_errors_that_quote_the_input() {
        for s in [
            "",
            "5x",
            "1K",
            "1i",
            "1e",
            "1m3",
            "1Mi ",
            " 1",
            "1.1.1",
            "abc",
            "1Gi2",
            "--1",
            "1e1.5",
            "1e99999999999999999999",
        ] {
            let err = Quantity::parse(s).expect_err(s);
            assert!(err.to_string().contains(&format!("{s:?}")), "{err}");
        }
    }

    #[test]
    fn binary_quantities_are_capped_at_int64_max() {
        assert_eq!(q("16Ei").value(), i64::MAX);
        assert_eq!(q("1.5Gi").value(), 1_610_612_736);
        assert_eq!(q("0.5Mi").value(), 524_288);
        // Decimal ones are not capped upstream; the i64 views saturate.
        assert_eq!(q("1e30").value(), i64::MAX);
        assert_eq!(q("-1e30").milli_value(), i64::MIN);
    }

    #[test]
    fn canonical_strings_match_upstream() {
        let cases = [
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1000", "1k"),
            ("1024", "1024"),
            ("1024Mi", "1Gi"),
            ("0.5Ki", "512"),
            ("1.1Ki", "1126400m"), // 1126.4 not an integer: shown decimal
            ("100m", "100m"),
            ("1e3", "1e3"),
            ("1500e-3", "1500e-3"),
            ("15e-1", "1500e-3"),
            ("0", "0"),
            ("-1.5", "-1500m"),
            ("250000000n", "250m"),
            ("1000E", "1e21"),
        ];
        for (input, canonical) in cases {
            assert_eq!(q(input).to_canonical_string(), canonical, "{input}");
        }
    }

    fn any_format() -> impl Strategy<Value = QuantityFormat> {
        prop_oneof![
            Just(QuantityFormat::DecimalSI),
            Just(QuantityFormat::DecimalExponent),
            Just(QuantityFormat::BinarySI),
        ]
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_back_the_same_amount(
            nanos in -(1i128 << 100)..(1i128 << 100), format in any_format()
        ) {
            let nanos = if format == QuantityFormat::BinarySI { nanos.clamp(-BINARY_CAP_NANOS, BINARY_CAP_NANOS) } else { nanos };
            let original = Quantity::from_nanos(nanos, format);
            let text = original.to_canonical_string();
            let parsed = Quantity::parse(&text).unwrap();
            prop_assert_eq!(parsed.nanos(), nanos, "{}", text);
            // The canonical form is a fixed point.
            prop_assert_eq!(parsed.to_canonical_string(), text);
        }

        #[test]
        fn milli_value_and_value_are_monotone(a in any::<i64>(), b in any::<i64>()) {
            let (lo, hi) = (Quantity::from_nanos(i128::from(a.min(b)), QuantityFormat::DecimalSI),
                            Quantity::from_nanos(i128::from(a.max(b)), QuantityFormat::DecimalSI));
            prop_assert!(lo.milli_value() <= hi.milli_value());
            prop_assert!(lo.value() <= hi.value());
        }

        #[test]
        fn parsing_integers_with_any_suffix_matches_arithmetic(
            n in 0i64..1_000_000, idx in 0usize..DECIMAL_SUFFIXES.len()
        ) {
            let (suffix, exp) = DECIMAL_SUFFIXES[idx];
            let parsed = Quantity::parse(&format!("{n}{suffix}")).unwrap();
            let expected = i128::from(n) * 10i128.pow((exp + 9) as u32);
            prop_assert_eq!(parsed.nanos(), expected);
        }

        #[test]
        fn parsing_never_panics(s in "[-+0-9.eEinumkKMGTP ]{0,24}") {
            let _ = Quantity::parse(&s);
        }
    }
}
