//! The dashboard-level side of `app::ab`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/ab.rs`, which imports nothing
//! of `AppState`.
impl crate::app::AppState {
    /// The A/B panes are modal while open: their keys, help and Ctrl-C; nothing else.
    pub(crate) fn on_ab_key(
        &mut self,
        key: crossterm::event::KeyEvent,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        use crate::app::Action as A;
        match self.keymap.lookup(crate::app::Focus::Ab.contexts(), &key) {
            Some(
                a @ (A::ForceQuitArm
                | A::ToggleHelp
                | A::ToggleAb
                | A::AbPrevA
                | A::AbNextA
                | A::AbPrevB
                | A::AbNextB
                | A::AbStart
                | A::AbCancel),
            ) => self.apply(a, now),
            _ => vec![],
        }
    }

    pub(crate) fn apply_ab(
        &mut self,
        action: crate::app::Action,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        self.run(
            Some(crate::app::Layer::Ab),
            |s| &mut s.ab,
            |pane, ctx| pane.handle(action, ctx),
            now,
        )
    }
}
