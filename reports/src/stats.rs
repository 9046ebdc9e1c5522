//! Descriptive statistics over repeated runs, and the `compare` table.
//!
//! # Definitions (documented because users compare our numbers with their own)
//!
//! * **mean**: the arithmetic mean, summed in input order.
//! * **standard deviation**: the *sample* standard deviation, `sqrt(Σ(x − mean)² / (n − 1))`
//!   (two-pass); undefined for `n = 1`.
//! * **95 % confidence interval half-width**: `t(0.975, n − 1) · s / sqrt(n)`, the Student-t
//!   interval for the mean of `n` independent runs; undefined for `n = 1` (no CI is printed).
//!   The quantile `t(0.975, ν)` comes from a table for `ν ≤ 30` (R's `qt(0.975, ν)`, checked in
//!   tests against numerical integration of the t density) and from the Cornish–Fisher expansion
//!   of the t quantile around the normal quantile to order `ν⁻⁴` for `ν > 30` (absolute error
//!   below 1e-6 there, also checked in tests). Only `+ − × ÷ sqrt` are used, all correctly
//!   rounded by IEEE 754, so results are bit-identical on every machine.
//! * **percentile (nearest rank)**: for `0 < p ≤ 100`, the smallest sample such that at least
//!   `p %` of the samples are ≤ it: sorted sample number `ceil(p/100 · n)` (1-based). `p = 0` gives
//!   the minimum. `p` is resolved to 0.001 and the rank is computed in integers, so `p99` of 100
//!   samples is exactly the 99th. No interpolation: every reported percentile is an observed value.
//!
//! # `compare.csv` (a contract)
//!
//! ```text
//! policy,metric,n,mean,ci95,min,max
//! default,pending_time_s,3,2,2.484137711750331,1,3
//! most-allocated,pending_time_s,1,5,,5,5
//! ```
//!
//! One row per (policy, metric) cell that has samples; policies, then metrics, in the order they
//! were first added (the order of `--policies` for `kubesim compare`). `n` is the number of runs,
//! `ci95` the half-width defined above (empty when `n = 1`), numbers in the shortest round-trip
//! form of [`crate::format::format_value`]. Same `\n`-terminated RFC 4180 CSV as `metrics.csv`.

use std::collections::BTreeMap;
use std::io::Write;

use crate::error::ReportError;
use crate::format::format_value;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// No samples at all.
    #[error("no samples{}", context_suffix(.context))]
    Empty {
        /// What the samples were (e.g. `policy default, metric pending_time_s`), or empty.
        context: String,
    },
    /// A sample is NaN or infinite.
    #[error("sample #{index} is {value} (not finite){}", context_suffix(.context))]
    NonFinite {
        /// 0-based position of the sample.
        index: usize,
        /// Its value.
        value: f64,
        /// What the samples were, or empty.
        context: String,
    },
    /// A percentile outside `[0, 100]` was asked for.
    #[error("percentile {0} is outside [0, 100]")]
    BadPercentile(f64),
}

fn context_suffix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" ({context})")
    }
}

/// Mean, spread and a 95 % confidence interval of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples (≥ 1).
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation; `None` when `n = 1`.
    pub std_dev: Option<f64>,
    /// Half-width of the 95 % Student-t confidence interval of the mean; `None` when `n = 1`.
    pub ci95: Option<f64>,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `samples`. Fails on an empty slice or a non-finite sample.
    pub fn of(samples: &[f64]) -> Result<Summary, StatsError> {
        check_samples(samples, "")?;
        let n = samples.len();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (std_dev, ci95) = if n >= 2 {
            let ss: f64 = samples.iter().map(|x| (x - mean) * (x - mean)).sum();
            let s = (ss / (n - 1) as f64).sqrt();
            let t = student_t_975(n as u64 - 1);
            (Some(s), Some(t * s / (n as f64).sqrt()))
        } else {
            (None, None)
        };
        Ok(Summary { n, mean, std_dev, ci95, min, max })
    }
}

fn check_samples(samples: &[f64], context: &str) -> Result<(), StatsError> {
    if samples.is_empty() {
        return Err(StatsError::Empty { context: context.to_string() });
    }
    if let Some((index, &value)) = samples.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StatsError::NonFinite { index, value, context: context.to_string() });
    }
    Ok(())
}

