//! New chat messages into the KV cache: each user turn rendered in the conversation's format, a
//! system prompt folded into the first user turn, given answers (a task's examples) as replies;
//! a reply is generated when the last new message is the user's.
use std::sync::atomic::AtomicBool;

use kalosm_language_model::{ChatMessage, MessageType};

use super::model::{GemmaModel, Pick};
use super::KalosmError;
use crate::engine::{ChatFormat, Limits, PromptKind, Session};

/// What a chat remembers besides its history and cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChatState {
    /// A system prompt not yet in the cache: it leads the next user turn.
    pub system: Option<String>,
    /// Chosen at the first user turn (a base model's transcript holds the system prompt).
    pub format: Option<ChatFormat>,
    /// Tokens prefilled by the last call (its new messages only).
    pub last_prefill: usize,
}

/// How the reply is chosen: `pick(logits, history)` per token, within `limits`.
pub(crate) struct ReplySpec<'a> {
    pub limits: Limits,
    pub pick: &'a mut Pick<'a>,
}

/// Whether a reply in this conversation starts with a space that belongs to the format.
pub(crate) fn reply_has_leading_space(model: &GemmaModel, state: &ChatState) -> bool {
    match &state.format {
        Some(format) => format.trims_reply_start(),
        None => model.chat_format(None).trims_reply_start(),
    }
}

/// Feeds `messages` after what `live` holds; returns the reply when the last one is the user's.
pub(crate) fn add_messages(
    model: &GemmaModel,
    live: &mut Session,
    state: &mut ChatState,
    messages: &[ChatMessage],
    reply: ReplySpec<'_>,
    cancel: &AtomicBool,
    on_token: &mut dyn FnMut(String) -> Result<(), KalosmError>,
) -> Result<Option<String>, KalosmError> {
    state.last_prefill = 0;
    let ReplySpec { limits, pick } = reply;
    let prefill_only = Limits::tokens(0);
    let mut no_pick = |_: &[f32], _: &[u32]| -> Result<u32, KalosmError> {
        Err(KalosmError::Session("a prefill step sampled".into()))
    };
    let mut no_tokens = |_: String| Ok(());
    let mut answer = None;
    for (i, message) in messages.iter().enumerate() {
        let last = i + 1 == messages.len();
        match message.role() {
            MessageType::SystemPrompt => {
                let text = message.content().trim();
                if !text.is_empty() {
                    state.system = Some(match state.system.take() {
                        Some(before) => format!("{before}\n\n{text}"),
                        None => text.to_string(),
                    });
                }
            }
            MessageType::UserMessage => {
                let first = live.turns == 0;
                let format = match &state.format {
                    Some(format) => format.clone(),
                    None => {
                        let format = model.chat_format(state.system.as_deref());
                        if matches!(format, ChatFormat::Dialogue(_)) {
                            // The transcript's introduction holds it.
                            state.system = None;
                        }
                        state.format = Some(format.clone());
                        format
                    }
                };
                let (text, system) = match state.system.take() {
                    Some(system) if first => (message.content().to_string(), Some(system)),
                    // Gemma has no system role: a later system prompt leads the user's text.
                    Some(system) => (format!("{system}\n\n{}", message.content()), None),
                    None => (message.content().to_string(), None),
                };
                let prompt = PromptKind::Chat {
                    text,
                    system,
                    format,
                };
                let stats = if last {
                    let (text, stats) =
                        model.generate_blocking(live, &prompt, &limits, pick, cancel, on_token)?;
                    answer = Some(text);
                    stats
                } else {
                    model
                        .generate_blocking(
                            live,
                            &prompt,
                            &prefill_only,
                            &mut no_pick,
                            cancel,
                            &mut no_tokens,
                        )?
                        .1
                };
                state.last_prefill += stats.prompt_ids.len();
            }
            MessageType::ModelAnswer => {
                let text = match &state.format {
                    Some(format) => format.reply_text(message.content()),
                    None => message.content().to_string(),
                };
                if text.is_empty() {
                    continue;
                }
                let (_, stats) = model.generate_blocking(
                    live,
                    &PromptKind::Raw(text),
                    &prefill_only,
                    &mut no_pick,
                    cancel,
                    &mut no_tokens,
                )?;
                state.last_prefill += stats.prompt_ids.len();
            }
        }
    }
    Ok(answer)
}
