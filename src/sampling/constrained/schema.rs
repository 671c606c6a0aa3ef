//! A JSON Schema as a regular expression over compact JSON text, for [`FullMatchRegex`].
//!
//! What it covers (and every other keyword is refused by name, never silently ignored): `type`
//! (one or a list), objects with `properties`, `required` (properties come in the schema's order;
//! optional ones may be left out; no others are written, so `additionalProperties` holds whatever
//! it says), arrays with `items`, `minItems`, `maxItems`, strings with `minLength`, `maxLength`,
//! `enum` and `const` of any JSON values, integers with `minimum`, `maximum`, `exclusiveMinimum`,
//! `exclusiveMaximum`, numbers with whole-number bounds, booleans and null. Annotations (`title`,
//! `description`, `$schema`, `$id`, `default`, `examples`, `$comment`) are ignored.
//!
//! A regular expression cannot nest without limit, and a sampled reply should not run on forever,
//! so unbounded things get generous bounds: a schema without a `type` (any JSON value) nests at
//! most [`ANY_DEPTH`] levels; integers without bounds have at most 15 digits, fractions at most 6.
//!
//! [`FullMatchRegex`]: super::FullMatchRegex
use serde_json::{Map, Value};

use super::ordered_json::{self, keys_in_order, KEY_ORDER};

/// How deep a value of unknown type (an empty schema, `{"type":"object"}` without properties)
/// may nest.
pub const ANY_DEPTH: usize = 2;
/// The largest magnitude of an unbounded integer: 15 digits.
const MAX_MAGNITUDE: i64 = 999_999_999_999_999;
const FRACTION: &str = r"(\.[0-9]{1,6})?";
/// One character of a JSON string: anything but a quote, a backslash or a control character,
/// or an escape.
const STRING_CHAR: &str = r#"([^"\\\x00-\x1F]|\\["\\/bfnrt])"#;
/// Optional spacing after `:` and `,` (a model writes `"a": 1, "b": 2` as often as compact JSON).
const SPACE: &str = " ?";

const ANNOTATIONS: [&str; 7] = [
    "title",
    "description",
    "$schema",
    "$id",
    "default",
    "examples",
    "$comment",
];

/// Parses a schema's JSON text (keeping the order of its properties) and translates it.
pub fn schema_text_to_regex(text: &str) -> Result<String, String> {
    let schema =
        ordered_json::parse(text).map_err(|e| format!("the schema is not valid JSON: {e}"))?;
    schema_to_regex(&schema)
}

/// Translates `schema` into a regular expression matching exactly the JSON texts (compact, with
/// optional single spaces after `:` and `,`) that the generated reply may be.
pub fn schema_to_regex(schema: &Value) -> Result<String, String> {
    value_regex(schema, "the schema")
}

