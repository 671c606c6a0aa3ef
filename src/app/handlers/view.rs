//! The dashboard-level side of `app::view`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/view.rs`, which imports nothing
//! of `AppState`.
use crate::app::action::{Action, Focus};
use crate::app::effect::Effect;
use crate::app::state::AppState;
use crossterm::event::KeyEvent;
use std::time::Instant;

impl AppState {
    /// A key while the help overlay (top-most, modal) is open: Ctrl-C still works, the arrows
    /// and page keys scroll it (the render clamps), any other key closes it.
    pub(crate) fn help_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if self.keymap.lookup(Focus::Input.contexts(), &key) == Some(Action::ForceQuitArm) {
            return self.apply(Action::ForceQuitArm, now);
        }
        let help = Some(crate::app::layers::Layer::Help);
        self.run(help, |s| &mut s.help, |h, ctx| h.handle_key(&key, ctx), now)
    }
}
