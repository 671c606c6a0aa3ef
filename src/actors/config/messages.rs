//! What the config actor tells the dashboard.

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
