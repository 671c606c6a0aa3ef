//! The engine against llama.cpp on the real default model (tests/fixtures, copied from
//! ../shared/reference): token ids, first-step logits and greedy continuations.
//!
//! Tolerances, measured: this model amplifies rounding. Activations are quantized to 8 bits per
//! block before every matrix product, so a last-bit difference upstream flips int8 roundings
//! downstream. Summing one Q5_0 dot product in SIMD instead of scalar order (a 2e-7 relative
//! change) moved one top-20 logit by 1.27; reordering the attention dot products' sums moved the
//! worst from 0.60 to 1.04; llama.cpp itself, run through our interface with other context settings,
//! lands 0.90 from its own reference. The bounds (tests/common) are that spread; a real fault (the
//! wrong RoPE layout, a missing norm) moves logits by several units (measured: 10.4). With ggml's
//! f16 GELU table and the batched kernels the engine now lands 0.75 worst, 0.26 mean, and agrees
//! with llama.cpp's greedy continuations for 206 tokens before a near-tie.
mod common;

use std::sync::OnceLock;

use gemma_tui::engine::Engine;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::load(&common::model_path(), 2).expect("default model loads"))
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
    let (worst, mean) = common::first_step_logit_diffs(engine());
    eprintln!("top-20 logits vs llama.cpp: worst {worst:.3}, mean {mean:.3}");
    assert!(
        worst <= common::MAX_LOGIT_DIFF,
        "worst |logit - llama.cpp| = {worst}"
    );
    assert!(
        mean <= common::MEAN_LOGIT_DIFF,
        "mean |logit - llama.cpp| = {mean}"
    );
}

#[test]
fn greedy_continuations_match_llama_cpp() {
    let agreed = common::greedy_agreement(engine());
    eprintln!("{agreed} greedy tokens agree with llama.cpp");
    // Measured: 174 of the 320 compared tokens agree before the first near-tie divergence.
    assert!(
        agreed >= 150,
        "only {agreed} greedy tokens agree with llama.cpp"
    );
}
