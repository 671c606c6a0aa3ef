//! The release binary in tmux: F8 opens the server pane, `s` starts the OpenAI-compatible server on
//! the loaded model (settings.toml's `[server]`: port 0, two slots), a real HTTP client gets a
//! completion from it while the dashboard runs, the pane lists that request, and `s` stops it.
//! Every directory is a temp dir.
mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::tmux::{launch_dashboard, tmux, wait_for};

/// One HTTP/1.1 request over a plain socket; the whole response as text.
fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the server listens");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_server_pane_starts_a_server_that_answers_and_stops_it() {
    let dirs = tempfile::tempdir().unwrap();
    let d = dirs.path();
    for sub in ["config", "models", "data", "log"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    std::os::unix::fs::symlink(
        common::model_path(),
        d.join("models/gemma-3-270m-q4_k_m.gguf"),
    )
    .unwrap();
    std::fs::write(
        d.join("config/settings.toml"),
        "[server]\nport = 0\nparallel = 2\napi_key_env = \"GEMMA_TUI_TEST_NO_SUCH_KEY\"\n",
    )
    .unwrap();
    let name = format!("gemma-tui-serve-{}", std::process::id());
    let s = launch_dashboard(d, "--threads 2 --max-tokens 12", &name, (130, 40));
    wait_for(&s, "the model to load", Duration::from_secs(90), |sc| {
        sc.contains("idle")
    });
    tmux(&["send-keys", "-t", &s.0, "F8"]);
    wait_for(&s, "the server pane", Duration::from_secs(20), |sc| {
        sc.contains(" Server ") && sc.contains("s start the server")
    });
    tmux(&["send-keys", "-t", &s.0, "s"]);
    let screen = wait_for(&s, "the server to start", Duration::from_secs(30), |sc| {
        sc.contains("listening on http://127.0.0.1:")
    });
    let port: u16 = screen
        .split("listening on http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no port on the screen:\n{screen}"));

    let health = http(port, "GET", "/health", "");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let reply = http(
        port,
        "POST",
        "/v1/completions",
        r#"{"prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}"#,
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"text_completion\""), "{reply}");
    // The pane lists the request and the slots from the status reports.
    let screen = wait_for(
        &s,
        "the request in the pane",
        Duration::from_secs(20),
        |sc| sc.contains("/v1/completions") && sc.contains("slots 0/2 busy"),
    );
    assert!(screen.contains(" ok"), "{screen}");

    tmux(&["send-keys", "-t", &s.0, "s"]);
    wait_for(&s, "the server to stop", Duration::from_secs(30), |sc| {
        sc.contains("Server stopped")
    });
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens once stopped"
    );
    tmux(&["send-keys", "-t", &s.0, "Escape"]);
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    let after = wait_for(&s, "a clean exit", Duration::from_secs(20), |sc| {
        sc.contains("EXITED:")
    });
    assert!(after.contains("EXITED:0"), "{after}");
}
