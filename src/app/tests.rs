//! Unit tests of the state machine (no terminal, no actors).
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::actors::inference::{EngineEvent, ModelSummary, ReplyStats};
use crate::actors::metrics::MetricsSnapshot;
use crate::engine::FinishReason;

fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn type_text(s: &mut AppState, text: &str, now: Instant) {
    for c in text.chars() {
        s.handle(key(KeyCode::Char(c)), now);
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

fn finished(request: u64, reason: FinishReason) -> AppEvent {
    AppEvent::Engine(EngineEvent::Finished {
        request,
        reason,
        stats: ReplyStats {
            prompt_tokens: 5,
            generated_tokens: 3,
            ttft_ms: 120.0,
            prefill_tok_s: 500.0,
            decode_tok_s: 40.0,
            shifted: 0,
            draft_acceptance: None,
        },
        context_used: 42,
    })
}

fn token(request: u64, text: &str) -> AppEvent {
    AppEvent::Engine(EngineEvent::Token {
        request,
        text: text.into(),
        context_used: 0,
    })
}

/// Type `text` and press Enter; returns the request id.
fn send(s: &mut AppState, text: &str, now: Instant) -> u64 {
    type_text(s, text, now);
    let eff = s.handle(key(KeyCode::Enter), now);
    match eff.as_slice() {
        // The user's message is committed to the conversation, then the reply is asked for (the
        // default template sends the message as typed).
        [Effect::StoreMessage(record), Effect::Generate { request, turn, .. }] => {
            assert_eq!(turn.text, text);
            assert_eq!(record.1.text, text);
            *request
        }
        other => panic!("expected Generate, got {other:?}"),
    }
}

#[test]
fn send_flow() {
    let now = Instant::now();
    let mut s = loaded();
    assert_eq!(s.engine, EngineStatus::Idle);
    let req = send(&mut s, "hello", now);
    assert_eq!(s.input_text(), "");
    assert_eq!(s.chat.messages.len(), 2);
    assert_eq!(s.chat.messages[0].role, Role::User);
    assert_eq!(s.chat.messages[0].text, "hello");
    assert_eq!(s.chat.messages[1].role, Role::Assistant);
    assert!(s.chat.messages[1].streaming);
    assert_eq!(s.chat.running, Some(req));

    s.handle(
        AppEvent::Engine(EngineEvent::PrefillStarted {
            request: req,
            prompt_tokens: 5,
        }),
        now,
    );
    assert_eq!(s.engine, EngineStatus::Prefill);
    s.handle(token(req, "Hi"), now);
    s.handle(token(req, " there"), now);
    assert_eq!(s.engine, EngineStatus::Generating);
    assert_eq!(s.chat.messages[1].text, "Hi there");
    match s
        .handle(finished(req, FinishReason::EndOfTurn), now)
        .as_slice()
    {
        [Effect::StoreMessage(record)] => {
            assert_eq!(record.1.text, "Hi there");
            assert_eq!(record.1.decode_tok_s, Some(40.0));
        }
        other => panic!("expected the reply to be stored, got {other:?}"),
    }
    assert!(!s.chat.messages[1].streaming);
    assert_eq!(s.chat.messages[1].text, "Hi there");
    assert_eq!(
        s.chat.messages[1].stats.as_ref().unwrap().generated_tokens,
        3
    );
    assert_eq!(s.context_used, 42);
    assert_eq!(s.last_ttft_ms, Some(120.0));
    assert_eq!(s.engine, EngineStatus::Idle);
    assert_eq!(s.chat.running, None);

    // A second turn gets a new id.
    let req2 = send(&mut s, "again", now);
    assert_ne!(req, req2);
}

#[test]
fn empty_send_does_nothing() {
    let now = Instant::now();
    let mut s = loaded();
    assert!(s.handle(key(KeyCode::Enter), now).is_empty());
    type_text(&mut s, "   ", now);
    assert!(s.handle(key(KeyCode::Enter), now).is_empty());
    assert!(s.chat.messages.is_empty());
}

#[test]
fn send_refused_while_loading_failed_or_generating() {
    let now = Instant::now();
    let mut s = AppState::new();
    type_text(&mut s, "hi", now);
    assert!(s.handle(key(KeyCode::Enter), now).is_empty());
    assert_eq!(s.input_text(), "hi");
    assert!(s.status.is_some());
    assert!(s.chat.messages.is_empty());

    s.handle(
        AppEvent::Engine(EngineEvent::LoadFailed("no such file".into())),
        now,
    );
    assert!(matches!(s.engine, EngineStatus::Failed(_)));
    assert!(s.handle(key(KeyCode::Enter), now).is_empty());
    assert_eq!(s.input_text(), "hi");
    assert!(s.status.as_ref().unwrap().text.contains("no such file"));

    let mut s = loaded();
    send(&mut s, "first", now);
    type_text(&mut s, "second", now);
    assert!(s.handle(key(KeyCode::Enter), now).is_empty());
    assert_eq!(s.input_text(), "second");
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("still being generated"));
    assert_eq!(s.chat.messages.len(), 2);
}

#[test]
fn tokens_only_for_current_request() {
    let now = Instant::now();
    let mut s = loaded();
    let req = send(&mut s, "q", now);
    s.handle(token(req + 100, "stale"), now);
    s.handle(token(req, "fresh"), now);
    assert_eq!(s.chat.messages[1].text, "fresh");
    // A Finished for another request changes nothing.
    s.handle(finished(req + 100, FinishReason::EndOfTurn), now);
    assert!(s.chat.messages[1].streaming);
    assert_eq!(s.chat.running, Some(req));
    s.handle(finished(req, FinishReason::EndOfTurn), now);
    // Late tokens after Finished are ignored.
    s.handle(token(req, "late"), now);
    assert_eq!(s.chat.messages[1].text, "fresh");
}

#[test]
fn cancel_marks_reply_on_finished() {
    let now = Instant::now();
    let mut s = loaded();
    let req = send(&mut s, "tell me a story", now);
    s.handle(token(req, "Once upon"), now);
    assert_eq!(s.handle(key(KeyCode::Esc), now), vec![Effect::Cancel]);
    // Not marked until the engine confirms.
    assert_eq!(s.chat.messages[1].text, "Once upon");
    assert!(s.is_generating());
    s.handle(finished(req, FinishReason::Cancelled), now);
    assert_eq!(s.chat.messages[1].text, "Once upon [cancelled]");
    assert!(!s.chat.messages[1].streaming);
    assert!(!s.is_generating());
    // Esc when idle does nothing.
    assert!(s.handle(key(KeyCode::Esc), now).is_empty());
}

#[test]
fn failure_shows_error_and_returns_to_idle() {
    let now = Instant::now();
    let mut s = loaded();
    let req = send(&mut s, "q", now);
    s.handle(
        AppEvent::Engine(EngineEvent::Failed {
            request: req,
            error: "out of memory".into(),
        }),
        now,
    );
    assert_eq!(s.engine, EngineStatus::Idle);
    assert!(!s.is_generating());
    let last = s.chat.messages.last().unwrap();
    assert_eq!(last.role, Role::Error);
    assert_eq!(last.text, "out of memory");
    assert!(s.chat.messages.iter().all(|m| !m.streaming));
    // The empty assistant placeholder was dropped.
    assert_eq!(s.chat.messages.len(), 2);
    send(&mut s, "retry", now);
}

#[test]
fn ctrl_c_double_press_quits() {
    let t0 = Instant::now();
    let mut s = loaded();
    assert!(s.handle(ctrl('c'), t0).is_empty());
    assert!(!s.should_quit);
    assert!(s.status.as_ref().unwrap().text.contains("Ctrl-C again"));
    let eff = s.handle(ctrl('c'), t0 + Duration::from_millis(800));
    assert_eq!(eff, vec![Effect::Quit]);
    assert!(s.should_quit);
}

#[test]
fn ctrl_c_single_or_slow_presses_do_not_quit() {
    let t0 = Instant::now();
    let mut s = loaded();
    s.handle(ctrl('c'), t0);
    assert!(!s.should_quit);
    let eff = s.handle(ctrl('c'), t0 + Duration::from_secs(3));
    assert!(eff.is_empty());
    assert!(!s.should_quit);
    // The status message has gone once the window passed.
    s.handle(AppEvent::Resize(80, 24), t0 + Duration::from_secs(6));
    assert!(s.status.is_none());
}

#[test]
fn first_ctrl_c_cancels_a_running_generation() {
    let now = Instant::now();
    let mut s = loaded();
    send(&mut s, "q", now);
    assert_eq!(s.handle(ctrl('c'), now), vec![Effect::Cancel]);
    assert!(!s.should_quit);
    assert_eq!(
        s.handle(ctrl('c'), now + Duration::from_millis(100)),
        vec![Effect::Cancel, Effect::Quit]
    );
}

#[test]
fn q_quits_only_from_chat() {
    let now = Instant::now();
    let mut s = loaded();
    assert_eq!(s.focus, Focus::Input);
    assert!(s.handle(key(KeyCode::Char('q')), now).is_empty());
    assert_eq!(s.input_text(), "q");
    assert!(!s.should_quit);
    s.handle(key(KeyCode::Tab), now);
    assert_eq!(s.focus, Focus::Chat);
    assert_eq!(s.handle(key(KeyCode::Char('q')), now), vec![Effect::Quit]);
    assert!(s.should_quit);
}

#[test]
fn help_toggle() {
    let now = Instant::now();
    let mut s = loaded();
    s.handle(key(KeyCode::F(1)), now);
    assert!(s.is_open(crate::app::Layer::Help));
    s.handle(key(KeyCode::F(1)), now);
    assert!(!s.is_open(crate::app::Layer::Help));
    // '?' types in the input...
    s.handle(key(KeyCode::Char('?')), now);
    assert!(!s.is_open(crate::app::Layer::Help));
    assert_eq!(s.input_text(), "?");
    // ...and toggles help elsewhere.
    s.handle(key(KeyCode::Tab), now);
    s.handle(key(KeyCode::Char('?')), now);
    assert!(s.is_open(crate::app::Layer::Help));
    // Any key closes the overlay without acting (q does not quit here).
    assert!(s.handle(key(KeyCode::Char('q')), now).is_empty());
    assert!(!s.is_open(crate::app::Layer::Help));
    assert!(!s.should_quit);
}

#[test]
fn focus_cycle_includes_log_only_when_shown() {
    let now = Instant::now();
    let mut s = loaded();
    s.handle(key(KeyCode::Tab), now);
    s.handle(key(KeyCode::Tab), now);
    assert_eq!(s.focus, Focus::Input);
    s.handle(ctrl('g'), now);
    assert!(s.log.open);
    s.handle(
        AppEvent::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
        now,
    );
    assert_eq!(s.focus, Focus::Log);
    s.handle(ctrl('g'), now);
    assert!(!s.log.open);
    assert_eq!(s.focus, Focus::Chat);
}

#[test]
fn newline_keys_insert_newlines() {
    let now = Instant::now();
    let mut s = loaded();
    type_text(&mut s, "a", now);
    s.handle(
        AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)),
        now,
    );
    type_text(&mut s, "b", now);
    s.handle(
        AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT)),
        now,
    );
    type_text(&mut s, "c", now);
    assert_eq!(s.input_text(), "a\nb\nc");
    assert!(s.chat.messages.is_empty());
}

