//! Constrained generation on the real (base) model: every reply to `--json-schema` parses and
//! validates under its schema (checked by the `jsonschema` crate), every reply to `--regex`
//! matches its expression as a whole (the `regex` crate), whatever the seed and temperature.
mod common;

use std::process::{Command, Output};
use std::sync::Arc;

use gemma_tui::engine::{Engine, FinishReason, GenEvent, Limits, PromptKind, StepControl};
use gemma_tui::sampling::constrained::{
    schema_text_to_regex, Constraint, FullMatchRegex, TokenTable,
};
use gemma_tui::sampling::{Sampler, SamplerParams};

/// Schemas covering what the translation supports: objects with required and optional
/// properties, arrays with item schemas and maxItems, strings with maxLength and enum, integers
/// and numbers with bounds, booleans, null, and a type list.
const SCHEMAS: [(&str, &str); 4] = [
    (
        "Describe a person as JSON.",
        r#"{"type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 24},
                "age": {"type": "integer", "minimum": 0, "maximum": 120},
                "email": {"type": "string", "maxLength": 30},
                "languages": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}
            },
            "required": ["name", "age"]}"#,
    ),
    (
        "A product review as JSON.",
        r#"{"type": "object",
            "properties": {
                "rating": {"type": "number", "minimum": 1, "maximum": 5},
                "verdict": {"enum": ["buy", "skip", "wait"]},
                "recommended": {"type": "boolean"},
                "notes": {"type": ["string", "null"], "maxLength": 40}
            },
            "required": ["rating", "verdict", "recommended", "notes"]}"#,
    ),
    (
        "Temperatures this week:",
        r#"{"type": "array", "items": {"type": "integer", "minimum": -30, "maximum": 45},
            "minItems": 2, "maxItems": 7}"#,
    ),
    (
        "A shopping list as JSON.",
        r#"{"type": "object",
            "properties": {
                "store": {"type": "string", "maxLength": 20},
                "items": {"type": "array", "maxItems": 4, "items": {
                    "type": "object",
                    "properties": {
                        "what": {"type": "string", "maxLength": 16},
                        "count": {"type": "integer", "minimum": 1, "maximum": 12}
                    },
                    "required": ["what", "count"]}},
                "paid": {"type": "null"}
            },
            "required": ["items"]}"#,
    ),
];

const REGEXES: [(&str, &str); 4] = [
    (
        "Is the sky blue? Answer:",
        r"(yes|no), because [a-z ,]{5,60}\.",
    ),
    (
        "The date today is",
        r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
    ),
    ("Three colours:", r"[A-Z][a-z]+(, [A-Z][a-z]+){2}"),
    ("A number:", r"-?[1-9][0-9]{0,5}"),
];

struct Reply {
    text: String,
    finish: FinishReason,
    complete: bool,
}

fn generate(
    engine: &Engine,
    regex: &Arc<FullMatchRegex>,
    table: &Arc<TokenTable>,
    prompt: &str,
    params: SamplerParams,
) -> Reply {
    let mut session = engine.new_session(1024).unwrap();
    let mut sampler = Sampler::new(params);
    let mut constraint = Constraint::new(
        regex.clone(),
        table.clone(),
        engine.tokenizer.eog_tokens().to_vec(),
    )
    .with_leading_space(true);
    let mut text = String::new();
    let stats = engine
        .generate(
            &mut session,
            &PromptKind::Raw(format!("{prompt}\n")),
            &Limits::tokens(300),
            &|| false,
            &mut |logits, history| {
                constraint
                    .next_token(&mut sampler, &logits, history)
                    .map_err(|e| gemma_tui::engine::EngineError::Kernel(e.to_string()))
            },
            &mut |event| {
                if let GenEvent::Token { text: piece, .. } = event {
                    text.push_str(piece);
                }
                StepControl::Continue
            },
        )
        .unwrap();
    Reply {
        // The one space a reply may start with is not part of the constrained text.
        text: text.strip_prefix(' ').map(str::to_string).unwrap_or(text),
        finish: stats.finish,
        complete: constraint.is_complete(),
    }
}

fn load() -> (Engine, Arc<TokenTable>) {
    let engine = Engine::load(&common::model_path(), 2).expect("load the model");
    let t = &engine.tokenizer;
    let table = Arc::new(TokenTable::from_fn(t.vocab_size(), |id| t.token_bytes(id)));
    (engine, table)
}

fn params(seed: u64, temperature: f32) -> SamplerParams {
    SamplerParams {
        seed: Some(seed),
        temperature,
        ..SamplerParams::default()
    }
}

#[test]
fn every_json_reply_validates_under_its_schema() {
    let (engine, table) = load();
    let mut validated = 0;
    for (prompt, schema_text) in SCHEMAS {
        let schema: serde_json::Value = serde_json::from_str(schema_text).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let regex =
            Arc::new(FullMatchRegex::new(&schema_text_to_regex(schema_text).unwrap()).unwrap());
        for (seed, temperature) in [(1, 0.8), (2, 0.8), (3, 1.5), (4, 0.0)] {
            let reply = generate(&engine, &regex, &table, prompt, params(seed, temperature));
            assert_eq!(
                reply.finish,
                FinishReason::EndOfTurn,
                "{prompt} seed {seed}: {:?}",
                reply.text
            );
            assert!(reply.complete);
            let value: serde_json::Value = serde_json::from_str(&reply.text).unwrap_or_else(|e| {
                panic!("{prompt} seed {seed}: not JSON ({e}): {:?}", reply.text)
            });
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{prompt} seed {seed}: {value} is invalid: {errors:?}"
            );
            validated += 1;
        }
    }
    assert_eq!(validated, SCHEMAS.len() * 4);
}

