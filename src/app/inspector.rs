//! The sampler inspector's state: the traces of recent replies (bounded) and which token is shown.
use std::collections::VecDeque;

use crate::actors::sampling::TokenTrace;
use crate::sampling::SampleTrace;

/// Replies whose traces are kept.
pub const TRACED_REPLIES: usize = 16;
/// Tokens traced per reply (a trace is ~1 KB).
pub const TRACED_TOKENS: usize = 4096;

/// The traces of one reply, in token order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyTraces {
    pub request: u64,
    pub tokens: Vec<SampleTrace>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspector {
    pub replies: VecDeque<ReplyTraces>,
    pub open: bool,
    /// Index into `replies`.
    pub reply: usize,
    /// Index into that reply's tokens.
    pub token: usize,
    /// Follow the newest token while a reply streams (until the user moves).
    pub follow: bool,
}

impl Inspector {
    pub fn push(&mut self, t: TokenTrace) {
        if self.replies.back().is_none_or(|r| r.request != t.request) {
            if self.replies.len() >= TRACED_REPLIES {
                self.replies.pop_front();
                self.reply = self.reply.saturating_sub(1);
            }
            self.replies.push_back(ReplyTraces {
                request: t.request,
                tokens: Vec::new(),
            });
        }
        let reply = self.replies.back_mut().expect("just pushed");
        if reply.tokens.len() < TRACED_TOKENS {
            reply.tokens.push(t.trace);
        }
        if self.follow {
            self.to_newest();
        }
    }

    pub fn clear(&mut self) {
        *self = Self {
            open: self.open,
            follow: true,
            ..Self::default()
        };
    }

    pub fn to_newest(&mut self) {
        self.reply = self.replies.len().saturating_sub(1);
        self.token = self
            .replies
            .get(self.reply)
            .map_or(0, |r| r.tokens.len().saturating_sub(1));
    }

    /// The trace shown, if any.
    pub fn current(&self) -> Option<(&ReplyTraces, &SampleTrace)> {
        let r = self.replies.get(self.reply)?;
        Some((r, r.tokens.get(self.token)?))
    }

    /// Moves by `delta` tokens within the reply (clamped).
    pub fn move_token(&mut self, delta: isize) {
        self.follow = false;
        let n = self.replies.get(self.reply).map_or(0, |r| r.tokens.len());
        self.token = self
            .token
            .saturating_add_signed(delta)
            .min(n.saturating_sub(1));
    }

    pub fn first_token(&mut self) {
        self.follow = false;
        self.token = 0;
    }

    pub fn last_token(&mut self) {
        self.follow = true;
        let n = self.replies.get(self.reply).map_or(0, |r| r.tokens.len());
        self.token = n.saturating_sub(1);
    }

    /// Moves to an earlier (negative) or later reply, at its first token.
    pub fn move_reply(&mut self, delta: isize) {
        self.follow = false;
        let n = self.replies.len();
        self.reply = self
            .reply
            .saturating_add_signed(delta)
            .min(n.saturating_sub(1));
        self.token = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::{AppEvent, AppState, Effect, Focus};

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
        assert!(s.inspector.open);
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
        assert!(eff.is_empty() && !s.inspector.open);
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
