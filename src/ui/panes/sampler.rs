//! The sampler pane (F2): the active chain, then every parameter; the selected one is edited with
//! Left/Right and applies from the next token.
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::sampler::SamplerForm;
use crate::app::Param;
use crate::sampling::{Mirostat, SamplerParams};
use crate::ui::theme::{self, Theme};

/// The chain as one line of names, inactive stages dimmed: "penalties → top_k → … → dist".
pub fn chain_spans(t: Theme, p: &SamplerParams) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for kind in p.chain() {
        let style = if p.is_active(kind) {
            Style::default().fg(t.accent)
        } else {
            theme::dim(t)
        };
        spans.push(Span::styled(kind.name(), style));
        spans.push(Span::styled(" → ", theme::dim(t)));
    }
    let last = match p.mirostat {
        Mirostat::Off => "dist",
        Mirostat::V1 => "mirostat v1",
        Mirostat::V2 => "mirostat v2",
    };
    spans.push(Span::styled(last, Style::default().fg(t.assistant)));
    spans
}

/// Whether a parameter currently changes anything (shown dimmed otherwise).
fn param_active(param: Param, p: &SamplerParams) -> bool {
    match param.stage() {
        Some(kind) => p.chain().contains(&kind) && p.is_active(kind),
        None => param == Param::Mirostat || p.mirostat != Mirostat::Off,
    }
}

/// Draws the form from its own state; `focused` highlights the selected row.
pub fn render(frame: &mut Frame, area: Rect, form: &SamplerForm, t: Theme, focused: bool) {
    if area.area() == 0 {
        return;
    }
    let p = &form.params;
    let seed = p
        .seed
        .map_or_else(|| "random".to_string(), |s| s.to_string());
    let block = Block::bordered()
        .title(Line::styled(" Sampler ", theme::title(t, focused)))
        .title_bottom(Line::styled(format!(" seed {seed} "), theme::dim(t)))
        .title_bottom(match &form.not_applied {
            Some((backend, settings)) => Line::styled(
                format!(" not applied by {backend}: {} ", settings.join(", ")),
                Style::default().fg(t.error),
            ),
            None => Line::raw(""),
        })
        .border_style(theme::border(t, focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.area() == 0 {
        return;
    }
    // The chain wraps over as many rows as it needs (at most four), then a blank row.
    let chain = Line::from(chain_spans(t, p));
    // Word wrapping leaves up to one name's width unused per row.
    let usable = inner.width.saturating_sub(12).max(1);
    let chain_rows = (chain.width() as u16)
        .div_ceil(usable)
        .clamp(1, 4)
        .min(inner.height);
    let chain_area = Rect {
        height: chain_rows,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(chain).wrap(ratatui::widgets::Wrap { trim: true }),
        chain_area,
    );
    let inner = Rect {
        y: inner.y + chain_rows,
        height: inner.height - chain_rows,
        ..inner
    };
    if inner.height <= 1 {
        return;
    }
    let mut lines = vec![Line::default()];
    let rows = usize::from(inner.height).saturating_sub(lines.len()).max(1);
    // Keep the selected row visible.
    let sel = form.row.min(Param::ALL.len() - 1);
    let first = sel.saturating_sub(rows - 1);
    for (i, param) in Param::ALL.iter().enumerate().skip(first).take(rows) {
        let selected = i == sel;
        let mut name_style = if param_active(*param, p) {
            Style::default()
        } else {
            theme::dim(t)
        };
        let mut value_style = name_style.add_modifier(Modifier::BOLD);
        if selected && focused {
            name_style = name_style.add_modifier(Modifier::REVERSED);
            value_style = value_style.add_modifier(Modifier::REVERSED);
        }
        let marker = if selected { "▸ " } else { "  " };
        lines.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(format!("{:<19}", param.name()), name_style),
            Span::styled(format!("{:>8}", param.show(p)), value_style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
