//! The picker overlay: a query line and the matching items (or, for a prompt, just the line).
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::app::picker::Picker;
use crate::ui::panes::help::centered;
use crate::ui::{theme, wrap::sanitize};

pub fn render(frame: &mut Frame, area: Rect, picker: &Picker) {
    if area.area() == 0 {
        return;
    }
    let width = area.width.saturating_sub(4).clamp(20, 80);
    let rows = if picker.kind.is_prompt() {
        1
    } else {
        (picker.items.len() as u16).clamp(1, 15) + 2
    };
    let popup = centered(area, width, rows + 2);
    frame.render_widget(Clear, popup);
    let hint = if picker.kind.is_prompt() {
        " Enter saves · Esc cancels "
    } else {
        " type to filter · Enter chooses · Esc closes "
    };
    let block = Block::bordered()
        .title(Line::styled(
            format!(" {} ", picker.kind.title()),
            theme::title(true),
        ))
        .title_bottom(Line::styled(hint, theme::dim()))
        .border_style(theme::border(true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    if inner.area() == 0 {
        return;
    }
    let query = Line::from(vec![
        Span::styled("> ", theme::title(true)),
        Span::raw(sanitize(&picker.query)),
        Span::styled(" ", theme::dim().add_modifier(Modifier::REVERSED)),
    ]);
    frame.render_widget(Paragraph::new(query), Rect { height: 1, ..inner });
    if picker.kind.is_prompt() || inner.height < 3 {
        return;
    }
    let list_area = Rect {
        y: inner.y + 2,
        height: inner.height - 2,
        ..inner
    };
    if picker.shown.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no match", theme::dim())),
            list_area,
        );
        return;
    }
    let items: Vec<ListItem> = picker
        .shown
        .iter()
        .map(|&i| {
            let item = &picker.items[i];
            ListItem::new(Line::from(vec![
                Span::raw(sanitize(&item.label)),
                Span::raw("  "),
                Span::styled(sanitize(&item.detail), theme::dim()),
            ]))
        })
        .collect();
    let list = List::new(items)
        .highlight_style(theme::title(true).add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_stateful_widget(list, list_area, &mut state);
}
