use std::sync::Arc;

use actix::Message;

use crate::sampling::{SamplerParams, SamplingError, Vocab};

/// Pick the next token from one step's logits.
#[derive(Message)]
#[rtype(result = "Result<u32, SamplingError>")]
pub struct SampleNext {
    /// Moved, not copied: the step's buffer from the forward pass.
    pub logits: Vec<f32>,
    /// What changed in the conversation (prompt included: the penalties and DRY look back over
    /// it) since the actor last saw it. The actor keeps the history, so a token costs a one-token
    /// message, not a copy of the whole conversation.
    pub history: HistoryUpdate,
    /// The reply this token belongs to (tags the inspector's trace).
    pub request: u64,
}

/// The conversation's tokens from `from` on (the actor keeps those before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryUpdate {
    pub from: usize,
    pub tokens: Vec<u32>,
}

impl HistoryUpdate {
    /// The update that brings a copy of `history[..known]` up to `history`.
    pub fn since(history: &[u32], known: usize) -> Self {
        let from = known.min(history.len());
        Self {
            from,
            tokens: history[from..].to_vec(),
        }
    }

    /// Applies it to the actor's copy.
    pub fn apply(self, copy: &mut Vec<u32>) {
        copy.truncate(self.from);
        copy.extend(self.tokens);
    }
}

/// Use these parameters from the next token on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Configure(pub SamplerParams);

/// A new conversation: restart the RNG from the seed and Mirostat's mu from 2·tau.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetSampler;

/// Whether the actor already has the text of a vocabulary of this many tokens.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct HasVocabulary(pub usize);

/// The text of every token (for the inspector and DRY's sequence breakers).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetVocabulary(pub Arc<Vocab>);
