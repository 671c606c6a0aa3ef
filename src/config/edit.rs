//! Edits of the user's profiles.toml as a table, without IO: the caller validates the result with
//! [`super::pure::parse_profiles`] and writes it atomically. Only what the user changed is written,
//! so the built-ins keep following the embedded defaults for every other key.
use std::collections::BTreeMap;

use toml::{Table, Value};

use super::pure::{sampler_keys, PROFILE_KEYS};
use super::{Profile, BUILTIN_PROFILES};
use crate::sampling::{parse_order, Mirostat};

fn profiles_mut(user: &mut Table) -> &mut Table {
    let entry = user
        .entry("profiles")
        .or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    entry.as_table_mut().expect("just made a table")
}

fn known<'a>(profiles: &'a BTreeMap<String, Profile>, name: &str) -> Result<&'a Profile, String> {
    profiles.get(name).ok_or_else(|| {
        format!(
            "unknown profile `{name}` (known: {})",
            profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// Where a key lives in a profile's table: `temperature` and `sampler.temperature` are the same.
pub fn resolve_key(key: &str) -> Result<(Option<&'static str>, String), String> {
    let leaf = key.strip_prefix("sampler.").unwrap_or(key);
    if leaf == key && PROFILE_KEYS.contains(&leaf) {
        return Ok((None, leaf.to_string()));
    }
    if sampler_keys().iter().any(|k| k == leaf) {
        return Ok((Some("sampler"), leaf.to_string()));
    }
    Err(format!(
        "unknown key `{key}` (profile keys: {}; sampler keys: {})",
        PROFILE_KEYS.join(", "),
        sampler_keys().join(", ")
    ))
}

/// The TOML value a command-line string means for `key`: strings stay strings, the order and
/// Mirostat take the spellings the `ask` flags take, anything else is read as a TOML value.
pub fn value_for(key: &str, raw: &str) -> Result<Value, String> {
    match key {
        "description" | "template" | "system_prompt" | "draft" => {
            Ok(Value::String(raw.to_string()))
        }
        "samplers" => Ok(Value::Array(
            parse_order(raw)?
                .into_iter()
                .map(|k| Value::String(k.name().to_string()))
                .collect(),
        )),
        "mirostat" => {
            let m = match raw.trim() {
                "0" | "off" => Mirostat::Off,
                "1" | "v1" => Mirostat::V1,
                "2" | "v2" => Mirostat::V2,
                other => {
                    return Err(format!(
                        "mirostat is 0, 1 or 2 (or off, v1, v2), not `{other}`"
                    ))
                }
            };
            Value::try_from(m).map_err(|e| e.to_string())
        }
        _ => format!("v = {raw}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .ok_or_else(|| format!("`{raw}` is not a value for {key}")),
    }
}

/// `profile set NAME KEY VALUE` on the user's table.
pub fn set_key(
    user: &mut Table,
    profiles: &BTreeMap<String, Profile>,
    name: &str,
    key: &str,
    raw: &str,
) -> Result<(), String> {
    known(profiles, name)?;
    let (sub, leaf) = resolve_key(key)?;
    let value = value_for(&leaf, raw)?;
    let mut table = profiles_mut(user)
        .entry(name)
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| format!("profiles.{name} is not a table"))?;
    if let Some(sub) = sub {
        table = table
            .entry(sub)
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("profiles.{name}.{sub} is not a table"))?;
    }
    table.insert(leaf, value);
    Ok(())
}

/// A name a user can give: it becomes a TOML key and a word on the command line.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a profile name (letters, digits, - and _ only)"
        ))
    }
}

/// A profile as a table, its numbers as written: the sampler's fields are f32, which toml widens
/// to f64 (0.2 would become 0.20000000298023224); the shortest f32 spelling reads back the same.
pub fn to_table(profile: &Profile) -> Result<Table, String> {
    fn tidy(v: &mut Value) {
        match v {
            Value::Float(f) => {
                if let Ok(short) = (*f as f32).to_string().parse::<f64>() {
                    *f = short;
                }
            }
            Value::Table(t) => t.iter_mut().for_each(|(_, v)| tidy(v)),
            Value::Array(a) => a.iter_mut().for_each(tidy),
            _ => {}
        }
    }
    let mut v = Value::try_from(profile).map_err(|e| e.to_string())?;
    tidy(&mut v);
    match v {
        Value::Table(t) => Ok(t),
        _ => Err("a profile serialises to a table".into()),
    }
}

