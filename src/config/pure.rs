//! The rules, without IO: parse a file's text, overlay it on the embedded defaults, validate the
//! result, and say where in the user's text a problem is (1-based line and column).
use std::collections::BTreeMap;

use serde::Deserialize;
use toml::{Table, Value};

use super::{ConfigError, FileKind, ModelEntry, Profile, Settings};
use crate::sampling::constrained::OutputConstraint;
use crate::sampling::{SamplerKind, SamplerParams};

/// 1-based line and column (in characters) of a byte offset, as editors count them.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where `key` is set under the table `[path]` in a hand-written file (standard tables and plain
/// `key = value` lines, the shapes our files and `profile set` use). `None` when it is not set
/// there, e.g. when the faulty value came from the defaults.
pub fn locate(text: &str, path: &[&str], key: &str) -> Option<(usize, usize)> {
    let mut current: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            let header = header.split(']').next().unwrap_or("");
            current = header
                .split('.')
                .map(|p| p.trim().trim_matches('"').to_string())
                .collect();
            continue;
        }
        if current.iter().map(String::as_str).eq(path.iter().copied()) {
            let name = trimmed.split('=').next().unwrap_or("").trim();
            if trimmed.contains('=') && name.trim_matches('"') == key {
                return Some((i + 1, line.len() - trimmed.len() + 1));
            }
        }
    }
    None
}

/// Overlays `over` on `base`: tables merge key by key, anything else (numbers, strings, arrays)
/// replaces the base's value whole.
pub fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        position: e.span().map(|s| line_col(text, s.start)),
        // One line: it goes to the log and, later, the status bar.
        message: e.message().trim().replace('\n', "; "),
    }
}

fn error_at(file: &str, text: Option<&str>, path: &[&str], key: &str, msg: String) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        position: text.and_then(|t| locate(t, path, key)),
        message: msg,
    }
}

/// The user's text as a table (syntax only), or an empty table when there is no user file.
fn user_table(file: &str, text: Option<&str>) -> Result<Table, ConfigError> {
    match text {
        None => Ok(Table::new()),
        Some(t) => t.parse::<Table>().map_err(|e| toml_error(file, t, &e)),
    }
}

/// Type-checks the user's text on its own, because toml's errors only carry positions while the
/// text they point into is the one being deserialized (the merged table has none).
fn typecheck<T: for<'de> Deserialize<'de>>(
    file: &str,
    text: Option<&str>,
) -> Result<(), ConfigError> {
    if let Some(t) = text {
        toml::from_str::<T>(t).map_err(|e| toml_error(file, t, &e))?;
    }
    Ok(())
}

/// The user's table over the embedded defaults, deserialized. The user's part was type-checked on
/// its own (with positions) before; an error here concerns the combination, so it has none.
fn overlaid<T: serde::de::DeserializeOwned>(
    file: &str,
    kind: FileKind,
    user: Table,
) -> Result<T, ConfigError> {
    Value::Table(overlay(kind, user))
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError {
            file: file.to_string(),
            position: None,
            message: e.message().to_string(),
        })
}

