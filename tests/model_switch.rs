//! Switching models in the dashboard, through the real actors and the real model: the picker lists
//! a second GGUF (the default one linked under another name, marked `kind = "instruct"` in a temp
//! models.toml), the switch loads it while the old model keeps answering, swaps it in between
//! replies and carries the conversation over. Every directory is a temp dir.
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dashboard::Dashboard;
use crossterm::event::KeyCode;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::actors::inference::{EngineEvent, SwitchEvent};
use gemma_tui::app::picker::PickerKind;
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use gemma_tui::engine::ModelKind;
use gemma_tui::runtime::{ActorPaths, RunOptions};
use gemma_tui::sampling::SamplerParams;

/// What the test does next, in order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum WaitingFor {
    Load,
    FirstReply,
    /// A second message is sent; the picker opens once its reply streams.
    Streaming,
    Picker,
    /// The switch is under way and a message was sent meanwhile.
    Swap,
    LastReply,
}

#[test]
fn switching_models_keeps_serving_carries_the_conversation_and_shows_the_new_kind() {
    let root = tempfile::tempdir().unwrap();
    let (config_dir, models_dir, data_dir) = (
        root.path().join("config"),
        root.path().join("models"),
        root.path().join("data"),
    );
    for d in [&config_dir, &models_dir, &data_dir] {
        std::fs::create_dir(d).unwrap();
    }
    let other = models_dir.join("other.gguf");
    std::os::unix::fs::symlink(common::model_path(), &other).unwrap();
    std::fs::write(
        config_dir.join("models.toml"),
        format!(
            "[models.other]\npath = \"{}\"\nkind = \"instruct\"\n",
            other.display()
        ),
    )
    .unwrap();
    let config = Arc::new(gemma_tui::config::load(&config_dir).config);
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 1024,
            max_tokens: Some(48),
            sampler: SamplerParams::greedy(),
            config_dir: Some(config_dir.clone()),
            data_dir: Some(data_dir.clone()),
            config: config.clone(),
            ..RunOptions::new(
                ModelSource::Path(common::model_path()),
                2,
                ActorPaths::under(root.path()),
            )
        };
        let mut d = Dashboard::start(opts);
        let tx = d.tx.clone();
        let mut state = AppState::new();
        state.profiles.config = config.clone();
        let mut step = WaitingFor::Load;
        let type_and_send = |text: &str| {
            for c in text.chars() {
                tx.send(common::key(KeyCode::Char(c))).unwrap();
            }
            tx.send(common::key(KeyCode::Enter)).unwrap();
        };
        // Measurements: when the switch was asked for and became ready, tokens streamed by the
        // old model meanwhile, and whether a swap ever fell inside a reply.
        let mut switch_started: Option<Instant> = None;
        let mut ready_after: Option<Duration> = None;
        let mut tokens_while_loading = 0usize;
        let mut in_reply = false;
        let mut context_before_swap = 0;
        let mut swapped: Option<(Duration, usize, f64)> = None;
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            assert!(Instant::now() < deadline, "stuck at {step:?}");
            let event = d.next(Duration::from_secs(120)).await;
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Engine(EngineEvent::PrefillStarted { .. }) => in_reply = true,
                AppEvent::Engine(EngineEvent::Finished { context_used, .. }) => {
                    in_reply = false;
                    context_before_swap = *context_used;
                }
                AppEvent::Engine(EngineEvent::Token { .. })
                    if state.models.switch.as_ref().is_some_and(|s| !s.ready) =>
                {
                    tokens_while_loading += 1
                }
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Ready { .. })) => {
                    ready_after = switch_started.map(|t| t.elapsed());
                }
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Failed { error, .. })) => {
                    panic!("switch failed: {error}")
                }
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Swapped {
                    context_used,
                    restored,
                    restore_ms,
                    ..
                })) => {
                    assert!(!in_reply, "the swap fell inside a reply");
                    assert!(*restored >= 1, "the first turns came along");
                    // Fewer tokens than the old model held: the base model's transcript carries
                    // few-shot examples, Gemma's chat template does not.
                    assert!(
                        *context_used > 0,
                        "{context_used} tokens re-prefilled (the old model had {context_before_swap})"
                    );
                    let total = switch_started.unwrap().elapsed();
                    swapped = Some((total, *context_used, *restore_ms));
                }
                _ => {}
            }
            d.fold(&mut state, event);
            match step {
                WaitingFor::Load if state.engine == EngineStatus::Idle => {
                    type_and_send("Hi");
                    step = WaitingFor::FirstReply;
                }
                WaitingFor::FirstReply if finished => {
                    type_and_send("Count from one to fifty: one, two, three,");
                    step = WaitingFor::Streaming;
                }
                WaitingFor::Streaming
                    if state
                        .chat.messages
                        .last()
                        .is_some_and(|m| m.streaming && !m.text.is_empty()) =>
                {
                    d.tx.send(common::key(KeyCode::F(7))).unwrap();
                    step = WaitingFor::Picker;
                }
                WaitingFor::Picker
                    if state
                        .picker
                        .as_ref()
                        .is_some_and(|p| p.kind == PickerKind::Model) =>
                {
                    let p = state.picker.as_ref().unwrap();
                    let labels: Vec<_> = p.items.iter().map(|i| i.label.clone()).collect();
                    assert!(labels.iter().any(|l| l == "other"), "{labels:?}");
                    let item = p.items.iter().find(|i| i.label == "other").unwrap();
                    assert!(item.detail.starts_with("instruct · Q4_K_M · 253 MB"));
                    // Picked while the old model streams its reply: it goes on streaming while
                    // the new one loads, and the swap waits for the reply's end.
                    type_and_send("other");
                    switch_started = Some(Instant::now());
                    step = WaitingFor::Swap;
                }
                WaitingFor::Swap if swapped.is_some() => {
                    let model = state.model.as_ref().unwrap();
                    assert_eq!(model.path, other.display().to_string());
                    assert_eq!(model.kind.kind, ModelKind::Instruct);
                    assert!(model.kind.because.contains("models.other"));
                    assert!(state.context_used > 0);
                    assert!(state.models.switch.is_none());
                    let status = gemma_tui::ui::panes::status::status_text(&state).join(" | ");
                    assert!(status.contains("switched to other"), "{status}");
                    type_and_send("Thanks!");
                    step = WaitingFor::LastReply;
                }
                WaitingFor::LastReply if finished => break,
                _ => {}
            }
        }
        let replies: Vec<_> = state
            .chat.messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .collect();
        assert_eq!(replies.len(), 3, "{:?}", state.chat.messages);
        let last = replies[2];
        assert!(!last.streaming && !last.text.trim().is_empty(), "{last:?}");
        let stats = last.stats.as_ref().unwrap();
        assert!(stats.generated_tokens > 0);
        // The last turn was prefilled after the carried-over ones.
        let (total, restored_ctx, restore_ms) = swapped.unwrap();
        assert!(state.context_used > restored_ctx);
        assert!(state
            .chat.messages
            .iter()
            .any(|m| m.role == Role::System && m.text.contains("Now running other")));
        eprintln!(
            "switch: ready after {:.0} ms, swapped after {:.0} ms (re-prefill of {restored_ctx} \
             tokens {restore_ms:.0} ms); {tokens_while_loading} tokens streamed by the old \
             model while the new one loaded",
            ready_after.unwrap_or_default().as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
        );
    });
}

