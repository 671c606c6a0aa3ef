//! Criterion benches of the engine on the real default model: one decode step, a batched step of
//! 1-8 conversations, a 128-token prefill,
//! tokenizing a paragraph, and the sampler chain over Gemma's 262,144 logits. `gemma-tui bench`
//! reports the same prefill/decode figures end to end; `cargo bench` gives their distributions.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gemma_tui::engine::Engine;
use gemma_tui::sampling::{Sampler, SamplerParams};

const TEXT: &str = "The history of computing is a story of people who wanted to calculate faster \
than they could by hand. Early machines used gears and levers; later ones used relays, vacuum \
tubes and finally transistors etched by the billion into silicon. ";

fn engine() -> Engine {
    let path = std::env::var_os("GEMMA_TUI_MODEL")
        .map(Into::into)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Engine::load(&path, threads).expect("the default model (run `gemma-tui model pull`)")
}

fn benches(c: &mut Criterion) {
    let e = engine();
    let mut ids = e.tokenizer.encode(&TEXT.repeat(8), true, false);
    ids.truncate(128);

    let mut g = c.benchmark_group("forward");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("prefill_128", |b| {
        b.iter(|| {
            let mut s = e.new_session(256).unwrap();
            s.forward(&ids).unwrap()
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_step_at_64", |b| {
        let mut s = e.new_session(256).unwrap();
        s.forward(&ids[..64]).unwrap();
        b.iter(|| {
            s.pass.truncate(64);
            s.forward(&[ids[64]]).unwrap()
        })
    });
    g.finish();

    // One batched decode step for `m` conversations (the server's `--parallel`): per-row cost
    // against the one-row step above is what continuous batching saves.
    let mut g = c.benchmark_group("batched_step_at_64");
    g.sample_size(10);
    for m in [1usize, 2, 4, 8] {
        let mut sessions: Vec<_> = (0..m).map(|_| e.new_session(256).unwrap()).collect();
        for s in &mut sessions {
            s.forward(&ids[..64]).unwrap();
        }
        let tokens = vec![ids[64]; m];
        g.throughput(Throughput::Elements(m as u64));
        g.bench_function(format!("rows_{m}"), |b| {
            b.iter(|| {
                sessions.iter_mut().for_each(|s| s.pass.truncate(64));
                let mut refs: Vec<_> = sessions.iter_mut().collect();
                e.forward_batch(&mut refs, &tokens).unwrap()
            })
        });
    }
    g.finish();

    c.bench_function("tokenize_paragraph", |b| {
        b.iter(|| e.tokenizer.encode(TEXT, true, true))
    });

    let mut s = e.new_session(256).unwrap();
    let logits = s.forward(&ids[..16]).unwrap();
    let mut sampler = Sampler::new(SamplerParams {
        seed: Some(1),
        ..SamplerParams::default()
    });
    c.bench_function("sample_default_chain_262k", |b| {
        b.iter(|| sampler.sample(&logits).unwrap())
    });
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
