//! Concurrent streams on the server's slot pool: `n` requests submitted at once, each generating
//! the same number of tokens, decoded together in one batched forward pass per step. The figure is
//! the aggregate rate a server delivers (every stream's tokens over the wall time from submission
//! to the last reply's end, prefills included), beside each stream's own rate.
use std::sync::Arc;
use std::time::Instant;

use crate::engine::{Engine, Limits};
use crate::sampling::SamplerParams;
use crate::serve::slots::{Job, SlotEvent, SlotPool};

/// One measurement of `streams` concurrent requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamsRun {
    pub aggregate_tok_s: f64,
    pub stream_tok_s: f64,
}

/// Submits `streams` jobs of `prompt` (each with its own prefix, so the prompts differ) to a pool
/// of as many slots, each generating exactly `gen_tokens` (end tokens masked), and waits for all.
pub fn measure(
    engine: &Arc<Engine>,
    streams: usize,
    prompt: &str,
    gen_tokens: usize,
    params: &SamplerParams,
) -> Result<StreamsRun, String> {
    let fail = |e: String| format!("{streams} streams: {e}");
    let prompt_tokens = engine.tokenizer.encode(prompt, true, true).len();
    let ctx = prompt_tokens + gen_tokens + 16;
    let pool =
        SlotPool::start(engine.clone(), streams, ctx, streams).map_err(|e| fail(e.to_string()))?;
    let start = Instant::now();
    let handles = (0..streams)
        .map(|i| {
            let mut params = params.clone();
            params.seed = params.seed.map(|s| s.wrapping_add(i as u64));
            pool.submit(Job {
                prompt: format!("{}. {prompt}", i + 1),
                params,
                limits: Limits::tokens(gen_tokens),
                trim_reply_start: false,
                ignore_eos: true,
                top_logprobs: None,
                constraint: None,
            })
            .map_err(|e| fail(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mut tokens, mut rates) = (0usize, Vec::with_capacity(streams));
    for mut handle in handles {
        loop {
            match handle.events.blocking_recv() {
                Some(SlotEvent::Done(stats)) => {
                    tokens += stats.predicted_n;
                    let after_first = stats.predicted_n.saturating_sub(1) as f64;
                    rates.push(after_first * 1000.0 / stats.predicted_ms.max(1e-9));
                    break;
                }
                Some(SlotEvent::Failed(e)) => return Err(fail(e)),
                Some(_) => {}
                None => return Err(fail("the pool stopped".into())),
            }
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    Ok(StreamsRun {
        aggregate_tok_s: tokens as f64 / wall_s.max(1e-9),
        stream_tok_s: rates.iter().sum::<f64>() / rates.len().max(1) as f64,
    })
}
