//! Unit tests of profile and template switching, the pickers, and stored conversations.
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::picker::PickerKind;
use super::*;
use crate::actors::conversations::ConversationEvent;
use crate::actors::inference::{EngineEvent, ModelSummary};
use crate::conversations::{ConversationMeta, StoredMessage, StoredRole};

fn press(s: &mut AppState, code: KeyCode, m: KeyModifiers) -> Vec<Effect> {
    s.handle(AppEvent::Key(KeyEvent::new(code, m)), Instant::now())
}

fn typed(s: &mut AppState, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn loaded() -> AppState {
    let mut s = AppState::new();
    s.handle(
        AppEvent::Engine(EngineEvent::Loaded(ModelSummary {
            name: "gemma-3-270m".into(),
            context_size: 4096,
            ..Default::default()
        })),
        Instant::now(),
    );
    s
}

/// Sends `text` and returns the Generate effect's (text, system, max_tokens).
fn send(s: &mut AppState, text: &str) -> (String, Option<String>, usize) {
    typed(s, text);
    let effects = press(s, KeyCode::Enter, KeyModifiers::NONE);
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Generate { turn, limits, .. } => {
                Some((turn.text, turn.system, limits.max_tokens))
            }
            _ => None,
        })
        .expect("a Generate effect")
}

#[test]
fn a_key_per_builtin_profile_switches_sampler_template_and_length() {
    let mut s = loaded();
    let coding = crate::config::Config::defaults().profiles["coding"].clone();
    let effects = press(&mut s, KeyCode::Char('6'), KeyModifiers::ALT);
    assert_eq!(
        effects,
        vec![Effect::ConfigureSampler(coding.sampler.clone())]
    );
    assert_eq!(s.profiles.active, "coding");
    assert_eq!(s.sampler.params, coding.sampler);
    let (text, system, max_tokens) = send(&mut s, "Reverse a string");
    assert!(text.contains("Write the answer in"), "{text}");
    assert!(text.ends_with("Reverse a string"), "{text}");
    assert_eq!(max_tokens, coding.max_tokens);
    let expected_system = coding
        .system_prompt()
        .map(str::to_string)
        .unwrap_or_else(|| "You are a careful programmer.".into());
    assert!(
        system
            .as_deref()
            .unwrap()
            .starts_with(&expected_system[..20]),
        "{system:?}"
    );
    // The chat shows what was typed, not the rendered template.
    assert_eq!(s.chat.messages[0].text, "Reverse a string");
}

#[test]
fn fuzzy_profile_picker_and_template_picker() {
    let mut s = loaded();
    press(&mut s, KeyCode::Char('p'), KeyModifiers::CONTROL);
    assert_eq!(s.picker.as_ref().unwrap().kind, PickerKind::Profile);
    assert_eq!(s.focus, Focus::Input, "the picker is modal, focus stays");
    typed(&mut s, "crtv");
    let effects = press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert!(s.picker.is_none());
    assert_eq!(s.profiles.active, "creative");
    assert!(matches!(effects.as_slice(), [Effect::ConfigureSampler(_)]));

    press(&mut s, KeyCode::Char('t'), KeyModifiers::CONTROL);
    typed(&mut s, "conc");
    press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(s.profiles.template_name(), "concise");
    let (text, _, _) = send(&mut s, "Why is the sky blue?");
    assert_eq!(
        text,
        "Answer in at most two sentences.\n\nWhy is the sky blue?"
    );

    // Esc closes a picker without changing anything.
    press(&mut s, KeyCode::Char('p'), KeyModifiers::CONTROL);
    typed(&mut s, "speed");
    press(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.picker.is_none());
    assert_eq!(s.profiles.active, "creative");
}

#[test]
fn a_missing_template_keeps_the_message_and_says_why() {
    let mut s = loaded();
    s.profiles.template_override = Some("gone".into());
    typed(&mut s, "hello");
    let effects = press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(s.input_text(), "hello");
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("unknown template `gone`"));
}

