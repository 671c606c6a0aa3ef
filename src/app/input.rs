//! The message input as a component: [`Input`] owns the text area, takes typed keys and the
//! new-line action, and caps pastes at [`MAX_INPUT_BYTES`].
use crossterm::event::KeyEvent;
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

use super::action::{Action, Focus};
use super::outcome::{Ctx, Outcome};

/// The most the input box holds (pastes beyond it are cut).
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// The message input.
#[derive(Debug, Clone)]
pub struct Input {
    /// The text area the input pane draws.
    pub editor: TextArea<'static>,
}

impl Default for Input {
    /// A fresh, empty input.
    fn default() -> Self {
        let mut t = TextArea::default();
        t.set_wrap_mode(WrapMode::WordOrGlyph);
        t.set_cursor_line_style(Style::default());
        t.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        t.set_placeholder_text("Type a message…");
        Self { editor: t }
    }
}

impl Input {
    /// The text in the input box.
    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// Empties the input (after a send or a command).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// A key no binding claims: it edits the text.
    pub fn key(&mut self, key: KeyEvent) {
        self.editor.input(key);
    }

    /// Its actions: a new line.
    pub fn handle(&mut self, action: Action, _ctx: &Ctx) -> Outcome {
        if action == Action::NewLine {
            self.editor.insert_newline();
        }
        Outcome::default()
    }

    /// Inserts pasted text, capping the input at [`MAX_INPUT_BYTES`]; the input takes focus.
    pub fn paste(&mut self, text: &str) -> Outcome {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let used: usize = self.editor.lines().iter().map(|l| l.len() + 1).sum();
        let room = MAX_INPUT_BYTES.saturating_sub(used);
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut outcome = Outcome::focus(Focus::Input);
        if end < text.len() {
            outcome.status = Some(format!(
                "paste cut to {} KiB: the input holds at most {} KiB",
                end / 1024,
                MAX_INPUT_BYTES / 1024
            ));
        }
        if end > 0 {
            self.editor.insert_str(&text[..end]);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_is_capped_and_says_so() {
        let mut input = Input::default();
        assert_eq!(input.paste("a\r\nb"), Outcome::focus(Focus::Input));
        assert_eq!(input.text(), "a\nb");
        let outcome = input.paste(&"é".repeat(MAX_INPUT_BYTES));
        assert!(outcome.status.unwrap().starts_with("paste cut"));
        assert!(input.text().len() <= MAX_INPUT_BYTES);
        input.clear();
        assert_eq!(input.text(), "");
    }
}
