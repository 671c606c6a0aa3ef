//! keymap.toml: the default keymap (embedded from `config/keymap.toml`) with the user's file over
//! it. Under a context's table, `action = ["Key", ...]` replaces the action's keys there.
use crossterm::event::{KeyCode, KeyModifiers};
use toml::{Table, Value};

use super::{Action, Binding, KeyChord, KeyContext, Keymap};
use crate::config::pure::{line_col, locate, merge};
use crate::config::ConfigError;

pub const DEFAULT_KEYMAP: &str = include_str!("../../../config/keymap.toml");

/// "Ctrl-P", "Alt-Enter", "Shift-Tab", "F2", "?", "Space" as a chord.
pub fn parse_key(text: &str) -> Result<KeyChord, String> {
    let mut modifiers = KeyModifiers::NONE;
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let (m, len) = if lower.starts_with("ctrl-") {
            (KeyModifiers::CONTROL, 5)
        } else if lower.starts_with("alt-") {
            (KeyModifiers::ALT, 4)
        } else if lower.starts_with("shift-") && rest.len() > 6 {
            (KeyModifiers::SHIFT, 6)
        } else {
            break;
        };
        modifiers |= m;
        rest = &rest[len..];
    }
    let code = match rest.to_ascii_lowercase().as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "space" => KeyCode::Char(' '),
        f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
            match f[1..].parse::<u8>() {
                Ok(n @ 1..=12) => KeyCode::F(n),
                _ => return Err(format!("`{text}`: function keys are F1..F12")),
            }
        }
        _ => {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => {
                    // Ctrl+letter is case-insensitive, like the lookup.
                    let c = if modifiers.contains(KeyModifiers::CONTROL) {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    };
                    modifiers.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c)
                }
                _ => return Err(format!("unknown key `{text}`")),
            }
        }
    };
    Ok(KeyChord::new(code, modifiers))
}

/// `<config dir>/keymap.toml` over the defaults (the defaults alone when there is none).
pub fn load_keymap(dir: &std::path::Path) -> Result<Keymap, ConfigError> {
    let path = dir.join("keymap.toml");
    let text = crate::config::store::read_optional(&path)?;
    parse_keymap(&path.display().to_string(), text.as_deref())
}

/// The default keymap with `user` (the text of the user's keymap.toml) over it.
pub fn parse_keymap(file: &str, user: Option<&str>) -> Result<Keymap, ConfigError> {
    let err = |path: &[&str], key: &str, message: String| ConfigError {
        file: file.to_string(),
        position: user.and_then(|t| locate(t, path, key)),
        message,
    };
    let mut table: Table = DEFAULT_KEYMAP.parse().expect("embedded keymap.toml parses");
    if let Some(text) = user {
        let over: Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            file: file.to_string(),
            position: e.span().map(|s| line_col(text, s.start)),
            message: e.message().trim().replace('\n', "; "),
        })?;
        for (ctx, value) in &over {
            if !KeyContext::ALL.iter().any(|c| c.id() == ctx) {
                let known: Vec<&str> = KeyContext::ALL.iter().map(|c| c.id()).collect();
                let msg = format!("unknown context `[{ctx}]` (known: {})", known.join(", "));
                return Err(ConfigError {
                    position: user.and_then(|t| {
                        t.lines()
                            .position(|l| l.trim() == format!("[{ctx}]"))
                            .map(|i| (i + 1, 1))
                    }),
                    ..err(&[], ctx, msg)
                });
            }
            if !value.is_table() {
                return Err(err(&[], ctx, format!("`{ctx}` must be a table")));
            }
        }
        merge(&mut table, over);
    }
    let mut bindings = Vec::new();
    for ctx in KeyContext::ALL {
        let Some(Value::Table(actions)) = table.get(ctx.id()) else {
            continue;
        };
        for (name, keys) in actions {
            let path = [ctx.id()];
            if Action::from_name(name).is_none() {
                return Err(err(
                    &path,
                    name,
                    format!("unknown action `{name}` in [{}]", ctx.id()),
                ));
            }
            let Value::Array(keys) = keys else {
                let msg = format!("`{name}` takes a list of keys, e.g. [\"Ctrl-P\"]");
                return Err(err(&path, name, msg));
            };
            for key in keys {
                let Value::String(key) = key else {
                    return Err(err(&path, name, format!("`{name}`: keys are strings")));
                };
                let chord = parse_key(key).map_err(|e| err(&path, name, e))?;
                bindings.push((ctx, chord, name.clone()));
            }
        }
    }
    // In the actions' own order, so the help overlay reads the same whatever the file's order.
    let mut out: Vec<Binding> = Vec::new();
    for ctx in KeyContext::ALL {
        for action in Action::ALL {
            for (c, key, name) in &bindings {
                if *c != ctx || name != action.name() {
                    continue;
                }
                if let Some(other) = out.iter().find(|b| b.context == ctx && b.key == *key) {
                    let msg = format!(
                        "{} is bound to both `{}` and `{name}` in [{}]",
                        key.label(),
                        other.action.name(),
                        ctx.id()
                    );
                    return Err(err(&[ctx.id()], name, msg));
                }
                out.push(Binding {
                    context: ctx,
                    key: *key,
                    action,
                });
            }
        }
    }
    Ok(Keymap::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_like_their_labels() {
        for label in [
            "Ctrl-P",
            "Alt-Enter",
            "Shift-Tab",
            "F2",
            "?",
            "PgUp",
            "Alt-1",
            "Space",
        ] {
            assert_eq!(parse_key(label).unwrap().label(), label, "{label}");
        }
        assert!(parse_key("F13").is_err());
        assert!(parse_key("Hyper-X").is_err());
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = parse_keymap("keymap.toml", None).unwrap();
        for a in Action::ALL {
            assert!(
                km.label_for(a).is_some(),
                "{} is not in config/keymap.toml",
                a.name()
            );
        }
    }

    #[test]
    fn user_entries_replace_an_actions_keys_and_errors_point_at_them() {
        let km = parse_keymap(
            "keymap.toml",
            Some("[global]\npick_profile = [\"Alt-P\", \"F9\"]\ntoggle_log = []\n"),
        )
        .unwrap();
        assert_eq!(
            km.label_for(Action::OpenProfilePicker).as_deref(),
            Some("Alt-P")
        );
        assert!(km.label_for(Action::ToggleLog).is_none());
        assert!(km.label_for(Action::Send).is_some(), "the rest stays");

        let e = parse_keymap("k.toml", Some("[global]\n\nfly = [\"F9\"]\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.toml:3:1: unknown action `fly` in [global]"
        );
        let e = parse_keymap(
            "k.toml",
            Some("[global]\ntoggle_log = [\"Ctrl-Shift-Nope\"]\n"),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("k.toml:2:1: unknown key"), "{e}");
        let e = parse_keymap("k.toml", Some("[global]\ntoggle_log = [\"F1\"]\n")).unwrap_err();
        assert!(
            e.message
                .contains("F1 is bound to both `toggle_help` and `toggle_log`"),
            "{e}"
        );
        let e = parse_keymap("k.toml", Some("[nowhere]\n")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("k.toml:1:1: unknown context `[nowhere]`"),
            "{e}"
        );
    }
}
