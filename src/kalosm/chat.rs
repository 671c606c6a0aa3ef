//! kalosm's chat traits over our engine: the session keeps the history and the KV cache, so each
//! call prefills only its new messages.
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use kalosm_language_model::{
    ChatMessage, ChatModel, ChatSession, CreateChatSession, MessageType, StructuredChatModel,
};
use kalosm_sample::CreateParserState;
use serde::{Deserialize, Serialize};

use super::chat_turns::{add_messages, reply_has_leading_space, ChatState, ReplySpec};
use super::constraints::parse_reply;
use super::model::GemmaModel;
use super::sampler::IntoSamplerParams;
use super::session::{copy_live, lock};
use super::KalosmError;
use crate::engine::{ChatFormat, Dialogue, Limits, Session};
use crate::sampling::constrained::Constraint;

/// A chat: its history, the tokens in its KV cache, and the cache itself while it lives.
///
/// Bytes (`write_to` / `from_bytes`) hold the history, the tokens and the chat format, not the KV
/// cache: a loaded chat prefills its tokens again on its next message. `try_clone` and `Clone`
/// copy the KV cache (never shared with the original).
#[derive(Default)]
pub struct GemmaChatSession {
    history: Vec<ChatMessage>,
    tokens: Vec<u32>,
    turns: usize,
    state: ChatState,
    live: Mutex<Option<Session>>,
}

impl GemmaChatSession {
    /// Every token in the conversation so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// User turns in the cache.
    pub fn turns(&self) -> usize {
        self.turns
    }

    /// Tokens the last call prefilled: its new messages only.
    pub fn last_prefill(&self) -> usize {
        self.state.last_prefill
    }

    /// Positions in the live KV cache (`None` before the first message or after a load).
    pub fn cached_len(&self) -> Option<usize> {
        lock(&self.live).as_ref().map(|s| s.pass.len())
    }

    /// The chat format, once the first user message has chosen it.
    pub fn format(&self) -> Option<&ChatFormat> {
        self.state.format.as_ref()
    }

    /// Runs `job` over the new part of `messages` on a generation thread and takes its result
    /// back into the session. On an error the session stays as it was before the call.
    async fn run<T: Send + 'static>(
        &mut self,
        model: &GemmaModel,
        messages: &[ChatMessage],
        job: impl FnOnce(
                &GemmaModel,
                &mut Session,
                &mut ChatState,
                &[ChatMessage],
                &AtomicBool,
            ) -> Result<(Option<String>, T), KalosmError>
            + Send
            + 'static,
    ) -> Result<T, KalosmError> {
        let new = new_messages(&self.history, messages).to_vec();
        let live = self
            .live
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let (tokens, turns, mut state) = (self.tokens.clone(), self.turns, self.state.clone());
        let sent = new.clone();
        let (live, result) = model
            .run_blocking(move |model, cancel| {
                let mut live = match model.revive(live, &tokens, turns) {
                    Ok(live) => live,
                    Err(e) => return (None, Err(e)),
                };
                match job(model, &mut live, &mut state, &sent, cancel) {
                    Ok(out) => (Some(live), Ok((state, out))),
                    // The cache may hold part of the new messages: rebuilt from the old tokens.
                    Err(e) => (None, Err(e)),
                }
            })
            .await?;
        let (state, (reply, out)) = result?;
        if let Some(live) = &live {
            self.tokens = live.tokens.clone();
            self.turns = live.turns;
        }
        *self.live.get_mut().unwrap_or_else(|p| p.into_inner()) = live;
        self.state = state;
        self.history.extend(new);
        if let Some(reply) = reply {
            self.history
                .push(ChatMessage::new(MessageType::ModelAnswer, reply));
        }
        Ok(out)
    }
}

/// The messages not yet in the session. kalosm's `Chat::with_session` hands a session its own
/// history again before the new messages; that repeated history is skipped.
pub(crate) fn new_messages<'m>(
    history: &[ChatMessage],
    messages: &'m [ChatMessage],
) -> &'m [ChatMessage] {
    match messages.get(..history.len()) {
        Some(head) if !history.is_empty() && head == history => &messages[history.len()..],
        _ => messages,
    }
}

