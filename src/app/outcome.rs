//! What a pane asks of the dashboard after handling an action, and what it may read of the rest:
//! a pane never reaches into `AppState`. It gets a [`Ctx`] (read-only facts about the model, the
//! input, the keymap) and returns an [`Outcome`] (effects for the event loop, a status message).
use super::action::Focus;
use super::effect::Effect;
use crate::config::keymap::Keymap;

/// What a pane may read of the dashboard while it handles an action.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub keymap: &'a Keymap,
    /// The pane that has focus.
    pub focus: Focus,
    /// The message input's text.
    pub input: &'a str,
    /// The profile in use.
    pub active_profile: &'a str,
    /// A chat reply is being generated.
    pub generating: bool,
    /// The model is loaded and idle.
    pub engine_idle: bool,
    /// A bench suite is running.
    pub bench_running: bool,
}

/// What a pane wants done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    /// A transient message for the status bar.
    pub status: Option<String>,
    /// The pane that should have focus next.
    pub focus: Option<Focus>,
}

impl Outcome {
    pub fn effect(effect: Effect) -> Self {
        Self {
            effects: vec![effect],
            ..Self::default()
        }
    }

    pub fn status(text: impl Into<String>) -> Self {
        Self {
            status: Some(text.into()),
            ..Self::default()
        }
    }

    pub fn focus(focus: Focus) -> Self {
        Self {
            focus: Some(focus),
            ..Self::default()
        }
    }

    pub fn and(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
}
