//! Comparing two runs metric by metric: the delta with its 95% confidence interval (Welch), a
//! verdict, and whether run B is a regression against run A. A regression needs both: a
//! significant worsening (p < 0.05) of a gating metric, and one larger than a threshold in percent,
//! because with many iterations even a 0.5% difference on a quiet machine becomes "significant"
//! and would make CI flaky.
use serde::Serialize;

use super::record::{Better, RunRecord, METRICS};
use super::stats::{summarize, welch, Summary, ALPHA};

/// The default smallest worsening that counts as a regression, in percent.
pub const DEFAULT_THRESHOLD_PCT: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    NoSignificantChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub a: Summary,
    pub b: Summary,
    /// `b - a`.
    pub delta: f64,
    /// `delta` over `a`, in percent.
    pub delta_pct: f64,
    pub delta_ci95: Option<(f64, f64)>,
    /// Welch's two-sided p-value (none with fewer than two iterations on a side).
    pub p: Option<f64>,
    pub verdict: Verdict,
    pub regression: bool,
}

impl MetricComparison {
    /// The verdict in the metric's own words: faster/slower for speed and latency.
    pub fn verdict_word(&self) -> &'static str {
        match (self.verdict, self.unit) {
            (Verdict::NoSignificantChange, _) => "no significant change",
            (Verdict::Better, "tok/s" | "ms") => "faster",
            (Verdict::Worse, "tok/s" | "ms") => "slower",
            (Verdict::Better, "MB") => "smaller",
            (Verdict::Worse, "MB") => "larger",
            (Verdict::Better, _) => "better",
            (Verdict::Worse, _) => "worse",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: u64,
    pub b: u64,
    pub threshold_pct: f64,
    pub metrics: Vec<MetricComparison>,
    /// Whether B is a regression against A.
    pub regression: bool,
    /// Differences in what was run that make the comparison less meaningful.
    pub warnings: Vec<String>,
}

/// Compares `b` against `a`.
pub fn compare(a: &RunRecord, b: &RunRecord, threshold_pct: f64) -> Comparison {
    let mut metrics: Vec<MetricComparison> = METRICS
        .iter()
        .map(|m| {
            judge(
                m.key,
                m.label,
                m.unit,
                m.better,
                m.gates_regression,
                a.summary(m),
                b.summary(m),
                threshold_pct,
            )
        })
        .collect();
    if let (Some(pa), Some(pb)) = (a.perplexity, b.perplexity) {
        metrics.push(judge(
            "perplexity",
            "perplexity",
            "",
            Better::Lower,
            true,
            summarize(&[pa.value]),
            summarize(&[pb.value]),
            threshold_pct,
        ));
    }
    let mut warnings = Vec::new();
    let mut differ = |what: &str, x: &str, y: &str| {
        if x != y {
            warnings.push(format!("different {what}: {x} vs {y}"));
        }
    };
    differ("suite", &a.suite, &b.suite);
    differ("model", &a.model, &b.model);
    differ("profile", &a.profile, &b.profile);
    differ("engine", &a.engine, &b.engine);
    differ("threads", &a.threads.to_string(), &b.threads.to_string());
    differ("machine", &a.machine.describe(), &b.machine.describe());
    Comparison {
        a: a.id,
        b: b.id,
        threshold_pct,
        regression: metrics.iter().any(|m| m.regression),
        metrics,
        warnings,
    }
}

#[allow(clippy::too_many_arguments)]
fn judge(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    better: Better,
    gates: bool,
    a: Summary,
    b: Summary,
    threshold_pct: f64,
) -> MetricComparison {
    let delta = b.mean - a.mean;
    let delta_pct = if a.mean != 0.0 {
        delta / a.mean.abs() * 100.0
    } else {
        0.0
    };
    let test = welch(&a, &b);
    // With a test, significance decides; without one (a single iteration, or the deterministic
    // perplexity), only a change beyond the threshold counts.
    let significant = match test {
        Some(w) => w.p < ALPHA,
        None => delta_pct.abs() >= threshold_pct,
    };
    let improved = match better {
        Better::Higher => delta > 0.0,
        Better::Lower => delta < 0.0,
    };
    let verdict = if !significant || delta == 0.0 || !delta.is_finite() {
        Verdict::NoSignificantChange
    } else if improved {
        Verdict::Better
    } else {
        Verdict::Worse
    };
    MetricComparison {
        key,
        label,
        unit,
        better,
        a,
        b,
        delta,
        delta_pct,
        delta_ci95: test.map(|w| w.delta_ci95),
        p: test.map(|w| w.p),
        verdict,
        regression: gates && verdict == Verdict::Worse && delta_pct.abs() >= threshold_pct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::{IterationMetrics, Perplexity};

    /// A run whose iterations decode at these rates (the other metrics constant).
    fn run(id: u64, decode: &[f64]) -> RunRecord {
        let mut r = RunRecord::example(
            "quick",
            decode
                .iter()
                .map(|&d| IterationMetrics {
                    decode_tok_s: d,
                    prefill_tok_s: 250.0,
                    ttft_ms: 300.0,
                    latency_p50_ms: 1000.0 / d,
                    peak_rss_mb: 350.0,
                    ..Default::default()
                })
                .collect(),
        );
        r.id = id;
        r
    }

    fn metric<'a>(c: &'a Comparison, key: &str) -> &'a MetricComparison {
        c.metrics.iter().find(|m| m.key == key).unwrap()
    }

