//! The help overlay: a table generated from the keymap, grouped by context.
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};
use ratatui::Frame;

use crate::app::{Action, KeyContext, Keymap};
use crate::ui::theme;

/// (context, "key / key", action) with the keys of one action in one context merged.
pub fn help_entries(keymap: &Keymap) -> Vec<(KeyContext, String, Action)> {
    let mut out: Vec<(KeyContext, String, Action)> = Vec::new();
    for (ctx, label, action) in keymap.bindings() {
        match out.iter_mut().find(|(c, _, a)| *c == ctx && *a == action) {
            Some(entry) => {
                entry.1.push_str(" / ");
                entry.1.push_str(&label);
            }
            None => out.push((ctx, label, action)),
        }
    }
    out
}

fn rows(keymap: &Keymap) -> Vec<Row<'static>> {
    let mut rows = Vec::new();
    let mut last: Option<KeyContext> = None;
    for (ctx, keys, action) in help_entries(keymap) {
        if last != Some(ctx) {
            if last.is_some() {
                rows.push(Row::new(vec![Cell::from("")]));
            }
            rows.push(
                Row::new(vec![Cell::from(ctx.name())])
                    .style(theme::title(true).add_modifier(Modifier::UNDERLINED)),
            );
            last = Some(ctx);
        }
        rows.push(Row::new(vec![
            Cell::from(keys).style(theme::title(false)),
            Cell::from(action.description()),
        ]));
    }
    rows
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x.saturating_add((area.width - width) / 2),
        y: area.y.saturating_add((area.height - height) / 2),
        width,
        height,
    }
}

pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap) {
    if area.area() == 0 {
        return;
    }
    let rows = rows(keymap);
    let key_w = help_entries(keymap)
        .iter()
        .map(|e| e.1.chars().count())
        .max()
        .unwrap_or(8)
        .max(
            KeyContext::ALL
                .iter()
                .map(|c| c.name().len())
                .max()
                .unwrap_or(0),
        ) as u16;
    let desc_w = Action::ALL
        .iter()
        .map(|a| a.description().chars().count())
        .max()
        .unwrap_or(20) as u16;
    let width = key_w + desc_w + 2 + 4;
    let height = (rows.len() as u16).saturating_add(2);
    let popup = centered(area, width, height);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme::title(true)))
        .title_bottom(Line::styled(" any key closes ", theme::dim()))
        .border_style(theme::border(true));
    let table = Table::new(rows, [Constraint::Length(key_w), Constraint::Min(0)])
        .column_spacing(2)
        .block(block);
    frame.render_widget(table, popup);
}
