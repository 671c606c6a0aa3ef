//! Conversations that persist: which one is open. Committing each finished message, resuming and
//! switching (the conversations picker) and the picker's keys are in `handlers/conversation.rs`.

/// The conversation the chat shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenConversation {
    pub id: u64,
    pub title: String,
}
