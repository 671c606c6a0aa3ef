//! `gemma-tui serve --draft ngram` on the real model: greedy (and seeded) replies are the same
//! text as with `--draft off`, alone, streamed and two at a time beside an undrafted reply; the
//! drafted server reports llama-server's `draft_n` / `draft_n_accepted`, with guesses kept on
//! copy-heavy prompts.
mod common;
mod serve_support;

use serde_json::{json, Value};
use serve_support::{json_events, Server};

const PARAGRAPH: &str = "The river rises in the northern hills, runs south through three \
    market towns and a forest of old oaks, and meets the sea at a wide muddy estuary where \
    herons feed at low tide and fishing boats wait for the morning.";

/// A route and a request body.
type Request = (&'static str, Value);

/// Copy-heavy requests, then free-text ones.
fn requests() -> (Vec<Request>, Vec<Request>) {
    let raw = |prompt: String| ("/v1/completions", json!({ "prompt": prompt }));
    let chat = |text: String| {
        (
            "/v1/chat/completions",
            json!({ "messages": [{"role": "user", "content": text}] }),
        )
    };
    let copy = vec![
        raw(format!(
            "Paragraph: {PARAGRAPH}\nThe same paragraph, copied exactly: {PARAGRAPH}\nAnd once more:"
        )),
        raw("one two three four five six seven eight nine ten, one two three four five six seven eight nine ten, one two".into()),
        raw("fn mean(values: &[f64]) -> f64 {\n    let mut total = 0.0;\n    for v in values {\n        total += v;\n    }\n    total / values.len() as f64\n}\n\nfn mean2(values: &[f64]) -> f64 {\n".into()),
        chat(format!("Repeat this paragraph exactly, word for word:\n\n{PARAGRAPH}")),
    ];
    let free = vec![
        raw("The history of the harbour began with a storm.".into()),
        raw("In the morning the baker".into()),
        chat("Why is the sky blue?".into()),
    ];
    (copy, free)
}

/// Greedy, penalties off (they stop the model copying), a fixed length.
fn greedy(mut body: Value) -> Value {
    for (k, v) in [
        ("temperature", json!(0)),
        ("repeat_penalty", json!(1.0)),
        ("presence_penalty", json!(0.0)),
        ("frequency_penalty", json!(0.0)),
        ("dry_multiplier", json!(0.0)),
        ("max_tokens", json!(80)),
    ] {
        body[k] = v;
    }
    body
}

/// The reply's text and timings (streamed or not).
async fn ask(server: &Server, route: &str, body: &Value) -> (String, Value) {
    let r = reqwest::Client::new()
        .post(server.url(route))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let chat = route.contains("chat");
    if body["stream"] == json!(true) {
        let events = json_events(&text);
        let mut reply = String::new();
        for e in &events {
            let c = &e["choices"][0];
            let piece = if chat {
                &c["delta"]["content"]
            } else {
                &c["text"]
            };
            reply.push_str(piece.as_str().unwrap_or(""));
        }
        (reply, events.last().unwrap()["timings"].clone())
    } else {
        let r: Value = serde_json::from_str(&text).unwrap();
        let c = &r["choices"][0];
        let reply = if chat {
            &c["message"]["content"]
        } else {
            &c["text"]
        };
        (reply.as_str().unwrap().to_string(), r["timings"].clone())
    }
}

fn accepted(timings: &Value) -> u64 {
    timings["draft_n_accepted"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn drafted_replies_equal_undrafted_ones_and_report_their_drafts() {
    let drafted = Server::start(&["--parallel", "2", "--draft", "ngram"]).await;
    let plain = Server::start(&["--parallel", "2", "--draft", "off"]).await;
    let (copy, free) = requests();
    let mut kept_on_copy = 0;
    let mut answers = Vec::new();
    for (i, (route, body)) in copy.iter().chain(&free).enumerate() {
        let body = greedy(body.clone());
        let (want, t_plain) = ask(&plain, route, &body).await;
        let (got, t_drafted) = ask(&drafted, route, &body).await;
        assert_eq!(got, want, "request {i}: {body}");
        assert!(t_plain.get("draft_n").is_none(), "{t_plain}");
        assert!(accepted(&t_drafted) <= t_drafted["draft_n"].as_u64().unwrap_or(0));
        if i < copy.len() {
            kept_on_copy += accepted(&t_drafted);
        }
        answers.push((route, body, want));
    }
    assert!(
        kept_on_copy > 20,
        "drafting kept only {kept_on_copy} guesses on the copy-heavy prompts"
    );

    // Streamed, and two at a time (a drafting slot beside one that steps in the batch).
    let (route, body, want) = &answers[0];
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    assert_eq!(&ask(&drafted, route, &streamed).await.0, want);
    let (route2, body2, want2) = &answers[copy.len()];
    let (a, b) = tokio::join!(ask(&drafted, route, body), ask(&drafted, route2, body2));
    assert_eq!((&a.0, &b.0), (want, want2));

    // A seeded sampler draws the same text: each token is still drawn from the same logits.
    let mut seeded = copy[0].1.clone();
    seeded["temperature"] = json!(0.8);
    seeded["seed"] = json!(7);
    seeded["max_tokens"] = json!(60);
    assert_eq!(
        ask(&drafted, copy[0].0, &seeded).await.0,
        ask(&plain, copy[0].0, &seeded).await.0
    );

    let props: Value = reqwest::get(drafted.url("/props"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(props["draft"]["mode"], "ngram", "{props}");
    let props: Value = reqwest::get(plain.url("/props"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(props["draft"]["mode"], "off", "{props}");
}
