//! Exact decimal arithmetic for unit conversions, and object-name sanitising.
//!
//! Trace values such as `3.18` (normalised memory) or `0.0245` (Google NCU) are parsed as exact
//! decimals `mantissa / 10^scale` and scaled with integer arithmetic, so a conversion never
//! depends on float rounding. Requests round **up** (as Kubernetes quantities do), capacities
//! round **down** (never invent capacity), usage samples round to the **nearest** unit (halves up).

use sim_core::SimDuration;

/// An exact decimal `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// How a scaled decimal becomes an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Round {
    Up,
    Down,
    Nearest,
}

const MAX_SCALE: u32 = 30;

impl Decimal {
    /// Parses `12`, `-1`, `3.18`, `.5`, `1e-5`, `2.5E3`.
    pub(crate) fn parse(text: &str) -> Result<Decimal, String> {
        let bad = || format!("expected a number, found {text:?}");
        let s = text.trim();
        let (body, exp) = match s.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = s[i + 1..].parse().map_err(|_| bad())?;
                (&s[..i], e)
            }
            None => (s, 0),
        };
        let (neg, digits) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body.strip_prefix('+').unwrap_or(body)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or_else(|| format!("number too long: {text:?}"))?;
        }
        let mut scale = frac_part.len() as i64 - i64::from(exp);
        while scale < 0 {
            mantissa = mantissa.checked_mul(10).ok_or_else(|| format!("number too large: {text:?}"))?;
            scale += 1;
        }
        if scale > i64::from(MAX_SCALE) {
            return Err(format!("too many decimal places: {text:?}"));
        }
        Ok(Decimal { mantissa: if neg { -mantissa } else { mantissa }, scale: scale as u32 })
    }

    /// The exact decimal of a float, via its shortest round-trip text (what JSON readers give).
    pub(crate) fn from_f64(v: f64) -> Result<Decimal, String> {
        if !v.is_finite() {
            return Err(format!("not a finite number: {v}"));
        }
        Decimal::parse(&format!("{v}"))
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// `self × num / den`, rounded as asked; `None` on overflow.
    pub(crate) fn scale(&self, num: i128, den: i128, round: Round) -> Option<i64> {
        let n = self.mantissa.checked_mul(num)?;
        let d = den.checked_mul(10i128.checked_pow(self.scale)?)?;
        let v = match round {
            Round::Down => n.div_euclid(d),
            Round::Up => -((-n).div_euclid(d)),
            Round::Nearest => (n.checked_mul(2)?.checked_add(d)?).div_euclid(d.checked_mul(2)?),
        };
        i64::try_from(v).ok()
    }

    /// The value as an integer when it has no fractional part.
    #[cfg(test)]
    pub(crate) fn as_integer(&self) -> Option<i64> {
        let p = 10i128.checked_pow(self.scale)?;
        (self.mantissa % p == 0).then(|| i64::try_from(self.mantissa / p).ok()).flatten()
    }
}

/// Seconds (`90`, `1.5`) or a duration with units (`90s`, `1h30m`, `250ms`).
pub(crate) fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return format!("{t}s").parse::<SimDuration>().map_err(|e| e.to_string());
    }
    t.parse::<SimDuration>().map_err(|e| e.to_string())
}

/// A Kubernetes-style object name from a trace id: lowercase, `[a-z0-9.-]`, other characters
/// become `-` (Alibaba ids such as `c_12` or `M5_3_4` carry underscores and capitals).
pub(crate) fn object_name(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() {
        out.push('x');
    }
    out
}

/// Mebibytes → bytes.
pub(crate) const MIB: i64 = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_in_all_spellings() {
        assert_eq!(Decimal::parse("3.18").unwrap(), Decimal { mantissa: 318, scale: 2 });
        assert_eq!(Decimal::parse("1e-5").unwrap(), Decimal { mantissa: 1, scale: 5 });
        assert_eq!(Decimal::parse("2.5E3").unwrap().as_integer(), Some(2500));
        assert_eq!(Decimal::parse("-1").unwrap().as_integer(), Some(-1));
        assert_eq!(Decimal::parse(".5").unwrap(), Decimal { mantissa: 5, scale: 1 });
        assert!(Decimal::parse("abc").is_err());
        assert!(Decimal::parse("").is_err());
        assert!(Decimal::parse("1.2.3").is_err());
    }

    #[test]
    fn scaling_rounds_up_down_or_to_nearest() {
        // 3.18 % of 100 GiB: 3.18 × 1073741824 = 3414499000.32 bytes.
        let d = Decimal::parse("3.18").unwrap();
        assert_eq!(d.scale(107_374_182_400, 100, Round::Up), Some(3_414_499_001));
        assert_eq!(d.scale(107_374_182_400, 100, Round::Down), Some(3_414_499_000));
        assert_eq!(d.scale(107_374_182_400, 100, Round::Nearest), Some(3_414_499_000));
        assert_eq!(Decimal::parse("0.5").unwrap().scale(1, 1, Round::Nearest), Some(1));
    }

    #[test]
    fn floats_convert_through_their_shortest_text() {
        assert_eq!(Decimal::from_f64(0.1).unwrap(), Decimal { mantissa: 1, scale: 1 });
        assert_eq!(Decimal::from_f64(1.2e-5).unwrap().scale(1_000_000, 1, Round::Nearest), Some(12));
    }

    #[test]
    fn durations_accept_bare_seconds_or_units() {
        assert_eq!(parse_duration("90").unwrap(), SimDuration::from_secs(90));
        assert_eq!(parse_duration("1.5").unwrap(), SimDuration::from_millis(1500));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_mins(90));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn trace_ids_become_object_names() {
        assert_eq!(object_name("M5_3_4"), "m5-3-4");
        assert_eq!(object_name("c_12"), "c-12");
        assert_eq!(object_name(""), "x");
    }
}
