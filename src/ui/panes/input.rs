//! The message input (a `TextArea`), with a title hinting the keys.
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use ratatui::Frame;

use crate::app::{Action, AppState, Focus};
use crate::ui::theme;
use crate::ui::wrap::char_width;

/// Screen rows the input text wants at `width` columns (capped: enough to size the box).
pub fn wanted_rows(state: &AppState, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let mut rows = 0usize;
    for line in state.input.editor.lines() {
        let w: usize = line.chars().map(char_width).sum();
        rows += w.div_ceil(width).max(1);
        if rows >= 16 {
            break;
        }
    }
    rows.min(16) as u16
}

fn title(state: &AppState) -> Line<'static> {
    let t = state.theme;
    let label = |a| state.keymap.label_for(a).unwrap_or_default();
    let focused = state.focus == Focus::Input;
    let mut spans = vec![
        Span::styled(" Message ", theme::title(t, focused)),
        Span::styled(
            format!(
                "· {} send · {} newline ",
                label(Action::Send),
                label(Action::NewLine)
            ),
            theme::dim(t),
        ),
    ];
    // `/json`, `/regex`, `/plain` or the profile's keys: what the next reply must be.
    if let Some(output) = state.output.label(state.configured_output().as_deref()) {
        spans.push(Span::styled(
            format!("· {output} "),
            theme::title(t, focused),
        ));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, state: &mut AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let focused = state.focus == Focus::Input;
    let block = Block::bordered()
        .title(title(state))
        .border_style(theme::border(t, focused));
    state.input.editor.set_block(block);
    state.input.editor.set_cursor_style(if focused {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    });
    frame.render_widget(&state.input.editor, area);
}