impl Clone for GemmaChatSession {
    fn clone(&self) -> Self {
        Self {
            history: self.history.clone(),
            tokens: self.tokens.clone(),
            turns: self.turns,
            state: self.state.clone(),
            live: Mutex::new(copy_live(&self.live)),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    history: Vec<ChatMessage>,
    tokens: Vec<u32>,
    turns: usize,
    system: Option<String>,
    format: Option<SavedFormat>,
}

#[derive(Serialize, Deserialize)]
enum SavedFormat {
    Gemma,
    ChatMl,
    Dialogue {
        preamble: String,
        user: String,
        assistant: String,
        stop: Vec<String>,
    },
}

const VERSION: u32 = 1;

impl ChatSession for GemmaChatSession {
    type Error = KalosmError;

    fn write_to(&self, into: &mut Vec<u8>) -> Result<(), KalosmError> {
        let format = self.state.format.as_ref().map(|f| match f {
            ChatFormat::Gemma => SavedFormat::Gemma,
            ChatFormat::ChatMl => SavedFormat::ChatMl,
            ChatFormat::Dialogue(d) => SavedFormat::Dialogue {
                preamble: d.preamble.clone(),
                user: d.user.clone(),
                assistant: d.assistant.clone(),
                stop: d.stop.clone(),
            },
        });
        let saved = Saved {
            version: VERSION,
            history: self.history.clone(),
            tokens: self.tokens.clone(),
            turns: self.turns,
            system: self.state.system.clone(),
            format,
        };
        serde_json::to_writer(into, &saved).map_err(|e| KalosmError::Session(e.to_string()))
    }

    /// A saved chat; its tokens are prefilled again on its next message.
    fn from_bytes(bytes: &[u8]) -> Result<Self, KalosmError> {
        let saved: Saved =
            serde_json::from_slice(bytes).map_err(|e| KalosmError::Session(e.to_string()))?;
        if saved.version != VERSION {
            return Err(KalosmError::Session(format!(
                "version {} (this build reads {VERSION})",
                saved.version
            )));
        }
        let format = saved.format.map(|f| match f {
            SavedFormat::Gemma => ChatFormat::Gemma,
            SavedFormat::ChatMl => ChatFormat::ChatMl,
            SavedFormat::Dialogue {
                preamble,
                user,
                assistant,
                stop,
            } => ChatFormat::Dialogue(Dialogue {
                preamble,
                user,
                assistant,
                stop,
            }),
        });
        Ok(Self {
            history: saved.history,
            tokens: saved.tokens,
            turns: saved.turns,
            state: ChatState {
                system: saved.system,
                format,
                last_prefill: 0,
            },
            live: Mutex::new(None),
        })
    }

    fn history(&self) -> Vec<ChatMessage> {
        self.history.clone()
    }

    fn try_clone(&self) -> Result<Self, KalosmError> {
        Ok(self.clone())
    }
}

impl CreateChatSession for GemmaModel {
    type Error = KalosmError;
    type ChatSession = GemmaChatSession;

    fn new_chat_session(&self) -> Result<GemmaChatSession, KalosmError> {
        Ok(GemmaChatSession::default())
    }
}

impl<S: IntoSamplerParams> ChatModel<S> for GemmaModel {
    fn add_messages_with_callback<'a>(
        &'a self,
        session: &'a mut GemmaChatSession,
        messages: &[ChatMessage],
        sampler: S,
        mut on_token: impl FnMut(String) -> Result<(), KalosmError> + Send + Sync + 'static,
    ) -> impl Future<Output = Result<(), KalosmError>> + Send + 'a {
        let messages = messages.to_vec();
        async move {
            let params = sampler.sampler_params();
            let limits = sampler.limits();
            session
                .run(self, &messages, move |model, live, state, new, cancel| {
                    let mut sampler = model.sampler(params)?;
                    let mut pick = |logits: &[f32], history: &[u32]| {
                        Ok(sampler.sample_with_history(logits, history)?)
                    };
                    let spec = ReplySpec {
                        limits,
                        pick: &mut pick,
                    };
                    let reply = add_messages(model, live, state, new, spec, cancel, &mut on_token)?;
                    Ok((reply, ()))
                })
                .await
        }
    }
}

impl<S, C> StructuredChatModel<C, S> for GemmaModel
where
    S: IntoSamplerParams,
    C: CreateParserState + Send + Sync + 'static,
    C::Output: Send + 'static,
{
    fn add_message_with_callback_and_constraints<'a>(
        &'a self,
        session: &'a mut GemmaChatSession,
        messages: &[ChatMessage],
        sampler: S,
        constraints: C,
        mut on_token: impl FnMut(String) -> Result<(), KalosmError> + Send + Sync + 'static,
    ) -> impl Future<Output = Result<C::Output, KalosmError>> + Send + 'a {
        let messages = messages.to_vec();
        async move {
            let params = sampler.sampler_params();
            // A stop string would cut the structured text: the parser decides where it ends.
            let limits = Limits {
                stop: Vec::new(),
                ..sampler.limits()
            };
            session
                .run(self, &messages, move |model, live, state, new, cancel| {
                    let parser = Arc::new(constraints);
                    let mut constraint = Constraint::new(
                        parser.clone(),
                        model.token_table(),
                        model.engine().tokenizer.eog_tokens().to_vec(),
                    )
                    .with_leading_space(reply_has_leading_space(model, state));
                    let mut sampler = model.sampler(params)?;
                    let mut pick = |logits: &[f32], history: &[u32]| {
                        Ok(constraint.next_token(&mut sampler, logits, history)?)
                    };
                    let spec = ReplySpec {
                        limits,
                        pick: &mut pick,
                    };
                    let reply = add_messages(model, live, state, new, spec, cancel, &mut on_token)?
                        .ok_or_else(|| KalosmError::Parse("no user message to answer".into()))?;
                    let value = parse_reply(&*parser, &reply)?;
                    Ok((Some(reply), value))
                })
                .await
        }
    }
}