/// `t(0.975, ν)` for ν = 1..=30 (index ν − 1): R's `qt(0.975, ν)`.
const T_975: [f64; 30] = [
    12.706204736174698,
    4.302652729749464,
    3.182446305284263,
    2.7764451051977934,
    2.570581835636314,
    2.4469118511449666,
    2.3646242515927853,
    2.3060041352041662,
    2.2621571628540993,
    2.2281388519649385,
    2.200985160082949,
    2.1788128296634177,
    2.1603686564610127,
    2.1447866879169273,
    2.131449545559323,
    2.1199052992210112,
    2.1098155778331806,
    2.10092204024096,
    2.093024054408263,
    2.0859634472658364,
    2.079613844727662,
    2.0738730679040147,
    2.0686576104190406,
    2.0638985616280205,
    2.059538552753294,
    2.055529438642871,
    2.0518305164802833,
    2.048407141795244,
    2.045229642132703,
    2.0422724563012373,
];

/// The 0.975 quantile of the standard normal distribution.
const Z_975: f64 = 1.959963984540054;

/// The two-sided 95 % Student-t critical value `t(0.975, ν)` for `ν ≥ 1` degrees of freedom.
///
/// A table for `ν ≤ 30`; above, the Cornish–Fisher expansion to order `ν⁻⁴`. `ν = 0` has no
/// finite quantile and returns infinity.
pub fn student_t_975(degrees_of_freedom: u64) -> f64 {
    match degrees_of_freedom {
        0 => f64::INFINITY,
        1..=30 => T_975[degrees_of_freedom as usize - 1],
        _ => {
            let nu = degrees_of_freedom as f64;
            let z = Z_975;
            let z2 = z * z;
            let z3 = z2 * z;
            let z5 = z3 * z2;
            let z7 = z5 * z2;
            let z9 = z7 * z2;
            z + (z3 + z) / (4.0 * nu)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * nu * nu)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * nu * nu * nu)
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92160.0 * nu * nu * nu * nu)
        }
    }
}

/// The nearest-rank percentile `percent` (0–100) of `samples` (any order).
///
/// See the module docs for the definition. Fails on empty input, non-finite samples or a
/// percentile outside `[0, 100]`.
pub fn percentile(samples: &[f64], percent: f64) -> Result<f64, StatsError> {
    check_samples(samples, "")?;
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile_of_sorted(&sorted, percent)
}

/// [`percentile`] over samples already sorted ascending (cheaper for several percentiles).
pub fn percentile_of_sorted(sorted: &[f64], percent: f64) -> Result<f64, StatsError> {
    if !(0.0..=100.0).contains(&percent) {
        return Err(StatsError::BadPercentile(percent));
    }
    if sorted.is_empty() {
        return Err(StatsError::Empty { context: String::new() });
    }
    // p in thousandths of a percent, so the rank is integer arithmetic: ceil(p·n / 100 000).
    let p_milli = (percent * 1000.0).round() as u128;
    let n = sorted.len() as u128;
    let rank = (p_milli * n).div_ceil(100_000).max(1);
    Ok(sorted[(rank - 1) as usize])
}

/// Accumulates per-run samples into a policy × metric comparison.
#[derive(Debug, Clone, Default)]
pub struct ComparisonBuilder {
    policies: Vec<String>,
    metrics: Vec<String>,
    samples: BTreeMap<(usize, usize), Vec<f64>>,
}

fn position_or_push(list: &mut Vec<String>, name: &str) -> usize {
    match list.iter().position(|p| p == name) {
        Some(i) => i,
        None => {
            list.push(name.to_string());
            list.len() - 1
        }
    }
}

