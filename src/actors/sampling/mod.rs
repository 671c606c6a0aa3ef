//! The sampling actor: owns the sampler chain's state (RNGs, Mirostat's mu, parameters) across the
//! steps of a reply, and traces each token for the sampler inspector.
mod actor;
mod messages;

pub use actor::{ensure_vocabulary, start, vocab_of, SamplingActor, SamplingHandle, TraceSink};
pub use messages::{
    Configure, Constrain, CurrentParams, HasVocabulary, HistoryUpdate, ResetSampler, SampleNext,
    SetVocabulary, TokenTrace,
};
