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

/// One group per context: its name and its (keys, description) lines.
type Group = (&'static str, Vec<(String, &'static str)>);

fn groups(keymap: &Keymap) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut last: Option<KeyContext> = None;
    for (ctx, keys, action) in help_entries(keymap) {
        if last != Some(ctx) {
            groups.push((ctx.name(), Vec::new()));
            last = Some(ctx);
        }
        if let Some(group) = groups.last_mut() {
            group.1.push((keys, action.description()));
        }
    }
    groups
}

/// Rows a group takes: its heading, its lines and a blank row before the next.
fn height(group: &Group) -> usize {
    group.1.len() + 2
}

/// The groups in at most `columns` columns of about equal height.
fn split(groups: Vec<Group>, columns: usize) -> Vec<Vec<Group>> {
    let total: usize = groups.iter().map(height).sum();
    let per_column = total.div_ceil(columns.max(1));
    let mut out: Vec<Vec<Group>> = vec![Vec::new()];
    for group in groups {
        let used: usize = out.last().map_or(0, |c| c.iter().map(height).sum());
        if used > 0 && used + height(&group) > per_column + 1 && out.len() < columns {
            out.push(Vec::new());
        }
        if let Some(column) = out.last_mut() {
            column.push(group);
        }
    }
    out
}

/// (key column width, description width) of a column.
fn widths(column: &[Group]) -> (u16, u16) {
    let key = column
        .iter()
        .flat_map(|g| {
            g.1.iter()
                .map(|(k, _)| k.chars().count())
                .chain([g.0.chars().count()])
        })
        .max()
        .unwrap_or(8) as u16;
    let desc = column
        .iter()
        .flat_map(|g| g.1.iter().map(|(_, d)| d.chars().count()))
        .max()
        .unwrap_or(20) as u16;
    (key, desc)
}

fn rows(column: Vec<Group>) -> Vec<Row<'static>> {
    let mut rows = Vec::new();
    for (i, (name, lines)) in column.into_iter().enumerate() {
        if i > 0 {
            rows.push(Row::new(vec![Cell::from("")]));
        }
        rows.push(
            Row::new(vec![Cell::from(name)])
                .style(theme::title(true).add_modifier(Modifier::UNDERLINED)),
        );
        for (keys, desc) in lines {
            rows.push(Row::new(vec![
                Cell::from(keys).style(theme::title(false)),
                Cell::from(desc),
            ]));
        }
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
    let all = groups(keymap);
    let one_column: usize = all.iter().map(height).sum::<usize>() + 1;
    // Two columns side by side when one is taller than the screen.
    let columns = split(
        all,
        if one_column > area.height as usize {
            2
        } else {
            1
        },
    );
    let sizes: Vec<(u16, u16)> = columns.iter().map(|c| widths(c)).collect();
    let tallest = columns
        .iter()
        .map(|c| c.iter().map(height).sum::<usize>().saturating_sub(1))
        .max()
        .unwrap_or(0) as u16;
    let width: u16 = sizes.iter().map(|(k, d)| k + d + 2).sum::<u16>()
        + 3 * (sizes.len() as u16).saturating_sub(1)
        + 4;
    let popup = centered(area, width, tallest.saturating_add(2));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme::title(true)))
        .title_bottom(Line::styled(" any key closes ", theme::dim()))
        .border_style(theme::border(true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut x = inner.x;
    for (column, (key_w, desc_w)) in columns.into_iter().zip(sizes) {
        let w = (key_w + desc_w + 2).min(inner.right().saturating_sub(x));
        let area = Rect {
            x,
            width: w,
            ..inner
        };
        let table = Table::new(
            rows(column),
            [Constraint::Length(key_w), Constraint::Min(0)],
        )
        .column_spacing(2);
        frame.render_widget(table, area);
        x = x.saturating_add(key_w + desc_w + 2 + 3);
    }
}
