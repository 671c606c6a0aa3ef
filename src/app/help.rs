//! The key help overlay (F1): how far it is scrolled (the layer stack says whether it is open).
use crossterm::event::{KeyCode, KeyEvent};

use super::outcome::{Ctx, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpOverlay {
    /// Rows the help is scrolled down (when it is taller than the screen).
    pub scroll: u16,
    /// Rows of the help in view at the last render (PgUp/PgDn move this many).
    pub page: u16,
}

impl Default for HelpOverlay {
    fn default() -> Self {
        Self {
            scroll: 0,
            page: 10,
        }
    }
}

impl HelpOverlay {
    /// A key while open: the arrows and page keys scroll it (the render clamps), any other key
    /// closes it.
    pub fn handle_key(&mut self, key: &KeyEvent, _ctx: &Ctx) -> Outcome {
        let page = self.page.max(1);
        match key.code {
            KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down => self.scroll = self.scroll.saturating_add(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(page),
            KeyCode::Home => self.scroll = 0,
            _ => {
                self.scroll = 0;
                return Outcome::close();
            }
        }
        Outcome::default()
    }
}