fn overlay(kind: FileKind, user: Table) -> Table {
    let mut base: Table = kind.defaults().parse().expect("embedded defaults parse");
    merge(&mut base, user);
    base
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ProfilesFile {
    profiles: BTreeMap<String, Profile>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ModelsFile {
    models: BTreeMap<String, ModelEntry>,
}

/// The keys a `[profiles.NAME.sampler]` table may set: every field of [`SamplerParams`].
pub fn sampler_keys() -> Vec<String> {
    let defaults = SamplerParams {
        seed: Some(0),
        ..SamplerParams::default()
    };
    let table = Table::try_from(defaults).expect("SamplerParams serialises to a table");
    table.keys().cloned().collect()
}

/// The keys of a profile's own table (besides `sampler`).
pub const PROFILE_KEYS: [&str; 9] = [
    "description",
    "max_tokens",
    "context",
    "template",
    "system_prompt",
    "rag",
    "stop",
    "draft",
    "draft_max",
];

/// What serde's derived enum would only call an "unknown variant": an unknown sampler, with the
/// spelling to use when it is one of llama.cpp's aliases.
fn check_sampler_tables(file: &str, text: &str, user: &Table) -> Result<(), ConfigError> {
    let Some(Value::Table(profiles)) = user.get("profiles") else {
        return Ok(());
    };
    let known = sampler_keys();
    for (name, profile) in profiles {
        let Some(Value::Table(sampler)) = profile.get("sampler") else {
            continue;
        };
        let path = ["profiles", name.as_str(), "sampler"];
        for key in sampler.keys() {
            if !known.contains(key) {
                let msg = format!(
                    "unknown sampler setting `{key}` in profile `{name}` (known: {})",
                    known.join(", ")
                );
                return Err(error_at(file, Some(text), &path, key, msg));
            }
        }
        if let Some(m) = sampler.get("mirostat") {
            if !matches!(m.as_str(), Some("off" | "v1" | "v2")) {
                let msg =
                    format!("mirostat is \"off\", \"v1\" or \"v2\" (not {m}) in profile `{name}`");
                return Err(error_at(file, Some(text), &path, "mirostat", msg));
            }
        }
        let Some(Value::Array(order)) = sampler.get("samplers") else {
            continue;
        };
        for item in order {
            let Value::String(s) = item else { continue };
            let canonical = Value::String(s.clone()).try_into::<SamplerKind>();
            if canonical.is_ok() {
                continue;
            }
            let msg = match s.parse::<SamplerKind>() {
                Ok(k) => format!("sampler `{s}` in profile `{name}` is spelled `{k}` here"),
                Err(_) => format!(
                    "unknown sampler `{s}` in profile `{name}` (known: penalties, dry, top_k, \
                     typical, top_p, min_p, xtc, temperature)"
                ),
            };
            return Err(error_at(file, Some(text), &path, "samplers", msg));
        }
    }
    Ok(())
}

/// A profile's values that parse but cannot be meant: (key, message). The key is `sampler.X` for
/// sampler settings, so the error can point at the line.
pub fn validate_profile(p: &Profile) -> Result<(), (String, String)> {
    let s = &p.sampler;
    if s.temperature < 0.0 {
        let msg = format!("temperature must not be negative (got {})", s.temperature);
        return Err(("sampler.temperature".into(), msg));
    }
    for (key, v) in [
        ("top_p", s.top_p),
        ("min_p", s.min_p),
        ("typical_p", s.typical_p),
        ("xtc_probability", s.xtc_probability),
        ("xtc_threshold", s.xtc_threshold),
    ] {
        if !(0.0..=1.0).contains(&v) {
            let msg = format!("{key} must be within 0..=1 (got {v})");
            return Err((format!("sampler.{key}"), msg));
        }
    }
    if s.samplers.is_empty() {
        return Err((
            "sampler.samplers".into(),
            "the sampler order is empty".into(),
        ));
    }
    if let Err(msg) = s.validate() {
        // SamplerParams::validate names the field first.
        let key = msg.split_whitespace().next().unwrap_or("temperature");
        return Err((format!("sampler.{key}"), msg));
    }
    if p.max_tokens == 0 {
        return Err(("max_tokens".into(), "max_tokens must be at least 1".into()));
    }
    if !(16..=131_072).contains(&p.context) {
        let msg = format!(
            "context must be within 16..=131072 tokens (got {})",
            p.context
        );
        return Err(("context".into(), msg));
    }
    if p.template.trim().is_empty() {
        return Err(("template".into(), "template must name a template".into()));
    }
    if let Err(msg) = p.rope.validate() {
        return Err(("rope".into(), msg));
    }
    if let Err((key, msg)) = OutputConstraint::from_keys(&p.json_schema, &p.regex, "profile") {
        return Err((key.into(), msg));
    }
    if !(1..=crate::engine::draft::MAX_DRAFT_MAX).contains(&p.draft_max) {
        let msg = format!(
            "draft_max must be within 1..={} (got {})",
            crate::engine::draft::MAX_DRAFT_MAX,
            p.draft_max
        );
        return Err(("draft_max".into(), msg));
    }
    Ok(())
}

/// profiles.toml: the embedded built-ins with the user's text (if any) over them, validated.
pub fn parse_profiles(
    file: &str,
    text: Option<&str>,
) -> Result<BTreeMap<String, Profile>, ConfigError> {
    let user = user_table(file, text)?;
    if let Some(t) = text {
        check_sampler_tables(file, t, &user)?;
    }
    typecheck::<ProfilesFile>(file, text)?;
    let merged: ProfilesFile = overlaid(file, FileKind::Profiles, user)?;
    for (name, profile) in &merged.profiles {
        if let Err((key, msg)) = validate_profile(profile) {
            let (table, leaf) = match key.strip_prefix("sampler.") {
                Some(leaf) => (vec!["profiles", name.as_str(), "sampler"], leaf),
                None => (vec!["profiles", name.as_str()], key.as_str()),
            };
            let msg = format!("{msg} in profile `{name}`");
            return Err(error_at(file, text, &table, leaf, msg));
        }
    }
    Ok(merged.profiles)
}

/// models.toml over the embedded models.
/// A models.toml `path` starting with this is under the models dir.
pub const MODELS_DIR_PLACEHOLDER: &str = "{models_dir}/";

pub fn parse_models(
    file: &str,
    text: Option<&str>,
) -> Result<BTreeMap<String, ModelEntry>, ConfigError> {
    let user = user_table(file, text)?;
    typecheck::<ModelsFile>(file, text)?;
    let mut merged: ModelsFile = overlaid(file, FileKind::Models, user)?;
    for m in merged.models.values_mut() {
        // `{models_dir}/FILE` names a file `gemma-tui model pull` puts in the models dir (the
        // embedded smollm2 entry), wherever that dir is on this machine.
        if let Some(file) = m.path.strip_prefix(MODELS_DIR_PLACEHOLDER) {
            m.path = crate::models::models_dir()
                .join(file)
                .to_string_lossy()
                .into_owned();
        }
    }
    for (name, m) in &merged.models {
        if m.max_context < 16 {
            let msg = format!(
                "max_context must be at least 16 (got {}) in model `{name}`",
                m.max_context
            );
            return Err(error_at(file, text, &["models", name], "max_context", msg));
        }
        if let Err(msg) = m.rope.validate() {
            let msg = format!("{msg} in model `{name}`");
            return Err(error_at(file, text, &["models", name], "rope", msg));
        }
        if let Err((key, msg)) = super::remote_entry::validate(m) {
            let msg = format!("{msg} in model `{name}`");
            return Err(error_at(file, text, &["models", name], key, msg));
        }
    }
    Ok(merged.models)
}

/// settings.toml over the embedded settings; its references must name a known profile and model.
pub fn parse_settings(
    file: &str,
    text: Option<&str>,
    profiles: &BTreeMap<String, Profile>,
    models: &BTreeMap<String, ModelEntry>,
) -> Result<Settings, ConfigError> {
    let user = user_table(file, text)?;
    typecheck::<Settings>(file, text)?;
    let settings: Settings = overlaid(file, FileKind::Settings, user)?;
    if !profiles.contains_key(&settings.active_profile) {
        let msg = format!(
            "active_profile `{}` is not a profile (known: {})",
            settings.active_profile,
            profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        return Err(error_at(file, text, &[], "active_profile", msg));
    }
    if !models.contains_key(&settings.model) {
        let msg = format!(
            "model `{}` is not in models.toml (known: {})",
            settings.model,
            models.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        return Err(error_at(file, text, &[], "model", msg));
    }
    if let Err((key, msg)) = settings.rag.validate() {
        let (table, leaf) = match key.strip_prefix("weights.") {
            Some(leaf) => (vec!["rag", "weights"], leaf),
            None => (vec!["rag"], key.as_str()),
        };
        return Err(error_at(file, text, &table, leaf, msg));
    }
    if let Err(msg) = settings.server.validate() {
        let key = if msg.contains("parallel") {
            "parallel"
        } else {
            "host"
        };
        return Err(error_at(file, text, &["server"], key, msg));
    }
    Ok(settings)
}

/// Checks one file's text as `kind` against the embedded defaults of the other files (what the
/// fixtures test; loading checks it against the user's other files instead).
pub fn check_text(kind: FileKind, file: &str, text: &str) -> Result<(), ConfigError> {
    match kind {
        FileKind::Profiles => parse_profiles(file, Some(text)).map(drop),
        FileKind::Models => parse_models(file, Some(text)).map(drop),
        FileKind::Settings => {
            let profiles = parse_profiles("profiles.toml", None).expect("embedded profiles");
            let models = parse_models("models.toml", None).expect("embedded models");
            parse_settings(file, Some(text), &profiles, &models).map(drop)
        }
    }
}

#[cfg(test)]
#[path = "pure_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "remote_entry_tests.rs"]
mod remote_entry_tests;
