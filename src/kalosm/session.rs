//! A text completion session: the tokens so far and, while it lives, the engine's KV cache.
use std::sync::Mutex;

use kalosm_language_model::TextCompletionSession;
use serde::{Deserialize, Serialize};

use super::KalosmError;
use crate::engine::Session;

/// A text completion session. The engine session (KV cache) is created on first use, so a new
/// one costs nothing until it is used.
///
/// Bytes (`write_to` / `from_bytes`) hold the token list only, not the KV cache: a loaded session
/// prefills its tokens again the first time it is used. `try_clone` and `Clone` copy the KV cache
/// (the copy never shares it with the original).
#[derive(Default)]
pub struct GemmaSession {
    pub(crate) tokens: Vec<u32>,
    pub(crate) live: Mutex<Option<Session>>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    tokens: Vec<u32>,
}

const VERSION: u32 = 1;

impl GemmaSession {
    /// Every token the session holds (BOS, prompts and replies).
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Positions in the live KV cache (`None` before the first use or after a load).
    pub fn cached_len(&self) -> Option<usize> {
        lock(&self.live).as_ref().map(|s| s.pass.len())
    }

    pub(crate) fn take_live(&mut self) -> Option<Session> {
        self.live
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Back from a generation: the engine session and the tokens it holds.
    pub(crate) fn put_live(&mut self, live: Option<Session>) {
        if let Some(live) = &live {
            self.tokens = live.tokens.clone();
        }
        *self.live.get_mut().unwrap_or_else(|p| p.into_inner()) = live;
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A copy of a live engine session (its own KV cache); `None` when the engine cannot copy one,
/// and then the copy prefills its tokens again when used.
pub(crate) fn copy_live(live: &Mutex<Option<Session>>) -> Option<Session> {
    lock(live).as_ref().and_then(Session::try_clone)
}

impl Clone for GemmaSession {
    fn clone(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            live: Mutex::new(copy_live(&self.live)),
        }
    }
}

impl TextCompletionSession for GemmaSession {
    type Error = KalosmError;

    fn write_to(&self, into: &mut Vec<u8>) -> Result<(), KalosmError> {
        serde_json::to_writer(
            into,
            &Saved {
                version: VERSION,
                tokens: self.tokens.clone(),
            },
        )
        .map_err(|e| KalosmError::Session(e.to_string()))
    }

    /// The tokens of a saved session; they are prefilled again on first use.
    fn from_bytes(bytes: &[u8]) -> Result<Self, KalosmError> {
        let saved: Saved =
            serde_json::from_slice(bytes).map_err(|e| KalosmError::Session(e.to_string()))?;
        if saved.version != VERSION {
            return Err(KalosmError::Session(format!(
                "version {} (this build reads {VERSION})",
                saved.version
            )));
        }
        Ok(Self {
            tokens: saved.tokens,
            live: Mutex::new(None),
        })
    }

    fn try_clone(&self) -> Result<Self, KalosmError> {
        Ok(self.clone())
    }
}
