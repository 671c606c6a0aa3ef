use std::sync::Arc;

use actix::Message;

use crate::sampling::{SamplerParams, SamplingError, Vocab};

/// Pick the next token from one step's logits.
#[derive(Message)]
#[rtype(result = "Result<u32, SamplingError>")]
pub struct SampleNext {
    pub logits: Vec<f32>,
    /// The conversation so far, prompt included (the penalties and DRY look back over it).
    pub history: Vec<u32>,
    /// The reply this token belongs to (tags the inspector's trace).
    pub request: u64,
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
