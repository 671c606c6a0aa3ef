//! Driving the release binary in a real terminal: a detached tmux session (killed when dropped),
//! keys sent to it and its screen captured until it shows what a test waits for.
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session by name; dropping it kills it, so a failed test leaves no dashboard behind.
pub struct Session(pub String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

/// Runs `tmux ARGS`; returns its standard output.
pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The session's screen as text.
pub fn capture(s: &Session) -> String {
    tmux(&["capture-pane", "-p", "-t", &s.0])
}

/// Polls the screen until `ok` holds; fails with the last screen after `timeout`.
pub fn wait_for(s: &Session, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
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
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the release binary in a detached tmux session (`cols` x `rows`) with its config, data,
/// models and log dirs under `d` and the arguments `args`; when it exits the pane shows
/// `EXITED:<code>` (and stays a minute for the test to read it).
pub fn launch_dashboard(d: &std::path::Path, args: &str, name: &str, size: (u16, u16)) -> Session {
    let cmd = format!(
        "GEMMA_TUI_LOG_DIR='{d}/log' GEMMA_TUI_DATA_DIR='{d}/data' GEMMA_TUI_CONFIG_DIR='{d}/config' \
         GEMMA_TUI_MODELS_DIR='{d}/models' '{}' {args}; echo EXITED:$?; sleep 60",
        env!("CARGO_BIN_EXE_gemma-tui"),
        d = d.display(),
    );
    let (cols, rows) = (size.0.to_string(), size.1.to_string());
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &cols,
            "-y",
            &rows,
            &cmd,
        ])
        .status()
        .expect("tmux is installed");
    assert!(status.success());
    Session(name.to_string())
}
