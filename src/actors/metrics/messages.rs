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

/// One sample of the metrics actor (about 4 per second).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Seconds since the dashboard started.
    pub t: f64,
    /// Tokens per second over the last second (0 when idle).
    pub token_rate: f64,
    /// Time to first token of the last reply, in ms.
    pub last_ttft_ms: Option<f64>,
    pub rss_bytes: u64,
    /// Process CPU use in percent of one core (200% = two cores busy).
    pub cpu_percent: f32,
    pub total_tokens: u64,
}
