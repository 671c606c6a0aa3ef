//! A real `gemma-tui serve` process on a free loopback port, for the serve tests: started with
//! `--port 0`, its address read from the `listening on http://HOST:PORT` line, killed on drop.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub home: tempfile::TempDir,
    /// Lines of stderr after the `listening` one.
    pub stderr: mpsc::Receiver<String>,
}

impl Server {
    /// `gemma-tui serve --port 0 ARGS` on the real default model, 2 threads; waits until the
    /// model is loaded (`/health` 200).
    pub async fn start(args: &[&str]) -> Server {
        let server = Self::spawn(args);
        server.wait_ready().await;
        server
    }

    /// Spawned and listening; the model may still be loading.
    pub fn spawn(args: &[&str]) -> Server {
        Self::spawn_with_threads(2, args)
    }

    /// The same with `threads` forward-pass threads (several nodes on the two cores).
    pub fn spawn_with_threads(threads: usize, args: &[&str]) -> Server {
        Self::spawn_in(tempfile::tempdir().unwrap(), threads, args)
    }

    /// Started in `home` (whose `config/` a test may have filled: profiles, models.toml); waits
    /// until the model is loaded.
    pub async fn start_in(home: tempfile::TempDir, args: &[&str]) -> Server {
        let server = Self::spawn_in(home, 2, args);
        server.wait_ready().await;
        server
    }

    pub fn spawn_in(home: tempfile::TempDir, threads: usize, args: &[&str]) -> Server {
        let mut cmd = super::common::headless_with_model(home.path());
        cmd.args(["serve", "--port", "0", "--threads", &threads.to_string()])
            .args(args)
            .env_remove("GEMMA_TUI_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start gemma-tui serve");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().to_string();
                    }
                }
                Err(e) => panic!("no `listening on` line from gemma-tui serve: {e}"),
            }
        };
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Server {
            child,
            base,
            home,
            stderr: rx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The base URL the OpenAI clients (and models.toml's `url`) take.
    pub fn v1(&self) -> String {
        self.url("/v1")
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = client
                .get(self.url("/health"))
                .send()
                .await
                .expect("GET /health");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("/health answers JSON");
            match status {
                200 => {
                    assert_eq!(body, serde_json::json!({"status": "ok"}));
                    return;
                }
                // llama-server's answer while the model loads.
                503 => {
                    assert_eq!(body["error"]["message"], "Loading model", "{body}");
                    assert_eq!(body["error"]["type"], "unavailable_error", "{body}");
                }
                other => panic!("/health answered {other}: {body}"),
            }
            assert!(Instant::now() < deadline, "the model did not load in time");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A value from `/metrics` (`gemma_tui_NAME`).
    pub async fn metric(&self, key: Option<&str>, name: &str) -> f64 {
        let mut req = reqwest::Client::new().get(self.url("/metrics"));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        let wanted = format!("gemma_tui_{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&wanted))
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Sends SIGTERM.
    pub fn term(&self) {
        let pid = self.child.id() as libc::pid_t;
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }

    /// Waits for the process to exit (up to `secs`).
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "gemma-tui serve did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A streamed answer split into its SSE events, checking the framing on the way: every event
/// is one `data: ` line and a blank line, nothing else.
pub fn sse_events(body: &str) -> Vec<String> {
    assert!(
        body.ends_with("\n\n"),
        "the stream ends with a blank line: {body:?}"
    );
    body.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|e| {
            assert!(!e.contains('\n'), "one line per event: {e:?}");
            e.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("every event is `data: ...`: {e:?}"))
                .to_string()
        })
        .collect()
}

/// The JSON events of a finished stream: they end with `[DONE]`, nothing after it.
pub fn json_events(body: &str) -> Vec<Value> {
    let mut events = sse_events(body);
    assert_eq!(events.pop().as_deref(), Some("[DONE]"), "{body}");
    events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap_or_else(|err| panic!("{err}: {e}")))
        .collect()
}

/// llama-server's `timings` fields, all present and sane.
pub fn check_timings(t: &Value, predicted_n: u64) {
    for field in [
        "prompt_n",
        "prompt_ms",
        "prompt_per_token_ms",
        "prompt_per_second",
        "predicted_n",
        "predicted_ms",
        "predicted_per_token_ms",
        "predicted_per_second",
    ] {
        let v = t[field]
            .as_f64()
            .unwrap_or_else(|| panic!("timings.{field} in {t}"));
        assert!(v >= 0.0, "{field} {v}");
    }
    assert!(t["prompt_n"].as_u64().unwrap() > 0, "{t}");
    assert_eq!(t["predicted_n"].as_u64(), Some(predicted_n), "{t}");
    assert!(t["predicted_per_second"].as_f64().unwrap() > 0.0, "{t}");
}

/// OpenAI's error body, with the status.
pub fn check_error(status: u16, body: &Value, want_status: u16) {
    assert_eq!(status, want_status, "{body}");
    let e = &body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(e["type"].is_string(), "{body}");
    assert!(
        e.get("param").is_some() && e.get("code").is_some(),
        "{body}"
    );
}
