//! Continuous batching: `parallel` slots, each one request with its own KV cache, sampler chain and
//! stop strings, decoded together (one batched forward pass per step reads the weights once for
//! every busy slot). A request joins the batch between steps (its prompt is prefilled on its
//! own) and leaves it when it finishes, is cancelled or its receiver is dropped.
//!
//! The interface below is what the HTTP layer and the bench use; see `SlotPool`.
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::engine::{Engine, EngineError, FinishReason, Limits};
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

/// The slots and the thread that runs them.
pub struct SlotPool {
    _engine: Arc<Engine>,
}

impl SlotPool {
    /// Starts the decode thread: `parallel` slots of `ctx` positions each on `engine`; at most
    /// `max_queue` jobs wait for a slot.
    pub fn start(
        _engine: Arc<Engine>,
        _parallel: usize,
        _ctx: usize,
        _max_queue: usize,
    ) -> Result<Self, EngineError> {
        unimplemented!("slots: being written")
    }

    /// Queues a job (tokenized here, so a prompt that cannot fit is refused at once).
    pub fn submit(&self, _job: Job) -> Result<JobHandle, PoolError> {
        unimplemented!("slots: being written")
    }

    pub fn status(&self) -> PoolStatus {
        unimplemented!("slots: being written")
    }

    /// Refuses new jobs and waits until the running and queued ones are done.
    pub fn drain(&self) {
        unimplemented!("slots: being written")
    }
}
