//! Rendering tests on ratatui's TestBackend: content at a normal size, no panic at any small size,
//! and a help overlay that documents every binding of the keymap.
mod common;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gemma_tui::actors::inference::{EngineEvent, ModelSummary, ReplyStats};
use gemma_tui::actors::metrics::MetricsSnapshot;
use gemma_tui::app::{AppEvent, AppState, Effect, Keymap, LogLine};
use gemma_tui::engine::FinishReason;

use common::{key, render};

/// A state with a model, one finished exchange, one streaming reply, metrics and logs.
fn busy_state() -> AppState {
    let now = Instant::now();
    let mut s = AppState::new();
    s.handle(
        AppEvent::Engine(EngineEvent::Loaded(ModelSummary {
            name: "gemma-3-270m-q4".into(),
            context_size: 4096,
            ..Default::default()
        })),
        now,
    );
    let send = |s: &mut AppState, text: &str| -> u64 {
        s.handle(AppEvent::Paste(text.into()), now);
        match s.handle(key(KeyCode::Enter), now).as_slice() {
            [Effect::StoreMessage(_), Effect::Generate { request, .. }] => *request,
            other => panic!("{other:?}"),
        }
    };
    let r1 = send(&mut s, "What is the capital of France?");
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request: r1,
            text: "The capital of France is Paris.".into(),
            context_used: 120,
        }),
        now,
    );
    s.handle(
        AppEvent::Engine(EngineEvent::Finished {
            request: r1,
            reason: FinishReason::EndOfTurn,
            stats: ReplyStats {
                prompt_tokens: 12,
                generated_tokens: 8,
                ttft_ms: 87.0,
                prefill_tok_s: 640.0,
                decode_tok_s: 48.5,
                shifted: 0,
                draft_acceptance: Some(0.6),
            },
            context_used: 123,
        }),
        now,
    );
    let r2 = send(&mut s, "And of Italy?");
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request: r2,
            text: "Rome".into(),
            // The streaming reply counts: prompt and reply so far.
            context_used: 140,
        }),
        now,
    );
    for i in 0..200 {
        s.handle(
            AppEvent::Metrics(MetricsSnapshot {
                t: f64::from(i) * 0.25,
                token_rate: 40.0 + f64::from(i % 7),
                last_ttft_ms: Some(87.0),
                rss_bytes: (380 + i as u64 / 4) << 20,
                cpu_percent: 150.0,
                total_tokens: i as u64,
            }),
            now,
        );
    }
    for i in 0..30 {
        s.handle(
            AppEvent::Log(LogLine::new(
                tracing::Level::INFO,
                "gemma_tui::engine",
                format!("step {i}"),
            )),
            now,
        );
    }
    s
}

#[test]
fn renders_conversation_status_and_charts() {
    let mut s = busy_state();
    let screen = render(&mut s, 120, 40);
    for needle in [
        "What is the capital of France?",
        "The capital of France is Paris.",
        "And of Italy?",
        "Rome▍",
        "You",
        "Gemma",
        // How the model is prompted (a base model: the dialogue transcript).
        "gemma-3-270m-q4 · base",
        "ctx 140/4096",
        "generating",
        "tok/s",
        "tokens/s",
        "ttft 87 ms",
        // Drafting's acceptance rate, next to the token rate.
        "48.5 tok/s · draft 60% kept",
        "memory",
        "cpu",
        "Enter send",
        "Alt-Enter",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing from\n{screen}");
    }
    // The log pane is hidden until Ctrl-G.
    assert!(!screen.contains("step 29"));
    s.handle(
        AppEvent::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)),
        Instant::now(),
    );
    let screen = render(&mut s, 120, 40);
    assert!(screen.contains("step 29"), "log missing from\n{screen}");
}

#[test]
fn narrow_terminal_drops_the_right_column() {
    let mut s = busy_state();
    let screen = render(&mut s, 60, 20);
    assert!(screen.contains("Rome"));
    assert!(!screen.contains("tokens/s"));
    assert!(screen.contains("ctx 140/4096"));
}

#[test]
fn never_panics_at_small_sizes() {
    let mut busy = busy_state();
    let mut empty = AppState::new();
    for w in 1..=60u16 {
        for h in 1..=20u16 {
            render(&mut busy, w, h);
            render(&mut empty, w, h);
        }
    }
    // Help and log shown too.
    busy.layers.open(gemma_tui::app::Layer::Help);
    busy.log.open = true;
    for w in 1..=60u16 {
        for h in 1..=20u16 {
            render(&mut busy, w, h);
        }
    }
    for (w, h) in [(0, 0), (0, 10), (10, 0), (1000, 1), (1, 300), (300, 120)] {
        render(&mut busy, w, h);
    }
}

