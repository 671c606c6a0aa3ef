//! One slot of the pool: a conversation (KV cache) and, while busy, the job it runs: the job's
//! sampler chain, its reply state (end tokens, stop strings, held-back text, the token limit) and
//! its figures. The pool feeds it logits (after its prompt, then after each batched step) and it
//! samples, reports and decides whether the reply goes on.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::job::{Job, JobStats, SlotEvent, TokenLogprob, TokenOut};
use crate::engine::generate::PREFILL_CHUNK;
use crate::engine::{Engine, FinishReason, ReplyState, Session};
use crate::sampling::constrained::{Constraint, FullMatchRegex, TokenTable};
use crate::sampling::{SamplerKind, Vocab};

/// The logit of a token that must not be sampled (`ignore_eos`). The sampler refuses infinities
/// (they mean a broken model), so a finite floor: its probability is exactly 0 after any
/// temperature above 1e-8 and any penalty.
const MASKED_LOGIT: f32 = -1e30;

/// A job waiting for a slot, its prompt already tokenized.
pub(super) struct Queued {
    pub job: Job,
    pub ids: Vec<u32>,
    pub events: UnboundedSender<SlotEvent>,
    pub submitted: Instant,
}

/// What every slot shares: the engine, the end-of-generation tokens (masked for `ignore_eos`),
/// the vocabulary's text (built the first time DRY or log-probabilities need it), every token's
/// bytes (built the first time a reply is constrained) and the totals.
pub(super) struct Shared {
    pub engine: Arc<Engine>,
    pub eog: Vec<u32>,
    pub vocab: OnceLock<Arc<Vocab>>,
    pub token_table: OnceLock<Arc<TokenTable>>,
    pub prompt_tokens_total: AtomicU64,
    pub generated_tokens_total: AtomicU64,
}

impl Shared {
    pub fn new(engine: Arc<Engine>) -> Self {
        let n = engine.tokenizer.vocab_size() as u32;
        let eog = (0..n).filter(|&id| engine.tokenizer.is_eog(id)).collect();
        Self {
            engine,
            eog,
            vocab: OnceLock::new(),
            token_table: OnceLock::new(),
            prompt_tokens_total: AtomicU64::new(0),
            generated_tokens_total: AtomicU64::new(0),
        }
    }

    fn vocab(&self) -> &Arc<Vocab> {
        self.vocab.get_or_init(|| {
            let t = &self.engine.tokenizer;
            Arc::new(Vocab::from_fn(t.vocab_size(), |id| t.token_text(id)))
        })
    }

    fn token_table(&self) -> &Arc<TokenTable> {
        self.token_table
            .get_or_init(|| Arc::new(TokenTable::for_tokenizer(&self.engine.tokenizer)))
    }
}

pub(super) struct Slot {
    pub session: Session,
    job: Option<Running>,
}

/// The job a busy slot runs.
struct Running {
    events: UnboundedSender<SlotEvent>,
    sampler: crate::sampling::Sampler,
    reply: ReplyState,
    ignore_eos: bool,
    top_logprobs: Option<usize>,
    /// The JSON the reply must be (`response_format`): the valid tokens each step.
    constraint: Option<Constraint<FullMatchRegex>>,
    submitted: Instant,
    prompt_n: usize,
    prompt_ms: f64,
    first_at: Option<Instant>,
    ttft_ms: f64,
    /// The sampled token to feed in the next step, while the reply goes on.
    next: Option<u32>,
}

impl Slot {
    pub fn new(session: Session) -> Self {
        Self { session, job: None }
    }

    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The token this slot feeds to the next batched step, if it is generating.
    pub fn next_token(&self) -> Option<u32> {
        self.job.as_ref().and_then(|j| j.next)
    }

