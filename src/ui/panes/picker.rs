//! The picker overlay: a query line and the matching items (or, for a prompt, just the line).
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::app::picker::Picker;
use crate::app::{Action, Focus, Keymap};
use crate::ui::panes::help::centered;
use crate::ui::theme::Theme;
use crate::ui::{theme, wrap::sanitize};

pub fn render(t: Theme, keymap: &Keymap, frame: &mut Frame, area: Rect, picker: &Picker) {
    let k = |a| keymap.hint(Focus::Picker.contexts(), a);
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
    let (accept, close) = (k(Action::PickerAccept), k(Action::PickerClose));
    let hint = if picker.kind.is_prompt() {
        format!(" {accept} saves · {close} cancels ")
    } else {
        format!(" type to filter · {accept} chooses · {close} closes ")
    };
    let block = Block::bordered()
        .title(Line::styled(
            format!(" {} ", picker.kind.title()),
            theme::title(t, true),
        ))
        .title_bottom(Line::styled(hint, theme::dim(t)))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    if inner.area() == 0 {
        return;
    }
    let query = Line::from(vec![
        Span::styled("> ", theme::title(t, true)),
        Span::raw(sanitize(&picker.query)),
        Span::styled(" ", theme::dim(t).add_modifier(Modifier::REVERSED)),
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
            Paragraph::new(Span::styled("no match", theme::dim(t))),
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
                Span::styled(sanitize(&item.detail), theme::dim(t)),
            ]))
        })
        .collect();
    let list = List::new(items)
        .highlight_style(theme::title(t, true).add_modifier(Modifier::REVERSED))
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(picker.selected));
    frame.render_stateful_widget(list, list_area, &mut state);
}
