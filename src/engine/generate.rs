//! The generation loop: prefill a turn, then ask the sampler for one token at a time and stream it.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::backend::{CandlePass, EngineKind, ForwardPass};
use super::chat::{render_turn, ChatFormat, PromptKind};
use super::config::Gemma3Config;
use super::draft::{feed_drafted, DraftParams, Drafter};
use super::error::EngineError;
use super::gguf::GgufFile;
use super::model::{Gemma3Model, KvCache};
use super::model_kind::{detect_kind, DetectedKind};
pub use super::reply::FinishReason;
use super::reply::ReplyState;
use super::rope_scaling::{RopeParams, RopeScaling};
use super::tokenizer::Tokenizer;

/// Prompts are prefilled in slices of this many tokens so that a cancel is seen quickly and a huge
/// paste never needs activations for all of it at once.
pub const PREFILL_CHUNK: usize = 256;

pub struct Engine {
    pub kind: EngineKind,
    /// The global layers' RoPE (the file's settings under the user's scaling).
    pub rope: RopeParams,
    pub cfg: Gemma3Config,
    /// Base or instruction-tuned, as the GGUF's metadata says (models.toml may override it).
    pub model_kind: DetectedKind,
    pub tokenizer: Tokenizer,
    model: LoadedModel,
    threads: usize,
    pub path: PathBuf,
    pub file_size: u64,
    pub load_time: Duration,
}

/// The weights as the chosen engine holds them.
enum LoadedModel {
    Candle(Arc<Gemma3Model>),
    #[cfg(feature = "llama-cpp")]
    LlamaCpp(super::llama_cpp::LlamaCppModel),
    KalosmLlama(super::kalosm_llama::KalosmLlamaModel),
}

impl LoadedModel {
    /// Our own model, when it is the one loaded.
    fn candle(&self) -> Option<&Gemma3Model> {
        match self {
            LoadedModel::Candle(model) => Some(model),
            #[cfg(feature = "llama-cpp")]
            LoadedModel::LlamaCpp(_) => None,
            LoadedModel::KalosmLlama(_) => None,
        }
    }
}

/// One conversation: what is in the KV cache, and tokens shown to the user but not yet fed back.
pub struct Session {
    pub pass: Box<dyn ForwardPass>,
    pub tokens: Vec<u32>,
    pending: Vec<u32>,
    pub turns: usize,
    /// Context shift (llama.cpp's `--context-shift`): when the cache fills during a reply, keep
    /// this many first positions, drop half of the rest and go on; `None` ends the reply there.
    pub context_shift: Option<usize>,
    /// Positions dropped by context shifts so far.
    pub shifted: usize,
    /// Exact n-gram drafting of replies (`None`: one token per forward pass).
    pub draft: Option<DraftParams>,
}

impl Session {
    /// Tokens the conversation holds, including the last reply's unfed tail.
    pub fn context_used(&self) -> usize {
        self.pass.len() + self.pending.len()
    }

