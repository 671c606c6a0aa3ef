//! The A/B panes with a model on one side: the loaded model under a profile against a second GGUF
//! (the default one linked under another name, marked `kind = "instruct"` in a temp models.toml,
//! so it chats through Gemma's template; or SmolLM2 on the kalosm-llama engine, in ChatML) under
//! the same profile, through the real actors.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::Dashboard;
use crossterm::event::KeyCode;
use gemma_tui::actors::bench::BenchEvent;
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::app::{AppEvent, AppState, Effect, EngineStatus};
use gemma_tui::runtime::{ActorPaths, RunOptions};
use gemma_tui::sampling::SamplerParams;

/// What the A/B panes showed for `prompt` on the loaded default model under `precise` (side A)
/// and on `model` under the same profile (side B), with `models_toml` as the user's models.toml
/// and `profiles_toml` added to the user's profiles.toml.
fn ab_run(models_toml: &str, profiles_toml: &str, model: &str, prompt: &str) -> AppState {
    let root = tempfile::tempdir().unwrap();
    let config_dir = root.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::write(config_dir.join("models.toml"), models_toml).unwrap();
    std::fs::write(
        config_dir.join("profiles.toml"),
        format!("[profiles.precise]\nmax_tokens = 12\n{profiles_toml}"),
    )
    .unwrap();
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 512,
            max_tokens: Some(16),
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
        let mut started = false;
        let deadline = Instant::now() + Duration::from_secs(240);
        let b = format!("model:{model}");
        loop {
            assert!(Instant::now() < deadline, "no A/B replies within 240 s");
            let event = d.next(Duration::from_secs(120)).await;
            let done = matches!(&event, AppEvent::Bench(BenchEvent::AbDone(_)));
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Bench(BenchEvent::AbDone(Some(e))) => panic!("A/B failed: {e}"),
                _ => {}
            }
            d.fold(&mut state, event);
            if !started && state.engine == EngineStatus::Idle && !state.ab.profiles.is_empty() {
                for c in prompt.chars() {
                    state.handle(common::key(KeyCode::Char(c)), Instant::now());
                }
                state.handle(common::key(KeyCode::F(5)), Instant::now());
                while state.ab.profile(1) != Some(b.as_str()) {
                    state.handle(common::key(KeyCode::Down), Instant::now());
                }
                let effects = state.handle(common::key(KeyCode::Enter), Instant::now());
                d.apply(effects);
                started = true;
            }
            if done {
                break;
            }
        }
        state
    })
}

#[test]
fn gemma_and_smollm2_on_kalosm_llama_side_by_side() {
    let smollm2 = common::smollm2_path();
    // Greedy under both profiles the sides may run under: a 135M model sampled at random seeds
    // does not always name the capital in 12 tokens.
    let state = ab_run(
        &format!("[models.smollm2]\npath = \"{}\"\n", smollm2.display()),
        "[profiles.precise.sampler]\ntemperature = 0.0\n[profiles.balanced.sampler]\ntemperature = 0.0\n",
        "smollm2",
        "What is the capital of France?",
    );
    for side in &state.ab.sides {
        assert!(side.done && side.tokens >= 1, "{side:?}");
    }
    // SmolLM2 answers through ChatML on kalosm-llama while Gemma stays the dashboard's model.
    assert_eq!(state.ab.sides[1].profile, "model:smollm2");
    assert!(
        state.ab.sides[1].text.contains("Paris"),
        "{:?}",
        state.ab.sides[1]
    );
    assert!(state.ab.message.is_none(), "{:?}", state.ab.message);
    let model = state.model.as_ref().unwrap();
    assert_eq!(model.path, common::model_path().display().to_string());
}

#[test]
fn one_prompt_streams_on_two_models_side_by_side() {
    let root = tempfile::tempdir().unwrap();
    let (config_dir, models_dir) = (root.path().join("config"), root.path().join("models"));
    for d in [&config_dir, &models_dir] {
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
    std::fs::write(
        config_dir.join("profiles.toml"),
        "[profiles.precise]\nmax_tokens = 12\n",
    )
    .unwrap();
    let system = gemma_tui::runtime::actix_system(2);
    system.block_on(async {
        let opts = RunOptions {
            context: 512,
            max_tokens: Some(16),
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
        let mut started = false;
        let mut updates = [0usize; 2];
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            assert!(Instant::now() < deadline, "no A/B replies within 240 s");
            let event = d.next(Duration::from_secs(120)).await;
            let done = matches!(&event, AppEvent::Bench(BenchEvent::AbDone(_)));
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Bench(BenchEvent::AbDone(Some(e))) => panic!("A/B failed: {e}"),
                AppEvent::Bench(BenchEvent::Ab(u)) => updates[u.side] += 1,
                _ => {}
            }
            d.fold(&mut state, event);
            if !started && state.engine == EngineStatus::Idle && !state.ab.profiles.is_empty() {
                // models.toml's names, and no second entry for the linked file it names.
                let models: Vec<_> = state
                    .ab
                    .profiles
                    .iter()
                    .filter(|p| p.starts_with("model:"))
                    .cloned()
                    .collect();
                assert_eq!(
                    models,
                    ["model:gemma-3-270m", "model:other", "model:smollm2"]
                );
                for c in "The capital of France is".chars() {
                    state.handle(common::key(KeyCode::Char(c)), Instant::now());
                }
                state.handle(common::key(KeyCode::F(5)), Instant::now());
                assert_eq!(state.ab.profile(0), Some("precise"));
                while state.ab.profile(1) != Some("model:other") {
                    state.handle(common::key(KeyCode::Down), Instant::now());
                }
                let effects = state.handle(common::key(KeyCode::Enter), Instant::now());
                assert_eq!(
                    effects,
                    [Effect::StartAb {
                        prompt: "The capital of France is".into(),
                        a: "precise".into(),
                        b: "model:other@precise".into()
                    }]
                );
                d.apply(effects);
                started = true;
            }
            if done {
                break;
            }
        }
        assert!(updates[0] >= 1 && updates[1] >= 1, "{updates:?}");
        for side in &state.ab.sides {
            assert!(side.tokens >= 1 && side.tokens <= 12, "{side:?}");
            assert!(side.done && !side.text.is_empty(), "{side:?}");
        }
        assert_eq!(state.ab.sides[1].profile, "model:other");
        assert!(state.ab.message.is_none(), "{:?}", state.ab.message);
        // The dashboard's own model is untouched: the chat still runs the base model.
        let model = state.model.as_ref().unwrap();
        assert_eq!(model.path, common::model_path().display().to_string());
    });
}