#[test]
fn every_regex_reply_matches_whole() {
    let (engine, table) = load();
    for (prompt, pattern) in REGEXES {
        let parser = Arc::new(FullMatchRegex::new(pattern).unwrap());
        let check = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        for (seed, temperature) in [(7, 0.8), (8, 1.2), (9, 0.0)] {
            let reply = generate(&engine, &parser, &table, prompt, params(seed, temperature));
            assert!(reply.complete, "{pattern} seed {seed}: {:?}", reply.text);
            assert!(
                check.is_match(&reply.text),
                "{pattern} seed {seed}: {:?}",
                reply.text
            );
        }
    }
}

#[test]
fn a_seed_reproduces_a_constrained_reply() {
    let (engine, table) = load();
    let regex =
        Arc::new(FullMatchRegex::new(&schema_text_to_regex(SCHEMAS[0].1).unwrap()).unwrap());
    let a = generate(&engine, &regex, &table, SCHEMAS[0].0, params(11, 1.0));
    let b = generate(&engine, &regex, &table, SCHEMAS[0].0, params(11, 1.0));
    assert_eq!(a.text, b.text);
}

fn ask(args: &[&str]) -> Output {
    let log_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .arg("ask")
        .args(args)
        .env("GEMMA_TUI_LOG_DIR", log_dir.path())
        .env("GEMMA_TUI_MODEL", common::model_path())
        .output()
        .expect("run gemma-tui")
}

#[test]
fn ask_json_schema_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.json");
    std::fs::write(&path, SCHEMAS[1].1).unwrap();
    let out = ask(&[
        "--json",
        "--seed",
        "3",
        "--json-schema",
        path.to_str().unwrap(),
        SCHEMAS[1].0,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["constraint"]["kind"], "json_schema");
    assert_eq!(v["constraint"]["complete"], true);
    let reply: serde_json::Value =
        serde_json::from_str(v["text"].as_str().unwrap().trim()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(SCHEMAS[1].1).unwrap();
    assert!(jsonschema::is_valid(&schema, &reply), "{reply}");
}

#[test]
fn bad_constraints_are_usage_errors_before_the_model_loads() {
    let dir = tempfile::tempdir().unwrap();
    let unsupported = dir.path().join("pattern.json");
    std::fs::write(&unsupported, r#"{"type": "string", "pattern": "a+"}"#).unwrap();
    let not_json = dir.path().join("broken.json");
    std::fs::write(&not_json, "{\"type\": ").unwrap();
    let missing = dir.path().join("missing.json");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--regex", "(unclosed"], "bad --regex"),
        (
            vec!["--json-schema", unsupported.to_str().unwrap()],
            "`pattern`",
        ),
        (
            vec!["--json-schema", not_json.to_str().unwrap()],
            "not valid JSON",
        ),
        (
            vec!["--json-schema", missing.to_str().unwrap()],
            "cannot read the JSON Schema",
        ),
    ];
    for (args, expected) in cases {
        let mut args = args.clone();
        args.push("hello");
        let out = ask(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn a_reply_cut_by_the_token_limit_is_reported() {
    let out = ask(&[
        "--max-tokens",
        "3",
        "--regex",
        "[a-z ]{40,60}\\.",
        "Say something:",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("before it was complete"), "{err}");
}

#[test]
fn ask_takes_a_template_or_profile_constraint_and_the_flags_win() {
    let config = tempfile::tempdir().unwrap();
    // A profile constraining every reply, and a template constraining the replies made with it.
    std::fs::write(
        config.path().join("profiles.toml"),
        format!(
            "[profiles.extract]\njson_schema = '''{}'''\n",
            SCHEMAS[2].1.replace('\n', " ")
        ),
    )
    .unwrap();
    std::fs::create_dir(config.path().join("templates")).unwrap();
    std::fs::write(
        config.path().join("templates/yesno.md"),
        "+++\nregex = '(yes|no)'\n+++\n{query}",
    )
    .unwrap();
    let dir = config.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "--seed", "5", "--profile", "extract"];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
            .args(["--config-dir", dir, "ask"])
            .args(&args)
            .env("GEMMA_TUI_LOG_DIR", config.path())
            .env("GEMMA_TUI_MODEL", common::model_path())
            .output()
            .expect("run gemma-tui");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["constraint"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            v["text"].as_str().unwrap().trim().to_string(),
        )
    };
    let (kind, text) = run(&[SCHEMAS[2].0]);
    assert_eq!(kind, "JSON Schema (profile extract)");
    let schema: serde_json::Value = serde_json::from_str(SCHEMAS[2].1).unwrap();
    let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(jsonschema::is_valid(&schema, &reply), "{text}");
    let (kind, text) = run(&["--template", "yesno", "Is water wet?"]);
    assert_eq!(kind, "regex (template yesno)");
    assert!(text == "yes" || text == "no", "{text}");
    let (kind, text) = run(&["--regex", "[0-9]{3}", "A number:"]);
    assert_eq!(kind, "regex");
    assert!(
        text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()),
        "{text}"
    );
}