/// The regex for any JSON value nesting at most `depth` levels of arrays and objects.
pub fn any_json_regex(depth: usize) -> String {
    let scalar = format!(
        r#"("{STRING_CHAR}*"|{}|true|false|null)"#,
        number(-MAX_MAGNITUDE, MAX_MAGNITUDE)
    );
    let mut value = scalar.clone();
    for _ in 0..depth {
        let members = format!(r#""{STRING_CHAR}*":{SPACE}{value}"#);
        value = format!(
            r"({scalar}|\[({value}(,{SPACE}{value})*)?\]|\{{({members}(,{SPACE}{members})*)?\}})"
        );
    }
    value
}

/// Any JSON object (what an OpenAI `json_object` response format asks for).
pub fn any_object_regex(depth: usize) -> String {
    let value = any_json_regex(depth.saturating_sub(1));
    let members = format!(r#""{STRING_CHAR}*":{SPACE}{value}"#);
    format!(r"\{{({members}(,{SPACE}{members})*)?\}}")
}

fn value_regex(schema: &Value, at: &str) -> Result<String, String> {
    let obj = match schema {
        Value::Bool(true) => return Ok(any_json_regex(ANY_DEPTH)),
        Value::Object(o) => o,
        _ => return Err(format!("{at} must be a JSON object")),
    };
    check_keywords(obj, at)?;
    if let Some(values) = obj.get("enum") {
        let Value::Array(values) = values else {
            return Err(format!("{at}: `enum` must be an array"));
        };
        if values.is_empty() {
            return Err(format!("{at}: `enum` is empty, no value can match"));
        }
        let alts: Vec<String> = values.iter().map(literal).collect();
        return Ok(format!("({})", alts.join("|")));
    }
    if let Some(value) = obj.get("const") {
        return Ok(literal(value));
    }
    let types: Vec<&str> = match obj.get("type") {
        None => return Ok(any_json_regex(ANY_DEPTH)),
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .map(|t| {
                t.as_str()
                    .ok_or_else(|| format!("{at}: `type` lists a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{at}: `type` must be a string or an array of them")),
    };
    let mut alts = Vec::new();
    for t in types {
        alts.push(match t {
            "object" => object(obj, at)?,
            "array" => array(obj, at)?,
            "string" => string(obj, at)?,
            "integer" => {
                let (lo, hi) = int_bounds(obj, at, true)?;
                integer(lo, hi)
            }
            "number" => {
                let (lo, hi) = int_bounds(obj, at, false)?;
                number(lo, hi)
            }
            "boolean" => "(true|false)".into(),
            "null" => "null".into(),
            other => return Err(format!("{at}: unknown type `{other}`")),
        });
    }
    Ok(if alts.len() == 1 {
        alts.pop().unwrap_or_default()
    } else {
        format!("({})", alts.join("|"))
    })
}

/// Refuses keywords this translation does not implement, naming them.
fn check_keywords(obj: &Map<String, Value>, at: &str) -> Result<(), String> {
    const KNOWN: [&str; 15] = [
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
    ];
    let unsupported: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k) && !ANNOTATIONS.contains(k) && *k != KEY_ORDER)
        .collect();
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{at} uses {} not supported for constrained generation: `{}`",
            if unsupported.len() == 1 {
                "a keyword"
            } else {
                "keywords"
            },
            unsupported.join("`, `")
        ))
    }
}

/// A JSON value written exactly as serde_json writes it, escaped for a regex.
fn literal(v: &Value) -> String {
    regex_syntax::escape(&ordered_json::strip(v).to_string())
}

fn object(obj: &Map<String, Value>, at: &str) -> Result<String, String> {
    let Some(props) = obj.get("properties") else {
        return Ok(any_object_regex(ANY_DEPTH));
    };
    let Value::Object(props) = props else {
        return Err(format!("{at}: `properties` must be an object"));
    };
    let required: Vec<&str> = match obj.get("required") {
        None => Vec::new(),
        Some(Value::Array(r)) => r
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| format!("{at}: `required` lists a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{at}: `required` must be an array of names")),
    };
    if let Some(missing) = required
        .iter()
        .find(|r| !props.contains_key(**r) || **r == KEY_ORDER)
    {
        return Err(format!(
            "{at}: `required` names `{missing}`, which is not in `properties`"
        ));
    }
    if let Some(extra) = obj.get("additionalProperties") {
        if !matches!(extra, Value::Bool(_) | Value::Object(_)) {
            return Err(format!(
                "{at}: `additionalProperties` must be a boolean or a schema"
            ));
        }
    }
    // Each property as `"name": value`, with whether it must appear.
    let mut members = Vec::new();
    for name in keys_in_order(props) {
        let sub = &props[name];
        let value = value_regex(sub, &format!("{at} → property `{name}`"))?;
        let key = regex_syntax::escape(&Value::String(name.to_string()).to_string());
        members.push((format!("{key}:{SPACE}{value}"), required.contains(&name)));
    }
    // `rest[i]`: the members from i on, each after a comma (some member came before them).
    let mut rest = vec![String::new(); members.len() + 1];
    for i in (0..members.len()).rev() {
        let (m, req) = &members[i];
        let this = format!(",{SPACE}{m}");
        rest[i] = if *req {
            format!("{this}{}", rest[i + 1])
        } else {
            format!("({this})?{}", rest[i + 1])
        };
    }
    // The body starts with its first present member: one alternative per possible first member
    // (every member before it optional), or nothing when all are optional.
    let mut alts = Vec::new();
    for (i, (m, req)) in members.iter().enumerate() {
        alts.push(format!("{m}{}", rest[i + 1]));
        if *req {
            break;
        }
    }
    let all_optional = members.iter().all(|(_, req)| !req);
    let body = match (alts.is_empty(), all_optional) {
        (true, _) => String::new(),
        (false, true) => format!("({})?", alts.join("|")),
        (false, false) => format!("({})", alts.join("|")),
    };
    Ok(format!(r"\{{{body}\}}"))
}

