use std::time::Instant;

use actix::Message;

/// A token was streamed at `at`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TokenObserved {
    pub at: Instant,
}

/// A reply finished; its time to first token is kept for the graphs' title.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReplyFinished {
    pub ttft_ms: f64,
}
