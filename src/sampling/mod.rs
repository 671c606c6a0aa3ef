//! The sampler chain: pure functions over one step's logits with llama.cpp's semantics, order and
//! defaults (penalties, DRY, top-k, typical, top-p, min-p, XTC, temperature — dynamic or not —
//! then a seeded draw, or Mirostat v1/v2). Temperature 0 means greedy. The state that must live
//! across steps (RNGs, Mirostat's mu) is in [`Sampler`]; the sampling actor owns one.
mod chain;
pub mod constrained;
pub mod math;
mod params;
mod penalties;
mod stages;
mod trace;
mod vocab;

#[cfg(test)]
mod tests;

use thiserror::Error;

pub use chain::{mirostat_v1_k, Sampler};
pub use params::{format_order, parse_order, Mirostat, SamplerKind, SamplerParams};
pub use penalties::DryBreakers;
pub use trace::{SampleTrace, TraceCandidate, TRACE_TOP};
pub use vocab::Vocab;

#[derive(Debug, Error, PartialEq)]
pub enum SamplingError {
    #[error("the logits contain {0} (token {1}): the model produced an invalid value")]
    InvalidLogit(&'static str, u32),
    #[error("no logits to sample from")]
    Empty,
    /// A constrained reply cannot go on (see `constrained::ConstraintError`).
    #[error("{0}")]
    Constraint(String),
}

/// The most likely token, the lowest id on ties (as llama.cpp's greedy sampler).
pub fn argmax(logits: &[f32]) -> u32 {
    math::argmax(logits)
}
