//! The headless commands, run as a user would: the release binary on the real default model.
mod common;

use std::process::{Command, Output};

fn gemma(args: &[&str]) -> Output {
    let log_dir = tempfile::tempdir().unwrap();
    // `bench` stores its runs: in a history of the command's own, not the developer's.
    let data_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .args(args)
        .env("GEMMA_TUI_LOG_DIR", log_dir.path())
        .env("GEMMA_TUI_DATA_DIR", data_dir.path())
        .env("GEMMA_TUI_MODEL", common::model_path())
        .output()
        .expect("run gemma-tui")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ask_json_greedy_matches_llama_cpp() {
    let reference = common::reference();
    // "def fibonacci(n):": llama.cpp's own top-2 margin never falls below 0.25 on it.
    let case = &reference.generations[2];
    let model = common::model_path();
    let out = gemma(&[
        "--model",
        model.to_str().unwrap(),
        "ask",
        "--raw",
        "--temp",
        "0",
        "--max-tokens",
        "24",
        "--json",
        &case.prompt,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let ids: Vec<u32> = serde_json::from_value(v["generated_ids"].clone()).unwrap();
    assert_eq!(ids, case.greedy_ids[..24]);
    let prompt_ids: Vec<u32> = serde_json::from_value(v["prompt_ids"].clone()).unwrap();
    assert_eq!(prompt_ids, case.prompt_ids);
    assert!(case.greedy_text.starts_with(v["text"].as_str().unwrap()));
    assert!(v["timings"]["decode_tok_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn ask_streams_a_chat_reply_to_stdout() {
    let out = gemma(&["ask", "--seed", "1", "--max-tokens", "12", "Say hello."]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.trim().len() > 3, "reply {text:?}");
    assert!(!text.contains("<end_of_turn>"));
}

#[test]
fn missing_and_bad_models_give_one_clear_line_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.gguf");
    std::fs::write(&garbage, b"this is not a model at all").unwrap();
    let truncated = dir.path().join("truncated.gguf");
    let real = std::fs::read(common::model_path()).unwrap();
    std::fs::write(&truncated, &real[..4 << 20]).unwrap();
    let missing = dir.path().join("missing.gguf");
    let bert = dir.path().join("bert.gguf");
    std::fs::write(&bert, gguf_with_architecture("bert")).unwrap();
    // A llama file goes to the kalosm-llama engine, which checks the metadata before loading.
    let llama = dir.path().join("llama.gguf");
    std::fs::write(&llama, gguf_with_architecture("llama")).unwrap();
    for (path, needle) in [
        (&bert, "unsupported architecture `bert`"),
        (&llama, "lacks the metadata key `llama.embedding_length`"),
        (&garbage, "not a GGUF file"),
        (&truncated, "truncated"),
        (&missing, "does not exist"),
    ] {
        let out = gemma(&["--model", path.to_str().unwrap(), "ask", "hi"]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{path:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn model_info_reports_the_default_model() {
    let out = gemma(&["model", "info", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["architecture"], "gemma3");
    assert_eq!(v["quantization"], "Q4_K_M");
    assert_eq!(v["context_length"], 32768);
    assert_eq!(v["size_bytes"], 253_113_024u64);
}

#[test]
fn bench_quick_reports_speed_and_memory() {
    let out = gemma(&[
        "bench",
        "--quick",
        "--json",
        "--prompt-tokens",
        "32",
        "--gen-tokens",
        "16",
        "--pipeline",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The stored run record: figures per measured iteration.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["prompts"][0]["prompt_tokens"], 32);
    // The same reply through the actors was measured against the bare loop, once per run.
    let overhead = v["pipeline_overhead_pct"].as_array().unwrap();
    assert_eq!(overhead.len(), 2);
    assert!(overhead.iter().all(|o| o.as_f64().unwrap().is_finite()));
    let iterations = v["iterations"].as_array().unwrap();
    assert_eq!(iterations.len(), 2);
    for key in ["prefill_tok_s", "decode_tok_s"] {
        let runs: Vec<&serde_json::Value> = iterations.iter().map(|i| &i[key]).collect();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.as_f64().unwrap() > 0.0));
    }
    assert!(iterations[0]["peak_rss_mb"].as_f64().unwrap() > 100.0);
    assert_eq!(v["engine"], "candle");
    assert!(iterations[0]["load_ms"].as_f64().unwrap() > 0.0);
}

/// A valid GGUF header with one metadata key and no tensors.
fn gguf_with_architecture(arch: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(b"GGUF");
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata entries
    let key = b"general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key);
    b.extend(8u32.to_le_bytes()); // string
    b.extend((arch.len() as u64).to_le_bytes());
    b.extend(arch.as_bytes());
    b
}

#[cfg(not(feature = "llama-cpp"))]
#[test]
fn llama_cpp_engine_without_the_feature_says_how_to_get_it() {
    let out = gemma(&["--engine", "llama-cpp", "ask", "hi"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--features llama-cpp"),
        "{}",
        stderr(&out)
    );
}

#[cfg(feature = "llama-cpp")]
#[test]
fn bench_compares_engines_side_by_side() {
    let out = gemma(&[
        "bench",
        "--engines",
        "candle,llama-cpp",
        "--runs",
        "1",
        "--json",
        "--prompt-tokens",
        "32",
        "--gen-tokens",
        "8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // One stored run record per engine, figures per measured iteration.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = v.as_array().expect("one report per engine");
    let engines: Vec<&str> = reports
        .iter()
        .map(|r| r["engine"].as_str().unwrap())
        .collect();
    assert_eq!(engines, ["candle", "llama-cpp"]);
    for r in reports {
        let first = &r["iterations"][0];
        assert!(first["decode_tok_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(first["prefill_tok_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(first["peak_rss_mb"].as_f64().unwrap() > 50.0, "{r}");
    }
}

/// A headless command with its own empty home: no model, config or history of the user's.
fn headless(home: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = common::headless(home);
    cmd.args(args);
    cmd
}

/// `gemma-tui bench list --json | head -1` and the like: a reader that has gone ends the command
/// quietly (exit 0, nothing on stderr, no panic), as it would a Unix tool.
#[test]
fn a_closed_stdout_ends_headless_commands_quietly() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["bench", "list", "--json"][..],
        &["model", "list"],
        &["completions", "bash"],
        &["profile", "list"],
        &["template", "list"],
    ] {
        // The read end is closed before the command starts, so its very first write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = headless(home.path(), args)
            .stdout(writer)
            .output()
            .expect("run gemma-tui");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // As with `| head -1`: one line read, then the pipe closed while the command still writes
    // (the bash script is larger than a pipe's buffer).
    let mut child = headless(home.path(), &["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = headless(home.path(), &["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        for word in ["gemma-tui", "ask", "bench", "pull"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let out = headless(home.path(), &["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
