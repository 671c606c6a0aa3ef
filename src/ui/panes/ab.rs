//! The A/B panes (F5): one prompt, two replies side by side under two profiles, each titled with
//! its profile, token count and live rate.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::ab::AbSideView;
use crate::app::AppState;
use crate::ui::panes::help::centered;
use crate::ui::theme;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let popup = centered(area, 140, 36);
    if popup.area() == 0 {
        return;
    }
    frame.render_widget(Clear, popup);
    let ab = &state.ab;
    let block = Block::bordered()
        .title(Line::styled(" A/B ", theme::title(true)))
        .title_bottom(Line::styled(
            " ←→ profile A · ↑↓ profile B · Enter stream the input's prompt · c stop · Esc close ",
            theme::dim(),
        ))
        .border_style(theme::border(true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let head_text = if let Some(m) = &ab.message {
        Line::styled(m.clone(), Style::default().fg(theme::current().error))
    } else if ab.prompt.is_empty() {
        Line::styled(
            "Type a prompt in the input, open this with F5, pick the profiles, press Enter.",
            theme::dim(),
        )
    } else {
        Line::raw(format!("prompt: {}", ab.prompt))
    };
    frame.render_widget(Paragraph::new(head_text).wrap(Wrap { trim: true }), head);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    for (side, (area, name)) in [(left, "A"), (right, "B")].into_iter().enumerate() {
        let view = &ab.sides[side];
        let profile = if view.profile.is_empty() || !ab.running && !view.done && view.tokens == 0 {
            ab.profile(side).unwrap_or("-").to_string()
        } else {
            view.profile.clone()
        };
        render_side(frame, area, name, &profile, view);
    }
}

fn render_side(frame: &mut Frame, area: Rect, name: &str, profile: &str, view: &AbSideView) {
    let rate = if view.tokens > 0 {
        format!(" · {} tokens · {:.1} tok/s", view.tokens, view.tok_s)
    } else {
        String::new()
    };
    let done = if view.done { " · done" } else { "" };
    let block = Block::bordered()
        .title(Line::styled(
            format!(" {name}: {profile}{rate}{done} "),
            theme::title(false),
        ))
        .border_style(theme::border(false));
    frame.render_widget(
        Paragraph::new(view.text.clone())
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
