//! Styles, in one place, built from the [`Theme`] in use (`AppState::theme`; config/theme.rs
//! parses theme.toml). No global: every pane draws with the theme it is given.
use ratatui::style::{Color, Modifier, Style};

use crate::app::Role;
pub use crate::config::theme::Theme;

/// Border style of a pane, brighter when it has focus.
pub fn border(t: Theme, focused: bool) -> Style {
    Style::default().fg(if focused { t.accent } else { t.dim })
}

pub fn title(t: Theme, focused: bool) -> Style {
    let s = Style::default().add_modifier(Modifier::BOLD);
    if focused {
        s.fg(t.accent)
    } else {
        s
    }
}

pub fn role(t: Theme, role: Role) -> Style {
    let c = match role {
        Role::User => t.user,
        Role::Assistant => t.assistant,
        Role::System => t.system,
        Role::Error => t.error,
    };
    Style::default().fg(c).add_modifier(Modifier::BOLD)
}

pub fn body(t: Theme, role: Role) -> Style {
    match role {
        Role::Error => Style::default().fg(t.error),
        Role::System => Style::default().fg(t.system),
        _ => Style::default(),
    }
}

pub fn dim(t: Theme) -> Style {
    Style::default().fg(t.dim)
}

pub fn status_bar(t: Theme) -> Style {
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
