//! Perplexity of a text read as one stream, the way an endless chat reads it: one `n_ctx` cache
//! that shifts when full (keep the first positions, drop half of the rest, keys re-rotated; see
//! `Engine::shift_context`) instead of llama-perplexity's independent chunks. Every prediction from
//! position `n_ctx / 2` on is scored, so each has at least half a window of context, like the
//! chunked figure's; the two figures together show what context shifts cost.
use rayon::prelude::*;

use super::perplexity_chunks::{nll_as_llama_cpp, NllSums};
use crate::engine::kv_cache::MAX_STEP_ROWS;
use crate::engine::{Engine, EngineError};

/// The NLL sums of the stream and the number of shifts it took.
pub fn score_stream(
    engine: &Engine,
    tokens: &[u32],
    n_ctx: usize,
    keep: usize,
    on_shift: &mut dyn FnMut(usize, &NllSums),
) -> Result<(NllSums, usize), EngineError> {
    let vocab = engine.cfg.vocab_size;
    let mut session = engine.new_session(n_ctx)?;
    let capacity = session.pass.capacity();
    let first = n_ctx / 2;
    let (mut sums, mut shifts, mut at) = (NllSums::default(), 0, 0);
    let mut failure = None;
    while at + 1 < tokens.len() {
        if session.pass.len() + 1 >= capacity {
            engine.shift_context(&mut session, keep)?;
            shifts += 1;
            on_shift(shifts, &sums);
        }
        let room = capacity - 1 - session.pass.len();
        let n = room.min(MAX_STEP_ROWS).min(tokens.len() - 1 - at);
        let slice = &tokens[at..at + n];
        session
            .pass
            .forward_logits(slice, 0, &mut |index, logits| {
                let block: Vec<f64> = logits
                    .par_chunks(vocab)
                    .enumerate()
                    .filter(|(r, _)| at + index + r >= first)
                    .map(|(r, row)| nll_as_llama_cpp(row, tokens[at + index + r + 1]))
                    .collect();
                if failure.is_none() && block.iter().any(|v| !v.is_finite()) {
                    failure = Some(at + index);
                }
                block.into_iter().for_each(|v| sums.add(v));
            })?;
        session.tokens.extend_from_slice(slice);
        at += n;
    }
    if let Some(p) = failure {
        return Err(EngineError::Kernel(format!(
            "the logits from position {p} on are not finite"
        )));
    }
    Ok((sums, shifts))
}
