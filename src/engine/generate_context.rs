//! Keeping a conversation's cache and token history in step when positions go: a context shift,
//! a rollback, the cut after a stop string.
use super::*;

impl Session {
    /// Forgets the cache from `len` on (`len` at most the cached length). A sliding-window ring
    /// that no longer holds what position `len` needs keeps nothing (see `kv_cache`): the tokens
    /// it lost go back to pending, so the next turn feeds them again.
    pub(super) fn rollback(&mut self, len: usize) {
        self.pass.truncate(len);
        let kept = self.pass.len();
        if kept < len {
            let mut lost = self.tokens[kept..len].to_vec();
            lost.append(&mut self.pending);
            self.pending = lost;
        }
    }

    /// Context shift: drops cached positions `keep..keep + discard` from the cache and the token
    /// history, moving the later ones down. When a sliding layer's window would reach kept
    /// positions its ring has overwritten (a shift well before the context is full, or one that
    /// drops nearly all), the tokens that stay are fed again instead, so the caller (chat or a
    /// server slot) goes on either way. On an error the cache is empty and the history pending.
    pub fn shift(&mut self, keep: usize, discard: usize) -> Result<(), EngineError> {
        let len = self.pass.len();
        if self.pass.can_shift(keep, discard) {
            self.pass.shift(keep, discard)?;
            self.tokens.drain(keep..keep + discard);
        } else {
            self.tokens.drain(keep..keep + discard);
            let ids = self.tokens[..len - discard].to_vec();
            if let Err(e) = self.feed(&ids) {
                self.pending = self.tokens.clone();
                return Err(e);
            }
            // Said in the log so that a slow shift can be told from an in-place one (and tests
            // can see which way it went).
            tracing::info!(
                keep,
                discard,
                "context shift: the rings could not move in place, kept tokens fed again"
            );
        }
        self.shifted += discard;
        Ok(())
    }

    /// Fills the cache anew with `ids`, a micro-batch at a time (a restored conversation, or the
    /// kept tokens after a shift). On an error the cache is left empty, never half-filled.
    pub(super) fn feed(&mut self, ids: &[u32]) -> Result<(), EngineError> {
        self.pass.truncate(0);
        for chunk in ids.chunks(PREFILL_CHUNK) {
            if let Err(e) = self.pass.forward(chunk) {
                self.pass.truncate(0);
                return Err(e);
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Context shift: keeps the first `keep` cached positions (at least BOS), drops half of the
    /// rest, as llama.cpp's n_discard default, from the cache and the token history alike.
    pub fn shift_context(&self, session: &mut Session, keep: usize) -> Result<usize, EngineError> {
        let len = session.pass.len();
        let keep = keep.clamp(1, len.saturating_sub(2));
        let discard = (len - keep) / 2;
        session.shift(keep, discard)?;
        tracing::info!("context shift: kept {keep}, dropped {discard} positions");
        Ok(discard)
    }

    /// After a stop string: the conversation keeps only the tokens whose text ends before it (in
    /// the cache), plus the text of a token it cut in two (re-tokenized, pending for the next
    /// prefill), so the next turn follows the reply exactly as shown.
    pub(super) fn cut_at_stop(
        &self,
        session: &mut Session,
        reply_start: usize,
        reply: &ReplyState,
    ) {
        let Some((kept, rest)) = reply.cut() else {
            return;
        };
        let keep = reply_start + kept;
        // The last sampled token was never fed to the cache; everything before it was.
        if session.pass.len() > keep {
            session.rollback(keep);
        }
        session.tokens.truncate(keep);
        if !rest.is_empty() {
            let ids = self.tokenizer.encode(rest, false, false);
            session.tokens.extend_from_slice(&ids);
            session.pending.extend_from_slice(&ids);
        }
    }
}