#[test]
fn clear_conversation_resets() {
    let now = Instant::now();
    let mut s = loaded();
    let req = send(&mut s, "q", now);
    s.handle(finished(req, FinishReason::EndOfTurn), now);
    assert_eq!(s.handle(ctrl('l'), now), vec![Effect::ResetConversation]);
    assert!(s.chat.messages.is_empty());
    assert_eq!(s.context_used, 0);
    // While generating, it cancels first.
    let req = send(&mut s, "q2", now);
    assert_eq!(
        s.handle(ctrl('l'), now),
        vec![Effect::Cancel, Effect::ResetConversation]
    );
    assert!(!s.is_generating());
    // The late Finished of the old request is ignored.
    s.handle(finished(req, FinishReason::Cancelled), now);
    assert!(s.chat.messages.is_empty());
}

#[test]
fn paste_inserts_text() {
    let now = Instant::now();
    let mut s = loaded();
    s.handle(key(KeyCode::Tab), now);
    s.handle(AppEvent::Paste("line one\r\nline two".into()), now);
    assert_eq!(s.focus, Focus::Input);
    assert_eq!(s.input_text(), "line one\nline two");
    assert!(!s
        .status
        .as_ref()
        .is_some_and(|m| m.text.contains("paste cut")));
}

#[test]
fn huge_paste_is_capped() {
    let now = Instant::now();
    let mut s = loaded();
    // 3 MiB with many lines and multi-byte characters.
    let line = "héllo wörld ".repeat(20) + "\n";
    let huge = line.repeat((3 << 20) / line.len() + 1);
    let start = Instant::now();
    s.handle(AppEvent::Paste(huge), now);
    assert!(start.elapsed() < Duration::from_secs(10));
    let len = s.input_text().len();
    assert!(len <= MAX_INPUT_BYTES, "{len}");
    assert!(len > MAX_INPUT_BYTES - 1024, "{len}");
    assert!(s.status.as_ref().unwrap().text.contains("paste cut"));
    // The input is full: a further paste adds nothing and does not panic.
    s.handle(AppEvent::Paste("more".into()), now);
    assert!(s.input_text().len() <= MAX_INPUT_BYTES);
}

