//! The kalosm-llama engine on the real SmolLM2-135M-Instruct: it is picked for a llama GGUF, chats
//! in ChatML, hands our sampler every logit, tokenizes like SmolLM2's own tokenizer, and its greedy
//! reply equals kalosm-llama's own generation loop's.
mod common;

use std::sync::{Arc, Mutex};

use gemma_tui::engine::{
    ChatFormat, Dialogue, Engine, EngineKind, FinishReason, Limits, PromptKind, StepControl,
};
use gemma_tui::sampling::argmax;
use serde::Deserialize;

fn load() -> Engine {
    // Asked for our engine: a llama-architecture file goes to kalosm-llama's.
    Engine::load_with(&common::smollm2_path(), 2, EngineKind::Candle).unwrap()
}

fn no_dialogue() -> Dialogue {
    unreachable!("SmolLM2-135M-Instruct is instruction-tuned")
}

/// Greedy reply to `prompt` (at most `max` tokens); checks every step's logits are full-size.
fn greedy(e: &Engine, prompt: &PromptKind, max: usize) -> (String, Vec<u32>, FinishReason) {
    let mut session = e.new_session(1024).unwrap();
    let mut text = String::new();
    let vocab = e.cfg.vocab_size;
    let stats = e
        .generate(
            &mut session,
            prompt,
            &Limits::tokens(max),
            &|| false,
            &mut |logits, _| {
                assert_eq!(logits.len(), vocab, "every logit reaches the sampler");
                Ok(argmax(&logits))
            },
            &mut |ev| {
                if let gemma_tui::engine::GenEvent::Token { text: t, .. } = ev {
                    text.push_str(t);
                }
                StepControl::Continue
            },
        )
        .unwrap();
    (text, stats.generated_ids, stats.finish)
}

#[test]
fn smollm2_answers_an_instruction_in_chatml() {
    let e = load();
    assert_eq!(e.kind, EngineKind::KalosmLlama);
    assert_eq!(e.cfg.vocab_size, 49152);
    assert_eq!(e.cfg.context_length, 8192);
    let format = e.chat_format(no_dialogue);
    assert_eq!(format, ChatFormat::ChatMl);
    let prompt = PromptKind::Chat {
        text: "What is the capital of France?".into(),
        system: None,
        format,
    };
    let (text, ids, finish) = greedy(&e, &prompt, 48);
    assert!(text.contains("Paris"), "reply {text:?}");
    assert_eq!(finish, FinishReason::EndOfTurn, "reply {text:?}");
    assert!(!text.contains("<|im_end|>") && !ids.is_empty());
}

#[derive(Deserialize)]
struct Tokens {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
}

#[test]
fn tokenizer_matches_smollm2s_own_and_round_trips() {
    let e = load();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/smollm2/tokens.json"
    );
    let tokens: Tokens = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    for case in &tokens.cases {
        // Reference ids: SmolLM2's tokenizer as its tokenizer.json describes it (make_tokens.py).
        let ids = e.tokenizer.encode(&case.text, true, true);
        assert_eq!(ids, case.ids, "{:?}", case.text);
        // No BOS for SmolLM2 (tokenizer.ggml.add_bos_token = false), and our byte-level
        // decoding gives the text back.
        assert_eq!(
            e.tokenizer.decode(&ids),
            case.text
                .replace("<|im_start|>", "")
                .replace("<|im_end|>", "")
        );
    }
    // Without parse_special a written marker is text, not the control token.
    let literal = e.tokenizer.encode("<|im_end|>", false, false);
    assert!(literal.len() > 1 && !literal.contains(&2), "{literal:?}");
    assert_eq!(e.tokenizer.decode(&literal), "<|im_end|>");
    // The end-of-turn token ends a reply.
    assert!(e
        .tokenizer
        .is_eog(e.tokenizer.token_id("<|im_end|>").unwrap()));
}

#[test]
fn every_token_decodes_like_kalosm_llamas_tokenizer() {
    let path = common::smollm2_path();
    let e = load();
    let (_, theirs) = gemma_tui::engine::kalosm_llama::KalosmLlamaModel::load(&path).unwrap();
    let mut compared = 0;
    for id in 0..e.cfg.vocab_size as u32 {
        let ours = e.tokenizer.token_bytes(id);
        let Ok(text) = std::str::from_utf8(&ours) else {
            continue; // part of a character: their decode would replace it with U+FFFD
        };
        if text.is_empty() {
            continue; // control tokens: we show nothing, their decode skips them too
        }
        assert_eq!(theirs.decode(&[id], false).unwrap(), text, "token {id}");
        compared += 1;
    }
    assert!(compared > 40_000, "{compared}");
}

#[test]
fn greedy_reply_equals_kalosm_llamas_own_generation() {
    use kalosm_llama::prelude::*;
    let path = common::smollm2_path();
    let prompt =
        "<|im_start|>user\nWrite one sentence about the sea.<|im_end|>\n<|im_start|>assistant\n";
    let e = load();
    let (ours, ids, finish) = greedy(&e, &PromptKind::Raw(prompt.into()), 200);
    assert_eq!(finish, FinishReason::EndOfTurn);
    assert!(ids.len() >= 8, "{ours:?}");
    // kalosm-llama's generation: its own prompt tokenization, top-512 cut and loop, greedy.
    let theirs = Arc::new(Mutex::new(String::new()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let model = Llama::builder()
            .with_source(LlamaSource::new(kalosm_model_types::FileSource::Local(
                path,
            )))
            .with_device(candle_core::Device::Cpu)
            .build_with_loading_handler(|_| {})
            .await
            .unwrap();
        let mut session = model.new_session().unwrap();
        let sink = theirs.clone();
        model
            .stream_text_with_callback(
                &mut session,
                prompt,
                llm_samplers::prelude::SampleGreedy::new(),
                move |t| {
                    sink.lock().unwrap().push_str(&t);
                    Ok(())
                },
            )
            .await
            .unwrap();
    });
    assert_eq!(ours, *theirs.lock().unwrap());
}

#[test]
fn ask_prints_only_the_answer_on_stdout() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = common::headless(home.path());
    cmd.env(
        "GEMMA_TUI_MODELS_DIR",
        common::smollm2_path().parent().unwrap(),
    );
    let out = cmd
        .args([
            "--model",
            "smollm2",
            "ask",
            "--temp",
            "0",
            "--max-tokens",
            "40",
        ])
        .arg("What is the capital of France?")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Nothing of kalosm-llama's ("Running on CPU", progress bars) around the answer.
    assert_eq!(
        stdout.trim(),
        "The capital of France is Paris.",
        "{stdout:?}"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kalosm_llama_refuses_a_gemma_file_with_an_error() {
    let err = Engine::load_with(&common::model_path(), 2, EngineKind::KalosmLlama)
        .err()
        .expect("kalosm-llama cannot run Gemma 3");
    assert!(
        err.to_string()
            .contains("unsupported architecture `gemma3`"),
        "{err}"
    );
}
