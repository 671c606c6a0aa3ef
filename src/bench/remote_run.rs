//! A suite's text-generation workloads on a remote engine (a models.toml entry with `url` or
//! `urls`): each iteration streams one completion per prompt through the cluster client, timed
//! on our side (TTFT from the request to the first piece, decode rate and per-token latencies
//! from the pieces after it); the prefill rate comes from the server's `timings` when it sends
//! them. What needs the model's own process (load, memory, CPU time, perplexity, the pipeline,
//! the slot pool) is not measured and the record says why ([`NOT_MEASURED`]).
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::machine::Machine;
use super::record::{IterationMetrics, PromptFigures, RemoteTarget, RunRecord, SCHEMA_VERSION};
use super::runner::{Progress, RunError, RunPlan, PROMPT_TEXT};
use super::stats::{max, percentile};
use super::suite::PromptSpec;
use crate::remote::{Cluster, Prompt, ReplyEvent, Request};

/// The metrics a remote run cannot measure, and why.
pub const NOT_MEASURED: [(&str, &str); 4] = [
    (
        "load_ms",
        "the model is loaded by the server, not per iteration",
    ),
    ("peak_rss_mb", "the model's memory is the server's process"),
    ("avg_rss_mb", "the model's memory is the server's process"),
    (
        "cpu_ms",
        "the model's CPU time is spent in the server's process",
    ),
];

/// Why the prefill rate is missing when the server sends no `timings`.
const NO_TIMINGS: &str = "the server sent no timings (only llama-server and gemma-tui do)";

/// The suite parts that need the local engine, named for the note a remote run prints.
pub fn local_only_parts(plan: &RunPlan) -> Vec<&'static str> {
    let s = &plan.suite;
    let mut parts = Vec::new();
    if s.perplexity_tokens > 0 {
        parts.push("perplexity (it scores the model's logits, which a server does not send)");
    }
    if s.pipeline {
        parts.push("pipeline overhead (it compares two local generation loops)");
    }
    if !s.parallel.is_empty() {
        parts.push("parallel streams (they measure the local slot pool)");
    }
    parts
}

/// The prompt text of `spec`: synthetic prompts are cut from the bench text by words, about
/// one token each (the server's own count is what the record keeps).
pub fn prompt_text(spec: &PromptSpec) -> String {
    match spec {
        PromptSpec::Length(n) => PROMPT_TEXT
            .split_whitespace()
            .cycle()
            .take((*n).max(1))
            .collect::<Vec<_>>()
            .join(" "),
        PromptSpec::Text(text) => text.clone(),
    }
}

/// One prompt's reply, timed here.
struct Measured {
    prompt_tokens: usize,
    generated: usize,
    ttft_ms: f64,
    /// Server-side prefill rate, when it sent `timings`.
    prefill_tok_s: Option<f64>,
    latencies_ms: Vec<f64>,
}

async fn measure(
    cluster: &Cluster,
    text: &str,
    plan: &RunPlan,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Measured, RunError> {
    let mut params = plan.profile.sampler.clone();
    params.seed = params.seed.or(Some(0x5eed));
    let request = Request {
        prompt: Prompt::Text(text.to_string()),
        params,
        max_tokens: plan.suite.gen_tokens,
        stop: Vec::new(),
    };
    let mut arrivals: Vec<Instant> = Vec::new();
    let reply = cluster
        .generate(&request, cancelled, &mut |event| {
            if let ReplyEvent::Text(_) = event {
                arrivals.push(Instant::now());
            }
        })
        .await
        .map_err(|e| RunError::Engine(e.to_string()))?;
    if reply.finish_reason == "cancelled" {
        return Err(RunError::Cancelled);
    }
    // Per-token latencies are the gaps between pieces only when each piece is one token; a
    // server that batches tokens into pieces spreads a gap over its tokens.
    let pieces = arrivals.len();
    let per_piece = if pieces > 1 && reply.tokens > pieces {
        (reply.tokens - 1) as f64 / (pieces - 1) as f64
    } else {
        1.0
    };
    let latencies_ms = arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0 / per_piece)
        .collect();
    let timings = reply.timings.as_ref();
    Ok(Measured {
        prompt_tokens: reply
            .prompt_tokens
            .or(timings.map(|t| t.prompt_n as usize))
            .unwrap_or(0),
        generated: reply.tokens,
        ttft_ms: reply.ttft_ms,
        prefill_tok_s: timings
            .map(|t| t.prompt_per_second)
            .filter(|r| r.is_finite() && *r > 0.0),
        latencies_ms,
    })
}

