//! The log pane (Ctrl-G): the last log lines, whether the pane shows and its scroll position.
use std::collections::VecDeque;

use super::events::LogLine;
use super::view::ScrollState;

/// Log lines kept for the log pane.
pub const LOG_CAPACITY: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct LogPane {
    pub open: bool,
    pub scroll: ScrollState,
    pub lines: VecDeque<LogLine>,
}

impl Default for LogPane {
    fn default() -> Self {
        Self {
            open: false,
            scroll: ScrollState::default(),
            lines: VecDeque::with_capacity(LOG_CAPACITY),
        }
    }
}

impl LogPane {
    /// Keeps the newest [`LOG_CAPACITY`] lines.
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() >= LOG_CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}
