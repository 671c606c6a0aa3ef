//! What the RAG actor is asked, and what it reports to the dashboard.
use std::path::PathBuf;

use actix::Message;

use crate::rag::ingest::{IngestEvent, IngestSummary};
use crate::rag::{BuiltContext, Tier};

/// Build the context for the prompt of `request` (answered with [`RagEvent::Context`]).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct BuildContext {
    pub request: u64,
    pub query: String,
    pub budget: usize,
}

/// `/add`: ingest files and directories (progress as [`RagEvent::Ingest`]).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Add {
    pub paths: Vec<PathBuf>,
}

/// `/remember` or an automatically remembered conversation turn.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Remember {
    pub text: String,
    pub importance: f32,
    pub tier: Tier,
    pub source: String,
    /// No status message (automatic memory).
    pub quiet: bool,
}

/// The best `k` memories for a query, answered directly (not through the sink).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<Vec<crate::rag::index::Hit>, String>")]
pub struct Search {
    pub query: String,
    pub k: usize,
}

/// Evict expired and over-capacity memories now.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Evict;

/// Report the number of memories ([`RagEvent::Stats`]).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Stats;

/// The RAG actor's reports to the App.
#[derive(Debug, Clone, PartialEq)]
pub enum RagEvent {
    Context {
        request: u64,
        result: Result<BuiltContext, String>,
    },
    Ingest(IngestEvent),
    IngestDone(Result<IngestSummary, String>),
    Remembered {
        result: Result<Option<u64>, String>,
        quiet: bool,
    },
    Stats {
        memories: usize,
    },
    /// The store or the embedding model could not be opened: RAG is off for this session.
    Unavailable(String),
}
