//! Unit tests of the model picker and the switch flow (no terminal, no actors).
use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::models::{ModelEffect, ModelsEvent};
use super::picker::PickerKind;
use super::*;
use crate::actors::inference::SwitchEvent;
use crate::actors::inference::{EngineEvent, ModelSummary, ReplyStats};
use crate::engine::{DetectedKind, FinishReason, ModelKind};
use crate::models::ModelChoice;

fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn kind(kind: ModelKind) -> DetectedKind {
    DetectedKind {
        kind,
        because: "test".into(),
    }
}

fn summary(name: &str, path: &str, k: ModelKind) -> ModelSummary {
    ModelSummary {
        name: name.into(),
        path: path.into(),
        quantization: "Q4_K_M".into(),
        context_size: 4096,
        kind: kind(k),
        ..Default::default()
    }
}

fn choice(name: &str, path: &str, k: ModelKind) -> ModelChoice {
    ModelChoice {
        name: name.into(),
        path: PathBuf::from(path),
        in_config: true,
        description: String::new(),
        size_bytes: Some(253_113_024),
        kind: Some(kind(k)),
        quantization: Some("Q4_K_M".into()),
        problem: None,
    }
}

/// A dashboard running the base model, with the picker's listing of three models.
fn listed() -> AppState {
    let now = Instant::now();
    let mut s = AppState::new();
    let base = summary("gemma-3-270m", "/m/base.gguf", ModelKind::Base);
    s.handle(AppEvent::Engine(EngineEvent::Loaded(base)), now);
    let effects = s.handle(key(KeyCode::F(7)), now);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Models(ModelEffect::List { .. })]
        ),
        "{effects:?}"
    );
    assert!(s.picker.is_none(), "the picker waits for the listing");
    let mut broken = choice("broken", "/m/broken.gguf", ModelKind::Base);
    broken.problem = Some("not a GGUF file".into());
    let list = vec![
        choice("gemma-3-270m", "/m/base.gguf", ModelKind::Base),
        choice("it", "/m/it.gguf", ModelKind::Instruct),
        broken,
    ];
    assert!(s
        .handle(AppEvent::Models(ModelsEvent::Listed(list)), now)
        .is_empty());
    s
}

fn pick(s: &mut AppState, query: &str) -> Vec<Effect> {
    let now = Instant::now();
    for c in query.chars() {
        s.handle(key(KeyCode::Char(c)), now);
    }
    s.handle(key(KeyCode::Enter), now)
}

fn switch(event: SwitchEvent) -> AppEvent {
    AppEvent::Engine(EngineEvent::Switch(event))
}

fn finished(request: u64) -> AppEvent {
    AppEvent::Engine(EngineEvent::Finished {
        request,
        reason: FinishReason::EndOfTurn,
        stats: ReplyStats::default(),
        context_used: 30,
    })
}

/// Types `text` and presses Enter; returns the effects.
fn send(s: &mut AppState, text: &str) -> Vec<Effect> {
    pick(s, text)
}

#[test]
fn the_picker_lists_every_model_with_kind_quantization_and_size() {
    let s = listed();
    let p = s.picker.as_ref().expect("the picker opened");
    assert_eq!(p.kind, PickerKind::Model);
    let labels: Vec<_> = p.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["gemma-3-270m (running)", "it", "broken"]);
    assert_eq!(p.items[1].detail, "instruct · Q4_K_M · 253 MB");
    assert!(p.items[2].detail.starts_with("unusable: not a GGUF"));
    assert_eq!(p.current().unwrap().label, "gemma-3-270m (running)");
}

#[test]
fn a_running_model_from_elsewhere_is_listed_first() {
    let now = Instant::now();
    let mut s = AppState::new();
    let mut m = summary("gemma-3-270m", "/elsewhere/mine.gguf", ModelKind::Base);
    m.file_size = 253_113_024;
    s.handle(AppEvent::Engine(EngineEvent::Loaded(m)), now);
    s.handle(key(KeyCode::F(7)), now);
    let list = vec![choice("it", "/m/it.gguf", ModelKind::Instruct)];
    s.handle(AppEvent::Models(ModelsEvent::Listed(list)), now);
    let p = s.picker.as_ref().unwrap();
    assert_eq!(p.items[0].label, "mine.gguf (running)");
    assert_eq!(
        p.items[0].detail,
        "base · Q4_K_M · 253 MB · from /elsewhere"
    );
    assert_eq!(p.current().unwrap().label, "mine.gguf (running)");
}

#[test]
fn unusable_and_running_models_are_refused() {
    let mut s = listed();
    assert!(pick(&mut s, "broken").is_empty());
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("cannot use broken"));
    s.handle(key(KeyCode::F(7)), Instant::now());
    s.handle(
        AppEvent::Models(ModelsEvent::Listed(vec![choice(
            "gemma-3-270m",
            "/m/base.gguf",
            ModelKind::Base,
        )])),
        Instant::now(),
    );
    assert!(s.handle(key(KeyCode::Enter), Instant::now()).is_empty());
    assert!(s.status.as_ref().unwrap().text.contains("already running"));
    assert!(s.models.switch.is_none());
}

