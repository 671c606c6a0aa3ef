//! How a chat turn becomes text, for the two kinds of model, and what a conversation has already put
//! in the KV cache.
//!
//! An instruction-tuned Gemma reads Gemma's turn markers: `<start_of_turn>user\n{text}<end_of_turn>\n
//! <start_of_turn>model\n`. A base (pre-trained) Gemma does not follow them (its replies loop); it
//! continues a plain transcript instead, so for it a turn is `User: {text}\nAssistant:` after a
//! few-shot preamble, and the reply ends where the model starts the next `User:` line (a stop
//! string). Earlier turns stay in the cache either way, so a new turn only prefills its own text.
use super::model_kind::ModelKind;

/// The transcript a base model continues (the `dialogue` template, rendered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialogue {
    /// Everything before the first real turn: an introduction and example exchanges, ending with
    /// a newline. The system prompt, if any, is already in it.
    pub preamble: String,
    /// Leads a user line, e.g. `User: `.
    pub user: String,
    /// Ends a turn and hands over to the model, e.g. `Assistant:` (no trailing space: the model's
    /// first token carries its own leading space, as SentencePiece pieces do).
    pub assistant: String,
    /// Where a reply ends, e.g. `\nUser:`.
    pub stop: Vec<String>,
}

/// The chat format of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatFormat {
    /// Gemma's turn markers (instruction-tuned models).
    Gemma,
    /// A plain transcript (base models).
    Dialogue(Dialogue),
    /// ChatML's turn markers, `<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n`
    /// (instruction-tuned SmolLM2, Qwen and other llama-family files whose template uses them).
    ChatMl,
}

impl ChatFormat {
    /// The format a model of `kind` chats in; `dialogue` is the transcript for a base model.
    pub fn for_kind(kind: ModelKind, dialogue: impl FnOnce() -> Dialogue) -> Self {
        match kind {
            ModelKind::Instruct => ChatFormat::Gemma,
            ModelKind::Base => ChatFormat::Dialogue(dialogue()),
        }
    }

    /// [`ChatFormat::for_kind`] for a model whose vocabulary has ChatML's markers when `chatml`:
    /// an instruction-tuned one then chats in ChatML instead of Gemma's turns.
    pub fn for_model(kind: ModelKind, chatml: bool, dialogue: impl FnOnce() -> Dialogue) -> Self {
        match Self::for_kind(kind, dialogue) {
            ChatFormat::Gemma if chatml => ChatFormat::ChatMl,
            other => other,
        }
    }

    /// Stop strings the format itself needs (the next turn's start).
    pub fn stop(&self) -> &[String] {
        match self {
            ChatFormat::Gemma | ChatFormat::ChatMl => &[],
            ChatFormat::Dialogue(d) => &d.stop,
        }
    }

    /// Whether the whitespace that starts a reply belongs to the format, not the reply (the space
    /// after `Assistant:`).
    pub fn trims_reply_start(&self) -> bool {
        matches!(self, ChatFormat::Dialogue(_))
    }

    /// A finished reply as it follows its turn in the model's text (for rebuilding a cache).
    pub fn reply_text(&self, reply: &str) -> String {
        match self {
            ChatFormat::Gemma | ChatFormat::ChatMl => reply.to_string(),
            ChatFormat::Dialogue(_) if reply.is_empty() => String::new(),
            ChatFormat::Dialogue(_) => format!(" {reply}"),
        }
    }

    /// Short name for the status bar and `model info`.
    pub fn name(&self) -> &'static str {
        match self {
            ChatFormat::Gemma => "gemma chat template",
            ChatFormat::Dialogue(_) => "dialogue template",
            ChatFormat::ChatMl => "chatml template",
        }
    }
}

/// How a prompt is turned into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// A chat message from the user, in the conversation's format.
    Chat {
        text: String,
        /// Leads the first Gemma turn (Gemma has no system role); a dialogue's preamble already
        /// holds it.
        system: Option<String>,
        format: ChatFormat,
    },
    /// Text fed to the model as it is (special markers in it are parsed).
    Raw(String),
}

impl PromptKind {
    /// An instruction-tuned chat message without a system prompt.
    pub fn gemma_chat(text: impl Into<String>) -> Self {
        PromptKind::Chat {
            text: text.into(),
            system: None,
            format: ChatFormat::Gemma,
        }
    }

    /// The chat format, if this is a chat message.
    pub fn format(&self) -> Option<&ChatFormat> {
        match self {
            PromptKind::Chat { format, .. } => Some(format),
            PromptKind::Raw(_) => None,
        }
    }
}

