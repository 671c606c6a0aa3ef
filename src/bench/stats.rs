//! The statistics of a benchmark, pure: mean, standard deviation and a 95% confidence interval
//! from Student's t, percentiles, and Welch's t-test for comparing two runs whose iterations
//! have unequal variances (a busy machine widens one run's spread, not the other's).
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Two-sided significance level of every verdict and interval: 95%.
pub const ALPHA: f64 = 0.05;

/// A sample's summary over iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub sd: f64,
    /// The 95% confidence interval of the mean; `None` below two values.
    pub ci95: Option<(f64, f64)>,
}

/// The t quantile with `df` degrees of freedom that leaves `ALPHA / 2` in the upper tail.
pub fn t_critical(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(1.0 - ALPHA / 2.0))
        .unwrap_or(f64::NAN)
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (n - 1 in the denominator); 0 below two values.
pub fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64
}

pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len();
    let m = mean(values);
    let sd = variance(values).sqrt();
    let ci95 = (n >= 2).then(|| {
        let half = t_critical((n - 1) as f64) * sd / (n as f64).sqrt();
        (m - half, m + half)
    });
    Summary {
        n,
        mean: m,
        sd,
        ci95,
    }
}

/// The `q`-th percentile (0..=100) by linear interpolation between closest ranks (numpy's
/// default), so p50 of an even count is the midpoint of the middle two.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

pub fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// The outcome of Welch's test of `b` against `a`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Welch {
    /// `b.mean - a.mean`.
    pub delta: f64,
    /// The 95% confidence interval of `delta`.
    pub delta_ci95: (f64, f64),
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's unequal-variances t-test; `None` unless both sides have two or more values.
pub fn welch(a: &Summary, b: &Summary) -> Option<Welch> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let (va, vb) = (a.sd.powi(2) / a.n as f64, b.sd.powi(2) / b.n as f64);
    let delta = b.mean - a.mean;
    let se = (va + vb).sqrt();
    if se == 0.0 {
        // No spread at all: any difference is certain, none is certainly none.
        let p = if delta == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            delta,
            delta_ci95: (delta, delta),
            t: if delta == 0.0 { 0.0 } else { f64::INFINITY },
            df: (a.n + b.n - 2) as f64,
            p,
        });
    }
    let df = (va + vb).powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
    let t = delta / se;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = 2.0 * (1.0 - dist.cdf(t.abs()));
    let half = t_critical(df) * se;
    Some(Welch {
        delta,
        delta_ci95: (delta - half, delta + half),
        t,
        df,
        p,
    })
}

/// Counts of `values` in `bins` equal-width bins from the minimum to the maximum: (lower edge,
/// count). Empty for no finite values; one bin when every value is the same.
pub fn histogram(values: &[f64], bins: usize) -> Vec<(f64, usize)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || bins == 0 {
        return Vec::new();
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi <= lo {
        return vec![(lo, finite.len())];
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in finite {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (lo + i as f64 * width, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn summary_of_a_known_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7.
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s.n, 8);
        assert!(close(s.mean, 5.0, 1e-12));
        assert!(close(s.sd, (32.0f64 / 7.0).sqrt(), 1e-12));
        // t(0.975, 7) = 2.364624; half width = 2.364624 * 2.138090 / sqrt(8) = 1.787492.
        let (lo, hi) = s.ci95.unwrap();
        assert!(close(lo, 5.0 - 1.787_492, 1e-5), "{lo}");
        assert!(close(hi, 5.0 + 1.787_492, 1e-5), "{hi}");
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert!(close(t_critical(1.0), 12.706_205, 1e-5));
        assert!(close(t_critical(4.0), 2.776_445, 1e-5));
        assert!(close(t_critical(30.0), 2.042_272, 1e-5));
    }

    #[test]
    fn one_value_has_no_interval() {
        let s = summarize(&[3.5]);
        assert_eq!((s.mean, s.sd, s.ci95), (3.5, 0.0, None));
        assert!(summarize(&[]).mean.is_nan());
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(percentile(&v, 50.0), 35.0);
        assert!(close(percentile(&v, 95.0), 48.0, 1e-12));
        assert!(close(percentile(&v, 99.0), 49.6, 1e-12));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 100.0), 4.0);
        assert_eq!(max(&[1.0, 7.0, 3.0]), 7.0);
    }

    #[test]
    fn welch_matches_a_worked_example() {
        // The figures of scipy.stats.ttest_ind(b, a, equal_var=False) on the same samples.
        let a = summarize(&[10.0, 11.0, 12.0, 13.0]);
        let b = summarize(&[12.0, 13.0, 14.0, 15.0]);
        let w = welch(&a, &b).unwrap();
        assert!(close(w.delta, 2.0, 1e-12));
        // Equal variances (5/3) and sizes: df = 2n - 2 = 6, se = sqrt(2 * (5/3) / 4).
        assert!(close(w.df, 6.0, 1e-9));
        let se = (2.0 * (5.0 / 3.0) / 4.0f64).sqrt();
        assert!(close(w.t, 2.0 / se, 1e-9));
        // t = 2.190890 with 6 df: two-sided p = 0.0709877 (integrating the t density numerically).
        assert!(close(w.p, 0.070_987_7, 1e-6), "{}", w.p);
        let half = 2.446_912 * se;
        assert!(close(w.delta_ci95.0, 2.0 - half, 1e-5));
    }

    #[test]
    fn welch_with_unequal_variances() {
        let a = summarize(&[20.0, 20.5, 19.5, 20.2, 19.8]);
        let b = summarize(&[25.0, 15.0, 30.0, 10.0, 22.0]);
        let w = welch(&a, &b).unwrap();
        // Welch–Satterthwaite pulls df towards the noisy side's n - 1 = 4.
        assert!(w.df > 4.0 && w.df < 4.1, "{}", w.df);
        assert!(
            w.p > 0.5,
            "a wide sample does not differ significantly: {}",
            w.p
        );
    }

    #[test]
    fn histograms_bin_from_min_to_max() {
        let h = histogram(&[1.0, 2.0, 2.5, 3.0, 5.0, f64::NAN], 4);
        // Bins [1,2) [2,3) [3,4) [4,5]: the maximum falls in the last.
        assert_eq!(h, [(1.0, 1), (2.0, 2), (3.0, 1), (4.0, 1)]);
        assert_eq!(histogram(&[7.0, 7.0], 5), [(7.0, 2)]);
        assert!(histogram(&[], 5).is_empty());
    }

    #[test]
    fn welch_without_spread() {
        let a = summarize(&[1.0, 1.0]);
        let b = summarize(&[2.0, 2.0]);
        assert_eq!(welch(&a, &b).unwrap().p, 0.0);
        assert_eq!(welch(&a, &a).unwrap().p, 1.0);
        assert!(welch(&summarize(&[1.0]), &b).is_none());
    }
}