#[test]
fn a_switch_loads_while_the_old_model_keeps_answering_then_swaps_between_replies() {
    let now = Instant::now();
    let mut s = listed();
    let effects = pick(&mut s, "it");
    match effects.as_slice() {
        [Effect::Models(ModelEffect::Load { name, path, .. })] => {
            assert_eq!(name, "it");
            assert_eq!(path, &PathBuf::from("/m/it.gguf"));
        }
        other => panic!("expected a load, got {other:?}"),
    }
    assert!(s.picker.is_none());
    // Progress shows in the status bar; the engine stays idle, so the chat works.
    s.handle(
        switch(SwitchEvent::Progress {
            name: "it".into(),
            fraction: 0.42,
            message: "reading".into(),
        }),
        now,
    );
    assert_eq!(s.engine, EngineStatus::Idle);
    assert_eq!(s.engine_label(), "idle · loading it 42%");
    assert!(s.switch_gauge().is_some());
    // A second switch waits for this one.
    assert!(s.handle(key(KeyCode::F(7)), now).is_empty());
    // Sending while the switch loads is allowed and goes to the old model.
    let effects = send(&mut s, "Hello");
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Generate { .. })),
        "{effects:?}"
    );
    let request = s.chat.running.expect("a reply runs");
    // Loaded in the middle of the reply: no swap until it ends.
    assert!(s
        .handle(switch(SwitchEvent::Ready { name: "it".into() }), now)
        .is_empty());
    assert_eq!(s.engine_label(), "prefill · it after this reply");
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request,
            text: "Hi there".into(),
            context_used: 20,
        }),
        now,
    );
    let effects = s.handle(finished(request), now);
    let commit = effects
        .iter()
        .find_map(|e| match e {
            Effect::Models(ModelEffect::Commit { turns, .. }) => Some(turns.clone()),
            _ => None,
        })
        .expect("the swap follows the reply");
    assert_eq!(commit, [("Hello".to_string(), "Hi there".to_string())]);
    assert_eq!(s.engine_label(), "idle · swapping in it");
    // Asked once only.
    let again = s.handle(
        switch(SwitchEvent::Progress {
            name: "it".into(),
            fraction: 1.0,
            message: "x".into(),
        }),
        now,
    );
    assert!(again.is_empty(), "{again:?}");
    s.handle(
        switch(SwitchEvent::Swapped {
            summary: summary("gemma-3-270m-it", "/m/it.gguf", ModelKind::Instruct),
            context_used: 25,
            restored: 1,
            total_ms: 900.0,
            restore_ms: 40.0,
        }),
        now,
    );
    let model = s.model.as_ref().unwrap();
    assert_eq!(model.name, "gemma-3-270m-it");
    assert_eq!(model.kind.kind, ModelKind::Instruct);
    assert_eq!(s.context_used, 25);
    assert!(s.models.switch.is_none());
    assert_eq!(s.engine_label(), "idle");
    let note = s.chat.messages.last().unwrap();
    assert_eq!(note.role, Role::System);
    assert!(note.text.contains("instruct") && note.text.contains("1 turn carried over"));
}

#[test]
fn a_model_ready_while_idle_swaps_at_once_and_a_new_chat_carries_nothing() {
    let now = Instant::now();
    let mut s = listed();
    s.handle(key(KeyCode::Esc), now);
    assert!(s.picker.is_none());
    send(&mut s, "Hello");
    let request = s.chat.running.unwrap();
    s.handle(finished(request), now);
    // Ctrl-L: a new conversation, so nothing is carried over.
    s.handle(
        AppEvent::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL)),
        now,
    );
    s.handle(key(KeyCode::F(7)), now);
    s.handle(
        AppEvent::Models(ModelsEvent::Listed(vec![choice(
            "it",
            "/m/it.gguf",
            ModelKind::Instruct,
        )])),
        now,
    );
    pick(&mut s, "it");
    let effects = s.handle(switch(SwitchEvent::Ready { name: "it".into() }), now);
    match effects.as_slice() {
        [Effect::Models(ModelEffect::Commit { turns, .. })] => assert!(turns.is_empty()),
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[test]
fn a_failed_switch_keeps_the_old_model_and_says_why() {
    let now = Instant::now();
    let mut s = listed();
    pick(&mut s, "it");
    s.handle(
        switch(SwitchEvent::Failed {
            name: "it".into(),
            error: "/m/it.gguf: not a GGUF file".into(),
        }),
        now,
    );
    assert_eq!(s.model.as_ref().unwrap().name, "gemma-3-270m");
    assert!(s.models.switch.is_none());
    assert_eq!(s.engine, EngineStatus::Idle);
    let err = s.chat.messages.last().unwrap();
    assert_eq!(err.role, Role::Error);
    assert!(
        err.text.contains("not a GGUF file") && err.text.contains("Still running gemma-3-270m"),
        "{}",
        err.text
    );
    // The picker works again.
    assert!(!s.handle(key(KeyCode::F(7)), now).is_empty());
}

#[test]
fn after_a_failed_first_load_a_switch_brings_a_model_up() {
    let now = Instant::now();
    let mut s = AppState::new();
    s.handle(
        AppEvent::Engine(EngineEvent::LoadFailed("broken.gguf: truncated".into())),
        now,
    );
    s.handle(key(KeyCode::F(7)), now);
    let list = vec![choice("it", "/m/it.gguf", ModelKind::Instruct)];
    s.handle(AppEvent::Models(ModelsEvent::Listed(list)), now);
    assert!(matches!(
        pick(&mut s, "it").as_slice(),
        [Effect::Models(ModelEffect::Load { .. })]
    ));
    let effects = s.handle(switch(SwitchEvent::Ready { name: "it".into() }), now);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Models(ModelEffect::Commit { .. })]
    ));
    s.handle(
        switch(SwitchEvent::Swapped {
            summary: summary("gemma-3-270m-it", "/m/it.gguf", ModelKind::Instruct),
            context_used: 0,
            restored: 0,
            total_ms: 300.0,
            restore_ms: 0.0,
        }),
        now,
    );
    assert_eq!(s.engine, EngineStatus::Idle);
    assert_eq!(s.model.as_ref().unwrap().name, "gemma-3-270m-it");
}
