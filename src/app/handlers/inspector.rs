//! The dashboard-level side of `app::inspector`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/inspector.rs`, which imports nothing
//! of `AppState`.

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::actors::sampling::TokenTrace;
    use crate::app::inspector::{TRACED_REPLIES, TRACED_TOKENS};
    use crate::app::{AppEvent, AppState, Effect, Focus};
    use crate::sampling::SampleTrace;

    fn key(code: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn trace(request: u64, token: u32) -> AppEvent {
        AppEvent::Trace(TokenTrace {
            request,
            trace: SampleTrace {
                token,
                token_text: format!("t{token}"),
                prob: 0.5,
                before: vec![],
                after: vec![],
                entropy_before: 1.0,
                entropy_after: 0.5,
                candidates: 3,
                temperature: 0.8,
                mu: None,
                surprise: 1.0,
            },
        })
    }

    #[test]
    fn traces_are_grouped_by_reply_and_navigated_with_keys() {
        let now = Instant::now();
        let mut s = AppState::new();
        for t in 0..5 {
            s.handle(trace(1, t), now);
        }
        for t in 10..13 {
            s.handle(trace(2, t), now);
        }
        assert_eq!(s.inspector.replies.len(), 2);
        s.handle(key(KeyCode::F(3)), now);
        assert!(s.is_open(crate::app::Layer::Inspector));
        // Opens on the newest token.
        assert_eq!(s.inspector.current().unwrap().1.token, 12);
        s.handle(key(KeyCode::Left), now);
        assert_eq!(s.inspector.current().unwrap().1.token, 11);
        s.handle(key(KeyCode::Up), now);
        assert_eq!(s.inspector.current().unwrap().1.token, 0);
        s.handle(key(KeyCode::End), now);
        assert_eq!(s.inspector.current().unwrap().1.token, 4);
        for _ in 0..10 {
            s.handle(key(KeyCode::Right), now);
        }
        assert_eq!(s.inspector.current().unwrap().1.token, 4, "clamped");
        // Modal: typing does not reach the input, Esc closes without cancelling anything.
        s.handle(key(KeyCode::Char('x')), now);
        assert_eq!(s.input_text(), "");
        let eff = s.handle(key(KeyCode::Esc), now);
        assert!(eff.is_empty() && !s.is_open(crate::app::Layer::Inspector));
        assert_eq!(s.focus, Focus::Input);
        // A new conversation forgets the traces.
        let eff = s.handle(
            AppEvent::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL)),
            now,
        );
        assert!(eff.contains(&Effect::ResetConversation));
        assert!(s.inspector.replies.is_empty());
    }

    #[test]
    fn storage_is_bounded() {
        let now = Instant::now();
        let mut s = AppState::new();
        for r in 0..(TRACED_REPLIES as u64 + 5) {
            s.handle(trace(r, 0), now);
        }
        assert_eq!(s.inspector.replies.len(), TRACED_REPLIES);
        for t in 0..(TRACED_TOKENS as u32 + 10) {
            s.handle(trace(999, t), now);
        }
        assert_eq!(
            s.inspector.replies.back().unwrap().tokens.len(),
            TRACED_TOKENS
        );
    }
}
