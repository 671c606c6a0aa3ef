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
}

impl Engine {
    /// Context shift: keeps the first `keep` cached positions (at least BOS), drops half of the
    /// rest, as llama.cpp's n_discard default, from the cache and the token history alike.
    pub fn shift_context(&self, session: &mut Session, keep: usize) -> Result<usize, EngineError> {
        let len = session.pass.len();
        let keep = keep.clamp(1, len.saturating_sub(2));
        let discard = (len - keep) / 2;
        if session.pass.can_shift(keep, discard) {
            session.pass.shift(keep, discard)?;
            session.tokens.drain(keep..keep + discard);
        } else {
            // A sliding layer's window would reach kept positions its ring has overwritten (a
            // shift well before the context is full): the tokens that stay are fed again.
            session.tokens.drain(keep..keep + discard);
            let ids = session.tokens[..len - discard].to_vec();
            session.pass.truncate(0);
            for chunk in ids.chunks(PREFILL_CHUNK) {
                if let Err(e) = session.pass.forward(chunk) {
                    session.pass.truncate(0);
                    session.pending = session.tokens.clone();
                    return Err(e);
                }
            }
        }
        session.shifted += discard;
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
