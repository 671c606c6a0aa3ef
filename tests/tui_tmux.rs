//! The release binary in a real terminal (tmux): it loads the model, streams a reply to a typed
//! message, and quits on Ctrl-C twice with exit code 0 and the terminal restored.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn capture(s: &Session) -> String {
    tmux(&["capture-pane", "-p", "-t", &s.0])
}

fn wait_for(s: &Session, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let screen = capture(s);
        if ok(&screen) {
            return screen;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn dashboard_streams_a_reply_and_quits_cleanly_in_tmux() {
    let logs = tempfile::tempdir().unwrap();
    let name = format!("gemma-tui-test-{}", std::process::id());
    let cmd = format!(
        "GEMMA_TUI_LOG_DIR='{}' '{}' --model '{}' --threads 2 --max-tokens 12; echo EXITED:$?; sleep 60",
        logs.path().display(),
        env!("CARGO_BIN_EXE_gemma-tui"),
        common::model_path().display()
    );
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "120",
            "-y",
            "36",
            &cmd,
        ])
        .status()
        .expect("tmux is installed");
    assert!(status.success());
    let s = Session(name);
    wait_for(&s, "the model to load", Duration::from_secs(90), |sc| {
        sc.contains("idle")
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
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    let after = wait_for(&s, "a clean exit", Duration::from_secs(20), |sc| {
        sc.contains("EXITED:")
    });
    assert!(after.contains("EXITED:0"), "{after}");
    // The alternate screen is gone: the dashboard's status bar is no longer drawn.
    assert!(!after.contains("idle"), "{after}");
    let log = std::fs::read_to_string(logs.path().join("gemma-tui.log")).unwrap_or_default();
    assert!(log.contains("model loaded"), "log file: {log}");
}
