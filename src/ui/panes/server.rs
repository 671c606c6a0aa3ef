//! The server pane (F8): the server's state and address, its slots and queue, the aggregate token
//! rate as a sparkline, the latest requests; below, the nodes of a model spread over several
//! machines, with their health, requests in flight and rates.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

use crate::app::server::{ServerPane, ServerState};
use crate::app::{Action, AppState, Focus};
use crate::ui::panes::help::centered;
use crate::ui::theme::{self, Theme};

/// The keys along the bottom border, from the keymap in use.
pub fn footer(state: &AppState) -> String {
    let k = |a| state.hint(Focus::Server, a);
    let verb = if state.server.is_running() {
        "stop"
    } else {
        "start"
    };
    format!(
        " {} {verb} the server · {} close ",
        k(Action::ServerStartStop),
        k(Action::ToggleServer)
    )
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    let popup = centered(area, 110, 30);
    if popup.area() == 0 {
        return;
    }
    frame.render_widget(Clear, popup);
    let pane = &state.server;
    let block = Block::bordered()
        .title(Line::styled(" Server ", theme::title(t, true)))
        .title_bottom(Line::styled(footer(state), theme::dim(t)))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let nodes_rows = if pane.nodes.is_empty() {
        0
    } else {
        pane.nodes.len() as u16 + 3
    };
    let [head, rate, requests, nodes] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(nodes_rows.min(12)),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(head_lines(t, pane)), head);
    render_rate(t, frame, rate, pane);
    render_requests(t, frame, requests, pane);
    if !pane.nodes.is_empty() {
        render_nodes(t, frame, nodes, pane);
    }
}

fn head_lines(t: Theme, pane: &ServerPane) -> Vec<Line<'static>> {
    let (label, colour) = match &pane.state {
        ServerState::Stopped => ("stopped".to_string(), t.dim),
        ServerState::Starting => ("starting…".to_string(), t.accent),
        ServerState::Running { url, .. } => (format!("listening on {url}"), t.assistant),
        ServerState::Stopping => (
            "stopping: draining in-flight requests".to_string(),
            t.accent,
        ),
        ServerState::Failed(e) => (format!("failed: {e}"), t.error),
    };
    let s = &pane.slots;
    let mut lines = vec![Line::from(vec![
        Span::styled("Server ", theme::title(t, false)),
        Span::styled(label, Style::default().fg(colour)),
    ])];
    if matches!(
        pane.state,
        ServerState::Running { .. } | ServerState::Stopping
    ) {
        lines.push(Line::raw(format!(
            "slots {}/{} busy · {} queued · {} requests · {} tokens generated · {:.1} tok/s",
            s.busy,
            s.parallel,
            s.queued,
            s.requests_total,
            s.generated_tokens_total,
            s.tokens_per_s
        )));
    } else {
        lines.push(Line::styled(
            "OpenAI-compatible API on the loaded model (/v1/chat/completions, /v1/completions, \
             /v1/models, /health, /metrics)",
            theme::dim(t),
        ));
    }
    lines
}

fn render_rate(t: Theme, frame: &mut Frame, area: Rect, pane: &ServerPane) {
    let data: Vec<u64> = pane
        .rates
        .iter()
        .map(|r| r.max(0.0).round() as u64)
        .collect();
    let peak = pane.rates.iter().copied().fold(0.0f64, f64::max);
    let spark = Sparkline::default()
        .block(Block::default().title(Line::styled(
            format!("tokens/s, all slots (peak {peak:.1})"),
            theme::dim(t),
        )))
        .data(&data)
        .style(Style::default().fg(t.token_rate));
    frame.render_widget(spark, area);
}

fn render_requests(t: Theme, frame: &mut Frame, area: Rect, pane: &ServerPane) {
    let header = Row::new(["route", "status", "prompt", "generated", "ms", "result"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let visible = area.height.saturating_sub(2) as usize;
    let rows: Vec<Row> = pane
        .recent
        .iter()
        .rev()
        .take(visible)
        .map(|r| {
            let style = if r.status >= 400 {
                Style::default().fg(t.error)
            } else {
                Style::default()
            };
            Row::new(vec![
                r.route.clone(),
                r.status.to_string(),
                r.prompt_tokens.to_string(),
                r.generated_tokens.to_string(),
                format!("{:.0}", r.ms),
                r.finish.clone(),
            ])
            .style(style)
        })
        .collect();
    let title = if pane.recent.is_empty() {
        "Requests (none yet)"
    } else {
        "Requests (newest first)"
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Min(8),
        ],
    )
    .header(header)
    .block(Block::default().title(Line::styled(title, theme::title(t, false))));
    frame.render_widget(table, area);
}

fn render_nodes(t: Theme, frame: &mut Frame, area: Rect, pane: &ServerPane) {
    let header = Row::new(["node", "health", "in flight", "requests", "errors", "tok/s"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = pane
        .nodes
        .iter()
        .map(|n| {
            let (health, colour) = if n.healthy {
                ("up", t.assistant)
            } else {
                ("down", t.error)
            };
            Row::new(vec![
                n.url.clone(),
                health.to_string(),
                n.in_flight.to_string(),
                n.requests.to_string(),
                n.errors.to_string(),
                format!("{:.1}", n.tokens_per_s),
            ])
            .style(Style::default().fg(colour))
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Min(30),
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(8),
        ],
    )
    .header(header)
    .block(Block::default().title(Line::styled(
        format!(
            "Cluster: the nodes of {}",
            pane.cluster_model.as_deref().unwrap_or("the model")
        ),
        theme::title(t, false),
    )));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::app::server::{NodeRow, RequestRow, SlotsView};
    use crate::app::AppEvent;

    fn screen(state: &mut AppState) -> String {
        crate::ui::screen_text(state, 120, 40)
    }

    #[test]
    fn shows_the_address_slots_requests_and_nodes() {
        let mut s = AppState::new();
        s.handle(AppEvent::Resize(120, 40), Instant::now());
        s.apply(Action::ToggleServer, Instant::now());
        let text = screen(&mut s);
        assert!(
            text.contains("stopped") && text.contains("s start the server"),
            "{text}"
        );

        s.server.started("http://127.0.0.1:8080".into());
        s.server.status(SlotsView {
            busy: 3,
            parallel: 4,
            queued: 2,
            requests_total: 17,
            generated_tokens_total: 900,
            tokens_per_s: 123.4,
        });
        s.server.finished(RequestRow {
            route: "/v1/chat/completions".into(),
            status: 200,
            prompt_tokens: 31,
            generated_tokens: 64,
            ms: 812.0,
            finish: "client went away".into(),
        });
        s.server.nodes = vec![
            NodeRow {
                url: "http://10.0.0.2:8080/v1".into(),
                healthy: true,
                in_flight: 2,
                requests: 40,
                errors: 0,
                tokens_per_s: 55.5,
            },
            NodeRow {
                url: "http://10.0.0.3:8080/v1".into(),
                healthy: false,
                in_flight: 0,
                requests: 12,
                errors: 3,
                tokens_per_s: 0.0,
            },
        ];
        let text = screen(&mut s);
        for want in [
            "listening on http://127.0.0.1:8080",
            "slots 3/4 busy · 2 queued · 17 requests",
            "123.4 tok/s",
            "/v1/chat/completions",
            "client went away",
            "http://10.0.0.2:8080/v1",
            "down",
            "s stop the server",
        ] {
            assert!(text.contains(want), "missing {want:?}:\n{text}");
        }
    }
}
