//! The dashboard driven through its real actors and the real model: key events in, streamed text
//! out in the chat pane (rendered with ratatui's TestBackend).
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use crossterm::event::KeyCode;
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const QUESTION: &str = "Describe the sea.";

#[test]
fn typed_message_streams_a_reply_into_the_chat_pane() {
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options(1024, 24));
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(110, 32)).unwrap();
        let mut sent = false;
        let mut tokens_seen = 0;
        let mut metrics_seen = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        let finished = loop {
            assert!(Instant::now() < deadline, "no reply within 120 s");
            let event = d.next(Duration::from_secs(60)).await;
            let done = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            match &event {
                AppEvent::Engine(EngineEvent::Token { .. }) => tokens_seen += 1,
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Metrics(_) => metrics_seen += 1,
                _ => {}
            }
            d.fold(&mut state, event);
            dashboard::draw(&mut terminal, &mut state);
            if !sent && state.engine == EngineStatus::Idle {
                // Type a question and press Enter, as a user would. (The base model answers "Hi"
                // with one word: a question gets a sentence, streamed over several events.)
                let keys = QUESTION.chars().map(KeyCode::Char).chain([KeyCode::Enter]);
                for code in keys {
                    d.tx.send(common::key(code)).unwrap();
                }
                sent = true;
            }
            if done {
                break state.chat.messages.clone();
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
        assert!(shown.contains(QUESTION), "{shown}");
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
