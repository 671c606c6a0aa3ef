//! What a job is and what it reports: the slot pool's interface types (the pool itself is in
//! `slots`, which re-exports these).
use tokio::sync::mpsc;

pub use super::response_format::JsonConstraint;
use crate::engine::{FinishReason, Limits};
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