#[test]
fn save_as_writes_a_profile_and_makes_it_active() {
    let mut s = loaded();
    press(&mut s, KeyCode::F(2), KeyModifiers::NONE);
    press(&mut s, KeyCode::Right, KeyModifiers::NONE); // temperature up
    let temperature = s.sampler.params.temperature;
    press(&mut s, KeyCode::Char('s'), KeyModifiers::NONE);
    let picker = s.picker.as_ref().unwrap();
    assert_eq!(picker.kind, PickerKind::SaveProfileAs);
    for _ in 0..picker.query.len() {
        press(&mut s, KeyCode::Backspace, KeyModifiers::NONE);
    }
    typed(&mut s, "warm");
    let effects = press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    let [Effect::SaveProfile { name, profile }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(name, "warm");
    assert_eq!(profile.sampler.temperature, temperature);
    let mut config = (*s.profiles.config).clone();
    config.profiles.insert("warm".into(), (**profile).clone());
    s.handle(
        AppEvent::ProfileSaved {
            name: "warm".into(),
            result: Ok(std::sync::Arc::new(config)),
        },
        Instant::now(),
    );
    assert_eq!(s.profiles.active, "warm");
    // A bad name is refused before anything is written.
    press(&mut s, KeyCode::Char('s'), KeyModifiers::NONE);
    typed(&mut s, " bad/name");
    assert!(press(&mut s, KeyCode::Enter, KeyModifiers::NONE).is_empty());
}

fn stored(role: StoredRole, text: &str) -> StoredMessage {
    StoredMessage {
        role,
        text: text.into(),
        prompt: None,
        system: None,
        at_ms: 1,
        decode_tok_s: None,
    }
}

fn meta(id: u64, title: &str) -> ConversationMeta {
    ConversationMeta {
        id,
        title: title.into(),
        created_ms: 1,
        updated_ms: 1,
        profile: "balanced".into(),
        model: "m".into(),
        messages: 2,
    }
}

#[test]
fn messages_join_one_conversation_and_a_loaded_one_is_restored() {
    let mut s = loaded();
    typed(&mut s, "first");
    let effects = press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    let Effect::StoreMessage(first) = &effects[0] else {
        panic!("{effects:?}")
    };
    let id = first.0.id;
    assert_eq!(s.conversations.open.as_ref().unwrap().title, "first");

    let effects = s.handle(
        AppEvent::Conversations(ConversationEvent::Loaded {
            meta: meta(7, "Old chat"),
            messages: vec![
                stored(StoredRole::User, "q1"),
                stored(StoredRole::Assistant, "a1"),
            ],
        }),
        Instant::now(),
    );
    // The running reply stops; the engine gets the stored turns back.
    assert_eq!(
        effects,
        vec![
            Effect::Cancel,
            Effect::RestoreConversation {
                turns: vec![("q1".into(), "a1".into())],
                system: None,
                dialogue: s.dialogue(&Default::default()),
            }
        ]
    );
    assert_eq!(s.chat.messages.len(), 2);
    assert_eq!(s.conversations.open.as_ref().unwrap().id, 7);
    assert_ne!(id, 7);
    // The next message goes to the loaded conversation.
    typed(&mut s, "q2");
    let effects = press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    let Effect::StoreMessage(next) = &effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(next.0.id, 7);
    // A new conversation (Ctrl-L) starts a new id at its first message.
    s.chat.running = None;
    press(&mut s, KeyCode::Char('l'), KeyModifiers::CONTROL);
    assert!(s.conversations.open.is_none());
}

#[test]
fn conversations_picker_switches_renames_and_deletes() {
    let mut s = loaded();
    assert_eq!(
        press(&mut s, KeyCode::Char('o'), KeyModifiers::CONTROL),
        vec![Effect::ListConversations]
    );
    let list = vec![meta(2, "Second"), meta(1, "First")];
    s.handle(
        AppEvent::Conversations(ConversationEvent::Listed(list.clone())),
        Instant::now(),
    );
    assert_eq!(s.picker.as_ref().unwrap().kind, PickerKind::Conversation);
    press(&mut s, KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        press(&mut s, KeyCode::Enter, KeyModifiers::NONE),
        vec![Effect::LoadConversation(1)]
    );
    // Delete needs two presses on the same item.
    press(&mut s, KeyCode::Char('o'), KeyModifiers::CONTROL);
    s.handle(
        AppEvent::Conversations(ConversationEvent::Listed(list)),
        Instant::now(),
    );
    assert!(press(&mut s, KeyCode::Char('d'), KeyModifiers::CONTROL).is_empty());
    assert_eq!(
        press(&mut s, KeyCode::Char('d'), KeyModifiers::CONTROL),
        vec![Effect::DeleteConversation(2)]
    );
    // Rename: the title is edited in a prompt.
    press(&mut s, KeyCode::Char('r'), KeyModifiers::CONTROL);
    assert_eq!(
        s.picker.as_ref().unwrap().kind,
        PickerKind::RenameConversation
    );
    typed(&mut s, "!");
    assert_eq!(
        press(&mut s, KeyCode::Enter, KeyModifiers::NONE),
        vec![Effect::RenameConversation {
            id: 2,
            title: "Second!".into()
        }]
    );
}
