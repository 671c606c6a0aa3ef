//! Chat messages -> the prompt text the model continues, in the model's chat format: Gemma's turn
//! markers for an instruction-tuned model, the dialogue transcript for a base model (as `ask` and
//! the dashboard render them). System messages fold into the first user turn (Gemma has no system
//! role); a trailing assistant message is a prefill: the prompt ends inside that reply, so the
//! model continues its text (how a reply cut off on one node is resumed on another).
use serde_json::Value;

use super::error::ApiError;
use crate::engine::{ChatFormat, Dialogue, ModelKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// The transcript of a base model for a system prompt (the profile's when `None`).
pub type DialogueFor = dyn Fn(Option<&str>) -> Result<Dialogue, String> + Send + Sync;

/// How the server renders chats for the loaded model.
pub struct ChatStyle {
    pub kind: ModelKind,
    /// The vocabulary has ChatML's markers (SmolLM2, Qwen): an instruction-tuned model chats in
    /// ChatML rather than Gemma's turns.
    pub chatml: bool,
    /// The profile's system prompt, used when a request has no system message.
    pub default_system: Option<String>,
    pub dialogue_for: std::sync::Arc<DialogueFor>,
}

/// A rendered chat: the prompt and what the job needs beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChat {
    pub prompt: String,
    /// The format's own stop strings (a base model's next `User:` line).
    pub stop: Vec<String>,
    /// Whether the reply's leading whitespace belongs to the format (not after a prefill: its
    /// continuation may start with a space that belongs to the text).
    pub trim_reply_start: bool,
}

/// Reads `messages`: an array of `{role, content}`, content a string or an array of text parts.
pub fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let bad = |m: String| ApiError::bad_field("messages", m);
    let items = match value {
        None => return Err(bad("`messages` is required".into())),
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => return Err(bad("`messages` is empty".into())),
        Some(v) => return Err(bad(format!("`messages` must be an array, got {v}"))),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let role = match item.get("role").and_then(Value::as_str) {
                Some("system" | "developer") => Role::System,
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                Some(other) => {
                    return Err(bad(format!(
                        "messages[{i}].role `{other}` is not supported (system, developer, user, assistant)"
                    )))
                }
                None => return Err(bad(format!("messages[{i}] has no string `role`"))),
            };
            let content = match item.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None if role == Role::Assistant => String::new(),
                Some(Value::Array(parts)) => text_parts(parts, i)?,
                _ => {
                    return Err(bad(format!(
                        "messages[{i}].content must be a string or an array of text parts"
                    )))
                }
            };
            Ok(Message { role, content })
        })
        .collect()
}

fn text_parts(parts: &[Value], i: usize) -> Result<String, ApiError> {
    let mut text = String::new();
    for part in parts {
        match (
            part.get("type").and_then(Value::as_str),
            part.get("text").and_then(Value::as_str),
        ) {
            (Some("text"), Some(t)) => text.push_str(t),
            _ => {
                return Err(ApiError::bad_field(
                    "messages",
                    format!("messages[{i}].content: only text parts are supported"),
                ))
            }
        }
    }
    Ok(text)
}

