//! `gemma-tui serve --context-shift` on the real model: a reply longer than its slot's context
//! goes on (llama-server's context shift), streamed and not, two at a time, with llama-server's
//! `truncated` flag; without the flag it ends at the context with `length`; a prompt longer than
//! the context is still a 400. And the RoPE settings (a profile's and the flags') reach the
//! server, as `/props` shows.
mod common;
mod serve_support;

use serde_json::{json, Value};
use serve_support::{check_timings, json_events, Server};

/// A short raw prompt whose reply is kept going past every end token.
fn long_reply(max_tokens: usize, stream: bool) -> Value {
    json!({
        "prompt": "The history of the harbour began with a storm.",
        "max_tokens": max_tokens,
        "ignore_eos": true,
        "temperature": 0,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

async fn post(server: &Server, body: &Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(server.url("/v1/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The reply's finish reason, generated tokens, `truncated` flag and timings, from either form.
async fn complete(server: &Server, body: Value) -> (String, u64, bool, Value) {
    let (status, text) = post(server, &body).await;
    assert_eq!(status, 200, "{text}");
    if body["stream"] == json!(true) {
        let events = json_events(&text);
        let usage = events.last().unwrap();
        let fin = &events[events.len() - 2];
        (
            fin["choices"][0]["finish_reason"]
                .as_str()
                .unwrap()
                .to_string(),
            usage["usage"]["completion_tokens"].as_u64().unwrap(),
            fin["truncated"].as_bool().unwrap(),
            fin["timings"].clone(),
        )
    } else {
        let r: Value = serde_json::from_str(&text).unwrap();
        (
            r["choices"][0]["finish_reason"]
                .as_str()
                .unwrap()
                .to_string(),
            r["usage"]["completion_tokens"].as_u64().unwrap(),
            r["truncated"].as_bool().unwrap(),
            r["timings"].clone(),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_outgrow_the_context_with_the_flag_and_stop_at_it_without() {
    let server = Server::start(&["--ctx", "256", "--parallel", "2", "--context-shift"]).await;
    for stream in [false, true] {
        let (finish, n, truncated, timings) = complete(&server, long_reply(600, stream)).await;
        assert_eq!((finish.as_str(), n), ("length", 600), "stream {stream}");
        assert!(
            truncated,
            "a shifted reply is `truncated`, as llama-server says"
        );
        check_timings(&timings, 600);
        // 600 tokens through 256 positions: at least two shifts of half the context.
        assert!(
            timings["context_shifts"].as_u64().unwrap() >= 2,
            "{timings}"
        );
    }
    // Two at once, one with llama-server's own n_keep (the whole prompt) and n_discard.
    let mut own = long_reply(600, false);
    own["n_keep"] = json!(-1);
    own["n_discard"] = json!(64);
    let (a, b) = tokio::join!(
        complete(&server, long_reply(600, true)),
        complete(&server, own)
    );
    assert_eq!((a.0.as_str(), a.1, a.2), ("length", 600, true));
    assert_eq!((b.0.as_str(), b.1, b.2), ("length", 600, true));
    // Dropping 64 at a time takes more shifts than dropping half.
    assert!(
        b.3["context_shifts"].as_u64() > a.3["context_shifts"].as_u64(),
        "{} vs {}",
        b.3,
        a.3
    );
    // A bad n_keep is the request's fault.
    let mut bad = long_reply(8, false);
    bad["n_keep"] = json!(-2);
    let (status, text) = post(&server, &bad).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("n_keep"), "{text}");
    // A prompt longer than the context is refused, shift or not (as llama-server does).
    let mut huge = long_reply(8, false);
    huge["prompt"] = json!("harbour storm ".repeat(200));
    let (status, text) = post(&server, &huge).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("context_length_exceeded"), "{text}");
    let props = get_props(&server).await;
    assert_eq!(props["context_shift"], true, "{props}");
    assert_eq!(
        props["default_generation_settings"]["n_ctx"], 256,
        "{props}"
    );
    assert_eq!(props["total_slots"], 2, "{props}");
    // The log says so, as llama-server's does.
    let log = std::fs::read_to_string(server.home.path().join("log/gemma-tui.log")).unwrap();
    assert!(log.contains("slot context shift"), "{log}");
    // 256 positions are less than a sliding layer's window plus a micro-batch: no rings, so
    // every shift moved the cache in place.
    assert!(!log.contains(FED_AGAIN), "{log}");
    drop(server);

    let server = Server::start(&["--ctx", "256"]).await;
    for stream in [false, true] {
        let (finish, n, truncated, _) = complete(&server, long_reply(600, stream)).await;
        assert_eq!(finish, "length");
        assert!(n < 256, "the reply stops at the context: {n} tokens");
        assert!(!truncated);
    }
}

/// What the log says when a shift feeds the kept tokens again (src/engine/generate_context.rs).
const FED_AGAIN: &str = "kept tokens fed again";

/// A shift that drops nearly the whole context: the sliding layers' rings no longer hold the
/// positions the kept tokens' windows reach, so it cannot be made in place. The kept tokens are
/// fed again and the reply still goes on to its max_tokens (it used to end at the context with
/// `length`, short of them).
#[tokio::test(flavor = "multi_thread")]
async fn a_shift_the_rings_cannot_make_in_place_feeds_the_kept_tokens_again() {
    // More positions than a ring holds (the 512-token window plus a 512-row micro-batch), so the
    // sliding layers keep rings and those wrap before the context is full.
    let server = Server::start(&["--ctx", "1100", "--context-shift"]).await;
    let text = std::fs::read_to_string("tests/fixtures/perplexity/harbour.txt").unwrap();
    let mut body = long_reply(400, false);
    body["prompt"] = json!(text.chars().take(3600).collect::<String>());
    // Keep BOS, drop 1000 of the 1099 positions: the 99 left reach back to position 0 through
    // a window the rings wrapped past long ago.
    body["n_keep"] = json!(0);
    body["n_discard"] = json!(1000);
    let (status, text) = post(&server, &body).await;
    assert_eq!(status, 200, "{text}");
    let r: Value = serde_json::from_str(&text).unwrap();
    let prompt = r["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(
        prompt < 1000 && prompt + 400 > 1100,
        "the reply must outgrow the context: {prompt} prompt tokens"
    );
    assert_eq!(r["choices"][0]["finish_reason"], "length", "{r}");
    assert_eq!(r["usage"]["completion_tokens"], 400, "{r}");
    assert_eq!(r["truncated"], true, "{r}");
    assert!(r["timings"]["context_shifts"].as_u64().unwrap() >= 1, "{r}");
    let log = std::fs::read_to_string(server.home.path().join("log/gemma-tui.log")).unwrap();
    assert!(log.contains(FED_AGAIN), "{log}");
}

/// The server's `GET /props`.
async fn get_props(server: &Server) -> Value {
    reqwest::get(server.url("/props"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rope_settings_from_the_profile_and_the_flags_reach_the_server() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    // The active profile scales linearly by 2; the flag moves the base.
    std::fs::write(
        config.join("profiles.toml"),
        "[profiles.balanced.rope]\nscaling = \"linear\"\nscale = 2.0\n",
    )
    .unwrap();
    let server = Server::start_in(home, &["--rope-freq-base", "20000"]).await;
    let props = get_props(&server).await;
    assert_eq!(props["rope"]["freq_base"], 20000.0, "{props}");
    assert_eq!(props["rope"]["freq_scale"], 0.5, "{props}");
    drop(server);
    let server = Server::start(&[]).await;
    let props = get_props(&server).await;
    // The GGUF's own: base 1e6, no scaling.
    assert_eq!(props["rope"]["freq_base"], 1_000_000.0, "{props}");
    assert_eq!(props["rope"]["freq_scale"], 1.0, "{props}");
    assert_eq!(props["context_shift"], false, "{props}");

    // A value no RoPE can use stops the command before it binds, naming the flag's key.
    let home = tempfile::tempdir().unwrap();
    let out = common::headless_with_model(home.path())
        .args(["serve", "--port", "0", "--rope-scale", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scale"), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}
