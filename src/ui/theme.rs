//! Colours and styles, in one place.
use std::str::FromStr;
use std::sync::RwLock;

use ratatui::style::{Color, Modifier, Style};

use crate::config::pure::{line_col, locate};
use crate::config::ConfigError;

use crate::app::Role;

/// The colours in use: the embedded `config/theme.toml` with the user's theme.toml over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub accent: Color,
    pub user: Color,
    pub assistant: Color,
    pub system: Color,
    pub error: Color,
    pub dim: Color,
    pub token_rate: Color,
    pub rss: Color,
    pub cpu: Color,
    pub status_bg: Color,
    pub status_fg: Color,
}

pub const DEFAULT_THEME: &str = include_str!("../../config/theme.toml");

impl Default for Theme {
    fn default() -> Self {
        parse_theme("theme.toml", None).expect("embedded theme.toml")
    }
}

/// The theme's keys, in the file's order.
const KEYS: [&str; 11] = [
    "accent",
    "user",
    "assistant",
    "system",
    "error",
    "dim",
    "token_rate",
    "rss",
    "cpu",
    "status_bg",
    "status_fg",
];

/// `<config dir>/theme.toml` over the defaults (the defaults alone when there is none).
pub fn load_theme(dir: &std::path::Path) -> Result<Theme, ConfigError> {
    let path = dir.join("theme.toml");
    let text = crate::config::store::read_optional(&path)?;
    parse_theme(&path.display().to_string(), text.as_deref())
}

/// The default theme with `user` (the text of the user's theme.toml) over it.
pub fn parse_theme(file: &str, user: Option<&str>) -> Result<Theme, ConfigError> {
    let mut table: toml::Table = DEFAULT_THEME.parse().expect("embedded theme.toml parses");
    if let Some(text) = user {
        let over: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            file: file.to_string(),
            position: e.span().map(|s| line_col(text, s.start)),
            message: e.message().trim().replace('\n', "; "),
        })?;
        for (key, value) in over {
            let at = locate(text, &[], &key);
            let err = |message: String| ConfigError {
                file: file.to_string(),
                position: at,
                message,
            };
            if !KEYS.contains(&key.as_str()) {
                return Err(err(format!(
                    "unknown colour `{key}` (known: {})",
                    KEYS.join(", ")
                )));
            }
            let Some(name) = value.as_str() else {
                return Err(err(format!("`{key}` is a colour name or \"#rrggbb\"")));
            };
            Color::from_str(name).map_err(|_| err(format!("`{key}`: `{name}` is not a colour")))?;
            table.insert(key, value);
        }
    }
    let color = |key: &str| {
        table
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(|s| Color::from_str(s).ok())
            .unwrap_or(Color::Reset)
    };
    Ok(Theme {
        accent: color("accent"),
        user: color("user"),
        assistant: color("assistant"),
        system: color("system"),
        error: color("error"),
        dim: color("dim"),
        token_rate: color("token_rate"),
        rss: color("rss"),
        cpu: color("cpu"),
        status_bg: color("status_bg"),
        status_fg: color("status_fg"),
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_colours_overlay_and_bad_ones_are_pointed_at() {
        assert_eq!(Theme::default().accent, Color::Cyan);
        assert_eq!(Theme::default().status_bg, Color::Rgb(30, 30, 46));
        let t = parse_theme("theme.toml", Some("accent = \"#ff8800\"\n")).unwrap();
        assert_eq!(t.accent, Color::Rgb(255, 136, 0));
        assert_eq!(t.user, Color::LightBlue, "the rest stays");
        let e = parse_theme("t.toml", Some("\naccent = \"blurple\"\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml:2:1: `accent`: `blurple` is not a colour"
        );
        let e = parse_theme("t.toml", Some("acent = \"red\"\n")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.toml:1:1: unknown colour `acent`"),
            "{e}"
        );
    }
}
