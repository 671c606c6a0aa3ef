//! RAG memory end to end on the real all-MiniLM-L6-v2 and real redb files in temp dirs:
//! embeddings against an independent numpy reference, retrieval quality on a committed corpus,
//! re-adding changed files, notes and eviction, and the token-aware context with Gemma's tokenizer.
mod common;

use std::path::{Path, PathBuf};

use gemma_tui::rag::embedder::{default_model_dir, Embedder};
use gemma_tui::rag::ingest::IngestEvent;
use gemma_tui::rag::ranker::dot;
use gemma_tui::rag::tokens::GemmaTokens;
use gemma_tui::rag::{Memory, RagSettings, Tier};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rag")
}

/// The embedding model, installed by `.ci/run minilm` or `gemma-tui model pull minilm`. Missing, the
/// tests fail: a skipped embedding test would prove nothing.
fn embedder() -> Embedder {
    let dir = default_model_dir();
    Embedder::load(&dir).unwrap_or_else(|e| {
        panic!("{e}: install it with `gemma-tui model pull minilm` or `.ci/run minilm`")
    })
}

fn memory_in(dir: &Path, settings: RagSettings) -> Memory {
    Memory::open(&dir.join("rag.redb"), &default_model_dir(), settings)
        .unwrap()
        .with_embedder(embedder())
}

#[derive(Deserialize)]
struct Reference {
    sentences: Vec<RefSentence>,
}

#[derive(Deserialize)]
struct RefSentence {
    text: String,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

#[test]
fn embeddings_match_the_numpy_reference() {
    let text = std::fs::read_to_string(fixtures().join("minilm_reference.json")).unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    let e = embedder();
    let texts: Vec<&str> = reference
        .sentences
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    // Batched together, so padding is exercised: the shorter sentences must not change.
    let got = e.embed(&texts).unwrap();
    for (s, v) in reference.sentences.iter().zip(&got) {
        assert_eq!(e.token_ids(&s.text).unwrap(), s.token_ids, "{}", s.text);
        assert_eq!(v.len(), 384);
        let norm = dot(v, v).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
        let max_diff = v
            .iter()
            .zip(&s.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 2e-4, "{}: max |diff| {max_diff}", s.text);
        assert!(dot(v, &s.embedding) > 0.9999, "{}", s.text);
    }
    // One at a time gives the same vectors as the batch.
    let single = e.embed_one(texts[0]).unwrap();
    assert!(dot(&single, &got[0]) > 0.99999);
}

#[derive(Deserialize)]
struct Question {
    q: String,
    source: String,
    answer: String,
}

/// Paragraph-sized chunks make it a real test: a whole file per chunk would be found by topic alone.
fn small_chunks() -> RagSettings {
    RagSettings {
        chunk_tokens: 48,
        chunk_overlap: 8,
        ..RagSettings::default()
    }
}

#[test]
fn retrieval_finds_the_right_chunk_in_the_top_3_for_90_percent_of_questions() {
    let dir = tempfile::tempdir().unwrap();
    let mut memory = memory_in(dir.path(), small_chunks());
    let summary = memory
        .add_paths(
            &[fixtures().join("corpus")],
            Tier::Semantic,
            0.5,
            vec![],
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.files, 8);
    assert!(
        memory.len() >= 35,
        "paragraph chunks expected, got {}",
        memory.len()
    );
    let questions: Vec<Question> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("questions.json")).unwrap())
            .unwrap();
    let mut misses = Vec::new();
    for q in &questions {
        let hits = memory.search(&q.q, 3).unwrap();
        let found = hits
            .iter()
            .any(|h| h.source.ends_with(&q.source) && h.text.contains(&q.answer));
        if !found {
            let got: Vec<String> = hits
                .iter()
                .map(|h| h.text.chars().take(60).collect())
                .collect();
            misses.push(format!("{} -> {got:?}", q.q));
        }
    }
    let rate = 1.0 - misses.len() as f64 / questions.len() as f64;
    println!(
        "retrieval top-3 hit rate: {:.1}% of {}",
        rate * 100.0,
        questions.len()
    );
    assert!(
        rate >= 0.9,
        "hit rate {rate:.2}; misses:\n{}",
        misses.join("\n")
    );
}

