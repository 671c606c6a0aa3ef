//! The help overlay: a table generated from the keymap, grouped by context.
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};
use ratatui::Frame;

use crate::app::{Action, KeyContext, Keymap};
use crate::ui::theme::{self, Theme};

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

/// The help table's rows for `entries`, with a heading row per context.
fn rows_of(t: Theme, entries: &[(KeyContext, String, Action)], spaced: bool) -> Vec<Row<'static>> {
    let mut rows = Vec::new();
    let mut last: Option<KeyContext> = None;
    for (ctx, keys, action) in entries {
        if last != Some(*ctx) {
            if last.is_some() && spaced {
                rows.push(Row::new(vec![Cell::from("")]));
            }
            rows.push(
                Row::new(vec![Cell::from(ctx.name())])
                    .style(theme::title(t, true).add_modifier(Modifier::UNDERLINED)),
            );
            last = Some(*ctx);
        }
        rows.push(Row::new(vec![
            Cell::from(keys.clone()).style(theme::title(t, false)),
            Cell::from(action.description()),
        ]));
    }
    rows
}

/// Splits the entries in two at the context boundary nearest the middle (for two columns).
/// One help line: its context, its keys, its action.
type Entry = (KeyContext, String, Action);

fn halves(entries: Vec<Entry>) -> (Vec<Entry>, Vec<Entry>) {
    let half = entries.len() / 2;
    let cut = (0..entries.len())
        .filter(|&i| i == 0 || entries[i].0 != entries[i - 1].0)
        .min_by_key(|&i| i.abs_diff(half))
        .unwrap_or(half);
    let mut left = entries;
    let right = left.split_off(cut);
    (left, right)
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

/// Draws the overlay scrolled down `scroll` rows (when it does not fit); returns the scroll
/// clamped to what there is to see, and the rows in view (a page).
pub fn render(t: Theme, frame: &mut Frame, area: Rect, keymap: &Keymap, scroll: u16) -> (u16, u16) {
    if area.area() == 0 {
        return (0, 1);
    }
    let entries = help_entries(keymap);
    let key_w = entries
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
    let column_w = key_w + desc_w + 2;
    // Blank lines between the groups when they fit; else two columns when the width allows.
    let fits = |rows: usize| (rows as u16).saturating_add(2) <= area.height;
    let spaced = fits(rows_of(t, &entries, true).len());
    let two = !fits(rows_of(t, &entries, false).len()) && area.width >= (column_w + 3) * 2 + 2;
    let columns = if two {
        let (l, r) = halves(entries);
        vec![rows_of(t, &l, true), rows_of(t, &r, true)]
    } else {
        vec![rows_of(t, &entries, spaced)]
    };
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0) as u16;
    // What does not fit scrolls (Up/Down, PgUp/PgDn while the help is open).
    let visible = area.height.saturating_sub(2);
    let scroll = scroll.min(tallest.saturating_sub(visible));
    let columns: Vec<Vec<Row<'static>>> = columns
        .into_iter()
        .map(|rows| rows.into_iter().skip(usize::from(scroll)).collect())
        .collect();
    let width = (column_w + 3) * columns.len() as u16 + 1;
    let popup = centered(area, width, tallest.saturating_add(2));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme::title(t, true)))
        .title_bottom(Line::styled(
            if tallest > visible {
                " ↑/↓ PgUp/PgDn scroll · any other key closes "
            } else {
                " any key closes "
            },
            theme::dim(t),
        ))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let each = inner.width / columns.len().max(1) as u16;
    for (i, rows) in columns.into_iter().enumerate() {
        let x = inner.x + each * i as u16;
        let col = Rect {
            x,
            width: if i == 0 { each } else { inner.right() - x },
            ..inner
        };
        let table =
            Table::new(rows, [Constraint::Length(key_w), Constraint::Min(0)]).column_spacing(2);
        frame.render_widget(table, col);
    }
    (scroll, visible.max(1))
}
