//! The chat turn state machine: what happens on send, on each engine event, on cancel and on errors.

use crate::actors::inference::ReplyStats;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    System,
    Error,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::User => "You",
            Role::Assistant => "Gemma",
            Role::System => "System",
            Role::Error => "Error",
        }
    }
}

/// One message of the conversation as shown in the chat pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
    /// Still receiving tokens.
    pub streaming: bool,
    /// Timing, once an assistant reply has finished.
    pub stats: Option<ReplyStats>,
}

impl ChatMessage {
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            streaming: false,
            stats: None,
        }
    }
}

/// What the engine is doing, as far as the dashboard knows.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineStatus {
    Loading { fraction: f64, message: String },
    Idle,
    Prefill,
    Generating,
    Failed(String),
}

impl EngineStatus {
    /// Short label for the status bar: "loading 42%", "idle", "prefill", "generating", "failed".
    pub fn label(&self) -> String {
        match self {
            EngineStatus::Loading { fraction, .. } => {
                let pct = (fraction.clamp(0.0, 1.0) * 100.0).round() as u32;
                format!("loading {pct}%")
            }
            EngineStatus::Idle => "idle".into(),
            EngineStatus::Prefill => "prefill".into(),
            EngineStatus::Generating => "generating".into(),
            EngineStatus::Failed(_) => "failed".into(),
        }
    }
}

/// Text appended to a reply the user stopped.
pub const CANCELLED_MARK: &str = "[cancelled]";
