//! A/B streaming: one prompt answered under two settings (profiles) on the same model, the two
//! replies advanced a token each in turn so that both stream side by side and share the CPU
//! equally; each side's rate is its own tokens over its own step time.
use std::time::Instant;

use crate::engine::{Engine, EngineError, PromptKind, StreamDecoder};
use crate::sampling::{Sampler, SamplerParams};

/// One side's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AbSide {
    pub label: String,
    pub sampler: SamplerParams,
    pub system: Option<String>,
}

/// What a side did last.
#[derive(Debug, Clone, PartialEq)]
pub struct AbUpdate {
    /// 0 is A, 1 is B.
    pub side: usize,
    /// New text (may be empty while a multi-byte character is incomplete).
    pub text: String,
    pub tokens: usize,
    /// Generated tokens per second of this side's own compute time.
    pub tok_s: f64,
    pub done: bool,
}

struct Lane {
    sampler: Sampler,
    session: crate::engine::Session,
    decoder: StreamDecoder,
    history: Vec<u32>,
    logits: Vec<f32>,
    tokens: usize,
    busy_s: f64,
    done: bool,
}

pub fn stream_ab(
    engine: &Engine,
    prompt: &str,
    sides: &[AbSide; 2],
    max_tokens: usize,
    on_update: &mut dyn FnMut(AbUpdate),
    cancelled: &dyn Fn() -> bool,
) -> Result<(), EngineError> {
    let mut lanes = Vec::with_capacity(2);
    for side in sides {
        let mut session = engine.new_session(4096)?;
        let kind = PromptKind::Chat {
            text: prompt.to_string(),
            system: side.system.clone(),
        };
        let ids = engine.prompt_tokens(&session, &kind);
        if ids.len() + max_tokens + 1 >= session.pass.capacity() {
            return Err(EngineError::ContextFull(session.pass.capacity()));
        }
        let logits = session.forward(&ids)?;
        lanes.push(Lane {
            sampler: Sampler::new(side.sampler.clone()),
            session,
            decoder: StreamDecoder::default(),
            history: ids,
            logits,
            tokens: 0,
            busy_s: 0.0,
            done: max_tokens == 0,
        });
    }
    while lanes.iter().any(|l| !l.done) {
        for (side, lane) in lanes.iter_mut().enumerate() {
            if lane.done {
                continue;
            }
            if cancelled() {
                return Ok(());
            }
            let t = Instant::now();
            let next = lane
                .sampler
                .sample_with_history(&lane.logits, &lane.history)
                .map_err(|e| EngineError::Kernel(e.to_string()))?;
            let eog = engine.tokenizer.is_eog(next);
            let text = if eog {
                lane.decoder.finish()
            } else {
                lane.decoder.push(&engine.tokenizer, next)
            };
            lane.history.push(next);
            lane.tokens += 1;
            lane.done = eog || lane.tokens >= max_tokens;
            if !lane.done {
                lane.logits = lane.session.forward(&[next])?;
            }
            lane.busy_s += t.elapsed().as_secs_f64();
            on_update(AbUpdate {
                side,
                text,
                tokens: lane.tokens,
                tok_s: lane.tokens as f64 / lane.busy_s.max(1e-9),
                done: lane.done,
            });
        }
    }
    Ok(())
}
