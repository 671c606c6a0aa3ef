//! A/B streaming: one prompt answered under two settings (profiles) on the same model or on two
//! models, the two replies advanced a token each in turn so that both stream side by side and
//! share the CPU equally; each side's rate is its own tokens over its own step time.
use std::time::Instant;

use crate::engine::{Dialogue, Engine, EngineError, PromptKind, StopMatcher, StreamDecoder};
use crate::sampling::{Sampler, SamplerParams};

/// One side's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AbSide {
    pub label: String,
    pub sampler: SamplerParams,
    pub system: Option<String>,
    /// The transcript, should the model be a base model (this side's system prompt in it).
    pub dialogue: Dialogue,
    /// The profile's stop strings.
    pub stop: Vec<String>,
    /// Another model for this side (loaded for the run); `None`: the loaded one.
    pub model: Option<AbModel>,
}

/// A side's own model.
#[derive(Debug, Clone, PartialEq)]
pub struct AbModel {
    pub path: std::path::PathBuf,
    /// models.toml's `kind` for it, over its metadata.
    pub kind_override: Option<crate::engine::DetectedKind>,
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
    stops: StopMatcher,
    history: Vec<u32>,
    logits: Vec<f32>,
    tokens: usize,
    busy_s: f64,
    done: bool,
}

/// Streams both sides; `engines[i]` runs side `i` (the same engine twice for two profiles).
pub fn stream_ab(
    engines: [&Engine; 2],
    prompt: &str,
    sides: &[AbSide; 2],
    max_tokens: usize,
    on_update: &mut dyn FnMut(AbUpdate),
    cancelled: &dyn Fn() -> bool,
) -> Result<(), EngineError> {
    let mut lanes = Vec::with_capacity(2);
    for (side, engine) in sides.iter().zip(engines) {
        let mut session = engine.new_session(4096)?;
        let format = engine.chat_format(|| side.dialogue.clone());
        let stops = StopMatcher::new(
            side.stop.iter().chain(format.stop()),
            format.trims_reply_start(),
        );
        let kind = PromptKind::Chat {
            text: prompt.to_string(),
            system: side.system.clone(),
            format,
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
            stops,
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
            let engine = engines[side];
            let t = Instant::now();
            let next = lane
                .sampler
                .sample_with_history(&lane.logits, &lane.history)
                .map_err(|e| EngineError::Kernel(e.to_string()))?;
            let eog = engine.tokenizer.is_eog(next);
            let mut text = if eog {
                lane.stops.push(&lane.decoder.finish())
            } else {
                lane.stops.push(&lane.decoder.push(&engine.tokenizer, next))
            };
            lane.history.push(next);
            lane.tokens += 1;
            let stopped = lane.stops.stopped_at().is_some();
            lane.done = eog || stopped || lane.tokens >= max_tokens;
            if lane.done && !stopped {
                text.push_str(&lane.stops.finish());
            }
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
