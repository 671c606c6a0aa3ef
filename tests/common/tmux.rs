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
