//! Stop strings through `gemma-tui ask` on the real model, from each place they can come from: the
//! command line, a profile and a template's front matter (the dialogue template's own `\nUser:`
//! always applies to the base model).
mod common;

use std::path::Path;

/// `ask --temp 0 --max-tokens 32 ... QUESTION` with its own config dir; returns stdout.
fn ask(config: &Path, flags: &[&str], question: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    common::stdout_of(
        common::headless_with_model(home.path())
            .env("GEMMA_TUI_CONFIG_DIR", config)
            .args(["--max-tokens", "32", "ask", "--temp", "0"])
            .args(flags)
            .arg(question),
    )
}

const QUESTION: &str = "What is the capital of Japan?";

#[test]
fn the_base_model_stops_at_the_next_user_line() {
    let config = tempfile::tempdir().unwrap();
    assert_eq!(ask(config.path(), &[], QUESTION), "Tokyo.\n");
    let json = ask(config.path(), &["--json"], QUESTION);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["text"], "Tokyo.");
    assert_eq!(v["finish"], "stop_string");
    assert_eq!(v["model_kind"], "base");
    assert_eq!(v["chat_format"], "dialogue template");
}

#[test]
fn a_stop_flag_cuts_the_reply_even_inside_a_token() {
    let config = tempfile::tempdir().unwrap();
    // "Tokyo" is one token: the reply keeps the part before the stop string.
    assert_eq!(ask(config.path(), &["--stop", "kyo"], QUESTION), "To\n");
    // The earliest of several wins.
    let out = ask(config.path(), &["--stop", "yo", "--stop", "ok"], QUESTION);
    assert_eq!(out, "T\n");
}

#[test]
fn profiles_and_templates_carry_stop_strings() {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("profiles.toml"),
        "[profiles.terse]\nstop = [\".\"]\n",
    )
    .unwrap();
    assert_eq!(
        ask(config.path(), &["--profile", "terse"], QUESTION),
        "Tokyo\n"
    );
    let templates = config.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("short.md"),
        "+++\nname = \"short\"\nstop = [\"ky\"]\n+++\n{query}\n",
    )
    .unwrap();
    assert_eq!(
        ask(config.path(), &["--template", "short"], QUESTION),
        "To\n"
    );
}