    #[test]
    fn a_clear_slowdown_is_a_regression() {
        let base = run(1, &[60.0, 61.0, 59.5, 60.5, 60.2]);
        let slow = run(2, &[48.0, 47.5, 48.3, 47.9, 48.1]);
        let c = compare(&base, &slow, DEFAULT_THRESHOLD_PCT);
        let d = metric(&c, "decode_tok_s");
        assert_eq!(d.verdict, Verdict::Worse);
        assert_eq!(d.verdict_word(), "slower");
        assert!(d.regression && c.regression);
        assert!(d.p.unwrap() < 1e-6);
        let (lo, hi) = d.delta_ci95.unwrap();
        assert!(lo < d.delta && d.delta < hi && hi < 0.0, "{lo} {hi}");
        assert!((d.delta_pct - (-20.0)).abs() < 0.5, "{}", d.delta_pct);
        // Latency rose with it: slower too.
        assert_eq!(metric(&c, "latency_p50_ms").verdict_word(), "slower");
        // Constant metrics did not change.
        assert_eq!(
            metric(&c, "peak_rss_mb").verdict,
            Verdict::NoSignificantChange
        );
        // The other way round it is faster and no regression.
        let back = compare(&slow, &base, DEFAULT_THRESHOLD_PCT);
        assert_eq!(metric(&back, "decode_tok_s").verdict_word(), "faster");
        assert!(!back.regression);
    }

    #[test]
    fn noise_is_no_significant_change() {
        let a = run(1, &[60.0, 52.0, 66.0, 58.0, 63.0]);
        let b = run(2, &[57.0, 64.0, 51.0, 61.0, 59.0]);
        let c = compare(&a, &b, DEFAULT_THRESHOLD_PCT);
        assert_eq!(
            metric(&c, "decode_tok_s").verdict,
            Verdict::NoSignificantChange
        );
        assert!(!c.regression);
    }

    #[test]
    fn a_significant_but_tiny_slowdown_is_not_a_regression() {
        let a = run(1, &[60.00, 60.01, 60.02, 59.99, 60.00]);
        let b = run(2, &[59.70, 59.71, 59.69, 59.70, 59.72]);
        let c = compare(&a, &b, DEFAULT_THRESHOLD_PCT);
        let d = metric(&c, "decode_tok_s");
        assert_eq!(d.verdict, Verdict::Worse, "significant: p = {:?}", d.p);
        assert!(!d.regression, "0.5% is under the 5% threshold");
        assert!(compare(&a, &b, 0.1).regression, "but not under 0.1%");
    }

    #[test]
    fn perplexity_and_single_iterations_use_the_threshold() {
        let mut a = run(1, &[60.0]);
        let mut b = run(2, &[59.0]);
        a.perplexity = Some(Perplexity {
            tokens: 64,
            value: 20.0,
        });
        b.perplexity = Some(Perplexity {
            tokens: 64,
            value: 23.0,
        });
        let c = compare(&a, &b, DEFAULT_THRESHOLD_PCT);
        let d = metric(&c, "decode_tok_s");
        assert_eq!((d.p, d.verdict), (None, Verdict::NoSignificantChange));
        let p = metric(&c, "perplexity");
        assert_eq!(p.verdict_word(), "worse");
        assert!(p.regression && c.regression);
    }

    #[test]
    fn different_settings_are_warned_about() {
        let a = run(1, &[60.0, 61.0]);
        let mut b = run(2, &[60.0, 61.0]);
        b.engine = "llama-cpp".into();
        b.threads = 1;
        let c = compare(&a, &b, DEFAULT_THRESHOLD_PCT);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("engine"));
    }
}