/// The text to prefill for a prompt, given how many chat turns the cache already holds.
pub fn render_turn(prompt: &PromptKind, previous_turns: usize) -> String {
    match prompt {
        PromptKind::Raw(text) => text.clone(),
        PromptKind::Chat {
            text,
            system,
            format: ChatFormat::Gemma,
        } => {
            let mut s = String::with_capacity(text.len() + 64);
            // The end marker the model sampled is never fed back (and a cut-off reply has none):
            // the previous reply is closed here.
            if previous_turns > 0 {
                s.push_str("<end_of_turn>\n");
            }
            s.push_str("<start_of_turn>user\n");
            if let Some(sys) = system.as_deref().filter(|s| !s.trim().is_empty()) {
                if previous_turns == 0 {
                    s.push_str(sys.trim_end());
                    s.push_str("\n\n");
                }
            }
            s.push_str(text);
            s.push_str("<end_of_turn>\n<start_of_turn>model\n");
            s
        }
        PromptKind::Chat {
            text,
            system,
            format: ChatFormat::ChatMl,
        } => {
            let mut s = String::with_capacity(text.len() + 96);
            // As with Gemma: the end marker the model sampled was never fed back.
            if previous_turns > 0 {
                s.push_str("<|im_end|>\n");
            }
            if let Some(sys) = system.as_deref().filter(|s| !s.trim().is_empty()) {
                if previous_turns == 0 {
                    s.push_str("<|im_start|>system\n");
                    s.push_str(sys.trim_end());
                    s.push_str("<|im_end|>\n");
                }
            }
            s.push_str("<|im_start|>user\n");
            s.push_str(text);
            s.push_str("<|im_end|>\n<|im_start|>assistant\n");
            s
        }
        PromptKind::Chat {
            text,
            format: ChatFormat::Dialogue(d),
            ..
        } => {
            let mut s = String::with_capacity(d.preamble.len() + text.len() + 32);
            if previous_turns == 0 {
                s.push_str(&d.preamble);
                if !d.preamble.is_empty() && !d.preamble.ends_with('\n') {
                    s.push('\n');
                }
            } else {
                // The reply stopped before the newline that would have started the next turn.
                s.push('\n');
            }
            s.push_str(&d.user);
            s.push_str(text.trim());
            s.push('\n');
            s.push_str(&d.assistant);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialogue() -> ChatFormat {
        ChatFormat::Dialogue(Dialogue {
            preamble: "A chat.\n\nUser: Hi\nAssistant: Hello.\n".into(),
            user: "User: ".into(),
            assistant: "Assistant:".into(),
            stop: vec!["\nUser:".into()],
        })
    }

    #[test]
    fn first_turn_has_markers_and_system_prompt() {
        let p = PromptKind::Chat {
            text: "Hi".into(),
            system: Some("Be brief.".into()),
            format: ChatFormat::Gemma,
        };
        assert_eq!(
            render_turn(&p, 0),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn later_turn_closes_previous_reply_and_skips_system() {
        let p = PromptKind::Chat {
            text: "More".into(),
            system: Some("Be brief.".into()),
            format: ChatFormat::Gemma,
        };
        assert_eq!(
            render_turn(&p, 1),
            "<end_of_turn>\n<start_of_turn>user\nMore<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn chatml_turns_have_a_system_turn_first_and_close_the_previous_reply() {
        let p = |text: &str| PromptKind::Chat {
            text: text.into(),
            system: Some("Be brief.".into()),
            format: ChatFormat::ChatMl,
        };
        assert_eq!(
            render_turn(&p("Hi"), 0),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            render_turn(&p("More"), 1),
            "<|im_end|>\n<|im_start|>user\nMore<|im_end|>\n<|im_start|>assistant\n"
        );
        let instruct = ChatFormat::for_model(ModelKind::Instruct, true, || unreachable!());
        assert_eq!(instruct, ChatFormat::ChatMl);
        assert_eq!(
            ChatFormat::for_model(ModelKind::Instruct, false, || unreachable!()),
            ChatFormat::Gemma
        );
    }

    #[test]
    fn dialogue_turns_continue_the_transcript() {
        let p = |text: &str| PromptKind::Chat {
            text: text.into(),
            system: Some("ignored: the preamble holds it".into()),
            format: dialogue(),
        };
        assert_eq!(
            render_turn(&p("Capital of Japan? "), 0),
            "A chat.\n\nUser: Hi\nAssistant: Hello.\nUser: Capital of Japan?\nAssistant:"
        );
        assert_eq!(
            render_turn(&p("And France?"), 1),
            "\nUser: And France?\nAssistant:"
        );
        assert_eq!(dialogue().reply_text("Tokyo."), " Tokyo.");
        assert_eq!(dialogue().stop(), ["\nUser:".to_string()]);
        assert!(ChatFormat::Gemma.stop().is_empty());
    }
}
