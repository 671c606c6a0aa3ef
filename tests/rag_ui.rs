//! The RAG pane on ratatui's TestBackend: exactly which memories went into the last prompt, with
//! their relevance, recency, importance, score and token cost; and the `/add` gauge.
mod common;

use gemma_tui::app::rag::{IngestProgress, LastContext, RagState};
use gemma_tui::app::{Action, AppState};
use gemma_tui::rag::{BuiltContext, InjectedMemory, RagSettings};

fn memory(id: u64, source: &str, text: &str, tokens: usize, truncated: bool) -> InjectedMemory {
    InjectedMemory {
        id,
        source: source.into(),
        text: text.into(),
        relevance: 0.81,
        recency: 0.5,
        importance: 0.9,
        score: 0.777,
        tokens,
        truncated,
    }
}

fn screen(state: &mut AppState) -> String {
    common::render(state, 120, 32)
}

#[test]
fn the_pane_lists_each_injected_memory_with_its_scores_and_cost() {
    let mut state = AppState::new();
    state.rag = RagState::new(Some(&RagSettings::default()));
    state.rag.memories = Some(42);
    state.rag.last = Some(LastContext {
        request: 1,
        query: "how do I fix a flat tyre".into(),
        context: BuiltContext {
            text: String::new(),
            memories: vec![
                memory(
                    3,
                    "corpus/bicycle.md",
                    "To fix a puncture, remove the tube.",
                    57,
                    false,
                ),
                memory(9, "remember", "My bike is a blue Brompton.", 12, true),
            ],
            tokens: 69,
            budget: 1024,
        },
    });
    // Hidden until F4.
    assert!(!screen(&mut state).contains("RAG: last prompt"));
    state.apply(Action::ToggleRagPane, std::time::Instant::now());
    let text = screen(&mut state);
    assert!(text.contains("RAG: last prompt"), "{text}");
    assert!(text.contains("2 memories, 69 of 1024 tokens"), "{text}");
    assert!(text.contains("42 memories stored"), "{text}");
    assert!(
        text.contains("0.81  0.50  0.90  0.777    57  corpus/bicycle.md"),
        "{text}"
    );
    assert!(text.contains("12  remember (cut)"), "{text}");
    assert!(text.contains("To fix a puncture"), "{text}");
    assert!(text.contains("on for the next message"), "{text}");
}

#[test]
fn an_ingest_shows_a_gauge_and_a_profile_without_rag_says_so() {
    let mut state = AppState::new();
    state.rag = RagState::new(Some(&RagSettings::default()));
    state.rag.show = true;
    state.rag.ingest = Some(IngestProgress {
        done: 3,
        total: 12,
        current: "docs/intro.md".into(),
    });
    let text = screen(&mut state);
    assert!(text.contains("adding 3/12 docs/intro.md"), "{text}");
    assert!(text.contains("No context yet"), "{text}");
    let mut off = AppState::new();
    off.rag.show = true;
    assert!(screen(&mut off).contains("off for this profile"));
}
