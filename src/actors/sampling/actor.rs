use actix::{Actor, Context, Handler};

use super::messages::{Configure, ResetSampler, SampleNext};
use crate::sampling::{Sampler, SamplerParams, SamplingError};

pub struct SamplingActor {
    sampler: Sampler,
}

impl SamplingActor {
    pub fn new(params: SamplerParams) -> Self {
        Self {
            sampler: Sampler::new(params),
        }
    }
}

impl Actor for SamplingActor {
    type Context = Context<Self>;
}

impl Handler<SampleNext> for SamplingActor {
    type Result = Result<u32, SamplingError>;

    fn handle(&mut self, msg: SampleNext, _: &mut Context<Self>) -> Self::Result {
        self.sampler.sample(&msg.logits)
    }
}

impl Handler<Configure> for SamplingActor {
    type Result = ();

    fn handle(&mut self, msg: Configure, _: &mut Context<Self>) {
        self.sampler.set_params(msg.0);
    }
}

impl Handler<ResetSampler> for SamplingActor {
    type Result = ();

    fn handle(&mut self, _: ResetSampler, _: &mut Context<Self>) {
        self.sampler = Sampler::new(self.sampler.params.clone());
    }
}
