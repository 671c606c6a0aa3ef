//! The conversation: wrapped messages with role labels, a streaming cursor, scrolling.
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph};
use ratatui::Frame;

use crate::app::{AppState, ChatMessage, EngineStatus, Focus};
use crate::ui::theme;
use crate::ui::wrap::{sanitize, wrap};

/// Shown at the end of a message that is still streaming.
pub const STREAM_CURSOR: char = '▍';

fn stats_line(m: &ChatMessage) -> Option<String> {
    let s = m.stats.as_ref()?;
    let mut parts = vec![format!("{} tokens", s.generated_tokens)];
    if s.decode_tok_s > 0.0 {
        parts.push(format!("{:.1} tok/s", s.decode_tok_s));
    }
    if let Some(a) = s.draft_acceptance {
        // Exact drafting's acceptance rate, beside the rate it explains.
        parts.push(format!("draft {:.0}% kept", a * 100.0));
    }
    if s.ttft_ms > 0.0 {
        parts.push(format!("ttft {:.0} ms", s.ttft_ms));
    }
    if s.prefill_tok_s > 0.0 {
        parts.push(format!(
            "prefill {} tok @ {:.0} tok/s",
            s.prompt_tokens, s.prefill_tok_s
        ));
    }
    Some(parts.join(" · "))
}

/// All lines of the conversation wrapped to `width`.
pub fn chat_lines(state: &AppState, width: u16) -> Vec<Line<'static>> {
    let t = state.theme;
    let width = usize::from(width.max(1));
    let mut lines = Vec::new();
    for (i, m) in state.chat.messages.iter().enumerate() {
        if i > 0 {
            lines.push(Line::default());
        }
        let mut header = vec![Span::styled(m.role.label(), theme::role(t, m.role))];
        if m.streaming && m.text.is_empty() {
            let what = match state.engine {
                EngineStatus::Prefill => " reading the prompt…",
                _ => " thinking…",
            };
            header.push(Span::styled(what, theme::dim(t)));
        }
        lines.push(Line::from(header));
        let mut text = sanitize(&m.text);
        if m.streaming {
            text.push(STREAM_CURSOR);
        }
        if !text.is_empty() {
            let style = theme::body(t, m.role);
            lines.extend(
                wrap(&text, width)
                    .into_iter()
                    .map(|l| Line::styled(l, style)),
            );
        }
        if let Some(s) = stats_line(m) {
            lines.extend(
                wrap(&s, width)
                    .into_iter()
                    .map(|l| Line::styled(l, theme::dim(t))),
            );
        }
    }
    lines
}

fn empty_hint(state: &AppState) -> Vec<Line<'static>> {
    let t = state.theme;
    let help = state.hint(Focus::Input, crate::app::Action::ToggleHelp);
    let mut v = vec![
        Line::default(),
        Line::styled("  Say something to Gemma.", theme::dim(t)),
        Line::styled(format!("  {help} lists the keys."), theme::dim(t)),
    ];
    if let EngineStatus::Loading { message, .. } = &state.engine {
        v.push(Line::styled(
            format!("  {}", sanitize(message)),
            theme::dim(t),
        ));
    }
    v
}

pub fn render(frame: &mut Frame, area: Rect, state: &mut AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let focused = state.focus == Focus::Chat;
    let mut title = vec![Span::styled(" Chat ", theme::title(t, focused))];
    if !state.chat.scroll.follow {
        let follow = state.hint(Focus::Chat, crate::app::Action::ScrollToBottom);
        title.push(Span::styled(
            format!("↑ scrolled · {follow} follows "),
            theme::dim(t),
        ));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme::border(t, focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.area() == 0 {
        return;
    }
    let lines = if state.chat.messages.is_empty() {
        empty_hint(state)
    } else {
        chat_lines(state, inner.width)
    };
    let height = usize::from(inner.height);
    let top = state.chat.scroll.resolve(lines.len(), height);
    let visible: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(visible), inner);
    render_load_gauge(frame, inner, state);
    render_switch_gauge(frame, area, state);
}

/// While another model loads in the background: a gauge on the pane's bottom border, where it
/// hides none of the chat (the old model keeps streaming replies above it).
fn render_switch_gauge(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    let Some((fraction, message)) = state.switch_gauge() else {
        return;
    };
    if area.height < 3 || area.width < 16 {
        return;
    }
    let area = Rect {
        x: area.x + 2,
        y: area.y + area.height - 1,
        width: (area.width - 4).min(72),
        height: 1,
    };
    let gauge = LineGauge::default()
        .ratio(fraction)
        .label(format!("{:>3.0}% {}", fraction * 100.0, sanitize(&message)))
        .filled_style(ratatui::style::Style::default().fg(t.accent));
    frame.render_widget(gauge, area);
}

/// While the model is fetched or loaded: a gauge on the pane's last line.
fn render_load_gauge(frame: &mut Frame, inner: Rect, state: &AppState) {
    let t = state.theme;
    let EngineStatus::Loading { fraction, message } = &state.engine else {
        return;
    };
    if inner.height < 2 || inner.width < 10 {
        return;
    }
    let area = Rect {
        y: inner.y + inner.height - 1,
        height: 1,
        ..inner
    };
    let pct = (fraction.clamp(0.0, 1.0) * 100.0).round();
    let gauge = LineGauge::default()
        .ratio(fraction.clamp(0.0, 1.0))
        .label(format!("{pct:>3}% {}", sanitize(message)))
        .filled_style(ratatui::style::Style::default().fg(t.accent));
    frame.render_widget(gauge, area);
}
