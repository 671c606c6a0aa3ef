//! The A/B panes through the real actors and the real model: the input's prompt streamed under
//! two profiles side by side, each with its live rate.
mod common;

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use gemma_tui::actors::bench::BenchEvent;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::actors::messages::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, Effect, EngineStatus};
use gemma_tui::runtime::{apply_effect, start_actors, RunOptions};
use gemma_tui::sampling::SamplerParams;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[test]
fn one_prompt_streams_under_two_profiles_side_by_side() {
    let config = tempfile::tempdir().unwrap();
    // Short replies, and two profiles that differ: greedy against a hot sampler.
    std::fs::write(
        config.path().join("profiles.toml"),
        "[profiles.precise]\nmax_tokens = 12\n[profiles.creative]\nmax_tokens = 12\n",
    )
    .unwrap();
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 512,
            max_tokens: Some(16),
            sampler: SamplerParams::greedy(),
            config_dir: Some(config.path().to_path_buf()),
            ..RunOptions::new(ModelSource::Path(common::model_path()), 2)
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let actors = start_actors(tx.clone(), &opts);
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
        let mut last_request = 0;
        let mut started = false;
        let mut updates = [0usize; 2];
        let mut interleaved = false;
        let mut last_side = None;
        let deadline = Instant::now() + Duration::from_secs(240);
        let mut screen = String::new();
        loop {
            assert!(Instant::now() < deadline, "no A/B replies within 240 s");
            let event = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .expect("an event")
                .expect("channel open");
            let done = matches!(&event, AppEvent::Bench(BenchEvent::AbDone(_)));
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Bench(BenchEvent::AbDone(Some(e))) => panic!("A/B failed: {e}"),
                AppEvent::Bench(BenchEvent::Ab(u)) => {
                    updates[u.side] += 1;
                    if last_side.is_some_and(|s| s != u.side) {
                        interleaved = true;
                    }
                    last_side = Some(u.side);
                }
                _ => {}
            }
            for effect in state.handle(event, Instant::now()) {
                apply_effect(effect, &actors, &opts, &mut last_request);
            }
            terminal
                .draw(|f| gemma_tui::ui::draw(f, &mut state))
                .unwrap();
            if state.ab.running {
                screen = common::buffer_text(terminal.backend().buffer());
            }
            if !started && state.engine == EngineStatus::Idle && !state.ab.profiles.is_empty() {
                for c in "The capital of France is".chars() {
                    state.handle(common::key(KeyCode::Char(c)), Instant::now());
                }
                state.handle(common::key(KeyCode::F(5)), Instant::now());
                assert_eq!(state.ab.profile(0), Some("precise"));
                assert_eq!(state.ab.profile(1), Some("creative"));
                let effects = state.handle(common::key(KeyCode::Enter), Instant::now());
                assert_eq!(
                    effects,
                    [Effect::StartAb {
                        prompt: "The capital of France is".into(),
                        a: "precise".into(),
                        b: "creative".into()
                    }]
                );
                for effect in effects {
                    apply_effect(effect, &actors, &opts, &mut last_request);
                }
                // Chat waits while both replies have the model.
                let refused = state.handle(common::key(KeyCode::Esc), Instant::now());
                assert!(refused.is_empty());
                assert!(state
                    .handle(common::key(KeyCode::Enter), Instant::now())
                    .is_empty());
                state.handle(common::key(KeyCode::F(5)), Instant::now());
                started = true;
            }
            if done {
                break;
            }
        }
        assert!(updates[0] >= 1 && updates[1] >= 1, "{updates:?}");
        assert!(interleaved, "the two replies advanced in turn");
        for side in &state.ab.sides {
            assert!(side.tokens >= 1 && side.tokens <= 12, "{side:?}");
            assert!(side.tok_s > 0.0 && side.done, "{side:?}");
            assert!(!side.text.is_empty(), "{side:?}");
        }
        assert!(
            screen.contains("A: precise") && screen.contains("B: creative"),
            "{screen}"
        );
        assert!(screen.contains("tok/s"), "{screen}");
        assert!(!state.ab.running);
    });
}