impl ComparisonBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a policy row up front, fixing its position even before it has samples.
    pub fn policy(&mut self, policy: &str) -> &mut Self {
        position_or_push(&mut self.policies, policy);
        self
    }

    /// Declares a metric column up front.
    pub fn metric(&mut self, metric: &str) -> &mut Self {
        position_or_push(&mut self.metrics, metric);
        self
    }

    /// Adds one run's value of `metric` under `policy`.
    pub fn add(&mut self, policy: &str, metric: &str, value: f64) -> &mut Self {
        let p = position_or_push(&mut self.policies, policy);
        let m = position_or_push(&mut self.metrics, metric);
        self.samples.entry((p, m)).or_default().push(value);
        self
    }

    /// Summarises every cell. Fails (naming the cell) if a sample is not finite.
    pub fn build(&self) -> Result<ComparisonTable, StatsError> {
        let mut cells = BTreeMap::new();
        for (&(p, m), samples) in &self.samples {
            let context = format!("policy {}, metric {}", self.policies[p], self.metrics[m]);
            check_samples(samples, &context)?;
            cells.insert((p, m), Summary::of(samples)?);
        }
        Ok(ComparisonTable { policies: self.policies.clone(), metrics: self.metrics.clone(), cells })
    }
}

/// Summaries per policy (rows) and metric (columns).
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonTable {
    policies: Vec<String>,
    metrics: Vec<String>,
    cells: BTreeMap<(usize, usize), Summary>,
}

/// The header of `compare.csv`.
pub const COMPARE_HEADER: [&str; 7] = ["policy", "metric", "n", "mean", "ci95", "min", "max"];

impl ComparisonTable {
    /// Policies in row order.
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// Metrics in column order.
    pub fn metrics(&self) -> &[String] {
        &self.metrics
    }

    /// The summary of one cell, if it has samples.
    pub fn cell(&self, policy: &str, metric: &str) -> Option<&Summary> {
        let p = self.policies.iter().position(|x| x == policy)?;
        let m = self.metrics.iter().position(|x| x == metric)?;
        self.cells.get(&(p, m))
    }

    /// `(policy, summary)` for every policy that has samples of `metric`, in row order.
    pub fn column(&self, metric: &str) -> Vec<(&str, Summary)> {
        let Some(m) = self.metrics.iter().position(|x| x == metric) else {
            return Vec::new();
        };
        self.policies
            .iter()
            .enumerate()
            .filter_map(|(p, name)| self.cells.get(&(p, m)).map(|s| (name.as_str(), *s)))
            .collect()
    }

    /// Writes `compare.csv` (format in the module docs).
    pub fn write_csv<W: Write>(&self, out: W) -> Result<W, ReportError> {
        let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        csv.write_record(COMPARE_HEADER)?;
        for (&(p, m), s) in &self.cells {
            csv.write_record([
                self.policies[p].as_str(),
                self.metrics[m].as_str(),
                &s.n.to_string(),
                &format_value(s.mean),
                &s.ci95.map(format_value).unwrap_or_default(),
                &format_value(s.min),
                &format_value(s.max),
            ])?;
        }
        csv.flush().map_err(|e| ReportError::io("compare.csv", e))?;
        csv.into_inner().map_err(|e| ReportError::io("compare.csv", e.into_error()))
    }

    /// A plain-text table for a terminal: one row per policy, one column per metric, cells
    /// `mean ± ci95` rounded so the CI shows two significant digits (`mean (n=1)` without a CI,
    /// `-` for no samples), columns padded to line up.
    pub fn to_terminal(&self) -> String {
        let mut grid: Vec<Vec<String>> = Vec::new();
        let mut header = vec!["policy".to_string()];
        header.extend(self.metrics.iter().cloned());
        grid.push(header);
        for (p, policy) in self.policies.iter().enumerate() {
            let mut row = vec![policy.clone()];
            for m in 0..self.metrics.len() {
                row.push(match self.cells.get(&(p, m)) {
                    Some(s) => format_mean_ci(s),
                    None => "-".to_string(),
                });
            }
            grid.push(row);
        }
        let columns = grid[0].len();
        let widths: Vec<usize> =
            (0..columns).map(|c| grid.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        let mut out = String::new();
        for (i, row) in grid.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, text)| {
                    let pad = widths[c] - text.chars().count();
                    if c == 0 {
                        format!("{text}{}", " ".repeat(pad))
                    } else {
                        format!("{}{text}", " ".repeat(pad))
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
        }
        out
    }
}

/// Decimal exponent `e` with `10^e ≤ x < 10^(e+1)`, for finite `x > 0`, without `log10` (whose
/// last bit may differ between platforms' libm).
fn decimal_exponent(x: f64) -> i32 {
    let mut x = x;
    let mut e = 0;
    while x >= 10.0 {
        x /= 10.0;
        e += 1;
    }
    while x < 1.0 {
        x *= 10.0;
        e -= 1;
    }
    e
}

/// `mean ± ci` for humans: the CI to two significant digits and the mean to the same decimals.
pub fn format_mean_ci(summary: &Summary) -> String {
    match summary.ci95 {
        Some(ci) if ci > 0.0 => {
            let decimals = (1 - decimal_exponent(ci)).clamp(0, 9) as usize;
            format!("{:.*} ± {:.*}", decimals, summary.mean, decimals, ci)
        }
        Some(_) => format!("{} ± 0", short(summary.mean)),
        None => format!("{} (n=1)", short(summary.mean)),
    }
}

/// Four significant digits, trailing zeros trimmed.
fn short(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let decimals = (3 - decimal_exponent(x.abs())).clamp(0, 9) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn summary_of_three_runs_matches_the_hand_computation() {
        // samples 1, 2, 3: mean 2, s² = (1 + 0 + 1) / 2 = 1, s = 1,
        // ci = t(0.975, 2) · 1 / √3 = 4.302652729749464 / 1.7320508075688772 = 2.484137711750331
        let s = Summary::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.n, 3);
        assert_eq!(s.mean, 2.0);
        assert_eq!(s.std_dev, Some(1.0));
        assert!((s.ci95.unwrap() - 2.484_137_711_750_331).abs() < 1e-12);
        assert_eq!((s.min, s.max), (1.0, 3.0));
    }

