use std::sync::Arc;

use actix::Message;

use crate::sampling::constrained::{Constraint, ConstraintStats, FullMatchRegex};
use crate::sampling::{SampleTrace, SamplerParams, SamplingError, Vocab};

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

/// Constrain the reply about to start (`Some`) or end the constraint (`None`, after the reply):
/// each `SampleNext` then draws among the tokens the constraint allows. Answers with the
/// finished constraint's statistics and whether its text was complete.
#[derive(Message)]
#[rtype(result = "Option<(ConstraintStats, bool)>")]
pub struct Constrain(pub Option<Constraint<FullMatchRegex>>);

/// Use these parameters from the next token on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Configure(pub SamplerParams);

/// The chain's settings as they are now (a remote engine sends them with each request).
#[derive(Message)]
#[rtype(result = "SamplerParams")]
pub struct CurrentParams;

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

#[cfg(test)]
mod tests {
    use super::HistoryUpdate;

    #[test]
    fn a_history_update_brings_the_copy_up_to_date() {
        let mut copy = Vec::new();
        let history = vec![1, 2, 3];
        let first = HistoryUpdate::since(&history, 0);
        assert_eq!(first.tokens, vec![1, 2, 3]);
        first.apply(&mut copy);
        let grown = vec![1, 2, 3, 4];
        let step = HistoryUpdate::since(&grown, 3);
        assert_eq!((step.from, step.tokens.clone()), (3, vec![4]));
        step.apply(&mut copy);
        assert_eq!(copy, grown);
        // A shorter history (a stop string cut the reply, a new conversation) replaces the tail.
        HistoryUpdate::since(&[1, 9], 0).apply(&mut copy);
        assert_eq!(copy, vec![1, 9]);
        assert_eq!(HistoryUpdate::since(&[1], 5).from, 1);
    }
}

/// What the sampling actor recorded about one sampled token of reply `request` (the inspector).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTrace {
    pub request: u64,
    pub trace: SampleTrace,
}
