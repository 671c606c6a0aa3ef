//! `ask --regex RE` and `ask --json-schema FILE`: the constraint read and compiled before the
//! model loads (a bad expression or schema is a usage error, exit code 2), then driven token by
//! token beside the sampler chain.
use std::sync::Arc;

use gemma_tui::engine::Tokenizer;
use gemma_tui::sampling::constrained::{
    schema_text_to_regex, Constraint, ConstraintStats, FullMatchRegex, TokenTable,
};
use serde_json::json;

use super::profile::AskSettings;
use crate::cli::{AskArgs, Cli};
use crate::commands::CommandError;
use gemma_tui::sampling::constrained::OutputConstraint;

/// The constraint a user asked for, compiled.
pub struct AskConstraint {
    /// "regex" or "json_schema" for the flags, the constraint's label for a template's or a
    /// profile's keys ("JSON Schema (profile extract)").
    pub kind: String,
    pub regex: Arc<FullMatchRegex>,
}

/// Reads and compiles `--regex` / `--json-schema`; exits with a usage error (code 2) naming the
/// problem when either is unusable. Without them, the template's constraint (`configured`), else
/// the profile's `json_schema` / `regex` (checked when the profile loaded).
pub fn from_args(
    args: &AskArgs,
    configured: Option<OutputConstraint>,
    profiled: &AskSettings,
) -> Result<Option<AskConstraint>, CommandError> {
    if args.regex.is_none() && args.json_schema.is_none() {
        let profile = || {
            let Some(p) = profiled.config.profiles.get(&profiled.profile_name) else {
                return Ok(None);
            };
            let label = format!("profile {}", profiled.profile_name);
            OutputConstraint::from_keys(&p.json_schema, &p.regex, &label)
                .map_err(|(key, e)| CommandError::Config(format!("{label}: `{key}`: {e}")))
        };
        let found = match configured {
            Some(c) => Some(c),
            None => profile()?,
        };
        return Ok(found.map(|c| AskConstraint {
            kind: c.label,
            regex: c.regex,
        }));
    }
    Ok(flags(args))
}

fn flags(args: &AskArgs) -> Option<AskConstraint> {
    let (kind, pattern) = if let Some(re) = &args.regex {
        ("regex", re.clone())
    } else if let Some(path) = &args.json_schema {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            usage_error(format!(
                "cannot read the JSON Schema {}: {e}",
                path.display()
            ))
        });
        let re = schema_text_to_regex(&text).unwrap_or_else(|e| {
            usage_error(format!(
                "the JSON Schema {} cannot be used: {e}",
                path.display()
            ))
        });
        ("json_schema", re)
    } else {
        return None;
    };
    let regex = FullMatchRegex::new(&pattern).unwrap_or_else(|e| {
        let what = if kind == "regex" {
            format!("bad --regex `{pattern}`: {e}")
        } else {
            format!("the JSON Schema makes an expression the matcher cannot build: {e}")
        };
        usage_error(what)
    });
    Some(AskConstraint {
        kind: kind.to_string(),
        regex: Arc::new(regex),
    })
}

fn usage_error(msg: String) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, msg)
        .exit()
}

/// Every token's bytes, for the candidate search (built once per run).
pub fn token_table(tokenizer: &Tokenizer) -> Arc<TokenTable> {
    Arc::new(TokenTable::for_tokenizer(tokenizer))
}

/// A reply's constraint state. `leading_space`: the chat format puts a space before the reply.
pub fn start(
    c: &AskConstraint,
    tokenizer: &Tokenizer,
    leading_space: bool,
) -> Constraint<FullMatchRegex> {
    Constraint::new(
        c.regex.clone(),
        token_table(tokenizer),
        tokenizer.eog_tokens().to_vec(),
    )
    .with_leading_space(leading_space)
}

/// What `--json` reports about the constraint.
pub fn report(c: &AskConstraint, complete: bool, stats: &ConstraintStats) -> serde_json::Value {
    json!({
        "kind": c.kind,
        "complete": complete,
        "steps": stats.steps,
        "forced": stats.forced,
        "checked": stats.checked,
    })
}
