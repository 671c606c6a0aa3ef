//! The release binary in a real terminal (tmux): it loads the model, streams a reply to a typed
//! message, and quits on Ctrl-C twice with exit code 0 and the terminal restored.
mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::{tmux, wait_for, Session};

/// Starts the dashboard in a detached tmux session with its own log, config and data dirs.
fn launch(name: &str, dirs: &std::path::Path) -> Session {
    let cmd = format!(
        "GEMMA_TUI_LOG_DIR='{d}/log' GEMMA_TUI_DATA_DIR='{d}/data' GEMMA_TUI_CONFIG_DIR='{d}/config' \
         '{}' --model '{}' --threads 2 --max-tokens 12; echo EXITED:$?; sleep 60",
        env!("CARGO_BIN_EXE_gemma-tui"),
        common::model_path().display(),
        d = dirs.display(),
    );
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "36",
            &cmd,
        ])
        .status()
        .expect("tmux is installed");
    assert!(status.success());
    Session(name.to_string())
}

fn quit(s: &Session) {
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    let after = wait_for(s, "a clean exit", Duration::from_secs(20), |sc| {
        sc.contains("EXITED:")
    });
    assert!(after.contains("EXITED:0"), "{after}");
    // The alternate screen is gone: the dashboard's status bar is no longer drawn.
    assert!(!after.contains("idle"), "{after}");
}

#[test]
fn dashboard_streams_a_reply_quits_cleanly_and_resumes_in_tmux() {
    let dirs = tempfile::tempdir().unwrap();
    let name = format!("gemma-tui-test-{}", std::process::id());
    let s = launch(&name, dirs.path());
    wait_for(&s, "the model to load", Duration::from_secs(90), |sc| {
        sc.contains("idle")
    });
    // Alt-6 is the coding profile; the status bar names the active profile.
    tmux(&["send-keys", "-t", &s.0, "M-6"]);
    wait_for(&s, "the coding profile", Duration::from_secs(10), |sc| {
        sc.contains("coding")
    });
    tmux(&["send-keys", "-t", &s.0, "-l", "Hello there"]);
    tmux(&["send-keys", "-t", &s.0, "Enter"]);
    wait_for(&s, "the reply to start", Duration::from_secs(60), |sc| {
        sc.contains("generating") || sc.contains("prefill")
    });
    let screen = wait_for(&s, "the reply to finish", Duration::from_secs(120), |sc| {
        sc.contains("idle")
    });
    assert!(screen.contains("Hello there"), "{screen}");
    assert!(screen.contains("Gemma"), "{screen}");
    quit(&s);
    drop(s);
    let log = std::fs::read_to_string(dirs.path().join("log/gemma-tui.log")).unwrap_or_default();
    assert!(log.contains("model loaded"), "log file: {log}");

    // Started again, the dashboard resumes the stored conversation and lists it in Ctrl-O.
    let s = launch(&format!("{name}-2"), dirs.path());
    let screen = wait_for(
        &s,
        "the conversation to resume",
        Duration::from_secs(90),
        |sc| sc.contains("idle") && sc.contains("Hello there") && sc.contains("Gemma"),
    );
    assert!(screen.contains("conversation: Hello there") || screen.contains("Hello there"));
    tmux(&["send-keys", "-t", &s.0, "C-o"]);
    wait_for(
        &s,
        "the conversations picker",
        Duration::from_secs(10),
        |sc| sc.contains("Conversations") && sc.contains("2 messages"),
    );
    tmux(&["send-keys", "-t", &s.0, "Escape"]);
    // Before the next key: an Esc followed at once by another key reads as Alt+that key.
    wait_for(&s, "the picker to close", Duration::from_secs(10), |sc| {
        !sc.contains("Conversations")
    });
    quit(&s);
}
