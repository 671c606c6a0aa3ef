//! RAG through the dashboard's real actors: the real model, the real MiniLM and a redb store in a
//! temp dir. `/remember` stores a note; the next message waits for its context, which carries the
//! note, and the reply is generated from the injected prompt; the RAG pane shows what went in.
mod common;

use std::time::{Duration, Instant};

use gemma_tui::actors::inference::ModelSource;
use gemma_tui::actors::messages::EngineEvent;
use gemma_tui::actors::rag::RagEvent;
use gemma_tui::app::{Action, AppEvent, AppState, Effect, EngineStatus};
use gemma_tui::rag::RagSettings;
use gemma_tui::runtime::{apply_effect, start_actors, RunOptions};
use gemma_tui::sampling::SamplerParams;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[test]
fn a_remembered_note_is_injected_into_the_next_prompt() {
    let data = tempfile::tempdir().unwrap();
    // This test binary runs this one test: the actor reads the data dir from the environment.
    std::env::set_var(gemma_tui::rag::DATA_DIR_ENV, data.path());
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 1024,
            max_tokens: Some(8),
            sampler: SamplerParams::greedy(),
            rag: Some(RagSettings::default()),
            ..RunOptions::new(ModelSource::Path(common::model_path()), 2)
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let actors = start_actors(tx.clone(), &opts);
        let mut state = AppState::new();
        state.rag = gemma_tui::app::rag::RagState::new(opts.rag.as_ref());
        let mut last_request = 0;
        let mut step = 0;
        let mut saw_context_effect = false;
        let mut generated_prompt = String::new();
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            assert!(Instant::now() < deadline, "stuck at step {step}");
            let event = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .expect("an event")
                .expect("channel open");
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            let remembered = matches!(&event, AppEvent::Rag(RagEvent::Remembered { .. }));
            if let AppEvent::Rag(RagEvent::Unavailable(e)) = &event {
                panic!("RAG unavailable: {e}");
            }
            let mut effects = state.handle(event, Instant::now());
            let send = |state: &mut AppState, text: &str, effects: &mut Vec<Effect>| {
                state.input.insert_str(text);
                effects.extend(state.apply(Action::Send, Instant::now()));
            };
            match step {
                0 if state.engine == EngineStatus::Idle && state.rag.memories.is_some() => {
                    send(
                        &mut state,
                        "/remember The secret code word is pineapple.",
                        &mut effects,
                    );
                    step = 1;
                }
                1 if remembered => {
                    send(&mut state, "What is the secret code word?", &mut effects);
                    step = 2;
                }
                2 if finished => break,
                _ => {}
            }
            for effect in effects {
                match &effect {
                    Effect::RagContext { .. } => saw_context_effect = true,
                    Effect::Generate { turn, .. } => generated_prompt = turn.text.clone(),
                    _ => {}
                }
                apply_effect(effect, &actors, &opts, &mut last_request);
            }
        }
        assert_eq!(state.rag.memories, Some(1));
        let hits = actors
            .rag
            .as_ref()
            .unwrap()
            .send(gemma_tui::actors::rag::Search {
                query: "code word".into(),
                k: 3,
            })
            .await
            .expect("the actor answers")
            .expect("a search");
        assert!(hits[0].text.contains("pineapple"));
        assert!(
            saw_context_effect,
            "the message asked for its context first"
        );
        assert!(generated_prompt.contains("pineapple"), "{generated_prompt}");
        assert!(generated_prompt.ends_with("What is the secret code word?"));
        let last = state
            .rag
            .last
            .clone()
            .expect("the context is kept for the pane");
        assert_eq!(last.context.memories.len(), 1);
        assert!(last.context.memories[0].tokens > 5);
        assert!(last.context.tokens <= last.context.budget);
        // The chat shows what was typed, not the injected prompt.
        assert!(state
            .messages
            .iter()
            .all(|m| !m.text.contains("Use these notes")));
        state.rag.show = true;
        let mut terminal = Terminal::new(TestBackend::new(120, 32)).unwrap();
        terminal
            .draw(|f| gemma_tui::ui::draw(f, &mut state))
            .unwrap();
        let shown = common::buffer_text(terminal.backend().buffer());
        assert!(shown.contains("1 memories,"), "{shown}");
        assert!(shown.contains("pineapple"), "{shown}");
        actix::System::current().stop();
    });
}
