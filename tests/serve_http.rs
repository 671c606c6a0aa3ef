//! `gemma-tui serve` as a real process on a real socket with the real model, checked with plain
//! HTTP: health, models, chat and text completions streamed and not (SSE framing, the role
//! first, the finish chunk with timings, the usage chunk, [DONE]), a prefill that resumes a
//! reply, log-probabilities, and /metrics.
mod common;
mod serve_support;

use serde_json::{json, Value};
use serve_support::{check_timings, json_events, Server};

const KEY: &str = "test-key";

async fn post(server: &Server, path: &str, body: Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let is_sse = r
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let text = r.text().await.unwrap();
    assert_eq!(
        is_sse,
        body["stream"] == json!(true),
        "content type of {text}"
    );
    (status, text)
}

async fn post_json(server: &Server, path: &str, body: Value) -> Value {
    let (status, text) = post(server, path, body).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn question() -> Value {
    json!([{"role": "user", "content": "What is the capital of France?"}])
}

#[tokio::test(flavor = "multi_thread")]
async fn health_models_metrics_and_chat_streamed_and_not() {
    let server = Server::start(&["--api-key", KEY, "--parallel", "2"]).await;
    let client = reqwest::Client::new();
    for path in ["/health", "/v1/health"] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} needs no key");
    }
    for path in ["/v1/models", "/models"] {
        let m: Value = client
            .get(server.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(m["object"], "list");
        assert_eq!(m["data"][0]["id"], "gemma-3-270m-q4_k_m", "{m}");
        assert_eq!(m["data"][0]["object"], "model");
    }
    assert_eq!(server.metric(Some(KEY), "slots_total").await, 2.0);
    assert_eq!(server.metric(Some(KEY), "model_loaded").await, 1.0);

    // Not streamed.
    let whole = post_json(
        &server,
        "/v1/chat/completions",
        json!({"model": "anything", "messages": question(), "max_tokens": 12, "temperature": 0}),
    )
    .await;
    assert_eq!(whole["object"], "chat.completion");
    assert!(whole["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &whole["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap().to_string();
    assert!(!text.trim().is_empty(), "{whole}");
    let finish = choice["finish_reason"].as_str().unwrap();
    assert!(finish == "stop" || finish == "length", "{whole}");
    let usage = &whole["usage"];
    let completion_tokens = usage["completion_tokens"].as_u64().unwrap();
    assert!((1..=12).contains(&completion_tokens));
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + completion_tokens
    );
    if finish == "length" {
        assert_eq!(completion_tokens, 12);
    }
    check_timings(&whole["timings"], completion_tokens);

    // Streamed, same request: the same text, in OpenAI's events.
    let (status, body) = post(
        &server,
        "/chat/completions",
        json!({"messages": question(), "max_tokens": 12, "temperature": 0, "stream": true,
               "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(status, 200);
    let events = json_events(&body);
    let first = &events[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let id = first["id"].as_str().unwrap();
    assert!(events
        .iter()
        .all(|e| e["id"] == id && e["object"] == "chat.completion.chunk"));
    let (usage_chunk, rest) = events.split_last().unwrap();
    let (finish_chunk, content) = rest.split_last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"], whole["usage"]);
    assert_eq!(finish_chunk["choices"][0]["finish_reason"], finish);
    assert_eq!(finish_chunk["choices"][0]["delta"], json!({}));
    check_timings(&finish_chunk["timings"], completion_tokens);
    let streamed: String = content
        .iter()
        .map(|e| {
            assert!(e["choices"][0]["finish_reason"].is_null());
            e["choices"][0]["delta"]["content"].as_str().unwrap()
        })
        .collect();
    assert_eq!(streamed, text, "greedy: the stream spells the same reply");
    assert!(
        content.len() >= 2,
        "role chunk and at least one content delta"
    );

    // Without include_usage there is no usage chunk.
    let (_, body) = post(
        &server,
        "/v1/chat/completions",
        json!({"messages": question(), "max_tokens": 3, "temperature": 0, "stream": true}),
    )
    .await;
    let events = json_events(&body);
    assert!(events
        .iter()
        .all(|e| e.get("usage").is_none() && e["choices"].as_array().unwrap().len() == 1));
    assert!(events.last().unwrap()["choices"][0]["finish_reason"].is_string());
    assert!(server.metric(Some(KEY), "requests_total").await >= 3.0);
    assert!(
        server.metric(Some(KEY), "generated_tokens_total").await
            >= (2 * completion_tokens + 1) as f64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn text_completions_logprobs_and_prefill() {
    let server = Server::start(&["--api-key", KEY]).await;
    let prompt = "The capital of France is";
    let whole = post_json(
        &server,
        "/v1/completions",
        // No penalties: the greedy pick is then the raw distribution's most likely token.
        json!({"prompt": prompt, "max_tokens": 6, "temperature": 0, "ignore_eos": true, "logprobs": 2,
               "repeat_penalty": 1.0, "presence_penalty": 0, "frequency_penalty": 0, "dry_multiplier": 0}),
    )
    .await;
    assert_eq!(whole["object"], "text_completion");
    assert!(whole["id"].as_str().unwrap().starts_with("cmpl-"));
    let text = whole["choices"][0]["text"].as_str().unwrap().to_string();
    assert_eq!(whole["choices"][0]["finish_reason"], "length");
    assert_eq!(whole["usage"]["completion_tokens"], 6);
    check_timings(&whole["timings"], 6);
    let lp = &whole["choices"][0]["logprobs"];
    let tokens = lp["tokens"].as_array().unwrap();
    assert!(!tokens.is_empty() && tokens.len() <= 6, "{lp}");
    assert_eq!(lp["token_logprobs"].as_array().unwrap().len(), tokens.len());
    for (i, top) in lp["top_logprobs"].as_array().unwrap().iter().enumerate() {
        let top = top.as_object().unwrap();
        assert!(!top.is_empty() && top.len() <= 2, "{lp}");
        assert!(top.values().all(|v| v.as_f64().unwrap() <= 0.0));
        let best = top
            .values()
            .map(|v| v.as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        // Greedy: the sampled token is the most likely one.
        assert!(
            (lp["token_logprobs"][i].as_f64().unwrap() - best).abs() < 1e-4,
            "{lp}"
        );
    }

    let (_, body) = post(
        &server,
        "/completions",
        json!({"prompt": prompt, "n_predict": 6, "temperature": 0, "ignore_eos": true, "stream": true,
               "repeat_penalty": 1.0, "presence_penalty": 0, "frequency_penalty": 0, "dry_multiplier": 0,
               "stream_options": {"include_usage": true}}),
    )
    .await;
    let events = json_events(&body);
    assert!(events.iter().all(|e| e["object"] == "text_completion"));
    let (usage_chunk, rest) = events.split_last().unwrap();
    let (finish_chunk, content) = rest.split_last().unwrap();
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 6);
    assert_eq!(finish_chunk["choices"][0]["finish_reason"], "length");
    check_timings(&finish_chunk["timings"], 6);
    let streamed: String = content
        .iter()
        .map(|e| e["choices"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, text);

    // Chat log-probabilities in OpenAI's chat shape.
    let chat = post_json(
        &server,
        "/v1/chat/completions",
        json!({"messages": question(), "max_tokens": 4, "temperature": 0, "ignore_eos": true,
               "logprobs": true, "top_logprobs": 3}),
    )
    .await;
    let content = chat["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap();
    assert!(!content.is_empty(), "{chat}");
    for c in content {
        assert!(c["token"].is_string() && c["logprob"].as_f64().unwrap() <= 0.0);
        assert_eq!(
            c["bytes"].as_array().unwrap().len(),
            c["token"].as_str().unwrap().len()
        );
        assert_eq!(c["top_logprobs"].as_array().unwrap().len(), 3, "{c}");
    }

    // A trailing assistant message is continued: a reply cut after a few words and sent back as
    // a prefill goes on as the whole reply did.
    // No penalties: they count the reply's tokens, which the prefill moves into the prompt.
    let plain = json!({"temperature": 0, "repeat_penalty": 1.0, "presence_penalty": 0,
                       "frequency_penalty": 0, "dry_multiplier": 0});
    let with = |extra: Value| {
        let mut body = plain.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let describe = json!([{"role": "user", "content": "Describe the city of Paris in detail."}]);
    let full = post_json(
        &server,
        "/v1/chat/completions",
        with(json!({"messages": describe, "max_tokens": 16})),
    )
    .await;
    let full = full["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let words: Vec<&str> = full.split(' ').collect();
    assert!(words.len() >= 4, "a reply of a few words to cut: {full:?}");
    let cut = words[..2].join(" ");
    let mut messages = describe.clone();
    messages
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": cut}));
    let resumed = post_json(
        &server,
        "/v1/chat/completions",
        with(json!({"messages": messages, "max_tokens": 6})),
    )
    .await;
    let continuation = resumed["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    assert!(
        full.starts_with(&format!("{cut}{continuation}")),
        "prefill {cut:?} went on as {continuation:?}, the whole reply was {full:?}"
    );
    assert!(!continuation.is_empty());
}
