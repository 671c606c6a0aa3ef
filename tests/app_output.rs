//! Constrained replies in the dashboard, through its real actors (config, inference, sampling)
//! and the real model: a profile's `regex` shapes every reply; `/json SCHEMA` typed in the input
//! makes the next reply JSON valid under the schema (the `jsonschema` crate checks it) and shows
//! in the input's title until it is used.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use crossterm::event::KeyCode;
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const PROFILE_REGEX: &str = r"(yes|no), because [a-z ,]{5,60}\.";
const SCHEMA: &str = r#"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0, "maximum": 120}}, "required": ["name", "age"]}"#;

fn type_line(d: &Dashboard, text: &str) {
    for code in text.chars().map(KeyCode::Char).chain([KeyCode::Enter]) {
        d.tx.send(common::key(code)).unwrap();
    }
}

/// Folds events until the reply in flight finishes; returns its text.
async fn reply(
    d: &mut Dashboard,
    state: &mut AppState,
    terminal: &mut Terminal<TestBackend>,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no reply within 120 s");
        let event = d.next(Duration::from_secs(60)).await;
        let done = matches!(&event, AppEvent::Engine(EngineEvent::Finished { .. }));
        if let AppEvent::Engine(EngineEvent::Failed { error, .. }) = &event {
            panic!("generation failed: {error}");
        }
        d.fold(state, event);
        dashboard::draw(terminal, state);
        if done {
            let last = state
                .chat
                .messages
                .iter()
                .rfind(|m| m.role == Role::Assistant);
            return last.unwrap().text.trim().to_string();
        }
    }
}

#[test]
fn profile_regex_and_typed_json_schema_shape_the_replies() {
    let sandbox = Sandbox::new();
    let profiles = format!("[profiles.balanced]\nregex = '{PROFILE_REGEX}'\n");
    std::fs::write(sandbox.config_dir().join("profiles.toml"), profiles).unwrap();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options_watching_config(1024, 120));
        let mut state = AppState::new();
        // The user's config, as the run loop starts with it.
        let config = gemma_tui::config::load(sandbox.config_dir()).config;
        state.profiles.config = std::sync::Arc::new(config);
        assert_eq!(state.profiles.profile().regex, PROFILE_REGEX);
        let mut terminal = Terminal::new(TestBackend::new(150, 40)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while state.engine != EngineStatus::Idle {
            let shown = dashboard::draw(&mut terminal, &mut state);
            assert!(
                Instant::now() < deadline,
                "not ready within 120 s:\n{shown}"
            );
            let event = d.next(Duration::from_secs(60)).await;
            d.fold(&mut state, event);
        }
        let shown = dashboard::draw(&mut terminal, &mut state);
        assert!(shown.contains("constrained by profile balanced"), "{shown}");

        type_line(&d, "Is the sky blue?");
        let text = reply(&mut d, &mut state, &mut terminal).await;
        let whole = regex::Regex::new(&format!("^(?:{PROFILE_REGEX})$")).unwrap();
        assert!(whole.is_match(&text), "{text:?} under the profile's regex");

        // `/json SCHEMA` arms the next reply only; the title says so.
        type_line(&d, &format!("/json {SCHEMA}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let shown = loop {
            assert!(Instant::now() < deadline, "the command was not taken");
            let event = d.next(Duration::from_secs(10)).await;
            d.fold(&mut state, event);
            let shown = dashboard::draw(&mut terminal, &mut state);
            if state.input_text().is_empty() {
                break shown;
            }
        };
        assert!(shown.contains("next: JSON Schema"), "{shown}");
        type_line(&d, "Describe a person as JSON.");
        let text = reply(&mut d, &mut state, &mut terminal).await;
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert!(jsonschema::is_valid(&schema, &value), "{text}");
        let shown = dashboard::draw(&mut terminal, &mut state);
        assert!(!shown.contains("next: JSON Schema"), "used once: {shown}");
        assert!(shown.contains("constrained by profile balanced"), "{shown}");
        actix::System::current().stop();
    });
}
