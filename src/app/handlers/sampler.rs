//! The dashboard-level side of `app::sampler`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/sampler.rs`, which imports nothing
//! of `AppState`.

#[cfg(test)]
mod state_tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::app::sampler::Param;
    use crate::app::{AppEvent, AppState, Effect, Focus};
    use crate::sampling::SamplerParams;

    fn key(code: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn the_pane_edits_parameters_and_configures_the_sampler() {
        let now = Instant::now();
        let mut s = AppState::new();
        assert!(s.handle(key(KeyCode::F(2)), now).is_empty());
        assert!(s.sampler.open);
        assert_eq!(s.focus, Focus::Sampler);
        // Temperature is the first row: Right raises it by 0.05 and configures the actor.
        match s.handle(key(KeyCode::Right), now).as_slice() {
            [Effect::ConfigureSampler(p)] => assert!((p.temperature - 0.85).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
        // Down to top-k, then '-' lowers it.
        for _ in 0..3 {
            s.handle(key(KeyCode::Down), now);
        }
        assert_eq!(s.sampler.selected(), Param::TopK);
        match s.handle(key(KeyCode::Char('-')), now).as_slice() {
            [Effect::ConfigureSampler(p)] => assert_eq!(p.top_k, 35),
            other => panic!("{other:?}"),
        }
        // Up from the first row wraps to the last.
        for _ in 0..4 {
            s.handle(key(KeyCode::Up), now);
        }
        assert_eq!(s.sampler.selected(), Param::MirostatEta);
        // 'd' restores the defaults (one effect), a second 'd' changes nothing.
        assert_eq!(s.handle(key(KeyCode::Char('d')), now).len(), 1);
        assert_eq!(s.sampler.params, SamplerParams::default());
        assert!(s.handle(key(KeyCode::Char('d')), now).is_empty());
        // At a bound nothing is sent.
        s.sampler.row = 0;
        s.sampler.params.temperature = 5.0;
        assert!(s.handle(key(KeyCode::Right), now).is_empty());
        // F2 again hides the pane and gives focus back to the input.
        s.handle(key(KeyCode::F(2)), now);
        assert!(!s.sampler.open);
        assert_eq!(s.focus, Focus::Input);
    }
}
