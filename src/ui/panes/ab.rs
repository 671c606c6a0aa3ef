//! The A/B panes (F5): one prompt, two replies side by side under two profiles, each titled with
//! its profile, token count and live rate.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::ab::AbSideView;
use crate::app::{Action, AppState, Focus};
use crate::ui::panes::help::centered;
use crate::ui::theme::{self, Theme};

/// The keys along the bottom border, from the keymap in use.
pub fn footer(state: &AppState) -> String {
    let k = |a| state.hint(Focus::Ab, a);
    format!(
        " {}/{} profile A · {}/{} profile B · {} stream the input's prompt · {} stop · {} close ",
        k(Action::AbPrevA),
        k(Action::AbNextA),
        k(Action::AbPrevB),
        k(Action::AbNextB),
        k(Action::AbStart),
        k(Action::AbCancel),
        k(Action::ToggleAb)
    )
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    let popup = centered(area, 140, 36);
    if popup.area() == 0 {
        return;
    }
    frame.render_widget(Clear, popup);
    let ab = &state.ab;
    let block = Block::bordered()
        .title(Line::styled(" A/B ", theme::title(t, true)))
        .title_bottom(Line::styled(footer(state), theme::dim(t)))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let head_text = if let Some(m) = &ab.message {
        Line::styled(m.clone(), Style::default().fg(t.error))
    } else if ab.prompt.is_empty() {
        Line::styled(
            format!(
                "Type a prompt in the input, open this with {}, pick the profiles, press {}.",
                state.hint(Focus::Input, Action::ToggleAb),
                state.hint(Focus::Ab, Action::AbStart)
            ),
            theme::dim(t),
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
        render_side(t, frame, area, name, &profile, view);
    }
}

fn render_side(
    t: Theme,
    frame: &mut Frame,
    area: Rect,
    name: &str,
    profile: &str,
    view: &AbSideView,
) {
    let rate = if view.tokens > 0 {
        format!(" · {} tokens · {:.1} tok/s", view.tokens, view.tok_s)
    } else {
        String::new()
    };
    let done = if view.done { " · done" } else { "" };
    let block = Block::bordered()
        .title(Line::styled(
            format!(" {name}: {profile}{rate}{done} "),
            theme::title(t, false),
        ))
        .border_style(theme::border(t, false));
    frame.render_widget(
        Paragraph::new(view.text.clone())
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
