//! The pure dashboard: state, the chat turn state machine, named actions and the keymap.
//! No IO here: the event loop feeds [`AppEvent`]s to [`AppState::handle`] and carries out the
//! returned [`Effect`]s.
pub mod ab;
pub mod action;
pub mod bench;
pub mod chat;
pub mod conversation;
pub mod effect;
pub mod events;
pub mod input;
pub mod inspector;
pub mod keymap_file;
pub mod models;
pub mod picker;
pub mod profiles;
pub mod rag;
pub mod sampler;
pub mod state;
mod supervision;
pub mod view;

#[cfg(test)]
mod models_tests;
#[cfg(test)]
mod profile_tests;
#[cfg(test)]
mod tests;

pub use action::{Action, Binding, Focus, KeyChord, KeyContext, Keymap};
pub use chat::{ChatMessage, EngineStatus, Role, CANCELLED_MARK};
pub use effect::Effect;
pub use events::{AppEvent, LogLine};
pub use inspector::{Inspector, ReplyTraces};
pub use sampler::Param;
pub use state::{
    new_input, AppState, MetricsHistory, ScrollState, StatusMessage, CTRL_C_WINDOW, MAX_INPUT_BYTES,
};