    /// Whether the job's receiver is gone (the client left).
    pub fn abandoned(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.events.is_closed())
    }

    /// Ends the job without a report (its receiver is gone) and frees the slot.
    pub fn release(&mut self) {
        self.job = None;
        self.session.reset();
    }

    /// Ends the job with `Failed` and frees the slot.
    pub fn fail(&mut self, why: &str) {
        if let Some(job) = self.job.take() {
            let _ = job.events.send(SlotEvent::Failed(why.to_string()));
        }
        self.session.reset();
    }

    /// Takes `q`: prefills its prompt on this slot's cache (in slices, dropping it if the client
    /// leaves meanwhile), reports `Prefilled`, then samples the first token.
    pub fn start(&mut self, q: Queued, shared: &Shared) {
        let start = Instant::now();
        self.session.reset();
        let mut sampler = crate::sampling::Sampler::new(q.job.params.clone());
        if sampler.params.is_active(SamplerKind::Dry) {
            // DRY finds its sequence breakers in the tokens' text.
            let tokenize = |s: &str| shared.engine.tokenizer.encode(s, false, false);
            sampler.set_vocab(shared.vocab().clone(), Some(&tokenize));
        }
        let limits = &q.job.limits;
        let constraint = q.job.constraint.as_ref().map(|c| {
            Constraint::new(
                c.regex.clone(),
                shared.token_table().clone(),
                shared.engine.tokenizer.eog_tokens().to_vec(),
            )
            .with_leading_space(q.job.trim_reply_start)
        });
        self.job = Some(Running {
            events: q.events,
            sampler,
            reply: ReplyState::new(&limits.stop, q.job.trim_reply_start, limits.max_tokens),
            ignore_eos: q.job.ignore_eos,
            top_logprobs: q.job.top_logprobs,
            constraint,
            submitted: q.submitted,
            prompt_n: q.ids.len(),
            prompt_ms: 0.0,
            first_at: None,
            ttft_ms: 0.0,
            next: None,
        });
        let mut logits = Vec::new();
        for chunk in q.ids.chunks(PREFILL_CHUNK) {
            if self.abandoned() {
                self.release();
                return;
            }
            logits = match self.session.forward(chunk) {
                Ok(l) => l,
                Err(e) => return self.fail(&format!("prefill failed: {e}")),
            };
        }
        self.session.tokens = q.ids;
        shared
            .prompt_tokens_total
            .fetch_add(self.session.tokens.len() as u64, Ordering::Relaxed);
        let Some(job) = self.job.as_mut() else {
            return;
        };
        job.prompt_ms = start.elapsed().as_secs_f64() * 1000.0;
        let prefilled = SlotEvent::Prefilled {
            prompt_tokens: job.prompt_n,
            ms: job.prompt_ms,
        };
        if job.events.send(prefilled).is_err() {
            return self.release();
        }
        if !job.reply.wants_more() {
            return self.finish(FinishReason::MaxTokens);
        }
        self.on_logits(logits, shared);
    }

    /// The logits after this slot's last token: samples the next one and reports it; the slot
    /// either has a token for the next step or is free again.
    pub fn on_logits(&mut self, mut logits: Vec<f32>, shared: &Shared) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        job.next = None;
        let logprob_of = job.top_logprobs.map(|n| LogSoftmax::of(&logits, n));
        if job.ignore_eos {
            shared
                .eog
                .iter()
                .for_each(|&id| logits[id as usize] = MASKED_LOGIT);
        }
        let drawn = match job.constraint.as_mut() {
            Some(c) => c
                .next_token(&mut job.sampler, &logits, &self.session.tokens)
                .map_err(|e| e.to_string()),
            None => job
                .sampler
                .sample_with_history(&logits, &self.session.tokens)
                .map_err(|e| e.to_string()),
        };
        let id = match drawn {
            Ok(id) => id,
            Err(e) => return self.fail(&format!("sampling failed: {e}")),
        };
        if job.first_at.is_none() {
            job.first_at = Some(Instant::now());
            job.ttft_ms = job.submitted.elapsed().as_secs_f64() * 1000.0;
        }
        let engine = &shared.engine;
        let accepted = job.reply.accept(&engine.tokenizer, id);
        if accepted.end == Some(FinishReason::EndOfTurn) {
            return self.finish(FinishReason::EndOfTurn);
        }
        shared
            .generated_tokens_total
            .fetch_add(1, Ordering::Relaxed);
        self.session.tokens.push(id);
        // An end token is never sampled when masked, so the sampled logit is the raw one.
        let logprob = logprob_of.map(|l| l.report(id, logits[id as usize], &engine.tokenizer));
        // With log-probabilities every token is reported (its text may come later); without, only
        // tokens that release text.
        if !accepted.shown.is_empty() || logprob.is_some() {
            let out = TokenOut {
                text: accepted.shown,
                id,
                logprob,
            };
            if job.events.send(SlotEvent::Token(out)).is_err() {
                return self.release();
            }
        }
        if let Some(end) = accepted.end {
            return self.finish(end);
        }
        if self.session.pass.len() + 1 >= self.session.pass.capacity() {
            return self.finish(FinishReason::ContextFull);
        }
        job.next = Some(id);
    }

    /// Reports the held-back text and `Done`, and frees the slot.
    fn finish(&mut self, finish: FinishReason) {
        let Some(mut job) = self.job.take() else {
            return;
        };
        let tail = job.reply.finish();
        if !tail.is_empty() {
            let _ = job.events.send(SlotEvent::Token(TokenOut {
                text: tail,
                id: u32::MAX,
                logprob: None,
            }));
        }
        let stats = JobStats {
            finish,
            prompt_n: job.prompt_n,
            prompt_ms: job.prompt_ms,
            predicted_n: job.reply.len(),
            predicted_ms: job
                .first_at
                .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0),
            ttft_ms: job.ttft_ms,
        };
        let _ = job.events.send(SlotEvent::Done(stats));
        self.session.reset();
    }
}

/// The model's own distribution at one step (log-softmax of the raw logits), kept only as far as
/// a report needs: the top `n` and the normaliser.
struct LogSoftmax {
    log_z: f32,
    max: f32,
    top: Vec<(u32, f32)>,
}

impl LogSoftmax {
    fn of(logits: &[f32], n: usize) -> Self {
        let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f64 = logits.iter().map(|&l| ((l - max) as f64).exp()).sum();
        let mut top: Vec<(u32, f32)> = Vec::with_capacity(n + 1);
        if n > 0 {
            for (i, &l) in logits.iter().enumerate() {
                if top.len() < n || l > top[top.len() - 1].1 {
                    let at = top.partition_point(|&(_, t)| t >= l);
                    top.insert(at, (i as u32, l));
                    top.truncate(n);
                }
            }
        }
        Self {
            log_z: sum.ln() as f32,
            max,
            top,
        }
    }

    fn logprob(&self, logit: f32) -> f32 {
        logit - self.max - self.log_z
    }

    /// The report for the sampled token `id`, whose raw logit is `logit`.
    fn report(&self, id: u32, logit: f32, tokenizer: &crate::engine::Tokenizer) -> TokenLogprob {
        TokenLogprob {
            token: tokenizer.token_text(id),
            logprob: self.logprob(logit),
            top: self
                .top
                .iter()
                .map(|&(t, l)| (tokenizer.token_text(t), self.logprob(l)))
                .collect(),
        }
    }
}
