//! The sampler inspector's state: the traces of recent replies (bounded) and which token is shown.
use std::collections::VecDeque;

use super::action::Action;
use super::outcome::{Ctx, Outcome};
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
    /// Index into `replies`.
    pub reply: usize,
    /// Index into that reply's tokens.
    pub token: usize,
    /// Follow the newest token while a reply streams (until the user moves).
    pub follow: bool,
}

impl Inspector {
    /// One of the inspector's actions: it opens or closes, or moves within what it holds.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        match action {
            Action::ToggleInspector => {
                if ctx.open {
                    return Outcome::close();
                }
                if self.follow {
                    self.to_newest();
                }
                return Outcome::open();
            }
            Action::InspectPrevToken => self.move_token(-1),
            Action::InspectNextToken => self.move_token(1),
            Action::InspectPrevReply => self.move_reply(-1),
            Action::InspectNextReply => self.move_reply(1),
            Action::InspectFirstToken => self.first_token(),
            Action::InspectLastToken => self.last_token(),
            _ => {}
        }
        Outcome::default()
    }

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
