//! Gemma's chat format, and what a conversation has already put in the KV cache.
//!
//! A turn is `<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n`. Earlier turns stay in
//! the cache, so a new turn only prefills its own text: the previous reply is closed with
//! `<end_of_turn>\n` (the end marker the model sampled is never fed back, and a cut-off reply has
//! none), then the new user turn follows.

/// How a prompt is turned into tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// A chat message from the user, wrapped in Gemma's turn markers.
    Chat {
        text: String,
        system: Option<String>,
    },
    /// Text fed to the model as it is (special markers in it are parsed).
    Raw(String),
}

/// The text to prefill for a prompt, given how many chat turns the cache already holds.
pub fn render_turn(prompt: &PromptKind, previous_turns: usize) -> String {
    match prompt {
        PromptKind::Raw(text) => text.clone(),
        PromptKind::Chat { text, system } => {
            let mut s = String::with_capacity(text.len() + 64);
            if previous_turns > 0 {
                s.push_str("<end_of_turn>\n");
            }
            s.push_str("<start_of_turn>user\n");
            // Gemma has no system role: the system prompt leads the first user turn.
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_turn_has_markers_and_system_prompt() {
        let p = PromptKind::Chat {
            text: "Hi".into(),
            system: Some("Be brief.".into()),
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
        };
        assert_eq!(
            render_turn(&p, 1),
            "<end_of_turn>\n<start_of_turn>user\nMore<end_of_turn>\n<start_of_turn>model\n"
        );
    }
}