    /// Runs tokens straight through the model (benchmarks and tests; chat goes through
    /// `Engine::generate`). Returns the last position's logits.
    pub fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
        self.pass.forward(tokens)
    }

    /// An independent copy: its own KV cache (copied, not shared) and token history. `None` when
    /// the engine cannot copy a cache.
    pub fn try_clone(&self) -> Option<Session> {
        Some(Session {
            pass: self.pass.try_clone_pass()?,
            tokens: self.tokens.clone(),
            pending: self.pending.clone(),
            turns: self.turns,
            context_shift: self.context_shift,
            shifted: self.shifted,
            draft: self.draft,
        })
    }

    pub fn reset(&mut self) {
        self.pass.truncate(0);
        self.tokens.clear();
        self.pending.clear();
        self.turns = 0;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerationStats {
    pub prompt_ids: Vec<u32>,
    pub generated_ids: Vec<u32>,
    pub prefill_ms: f64,
    /// From the call to the first generated token (prefill plus the first sampling step).
    pub ttft_ms: f64,
    pub decode_ms: f64,
    pub finish: FinishReason,
    /// Tokens guessed by drafting and checked by the model, and how many of them it kept.
    pub drafted: usize,
    pub draft_accepted: usize,
}

impl GenerationStats {
    pub fn prefill_tok_s(&self) -> f64 {
        rate(self.prompt_ids.len(), self.prefill_ms)
    }

    /// Tokens after the first over the time after the first: the steady decode rate.
    pub fn decode_tok_s(&self) -> f64 {
        rate(self.generated_ids.len().saturating_sub(1), self.decode_ms)
    }
}

fn rate(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

/// How long a reply may run, and the strings that end it (besides the model's end-of-turn tokens
/// and the chat format's own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_tokens: usize,
    pub stop: Vec<String>,
}

impl Limits {
    pub fn tokens(max_tokens: usize) -> Self {
        Self {
            max_tokens,
            stop: Vec::new(),
        }
    }
}

/// Picks the next token from a step's logits, given the conversation so far.
pub type SampleFn<'a> = dyn FnMut(Vec<f32>, &[u32]) -> Result<u32, EngineError> + 'a;

/// What the loop reports while it runs.
pub enum GenEvent<'a> {
    PrefillDone { prompt_tokens: usize, ms: f64 },
    Token { id: u32, text: &'a str },
}

pub enum StepControl {
    Continue,
    Stop,
}

impl Engine {
    /// Loads `path` on our own engine.
    pub fn load(path: &Path, threads: usize) -> Result<Self, EngineError> {
        Self::load_with(path, threads, EngineKind::Candle)
    }

    /// Loads `path` on the engine `kind`. The tokenizer and hyper-parameters are always read by us
    /// from the GGUF, so both engines see the same token ids.
    pub fn load_with(path: &Path, threads: usize, kind: EngineKind) -> Result<Self, EngineError> {
        Self::load_with_rope(path, threads, kind, &RopeScaling::default())
    }

    /// [`Engine::load_with`], with `rope` over the file's RoPE settings (the global layers').
    pub fn load_with_rope(
        path: &Path,
        threads: usize,
        kind: EngineKind,
        rope: &RopeScaling,
    ) -> Result<Self, EngineError> {
        let start = Instant::now();
        let gguf = GgufFile::open(path)?;
        rope.validate().map_err(EngineError::Kernel)?;
        let arch = super::config::architecture(&gguf)?;
        let llama_family = super::config::LLAMA_FAMILY.contains(&arch.as_str());
        // Our forward pass is Gemma 3's: a llama-family file goes to kalosm-llama's.
        let kind = match kind {
            EngineKind::Candle if llama_family => EngineKind::KalosmLlama,
            other => other,
        };
        if kind == EngineKind::KalosmLlama {
            if !llama_family {
                return Err(EngineError::UnsupportedArchitecture(arch));
            }
            let (cfg, tokenizer, model) = super::kalosm_llama::load_llama_family(path, &gguf)?;
            return Ok(Self {
                kind,
                rope: rope.resolve(&cfg.rope),
                cfg,
                model_kind: detect_kind(&gguf),
                tokenizer,
                model: LoadedModel::KalosmLlama(model),
                threads: threads.max(1),
                path: path.to_path_buf(),
                file_size: gguf.map.len() as u64,
                load_time: start.elapsed(),
            });
        }
        let cfg = Gemma3Config::from_gguf(&gguf)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        if tokenizer.vocab_size() != cfg.vocab_size {
            return Err(EngineError::BadTokenizer(format!(
                "{} tokens but the embedding has {} rows",
                tokenizer.vocab_size(),
                cfg.vocab_size
            )));
        }
        let threads = threads.max(1);
        let model = match kind {
            EngineKind::Candle => {
                LoadedModel::Candle(Arc::new(Gemma3Model::load_with_rope(&gguf, threads, rope)?))
            }
            #[cfg(feature = "llama-cpp")]
            EngineKind::LlamaCpp => LoadedModel::LlamaCpp(super::llama_cpp::LlamaCppModel::load(
                path,
                threads,
                super::llama_cpp::rope_context(rope, &cfg.rope),
            )?),
            EngineKind::KalosmLlama => unreachable!("returned above"),
            #[cfg(not(feature = "llama-cpp"))]
            EngineKind::LlamaCpp => {
                return Err(EngineError::EngineUnavailable(
                    "this build has no llama-cpp engine: rebuild with `--features llama-cpp`"
                        .into(),
                ))
            }
        };
        Ok(Self {
            kind,
            rope: rope.resolve(&cfg.rope),
            cfg,
            model_kind: detect_kind(&gguf),
            tokenizer,
            model,
            threads,
            path: path.to_path_buf(),
            file_size: gguf.map.len() as u64,
            load_time: start.elapsed(),
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The format this model chats in: Gemma's turns when instruction-tuned, else the transcript
    /// `dialogue` builds.
    pub fn chat_format(&self, dialogue: impl FnOnce() -> super::chat::Dialogue) -> ChatFormat {
        let chatml = self.tokenizer.token_id("<|im_start|>").is_some();
        ChatFormat::for_model(self.model_kind.kind, chatml, dialogue)
    }

    /// A new conversation with room for `context` tokens (clamped to the model's context length).
    pub fn new_session(&self, context: usize) -> Result<Session, EngineError> {
        let context = context.clamp(1, self.cfg.context_length.max(1));
        let pass: Box<dyn ForwardPass> = match &self.model {
            LoadedModel::Candle(model) => Box::new(CandlePass {
                model: model.clone(),
                cache: model.new_cache(context),
            }),
            #[cfg(feature = "llama-cpp")]
            LoadedModel::LlamaCpp(model) => Box::new(model.new_pass(context)?),
            LoadedModel::KalosmLlama(model) => Box::new(model.new_pass(context)),
        };
        Ok(Session {
            pass,
            tokens: Vec::new(),
            pending: Vec::new(),
            turns: 0,
            context_shift: None,
            shifted: 0,
            draft: None,
        })
    }

    /// Rebuilds a conversation's KV cache from its finished turns (user text as the model saw
    /// it, reply), e.g. when a stored conversation resumes. When they do not all fit in the
    /// context (with `reserve` tokens left for the next turn and reply), the oldest are dropped;
    /// returns how many turns are in the cache.
    pub fn restore(
        &self,
        session: &mut Session,
        turns: &[(String, String)],
        system: Option<&str>,
        format: &ChatFormat,
        reserve: usize,
    ) -> Result<usize, EngineError> {
        let budget = session.pass.capacity().saturating_sub(reserve);
        let mut skip = 0;
        let ids = loop {
            let mut text = String::new();
            for (i, (user, reply)) in turns[skip..].iter().enumerate() {
                let turn = PromptKind::Chat {
                    text: user.clone(),
                    system: system.map(str::to_string),
                    format: format.clone(),
                };
                text.push_str(&render_turn(&turn, i));
                text.push_str(&format.reply_text(reply));
            }
            let ids = self.tokenizer.encode(&text, true, true);
            if ids.len() <= budget || skip == turns.len() {
                break ids;
            }
            skip += 1;
        };
        session.reset();
        if skip == turns.len() {
            return Ok(0);
        }
        if let Err(e) = session.feed(&ids) {
            session.reset();
            return Err(e);
        }
        session.tokens = ids;
        session.turns = turns.len() - skip;
        Ok(session.turns)
    }

    /// One decode step for several conversations: `tokens[i]` after what `sessions[i]` holds;
    /// returns each one's logits. Our engine runs them as one batched forward pass (the weights
    /// read once for all); another engine runs them one after another.
    pub fn forward_batch(
        &self,
        sessions: &mut [&mut Session],
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        let n = sessions.len();
        if let Some(model) = self.model.candle() {
            let mut caches: Vec<&mut KvCache> = sessions
                .iter_mut()
                .filter_map(|s| s.pass.batch_cache())
                .collect();
            if caches.len() == n {
                return model.forward_batch(tokens, &mut caches);
            }
        }
        if tokens.len() != n {
            return Err(EngineError::Kernel(format!(
                "a batched step needs one token per session ({} tokens, {} sessions)",
                tokens.len(),
                sessions.len()
            )));
        }
        sessions
            .iter_mut()
            .zip(tokens)
            .map(|(s, &t)| s.pass.forward(&[t]))
            .collect()
    }

    /// The tokens a prompt adds to `session` (BOS first in an empty conversation).
    pub fn prompt_tokens(&self, session: &Session, prompt: &PromptKind) -> Vec<u32> {
        let text = render_turn(prompt, session.turns);
        let fresh = session.tokens.is_empty();
        let mut ids = session.pending.clone();
        ids.extend(self.tokenizer.encode(&text, fresh, true));
        ids
    }

    /// Prefills `prompt` and generates up to `limits.max_tokens`, calling `sample(logits, history)`
    /// for each token and `on_event` as things happen. The reply ends at an end-of-generation token
    /// or a stop string (the limits' and the chat format's); a stop string never reaches
    /// `on_event`, and text that could still become one is held back until it cannot. On an error
    /// or a cancel during prefill the session is left as it was before the call.
    pub fn generate(
        &self,
        session: &mut Session,
        prompt: &PromptKind,
        limits: &Limits,
        cancelled: &dyn Fn() -> bool,
        sample: &mut SampleFn<'_>,
        on_event: &mut dyn FnMut(GenEvent<'_>) -> StepControl,
    ) -> Result<GenerationStats, EngineError> {
        let start = Instant::now();
        let ids = self.prompt_tokens(session, prompt);
        if let Some(keep) = session.context_shift {
            // A new turn that does not fit: shift (as often as it takes) before the prefill.
            while session.pass.len() > keep + 2
                && session.pass.len() + ids.len() >= session.pass.capacity()
            {
                self.shift_context(session, keep)?;
            }
        }
        let start_len = session.pass.len();
        if start_len + ids.len() >= session.pass.capacity() {
            return Err(EngineError::ContextFull(session.pass.capacity()));
        }
        let prompt_ids: Vec<u32> = ids[session.pending.len()..].to_vec();
        let mut stats = GenerationStats {
            prompt_ids,
            generated_ids: Vec::new(),
            prefill_ms: 0.0,
            ttft_ms: 0.0,
            decode_ms: 0.0,
            finish: FinishReason::MaxTokens,
            drafted: 0,
            draft_accepted: 0,
        };
        let mut logits = Vec::new();
        for chunk in ids.chunks(PREFILL_CHUNK) {
            if cancelled() {
                session.rollback(start_len);
                stats.finish = FinishReason::Cancelled;
                return Ok(stats);
            }
            logits = match session.pass.forward(chunk) {
                Ok(l) => l,
                Err(e) => {
                    session.rollback(start_len);
                    return Err(e);
                }
            };
        }
        session.pending.clear();
        // The pending tail was already counted in `tokens` when it was generated.
        session.tokens.extend_from_slice(&stats.prompt_ids);
        let mut reply_start = session.tokens.len();
        if matches!(prompt, PromptKind::Chat { .. }) {
            session.turns += 1;
        }
        stats.prefill_ms = ms(start.elapsed());
        if let StepControl::Stop = on_event(GenEvent::PrefillDone {
            prompt_tokens: ids.len(),
            ms: stats.prefill_ms,
        }) {
            stats.finish = FinishReason::Cancelled;
            return Ok(stats);
        }
        let format = prompt.format();
        let mut reply = ReplyState::new(
            limits
                .stop
                .iter()
                .chain(format.map(ChatFormat::stop).unwrap_or_default()),
            format.is_some_and(ChatFormat::trims_reply_start),
            limits.max_tokens,
        );
        let mut first_at = None;
        let mut drafter = session.draft.map(Drafter::new);
        // Guesses already in the cache after the last fed token, each with the logits after it;
        // `verify` counts the current batch's guesses and how many have held so far.
        let mut ahead = VecDeque::new();
        let mut verify = (0, 0);
        while reply.wants_more() {
            if cancelled() {
                stats.finish = FinishReason::Cancelled;
                break;
            }
            let id = sample(logits, &session.tokens)?;
            if first_at.is_none() {
                first_at = Some(Instant::now());
                stats.ttft_ms = ms(start.elapsed());
            }
            let accepted = reply.accept(&self.tokenizer, id);
            if accepted.end == Some(FinishReason::EndOfTurn) {
                stats.finish = FinishReason::EndOfTurn;
                break;
            }
            stats.generated_ids.push(id);
            session.tokens.push(id);
            let control = if accepted.shown.is_empty() {
                StepControl::Continue
            } else {
                on_event(GenEvent::Token {
                    id,
                    text: &accepted.shown,
                })
            };
            if accepted.end == Some(FinishReason::StopString) {
                // The cut counts positions as undrafted: guesses ahead go first.
                session.pass.truncate(session.pass.len() - ahead.len());
                ahead.clear();
                self.cut_at_stop(session, reply_start, &reply);
                stats.finish = FinishReason::StopString;
                break;
            }
            if let StepControl::Stop = control {
                session.pending.push(id);
                stats.finish = FinishReason::Cancelled;
                break;
            }
            if accepted.end == Some(FinishReason::MaxTokens) {
                session.pending.push(id);
                break;
            }
            // The token was sampled from the logits the undrafted loop would have had, with the
            // same history; a guess equal to it is already in the cache, with its logits.
            if let Some((guess, next)) = ahead.pop_front() {
                if guess == id {
                    verify.1 += 1;
                    stats.draft_accepted += 1;
                    logits = next;
                    if let Some(d) = drafter.as_mut().filter(|_| ahead.is_empty()) {
                        d.record(verify.0, verify.1);
                    }
                    continue;
                }
                // Drop this guess and the later ones: the cache ends before `id` again.
                session.pass.truncate(session.pass.len() - ahead.len() - 1);
                ahead.clear();
                if let Some(d) = drafter.as_mut() {
                    d.record(verify.0, verify.1);
                }
            }
            if session.pass.len() + 1 >= session.pass.capacity() {
                match session.context_shift {
                    Some(keep) => {
                        let dropped = self.shift_context(session, keep)?;
                        reply_start = reply_start.saturating_sub(dropped);
                    }
                    None => {
                        session.pending.push(id);
                        stats.finish = FinishReason::ContextFull;
                        break;
                    }
                }
            }
            // Guesses only where the undrafted loop would feed them without a context shift.
            let room = session
                .pass
                .capacity()
                .saturating_sub(session.pass.len() + 2);
            let guess = drafter
                .as_mut()
                .map_or(&[][..], |d| d.propose(&session.tokens, room));
            if guess.is_empty() {
                logits = session.pass.forward(&[id])?;
            } else {
                verify = (guess.len(), 0);
                stats.drafted += guess.len();
                (logits, ahead) =
                    feed_drafted(session.pass.as_mut(), self.cfg.vocab_size, id, guess)?;
            }
        }
        // The reply ended with guesses in the cache past the last fed token: drop them.
        if !ahead.is_empty() {
            session.pass.truncate(session.pass.len() - ahead.len());
        }
        let tail = reply.finish();
        if !tail.is_empty() {
            on_event(GenEvent::Token {
                id: u32::MAX,
                text: &tail,
            });
        }
        if let Some(t) = first_at {
            stats.decode_ms = ms(t.elapsed());
        }
        Ok(stats)
    }
}

#[path = "generate_context.rs"]
mod context;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
