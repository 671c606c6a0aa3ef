//! The config actor's messages, and what it tells the dashboard.
use actix::Message;

/// Write `profile` as `name` into profiles.toml; answered with the config as it then reads.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<std::sync::Arc<crate::config::Config>, String>")]
pub struct SaveProfile {
    pub name: String,
    pub profile: crate::config::Profile,
}

/// What the config actor saw when the files in the config dir changed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigEvent {
    /// The files parse and validate: the whole config and the templates as they now read (a
    /// broken template file is reported apart, with `Invalid`, and the built-in stays).
    Reloaded {
        config: std::sync::Arc<crate::config::Config>,
        templates: std::sync::Arc<crate::config::TemplateSet>,
        /// keymap.toml and theme.toml (their last good versions when the new ones are broken).
        keymap: std::sync::Arc<crate::config::keymap::Keymap>,
        theme: crate::config::theme::Theme,
    },
    /// An edit does not parse or validate (file:line:col: what); the last good config stays.
    Invalid(String),
}
