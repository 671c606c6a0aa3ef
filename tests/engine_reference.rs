//! The engine against llama.cpp on the real default model (tests/fixtures, copied from
//! ../shared/reference): token ids, first-step logits and greedy continuations.
//!
//! Tolerances, measured: this model amplifies rounding. Activations are quantized to 8 bits per
//! block before every matrix product, so a last-bit difference upstream flips int8 roundings
//! downstream. Summing one Q5_0 dot product in SIMD instead of scalar order (a 2e-7 relative
//! change) moved one top-20 logit by 1.27; rounding the GELU input to f16 as ggml's table does moved
//! them by 0.27 on average. Without bit-for-bit copies of every ggml kernel, two correct engines
//! differ by that much. Ours is within 0.18 on average and 0.60 at most of llama.cpp's top-20
//! logits, and every greedy divergence falls on a step where llama.cpp's own top-2 margin is below
//! 0.4. The bounds below are those measurements with headroom; a real fault (the wrong RoPE layout,
//! a missing norm) moves logits by several units (measured: 10.4).
mod common;

use std::sync::OnceLock;

use gemma_tui::engine::{Engine, PromptKind, StepControl};

/// Largest difference allowed for any of llama.cpp's top-20 first-step logits (measured: 0.60).
const MAX_LOGIT_DIFF: f32 = 0.85;
/// Mean difference over all prompts' top-20 logits (measured: 0.18).
const MEAN_LOGIT_DIFF: f32 = 0.3;
/// A greedy divergence is accepted only on a step where llama.cpp's own top-2 margin is below this:
/// there, rounding may break the near-tie either way (measured: divergences only below 0.4).
const NEAR_TIE_MARGIN: f32 = 0.5;

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
    let mut agreed = 0;
    for case in &common::reference().generations {
        let n = case.greedy_ids.len().min(32);
        let mut session = e.new_session(512);
        let stats = e
            .generate(
                &mut session,
                &PromptKind::Raw(case.prompt.clone()),
                n,
                &|| false,
                &mut |logits, _| Ok(argmax(&logits)),
                &mut |_| StepControl::Continue,
            )
            .unwrap();
        assert_eq!(stats.prompt_ids[..], case.prompt_ids[..]);
        // Where the reference stopped at an end-of-turn token, ours must stop there too.
        let want: Vec<u32> = case.greedy_ids[..n]
            .iter()
            .copied()
            .take_while(|&t| !e.tokenizer.is_eog(t))
            .collect();
        let got = &stats.generated_ids;
        match got.iter().zip(&want).position(|(a, b)| a != b) {
            // Equal until a step where llama.cpp itself was near a tie: rounding may break it
            // either way, and after it the texts go separate ways.
            Some(d) => {
                assert!(
                    case.greedy_margins[d] < NEAR_TIE_MARGIN,
                    "prompt {:?}: token {d} is {} where llama.cpp chose {} by a margin of {}",
                    case.prompt,
                    got[d],
                    want[d],
                    case.greedy_margins[d]
                );
                agreed += d;
            }
            None => {
                assert_eq!(got.len(), want.len(), "prompt {:?}", case.prompt);
                agreed += want.len();
            }
        }
    }
    // Measured: 174 of the 320 compared tokens agree before the first near-tie divergence.
    assert!(
        agreed >= 150,
        "only {agreed} greedy tokens agree with llama.cpp"
    );
    eprintln!("{agreed} greedy tokens agree with llama.cpp");
}
