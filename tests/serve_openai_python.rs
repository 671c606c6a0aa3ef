//! The official OpenAI Python client (pip package `openai`) against a real `gemma-tui serve`:
//! models, chat and text completions with and without streaming, an invalid request
//! (BadRequestError), a wrong key (AuthenticationError). The interpreter is
//! $GEMMA_TUI_TEST_PYTHON (the venv .ci/run makes), else `python3` if it can import openai;
//! without either the test fails and says how to get one: a skipped check would prove nothing.
mod common;
mod serve_support;

use std::path::PathBuf;
use std::process::Command;

fn python_with_openai() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("GEMMA_TUI_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("python3")])
        .collect();
    for python in &candidates {
        let ok = Command::new(python)
            .args(["-c", "import openai"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python.clone();
        }
    }
    panic!(
        "no Python with the `openai` package (tried {candidates:?}): run `.ci/run deps`, or make \
         a venv (`python3 -m venv DIR && DIR/bin/pip install openai`) and set \
         GEMMA_TUI_TEST_PYTHON=DIR/bin/python"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_openai_python_client_works_against_serve() {
    let python = python_with_openai();
    let server = serve_support::Server::start(&["--api-key", "py-key", "--parallel", "2"]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/openai_client.py");
    let base = server.url("/v1");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .args([script, &base, "py-key"])
            // No proxy between the client and loopback.
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("run the Python client")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
