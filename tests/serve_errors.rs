//! `gemma-tui serve` under bad input and hard exits, as a real process on a real socket: bad JSON
//! and bad fields get OpenAI-style 400s, a wrong key a 401, an unknown route a 404; a flood of
//! malformed requests leaves it answering; a public address without a key is refused; a client
//! that leaves mid-stream frees its slot; SIGTERM lets the reply in flight finish, then exits 0.
mod common;
mod serve_support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use serve_support::{check_error, Server};

const KEY: &str = "k3y";

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"));
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_openai_errors_and_a_flood_leaves_it_answering() {
    let server = Server::start(&["--api-key", KEY, "--max-body", "4096"]).await;
    let client = reqwest::Client::new();
    let chat = server.url("/v1/chat/completions");
    let raw = |body: &'static str| client.post(&chat).bearer_auth(KEY).body(body);

    let (s, b) = send(raw("{\"messages\": [")).await;
    check_error(s, &b, 400);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("JSON"),
        "{b}"
    );
    let (s, b) = send(raw("[1, 2]")).await;
    check_error(s, &b, 400);
    for (body, param) in [
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "top_k": [1]}),
            "top_k",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -3}),
            "max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}),
            "stream",
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "samplers": ["warp"]}),
            "samplers",
        ),
        (json!({"messages": "hi"}), "messages"),
        (json!({}), "messages"),
    ] {
        let (s, b) = send(client.post(&chat).bearer_auth(KEY).json(&body)).await;
        check_error(s, &b, 400);
        assert_eq!(b["error"]["param"], param, "{b}");
        assert_eq!(b["error"]["type"], "invalid_request_error");
    }
    let (s, b) = send(
        client
            .post(server.url("/v1/completions"))
            .bearer_auth(KEY)
            .json(&json!({"prompt": 7})),
    )
    .await;
    check_error(s, &b, 400);
    assert_eq!(b["error"]["param"], "prompt");

    // Keys.
    let ok_body = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1});
    let (s, b) = send(client.post(&chat).json(&ok_body)).await;
    check_error(s, &b, 401);
    let (s, b) = send(client.post(&chat).bearer_auth("wrong").json(&ok_body)).await;
    check_error(s, &b, 401);
    assert_eq!(b["error"]["type"], "authentication_error");
    let (s, b) = send(
        client
            .get(server.url("/v1/models"))
            .bearer_auth("k3y-but-longer"),
    )
    .await;
    check_error(s, &b, 401);

    // Routes and limits.
    let (s, b) = send(client.get(server.url("/v1/nothing")).bearer_auth(KEY)).await;
    check_error(s, &b, 404);
    let (s, b) = send(client.get(&chat).bearer_auth(KEY)).await;
    check_error(s, &b, 405);
    let big = format!("{{\"prompt\": \"{}\"}}", "a".repeat(8000));
    let (s, b) = send(
        client
            .post(server.url("/v1/completions"))
            .bearer_auth(KEY)
            .body(big),
    )
    .await;
    check_error(s, &b, 413);

    // A flood of malformed requests, many at once.
    let garbage: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"\"messages\"".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        br#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e400}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": "x"}], "temperature": 1e39}"#.to_vec(),
        br#"{"messages": [{"role": "user"}]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#.to_vec(),
        br#"{"prompt": ["a", "b"]}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 1000, "logprobs": true}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": "x"}], "mirostat": 9}"#.to_vec(),
        br#"{"messages": [{"role": "user", "content": "x"}], "n": 5}"#.to_vec(),
        "{\"messages\": [{\"role\": \"user\", \"content\": \"\u{1F600}\"}], \"seed\": -9}".as_bytes().to_vec(),
    ];
    let mut flood = futures::stream::iter((0..300).map(|i| {
        let body = garbage[i % garbage.len()].clone();
        let path = if i % 2 == 0 {
            "/v1/chat/completions"
        } else {
            "/v1/completions"
        };
        let req = client.post(server.url(path)).bearer_auth(KEY).body(body);
        async move {
            let r = req.send().await.expect("the server stays up");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("an error body in JSON");
            (status, body)
        }
    }))
    .buffer_unordered(32);
    let mut answered = 0;
    while let Some((status, body)) = flood.next().await {
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        answered += 1;
    }
    assert_eq!(answered, 300);
    // Still answering, and a good request still works.
    let (s, b) = send(client.post(&chat).bearer_auth(KEY).json(&ok_body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["usage"]["completion_tokens"], 1);
    let (s, _) = send(client.get(server.url("/health"))).await;
    assert_eq!(s, 200);
}

