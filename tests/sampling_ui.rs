//! The sampler pane and the inspector rendered on ratatui's TestBackend.
mod common;
use std::time::Instant;

use crossterm::event::KeyCode;
use gemma_tui::actors::sampling::TokenTrace;
use gemma_tui::app::{AppEvent, AppState};
use gemma_tui::sampling::{SampleTrace, TraceCandidate};

use common::{key, render};

fn cand(id: u32, text: &str, prob: f32) -> TraceCandidate {
    TraceCandidate {
        id,
        text: text.into(),
        prob,
    }
}

fn traced_state() -> AppState {
    let mut s = AppState::new();
    for (i, word) in ["Paris", "\n"].iter().enumerate() {
        s.handle(
            AppEvent::Trace(TokenTrace {
                request: 1,
                trace: SampleTrace {
                    token: i as u32,
                    token_text: word.to_string(),
                    prob: 0.61,
                    before: vec![cand(0, "Paris", 0.52), cand(9, "Lyon", 0.2)],
                    after: vec![cand(0, "Paris", 0.61), cand(9, "Lyon", 0.25)],
                    entropy_before: 2.5,
                    entropy_after: 1.25,
                    candidates: 7,
                    temperature: 0.74,
                    mu: Some(9.5),
                    surprise: 0.71,
                },
            }),
            Instant::now(),
        );
    }
    s
}

#[test]
fn sampler_pane_shows_the_chain_and_parameters() {
    let mut s = AppState::new();
    s.handle(key(KeyCode::F(2)), Instant::now());
    let screen = render(&mut s, 120, 40);
    for needle in [
        "Sampler", "top_k", "min_p", "dist", "temp", "0.80", "top-p", "0.95",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
    // An edit shows at once.
    s.handle(key(KeyCode::Right), Instant::now());
    assert!(render(&mut s, 120, 40).contains("0.85"));
}

#[test]
fn inspector_shows_candidates_entropy_temperature_and_mu() {
    let mut s = traced_state();
    s.handle(key(KeyCode::F(3)), Instant::now());
    let screen = render(&mut s, 120, 40);
    for needle in [
        "Sampler inspector",
        "token 2/2",
        "⏎",
        "before the chain",
        "after the chain",
        "Lyon",
        "61.00%",
        "2.50 → 1.25 bits",
        "0.740",
        "9.50 bits",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
    s.handle(key(KeyCode::Left), Instant::now());
    assert!(render(&mut s, 120, 40).contains("token 1/2"));
}

#[test]
fn never_panics_at_small_sizes_with_everything_shown() {
    let mut s = traced_state();
    s.sampler.open = true;
    s.log.open = true;
    s.layers.open(gemma_tui::app::Layer::Inspector);
    for w in 1..=70u16 {
        for h in 1..=24u16 {
            render(&mut s, w, h);
        }
    }
    s.layers.close(gemma_tui::app::Layer::Inspector);
    for w in (1..=130u16).step_by(7) {
        for h in 1..=45u16 {
            render(&mut s, w, h);
        }
    }
}
