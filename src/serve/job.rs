//! What a job is and what it reports: the slot pool's interface types (the pool itself is in
//! `slots`, which re-exports these).
use tokio::sync::mpsc;

pub use super::response_format::JsonConstraint;
use crate::engine::{DraftParams, FinishReason, Limits};
use crate::sampling::SamplerParams;

/// One request for the pool.
#[derive(Debug, Clone)]
pub struct Job {
    /// The whole prompt as text: tokenized with BOS, special markers (`<start_of_turn>`) parsed.
    pub prompt: String,
    /// The request's sampler chain (the profile's settings with the request's fields over them).
    pub params: SamplerParams,
    /// Most tokens, and the stop strings (the chat format's included).
    pub limits: Limits,
    /// Whether whitespace at the reply's start belongs to the format (a dialogue's space after
    /// `Assistant:`), as `ChatFormat::trims_reply_start`.
    pub trim_reply_start: bool,
    /// Keep going past an end-of-generation token (llama.cpp's `ignore_eos`: the token is then
    /// never sampled).
    pub ignore_eos: bool,
    /// Report each token's log-probability and this many top alternatives (`logprobs` with
    /// `top_logprobs`); `None` reports none.
    pub top_logprobs: Option<usize>,
    /// The reply must be one JSON value of this kind (`response_format`).
    pub constraint: Option<JsonConstraint>,
}

/// How the slots run every job (the server's flags and the profile): llama.cpp's context shift
/// and exact n-gram drafting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotOptions {
    /// `--context-shift`: when a reply fills its slot, keep BOS and this many tokens after it
    /// (`--keep`, a request's `n_keep` over it), drop half of the rest and go on; `None` ends the
    /// reply there (`length`).
    pub context_shift: Option<usize>,
    /// `--draft ngram`: guess the next tokens from earlier occurrences and verify them in one
    /// pass (`None`: one token per step).
    pub draft: Option<DraftParams>,
}

/// A request's own settings beyond the sampler's (llama-server's `n_keep` and `n_discard`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// Tokens after BOS a context shift keeps (-1: the whole prompt); `None`: the server's.
    pub n_keep: Option<i64>,
    /// Tokens a context shift drops (`None` or 0: half of what is not kept).
    pub n_discard: Option<usize>,
}

/// What a job reports, in order: `Prefilled`, any number of `Token`s, then `Done` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotEvent {
    Prefilled { prompt_tokens: usize, ms: f64 },
    Token(TokenOut),
    Done(JobStats),
    Failed(String),
}

/// A piece of the reply: whole UTF-8 characters (a token's text may be held back until a stop
/// string can no longer match, then come out with a later one).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenOut {
    pub text: String,
    /// The sampled token's id (`u32::MAX` for text released at the end).
    pub id: u32,
    pub logprob: Option<TokenLogprob>,
}

/// Log-probabilities from the model's raw distribution (log-softmax of the logits), as
/// llama-server reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    /// The sampled token's text and log-probability.
    pub token: String,
    pub logprob: f32,
    /// The most likely tokens, most likely first.
    pub top: Vec<(String, f32)>,
}

/// A finished job's figures: llama-server's `timings` and OpenAI's `usage` are made of these.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStats {
    pub finish: FinishReason,
    pub prompt_n: usize,
    pub prompt_ms: f64,
    pub predicted_n: usize,
    pub predicted_ms: f64,
    /// From submission to the first token (queueing and prefill included).
    pub ttft_ms: f64,
    /// Guessed tokens verified, and how many of them held (llama-server's `draft_n` and
    /// `draft_n_accepted`).
    pub draft_n: usize,
    pub draft_n_accepted: usize,
    /// Context shifts during the reply and the positions they dropped (llama-server reports a
    /// shifted reply as `truncated`).
    pub shifts: usize,
    pub shifted: usize,
}

/// Why a job was not taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PoolError {
    #[error("the prompt has {tokens} tokens; a slot holds {capacity}")]
    PromptTooLong { tokens: usize, capacity: usize },
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("{0} requests are waiting already; try again later")]
    QueueFull(usize),
    #[error("the server is shutting down")]
    Closed,
    #[error("bad sampler settings: {0}")]
    BadParams(String),
}

/// The pool's state for `/metrics`, `/health` and the dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolStatus {
    pub parallel: usize,
    pub busy: usize,
    pub queued: usize,
    pub requests_total: u64,
    pub prompt_tokens_total: u64,
    pub generated_tokens_total: u64,
}

/// A submitted job: its events. Dropping the receiver cancels the job at the next step and frees
/// its slot.
pub struct JobHandle {
    pub events: mpsc::UnboundedReceiver<SlotEvent>,
}
