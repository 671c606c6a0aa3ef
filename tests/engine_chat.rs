//! Multi-turn chat on the real model: a new turn prefills only its own tokens on top of the KV
//! cache, and what it computes equals a fresh prefill of the whole conversation.
mod common;

use gemma_tui::engine::{
    ChatFormat, Engine, FinishReason, GenEvent, Limits, PromptKind, StepControl,
};
use gemma_tui::sampling::argmax;

fn chat(text: &str) -> PromptKind {
    PromptKind::gemma_chat(text)
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
            &Limits::tokens(8),
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
            &Limits::tokens(4),
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
            &Limits::tokens(4),
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
            &Limits::tokens(4),
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
            &Limits::tokens(1000),
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

/// A greedy dialogue turn on the base model: the text shown and the tokens in the conversation.
fn dialogue_turn(
    e: &Engine,
    session: &mut gemma_tui::engine::Session,
    text: &str,
    limits: &Limits,
) -> (String, FinishReason) {
    let vars = gemma_tui::config::PromptVars::default();
    let dialogue = gemma_tui::config::TemplateSet::builtin()
        .dialogue(&vars)
        .unwrap();
    let prompt = PromptKind::Chat {
        text: text.into(),
        system: None,
        format: ChatFormat::Dialogue(dialogue),
    };
    let mut shown = String::new();
    let stats = e
        .generate(
            session,
            &prompt,
            limits,
            &|| false,
            &mut |l, _| Ok(argmax(&l)),
            &mut |event| {
                if let GenEvent::Token { text, .. } = event {
                    shown.push_str(text);
                }
                StepControl::Continue
            },
        )
        .unwrap();
    (shown, stats.finish)
}

#[test]
fn a_dialogue_reply_ends_at_the_next_user_line_and_the_conversation_holds_what_was_shown() {
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let mut session = e.new_session(1024).unwrap();
    let (reply, finish) = dialogue_turn(
        &e,
        &mut session,
        "What is the capital of Japan?",
        &Limits::tokens(64),
    );
    assert_eq!(finish, FinishReason::StopString);
    assert!(reply.contains("Tokyo"), "{reply:?}");
    assert!(
        !reply.contains("User") && !reply.starts_with(' '),
        "{reply:?}"
    );
    // Nothing of the stop string stays in the conversation: it ends with the reply as shown.
    let text = e.tokenizer.decode(&session.tokens);
    assert!(
        text.ends_with(&format!(
            "User: What is the capital of Japan?\nAssistant: {reply}"
        )),
        "{text:?}"
    );
    // The next turn continues the transcript on a new line.
    let (second, _) = dialogue_turn(
        &e,
        &mut session,
        "What is the capital of France?",
        &Limits::tokens(64),
    );
    assert!(second.contains("Paris"), "{second:?}");
    let text = e.tokenizer.decode(&session.tokens);
    assert!(
        text.contains(&format!(
            "Assistant: {reply}\nUser: What is the capital of France?\nAssistant: {second}"
        )),
        "{text:?}"
    );
}

#[test]
fn a_stop_string_inside_a_token_keeps_the_text_before_it() {
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let mut session = e.new_session(1024).unwrap();
    // "Tokyo" is one token: a stop string starting inside it cuts the token in two.
    let limits = Limits {
        max_tokens: 64,
        stop: vec!["kyo".into()],
    };
    let (reply, finish) = dialogue_turn(&e, &mut session, "What is the capital of Japan?", &limits);
    assert_eq!(finish, FinishReason::StopString);
    assert_eq!(reply, "To");
    let text = e.tokenizer.decode(&session.tokens);
    assert!(text.ends_with("Assistant: To"), "{text:?}");
    // The cut token's kept part waits to be fed with the next turn; the cache is one behind.
    assert!(session.pass.len() < session.tokens.len());
    let (next, _) = dialogue_turn(&e, &mut session, "And France?", &Limits::tokens(16));
    assert!(!next.is_empty());
}
