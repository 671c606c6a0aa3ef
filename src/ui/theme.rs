//! Styles, in one place, built from the [`Theme`] in use (config/theme.rs parses theme.toml).
use std::sync::RwLock;

use ratatui::style::{Color, Modifier, Style};

use crate::app::Role;
pub use crate::config::theme::Theme;

static CURRENT: RwLock<Option<Theme>> = RwLock::new(None);

/// The theme every pane draws with (the defaults until [`set`]).
pub fn current() -> Theme {
    let theme = *CURRENT.read().unwrap_or_else(|e| e.into_inner());
    theme.unwrap_or_default()
}

/// Uses `theme` from the next frame on (at start and on a hot reload).
pub fn set(theme: Theme) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(theme);
}

/// Border style of a pane, brighter when it has focus.
pub fn border(focused: bool) -> Style {
    let t = current();
    Style::default().fg(if focused { t.accent } else { t.dim })
}

pub fn title(focused: bool) -> Style {
    let s = Style::default().add_modifier(Modifier::BOLD);
    if focused {
        s.fg(current().accent)
    } else {
        s
    }
}

pub fn role(role: Role) -> Style {
    let t = current();
    let c = match role {
        Role::User => t.user,
        Role::Assistant => t.assistant,
        Role::System => t.system,
        Role::Error => t.error,
    };
    Style::default().fg(c).add_modifier(Modifier::BOLD)
}

pub fn body(role: Role) -> Style {
    match role {
        Role::Error => Style::default().fg(current().error),
        Role::System => Style::default().fg(current().system),
        _ => Style::default(),
    }
}

pub fn dim() -> Style {
    Style::default().fg(current().dim)
}

pub fn status_bar() -> Style {
    let t = current();
    Style::default().bg(t.status_bg).fg(t.status_fg)
}

pub fn log_level(level: tracing::Level) -> Style {
    let c = match level {
        tracing::Level::ERROR => Color::LightRed,
        tracing::Level::WARN => Color::Yellow,
        tracing::Level::INFO => Color::Green,
        tracing::Level::DEBUG => Color::Blue,
        tracing::Level::TRACE => Color::DarkGray,
    };
    Style::default().fg(c)
}
