//! Conversations that persist: every finished message is committed to a redb file in the data
//! dir, so a crash loses at most the reply being generated; the last one resumes on start.
//!
//! The types and the pure parts (titles, Markdown/JSON export) are here; the file is in [`store`].
pub mod store;

use serde::{Deserialize, Serialize};

pub use store::{data_dir, ConversationStore, DATA_DIR_ENV};

/// One conversation's summary (its messages are stored apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    pub id: u64,
    pub title: String,
    /// Unix milliseconds.
    pub created_ms: u64,
    pub updated_ms: u64,
    pub profile: String,
    pub model: String,
    pub messages: u32,
}

/// Who wrote a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredRole {
    User,
    Assistant,
}

/// One finished message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub role: StoredRole,
    /// As shown in the chat.
    pub text: String,
    /// What the model saw for a user message (the rendered template), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The system prompt the turn was sent with (user messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub at_ms: u64,
    /// Decode speed of a reply, tok/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tok_s: Option<f64>,
}

impl StoredMessage {
    /// What the engine must prefill for this message to rebuild the context.
    pub fn model_text(&self) -> &str {
        self.prompt.as_deref().unwrap_or(&self.text)
    }
}

/// A title from the first user message: its first line, cut at a word near 60 characters.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= 60 {
        return line.to_string();
    }
    let cut: String = line.chars().take(60).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > 30 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end())
}

/// (user turn as the model saw it, reply) pairs of a conversation, for the engine to prefill.
pub fn turns(messages: &[StoredMessage]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending: Option<&StoredMessage> = None;
    for m in messages {
        match m.role {
            StoredRole::User => pending = Some(m),
            StoredRole::Assistant => {
                if let Some(u) = pending.take() {
                    out.push((u.model_text().to_string(), m.text.clone()));
                }
            }
        }
    }
    out
}

/// A conversation as Markdown: a title, then each message under its author.
pub fn to_markdown(meta: &ConversationMeta, messages: &[StoredMessage]) -> String {
    let mut s = format!(
        "# {}\n\n_profile {} · model {} · {} messages_\n",
        meta.title, meta.profile, meta.model, meta.messages
    );
    for m in messages {
        let who = match m.role {
            StoredRole::User => "You",
            StoredRole::Assistant => "Gemma",
        };
        s.push_str(&format!("\n## {who}\n\n{}\n", m.text.trim_end()));
    }
    s
}

/// A conversation as one JSON document.
pub fn to_json(meta: &ConversationMeta, messages: &[StoredMessage]) -> serde_json::Value {
    serde_json::json!({ "conversation": meta, "messages": messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: StoredRole, text: &str) -> StoredMessage {
        StoredMessage {
            role,
            text: text.into(),
            prompt: None,
            system: None,
            at_ms: 0,
            decode_tok_s: None,
        }
    }

    #[test]
    fn titles_are_the_first_line_cut_at_a_word() {
        assert_eq!(title_from("\n  Hello there\nmore"), "Hello there");
        let long = "word ".repeat(30);
        let t = title_from(&long);
        assert!(t.ends_with('…') && t.chars().count() <= 61, "{t}");
    }

    #[test]
    fn turns_pair_user_and_reply_and_use_the_rendered_prompt() {
        let mut u = msg(StoredRole::User, "hi");
        u.prompt = Some("Notes\n\nhi".into());
        let list = vec![
            u,
            msg(StoredRole::Assistant, "hello"),
            msg(StoredRole::User, "unanswered"),
        ];
        assert_eq!(turns(&list), vec![("Notes\n\nhi".into(), "hello".into())]);
    }

    #[test]
    fn markdown_and_json_exports() {
        let meta = ConversationMeta {
            id: 7,
            title: "Greeting".into(),
            created_ms: 1,
            updated_ms: 2,
            profile: "balanced".into(),
            model: "m".into(),
            messages: 2,
        };
        let list = vec![
            msg(StoredRole::User, "hi"),
            msg(StoredRole::Assistant, "hello"),
        ];
        let md = to_markdown(&meta, &list);
        assert!(md.starts_with("# Greeting\n"));
        assert!(md.contains("## You\n\nhi\n") && md.contains("## Gemma\n\nhello\n"));
        let v = to_json(&meta, &list);
        assert_eq!(v["conversation"]["id"], 7);
        assert_eq!(v["messages"][1]["role"], "assistant");
    }
}
