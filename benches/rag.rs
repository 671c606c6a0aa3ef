//! RAG memory speed, each next to a reference in the same run:
//! - `search`: top-10 over 100,000 chunks (384-d) with ranking and dedup (`index`), against a
//!   plain scalar scan that scores every row with an iterator fold and sorts them all (`naive`);
//!   the brief's bound is 20 ms.
//! - `context`: building and rendering the context for 10 ranked memories with Gemma's tokenizer
//!   counting (`gemma_tokens`) against the same with a whitespace count (`word_count`), so the
//!   tokenizer's share shows; bound 10 ms (embedding excluded).
//! - `embed`: all-MiniLM-L6-v2 throughput, chunks of about 200 tokens, one and a batch of 16.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gemma_tui::rag::context::{self, RankedMemory};
use gemma_tui::rag::embedder::{default_model_dir, Embedder};
use gemma_tui::rag::index::Index;
use gemma_tui::rag::ranker::Scored;
use gemma_tui::rag::store::{ChunkRecord, MemoryMeta};
use gemma_tui::rag::tokens::GemmaTokens;
use gemma_tui::rag::{RankWeights, Tier, EMBEDDING_DIM};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROWS: usize = 100_000;

fn unit(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..EMBEDDING_DIM)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| format!("w{}", rng.gen_range(0..5000)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn synthetic_rows(rng: &mut StdRng) -> Vec<(u64, ChunkRecord, Vec<f32>)> {
    (0..ROWS)
        .map(|i| {
            let text = words(rng, 60);
            let meta = MemoryMeta::new(
                1_000_000 + i as u64,
                rng.gen_range(0.0..1.0),
                Tier::Semantic,
                vec![],
            );
            let rec = ChunkRecord {
                hash: format!("{i}"),
                source: format!("doc{}.md", i / 10),
                start: 0,
                end: text.len() as u64,
                text,
                meta,
            };
            (i as u64 + 1, rec, unit(rng))
        })
        .collect()
}

fn bench_search(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let rows = synthetic_rows(&mut rng);
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.2.iter().copied()).collect();
    let index = Index::from_rows(rows);
    let query_vec = unit(&mut rng);
    let query_text = "w17 w4242 w999 w3 w1234";
    let weights = RankWeights {
        min_relevance: 0.0,
        ..RankWeights::default()
    };
    let mut g = c.benchmark_group("rag_search_100k");
    g.sample_size(20);
    g.bench_function("index", |b| {
        b.iter(|| {
            let hits = index.search(query_text, &query_vec, 10, &weights, 2_000_000);
            assert_eq!(hits.len(), 10);
            hits
        })
    });
    // The exact cosine scan alone (the part that reads all 153 MB of vectors).
    g.bench_function("cosine_scan", |b| {
        b.iter(|| gemma_tui::rag::ranker::cosine_top_k(&flat, EMBEDDING_DIM, &query_vec, 50))
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            let mut scored: Vec<(usize, f32)> = flat
                .chunks_exact(EMBEDDING_DIM)
                .map(|v| {
                    v.iter()
                        .zip(&query_vec)
                        .fold(0.0, |acc, (x, y)| acc + x * y)
                })
                .enumerate()
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            scored.truncate(10);
            scored
        })
    });
    g.finish();
}

fn ranked_memories(rng: &mut StdRng) -> Vec<RankedMemory> {
    let sentence = "The quick brown fox jumps over the lazy dog near the river bank.";
    (0..10)
        .map(|i| RankedMemory {
            id: i,
            source: format!("notes/doc{i}.md"),
            // About 150 Gemma tokens each: ten of them overflow a 1024-token budget a little,
            // so the cut at a sentence boundary is part of what is measured.
            text: (0..10).map(|_| sentence).collect::<Vec<_>>().join(" ") + &words(rng, 5),
            scores: Scored {
                row: i as usize,
                cosine: 0.8,
                keyword: 0.5,
                relevance: 0.7,
                recency: 0.9,
                importance: 0.5,
                score: 0.8 - i as f32 * 0.01,
            },
        })
        .collect()
}

fn bench_context(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(11);
    let memories = ranked_memories(&mut rng);
    let model = std::env::var_os("GEMMA_TUI_MODEL")
        .map(Into::into)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let gemma =
        GemmaTokens::from_gguf(&model).expect("the default model (run `gemma-tui model pull`)");
    let templates = gemma_tui::config::TemplateSet::builtin();
    let template = templates.get("default").unwrap().clone();
    let mut g = c.benchmark_group("rag_context_10");
    g.bench_function("gemma_tokens", |b| {
        b.iter(|| {
            let ctx = context::build(&memories, 1024, &|s| gemma.count(s));
            render(&template, &ctx)
        })
    });
    g.bench_function("word_count", |b| {
        b.iter(|| {
            let ctx = context::build(&memories, 1024, &|s| s.split_whitespace().count());
            render(&template, &ctx)
        })
    });
    g.finish();
}

fn bench_embed(c: &mut Criterion) {
    let embedder = Embedder::load(&default_model_dir()).expect("run `gemma-tui model pull minilm`");
    let chunk = "Retrieval augmented generation finds notes that match a question and puts them \
                 into the prompt, so a small model can answer from facts it was never trained on. "
        .repeat(6);
    let tokens = embedder.token_ids(&chunk).unwrap().len();
    let mut g = c.benchmark_group(format!("rag_embed_{tokens}_tokens"));
    g.sample_size(10);
    for batch in [1usize, 16] {
        let texts: Vec<&str> = (0..batch).map(|_| chunk.as_str()).collect();
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::new("chunks", batch), &texts, |b, texts| {
            b.iter(|| embedder.embed(texts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(rag_benches, bench_search, bench_context, bench_embed);
criterion_main!(rag_benches);

/// The context rendered into the default template's {rag_context}, as the dashboard sends it.
fn render(template: &gemma_tui::config::Template, ctx: &context::BuiltContext) -> String {
    let vars = gemma_tui::config::PromptVars {
        query: "What does the fox do?".into(),
        rag_context: ctx.text.clone(),
        ..Default::default()
    };
    template.render(&vars).unwrap()
}
