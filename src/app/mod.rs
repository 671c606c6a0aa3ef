//! The pure dashboard: state, the chat turn state machine, focus and the overlay stack.
//! No IO here: the event loop feeds [`AppEvent`]s (each with its `now`) to [`AppState::handle`]
//! and carries out the returned [`Effect`]s.
//!
//! Shape: each pane's own state is a file here (ab.rs, bench.rs, chat.rs, inspector.rs, rag.rs,
//! sampler.rs, ...) that imports nothing of [`AppState`]; [`state`] holds them and the
//! [`layers`] stack; `handlers/` folds keys, actions and actor events into them. Imports run
//! handlers -> state -> panes (`.ci/check-layers`). The keymap and the theme are config.
pub mod ab;
pub mod action;
pub mod bench;
pub mod chat;
pub mod clock;
pub mod conversation;
pub mod effect;
pub mod events;
mod handlers;
pub mod help;
pub mod input;
pub mod inspector;
pub mod layers;
pub mod log;
pub mod models;
pub mod outcome;
pub mod output;
pub mod picker;
pub mod profiles;
pub mod rag;
pub mod sampler;
pub mod server;
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
pub use chat::{Chat, ChatMessage, EngineStatus, Role, CANCELLED_MARK};
pub use clock::WallClock;
pub use effect::Effect;
pub use events::{AppEvent, LogLine};
pub use input::{Input, MAX_INPUT_BYTES};
pub use inspector::{Inspector, ReplyTraces};
pub use layers::{Layer, LayerStack};
pub use sampler::Param;
pub use state::{AppState, MetricsHistory, ScrollState, StatusMessage, CTRL_C_WINDOW};
