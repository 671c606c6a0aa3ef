//! Drawing: `draw` lays the panes out and renders them from `AppState`. No IO, no terminal setup.
pub mod layout;
pub mod panes;
pub mod theme;
pub mod wrap;

use ratatui::Frame;

use crate::app::AppState;

/// Draw the whole dashboard. `state` is mutable only for scroll bookkeeping and the input widget.
pub fn draw(frame: &mut Frame, state: &mut AppState) {
    let area = frame.area();
    if area.area() == 0 {
        return;
    }
    let areas = layout::compute_with(area, state.show_log, state.show_sampler, |w| {
        panes::input::wanted_rows(state, w)
    });
    panes::chat::render(frame, areas.chat, state);
    panes::input::render(frame, areas.input, state);
    panes::graphs::render_token_rate(frame, areas.token_chart, state);
    panes::graphs::render_system(frame, areas.system_chart, state);
    if state.show_log {
        panes::log::render(frame, areas.log, state);
    }
    if state.show_sampler {
        panes::sampler::render(frame, areas.sampler, state);
    }
    if state.rag.show {
        panes::rag::render(frame, areas.chat, state);
    }
    panes::status::render(frame, areas.status, state);
    if state.inspector.open {
        panes::inspector::render(frame, area, state);
    }
    if let Some(picker) = &state.picker {
        panes::picker::render(frame, area, picker);
    }
    if state.bench.open {
        panes::bench::render(frame, area, state);
    }
    if state.ab.open {
        panes::ab::render(frame, area, state);
    }
    if state.show_help {
        (state.help_scroll, state.help_page) =
            panes::help::render(frame, area, &state.keymap, state.help_scroll);
    }
}
