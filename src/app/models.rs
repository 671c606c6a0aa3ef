//! Switching models from the dashboard: the model picker (models.toml's entries and the GGUFs in
//! the models dir), a switch that loads in the background while the old model keeps answering,
//! and the swap between replies with the conversation carried over. Pure: the listing and the
//! loading happen off the UI task and come back as events.
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::conversations::{StoredMessage, StoredRole};
use crate::models::ModelChoice;

pub use super::events::ModelsEvent;

/// What the event loop must do for a switch.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEffect {
    /// Read models.toml's entries and the models dir's GGUF headers (answered by
    /// `ModelsEvent::Listed`), on a blocking thread.
    List { config: Arc<Config> },
    /// Load `path` beside the current model (answered by `EngineEvent::Switch`).
    Load {
        name: String,
        path: PathBuf,
        config: Arc<Config>,
    },
    /// Swap the loaded model in, re-prefilling these finished turns.
    Commit {
        turns: Vec<(String, String)>,
        system: Option<String>,
        dialogue: crate::engine::Dialogue,
    },
}

/// A switch under way.
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    pub name: String,
    pub fraction: f64,
    pub message: String,
    /// Loaded beside the old model, waiting for the reply in progress to end.
    pub ready: bool,
    /// The swap was asked for (once).
    pub committed: bool,
}

/// The model picker's listing, the switch in progress and what a new model must be given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelsState {
    /// The last listing; the picker's keys index into it.
    pub choices: Vec<ModelChoice>,
    /// The picker key was pressed: open the picker when the listing arrives.
    pub requested: bool,
    pub switch: Option<Switch>,
    /// The open conversation's finished messages as the model saw them (rendered prompts), for
    /// re-prefilling them in a new model; tagged with the conversation's id.
    transcript: (u64, Vec<StoredMessage>),
}

impl ModelsState {
    /// Notes a committed message of conversation `id` (a new id starts a new transcript).
    pub fn record(&mut self, id: u64, message: &StoredMessage) {
        if self.transcript.0 != id {
            self.transcript = (id, Vec::new());
        }
        self.transcript.1.push(message.clone());
    }

    /// A stored conversation was opened with these messages.
    pub fn record_all(&mut self, id: u64, messages: &[StoredMessage]) {
        self.transcript = (id, messages.to_vec());
    }

    /// The finished (user turn, reply) pairs of conversation `id`, and the system prompt its
    /// first turn was sent with.
    pub fn turns(&self, id: Option<u64>) -> (Vec<(String, String)>, Option<String>) {
        match id {
            Some(id) if id == self.transcript.0 => {
                let msgs = &self.transcript.1;
                let system = msgs
                    .iter()
                    .find(|m| m.role == StoredRole::User)
                    .and_then(|m| m.system.clone());
                (crate::conversations::turns(msgs), system)
            }
            _ => (Vec::new(), None),
        }
    }
}

/// The running model as a picker entry, from what its load reported.
pub(crate) fn running_choice(m: &crate::actors::inference::ModelSummary) -> ModelChoice {
    let path = PathBuf::from(&m.path);
    ModelChoice {
        name: path
            .file_name()
            .map_or(m.name.clone(), |n| n.to_string_lossy().into_owned()),
        path,
        in_config: false,
        description: m
            .path
            .rsplit_once('/')
            .map_or_else(String::new, |(dir, _)| format!("from {dir}")),
        size_bytes: Some(m.file_size),
        kind: Some(m.kind.clone()),
        quantization: Some(m.quantization.clone()),
        problem: None,
    }
}