fn array(obj: &Map<String, Value>, at: &str) -> Result<String, String> {
    let item = match obj.get("items") {
        None => any_json_regex(ANY_DEPTH - 1),
        Some(items) => value_regex(items, &format!("{at} → items"))?,
    };
    let min = count(obj, "minItems", at)?.unwrap_or(0);
    let max = count(obj, "maxItems", at)?;
    if max.is_some_and(|max| max < min) {
        return Err(format!("{at}: `maxItems` is below `minItems`"));
    }
    if max == Some(0) {
        return Ok(r"\[\]".into());
    }
    let more = format!(",{SPACE}{item}");
    let tail = match max {
        Some(max) => format!("({more}){{{},{}}}", min.saturating_sub(1), max - 1),
        None => format!("({more}){{{},}}", min.saturating_sub(1)),
    };
    let list = format!("{item}{tail}");
    Ok(if min == 0 {
        format!(r"\[({list})?\]")
    } else {
        format!(r"\[{list}\]")
    })
}

fn string(obj: &Map<String, Value>, at: &str) -> Result<String, String> {
    let min = count(obj, "minLength", at)?.unwrap_or(0);
    let max = count(obj, "maxLength", at)?;
    Ok(match max {
        Some(max) if max < min => return Err(format!("{at}: `maxLength` is below `minLength`")),
        Some(max) => format!(r#""{STRING_CHAR}{{{min},{max}}}""#),
        None => format!(r#""{STRING_CHAR}{{{min},}}""#),
    })
}

fn count(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<usize>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| format!("{at}: `{key}` must be a non-negative integer")),
    }
}

/// The bounds of a number as whole numbers (exclusive ones moved inward for integers).
fn int_bounds(obj: &Map<String, Value>, at: &str, integer: bool) -> Result<(i64, i64), String> {
    let bound = |key: &str| -> Result<Option<f64>, String> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("{at}: `{key}` must be a number")),
        }
    };
    let whole = |key: &str, x: f64| -> Result<i64, String> {
        if x.fract() != 0.0 || x.abs() > MAX_MAGNITUDE as f64 {
            Err(format!(
                "{at}: `{key}` must be a whole number of at most 15 digits for constrained \
                 generation (got {x})"
            ))
        } else {
            Ok(x as i64)
        }
    };
    let mut lo = -MAX_MAGNITUDE;
    let mut hi = MAX_MAGNITUDE;
    if let Some(x) = bound("minimum")? {
        lo = lo.max(whole("minimum", if integer { x.ceil() } else { x })?);
    }
    if let Some(x) = bound("maximum")? {
        hi = hi.min(whole("maximum", if integer { x.floor() } else { x })?);
    }
    for (key, up) in [("exclusiveMinimum", true), ("exclusiveMaximum", false)] {
        if let Some(x) = bound(key)? {
            if !integer {
                return Err(format!(
                    "{at}: `{key}` is supported on integers only for constrained generation"
                ));
            }
            if up {
                lo = lo.max(whole(key, x.floor())? + 1);
            } else {
                hi = hi.min(whole(key, x.ceil())? - 1);
            }
        }
    }
    if lo > hi {
        return Err(format!(
            "{at}: no number lies between the minimum and the maximum"
        ));
    }
    Ok((lo, hi))
}

