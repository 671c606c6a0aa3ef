//! The dashboard-level side of `app::ab`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/ab.rs`, which imports nothing
//! of `AppState`.
use crate::app::outcome::Ctx;

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
        let input = self.input_text();
        let ctx = Ctx {
            keymap: &self.keymap,
            input: &input,
            active_profile: &self.profiles.active,
            generating: self.running.is_some(),
            engine_idle: matches!(self.engine, crate::app::EngineStatus::Idle),
            bench_running: self.bench.running(),
        };
        let outcome = self.ab.handle(action, &ctx);
        self.take(outcome, now)
    }
}
