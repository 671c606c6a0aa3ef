//! `gemma-tui template …` and `gemma-tui session …` as a user runs them, on fresh config and data
//! directories; `ask --template` with the real model.
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use gemma_tui::conversations::{ConversationMeta, ConversationStore, StoredMessage, StoredRole};

fn gemma(config: &Path, data: &Path, args: &[&str]) -> Output {
    let log_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .arg("--config-dir")
        .arg(config)
        .args(args)
        .env("GEMMA_TUI_LOG_DIR", log_dir.path())
        .env("GEMMA_TUI_DATA_DIR", data)
        .env_remove("GEMMA_TUI_CONFIG_DIR")
        .output()
        .expect("run gemma-tui")
}

fn ok(config: &Path, data: &Path, args: &[&str]) -> String {
    let out = gemma(config, data, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn failed(config: &Path, data: &Path, args: &[&str], code: i32) -> String {
    let out = gemma(config, data, args);
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn templates_list_render_and_report_errors_with_line_and_variable() {
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (c, d) = (config.path(), data.path());
    let list = ok(c, d, &["template", "list"]);
    for name in [
        "default",
        "coding",
        "creative",
        "technical",
        "concise",
        "rag",
    ] {
        assert!(list.contains(name), "{list}");
    }
    let out = ok(
        c,
        d,
        &[
            "template",
            "render",
            "coding",
            "--var",
            "query=Sort <a> & b",
            "--var",
            "language=Rust",
        ],
    );
    assert_eq!(
        out, "Write the answer in Rust.\n\nSort <a> & b\n",
        "unescaped"
    );
    let err = failed(
        c,
        d,
        &["template", "render", "concise", "--var", "lenght=3"],
        5,
    );
    assert!(err.contains("no variable `lenght`"), "{err}");
    let err = failed(c, d, &["template", "render", "nope"], 5);
    assert!(err.contains("unknown template `nope`"), "{err}");

    // A user template overrides the built-in; a broken one is reported with file:line and name.
    fs::create_dir_all(c.join("templates")).unwrap();
    fs::write(
        c.join("templates/mine.md"),
        "+++\ndescription = \"mine\"\n[variables]\nwho = \"you\"\n+++\nDear {who}: {query}\n",
    )
    .unwrap();
    fs::write(
        c.join("templates/broken.md"),
        "+++\n+++\nline one\n{{ if query }}x\n",
    )
    .unwrap();
    fs::write(c.join("templates/typo.md"), "+++\n+++\n\n{qeury}\n").unwrap();
    let out = gemma(c, d, &["template", "list"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("mine") && stdout.contains("yours"),
        "{stdout}"
    );
    assert!(!stdout.contains("broken"), "{stdout}");
    assert!(stderr.contains("broken.md"), "{stderr}");
    assert!(
        stderr.contains("typo.md:4:") && stderr.contains("unknown variable `qeury`"),
        "{stderr}"
    );
    let out = ok(c, d, &["template", "render", "mine", "--var", "query=hi"]);
    assert_eq!(out, "Dear you: hi\n");
    let shown = ok(c, d, &["template", "show", "mine"]);
    assert!(shown.starts_with("+++\ndescription"), "{shown}");
}

#[test]
fn ask_renders_its_template_before_loading_the_model() {
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (c, d) = (config.path(), data.path());
    let model = common::model_path();
    let model = model.to_str().unwrap();
    let err = failed(
        c,
        d,
        &["--model", model, "ask", "--template", "nope", "hi"],
        5,
    );
    assert!(err.contains("unknown template `nope`"), "{err}");
    let err = failed(c, d, &["--model", model, "ask", "--var", "x=1", "hi"], 5);
    assert!(err.contains("no variable `x`"), "{err}");
    // The rendered turn is what the model is fed: a template that adds text adds prompt tokens.
    let prompt_len = |extra: &[&str]| -> usize {
        let mut args = vec![
            "--model",
            model,
            "ask",
            "--json",
            "--max-tokens",
            "1",
            "--temp",
            "0",
        ];
        args.extend_from_slice(extra);
        args.push("Why is the sky blue?");
        let v: serde_json::Value = serde_json::from_str(&ok(c, d, &args)).unwrap();
        v["prompt_ids"].as_array().unwrap().len()
    };
    let plain = prompt_len(&["--template", "default"]);
    let concise = prompt_len(&["--template", "concise"]);
    assert!(concise > plain + 5, "{plain} vs {concise}");
}

fn message(role: StoredRole, text: &str, at_ms: u64) -> StoredMessage {
    StoredMessage {
        role,
        text: text.into(),
        prompt: None,
        system: None,
        at_ms,
        decode_tok_s: None,
    }
}

#[test]
fn sessions_list_export_rename_and_delete() {
    let config = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (c, d) = (config.path(), data.path());
    assert!(ok(c, d, &["session", "list"]).contains("no conversations yet"));
    let store = ConversationStore::in_dir(d);
    let meta = |id| ConversationMeta {
        id,
        title: String::new(),
        created_ms: id,
        updated_ms: id,
        profile: "balanced".into(),
        model: "gemma-3-270m".into(),
        messages: 0,
    };
    store
        .append(&meta(10), &message(StoredRole::User, "What is RoPE?", 10))
        .unwrap();
    store
        .append(
            &meta(10),
            &message(StoredRole::Assistant, "Rotary embeddings.", 11),
        )
        .unwrap();
    store
        .append(&meta(20), &message(StoredRole::User, "Tell me a joke", 20))
        .unwrap();

    let list: serde_json::Value =
        serde_json::from_str(&ok(c, d, &["session", "list", "--json"])).unwrap();
    assert_eq!(list[0]["id"], 20);
    assert_eq!(list[1]["title"], "What is RoPE?");
    assert_eq!(list[1]["messages"], 2);

    let out = d.join("rope.json");
    ok(
        c,
        d,
        &[
            "session",
            "export",
            "what is",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["messages"][1]["text"], "Rotary embeddings.");
    let md = ok(c, d, &["session", "export", "10"]);
    assert!(md.starts_with("# What is RoPE?\n"), "{md}");
    assert!(md.contains("## Gemma\n\nRotary embeddings.\n"), "{md}");

    ok(c, d, &["session", "rename", "last", "Jokes"]);
    assert!(ok(c, d, &["session", "show", "jokes"]).starts_with("# Jokes\n"));
    ok(c, d, &["session", "delete", "20"]);
    let err = failed(c, d, &["session", "show", "20"], 1);
    assert!(err.contains("no conversation 20"), "{err}");
    let err = failed(c, d, &["session", "show", "last"], 1);
    assert!(err.contains("no conversation yet"), "{err}");
    assert_eq!(store.list().unwrap().len(), 1);
}