    #[test]
    fn a_single_run_has_no_spread_and_no_ci() {
        let s = Summary::of(&[5.0]).unwrap();
        assert_eq!((s.n, s.mean, s.std_dev, s.ci95), (1, 5.0, None, None));
    }

    #[test]
    fn empty_or_non_finite_samples_are_errors() {
        assert!(matches!(Summary::of(&[]), Err(StatsError::Empty { .. })));
        assert!(matches!(Summary::of(&[1.0, f64::NAN]), Err(StatsError::NonFinite { index: 1, .. })));
    }

    /// Density of Student's t with ν degrees of freedom; the gamma ratio is built exactly by
    /// recurrence from Γ(1/2) = √π and Γ(1) = 1, so no lgamma is needed.
    fn t_density(t: f64, nu: u64) -> f64 {
        // ratio = Γ((ν+1)/2) / Γ(ν/2)
        let mut ratio = if nu % 2 == 1 {
            1.0 / std::f64::consts::PI.sqrt() // Γ(1)/Γ(1/2)
        } else {
            std::f64::consts::PI.sqrt() / 2.0 // Γ(3/2)/Γ(1)
        };
        let mut k = if nu % 2 == 1 { 1 } else { 2 };
        while k < nu {
            // Γ((k+2+1)/2)/Γ((k+2)/2) = ratio_k · ((k+1)/2) / (k/2)
            ratio *= (k as f64 + 1.0) / k as f64;
            k += 2;
        }
        let nu_f = nu as f64;
        ratio / (nu_f * std::f64::consts::PI).sqrt() * (1.0 + t * t / nu_f).powf(-(nu_f + 1.0) / 2.0)
    }

    /// P(T ≤ t) by composite Simpson integration of the density from 0 to t.
    fn t_cdf_oracle(t: f64, nu: u64) -> f64 {
        let steps = 20_000;
        let h = t / steps as f64;
        let mut sum = t_density(0.0, nu) + t_density(t, nu);
        for i in 1..steps {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            sum += w * t_density(i as f64 * h, nu);
        }
        0.5 + sum * h / 3.0
    }

    #[test]
    fn the_t_table_gives_the_0975_quantile_for_every_tabulated_df() {
        for nu in 1..=30 {
            let p = t_cdf_oracle(student_t_975(nu), nu);
            assert!((p - 0.975).abs() < 1e-9, "df {nu}: P = {p}");
        }
    }

    #[test]
    fn the_expansion_beyond_the_table_is_accurate_to_a_millionth() {
        for nu in [31, 35, 40, 60, 100, 120, 500, 10_000] {
            let t = student_t_975(nu);
            // Convert a CDF error into a quantile error via the density at t.
            let err = (t_cdf_oracle(t, nu) - 0.975) / t_density(t, nu);
            assert!(err.abs() < 1e-6, "df {nu}: t = {t}, quantile error {err}");
        }
        // Continuity at the seam between the table and the expansion.
        assert!((student_t_975(30) - student_t_975(31)).abs() < 0.005);
        assert!(student_t_975(31) > student_t_975(32));
    }

