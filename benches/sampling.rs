//! The sampler chain on one step of Gemma 3's real logits (262,144 of them), ours against
//! llm-samplers 0.0.7's equivalent chain in the same run:
//! - `default`: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8, draw (llama.cpp's defaults);
//! - `full`: min-p 0.05, dynamic temperature 0.8 ± 0.5, Mirostat v2 (tau 5, eta 0.1).
//!   llm-samplers has no dynamic temperature, so its chain uses a fixed 0.8 there.
//!
//! Also ours only: llama.cpp's Mirostat chain (temperature then Mirostat v2 over the whole
//! vocabulary) and the default chain with the inspector's trace.
use criterion::{criterion_group, criterion_main, Criterion};
use gemma_tui::engine::{Engine, Limits, PromptKind, StepControl};
use gemma_tui::sampling::{Mirostat, Sampler, SamplerKind, SamplerParams};
use llm_samplers::prelude::*;
use llm_samplers::types::Sampler as _;
use rand::SeedableRng;

/// The logits of the first generated token after a short prompt.
fn real_logits() -> Vec<f32> {
    let path = std::env::var_os("GEMMA_TUI_MODEL")
        .map(Into::into)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let engine = Engine::load(&path, 2).expect("the default model (run `gemma-tui model pull`)");
    let mut session = engine.new_session(256).expect("a session");
    let mut captured = Vec::new();
    engine
        .generate(
            &mut session,
            &PromptKind::Raw("The history of computing is a story of".into()),
            &Limits::tokens(1),
            &|| false,
            &mut |logits, _| {
                captured = logits;
                Ok(0)
            },
            &mut |_| StepControl::Continue,
        )
        .expect("one step");
    assert_eq!(captured.len(), 262_144);
    captured
}

fn full_chain() -> SamplerParams {
    SamplerParams {
        samplers: vec![SamplerKind::MinP, SamplerKind::Temperature],
        min_p: 0.05,
        temperature: 0.8,
        dynatemp_range: 0.5,
        mirostat: Mirostat::V2,
        seed: Some(1),
        ..SamplerParams::default()
    }
}

fn benches(c: &mut Criterion) {
    let logits = real_logits();
    let mut g = c.benchmark_group("sampling_262k");

    let mut ours = Sampler::new(SamplerParams {
        seed: Some(1),
        ..SamplerParams::default()
    });
    g.bench_function("default/ours", |b| b.iter(|| ours.sample(&logits).unwrap()));
    let mut res = SimpleSamplerResources::new(
        Some(Box::new(rand::rngs::StdRng::seed_from_u64(1))),
        Some(vec![]),
    );
    let mut theirs = SamplerChain::new()
        + SampleTopK::new(40, 1)
        + SampleTopP::new(0.95, 1)
        + SampleMinP::new(0.05, 1)
        + SampleTemperature::new(0.8)
        + SampleRandDistrib::new();
    g.bench_function("default/llm-samplers", |b| {
        b.iter(|| {
            let mut l = Logits::try_from_iter(logits.iter().copied()).unwrap();
            theirs.sample_token(&mut res, &mut l).unwrap()
        })
    });

    let mut ours = Sampler::new(full_chain());
    g.bench_function("full/ours", |b| b.iter(|| ours.sample(&logits).unwrap()));
    let mut theirs = SamplerChain::new()
        + SampleMinP::new(0.05, 1)
        + SampleTemperature::new(0.8)
        + SampleMirostat2::new(5.0, 0.1);
    g.bench_function("full/llm-samplers", |b| {
        b.iter(|| {
            let mut l = Logits::try_from_iter(logits.iter().copied()).unwrap();
            theirs.sample_token(&mut res, &mut l).unwrap()
        })
    });

    let mut ours = Sampler::new(SamplerParams {
        mirostat: Mirostat::V2,
        seed: Some(1),
        ..SamplerParams::default()
    });
    g.bench_function("mirostat_whole_vocab/ours", |b| {
        b.iter(|| ours.sample(&logits).unwrap())
    });
    let mut ours = Sampler::new(SamplerParams {
        seed: Some(1),
        ..SamplerParams::default()
    });
    g.bench_function("default_traced/ours", |b| {
        b.iter(|| {
            let (t, mut trace) = ours.sample_traced(&logits, &[]).unwrap();
            ours.complete_trace(&logits, &mut trace);
            (t, trace)
        })
    });
    g.finish();
}

/// The dashboard's sampling path against a direct call, and a decode step for scale: the logits
/// move to the sampling actor (on its own actix system, as in the dashboard) and a token comes
/// back, with the history sent as what the actor has not seen. Goal: the path's own cost (path
/// minus direct) under 1% of a decode step.
fn path(c: &mut Criterion) {
    use actix::Actor;
    use gemma_tui::actors::sampling::{HistoryUpdate, SampleNext, SamplingActor};

    let logits = real_logits();
    // The default profile's chain (penalties and DRY look at the history) over 1000 tokens.
    let params = gemma_tui::config::Config::defaults().profiles["balanced"]
        .sampler
        .clone();
    let history: Vec<u32> = (0..1000u32).map(|i| (i * 7919) % 262_144).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let actor_params = params.clone();
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            tx.send(SamplingActor::new(actor_params).start()).unwrap();
        });
        system.run().unwrap();
    });
    let addr = rx.recv().unwrap();
    let mut known = 0;
    let mut g = c.benchmark_group("sampling_path");
    g.bench_function("through_the_actor", |b| {
        b.iter_batched(
            || logits.clone(),
            |l| {
                let msg = SampleNext {
                    logits: l,
                    history: HistoryUpdate::since(&history, known),
                    request: 1,
                };
                known = history.len();
                futures::executor::block_on(addr.send(msg))
                    .unwrap()
                    .unwrap()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    let mut direct = Sampler::new(params);
    g.bench_function("direct", |b| {
        b.iter_batched(
            || logits.clone(),
            |l| direct.sample_with_history(&l, &history).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    let path = std::env::var_os("GEMMA_TUI_MODEL")
        .map(Into::into)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let engine = Engine::load(&path, 2).unwrap();
    let mut session = engine.new_session(512).unwrap();
    let prompt = engine
        .tokenizer
        .encode(&"The sea is wide. ".repeat(24), true, false);
    session.forward(&prompt).unwrap();
    let at = session.pass.len();
    g.bench_function("decode_step_after_128_tokens", |b| {
        b.iter(|| {
            let l = session.forward(&[236761]).unwrap();
            session.pass.truncate(at);
            l
        })
    });
    g.finish();
}

criterion_group!(sampling_benches, benches, path);
criterion_main!(sampling_benches);