/// Integers in `lo..=hi`, written as JSON writes them (no leading zeros, no `-0`).
pub fn integer(lo: i64, hi: i64) -> String {
    let mut alts = Vec::new();
    if lo < 0 {
        // Negative numbers: `-` and a magnitude in (max(hi, -1)).abs() ..= lo.abs().
        let m_lo = if hi < 0 { -hi } else { 1 } as u64;
        alts.push(format!("-({})", unsigned_range(m_lo, lo.unsigned_abs())));
    }
    if hi >= 0 {
        alts.push(unsigned_range(lo.max(0) as u64, hi as u64));
    }
    format!("({})", alts.join("|"))
}

/// Numbers in `lo..=hi` (whole-number bounds) with an optional fraction of up to 6 digits.
pub fn number(lo: i64, hi: i64) -> String {
    let zeros = r"(\.0{1,6})?";
    let mut alts = Vec::new();
    // x >= 0: an integer part below hi with any fraction, or hi itself.
    if hi >= 0 {
        let from = lo.max(0);
        if from < hi {
            alts.push(format!(
                "{}{FRACTION}",
                unsigned_range(from as u64, hi as u64 - 1)
            ));
        }
        alts.push(format!("{hi}{zeros}"));
    }
    // x < 0: -(m) with m in [max(-hi, 0), -lo]: an integer part below -lo with any fraction
    // (but at least |hi| when hi < 0), or -lo itself.
    if lo < 0 {
        let m_hi = lo.unsigned_abs();
        let m_lo = if hi < 0 { hi.unsigned_abs() } else { 0 };
        if m_lo < m_hi {
            // m_lo with a zero fraction is hi itself (or -0): allowed either way.
            alts.push(format!("-{}{FRACTION}", unsigned_range(m_lo, m_hi - 1)));
        }
        alts.push(format!("-{m_hi}{zeros}"));
    }
    format!("({})", alts.join("|"))
}

/// Non-negative integers in `lo..=hi` without leading zeros: split into runs sharing a prefix
/// and ending in any digits (`1[3-9]`, `[2-9][0-9]`, `1[0-9]{2}`, ...).
fn unsigned_range(lo: u64, hi: u64) -> String {
    let mut alts = Vec::new();
    let mut start = lo;
    while start <= hi {
        // The widest block start..=start + 10^k - 1 that stays within the range and the digits.
        let mut k = 0u32;
        while let Some(step) = 10u64.checked_pow(k + 1) {
            if !start.is_multiple_of(step) || start + step - 1 > hi || (start == 0 && k == 0) {
                break;
            }
            k += 1;
        }
        let block = 10u64.pow(k);
        // Widen the last free digit into a class: start, start+block, ... up to the digit 9.
        let digit = (start / block) % 10;
        let mut last_digit = digit;
        while last_digit < 9 && start + (last_digit - digit + 2) * block - 1 <= hi {
            last_digit += 1;
        }
        let prefix = start / block / 10;
        let mut alt = String::new();
        if prefix > 0 {
            alt.push_str(&prefix.to_string());
        }
        if last_digit == digit {
            alt.push_str(&digit.to_string());
        } else {
            alt.push_str(&format!("[{digit}-{last_digit}]"));
        }
        if k > 0 {
            alt.push_str(&format!("[0-9]{{{k}}}"));
        }
        alts.push(alt);
        let next = start + (last_digit - digit + 1) * block;
        if next == 0 || next > hi {
            break;
        }
        start = next;
    }
    format!("({})", alts.join("|"))
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
