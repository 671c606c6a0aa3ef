//! Our Gemma engine as a kalosm model: kalosm-language-model 0.4's traits over [`Engine`], so a Rust
//! program drives gemma-tui through kalosm's own API (`model.complete(..)`, `model.chat()`,
//! `model.task(..)`, `.typed::<T>()`, `.with_constraints(parser)`, `.with_sampler(..)`).
//!
//! - [`GemmaModel`]: a cheap handle (an `Arc` around the loaded engine). Every generation runs on a
//!   thread of its own, since the forward pass is CPU-bound; the futures are executor-agnostic.
//! - [`GemmaSession`]: a text completion session (KV cache and tokens); [`GemmaChatSession`]: a chat
//!   (history, KV cache, tokens). Only what is new is prefilled; `try_clone` (and `Clone`) copy the
//!   KV cache, they never share it.
//! - Samplers: kalosm's [`GenerationParameters`](kalosm_language_model::GenerationParameters),
//!   mapped onto our chain (see [`IntoSamplerParams`]), or our own
//!   [`SamplerParams`](crate::sampling::SamplerParams) with llama.cpp's semantics.
//! - Constraints: any kalosm-sample parser, decided by our constrained driver
//!   ([`Constraint`](crate::sampling::constrained::Constraint)); a `T: Parse` is `.typed::<T>()`.
//!
//! kalosm 0.4.1's `complete(..).await` never runs the job (consume the completion as a stream);
//! chat and task futures are fine.
mod chat;
mod chat_turns;
mod completion;
mod constraints;
mod model;
mod sampler;
mod session;

#[cfg(test)]
mod tests;

pub use chat::GemmaChatSession;
pub use model::{GemmaModel, GemmaModelBuilder, DEFAULT_CONTEXT};
pub use sampler::IntoSamplerParams;
pub use session::GemmaSession;

/// What can go wrong through kalosm's API.
#[derive(Debug, thiserror::Error)]
pub enum KalosmError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("constrained generation: {0}")]
    Constraint(#[from] crate::sampling::constrained::ConstraintError),
    #[error("sampling: {0}")]
    Sampling(#[from] crate::sampling::SamplingError),
    #[error("the reply does not parse as the constraint's output: {0}")]
    Parse(String),
    #[error("bad session data: {0}")]
    Session(String),
    #[error("bad sampler settings: {0}")]
    Sampler(String),
    #[error("the generation thread stopped before it answered")]
    WorkerStopped,
}
