//! Multi-turn chat on the real model: a new turn prefills only its own tokens on top of the KV
//! cache, and what it computes equals a fresh prefill of the whole conversation.
mod common;

use gemma_tui::engine::{Engine, FinishReason, PromptKind, StepControl};
use gemma_tui::sampling::argmax;

fn chat(text: &str) -> PromptKind {
    PromptKind::Chat {
        text: text.into(),
        system: None,
    }
}

#[test]
fn second_turn_reuses_the_cache_and_matches_a_full_prefill() {
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let mut session = e.new_session(1024).unwrap();
    let greedy = &mut |logits: Vec<f32>, _: &[u32]| Ok(argmax(&logits));
    let first = e
        .generate(
            &mut session,
            &chat("Name a colour."),
            8,
            &|| false,
            greedy,
            &mut |_| StepControl::Continue,
        )
        .unwrap();
    let after_first = session.tokens.clone();
    assert_eq!(
        after_first.len(),
        first.prompt_ids.len() + first.generated_ids.len()
    );
    // The second turn's prompt: only the closing of the first reply and the new user turn.
    let second_prompt = e.prompt_tokens(&session, &chat("And another?"));
    let rendered = e.tokenizer.encode(
        "<end_of_turn>\n<start_of_turn>user\nAnd another?<end_of_turn>\n<start_of_turn>model\n",
        false,
        true,
    );
    let unfed = if first.finish == FinishReason::MaxTokens {
        1
    } else {
        0
    };
    assert_eq!(second_prompt.len(), unfed + rendered.len());
    let mut logits_via_cache = Vec::new();
    let second = e
        .generate(
            &mut session,
            &chat("And another?"),
            4,
            &|| false,
            &mut |logits, _| {
                if logits_via_cache.is_empty() {
                    logits_via_cache = logits.clone();
                }
                Ok(argmax(&logits))
            },
            &mut |_| StepControl::Continue,
        )
        .unwrap();
    assert_eq!(second.prompt_ids, rendered);
    // The same conversation prefilled in one go from an empty cache.
    let mut whole: Vec<u32> = after_first.clone();
    whole.extend(&rendered);
    let mut fresh = e.new_session(1024).unwrap();
    let logits_fresh = fresh.forward(&whole).unwrap();
    assert_eq!(argmax(&logits_fresh), second.generated_ids[0]);
    let max_diff = logits_fresh
        .iter()
        .zip(&logits_via_cache)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        max_diff < 1e-3,
        "cache vs full prefill differ by {max_diff}"
    );
}

#[test]
fn cancel_and_context_overflow_leave_the_session_usable() {
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let mut session = e.new_session(64).unwrap();
    // A prompt longer than the context is refused and changes nothing.
    let long = "word ".repeat(200);
    let err = e
        .generate(
            &mut session,
            &chat(&long),
            4,
            &|| false,
            &mut |l, _| Ok(argmax(&l)),
            &mut |_| StepControl::Continue,
        )
        .unwrap_err();
    assert!(err.to_string().contains("context is full"), "{err}");
    assert_eq!(session.context_used(), 0);
    // Cancelled before the prefill: nothing is added.
    let stats = e
        .generate(
            &mut session,
            &chat("Hi"),
            4,
            &|| true,
            &mut |l, _| Ok(argmax(&l)),
            &mut |_| StepControl::Continue,
        )
        .unwrap();
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert_eq!(session.context_used(), 0);
    // The session still works, and a reply that fills the context stops cleanly.
    let stats = e
        .generate(
            &mut session,
            &chat("Hi"),
            1000,
            &|| false,
            &mut |l, _| Ok(argmax(&l)),
            &mut |_| StepControl::Continue,
        )
        .unwrap();
    assert!(matches!(
        stats.finish,
        FinishReason::ContextFull | FinishReason::EndOfTurn
    ));
    assert!(session.context_used() <= 64);
}
