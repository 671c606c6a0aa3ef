//! The dashboard driven through its real actors and the real model: key events in, streamed text
//! out in the chat pane (rendered with ratatui's TestBackend).
mod common;

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::actors::messages::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use gemma_tui::runtime::{apply_effect, start_actors, RunOptions};
use gemma_tui::sampling::SamplerParams;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[test]
fn typed_message_streams_a_reply_into_the_chat_pane() {
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 1024,
            max_tokens: Some(24),
            sampler: SamplerParams::greedy(),
            ..RunOptions::new(ModelSource::Path(common::model_path()), 2)
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let actors = start_actors(tx.clone(), &opts);
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(110, 32)).unwrap();
        let mut last_request = 0;
        let mut sent = false;
        let mut tokens_seen = 0;
        let mut metrics_seen = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        let finished = loop {
            assert!(Instant::now() < deadline, "no reply within 120 s");
            let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .expect("an event")
                .expect("channel open");
            let done = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            match &event {
                AppEvent::Engine(EngineEvent::Token { .. }) => tokens_seen += 1,
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Metrics(_) => metrics_seen += 1,
                _ => {}
            }
            for effect in state.handle(event, Instant::now()) {
                apply_effect(effect, &actors, &opts, &mut last_request);
            }
            terminal
                .draw(|f| gemma_tui::ui::draw(f, &mut state))
                .unwrap();
            if !sent && state.engine == EngineStatus::Idle {
                // Type "Hi" and press Enter, as a user would.
                for ev in [
                    common::key(KeyCode::Char('H')),
                    common::key(KeyCode::Char('i')),
                    common::key(KeyCode::Enter),
                ] {
                    tx.send(ev).unwrap();
                }
                sent = true;
            }
            if done {
                break state.messages.clone();
            }
        };
        assert!(
            tokens_seen >= 2,
            "the reply streamed token by token ({tokens_seen} events)"
        );
        let reply = finished
            .iter()
            .rfind(|m| m.role == Role::Assistant)
            .unwrap();
        assert!(!reply.streaming);
        assert!(reply.text.trim().len() >= 2, "reply {:?}", reply.text);
        // The base model chats through the dialogue transcript: the reply ends before the next
        // user line it would invent, and that line is not shown.
        assert_eq!(
            state.model.as_ref().unwrap().kind.kind,
            gemma_tui::engine::ModelKind::Base
        );
        assert!(!reply.text.contains("User:"), "reply {:?}", reply.text);
        let shown = common::buffer_text(terminal.backend().buffer());
        assert!(shown.contains("Hi"), "{shown}");
        // The reply's first word is on screen in the chat pane (compared without white space: a
        // wide character is followed by a blank cell in the buffer).
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        let first_words = reply.text.split_whitespace().next().unwrap().to_string();
        assert!(
            squash(&shown).contains(&first_words),
            "{first_words:?} not in\n{shown}"
        );
        assert!(state.context_used > 0);
        assert!(metrics_seen > 0, "the metrics actor reported");
        actix::System::current().stop();
    });
}
