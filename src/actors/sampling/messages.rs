use actix::Message;

use crate::sampling::{SamplerParams, SamplingError};

/// Pick the next token from one step's logits.
#[derive(Message)]
#[rtype(result = "Result<u32, SamplingError>")]
pub struct SampleNext {
    pub logits: Vec<f32>,
}

/// Use these parameters from the next token on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Configure(pub SamplerParams);

/// A new conversation: restart the RNG from the seed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetSampler;
