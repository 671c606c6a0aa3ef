//! The log pane (Ctrl-G): tracing records, newest at the bottom.
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::{AppState, Focus};
use crate::ui::{theme, wrap::sanitize};

pub fn render(frame: &mut Frame, area: Rect, state: &mut AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let focused = state.focus == Focus::Log;
    let block = Block::bordered()
        .title(Line::styled(
            format!(" Log ({}) ", state.log.lines.len()),
            theme::title(t, focused),
        ))
        .border_style(theme::border(t, focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.area() == 0 {
        return;
    }
    let height = usize::from(inner.height);
    let top = state.log.scroll.resolve(state.log.lines.len(), height);
    let lines: Vec<Line> = state
        .log
        .lines
        .iter()
        .skip(top)
        .take(height)
        .map(|l| {
            Line::from(vec![
                Span::styled(format!("{:<5} ", l.level), theme::log_level(l.level)),
                // The message first: a narrow pane cuts the line, and the module path matters least.
                Span::raw(sanitize(&l.message).replace('\n', " ⏎ ")),
                Span::styled(format!("  {}", short_target(&l.target)), theme::dim(t)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The module that logged, in brief: `gemma_tui::actors::inference::actor` is `inference`.
fn short_target(target: &str) -> &str {
    let mut parts = target.rsplit("::");
    match (parts.next(), parts.next()) {
        (Some("actor"), Some(parent)) => parent,
        (Some(last), _) => last,
        _ => target,
    }
}
