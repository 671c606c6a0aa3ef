//! The sampler on the real model: Mirostat v2 steers the observed surprise to tau, and the same
//! seed gives the same text through the whole engine.
mod common;

use gemma_tui::engine::{Engine, Limits, PromptKind, StepControl};
use gemma_tui::sampling::{Mirostat, Sampler, SamplerParams};

fn engine() -> Engine {
    Engine::load(&common::model_path(), 2).expect("the default model loads")
}

/// Generates up to `n` tokens with `sampler`, returning the ids and each token's surprise.
fn run(engine: &Engine, sampler: &mut Sampler, prompt: &str, n: usize) -> (Vec<u32>, Vec<f32>) {
    let mut session = engine.new_session(1024).expect("a session");
    let mut surprises = Vec::new();
    let stats = engine
        .generate(
            &mut session,
            &PromptKind::Raw(prompt.into()),
            &Limits::tokens(n),
            &|| false,
            &mut |logits, history| {
                let (t, trace) = sampler
                    .sample_traced(&logits, history)
                    .map_err(|e| gemma_tui::engine::EngineError::Kernel(e.to_string()))?;
                surprises.push(trace.surprise);
                Ok(t)
            },
            &mut |_| StepControl::Continue,
        )
        .expect("generation");
    (stats.generated_ids, surprises)
}

#[test]
fn mirostat_v2_observed_surprise_converges_to_tau() {
    let e = engine();
    let tau = 3.0;
    let mut s = Sampler::new(SamplerParams {
        mirostat: Mirostat::V2,
        mirostat_tau: tau,
        mirostat_eta: 0.1,
        temperature: 1.0,
        seed: Some(2024),
        ..SamplerParams::default()
    });
    let (_, surprises) = run(
        &e,
        &mut s,
        "Once upon a time, in a village at the edge of a great forest, there lived",
        160,
    );
    assert!(surprises.len() >= 120, "stopped early: {}", surprises.len());
    // After the controller settles (mu starts at 2 tau), the mean surprise is near tau.
    let tail = &surprises[surprises.len() / 3..];
    let mean = tail.iter().sum::<f32>() / tail.len() as f32;
    assert!(
        (mean - tau).abs() < 0.75,
        "mean surprise {mean:.2} bits over {} tokens, tau {tau}",
        tail.len()
    );
    // The controller's identity: mu_N = mu_0 - eta * sum(surprise - tau).
    let want_mu = 2.0 * tau - 0.1 * surprises.iter().map(|x| x - tau).sum::<f32>();
    assert!(
        (s.mu() - want_mu).abs() < 1e-2,
        "mu {} vs {want_mu}",
        s.mu()
    );
}

#[test]
fn same_seed_same_text_on_the_model() {
    let e = engine();
    let params = SamplerParams {
        seed: Some(77),
        temperature: 1.0,
        repeat_penalty: 1.1,
        dry_multiplier: 0.8,
        ..SamplerParams::default()
    };
    let prompt = "The three most useful kitchen tools are";
    let (a, _) = run(&e, &mut Sampler::new(params.clone()), prompt, 40);
    let (b, _) = run(&e, &mut Sampler::new(params.clone()), prompt, 40);
    assert_eq!(a, b);
    let (c, _) = run(
        &e,
        &mut Sampler::new(SamplerParams {
            seed: Some(78),
            ..params
        }),
        prompt,
        40,
    );
    assert_ne!(a, c, "another seed should give another text");
}
