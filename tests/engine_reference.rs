//! The engine against llama.cpp on the real default model (tests/fixtures, copied from
//! ../shared/reference): token ids, first-step logits and greedy continuations.
//!
//! Tolerances, measured: this model amplifies rounding. Rounding only the GELU input to f16 (as
//! ggml's lookup table does) moves our own top-20 logits by 0.27 on average and 1.4 at most, so two
//! correct engines that round differently differ by that much. Ours is within 0.22 on average and
//! 0.74 at most of llama.cpp's, and every greedy divergence falls on a step where llama.cpp's own
//! top-2 margin is below 0.22. The bounds below are those measurements with a little headroom; a
//! real fault (a wrong RoPE layout, a missing norm) moves logits by several units.
mod common;

use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use gemma_tui::engine::{Engine, PromptKind, StepControl};

/// Largest difference allowed for any of llama.cpp's top-20 first-step logits (measured: 0.74).
const MAX_LOGIT_DIFF: f32 = 0.85;
/// Mean difference over all prompts' top-20 logits (measured: 0.22).
const MEAN_LOGIT_DIFF: f32 = 0.3;
/// Greedy tokens are compared up to the first step where llama.cpp's own top-2 margin is below this:
/// there, rounding may break the near-tie either way (measured: divergences only below 0.22).
const NEAR_TIE_MARGIN: f32 = 0.25;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::load(&common::model_path(), 2).expect("default model loads"))
}

fn argmax(logits: &[f32]) -> u32 {
    // Lowest id on ties, as the reference does.
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[test]
fn tokenizer_matches_llama_cpp_on_every_reference_text() {
    let e = engine();
    let reference = common::reference();
    assert!(reference.tokenization.len() >= 20);
    for case in &reference.tokenization {
        let ids = e
            .tokenizer
            .encode(&case.text, case.add_bos, case.parse_special);
        assert_eq!(
            ids, case.ids,
            "text {:?} (parse_special {})",
            case.text, case.parse_special
        );
    }
    for case in &reference.generations {
        assert_eq!(
            e.tokenizer.encode(&case.prompt, true, true),
            case.prompt_ids
        );
    }
}

#[test]
fn first_step_logits_match_llama_cpp() {
    let e = engine();
    let (mut total, mut count) = (0f32, 0usize);
    for case in &common::reference().generations {
        let mut session = e.new_session(512);
        let logits = e
            .model
            .forward(&case.prompt_ids, &mut session.cache)
            .unwrap();
        assert_eq!(
            argmax(&logits),
            case.first_step_top_logits[0].0,
            "prompt {:?}",
            case.prompt
        );
        for &(id, want) in &case.first_step_top_logits {
            let got = logits[id as usize];
            assert!(
                (got - want).abs() <= MAX_LOGIT_DIFF,
                "prompt {:?}: token {id} logit {got} vs llama.cpp {want}",
                case.prompt
            );
            total += (got - want).abs();
            count += 1;
        }
    }
    let mean = total / count as f32;
    assert!(mean <= MEAN_LOGIT_DIFF, "mean |logit - llama.cpp| = {mean}");
}

#[test]
fn greedy_continuations_match_llama_cpp() {
    let e = engine();
    let mut compared = 0;
    for case in &common::reference().generations {
        // Compare up to 32 tokens, or up to the first near-tie in llama.cpp's own logits.
        let mut n = case.greedy_ids.len().min(32);
        if let Some(tie) = case
            .greedy_margins
            .iter()
            .position(|m| *m < NEAR_TIE_MARGIN)
        {
            n = n.min(tie);
        }
        let mut session = e.new_session(512);
        let cancel = AtomicBool::new(false);
        let stats = e
            .generate(
                &mut session,
                &PromptKind::Raw(case.prompt.clone()),
                n,
                &cancel,
                &mut |logits, _| Ok(argmax(&logits)),
                &mut |_| StepControl::Continue,
            )
            .unwrap();
        assert_eq!(stats.prompt_ids[..], case.prompt_ids[..]);
        let want = &case.greedy_ids[..n.min(case.greedy_ids.len())];
        // Where the reference stopped at an end-of-turn token, ours stops there too.
        let got = &stats.generated_ids[..];
        let want_visible: Vec<u32> = want
            .iter()
            .copied()
            .take_while(|&t| !e.tokenizer.is_eog(t))
            .collect();
        assert_eq!(got, &want_visible[..], "prompt {:?}", case.prompt);
        compared += n;
    }
    // The near-tie cut must leave a real comparison, not a handful of tokens.
    assert!(compared >= 60, "only {compared} greedy tokens compared");
}
