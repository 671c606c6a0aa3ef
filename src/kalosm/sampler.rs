//! The samplers a kalosm call may carry, as our chain's settings.
use kalosm_language_model::GenerationParameters;

use crate::engine::Limits;
use crate::sampling::{Mirostat, SamplerKind, SamplerParams};

/// A sampler kalosm hands to our model: its chain settings, the reply's token budget and stop
/// strings. Implemented for kalosm's [`GenerationParameters`] and for our [`SamplerParams`]
/// (`.with_sampler(SamplerParams { .. })` keeps llama.cpp's semantics exactly).
pub trait IntoSamplerParams: Send + Unpin + 'static {
    /// Our chain's settings for this sampler.
    fn sampler_params(&self) -> SamplerParams;
    /// The reply's token budget and stop strings (default: until the end of turn or a full
    /// context, no stop string).
    fn limits(&self) -> Limits {
        Limits::tokens(usize::MAX)
    }
}

impl IntoSamplerParams for SamplerParams {
    fn sampler_params(&self) -> SamplerParams {
        self.clone()
    }
}

/// Our chain with our limits: `.with_sampler((SamplerParams::greedy(), Limits::tokens(32)))`.
impl IntoSamplerParams for (SamplerParams, Limits) {
    fn sampler_params(&self) -> SamplerParams {
        self.0.clone()
    }

    fn limits(&self) -> Limits {
        self.1.clone()
    }
}

/// kalosm's parameters as it samples with them (llm-samplers' chain in kalosm-llama): repetition
/// penalty over the last `repetition_penalty_range` tokens, then temperature, then Mirostat v2 with
/// its `tau` and `eta` (`mu` is Mirostat's running state, which ours starts at 2·tau as llama.cpp).
/// Temperature 0 (or below) is greedy, without Mirostat. `GenerationParameters` has no getter for top-p or top-k (and kalosm's
/// own chain ignores both), so they stay off; its `Clone` drops the seed, which is read here from
/// the value kalosm hands over.
impl IntoSamplerParams for GenerationParameters {
    fn sampler_params(&self) -> SamplerParams {
        SamplerParams {
            temperature: self.temperature(),
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: self.repetition_penalty(),
            repeat_last_n: self.repetition_penalty_range() as usize,
            mirostat: if self.temperature() > 0.0 {
                Mirostat::V2
            } else {
                Mirostat::Off
            },
            mirostat_tau: self.tau(),
            mirostat_eta: self.eta(),
            samplers: vec![SamplerKind::Penalties, SamplerKind::Temperature],
            seed: self.seed(),
            ..SamplerParams::default()
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_tokens: match self.max_length() {
                u32::MAX => usize::MAX,
                n => n as usize,
            },
            stop: self
                .stop_on()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect(),
        }
    }
}