/// Renders the whole history.
pub fn render_chat(messages: &[Message], style: &ChatStyle) -> Result<RenderedChat, ApiError> {
    let system: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let system = if system.is_empty() {
        style.default_system.clone()
    } else {
        Some(system.join("\n\n"))
    };
    let turns = merge_turns(messages);
    if turns.is_empty() && system.is_none() {
        return Err(ApiError::bad_field(
            "messages",
            "no user or assistant message",
        ));
    }
    let (turns, prefill) = match turns.split_last() {
        Some(((Role::Assistant, text), rest)) if !text.is_empty() => (rest, Some(text.as_str())),
        Some(((Role::Assistant, _), rest)) => (rest, None),
        _ => (turns.as_slice(), None),
    };
    let format = ChatFormat::for_model(style.kind, style.chatml, || Dialogue {
        preamble: String::new(),
        user: String::new(),
        assistant: String::new(),
        stop: Vec::new(),
    });
    let prompt = match format {
        ChatFormat::Gemma => render_gemma(turns, system.as_deref(), prefill),
        ChatFormat::ChatMl => render_chatml(turns, system.as_deref(), prefill),
        ChatFormat::Dialogue(_) => {
            // The preamble holds the system prompt: rendered per request when one is given.
            let given = messages.iter().any(|m| m.role == Role::System);
            let dialogue =
                (style.dialogue_for)(given.then_some(system.as_deref().unwrap_or("")))
                    .map_err(|e| ApiError::internal(format!("the dialogue template: {e}")))?;
            let prompt = render_dialogue(turns, &dialogue, prefill);
            return Ok(RenderedChat {
                prompt,
                stop: dialogue.stop.clone(),
                trim_reply_start: prefill.is_none(),
            });
        }
    };
    Ok(RenderedChat {
        prompt,
        stop: Vec::new(),
        trim_reply_start: false,
    })
}

/// User and assistant turns in order, consecutive messages of one role joined (Gemma's template
/// wants turns to alternate).
fn merge_turns(messages: &[Message]) -> Vec<(Role, String)> {
    let mut turns: Vec<(Role, String)> = Vec::new();
    for m in messages.iter().filter(|m| m.role != Role::System) {
        match turns.last_mut() {
            Some((role, text)) if *role == m.role => {
                text.push_str("\n\n");
                text.push_str(&m.content);
            }
            _ => turns.push((m.role, m.content.clone())),
        }
    }
    turns
}

/// ChatML, as SmolLM2's and Qwen's templates write it: a system turn of its own, then
/// `<|im_start|>ROLE\n...<|im_end|>` per turn, then the assistant's opening (and a prefill).
fn render_chatml(turns: &[(Role, String)], system: Option<&str>, prefill: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(sys) = system.filter(|s| !s.trim().is_empty()) {
        s.push_str("<|im_start|>system\n");
        s.push_str(sys.trim_end());
        s.push_str("<|im_end|>\n");
    }
    for (role, text) in turns {
        s.push_str(match role {
            Role::User => "<|im_start|>user\n",
            _ => "<|im_start|>assistant\n",
        });
        s.push_str(text);
        s.push_str("<|im_end|>\n");
    }
    s.push_str("<|im_start|>assistant\n");
    if let Some(p) = prefill {
        s.push_str(p);
    }
    s
}

fn render_gemma(turns: &[(Role, String)], system: Option<&str>, prefill: Option<&str>) -> String {
    let mut s = String::new();
    let mut system = system.filter(|s| !s.trim().is_empty());
    // A conversation that opens with the model (or only a system prompt) still starts with a user
    // turn: the system prompt has to go somewhere.
    if turns.first().is_none_or(|(r, _)| *r == Role::Assistant) {
        if let Some(sys) = system.take() {
            s.push_str("<start_of_turn>user\n");
            s.push_str(sys.trim_end());
            s.push_str("<end_of_turn>\n");
        }
    }
    for (role, text) in turns {
        match role {
            Role::User => {
                s.push_str("<start_of_turn>user\n");
                if let Some(sys) = system.take() {
                    s.push_str(sys.trim_end());
                    s.push_str("\n\n");
                }
            }
            _ => s.push_str("<start_of_turn>model\n"),
        }
        s.push_str(text);
        s.push_str("<end_of_turn>\n");
    }
    s.push_str("<start_of_turn>model\n");
    if let Some(p) = prefill {
        s.push_str(p);
    }
    s
}

