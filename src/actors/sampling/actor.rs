use std::sync::Arc;

use actix::{Actor, Addr, AsyncContext, Context, Handler, MailboxError};

use super::messages::TokenTrace;
use super::messages::{
    Configure, Constrain, CurrentParams, HasVocabulary, ResetSampler, SampleNext, SetVocabulary,
};
use crate::engine::Tokenizer;
use crate::sampling::constrained::{Constraint, ConstraintError, FullMatchRegex};
use crate::sampling::{Sampler, SamplerParams, SamplingError, Vocab};

/// Where traces of sampled tokens go (the dashboard's channel).
pub type TraceSink = Arc<dyn Fn(TokenTrace) + Send + Sync>;

/// What the dashboard and the inference actor hold: the sampling actor's address.
#[derive(Clone)]
pub struct SamplingHandle {
    pub addr: Addr<SamplingActor>,
}

/// Starts the sampling actor (on the executor: a step is a short computation answered at once)
/// with the chain `params`; each sampled token's trace goes to `traces` when given.
pub fn start(params: SamplerParams, traces: Option<TraceSink>) -> SamplingHandle {
    let mut actor = SamplingActor::new(params);
    actor.traces = traces;
    SamplingHandle {
        addr: actor.start(),
    }
}

pub struct SamplingActor {
    sampler: Sampler,
    /// The conversation as the penalties see it, kept up to date by each `SampleNext`.
    history: Vec<u32>,
    /// With a sink every token is traced for the inspector (~0.3 ms per token, after the reply).
    traces: Option<TraceSink>,
    /// The running reply's constraint (a JSON Schema, a regex), if it has one.
    constraint: Option<Constraint<FullMatchRegex>>,
}

impl SamplingActor {
    pub fn new(params: SamplerParams) -> Self {
        Self {
            sampler: Sampler::new(params),
            history: Vec::new(),
            traces: None,
            constraint: None,
        }
    }

    pub fn with_traces(mut self, sink: TraceSink) -> Self {
        self.traces = Some(sink);
        self
    }
}

impl Actor for SamplingActor {
    type Context = Context<Self>;
}

impl Handler<SampleNext> for SamplingActor {
    type Result = Result<u32, SamplingError>;

    fn handle(&mut self, msg: SampleNext, ctx: &mut Context<Self>) -> Self::Result {
        msg.history.apply(&mut self.history);
        if let Some(c) = self.constraint.as_mut() {
            // Constrained steps are not traced: the inspector shows the free chain.
            return c
                .next_token(&mut self.sampler, &msg.logits, &self.history)
                .map_err(|e| match e {
                    ConstraintError::Sampling(e) => e,
                    other => SamplingError::Constraint(other.to_string()),
                });
        }
        if self.traces.is_none() {
            return self.sampler.sample_with_history(&msg.logits, &self.history);
        }
        let (token, trace) = self.sampler.sample_traced(&msg.logits, &self.history)?;
        // The token goes back now; the trace's softmax over the whole vocabulary runs after the
        // reply, while the inference thread computes the next step.
        ctx.notify(CompleteTrace {
            logits: msg.logits,
            trace: TokenTrace {
                request: msg.request,
                trace,
            },
        });
        Ok(token)
    }
}

/// A trace waiting for the model's own distribution (sent by the actor to itself).
#[derive(actix::Message)]
#[rtype(result = "()")]
struct CompleteTrace {
    logits: Vec<f32>,
    trace: TokenTrace,
}

impl Handler<CompleteTrace> for SamplingActor {
    type Result = ();

    fn handle(&mut self, mut msg: CompleteTrace, _: &mut Context<Self>) {
        self.sampler
            .complete_trace(&msg.logits, &mut msg.trace.trace);
        if let Some(sink) = &self.traces {
            sink(msg.trace);
        }
    }
}

impl Handler<Constrain> for SamplingActor {
    type Result = actix::MessageResult<Constrain>;

    fn handle(&mut self, msg: Constrain, _: &mut Context<Self>) -> Self::Result {
        let done = std::mem::replace(&mut self.constraint, msg.0);
        actix::MessageResult(done.map(|c| (c.stats.clone(), c.is_complete())))
    }
}

impl Handler<Configure> for SamplingActor {
    type Result = ();

    fn handle(&mut self, msg: Configure, _: &mut Context<Self>) {
        tracing::info!("sampler: {}", crate::sampling::format_order(&msg.0.chain()));
        self.sampler.set_params(msg.0);
    }
}

impl Handler<CurrentParams> for SamplingActor {
    type Result = actix::MessageResult<CurrentParams>;

    fn handle(&mut self, _: CurrentParams, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.sampler.params.clone())
    }
}

impl Handler<ResetSampler> for SamplingActor {
    type Result = ();

    fn handle(&mut self, _: ResetSampler, _: &mut Context<Self>) {
        self.sampler.reset();
    }
}

impl Handler<HasVocabulary> for SamplingActor {
    type Result = bool;

    fn handle(&mut self, msg: HasVocabulary, _: &mut Context<Self>) -> bool {
        self.sampler.vocab().is_some_and(|v| v.len() == msg.0)
    }
}

impl Handler<SetVocabulary> for SamplingActor {
    type Result = ();

    fn handle(&mut self, msg: SetVocabulary, _: &mut Context<Self>) {
        self.sampler.set_vocab(msg.0, None);
    }
}

/// The text of each token as generated text shows it (control tokens by their name).
pub fn vocab_of(tokenizer: &Tokenizer) -> Vocab {
    Vocab::from_fn(tokenizer.vocab_size(), |id| tokenizer.token_text(id))
}

/// Gives the actor the vocabulary's text unless it has it already (called from the inference
/// thread before a reply; blocks for one round trip).
pub fn ensure_vocabulary(
    sampler: &Addr<SamplingActor>,
    tokenizer: &Tokenizer,
) -> Result<(), MailboxError> {
    let n = tokenizer.vocab_size();
    if !futures::executor::block_on(sampler.send(HasVocabulary(n)))? {
        sampler.do_send(SetVocabulary(Arc::new(vocab_of(tokenizer))));
    }
    Ok(())
}
