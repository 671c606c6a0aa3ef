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
    /// The overlay being handled is open (on the layer stack).
    pub open: bool,
    /// The message input's text.
    pub input: &'a str,
    /// The profile in use.
    pub active_profile: &'a str,
    /// A chat reply is being generated.
    pub generating: bool,
    /// The model is loaded and idle.
    pub engine_idle: bool,
    /// A model is loaded (idle or busy).
    pub model_loaded: bool,
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
    /// The overlay asks to be opened (pushed on the layer stack).
    pub open: bool,
    /// The overlay asks to be closed (taken off the layer stack).
    pub close: bool,
    /// A note for the chat (a system message), e.g. "Adding notes.md".
    pub note: Option<String>,
    /// Something only the dashboard can do (it owns the profiles, the conversation, the model).
    pub request: Option<Request>,
}

/// What a component asks of the dashboard beyond effects: things that change state it does not own.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Make this profile the active one.
    UseProfile(String),
    /// Use this prompt template for the next messages.
    UseTemplate(String),
    /// Open this stored conversation (nothing if it is the one shown).
    OpenConversation(u64),
    /// Delete this stored conversation (`label` is its title, for the status bar).
    DeleteConversation { id: u64, label: String },
    /// Give this stored conversation a new title.
    RenameConversation { id: u64, title: String },
    /// Save the settings in use as a new profile under this name.
    SaveProfileAs(String),
    /// Switch to the model this picker key stands for.
    SwitchModel(String),
    /// Start the server on the loaded model with the profile and settings in use.
    StartServer,
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

    /// The overlay opens.
    pub fn open() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// The overlay closes, asking nothing else.
    pub fn close() -> Self {
        Self {
            close: true,
            ..Self::default()
        }
    }

    /// The overlay closes and asks the dashboard for `request`.
    pub fn close_with(request: Request) -> Self {
        Self {
            request: Some(request),
            ..Self::close()
        }
    }

    /// The same, with a status message.
    pub fn with_status(mut self, text: impl Into<String>) -> Self {
        self.status = Some(text.into());
        self
    }

    pub fn and(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
}
