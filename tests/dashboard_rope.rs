//! RoPE scaling in the dashboard: the model loads with models.toml's and the active profile's
//! `rope` table under the `--rope-*` flags (as `ask` and `serve` do), and the status bar says so.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::dashboard::{self, Dashboard, Sandbox};
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::app::{AppEvent, AppState};
use gemma_tui::engine::RopeScaling;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn loaded_rope(profiles_toml: &str, flags: RopeScaling) -> (Option<String>, String) {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.config_dir().join("profiles.toml"), profiles_toml).unwrap();
    let config = gemma_tui::config::load(sandbox.config_dir()).config;
    dashboard::run(async {
        let mut opts = sandbox.options(1024, 8);
        opts.config = Arc::new(config);
        opts.active_profile = "long".into();
        opts.rope = flags;
        let mut d = Dashboard::start(opts);
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(160, 30)).unwrap();
        loop {
            let event = d.next(Duration::from_secs(120)).await;
            let summary = match &event {
                AppEvent::Engine(EngineEvent::Loaded(s)) => Some(s.clone()),
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                _ => None,
            };
            d.fold(&mut state, event);
            if let Some(summary) = summary {
                return (summary.rope, dashboard::draw(&mut terminal, &mut state));
            }
        }
    })
}

#[test]
fn the_model_loads_with_the_profiles_rope_under_the_flags_and_the_status_bar_shows_it() {
    let profile = "[profiles.long]\ncontext = 1024\n\n[profiles.long.rope]\nscaling = \"linear\"\nscale = 2.0\n";
    let flags = RopeScaling {
        freq_base: Some(20000.0),
        ..Default::default()
    };
    let (rope, screen) = loaded_rope(profile, flags);
    assert_eq!(rope.as_deref(), Some("rope linear x2 base 20000"));
    assert!(screen.contains("rope linear x2 base 20000"), "{screen}");
    // Without a rope table or flags: the file's own RoPE, nothing said.
    let (rope, screen) = loaded_rope("[profiles.long]\ncontext = 1024\n", RopeScaling::default());
    assert_eq!(rope, None);
    assert!(!screen.contains("rope "), "{screen}");
}
