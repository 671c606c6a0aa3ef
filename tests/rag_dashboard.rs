//! RAG through the dashboard's real actors: the real model, the real MiniLM and a redb store in a
//! temp dir. `/remember` stores a note; the next message waits for its context, which carries the
//! note, and the reply is generated from the injected prompt; the RAG pane shows what went in.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::actors::rag::RagEvent;
use gemma_tui::app::{Action, AppEvent, AppState, Effect, EngineStatus};
use gemma_tui::rag::RagSettings;
use gemma_tui::runtime::RunOptions;

#[test]
fn a_remembered_note_is_injected_into_the_next_prompt() {
    // The sandbox's data dir holds the RAG store (given to the actor through the options).
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(RunOptions {
            rag: Some(RagSettings::default()),
            ..sandbox.options(1024, 8)
        });
        let mut state = AppState::new();
        state.rag = gemma_tui::app::rag::RagState::new(d.opts.rag.as_ref());
        let mut step = 0;
        let mut saw_context_effect = false;
        let mut generated_prompt = String::new();
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            assert!(Instant::now() < deadline, "stuck at step {step}");
            let event = d.next(Duration::from_secs(120)).await;
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            let remembered = matches!(&event, AppEvent::Rag(RagEvent::Remembered { .. }));
            if let AppEvent::Rag(RagEvent::Unavailable(e)) = &event {
                panic!("RAG unavailable: {e}");
            }
            let mut effects = state.handle(event, Instant::now());
            let send = |state: &mut AppState, text: &str, effects: &mut Vec<Effect>| {
                state.input.editor.insert_str(text);
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
                d.apply([effect]);
            }
        }
        assert_eq!(state.rag.memories, Some(1));
        let hits = d
            .actors
            .rag
            .as_ref()
            .unwrap()
            .addr
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
            .chat
            .messages
            .iter()
            .all(|m| !m.text.contains("Use these notes")));
        state.rag.show = true;
        let shown = common::render(&mut state, 120, 32);
        assert!(shown.contains("1 memories,"), "{shown}");
        assert!(shown.contains("pineapple"), "{shown}");
        actix::System::current().stop();
    });
}