#[test]
fn metrics_keep_a_window() {
    let now = Instant::now();
    let mut s = loaded();
    for i in 0..(200 * 4) {
        s.handle(
            AppEvent::Metrics(MetricsSnapshot {
                t: i as f64 * 0.25,
                token_rate: 40.0,
                last_ttft_ms: Some(99.0),
                rss_bytes: 400 << 20,
                cpu_percent: 150.0,
                total_tokens: i,
            }),
            now,
        );
    }
    let first = s.metrics.token_rate.front().unwrap().0;
    let last = s.metrics.token_rate.back().unwrap().0;
    assert!(last - first <= METRICS_WINDOW + 0.01);
    assert!(last - first >= METRICS_WINDOW - 1.0);
    assert_eq!(s.metrics.rss_mb.back().unwrap().1, 400.0);
    assert_eq!(s.last_ttft_ms, Some(99.0));
}

const METRICS_WINDOW: f64 = super::state::METRICS_WINDOW_S;

#[test]
fn log_ring_buffer() {
    let now = Instant::now();
    let mut s = AppState::new();
    for i in 0..1000 {
        s.handle(
            AppEvent::Log(LogLine::new(tracing::Level::INFO, "t", format!("m{i}"))),
            now,
        );
    }
    assert_eq!(s.log.lines.len(), super::state::LOG_CAPACITY);
    assert_eq!(s.log.lines.back().unwrap().message, "m999");
}

