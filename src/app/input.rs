//! The message input's paste handling (the input itself is a ratatui-textarea in `AppState`).
use std::time::Instant;

use super::action::Focus;
use super::state::{AppState, MAX_INPUT_BYTES};

impl AppState {
    /// Insert pasted text into the input, capping the input at [`MAX_INPUT_BYTES`].
    pub(crate) fn paste(&mut self, text: &str, now: Instant) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let used: usize = self.input.lines().iter().map(|l| l.len() + 1).sum();
        let room = MAX_INPUT_BYTES.saturating_sub(used);
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            self.set_status(
                format!(
                    "paste cut to {} KiB: the input holds at most {} KiB",
                    end / 1024,
                    MAX_INPUT_BYTES / 1024
                ),
                now,
            );
        }
        self.focus = Focus::Input;
        if end > 0 {
            self.input.insert_str(&text[..end]);
        }
    }
}
