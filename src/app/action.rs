//! Which pane has focus, and so which keymap contexts are in force. The keymap itself (actions,
//! contexts, chords, keymap.toml) is config: [`crate::config::keymap`].
pub use crate::config::keymap::{Action, Binding, KeyChord, KeyContext, Keymap};

/// Which pane has keyboard focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Focus {
    #[default]
    Input,
    Chat,
    Log,
    /// The sampler pane (F2).
    Sampler,
    /// The sampler inspector overlay (F3), modal while open.
    Inspector,
    /// A picker overlay (profiles, templates, conversations), modal while open.
    Picker,
    /// The bench pane (F4), modal while open.
    Bench,
    /// The A/B panes (F5), modal while open.
    Ab,
    /// The server pane (F8), modal while open.
    Server,
}

impl Focus {
    pub fn name(self) -> &'static str {
        match self {
            Focus::Input => "input",
            Focus::Chat => "chat",
            Focus::Log => "log",
            Focus::Sampler => "sampler",
            Focus::Inspector => "inspector",
            Focus::Picker => "picker",
            Focus::Bench => "bench",
            Focus::Ab => "a/b",
            Focus::Server => "server",
        }
    }
}

impl Focus {
    /// The keymap contexts in force while `self` has focus, the most specific first.
    pub fn contexts(self) -> &'static [KeyContext] {
        match self {
            Focus::Input => &[KeyContext::Input, KeyContext::Global],
            Focus::Chat => &[KeyContext::Chat, KeyContext::Panes, KeyContext::Global],
            Focus::Log => &[KeyContext::Panes, KeyContext::Global],
            Focus::Sampler => &[KeyContext::Sampler, KeyContext::Global],
            Focus::Inspector => &[KeyContext::Inspector, KeyContext::Global],
            Focus::Picker => &[KeyContext::Picker, KeyContext::Global],
            Focus::Bench => &[KeyContext::Bench, KeyContext::Global],
            Focus::Ab => &[KeyContext::Ab, KeyContext::Global],
            Focus::Server => &[KeyContext::Server, KeyContext::Global],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn lookup_respects_focus() {
        let km = Keymap::default();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Focus::Chat.contexts(), &q), Some(Action::Quit));
        assert_eq!(km.lookup(Focus::Input.contexts(), &q), None);
        assert_eq!(km.lookup(Focus::Log.contexts(), &q), None);
        let help = key(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(
            km.lookup(Focus::Chat.contexts(), &help),
            Some(Action::ToggleHelp)
        );
        assert_eq!(km.lookup(Focus::Input.contexts(), &help), None);
        let f1 = key(KeyCode::F(1), KeyModifiers::NONE);
        assert_eq!(
            km.lookup(Focus::Input.contexts(), &f1),
            Some(Action::ToggleHelp)
        );
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(
            km.lookup(Focus::Input.contexts(), &enter),
            Some(Action::Send)
        );
        let alt_enter = key(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(
            km.lookup(Focus::Input.contexts(), &alt_enter),
            Some(Action::NewLine)
        );
        let ctrl_c = key(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(
            km.lookup(Focus::Log.contexts(), &ctrl_c),
            Some(Action::ForceQuitArm)
        );
        let backtab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            km.lookup(Focus::Chat.contexts(), &backtab),
            Some(Action::FocusPrev)
        );
    }
}
