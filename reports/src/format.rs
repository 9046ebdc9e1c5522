//! Exact, platform-independent text for times and values.
//!
//! Every number this crate writes goes through one of these two functions, so that the same
//! simulation produces the same bytes on every machine:
//!
//! * [`format_time_s`] prints integer nanoseconds as decimal seconds with no float on the path:
//!   `15`, `15.25`, `0.000000001`.
//! * [`format_value`] prints an `f64` in the shortest form that parses back to the same bits
//!   (Rust's own formatter, implemented in `core`, not the platform libc), integers without a
//!   decimal point, and scientific notation outside `[1e-5, 1e16)`.

use sim_core::SimTime;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Seconds since the start of the run, exactly: whole seconds, then up to nine decimals with
/// trailing zeros removed (`15`, `15.25`, `90.000000001`).
pub fn format_time_s(time: SimTime) -> String {
    let nanos = time.as_nanos();
    let whole = nanos / NANOS_PER_SEC;
    let frac = nanos % NANOS_PER_SEC;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses the text [`format_time_s`] writes (and any plain decimal with at most nine decimals)
/// back to exact nanoseconds, without floating point. Returns a message on malformed input.
pub fn parse_time_s(text: &str) -> Result<SimTime, String> {
    let text = text.trim();
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) {
        return Err(format!("`{text}` is not a non-negative decimal number of seconds"));
    }
    if frac.len() > 9 {
        return Err(format!("`{text}` has more than nine decimals (finer than a nanosecond)"));
    }
    let whole: u64 = whole.parse().map_err(|_| format!("`{text}` is too large"))?;
    let mut frac_nanos: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_nanos += u64::from(b - b'0') * 10u64.pow(8 - i as u32);
    }
    whole
        .checked_mul(NANOS_PER_SEC)
        .and_then(|n| n.checked_add(frac_nanos))
        .map(SimTime::from_nanos)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// The shortest text that reads back as the same `f64`.
///
/// * integers of magnitude below 2^53 print without a decimal point (`3`, `-12`);
/// * other values in `[1e-5, 1e16)` print in plain decimal (`0.1`, `2.5`);
/// * anything smaller or larger prints in scientific notation (`1e-7`, `1.5e20`);
/// * `-0` prints as `0`; not-a-number prints `NaN`, infinities `inf` and `-inf` (the spellings
///   pandas, R and gnuplot all read).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs();
    const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && magnitude < TWO_POW_53 {
        // Exact: the value is an integer that i64 holds.
        return format!("{}", value as i64);
    }
    if (1e-5..1e16).contains(&magnitude) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// Parses a value written by [`format_value`] (or any float spelling Rust accepts, plus `NaN`,
/// `inf`, `-inf`).
pub fn parse_value(text: &str) -> Result<f64, String> {
    let text = text.trim();
    match text {
        "NaN" | "nan" => Ok(f64::NAN),
        "inf" | "+inf" | "Inf" => Ok(f64::INFINITY),
        "-inf" | "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text.parse::<f64>().map_err(|_| format!("`{text}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn times_print_as_exact_decimal_seconds() {
        assert_eq!(format_time_s(SimTime::ZERO), "0");
        assert_eq!(format_time_s(SimTime::from_secs(15)), "15");
        assert_eq!(format_time_s(SimTime::from_millis(15_250)), "15.25");
        assert_eq!(format_time_s(SimTime::from_nanos(1)), "0.000000001");
        assert_eq!(format_time_s(SimTime::from_nanos(90_000_000_001)), "90.000000001");
    }

    #[test]
    fn time_text_parses_back_exactly_and_rejects_junk() {
        assert_eq!(parse_time_s("15.25"), Ok(SimTime::from_millis(15_250)));
        assert_eq!(parse_time_s("7"), Ok(SimTime::from_secs(7)));
        assert!(parse_time_s("-1").is_err());
        assert!(parse_time_s("1.0000000001").is_err());
        assert!(parse_time_s("1e3").is_err());
        assert!(parse_time_s("").is_err());
        assert!(parse_time_s("99999999999999999999").is_err());
    }

    #[test]
    fn values_print_in_shortest_round_trip_form() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(-12.0), "-12");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_value(2.5), "2.5");
        assert_eq!(format_value(1e-7), "1e-7");
        assert_eq!(format_value(1.5e20), "1.5e20");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-inf");
    }

    proptest! {
        #[test]
        fn every_finite_value_round_trips_bit_for_bit(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assume!(value.is_finite());
            let text = format_value(value);
            let back = parse_value(&text).unwrap();
            // -0 is normalised to 0 on purpose.
            if value == 0.0 {
                prop_assert_eq!(back, 0.0);
            } else {
                prop_assert_eq!(back.to_bits(), value.to_bits(), "{} -> {}", value, text);
            }
        }

        #[test]
        fn every_time_round_trips(nanos in any::<u64>()) {
            let t = SimTime::from_nanos(nanos);
            prop_assert_eq!(parse_time_s(&format_time_s(t)), Ok(t));
        }
    }
}