fn render_dialogue(turns: &[(Role, String)], d: &Dialogue, prefill: Option<&str>) -> String {
    let mut s = d.preamble.clone();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    for (role, text) in turns {
        match role {
            Role::User => {
                s.push_str(&d.user);
                s.push_str(text.trim());
            }
            _ => {
                s.push_str(&d.assistant);
                s.push(' ');
                s.push_str(text.trim());
            }
        }
        s.push('\n');
    }
    s.push_str(&d.assistant);
    if let Some(p) = prefill {
        // The prefill is continued exactly: its trailing space (if any) is kept.
        s.push(' ');
        s.push_str(p.trim_start());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn style(kind: ModelKind) -> ChatStyle {
        ChatStyle {
            kind,
            chatml: false,
            default_system: None,
            dialogue_for: std::sync::Arc::new(|system| {
                Ok(Dialogue {
                    preamble: format!("A chat. {}\n", system.unwrap_or("(profile)")),
                    user: "User: ".into(),
                    assistant: "Assistant:".into(),
                    stop: vec!["\nUser:".into()],
                })
            }),
        }
    }

    fn msgs(v: serde_json::Value) -> Vec<Message> {
        parse_messages(Some(&v)).unwrap()
    }

    #[test]
    fn chatml_models_get_a_system_turn_and_chatml_markers() {
        let m = msgs(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "It is"},
        ]));
        let chatml = ChatStyle {
            chatml: true,
            ..style(ModelKind::Instruct)
        };
        let r = render_chat(&m, &chatml).unwrap();
        assert_eq!(
            r.prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n\
             <|im_start|>assistant\nIt is"
        );
    }

    #[test]
    fn gemma_history_with_system_folded_into_first_user_turn() {
        let m = msgs(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        ]));
        let r = render_chat(&m, &style(ModelKind::Instruct)).unwrap();
        assert_eq!(
            r.prompt,
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n\
             <start_of_turn>user\nCapital of France?<end_of_turn>\n<start_of_turn>model\n"
        );
        assert!(r.stop.is_empty());
    }

    #[test]
    fn trailing_assistant_message_is_a_prefill() {
        let m = msgs(json!([
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "The capital is"},
        ]));
        let r = render_chat(&m, &style(ModelKind::Instruct)).unwrap();
        assert!(
            r.prompt.ends_with("<start_of_turn>model\nThe capital is"),
            "{}",
            r.prompt
        );
        let r = render_chat(&m, &style(ModelKind::Base)).unwrap();
        assert!(r
            .prompt
            .ends_with("User: Capital of France?\nAssistant: The capital is"));
        assert!(!r.trim_reply_start);
    }

    #[test]
    fn base_model_gets_the_dialogue_transcript() {
        let m = msgs(json!([
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "More"},
        ]));
        let r = render_chat(&m, &style(ModelKind::Base)).unwrap();
        assert_eq!(
            r.prompt,
            "A chat. (profile)\nUser: Hi\nAssistant: Hello.\nUser: More\nAssistant:"
        );
        assert_eq!(r.stop, vec!["\nUser:".to_string()]);
        assert!(r.trim_reply_start);
        let m = msgs(
            json!([{"role": "system", "content": "Pirate."}, {"role": "user", "content": "Hi"}]),
        );
        let r = render_chat(&m, &style(ModelKind::Base)).unwrap();
        assert!(r.prompt.starts_with("A chat. Pirate.\n"), "{}", r.prompt);
    }

    #[test]
    fn consecutive_messages_of_one_role_merge() {
        let m = msgs(json!([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]));
        let r = render_chat(&m, &style(ModelKind::Instruct)).unwrap();
        assert_eq!(
            r.prompt,
            "<start_of_turn>user\na\n\nb<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn bad_messages_are_refused_with_the_field() {
        for bad in [
            json!(null),
            json!([]),
            json!("hi"),
            json!([{"role": "tool", "content": "x"}]),
            json!([{"content": "x"}]),
            json!([{"role": "user", "content": 5}]),
            json!([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
        ] {
            let value = (!bad.is_null()).then_some(&bad);
            let e = parse_messages(value).unwrap_err();
            assert_eq!(e.param.as_deref(), Some("messages"), "{bad}");
        }
    }
}
