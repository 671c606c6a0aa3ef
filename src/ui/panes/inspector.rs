//! The sampler inspector (F3): for one token of a reply, the model's top candidates next to the
//! distribution the chain drew from, with the entropy, the temperature used and Mirostat's mu.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::app::{Action, AppState, Focus};
use crate::sampling::{SampleTrace, TraceCandidate};
use crate::ui::panes::help::centered;
use crate::ui::theme::{self, Theme};
use crate::ui::wrap::sanitize;

/// A token's text as one visible cell run: control characters shown, never a raw newline.
pub fn token_label(text: &str, id: u32) -> String {
    if text.is_empty() {
        return format!("#{id}");
    }
    let shown: String = text
        .chars()
        .map(|c| match c {
            '\n' => '⏎',
            '\t' => '⇥',
            ' ' => '·',
            c => c,
        })
        .collect();
    sanitize(&shown)
}

/// The summary lines above the two columns.
pub fn summary_lines(
    t: Theme,
    trace: &SampleTrace,
    reply: usize,
    replies: usize,
    token: usize,
    tokens: usize,
) -> Vec<Line<'static>> {
    let mu = trace
        .mu
        .map_or_else(|| "off".to_string(), |m| format!("{m:.2} bits"));
    let temp = if trace.temperature <= 0.0 {
        "0 (greedy)".to_string()
    } else {
        format!("{:.3}", trace.temperature)
    };
    vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "reply {}/{replies}  token {}/{tokens}  ",
                    reply + 1,
                    token + 1
                ),
                theme::dim(t),
            ),
            Span::styled(
                format!("“{}”", token_label(&trace.token_text, trace.token)),
                Style::default()
                    .fg(t.assistant)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "  p {:.3}  surprise {:.2} bits",
                trace.prob, trace.surprise
            )),
        ]),
        Line::from(format!(
            "entropy {:.2} → {:.2} bits   temperature {temp}   mirostat mu {mu}   {} candidates",
            trace.entropy_before, trace.entropy_after, trace.candidates
        )),
    ]
}

/// `text` cut and padded to exactly `cols` terminal columns: a wide (CJK) character takes two, so
/// counting chars would push the bars out of line.
fn fit_columns(text: &str, cols: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = Span::raw(ch.to_string()).width();
        if used + w > cols {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', cols - used));
    out
}

fn column(
    t: Theme,
    title: &str,
    cands: &[TraceCandidate],
    chosen: u32,
    width: u16,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(title.to_string(), theme::title(t, true))];
    let bar_w = usize::from(width.saturating_sub(26)).clamp(1, 30);
    for c in cands {
        let filled = ((c.prob.clamp(0.0, 1.0) * bar_w as f32).round() as usize).min(bar_w);
        let style = if c.id == chosen {
            Style::default()
                .fg(t.assistant)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        let label = fit_columns(&token_label(&c.text, c.id), 12);
        lines.push(Line::from(vec![
            Span::styled(format!("{label} {:>6.2}% ", c.prob * 100.0), style),
            Span::styled("█".repeat(filled), Style::default().fg(t.accent)),
        ]));
    }
    lines
}

/// The keys along the bottom border, from the keymap in use.
pub fn footer(state: &AppState) -> String {
    let k = |a| state.hint(Focus::Inspector, a);
    format!(
        " {}/{} token · {}/{} reply · {}/{} · {} closes ",
        k(Action::InspectPrevToken),
        k(Action::InspectNextToken),
        k(Action::InspectPrevReply),
        k(Action::InspectNextReply),
        k(Action::InspectFirstToken),
        k(Action::InspectLastToken),
        k(Action::ToggleInspector)
    )
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let popup = centered(area, 110, 18);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Sampler inspector ", theme::title(t, true)))
        .title_bottom(Line::styled(footer(state), theme::dim(t)))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    if inner.area() == 0 {
        return;
    }
    let insp = &state.inspector;
    let Some((reply, trace)) = insp.current() else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "No traced tokens yet: send a message, then inspect its reply here.",
                theme::dim(t),
            )),
            inner,
        );
        return;
    };
    let [head, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Paragraph::new(summary_lines(
            t,
            trace,
            insp.reply,
            insp.replies.len(),
            insp.token,
            reply.tokens.len(),
        )),
        head,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    frame.render_widget(
        Paragraph::new(column(
            t,
            "before the chain (model)",
            &trace.before,
            trace.token,
            left.width,
        )),
        left,
    );
    frame.render_widget(
        Paragraph::new(column(
            t,
            "after the chain (drawn from)",
            &trace.after,
            trace.token,
            right.width,
        )),
        right,
    );
}

#[cfg(test)]
mod tests {
    use super::fit_columns;

    #[test]
    fn labels_fill_the_same_columns_whatever_their_script() {
        assert_eq!(fit_columns("ab", 4), "ab  ");
        // Two wide characters take four columns.
        assert_eq!(fit_columns("経営", 5), "経営 ");
        // A wide character that would overflow is left out rather than split.
        assert_eq!(fit_columns("a経営", 4), "a経 ");
    }
}