/// `profile copy SRC DST`: the new profile gets SRC's full effective settings.
pub fn copy(
    user: &mut Table,
    profiles: &BTreeMap<String, Profile>,
    src: &str,
    dst: &str,
) -> Result<(), String> {
    check_name(dst)?;
    let source = known(profiles, src)?;
    if profiles.contains_key(dst) {
        return Err(format!("profile `{dst}` exists already"));
    }
    let table = to_table(source)?;
    profiles_mut(user).insert(dst.to_string(), Value::Table(table));
    Ok(())
}

/// `profile delete NAME`: only the user's own profiles, and not the active one.
pub fn delete(
    user: &mut Table,
    profiles: &BTreeMap<String, Profile>,
    name: &str,
    active: &str,
) -> Result<(), String> {
    known(profiles, name)?;
    if BUILTIN_PROFILES.contains(&name) {
        return Err(format!(
            "`{name}` is a built-in profile and cannot be deleted (remove its table from \
             profiles.toml to restore its defaults)"
        ));
    }
    if name == active {
        return Err(format!(
            "`{name}` is the active profile (settings.toml): choose another one first"
        ));
    }
    profiles_mut(user).remove(name);
    Ok(())
}

/// The text written for the user's table.
pub fn render(user: &Table) -> Result<String, String> {
    let body = toml::to_string(user).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Written by `gemma-tui profile`: these keys overlay the built-in profiles.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pure::parse_profiles;

    #[test]
    fn set_writes_only_the_key_and_the_result_overlays_the_builtin() {
        let profiles = parse_profiles("p", None).unwrap();
        let mut user = Table::new();
        set_key(&mut user, &profiles, "balanced", "temperature", "0.3").unwrap();
        set_key(&mut user, &profiles, "balanced", "max_tokens", "99").unwrap();
        set_key(&mut user, &profiles, "balanced", "samplers", "min_p;temp").unwrap();
        let text = render(&user).unwrap();
        let after = parse_profiles("p", Some(&text)).unwrap();
        let (b, a) = (&profiles["balanced"], &after["balanced"]);
        assert_eq!(a.sampler.temperature, 0.3);
        assert_eq!(a.max_tokens, 99);
        assert_eq!(a.sampler.samplers.len(), 2);
        assert_eq!(a.sampler.top_k, b.sampler.top_k);
        assert_eq!(after["coding"], profiles["coding"]);
        assert!(set_key(&mut user, &profiles, "nope", "temperature", "1").is_err());
        let e = set_key(&mut user, &profiles, "balanced", "temprature", "1").unwrap_err();
        assert!(e.starts_with("unknown key `temprature`"), "{e}");
        assert!(set_key(&mut user, &profiles, "balanced", "mirostat", "3").is_err());
    }

    #[test]
    fn copy_and_delete_follow_the_rules() {
        let profiles = parse_profiles("p", None).unwrap();
        let mut user = Table::new();
        copy(&mut user, &profiles, "coding", "mine").unwrap();
        let after = parse_profiles("p", Some(&render(&user).unwrap())).unwrap();
        assert_eq!(after["mine"], profiles["coding"]);
        assert!(copy(&mut user, &after, "coding", "mine").is_err());
        assert!(copy(&mut user, &after, "coding", "bad name").is_err());
        assert!(delete(&mut user, &after, "coding", "balanced")
            .unwrap_err()
            .contains("built-in"));
        assert!(delete(&mut user, &after, "mine", "mine")
            .unwrap_err()
            .contains("active"));
        delete(&mut user, &after, "mine", "balanced").unwrap();
        let after = parse_profiles("p", Some(&render(&user).unwrap())).unwrap();
        assert!(!after.contains_key("mine"));
    }
}