#[test]
fn a_public_address_without_a_key_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = common::headless(home.path())
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .env_remove("GEMMA_TUI_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--api-key") && err.contains("--insecure"),
        "{err}"
    );
    assert!(!err.contains("listening on"), "{err}");
}

/// Reads a streamed body until `n` events arrived; returns the text read.
async fn read_events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    n: usize,
) -> String {
    let mut text = String::new();
    while text.matches("data: {").count() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("a chunk in time")
            .unwrap_or_else(|| panic!("the stream ended early: {text}"))
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_mid_stream_frees_its_slot() {
    let server = Server::start(&["--parallel", "1"]).await;
    let client = reqwest::Client::new();
    // A plain completion (no format's stop string such as a dialogue's `\nUser:`), no stop
    // strings from the profile, no end token: nothing but the client can end this reply early.
    let long = json!({"prompt": "Count to a thousand: 1, 2, 3,", "max_tokens": 400,
                      "ignore_eos": true, "stream": true, "stop": []});
    let r = client
        .post(server.url("/v1/completions"))
        .json(&long)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    read_events(&mut stream, 3).await;
    assert_eq!(server.metric(None, "slots_busy").await, 1.0);
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.metric(None, "slots_busy").await != 0.0 {
        assert!(Instant::now() < deadline, "the slot was not freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.metric(None, "disconnects_total").await, 1.0);
    // Far fewer than 400 tokens were made.
    assert!(server.metric(None, "generated_tokens_total").await < 200.0);
    // The one slot takes the next request.
    let (s, b) = send(
        client
            .post(server.url("/v1/completions"))
            .json(&json!({"prompt": "Hi", "max_tokens": 2})),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    // A client that gives up on a reply not streamed frees the slot too.
    let before = server.metric(None, "generated_tokens_total").await;
    let gave_up = client
        .post(server.url("/v1/completions"))
        .timeout(Duration::from_millis(1500))
        .json(&json!({"prompt": "Once upon a time", "max_tokens": 400, "ignore_eos": true}))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.metric(None, "slots_busy").await != 0.0 {
        assert!(Instant::now() < deadline, "the slot was not freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let made = server.metric(None, "generated_tokens_total").await - before;
    assert!(made < 200.0, "{made} tokens: the job was cancelled early");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_the_reply_in_flight_then_exits_0() {
    let mut server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    // No stop string and no end token can cut this reply short of its 40 tokens.
    let body = json!({"prompt": "Once upon a time", "max_tokens": 40, "ignore_eos": true,
                      "stop": [], "stream": true, "stream_options": {"include_usage": true}});
    let r = client
        .post(server.url("/v1/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let mut text = read_events(&mut stream, 2).await;
    server.term();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .unwrap()
    {
        text.push_str(&String::from_utf8_lossy(
            &chunk.expect("the stream ends cleanly"),
        ));
    }
    let events = serve_support::json_events(&text);
    let usage = events.last().unwrap();
    assert_eq!(
        usage["usage"]["completion_tokens"], 40,
        "the reply finished: {text}"
    );
    let status = server.wait_exit(30);
    assert!(status.success(), "{status:?}");
    assert!(
        client.get(server.url("/health")).send().await.is_err(),
        "nothing listens after the exit"
    );
}
