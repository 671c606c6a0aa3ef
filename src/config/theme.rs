//! theme.toml: the dashboard's colours (the embedded `config/theme.toml` with the user's file over
//! it). The styles built from them are in `ui::theme`.
use std::str::FromStr;

use ratatui::style::Color;

use crate::config::pure::{line_col, locate};
use crate::config::ConfigError;

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
