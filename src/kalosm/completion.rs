//! kalosm's text completion traits over our engine, plain and constrained.
use std::future::Future;
use std::sync::Arc;

use kalosm_language_model::{
    CreateTextCompletionSession, StructuredTextCompletionModel, TextCompletionModel,
};
use kalosm_sample::CreateParserState;

use super::constraints::parse_reply;
use super::model::GemmaModel;
use super::sampler::IntoSamplerParams;
use super::session::GemmaSession;
use super::KalosmError;
use crate::engine::{Limits, PromptKind, Session};
use crate::sampling::constrained::Constraint;

impl CreateTextCompletionSession for GemmaModel {
    type Error = KalosmError;
    type Session = GemmaSession;

    fn new_session(&self) -> Result<GemmaSession, KalosmError> {
        Ok(GemmaSession::default())
    }
}

/// Whether a completion of `text` would feed the model nothing (an empty prompt after a reply that
/// ended at an end-of-generation token): there are no logits to continue from.
fn nothing_to_feed(live: &Session, text: &str) -> bool {
    text.is_empty() && !live.tokens.is_empty() && live.context_used() == live.pass.len()
}

fn nothing_to_feed_error() -> KalosmError {
    KalosmError::Session(
        "an empty prompt after a finished reply gives the model nothing to continue from".into(),
    )
}

impl<S: IntoSamplerParams> TextCompletionModel<S> for GemmaModel {
    fn stream_text_with_callback<'a>(
        &'a self,
        session: &'a mut GemmaSession,
        text: &str,
        sampler: S,
        mut on_token: impl FnMut(String) -> Result<(), KalosmError> + Send + Sync + 'static,
    ) -> impl Future<Output = Result<(), KalosmError>> + Send + 'a {
        let text = text.to_string();
        async move {
            let params = sampler.sampler_params();
            let limits = sampler.limits();
            let live = session.take_live();
            let tokens = session.tokens.clone();
            let (live, result) = self
                .run_blocking(move |model, cancel| {
                    let mut live = match model.revive(live, &tokens, 0) {
                        Ok(live) => live,
                        Err(e) => return (None, Err(e)),
                    };
                    if nothing_to_feed(&live, &text) {
                        return (Some(live), Err(nothing_to_feed_error()));
                    }
                    let result = model.sampler(params).and_then(|mut sampler| {
                        model.generate_blocking(
                            &mut live,
                            &PromptKind::Raw(text),
                            &limits,
                            &mut |logits, history| {
                                Ok(sampler.sample_with_history(logits, history)?)
                            },
                            cancel,
                            &mut on_token,
                        )
                    });
                    (Some(live), result)
                })
                .await?;
            session.put_live(live);
            result.map(|_| ())
        }
    }
}

impl<S, C> StructuredTextCompletionModel<C, S> for GemmaModel
where
    S: IntoSamplerParams,
    C: CreateParserState + Send + Sync + 'static,
    C::Output: Send + 'static,
{
    fn stream_text_with_callback_and_parser<'a>(
        &'a self,
        session: &'a mut GemmaSession,
        text: &str,
        sampler: S,
        parser: C,
        mut on_token: impl FnMut(String) -> Result<(), KalosmError> + Send + Sync + 'static,
    ) -> impl Future<Output = Result<C::Output, KalosmError>> + Send + 'a {
        let text = text.to_string();
        async move {
            let params = sampler.sampler_params();
            // A stop string would cut the structured text: the parser decides where it ends.
            let limits = Limits {
                stop: Vec::new(),
                ..sampler.limits()
            };
            let live = session.take_live();
            let tokens = session.tokens.clone();
            let (live, result) = self
                .run_blocking(move |model, cancel| {
                    let mut live = match model.revive(live, &tokens, 0) {
                        Ok(live) => live,
                        Err(e) => return (None, Err(e)),
                    };
                    if nothing_to_feed(&live, &text) {
                        return (Some(live), Err(nothing_to_feed_error()));
                    }
                    let parser = Arc::new(parser);
                    let mut constraint = Constraint::new(
                        parser.clone(),
                        model.token_table(),
                        model.engine().tokenizer.eog_tokens().to_vec(),
                    );
                    let result = model.sampler(params).and_then(|mut sampler| {
                        let (reply, _) = model.generate_blocking(
                            &mut live,
                            &PromptKind::Raw(text),
                            &limits,
                            &mut |logits, history| {
                                Ok(constraint.next_token(&mut sampler, logits, history)?)
                            },
                            cancel,
                            &mut on_token,
                        )?;
                        parse_reply(&*parser, &reply)
                    });
                    (Some(live), result)
                })
                .await?;
            session.put_live(live);
            result
        }
    }
}
