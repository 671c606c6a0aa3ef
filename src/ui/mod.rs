//! Drawing: `draw` lays the panes out and renders them from `AppState`. No IO, no terminal setup.
pub mod layout;
pub mod panes;
pub mod theme;
pub mod wrap;

use ratatui::Frame;

use crate::app::{AppState, Layer};

/// Draw the whole dashboard. `state` is mutable only for scroll bookkeeping and the input widget.
pub fn draw(frame: &mut Frame, state: &mut AppState) {
    let area = frame.area();
    if area.area() == 0 {
        return;
    }
    let areas = layout::compute_with(area, state.log.open, state.sampler.open, |w| {
        panes::input::wanted_rows(state, w)
    });
    panes::chat::render(frame, areas.chat, state);
    panes::input::render(frame, areas.input, state);
    panes::graphs::render_token_rate(frame, areas.token_chart, state);
    panes::graphs::render_system(frame, areas.system_chart, state);
    if state.log.open {
        panes::log::render(frame, areas.log, state);
    }
    if state.sampler.open {
        let focused = state.focus == crate::app::Focus::Sampler;
        panes::sampler::render(frame, areas.sampler, &state.sampler, state.theme, focused);
    }
    if state.rag.show {
        panes::rag::render(frame, areas.chat, &state.rag, state.theme, &state.keymap);
    }
    panes::status::render(frame, areas.status, state);
    // Bottom to top: the same stack decides which overlay gets the keys (the top one).
    for layer in state.overlays() {
        match layer {
            Layer::Inspector => panes::inspector::render(frame, area, state),
            Layer::Picker => {
                if let Some(picker) = &state.picker {
                    panes::picker::render(state.theme, &state.keymap, frame, area, picker);
                }
            }
            Layer::Bench => panes::bench::render(frame, area, state),
            Layer::Ab => panes::ab::render(frame, area, state),
            Layer::Server => panes::server::render(frame, area, state),
            Layer::Help => {
                (state.help.scroll, state.help.page) =
                    panes::help::render(state.theme, frame, area, &state.keymap, state.help.scroll)
            }
        }
    }
}

/// The whole dashboard drawn on a `width` x `height` test terminal, as text (tests).
#[cfg(test)]
pub(crate) fn screen_text(state: &mut AppState, width: u16, height: u16) -> String {
    use ratatui::{backend::TestBackend, Terminal};
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, state)).unwrap();
    let buffer = terminal.backend().buffer();
    buffer
        .content()
        .chunks(buffer.area.width as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Action, AppEvent};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::time::Instant;

    fn open(state: &mut AppState, layer: Layer) {
        let action = match layer {
            Layer::Inspector => Action::ToggleInspector,
            Layer::Picker => Action::OpenTemplatePicker,
            Layer::Bench => Action::ToggleBench,
            Layer::Ab => Action::ToggleAb,
            Layer::Server => Action::ToggleServer,
            Layer::Help => Action::ToggleHelp,
        };
        state.apply(action, Instant::now());
        state.handle(AppEvent::Resize(100, 40), Instant::now());
    }

    fn title(layer: Layer) -> &'static str {
        match layer {
            Layer::Inspector => " Sampler inspector ",
            Layer::Picker => " Prompt templates ",
            Layer::Bench => " Benchmarks ",
            Layer::Ab => " A/B ",
            Layer::Server => " Server ",
            Layer::Help => " Keys ",
        }
    }

    fn screen(state: &mut AppState) -> String {
        screen_text(state, 100, 40)
    }

    /// For every overlay over every other: the one drawn on top is the one the keys go to (Esc
    /// closes it and only it), and once it closes, the one below is both again.
    #[test]
    fn the_overlay_drawn_on_top_is_the_one_that_gets_the_keys() {
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        for below in Layer::ALL {
            for top in Layer::ALL.into_iter().filter(|l| *l != below) {
                let mut s = AppState::new();
                open(&mut s, below);
                open(&mut s, top);
                assert_eq!(s.overlays(), vec![below, top]);
                assert_eq!(s.key_layer(), Some(top));
                let text = screen(&mut s);
                assert!(text.contains(title(top)), "{top:?} over {below:?}:\n{text}");
                s.handle(AppEvent::Key(esc), Instant::now());
                assert!(!s.is_open(top), "Esc went to {top:?}, the top");
                assert!(s.is_open(below), "{below:?} below stays open");
                assert_eq!(s.key_layer(), Some(below));
                assert!(screen(&mut s).contains(title(below)));
            }
        }
    }
}