#[test]
fn scroll_state_follows_and_unfollows() {
    let mut sc = ScrollState::default();
    assert_eq!(sc.resolve(100, 10), 90);
    sc.up(5);
    assert!(!sc.follow);
    assert_eq!(sc.resolve(120, 10), 85);
    sc.down(1000);
    assert!(sc.follow);
    assert_eq!(sc.resolve(130, 10), 120);
    sc.to_top();
    assert_eq!(sc.resolve(130, 10), 0);
    // Nothing to scroll: stays following.
    let mut sc = ScrollState::default();
    sc.resolve(3, 10);
    sc.up(1);
    assert!(sc.follow);
}

#[test]
fn chat_scroll_keys_use_focus() {
    let now = Instant::now();
    let mut s = loaded();
    s.chat.scroll.resolve(100, 10);
    s.handle(key(KeyCode::Tab), now); // chat
    s.handle(key(KeyCode::Up), now);
    assert!(!s.chat.scroll.follow);
    s.handle(key(KeyCode::End), now);
    assert!(s.chat.scroll.follow);
    s.handle(key(KeyCode::PageUp), now);
    assert_eq!(s.chat.scroll.top, 81);
}

#[test]
fn config_reloads_apply_the_profile_and_errors_keep_it() {
    use crate::actors::config::ConfigEvent;
    let now = Instant::now();
    let mut s = loaded();
    let mut config = crate::config::Config::defaults();
    let balanced = config.profiles.get_mut("balanced").unwrap();
    balanced.sampler.temperature = 0.3;
    let params = balanced.sampler.clone();
    let effects = s.handle(
        AppEvent::Config(ConfigEvent::Reloaded {
            config: std::sync::Arc::new(config),
            templates: std::sync::Arc::new(crate::config::TemplateSet::builtin()),
            keymap: std::sync::Arc::new(Keymap::default()),
            theme: crate::config::theme::Theme::default(),
        }),
        now,
    );
    assert_eq!(effects, vec![Effect::ConfigureSampler(params.clone())]);
    assert_eq!(s.sampler.params, params);
    assert!(s.status.as_ref().unwrap().text.contains("config reloaded"));
    let effects = s.handle(
        AppEvent::Config(ConfigEvent::Invalid("profiles.toml:2:15: bad".into())),
        now,
    );
    assert!(effects.is_empty());
    assert_eq!(s.sampler.params, params, "the last good settings stay");
    assert!(s
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("profiles.toml:2:15"));
}

#[test]
fn the_context_count_grows_while_a_reply_streams() {
    let now = Instant::now();
    let mut s = loaded();
    let r = send(&mut s, "Hi", now);
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request: r,
            text: "Hel".into(),
            context_used: 17,
        }),
        now,
    );
    assert_eq!(s.context_used, 17);
    // A late token of an earlier request does not move it.
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request: r + 5,
            text: "x".into(),
            context_used: 99,
        }),
        now,
    );
    assert_eq!(s.context_used, 17);
}
