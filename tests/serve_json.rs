//! `response_format` on a real `gemma-tui serve` with the real (base) model: every reply to a
//! `json_schema` request validates under its schema (the `jsonschema` crate), streamed or not,
//! with several seeds and two requests batched together; `json_object` replies are objects;
//! properties come in the schema's order; a bad format is a 400 that names the field.
mod common;
mod serve_support;

use serde_json::Value;
use serve_support::{json_events, Server};

/// Request bodies are sent as text, so the schema's property order is the one written here
/// (a `serde_json::Value` would sort the keys).
async fn post_text(server: &Server, path: &str, body: String) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

const PERSON: &str = r#"{"type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"type": "string", "maxLength": 20},
        "pets": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}
    },
    "required": ["name", "age", "city"]}"#;

const REVIEW: &str = r#"{"type": "object",
    "properties": {
        "verdict": {"enum": ["buy", "skip", "wait"]},
        "rating": {"type": "number", "minimum": 1, "maximum": 5},
        "recommended": {"type": "boolean"},
        "notes": {"type": ["string", "null"], "maxLength": 40}
    },
    "required": ["verdict", "rating", "recommended", "notes"]}"#;

fn chat_body(question: &str, schema: &str, seed: u64, stream: bool) -> String {
    format!(
        r#"{{"messages": [{{"role": "user", "content": {q}}}], "max_tokens": 120,
            "temperature": 0.9, "seed": {seed}, "stream": {stream},
            "response_format": {{"type": "json_schema",
                "json_schema": {{"name": "reply", "strict": true, "schema": {schema}}}}}}}"#,
        q = Value::String(question.into()),
    )
}

/// The reply's text from a chat answer, streamed or not.
fn reply_text(body: &str, stream: bool) -> (String, String) {
    if stream {
        let events = json_events(body);
        let text: String = events
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
            .collect();
        let finish = events
            .iter()
            .filter_map(|e| e["choices"][0]["finish_reason"].as_str())
            .next_back()
            .unwrap_or_default()
            .to_string();
        (text, finish)
    } else {
        let v: Value = serde_json::from_str(body).unwrap();
        let choice = &v["choices"][0];
        (
            choice["message"]["content"].as_str().unwrap().to_string(),
            choice["finish_reason"].as_str().unwrap().to_string(),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_schema_replies_validate_streamed_and_batched() {
    let server = Server::start(&["--parallel", "2"]).await;
    let cases = [
        ("Describe a person as JSON.", PERSON),
        ("Review this kettle as JSON.", REVIEW),
    ];
    for (question, schema_text) in cases {
        let schema: Value = serde_json::from_str(schema_text).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let keys: Vec<String> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| format!("\"{}\"", k.as_str().unwrap()))
            .collect();
        for seeds in [[1u64, 2], [3, 4]] {
            // Two requests at once: one streamed, one not, decoded in one batched step.
            let (a, b) = tokio::join!(
                post_text(
                    &server,
                    "/v1/chat/completions",
                    chat_body(question, schema_text, seeds[0], true)
                ),
                post_text(
                    &server,
                    "/v1/chat/completions",
                    chat_body(question, schema_text, seeds[1], false)
                ),
            );
            for ((status, body), stream) in [(a, true), (b, false)] {
                assert_eq!(status, 200, "{body}");
                let (text, finish) = reply_text(&body, stream);
                assert_eq!(finish, "stop", "the JSON ended within max_tokens: {text}");
                let reply: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
                let errors: Vec<String> = validator
                    .iter_errors(&reply)
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{text}: {errors:?}");
                // The required properties come in the schema's order.
                let at: Vec<usize> = keys
                    .iter()
                    .map(|k| text.find(k.as_str()).unwrap())
                    .collect();
                assert!(at.windows(2).all(|w| w[0] < w[1]), "order in {text}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_object_and_completion_schemas_and_bad_formats() {
    let server = Server::start(&[]).await;
    for seed in [5, 6] {
        let body = format!(
            r#"{{"messages": [{{"role": "user", "content": "Give me a JSON object about cats."}}],
                "max_tokens": 160, "seed": {seed}, "temperature": 0.8,
                "response_format": {{"type": "json_object"}}}}"#
        );
        let (status, body) = post_text(&server, "/v1/chat/completions", body).await;
        assert_eq!(status, 200, "{body}");
        let (text, finish) = reply_text(&body, false);
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), finish {finish}: {text}"));
        assert!(reply.is_object(), "{text}");
    }
    // A plain completion with llama-server's top-level `json_schema`.
    let body = r#"{"prompt": "Three primes as a JSON array:", "max_tokens": 40, "seed": 9,
        "json_schema": {"type": "array", "items": {"type": "integer", "minimum": 2, "maximum": 97},
                        "minItems": 3, "maxItems": 3}}"#;
    let (status, body) = post_text(&server, "/v1/completions", body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let text = v["choices"][0]["text"].as_str().unwrap();
    let reply: Vec<i64> = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(
        reply.len() == 3 && reply.iter().all(|n| (2..=97).contains(n)),
        "{text}"
    );
    // Bad formats: a 400 naming the field, and the server goes on.
    for (body, fault) in [
        (
            r#"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}}"#,
            "unknown",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema",
                "json_schema": {"schema": {"type": "string", "format": "email"}}}}"#,
            "format",
        ),
        (
            r#"{"prompt": "x", "ignore_eos": true, "response_format": {"type": "json_object"}}"#,
            "ignore_eos",
        ),
    ] {
        let path = if body.contains("prompt") {
            "/v1/completions"
        } else {
            "/v1/chat/completions"
        };
        let (status, text) = post_text(&server, path, body.to_string()).await;
        assert_eq!(status, 400, "{text}");
        let e: Value = serde_json::from_str(&text).unwrap();
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(fault), "{message}");
        assert!(e["error"]["param"].is_string(), "{text}");
    }
    let (status, _) = post_text(
        &server,
        "/v1/completions",
        r#"{"prompt": "Hello", "max_tokens": 4}"#.to_string(),
    )
    .await;
    assert_eq!(status, 200);
}
