//! The dashboard-level side of `app::bench`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/bench.rs`, which imports nothing
//! of `AppState`.
use crate::actors::bench::BenchEvent;

impl crate::app::AppState {
    /// Folds a bench actor event into the bench pane or the A/B panes.
    pub(crate) fn on_bench_event(&mut self, event: BenchEvent) -> Option<String> {
        match event {
            BenchEvent::Profiles(p) => {
                self.ab.set_profiles(p);
                None
            }
            BenchEvent::Ab(u) => {
                self.ab.update(u);
                None
            }
            BenchEvent::AbDone(error) => {
                let text = error
                    .as_ref()
                    .map(|e| format!("A/B failed: {e}"))
                    .unwrap_or_else(|| "A/B replies done".into());
                self.ab.finish(error);
                Some(text)
            }
            other => self.bench.on_event(other),
        }
    }

    /// The bench pane is modal while open: its keys, help and Ctrl-C; nothing else.
    pub(crate) fn on_bench_key(
        &mut self,
        key: crossterm::event::KeyEvent,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        use crate::app::Action as A;
        let action = self
            .keymap
            .lookup(crate::app::Focus::Bench.contexts(), &key);
        match action {
            Some(
                a @ (A::ForceQuitArm
                | A::ToggleHelp
                | A::ToggleBench
                | A::BenchPrevSuite
                | A::BenchNextSuite
                | A::BenchStart
                | A::BenchCancel
                | A::BenchToggleView
                | A::BenchPinBaseline),
            ) => self.apply(a, now),
            _ => vec![],
        }
    }

    pub(crate) fn apply_bench(
        &mut self,
        action: crate::app::Action,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        self.run(
            Some(crate::app::Layer::Bench),
            |s| &mut s.bench,
            |pane, ctx| pane.handle(action, ctx),
            now,
        )
    }
}
