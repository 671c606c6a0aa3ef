//! One slot of the pool: a conversation (KV cache) and, while busy, the job it runs: the job's
//! sampler chain, its reply state (end tokens, stop strings, held-back text, the token limit) and
//! its figures. The pool feeds it logits (after its prompt, then after each batched step) and it
//! samples, reports and decides whether the reply goes on.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::job::{Job, JobOptions, JobStats, SlotEvent, SlotOptions, TokenLogprob, TokenOut};
use crate::engine::draft::{feed_drafted, Ahead, Drafter};
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
    pub options: JobOptions,
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
    /// The slot's number (llama-server's `id_slot`), for the log.
    id: usize,
    pub session: Session,
    options: SlotOptions,
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
    /// Tokens after BOS a context shift keeps (-1: the whole prompt) and drops (0: half).
    n_keep: i64,
    n_discard: usize,
    shifts: usize,
    shifted: usize,
    max_tokens: usize,
    drafter: Option<Drafter>,
    /// Guesses already in the cache after the last fed token, each with the logits after it;
    /// `verify`: the current verify's guesses and how many have held so far.
    ahead: Ahead,
    verify: (usize, usize),
    draft_n: usize,
    draft_n_accepted: usize,
}

impl Slot {
    pub fn new(id: usize, session: Session, options: SlotOptions) -> Self {
        Self {
            id,
            session,
            options,
            job: None,
        }
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
            n_keep: q
                .options
                .n_keep
                .unwrap_or(self.options.context_shift.unwrap_or(0) as i64),
            n_discard: q.options.n_discard.unwrap_or(0),
            shifts: 0,
            shifted: 0,
            max_tokens: limits.max_tokens,
            drafter: self.options.draft.map(Drafter::new),
            ahead: Ahead::new(),
            verify: (0, 0),
            draft_n: 0,
            draft_n_accepted: 0,
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

    /// The guesses to verify with this slot's next token (empty: a plain step). Only where the
    /// undrafted loop would feed them: inside the cache without a shift, and within the reply's
    /// token limit.
    pub fn draft_guesses(&mut self) -> Vec<u32> {
        let Some(job) = self.job.as_mut() else {
            return Vec::new();
        };
        let (Some(_), Some(drafter)) = (job.next, job.drafter.as_mut()) else {
            return Vec::new();
        };
        let pass = &self.session.pass;
        let room = pass
            .capacity()
            .saturating_sub(pass.len() + 2)
            .min(job.max_tokens.saturating_sub(job.reply.len() + 1));
        drafter.propose(&self.session.tokens, room).to_vec()
    }

    /// Feeds this slot's next token and `guesses` in one pass of their own (every position's
    /// logits), then takes the tokens as they are sampled, as many guesses as hold.
    pub fn step_drafted(&mut self, guesses: &[u32], shared: &Shared) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        let Some(id) = job.next else {
            return;
        };
        job.verify = (guesses.len(), 0);
        job.draft_n += guesses.len();
        let vocab = shared.engine.cfg.vocab_size;
        match feed_drafted(self.session.pass.as_mut(), vocab, id, guesses) {
            Ok((logits, ahead)) => {
                job.ahead = ahead;
                self.on_logits(logits, shared);
            }
            Err(e) => self.fail(&format!("decode step failed: {e}")),
        }
    }

    /// The logits after this slot's last token: samples the next one and reports it; the slot
    /// either has a token for the next step or is free again. While guesses are in the cache,
    /// a sampled token equal to the next guess takes that guess's logits and sampling goes on.
    pub fn on_logits(&mut self, mut logits: Vec<f32>, shared: &Shared) {
        loop {
            match self.take_token(logits, shared) {
                Some(next) => logits = next,
                None => return,
            }
        }
    }

    /// One sampled token; `Some(logits)` when it was a guess already in the cache (the logits
    /// after it are known, so the next token is sampled at once).
    fn take_token(&mut self, mut logits: Vec<f32>, shared: &Shared) -> Option<Vec<f32>> {
        let job = self.job.as_mut()?;
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
            Err(e) => {
                self.fail(&format!("sampling failed: {e}"));
                return None;
            }
        };
        if job.first_at.is_none() {
            job.first_at = Some(Instant::now());
            job.ttft_ms = job.submitted.elapsed().as_secs_f64() * 1000.0;
        }
        let engine = &shared.engine;
        let accepted = job.reply.accept(&engine.tokenizer, id);
        if accepted.end == Some(FinishReason::EndOfTurn) {
            self.finish(FinishReason::EndOfTurn);
            return None;
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
                self.release();
                return None;
            }
        }
        if let Some(end) = accepted.end {
            // The slot's cache is reset at the end, guesses ahead included.
            self.finish(end);
            return None;
        }
        // The token was sampled from the logits the undrafted loop would have had, with the
        // same history; a guess equal to it is already in the cache, with its logits.
        if let Some((guess, next)) = job.ahead.pop_front() {
            if guess == id {
                job.verify.1 += 1;
                job.draft_n_accepted += 1;
                if job.ahead.is_empty() {
                    if let Some(d) = job.drafter.as_mut() {
                        d.record(job.verify.0, job.verify.1);
                    }
                }
                return Some(next);
            }
            // Drop this guess and the later ones: the cache ends before `id` again.
            let pass = &mut self.session.pass;
            pass.truncate(pass.len() - job.ahead.len() - 1);
            job.ahead.clear();
            if let Some(d) = job.drafter.as_mut() {
                d.record(job.verify.0, job.verify.1);
            }
        }
        if self.session.pass.len() + 1 >= self.session.pass.capacity() && !self.shift() {
            self.finish(FinishReason::ContextFull);
            return None;
        }
        if let Some(job) = self.job.as_mut() {
            job.next = Some(id);
        }
        None
    }

    /// llama-server's context shift, when the server allows it: keeps BOS and `n_keep` tokens
    /// after it (-1: the whole prompt; at most the context less 4), drops `n_discard` of the rest
    /// (0: half of it) from the cache and the history, and moves the later positions down.
    /// False when the reply must end here instead.
    fn shift(&mut self) -> bool {
        let Some(job) = self.job.as_mut() else {
            return false;
        };
        if self.options.context_shift.is_none() {
            return false;
        }
        let len = self.session.pass.len();
        let capacity = self.session.pass.capacity();
        let after_bos = match job.n_keep {
            n if n < 0 => job.prompt_n.saturating_sub(1),
            n => n as usize,
        };
        let keep = (after_bos + 1)
            .min(capacity.saturating_sub(4))
            .clamp(1, len);
        let left = len - keep;
        let discard = match job.n_discard {
            0 => left / 2,
            n => n,
        }
        .min(left.saturating_sub(1));
        if discard == 0 {
            return false;
        }
        if let Err(e) = self.session.shift(keep, discard) {
            tracing::warn!(slot = self.id, "context shift failed: {e}");
            return false;
        }
        job.shifts += 1;
        job.shifted += discard;
        tracing::info!(
            slot = self.id,
            n_keep = keep,
            n_left = left,
            n_discard = discard,
            "slot context shift"
        );
        true
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
            draft_n: job.draft_n,
            draft_n_accepted: job.draft_n_accepted,
            shifts: job.shifts,
            shifted: job.shifted,
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