    #[test]
    fn nearest_rank_percentiles_are_observed_values() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Ok(50.0));
        assert_eq!(percentile(&samples, 99.0), Ok(99.0));
        assert_eq!(percentile(&samples, 99.9), Ok(100.0));
        assert_eq!(percentile(&samples, 0.0), Ok(1.0));
        assert_eq!(percentile(&samples, 100.0), Ok(100.0));
        // Five samples: p50 → rank ceil(2.5) = 3; p99 → rank ceil(4.95) = 5.
        let five = [10.0, 40.0, 20.0, 50.0, 30.0];
        assert_eq!(percentile(&five, 50.0), Ok(30.0));
        assert_eq!(percentile(&five, 99.0), Ok(50.0));
        assert_eq!(percentile(&five, 20.0), Ok(10.0));
        assert_eq!(percentile(&five, 101.0), Err(StatsError::BadPercentile(101.0)));
    }

    fn example_table() -> ComparisonTable {
        let mut b = ComparisonBuilder::new();
        b.policy("default");
        for v in [1.0, 2.0, 3.0] {
            b.add("default", "pending_time_s", v);
        }
        b.add("most-allocated", "pending_time_s", 5.0);
        b.add("default", "nodes_used", 10.0).add("default", "nodes_used", 10.0);
        b.build().unwrap()
    }

    #[test]
    fn compare_csv_has_exactly_the_documented_bytes() {
        let bytes = example_table().write_csv(Vec::new()).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "policy,metric,n,mean,ci95,min,max\n\
             default,pending_time_s,3,2,2.484137711750331,1,3\n\
             default,nodes_used,2,10,0,10,10\n\
             most-allocated,pending_time_s,1,5,,5,5\n"
        );
    }

    #[test]
    fn terminal_table_lines_up_and_shows_mean_plus_minus_ci() {
        let text = example_table().to_terminal();
        assert_eq!(
            text,
            concat!(
                "policy          pending_time_s  nodes_used\n",
                "--------------  --------------  ----------\n",
                "default              2.0 ± 2.5      10 ± 0\n",
                "most-allocated         5 (n=1)           -\n",
            )
        );
    }

    #[test]
    fn cells_and_columns_are_found_by_name() {
        let t = example_table();
        assert_eq!(t.policies(), ["default", "most-allocated"]);
        assert_eq!(t.metrics(), ["pending_time_s", "nodes_used"]);
        assert_eq!(t.cell("most-allocated", "pending_time_s").unwrap().n, 1);
        assert!(t.cell("most-allocated", "nodes_used").is_none());
        assert_eq!(t.column("nodes_used").len(), 1);
    }

    #[test]
    fn a_non_finite_sample_names_its_cell() {
        let mut b = ComparisonBuilder::new();
        b.add("p", "m", f64::INFINITY);
        let err = b.build().unwrap_err().to_string();
        assert!(err.contains("policy p, metric m"), "{err}");
    }

    #[test]
    fn mean_ci_rounding_keeps_two_significant_digits_of_the_ci() {
        let s = |mean, ci| Summary { n: 5, mean, std_dev: None, ci95: Some(ci), min: 0.0, max: 0.0 };
        assert_eq!(format_mean_ci(&s(12.3456, 0.0432)), "12.346 ± 0.043");
        assert_eq!(format_mean_ci(&s(1234.5, 56.0)), "1234 ± 56");
        assert_eq!(format_mean_ci(&s(1234.5, 560.0)), "1234 ± 560");
    }

    proptest! {
        #[test]
        fn summary_bounds_hold(samples in proptest::collection::vec(-1e6f64..1e6, 1..50)) {
            let s = Summary::of(&samples).unwrap();
            prop_assert!(s.min <= s.mean + 1e-6 && s.mean <= s.max + 1e-6);
            if let Some(ci) = s.ci95 { prop_assert!(ci >= 0.0); }
            let p50 = percentile(&samples, 50.0).unwrap();
            prop_assert!(samples.contains(&p50));
            prop_assert!(s.min <= p50 && p50 <= s.max);
        }
    }
}
