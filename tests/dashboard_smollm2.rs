//! `gemma-tui --model smollm2` in the dashboard, through the real actors: SmolLM2 loads on the
//! kalosm-llama engine and a chat message gets a ChatML answer in the chat pane; and a switch from
//! Gemma to SmolLM2 in the model picker.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::Dashboard;
use crossterm::event::KeyCode;
use gemma_tui::actors::inference::{EngineEvent, ModelSource, SwitchEvent};
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

#[test]
fn switching_from_gemma_to_smollm2_in_the_picker() {
    let root = tempfile::tempdir().unwrap();
    let config_dir = root.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("models.toml"),
        format!(
            "[models.smollm2]\npath = \"{}\"\n",
            common::smollm2_path().display()
        ),
    )
    .unwrap();
    let config = std::sync::Arc::new(gemma_tui::config::load(&config_dir).config);
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 1024,
            max_tokens: Some(40),
            sampler: SamplerParams::greedy(),
            config_dir: Some(config_dir.clone()),
            config: config.clone(),
            ..RunOptions::new(
                ModelSource::Path(common::model_path()),
                2,
                ActorPaths::under(root.path()),
            )
        };
        let mut d = Dashboard::start(opts);
        let tx = d.tx.clone();
        let send = |text: &str| {
            for c in text.chars() {
                tx.send(common::key(KeyCode::Char(c))).unwrap();
            }
            tx.send(common::key(KeyCode::Enter)).unwrap();
        };
        let mut state = AppState::new();
        state.profiles.config = config.clone();
        // 0: loading, 1: picker asked for, 2: switch picked, 3: question sent after the swap.
        let mut step = 0;
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            assert!(Instant::now() < deadline, "stuck at step {step}");
            let event = d.next(Duration::from_secs(120)).await;
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            let swapped = matches!(
                &event,
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Swapped { .. }))
            );
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Failed { error, .. })) => {
                    panic!("switch failed: {error}")
                }
                _ => {}
            }
            d.fold(&mut state, event);
            match step {
                0 if state.engine == EngineStatus::Idle => {
                    tx.send(common::key(KeyCode::F(7))).unwrap();
                    step = 1;
                }
                1 if state.picker.is_some() => {
                    send("smollm2");
                    step = 2;
                }
                2 if swapped => {
                    send("What is the capital of France?");
                    step = 3;
                }
                3 if finished => break,
                _ => {}
            }
        }
        let model = state.model.as_ref().unwrap();
        assert_eq!(model.engine, "kalosm-llama");
        assert_eq!(model.path, common::smollm2_path().display().to_string());
        let reply = state
            .chat
            .messages
            .iter()
            .rfind(|m| m.role == Role::Assistant)
            .expect("a reply");
        assert!(reply.text.contains("Paris"), "{reply:?}");
    });
}