#[test]
fn a_failed_switch_leaves_the_old_model_serving() {
    let root = tempfile::tempdir().unwrap();
    let (config_dir, models_dir) = (root.path().join("config"), root.path().join("models"));
    for d in [&config_dir, &models_dir] {
        std::fs::create_dir(d).unwrap();
    }
    // Listed while it exists, gone by the time it is picked.
    let doomed = models_dir.join("doomed.gguf");
    std::os::unix::fs::symlink(common::model_path(), &doomed).unwrap();
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 512,
            max_tokens: Some(8),
            sampler: SamplerParams::greedy(),
            config_dir: Some(config_dir.clone()),
            ..RunOptions::new(
                ModelSource::Path(common::model_path()),
                2,
                ActorPaths::under(root.path()),
            )
        };
        let mut d = Dashboard::start(opts);
        let mut state = AppState::new();
        let mut failed = None;
        let mut step = WaitingFor::Load;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "stuck at {step:?}: {:?} {:?} {:?}",
                state.status,
                state.models,
                state.chat.messages
            );
            let event = d.next(Duration::from_secs(120)).await;
            let finished = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
            if let AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Failed { error, .. })) = &event
            {
                failed = Some(error.clone());
            }
            d.fold(&mut state, event);
            match step {
                WaitingFor::Load if state.engine == EngineStatus::Idle => {
                    d.tx.send(common::key(KeyCode::F(7))).unwrap();
                    step = WaitingFor::Picker;
                }
                WaitingFor::Picker if state.picker.is_some() => {
                    std::fs::remove_file(&doomed).unwrap();
                    for c in "doomed".chars() {
                        d.tx.send(common::key(KeyCode::Char(c))).unwrap();
                    }
                    d.tx.send(common::key(KeyCode::Enter)).unwrap();
                    step = WaitingFor::Swap;
                }
                WaitingFor::Swap if failed.is_some() => {
                    for c in "Hi".chars() {
                        d.tx.send(common::key(KeyCode::Char(c))).unwrap();
                    }
                    d.tx.send(common::key(KeyCode::Enter)).unwrap();
                    step = WaitingFor::LastReply;
                }
                WaitingFor::LastReply if finished => break,
                _ => {}
            }
        }
        let error = failed.unwrap();
        assert!(error.contains("doomed.gguf"), "{error}");
        let model = state.model.as_ref().unwrap();
        assert_eq!(model.path, common::model_path().display().to_string());
        assert!(state.models.switch.is_none());
        assert!(
            state.chat.messages.iter().any(
                |m| m.role == Role::Error && m.text.contains("Switching to doomed.gguf failed")
            ),
            "{:?}",
            state.chat.messages
        );
        let reply = state
            .chat
            .messages
            .iter()
            .rfind(|m| m.role == Role::Assistant);
        assert!(reply.is_some_and(|r| !r.streaming && !r.text.is_empty()));
    });
}
