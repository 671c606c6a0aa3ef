//! The sampling actor: owns the sampler chain's state (RNG, parameters) across the steps of a reply.
mod actor;
mod messages;

pub use actor::SamplingActor;
pub use messages::{Configure, ResetSampler, SampleNext};
