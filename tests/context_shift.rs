//! `ask --context-shift`: a reply longer than the context goes on, the cache shifted (kept start,
//! half of the rest dropped, keys re-rotated) instead of a new prefill.
mod common;

fn ask(extra: &[&str]) -> serde_json::Value {
    let home = tempfile::tempdir().unwrap();
    let out = common::headless_with_model(home.path())
        .args(["ask", "--raw", "--json", "--temp", "0", "--threads", "2"])
        .args(["--ctx", "256", "--max-tokens", "600"])
        .args(extra)
        .arg("The history of the harbour began with a storm. In the winter of 1861")
        .output()
        .expect("run gemma-tui");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn a_reply_runs_past_the_context_with_context_shift_and_stops_without() {
    let shifted = ask(&["--context-shift", "--keep", "4"]);
    let ids = shifted["generated_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 600, "{shifted}");
    let plain = ask(&[]);
    let n = plain["generated_ids"].as_array().unwrap().len();
    assert!(
        n < 256,
        "without a shift the reply ends at the context: {n}"
    );
    // The same greedy reply until the first shift: the shift changes nothing before it.
    assert_eq!(
        &ids[..n.min(100)],
        &plain["generated_ids"].as_array().unwrap()[..n.min(100)]
    );
}

/// A chat that outgrows its context goes on turn after turn with a shift (as the dashboard does
/// with a profile's `context_shift`): a new turn that does not fit shifts before its prefill.
/// Without it, the first turn that does not fit is refused.
#[test]
fn a_chat_goes_on_past_the_context_with_context_shift() {
    use gemma_tui::engine::{Engine, EngineError, Limits, PromptKind, StepControl};
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let turn = |i: usize| {
        PromptKind::gemma_chat(format!(
            "Question {i}: tell me one more fact about harbours, lighthouses and the sea."
        ))
    };
    let greedy = &mut |logits: Vec<f32>, _: &[u32]| Ok(gemma_tui::sampling::argmax(&logits));
    let mut run = |shift: Option<usize>| {
        let mut session = e.new_session(160).unwrap();
        session.context_shift = shift;
        let mut replies = Vec::new();
        for i in 0..8 {
            let before = session.pass.len();
            match e.generate(
                &mut session,
                &turn(i),
                &Limits::tokens(40),
                &|| false,
                greedy,
                &mut |_| StepControl::Continue,
            ) {
                Ok(stats) => replies.push((before, stats.generated_ids.len())),
                Err(EngineError::ContextFull(n)) => return (replies, session.shifted, Some(n)),
                Err(other) => panic!("turn {i}: {other}"),
            }
        }
        (replies, session.shifted, None)
    };
    let (replies, shifted, full) = run(Some(5));
    assert_eq!(full, None, "every turn was taken");
    assert_eq!(replies.len(), 8);
    assert!(replies.iter().all(|&(_, n)| n > 0), "{replies:?}");
    assert!(
        shifted > 0,
        "the 8 turns of ~60 tokens needed shifts in 160"
    );
    let (replies, shifted, full) = run(None);
    assert_eq!(shifted, 0);
    assert_eq!(
        full,
        Some(160),
        "without a shift a turn is refused once full"
    );
    assert!(replies.len() < 8, "{replies:?}");
}
