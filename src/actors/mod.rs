//! The actix actors: inference (owns the model on its own thread), sampling (owns the sampler chain's
//! state), metrics (token events and sysinfo). Each folder has the same shape: `messages`, `actor`.
pub mod bench;
pub mod config;
pub mod conversations;
pub mod inference;
pub mod metrics;
pub mod rag;
pub mod sampling;
pub mod supervision;
