//! `gemma-tui serve` on SmolLM2 (the kalosm-llama engine): chats are rendered in ChatML, the
//! model's own format, so the instruction-tuned model answers and stops at `<|im_end|>`; a JSON
//! response format holds on this engine too.
mod common;
mod serve_support;

use serde_json::{json, Value};
use serve_support::Server;

#[tokio::test(flavor = "multi_thread")]
async fn smollm2_chats_in_chatml_through_the_server() {
    let model = common::smollm2_path();
    let server = Server::start(&["--model", model.to_str().unwrap()]).await;
    let client = reqwest::Client::new();
    let ask = |body: Value| {
        let client = client.clone();
        let url = server.url("/v1/chat/completions");
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let v = ask(json!({
        "messages": [{"role": "system", "content": "You answer in one short sentence."},
                     {"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 40, "temperature": 0
    }))
    .await;
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("Paris"), "{v}");
    assert!(
        !text.contains("<|im"),
        "ChatML markers never reach the reply: {text:?}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop", "{v}");
    let v = ask(json!({
        "messages": [{"role": "user", "content": "Give me a JSON object describing a cat."}],
        "max_tokens": 80, "temperature": 0.7, "seed": 2,
        "response_format": {"type": "json_object"}
    }))
    .await;
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    let reply: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(reply.is_object(), "{text}");
}
