//! The A/B panes through the real actors and the real model: the input's prompt streamed under
//! two profiles side by side, each with its live rate.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use crossterm::event::KeyCode;
use gemma_tui::actors::bench::BenchEvent;
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, Effect, EngineStatus};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[test]
fn one_prompt_streams_under_two_profiles_side_by_side() {
    let sandbox = Sandbox::new();
    // Short replies, and two profiles that differ: greedy against a hot sampler.
    std::fs::write(
        sandbox.config_dir().join("profiles.toml"),
        "[profiles.precise]\nmax_tokens = 12\n[profiles.creative]\nmax_tokens = 12\n",
    )
    .unwrap();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options_watching_config(512, 16));
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
        let mut started = false;
        let mut updates = [0usize; 2];
        let mut interleaved = false;
        let mut last_side = None;
        let deadline = Instant::now() + Duration::from_secs(240);
        let mut screen = String::new();
        loop {
            assert!(Instant::now() < deadline, "no A/B replies within 240 s");
            let event = d.next(Duration::from_secs(120)).await;
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
            d.fold(&mut state, event);
            let drawn = dashboard::draw(&mut terminal, &mut state);
            if state.ab.running {
                screen = drawn;
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
                d.apply(effects);
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