/// Runs `plan`'s warm-ups and measured iterations against `cluster`; the suite's parts that need
/// the local engine ([`local_only_parts`]) are left out.
pub async fn run(
    plan: &RunPlan,
    cluster: &Cluster,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<RunRecord, RunError> {
    let suite = &plan.suite;
    suite.validate().map_err(RunError::Engine)?;
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let specs = suite.prompt_specs();
    let passes = suite.warmup + suite.iterations;
    let mut prompts: Vec<PromptFigures> = specs
        .iter()
        .map(|s| PromptFigures {
            label: s.label(),
            ..Default::default()
        })
        .collect();
    let mut iterations = Vec::new();
    let mut token_latencies = Vec::new();
    let mut generated_tokens = Vec::new();
    let mut prefill_missing = false;
    for pass in 0..passes {
        let warmup = pass < suite.warmup;
        let (iteration, of) = if warmup {
            (pass + 1, suite.warmup)
        } else {
            (pass - suite.warmup + 1, suite.iterations)
        };
        let mut results = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            on_progress(&Progress {
                fraction: (pass * specs.len() + i) as f64 / (passes * specs.len()) as f64,
                iteration,
                iterations: of,
                warmup,
                phase: spec.label(),
                token_ms: None,
            });
            results.push(measure(cluster, &prompt_text(spec), plan, cancelled).await?);
        }
        if warmup {
            continue;
        }
        for (fig, r) in prompts.iter_mut().zip(&results) {
            fig.prompt_tokens = r.prompt_tokens;
            fig.prefill_tok_s.push(r.prefill_tok_s.unwrap_or(0.0));
            fig.decode_tok_s.push(rate(&r.latencies_ms));
        }
        prefill_missing |= results.iter().any(|r| r.prefill_tok_s.is_none());
        generated_tokens.extend(results.iter().map(|r| r.generated));
        let latencies: Vec<f64> = results
            .iter()
            .flat_map(|r| r.latencies_ms.iter().copied())
            .collect();
        // The server's prefill rates weighted by prompt length: all prompt tokens over all
        // prefill time.
        let prefill_s: f64 = results
            .iter()
            .filter_map(|r| r.prefill_tok_s.map(|t| r.prompt_tokens as f64 / t))
            .sum();
        let prompt_tokens: usize = results.iter().map(|r| r.prompt_tokens).sum();
        iterations.push(IterationMetrics {
            ttft_ms: results.iter().map(|r| r.ttft_ms).sum::<f64>() / results.len() as f64,
            prefill_tok_s: if prefill_missing || prefill_s <= 0.0 {
                0.0
            } else {
                prompt_tokens as f64 / prefill_s
            },
            decode_tok_s: rate(&latencies),
            latency_p50_ms: finite(percentile(&latencies, 50.0)),
            latency_p95_ms: finite(percentile(&latencies, 95.0)),
            latency_p99_ms: finite(percentile(&latencies, 99.0)),
            latency_max_ms: finite(max(&latencies)),
            ..Default::default()
        });
        token_latencies.extend(latencies);
    }
    on_progress(&Progress {
        fraction: 1.0,
        iteration: suite.iterations,
        iterations: suite.iterations,
        warmup: false,
        phase: "done".into(),
        token_ms: None,
    });
    let mut not_measured: Vec<(String, String)> = NOT_MEASURED
        .iter()
        .map(|(k, why)| (k.to_string(), why.to_string()))
        .collect();
    if prefill_missing {
        not_measured.push(("prefill_tok_s".into(), NO_TIMINGS.into()));
    }
    let mut suite_settings = suite.clone();
    suite_settings.perplexity_tokens = 0;
    suite_settings.pipeline = false;
    suite_settings.parallel.clear();
    Ok(RunRecord {
        schema: SCHEMA_VERSION,
        id: 0,
        started_at,
        suite: plan.suite_name.clone(),
        suite_settings,
        model: plan.model_name.clone(),
        model_path: cluster.urls().join(" "),
        profile: plan.profile_name.clone(),
        profile_settings: serde_json::to_value(&plan.profile).unwrap_or_default(),
        engine: format!("remote {}", cluster.backend.name()),
        threads: 0,
        // The machine the client ran on: the figures include its network path to the server.
        machine: Machine::detect(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        iterations,
        token_latencies_ms: token_latencies,
        perplexity: None,
        prompts,
        pipeline_overhead_pct: Vec::new(),
        parallel: Vec::new(),
        remote: Some(RemoteTarget {
            urls: cluster.urls(),
            backend: cluster.backend.name().to_string(),
            served_model: cluster.model.clone(),
            generated_tokens,
            not_measured,
        }),
        // A server measures no chunked perplexity.
        perplexity_ctx: Vec::new(),
        decode_bound: None,
    })
}

/// Tokens after the first over their time: one latency per decode step.
fn rate(latencies_ms: &[f64]) -> f64 {
    let secs = latencies_ms.iter().sum::<f64>() / 1000.0;
    if latencies_ms.is_empty() || secs <= 0.0 {
        0.0
    } else {
        latencies_ms.len() as f64 / secs
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_prompts_are_cut_by_words() {
        let text = prompt_text(&PromptSpec::Length(12));
        assert_eq!(text.split_whitespace().count(), 12);
        assert!(text.starts_with("The history of computing"));
        assert_eq!(prompt_text(&PromptSpec::Text("hi".into())), "hi");
    }

    #[test]
    fn the_decode_rate_is_steps_over_their_time() {
        assert_eq!(rate(&[10.0, 10.0, 20.0, 40.0]), 50.0);
        assert_eq!(rate(&[]), 0.0);
    }
}
