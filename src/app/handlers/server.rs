//! The dashboard-level side of `app::server`: its keys, and (once the serve actor reports) its
//! events folded into [`AppState`]. The pane's own state lives in `app/server.rs`, which imports
//! nothing of `AppState`.
impl crate::app::AppState {
    /// The server pane is modal while open: its keys, help and Ctrl-C; nothing else.
    pub(crate) fn on_server_key(
        &mut self,
        key: crossterm::event::KeyEvent,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        use crate::app::Action as A;
        match self
            .keymap
            .lookup(crate::app::Focus::Server.contexts(), &key)
        {
            Some(a @ (A::ForceQuitArm | A::ToggleHelp | A::ToggleServer | A::ServerStartStop)) => {
                self.apply(a, now)
            }
            _ => vec![],
        }
    }
}
