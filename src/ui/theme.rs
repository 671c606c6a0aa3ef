//! Colours and styles, in one place.
use ratatui::style::{Color, Modifier, Style};

use crate::app::Role;

pub const ACCENT: Color = Color::Cyan;
pub const USER: Color = Color::LightBlue;
pub const ASSISTANT: Color = Color::LightGreen;
pub const SYSTEM: Color = Color::Yellow;
pub const ERROR: Color = Color::LightRed;
pub const DIM: Color = Color::DarkGray;
pub const TOKEN_RATE: Color = Color::LightGreen;
pub const RSS: Color = Color::LightMagenta;
pub const CPU: Color = Color::LightYellow;
pub const STATUS_BG: Color = Color::Rgb(30, 30, 46);
pub const STATUS_FG: Color = Color::Gray;

/// Border style of a pane, brighter when it has focus.
pub fn border(focused: bool) -> Style {
    if focused {
        Style::default().fg(ACCENT)
    } else {
        Style::default().fg(DIM)
    }
}

pub fn title(focused: bool) -> Style {
    let s = Style::default().add_modifier(Modifier::BOLD);
    if focused {
        s.fg(ACCENT)
    } else {
        s
    }
}

pub fn role(role: Role) -> Style {
    let c = match role {
        Role::User => USER,
        Role::Assistant => ASSISTANT,
        Role::System => SYSTEM,
        Role::Error => ERROR,
    };
    Style::default().fg(c).add_modifier(Modifier::BOLD)
}

pub fn body(role: Role) -> Style {
    match role {
        Role::Error => Style::default().fg(ERROR),
        Role::System => Style::default().fg(SYSTEM),
        _ => Style::default(),
    }
}

pub fn dim() -> Style {
    Style::default().fg(DIM)
}

pub fn status_bar() -> Style {
    Style::default().bg(STATUS_BG).fg(STATUS_FG)
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
