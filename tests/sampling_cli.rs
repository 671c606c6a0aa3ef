//! `ask`'s sampler flags, run as a user would.
mod common;

use std::process::{Command, Output};

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

fn ids(out: &Output) -> Vec<u32> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    serde_json::from_value(v["generated_ids"].clone()).unwrap()
}

#[test]
fn every_sampler_flag_is_accepted_and_a_seed_reproduces_the_reply() {
    let args = [
        "--raw",
        "--json",
        "--max-tokens",
        "12",
        "--seed",
        "5",
        "--temp",
        "0.9",
        "--dynatemp-range",
        "0.3",
        "--dynatemp-exp",
        "1.5",
        "--top-k",
        "50",
        "--top-p",
        "0.9",
        "--min-p",
        "0.02",
        "--typical-p",
        "0.95",
        "--repeat-penalty",
        "1.1",
        "--repeat-last-n",
        "32",
        "--presence-penalty",
        "0.1",
        "--frequency-penalty",
        "0.1",
        "--dry-multiplier",
        "0.8",
        "--dry-base",
        "1.75",
        "--dry-allowed-length",
        "2",
        "--dry-penalty-last-n",
        "-1",
        "--xtc-probability",
        "0.5",
        "--xtc-threshold",
        "0.1",
        "--samplers",
        "penalties;dry;top_k;typical;top_p;min_p;xtc;temperature",
        "Once upon a time",
    ];
    let a = ids(&ask(&args));
    assert!(!a.is_empty());
    assert_eq!(a, ids(&ask(&args)));
    let miro = [
        "--raw",
        "--json",
        "--max-tokens",
        "12",
        "--seed",
        "5",
        "--mirostat",
        "2",
        "--mirostat-tau",
        "4",
        "--mirostat-eta",
        "0.2",
        "Once upon a time",
    ];
    assert_eq!(ids(&ask(&miro)), ids(&ask(&miro)));
}

#[test]
fn bad_sampler_settings_are_usage_errors() {
    for bad in [
        &["--samplers", "top_k;bogus", "hi"][..],
        &["--mirostat", "3", "hi"][..],
        &["--top-p", "NaN", "hi"][..],
    ] {
        let out = ask(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty());
    }
}
