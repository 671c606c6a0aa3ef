use actix::Message;

use crate::conversations::{ConversationMeta, StoredMessage};

/// Commit one finished message (the conversation is created with `meta` on its first).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Append {
    pub meta: ConversationMeta,
    pub message: StoredMessage,
}

/// Answered with `ConversationEvent::Listed`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ListConversations;

/// Answered with `ConversationEvent::Loaded`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct LoadConversation(pub u64);

/// The last conversation, if there is one (`Loaded`; nothing when there is none).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ResumeLast;

/// Answered with a fresh `Listed`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RenameConversation {
    pub id: u64,
    pub title: String,
}

/// Answered with a fresh `Listed`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct DeleteConversation(pub u64);

/// What the conversations actor reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationEvent {
    Listed(Vec<crate::conversations::ConversationMeta>),
    Loaded {
        meta: crate::conversations::ConversationMeta,
        messages: Vec<crate::conversations::StoredMessage>,
    },
    /// A store operation failed (what, and why); nothing was lost from memory.
    Failed(String),
}
