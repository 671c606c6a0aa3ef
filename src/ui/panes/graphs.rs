//! Charts over the metrics history: token rate, and memory / CPU.
use std::collections::VecDeque;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, LegendPosition};
use ratatui::Frame;

use crate::app::AppState;
use crate::ui::theme::{self, Theme};

/// Seconds shown on the x axis.
pub const CHART_WINDOW_S: f64 = 120.0;

fn points(series: &VecDeque<(f64, f64)>, from: f64) -> Vec<(f64, f64)> {
    series
        .iter()
        .copied()
        .filter(|&(t, v)| t >= from && t.is_finite() && v.is_finite())
        .collect()
}

/// A round upper bound for the y axis.
fn nice_max(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let m = max * 1.05;
    let mag = 10f64.powf(m.log10().floor());
    let r = m / mag;
    let step = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    step * mag
}

fn x_bounds(state: &AppState) -> [f64; 2] {
    let now = state.metrics.now_t();
    [now - CHART_WINDOW_S, now.max(now - CHART_WINDOW_S + 1.0)]
}

fn x_axis(t: Theme, bounds: [f64; 2]) -> Axis<'static> {
    Axis::default()
        .bounds(bounds)
        .labels([format!("-{}s", CHART_WINDOW_S as u32), "now".to_string()])
        .style(theme::dim(t))
}

fn y_axis(t: Theme, max: f64) -> Axis<'static> {
    Axis::default()
        .bounds([0.0, max])
        .labels([
            "0".to_string(),
            if max < 10.0 {
                format!("{max:.1}")
            } else {
                format!("{max:.0}")
            },
        ])
        .style(theme::dim(t))
}

fn chart_block(t: Theme, title: String) -> Block<'static> {
    Block::bordered()
        .title(Line::styled(title, theme::title(t, false)))
        .border_style(theme::border(t, false))
}

/// Too small for axes: draw only the block (its title still tells the numbers).
fn too_small(area: Rect) -> bool {
    area.width < 16 || area.height < 6
}

pub fn token_chart_title(state: &AppState) -> String {
    let rate = state.metrics.latest.as_ref().map_or(0.0, |s| s.token_rate);
    let ttft = state
        .last_ttft_ms
        .map_or("–".to_string(), |t| format!("{t:.0} ms"));
    format!(" tokens/s {rate:.1} · ttft {ttft} ")
}

pub fn system_chart_title(state: &AppState) -> String {
    match state.metrics.latest.as_ref() {
        Some(s) => format!(
            " memory {:.0} MB · cpu {:.0}% ",
            s.rss_bytes as f64 / (1024.0 * 1024.0),
            s.cpu_percent
        ),
        None => " memory – MB · cpu –% ".to_string(),
    }
}

pub fn render_token_rate(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let block = chart_block(t, token_chart_title(state));
    if too_small(area) {
        frame.render_widget(block, area);
        return;
    }
    let bounds = x_bounds(state);
    let data = points(&state.metrics.token_rate, bounds[0]);
    let max = nice_max(data.iter().map(|p| p.1).fold(0.0, f64::max));
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(t.token_rate))
        .data(&data);
    let chart = Chart::new(vec![dataset])
        .block(block)
        .x_axis(x_axis(t, bounds))
        .y_axis(y_axis(t, max));
    frame.render_widget(chart, area);
}

pub fn render_system(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    if area.area() == 0 {
        return;
    }
    let block = chart_block(t, system_chart_title(state));
    if too_small(area) {
        frame.render_widget(block, area);
        return;
    }
    let bounds = x_bounds(state);
    let rss = points(&state.metrics.rss_mb, bounds[0]);
    let cpu = points(&state.metrics.cpu_percent, bounds[0]);
    let max = nice_max(
        rss.iter()
            .chain(cpu.iter())
            .map(|p| p.1)
            .fold(0.0, f64::max),
    );
    let datasets = vec![
        Dataset::default()
            .name("RSS MB")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(t.rss))
            .data(&rss),
        Dataset::default()
            .name("CPU %")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(t.cpu))
            .data(&cpu),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(x_axis(t, bounds))
        .y_axis(y_axis(t, max))
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Percentage(60),
            ratatui::layout::Constraint::Percentage(60),
        ));
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::nice_max;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
        assert_eq!(nice_max(45.0), 50.0);
        assert_eq!(nice_max(46.0), 50.0);
        assert_eq!(nice_max(95.0), 100.0);
        assert_eq!(nice_max(96.0), 200.0);
        assert_eq!(nice_max(400.0), 500.0);
    }
}
