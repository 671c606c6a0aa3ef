//! The one-line status bar: model, engine state, context use, token rate, transient messages.
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::{Action, AppState, EngineStatus};
use crate::ui::{theme, wrap::sanitize};

/// The pieces of the status bar, left to right (also used by tests).
pub fn status_text(state: &AppState) -> Vec<String> {
    let model = state.model.as_ref().map_or_else(
        || "no model".to_string(),
        // Base or instruct says how it is prompted; our own engine is the norm, so only the other
        // one is named, that a comparison is never mistaken.
        |m| match m.engine.as_str() {
            "" | "candle" => format!("{} · {}", m.name, m.kind.kind),
            other => format!("{} · {} · {other}", m.name, m.kind.kind),
        },
    );
    let mut ctx = match state.model.as_ref().map(|m| m.context_size) {
        Some(n) if n > 0 => format!("ctx {}/{}", state.context_used, n),
        _ => format!("ctx {}", state.context_used),
    };
    if let Some(rope) = state.model.as_ref().and_then(|m| m.rope.as_deref()) {
        ctx = format!("{ctx} · {rope}");
    }
    let rate = state.metrics.latest.as_ref().map_or(0.0, |s| s.token_rate);
    // The profile and template the next message goes out with (the template only when it is
    // not the profile's own).
    let profile = state.profiles.profile();
    let template = state.profiles.template_name();
    let setup = if template == profile.template {
        state.profiles.active.clone()
    } else {
        format!("{} · {template}", state.profiles.active)
    };
    let mut parts = vec![
        model,
        state.engine_label(),
        ctx,
        format!("{rate:.1} tok/s"),
        setup,
    ];
    if let Some(s) = &state.status {
        parts.push(sanitize(&s.text).replace('\n', " "));
    } else if let EngineStatus::Failed(e) = &state.engine {
        parts.push(sanitize(e).replace('\n', " "));
    } else if let EngineStatus::Loading { message, .. } = &state.engine {
        parts.push(sanitize(message).replace('\n', " "));
    }
    parts
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let parts = status_text(state);
    let sep = Span::styled(" │ ", theme::dim(t));
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(sep.clone());
        }
        let style = match i {
            0 => theme::status_bar(t).add_modifier(Modifier::BOLD),
            1 => match state.engine {
                EngineStatus::Failed(_) => theme::status_bar(t).fg(t.error),
                EngineStatus::Idle => theme::status_bar(t),
                _ => theme::status_bar(t).fg(t.accent),
            },
            4 => theme::status_bar(t).fg(t.accent),
            5 => theme::status_bar(t).fg(t.system),
            _ => theme::status_bar(t),
        };
        spans.push(Span::styled(p, style));
    }
    let help = state
        .keymap
        .label_for(Action::ToggleHelp)
        .unwrap_or_default();
    let hint = format!("{help} help ");
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(area.width).saturating_sub(used);
    if room > hint.len() {
        spans.push(Span::raw(" ".repeat(room - hint.len())));
        spans.push(Span::styled(hint, theme::dim(t)));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::status_bar(t)),
        area,
    );
}
