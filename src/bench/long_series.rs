//! The long-context series every view draws (pure: records in, points out): prompt speed and peak
//! memory against prompt length per engine, and perplexity against context per RoPE setting. They
//! come from the newest run that measured several prompt lengths (or contexts) and, for each other
//! engine, the newest run of the same suite, so one chart compares the engines side by side.
use super::record::RunRecord;

/// One prompt length's figures (means over the run's iterations; NaN: not measured).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromptPoint {
    pub tokens: usize,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub peak_rss_mb: f64,
}

/// One engine's run: its points in increasing prompt length.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSeries {
    pub engine: String,
    pub run_id: u64,
    pub points: Vec<PromptPoint>,
}

/// Perplexity against context under one RoPE setting on one engine.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeSeries {
    /// "none", or "candle none" when several engines are shown.
    pub label: String,
    pub run_id: u64,
    /// (context, perplexity), in increasing context.
    pub points: Vec<(usize, f64)>,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The newest run (by id) of `runs` for which `has` holds, and then the newest run of each other
/// engine in the same suite for which it holds: the newest run's engine first.
fn newest_per_engine(runs: &[RunRecord], has: impl Fn(&RunRecord) -> bool) -> Vec<&RunRecord> {
    let mut newest_first: Vec<&RunRecord> = runs.iter().filter(|r| has(r)).collect();
    newest_first.sort_by_key(|r| std::cmp::Reverse(r.id));
    let Some(first) = newest_first.first() else {
        return Vec::new();
    };
    let mut out: Vec<&RunRecord> = Vec::new();
    for r in newest_first.iter().filter(|r| r.suite == first.suite) {
        if out.iter().all(|o| o.engine != r.engine) {
            out.push(r);
        }
    }
    out
}

/// Prompt speed and memory against prompt length, one series per engine (empty when no run
/// measured two or more prompt lengths).
pub fn prompt_series(runs: &[RunRecord]) -> Vec<EngineSeries> {
    let lengths = |r: &RunRecord| r.prompts.iter().filter(|p| p.prompt_tokens > 0).count();
    newest_per_engine(runs, |r| lengths(r) >= 2)
        .into_iter()
        .map(|r| {
            let mut points: Vec<PromptPoint> = r
                .prompts
                .iter()
                .filter(|p| p.prompt_tokens > 0)
                .map(|p| PromptPoint {
                    tokens: p.prompt_tokens,
                    prefill_tok_s: mean(&p.prefill_tok_s),
                    decode_tok_s: mean(&p.decode_tok_s),
                    peak_rss_mb: mean(&p.peak_rss_mb),
                })
                .collect();
            points.sort_by_key(|p| p.tokens);
            EngineSeries {
                engine: r.engine.clone(),
                run_id: r.id,
                points,
            }
        })
        .collect()
}

/// Perplexity against context, one series per (engine, RoPE setting) in the order measured.
pub fn ppl_series(runs: &[RunRecord]) -> Vec<RopeSeries> {
    let chosen = newest_per_engine(runs, |r| !r.perplexity_ctx.is_empty());
    let several = chosen.len() > 1;
    let mut out: Vec<RopeSeries> = Vec::new();
    for r in chosen {
        for p in &r.perplexity_ctx {
            let label = if several {
                format!("{} {}", r.engine, p.rope)
            } else {
                p.rope.clone()
            };
            let i = match out.iter().position(|s| s.label == label) {
                Some(i) => i,
                None => {
                    out.push(RopeSeries {
                        label,
                        run_id: r.id,
                        points: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            out[i].points.push((p.n_ctx, p.ppl));
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::{CtxPerplexity, PromptFigures};

    fn run(id: u64, suite: &str, engine: &str, lengths: &[usize]) -> RunRecord {
        let mut r = RunRecord::example(suite, Vec::new());
        r.id = id;
        r.engine = engine.into();
        r.prompts = lengths
            .iter()
            .map(|&n| PromptFigures {
                label: format!("pp{n}"),
                prompt_tokens: n,
                prefill_tok_s: vec![1e6 / n as f64, 3e6 / n as f64],
                decode_tok_s: vec![50.0],
                peak_rss_mb: vec![300.0 + n as f64 / 100.0],
            })
            .collect();
        r
    }

    #[test]
    fn the_newest_multi_length_run_and_its_suite_per_engine() {
        let runs = vec![
            run(1, "long-context", "llama-cpp", &[1024, 256]),
            run(2, "long-context", "candle", &[256, 1024]),
            run(3, "quick", "candle", &[64]),
            run(4, "long-context", "candle", &[256, 1024]),
            run(5, "other", "llama-cpp", &[8, 16]),
            run(6, "long-context", "llama-cpp", &[256, 1024]),
        ];
        let s = prompt_series(&runs);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].engine.as_str(), s[0].run_id), ("llama-cpp", 6));
        assert_eq!((s[1].engine.as_str(), s[1].run_id), ("candle", 4));
        let p = s[1].points[1];
        assert_eq!(p.tokens, 1024);
        assert!((p.prefill_tok_s - 2e6 / 1024.0).abs() < 1e-9);
        assert_eq!(p.peak_rss_mb, 310.24);
        assert!(
            prompt_series(&runs[2..3]).is_empty(),
            "one length is no series"
        );
    }

    #[test]
    fn old_records_without_memory_give_nan_points() {
        let mut r = run(1, "s", "candle", &[128, 512]);
        r.prompts.iter_mut().for_each(|p| p.peak_rss_mb.clear());
        let s = prompt_series(&[r]);
        assert!(s[0].points.iter().all(|p| p.peak_rss_mb.is_nan()));
    }

    #[test]
    fn perplexity_series_per_rope_and_engine() {
        let ppl = |n_ctx, rope: &str, ppl| CtxPerplexity {
            n_ctx,
            rope: rope.into(),
            ppl,
            ..Default::default()
        };
        let mut a = run(1, "long-context", "candle", &[]);
        a.perplexity_ctx = vec![
            ppl(2048, "none", 11.9),
            ppl(512, "none", 13.3),
            ppl(512, "linear:8", 15.0),
        ];
        let s = ppl_series(std::slice::from_ref(&a));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].label, "none");
        assert_eq!(s[0].points, [(512, 13.3), (2048, 11.9)]);
        assert_eq!(s[1].points, [(512, 15.0)]);
        let mut b = run(2, "long-context", "llama-cpp", &[]);
        b.perplexity_ctx = vec![ppl(512, "none", 13.28)];
        let s = ppl_series(&[a, b]);
        let labels: Vec<_> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["llama-cpp none", "candle none", "candle linear:8"]);
    }
}
