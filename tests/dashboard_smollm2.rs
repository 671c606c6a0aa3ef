//! `gemma-tui --model smollm2` in the dashboard, through the real actors: SmolLM2 loads on the
//! kalosm-llama engine and a chat message gets a ChatML answer in the chat pane.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::Dashboard;
use crossterm::event::KeyCode;
use gemma_tui::actors::inference::{EngineEvent, ModelSource};
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use gemma_tui::engine::ModelKind;
use gemma_tui::runtime::{ActorPaths, RunOptions};
use gemma_tui::sampling::SamplerParams;

#[test]
fn smollm2_chats_in_the_dashboard_on_kalosm_llama() {
    let root = tempfile::tempdir().unwrap();
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 1024,
            max_tokens: Some(40),
            sampler: SamplerParams::greedy(),
            ..RunOptions::new(
                ModelSource::Path(common::smollm2_path()),
                2,
                ActorPaths::under(root.path()),
            )
        };
        let mut d = Dashboard::start(opts);
        let mut state = AppState::new();
        let mut sent = false;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            assert!(Instant::now() < deadline, "no reply within 180 s");
            let event = d.next(Duration::from_secs(120)).await;
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            if let AppEvent::Engine(EngineEvent::LoadFailed(e)) = &event {
                panic!("load failed: {e}")
            }
            d.fold(&mut state, event);
            if !sent && state.engine == EngineStatus::Idle {
                for c in "What is the capital of France?".chars() {
                    state.handle(common::key(KeyCode::Char(c)), Instant::now());
                }
                let effects = state.handle(common::key(KeyCode::Enter), Instant::now());
                d.apply(effects);
                sent = true;
            }
            if sent && finished {
                break;
            }
        }
        let model = state.model.as_ref().unwrap();
        assert_eq!(model.engine, "kalosm-llama");
        assert_eq!(model.architecture, "llama");
        assert_eq!(model.kind.kind, ModelKind::Instruct);
        let reply = state
            .chat
            .messages
            .iter()
            .rfind(|m| m.role == Role::Assistant)
            .expect("a reply");
        assert!(
            !reply.streaming && reply.text.contains("Paris"),
            "{reply:?}"
        );
        assert!(!reply.text.contains("<|im_end|>"), "{reply:?}");
    });
}
