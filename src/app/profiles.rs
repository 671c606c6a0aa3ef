//! The active profile and prompt template: switching them (keys and pickers), hot-reloaded config,
//! saving the current settings as a profile, and turning a message into the user turn.
use std::sync::Arc;

use crate::actors::inference::ChatTurn;
use crate::config::{Config, Profile, TemplateSet};
use crate::engine::Limits;

/// The config the dashboard runs with.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub config: Arc<Config>,
    pub templates: Arc<TemplateSet>,
    /// The active profile's name.
    pub active: String,
    /// A template picked for this session, over the profile's.
    pub template_override: Option<String>,
}

impl Default for Profiles {
    fn default() -> Self {
        let config = Config::defaults();
        Self {
            active: config.settings.active_profile.clone(),
            config: Arc::new(config),
            templates: Arc::new(TemplateSet::builtin()),
            template_override: None,
        }
    }
}

impl Profiles {
    /// The active profile's settings (the defaults when it vanished from the files).
    pub fn profile(&self) -> Profile {
        self.config
            .profiles
            .get(&self.active)
            .cloned()
            .unwrap_or_default()
    }

    /// The template the next message is rendered with.
    pub fn template_name(&self) -> String {
        self.template_override
            .clone()
            .unwrap_or_else(|| self.profile().template)
    }
}

/// What a message becomes: the user turn (text, system prompt and the transcript a base model
/// would continue) and how long the reply may run and what ends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub turn: ChatTurn,
    pub limits: Limits,
    /// The template's or the profile's output constraint (the template's wins).
    pub output: Option<crate::sampling::constrained::OutputConstraint>,
    /// The profile's context shift (`keep` when `context_shift` is on).
    pub context_shift: Option<usize>,
    /// The profile's drafting (`None`: off).
    pub draft: Option<crate::engine::DraftParams>,
}
