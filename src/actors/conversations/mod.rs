//! The conversations actor: owns the conversation store on its own thread (a `SyncArbiter`), so a
//! durable commit never blocks the UI, and commits run in the order the dashboard sent them.
mod actor;
mod messages;

pub use actor::{start, ConversationSink, ConversationsActor, ConversationsHandle};
pub use messages::{
    Append, ConversationEvent, DeleteConversation, ListConversations, LoadConversation,
    RenameConversation, ResumeLast,
};