#[test]
fn scrolled_chat_keeps_its_place_while_streaming() {
    let now = Instant::now();
    let mut s = busy_state();
    let request = s.chat.running.expect("streaming");
    for i in 0..100 {
        s.handle(
            AppEvent::Engine(EngineEvent::Token {
                request,
                text: format!("\nline {i}"),
                context_used: 0,
            }),
            now,
        );
    }
    let screen = render(&mut s, 120, 40);
    assert!(screen.contains("line 99▍"), "not following:\n{screen}");
    // Focus the chat and scroll up a page: new tokens no longer move the view.
    s.handle(key(KeyCode::Tab), now);
    s.handle(key(KeyCode::PageUp), now);
    let before = render(&mut s, 120, 40);
    assert!(!before.contains("line 99"));
    s.handle(
        AppEvent::Engine(EngineEvent::Token {
            request,
            text: "\nline 100".into(),
            context_used: 0,
        }),
        now,
    );
    let after = render(&mut s, 120, 40);
    assert!(!after.contains("line 100"));
    s.handle(key(KeyCode::End), now);
    let bottom = render(&mut s, 120, 40);
    assert!(bottom.contains("line 100▍"));
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut s = busy_state();
    s.handle(key(KeyCode::F(1)), Instant::now());
    assert!(s.is_open(gemma_tui::app::Layer::Help));
    // The help scrolls when it is taller than the screen: page through it, as a user would.
    let mut screen = String::new();
    for _ in 0..6 {
        screen.push_str(&render(&mut s, 160, 40));
        s.handle(key(KeyCode::PageDown), Instant::now());
        assert!(
            s.is_open(gemma_tui::app::Layer::Help),
            "paging keeps the help open"
        );
    }
    s.handle(key(KeyCode::Char('x')), Instant::now());
    assert!(!s.is_open(gemma_tui::app::Layer::Help) && s.help.scroll == 0);
    let bindings = Keymap::default().bindings();
    assert!(!bindings.is_empty());
    for (ctx, label, action) in bindings {
        assert!(
            screen.contains(action.description()),
            "{:?} ({}) missing from help:\n{screen}",
            action.description(),
            action.name()
        );
        assert!(screen.contains(&label), "key {label} missing from help");
        assert!(
            screen.contains(ctx.name()),
            "context {} missing",
            ctx.name()
        );
    }
}

#[test]
fn huge_paste_is_capped_and_keeps_rendering() {
    let now = Instant::now();
    for text in ["word ".repeat(1 << 20), "a line of text\n".repeat(1 << 17)] {
        let mut s = busy_state();
        s.handle(AppEvent::Paste(text), now);
        for _ in 0..3 {
            let screen = render(&mut s, 120, 40);
            assert!(screen.contains("Message"));
        }
        s.handle(key(KeyCode::Char('x')), now);
        render(&mut s, 120, 40);
        assert!(s.input_text().len() <= gemma_tui::app::MAX_INPUT_BYTES);
    }
}

#[test]
fn loading_shows_a_gauge_with_the_fetch_message() {
    use gemma_tui::actors::inference::EngineEvent;
    let mut state = gemma_tui::app::AppState::new();
    state.handle(
        gemma_tui::app::AppEvent::Engine(EngineEvent::LoadProgress {
            fraction: 0.42,
            message: "downloading part 2 of 4".into(),
        }),
        std::time::Instant::now(),
    );
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal
        .draw(|f| gemma_tui::ui::draw(f, &mut state))
        .unwrap();
    let text = common::buffer_text(terminal.backend().buffer());
    assert!(text.contains("42% downloading part 2 of 4"), "{text}");
    assert!(text.contains("loading 42%"), "{text}");
}

/// Every key hint on screen comes from the keymap in use: rebound in a keymap.toml, the bench
/// and A/B footers, the inspector's, the RAG pane's title and the status messages show the new
/// keys, not the defaults.
#[test]
fn key_hints_follow_a_rebound_keymap() {
    let user = r#"
[global]
toggle_ab = ["F9"]
toggle_rag_pane = ["F11"]
clear_conversation = ["Ctrl-N"]

[bench]
bench_cancel = ["x"]
toggle_bench = ["q"]

[ab]
ab_start = ["s"]

[inspector]
toggle_inspector = ["Backspace"]
"#;
    let keymap = gemma_tui::config::keymap::parse_keymap("keymap.toml", Some(user)).unwrap();
    let now = Instant::now();
    let mut s = AppState::with_keymap(keymap);
    s.apply(gemma_tui::app::Action::ToggleBench, now);
    let text = render(&mut s, 140, 40);
    assert!(text.contains("x cancel"), "{text}");
    assert!(text.contains("q close"), "{text}");
    assert!(!text.contains("c cancel"), "{text}");
    s.apply(gemma_tui::app::Action::ToggleBench, now);

    s.apply(gemma_tui::app::Action::ToggleAb, now);
    let text = render(&mut s, 140, 40);
    assert!(text.contains("open this with F9"), "{text}");
    assert!(text.contains("press s."), "{text}");
    assert!(text.contains("s stream"), "{text}");
    s.apply(gemma_tui::app::Action::ToggleAb, now);

    s.apply(gemma_tui::app::Action::ToggleInspector, now);
    let text = render(&mut s, 140, 40);
    assert!(text.contains("Backspace closes"), "{text}");
    s.apply(gemma_tui::app::Action::ToggleInspector, now);

    s.apply(gemma_tui::app::Action::ToggleRagPane, now);
    let text = render(&mut s, 140, 40);
    assert!(text.contains("RAG: last prompt (F11)"), "{text}");
    assert!(!text.contains("(F6)"), "{text}");

    // A status message: the context filled up during a reply.
    s.handle(
        AppEvent::Engine(EngineEvent::Loaded(ModelSummary::default())),
        now,
    );
    s.handle(AppEvent::Paste("hello".into()), now);
    let request = match s.handle(key(KeyCode::Enter), now).as_slice() {
        [.., Effect::Generate { request, .. }] => *request,
        other => panic!("{other:?}"),
    };
    s.handle(
        AppEvent::Engine(EngineEvent::Finished {
            request,
            reason: FinishReason::ContextFull,
            stats: ReplyStats::default(),
            context_used: 4096,
        }),
        now,
    );
    let status = s
        .status
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains("Ctrl-N starts a new conversation"),
        "{status}"
    );
}
