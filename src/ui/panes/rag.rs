//! The RAG pane (F6): for the last prompt, exactly which memories were injected, each with its
//! relevance, recency and importance, its final score and its token cost, plus `/add` progress.
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::rag::RagState;
use crate::app::{Action, Focus, Keymap};
use crate::ui::theme;
use crate::ui::theme::Theme;
use crate::ui::wrap::sanitize;

/// The pane covers the right part of `area` (the chat), or all of it when the chat is narrow.
pub fn pane_area(area: Rect) -> Rect {
    let width = if area.width < 100 {
        area.width
    } else {
        area.width * 11 / 20
    };
    Rect {
        x: area.x + area.width - width,
        y: area.y,
        width,
        height: area.height,
    }
}

/// The pane's text lines (also what tests read).
pub fn lines(rag: &RagState, t: Theme, keymap: &Keymap) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let switch_key = keymap.hint(Focus::Input.contexts(), Action::ToggleRagNextMessage);
    let switch = match (rag.available, rag.next_message) {
        (false, _) => "off for this profile".to_string(),
        (true, true) => format!("on for the next message ({switch_key}: off)"),
        (true, false) => format!("off for the next message ({switch_key}: on)"),
    };
    out.push(Line::from(vec![
        Span::styled("RAG ", theme::dim(t)),
        Span::raw(switch),
    ]));
    if let Some(n) = rag.memories {
        out.push(Line::styled(format!("{n} memories stored"), theme::dim(t)));
    }
    if let Some(why) = &rag.last_without {
        out.push(Line::styled(
            format!("last message: no context ({why})"),
            theme::dim(t),
        ));
    }
    let Some(last) = &rag.last else {
        out.push(Line::raw(""));
        out.push(Line::styled(
            "No context yet: send a message with RAG on; /add PATH and /remember TEXT add memories.",
            theme::dim(t),
        ));
        return out;
    };
    let ctx = &last.context;
    out.push(Line::from(vec![
        Span::styled("prompt ", theme::dim(t)),
        Span::raw(format!("“{}”", sanitize(&preview(&last.query, 40)))),
    ]));
    out.push(Line::from(format!(
        "{} memories, {} of {} tokens",
        ctx.memories.len(),
        ctx.tokens,
        ctx.budget
    )));
    out.push(Line::styled(
        " #  rel   rec   imp   score  tok  source",
        Style::default().add_modifier(Modifier::BOLD),
    ));
    for (i, m) in ctx.memories.iter().enumerate() {
        out.push(Line::from(format!(
            "{:>2}  {:.2}  {:.2}  {:.2}  {:.3}  {:>4}  {}{}",
            i + 1,
            m.relevance,
            m.recency,
            m.importance,
            m.score,
            m.tokens,
            sanitize(&m.source),
            if m.truncated { " (cut)" } else { "" }
        )));
        out.push(Line::styled(
            format!("    {}", sanitize(&preview(&m.text, 70))),
            theme::dim(t),
        ));
    }
    if ctx.memories.is_empty() {
        out.push(Line::styled("no memory was relevant enough", theme::dim(t)));
    }
    out
}

fn preview(text: &str, n: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// Draws the pane from the RAG component's state; the key hints come from `keymap`.
pub fn render(frame: &mut Frame, area: Rect, rag: &RagState, t: Theme, keymap: &Keymap) {
    let area = pane_area(area);
    if area.width < 4 || area.height < 3 {
        return;
    }
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(format!(
        " RAG: last prompt ({}) ",
        keymap.hint(Focus::Input.contexts(), Action::ToggleRagPane)
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut text_area = inner;
    if let Some(p) = &rag.ingest {
        if inner.height > 2 {
            let gauge_area = Rect { height: 1, ..inner };
            let ratio = if p.total == 0 {
                0.0
            } else {
                p.done as f64 / p.total as f64
            };
            let label = format!(
                "adding {}/{} {}",
                p.done,
                p.total,
                sanitize(&preview(&p.current, 30))
            );
            frame.render_widget(
                Gauge::default().ratio(ratio.clamp(0.0, 1.0)).label(label),
                gauge_area,
            );
            text_area = Rect {
                y: inner.y + 1,
                height: inner.height - 1,
                ..inner
            };
        }
    }
    frame.render_widget(
        Paragraph::new(lines(rag, t, keymap)).wrap(Wrap { trim: false }),
        text_area,
    );
}