#[test]
fn re_adding_skips_unchanged_files_and_replaces_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let file = docs.join("notes.md");
    std::fs::copy(fixtures().join("corpus/coffee.md"), &file).unwrap();
    let mut memory = memory_in(dir.path(), small_chunks());
    let first = memory
        .add_paths(
            std::slice::from_ref(&docs),
            Tier::Semantic,
            0.5,
            vec![],
            &mut |_| {},
        )
        .unwrap();
    assert!(first.chunks_added >= 5);
    let before = memory.len();
    let mut events = Vec::new();
    let again = memory
        .add_paths(
            std::slice::from_ref(&docs),
            Tier::Semantic,
            0.5,
            vec![],
            &mut |e| events.push(e),
        )
        .unwrap();
    assert_eq!((again.unchanged, again.chunks_added), (1, 0));
    assert!(events
        .iter()
        .any(|e| matches!(e, IngestEvent::Unchanged { .. })));
    // Replace the last paragraph: its chunk goes, a new one comes, the rest are kept.
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text.find("Descale").unwrap();
    let changed = format!(
        "{}Moka pots brew on the stove at about 1.5 bar of pressure.\n",
        &text[..cut]
    );
    std::fs::write(&file, changed).unwrap();
    let third = memory
        .add_paths(&[docs], Tier::Semantic, 0.5, vec![], &mut |_| {})
        .unwrap();
    assert_eq!(third.files, 1);
    assert!(
        third.chunks_added >= 1 && third.chunks_removed >= 1,
        "{third:?}"
    );
    assert!(memory.len() <= before);
    assert!(memory.list().all(|(_, r)| !r.text.contains("citric")));
    let hits = memory.search("stovetop moka pot pressure", 1).unwrap();
    assert!(hits[0].text.contains("1.5 bar"));
    assert!(memory.store().check().unwrap().is_empty());
}

#[test]
fn notes_are_remembered_once_found_and_evicted_by_tier() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = RagSettings::default();
    settings.tiers.working.capacity = 1;
    let mut memory = memory_in(dir.path(), settings);
    let a = memory
        .remember(
            "My cat is called Miso.",
            0.9,
            Tier::Working,
            vec![],
            "remember",
        )
        .unwrap();
    assert!(a.is_some());
    assert_eq!(
        memory
            .remember(
                "My cat is called Miso.",
                0.9,
                Tier::Working,
                vec![],
                "remember"
            )
            .unwrap(),
        None
    );
    memory
        .remember(
            "The wifi password is on the fridge.",
            0.1,
            Tier::Working,
            vec![],
            "remember",
        )
        .unwrap();
    memory
        .remember(
            "Dentist appointment on Tuesday.",
            0.5,
            Tier::LongTerm,
            vec![],
            "remember",
        )
        .unwrap();
    let hits = memory.search("what is my pet's name", 1).unwrap();
    assert!(hits[0].text.contains("Miso"));
    // Working holds one: the less important note goes.
    let evicted = memory.evict(gemma_tui::rag::now_secs()).unwrap();
    assert_eq!(evicted.len(), 1);
    assert!(memory.list().all(|(_, r)| !r.text.contains("wifi")));
    assert_eq!(memory.len(), 2);
    assert!(memory
        .remember("  ", 0.5, Tier::Working, vec![], "remember")
        .is_err());
    assert!(memory
        .remember("x", 1.5, Tier::Working, vec![], "remember")
        .is_err());
}

#[test]
fn the_context_fits_the_budget_in_gemma_tokens_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut memory = memory_in(dir.path(), small_chunks());
    memory
        .add_paths(
            &[fixtures().join("corpus")],
            Tier::Semantic,
            0.5,
            vec![],
            &mut |_| {},
        )
        .unwrap();
    let gemma = GemmaTokens::from_gguf(&common::model_path()).unwrap();
    let count = |s: &str| gemma.count(s);
    let ctx = memory
        .build_context("how do I fix a flat bicycle tyre", 1024, &count)
        .unwrap();
    assert!(!ctx.is_empty());
    assert!(ctx.tokens <= 1024);
    assert!(ctx.memories[0].source.ends_with("bicycle.md"));
    assert!(ctx.text.contains("[corpus/bicycle.md]"));
    assert_eq!(
        ctx.tokens,
        ctx.memories.iter().map(|m| m.tokens).sum::<usize>()
    );
    for m in &ctx.memories {
        assert!(m.relevance >= memory.settings.weights.min_relevance);
    }
    // A tight budget: fewer memories, the last one cut at a sentence, never over.
    let tight = memory
        .build_context("how do I fix a flat bicycle tyre", 60, &count)
        .unwrap();
    assert!(tight.tokens <= 60, "{}", tight.tokens);
    assert!(count(&tight.text) <= 60);
    if let Some(last) = tight.memories.last().filter(|m| m.truncated) {
        assert!(last.text.ends_with('.') || last.text.ends_with('!') || last.text.ends_with('?'));
    }
    // The injected memories were marked as used.
    let used = ctx.memories[0].id;
    let touched = memory.store().load_all().unwrap();
    let rec = touched.iter().find(|(id, _, _)| *id == used).unwrap();
    assert!(rec.1.meta.access_count >= 1);
}
