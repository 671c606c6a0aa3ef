//! The bench pane (F4): suites on the left; on the right the running suite's gauge, iteration and
//! live per-token latency, then either the throughput of every stored run and the latest run's
//! latency histogram, or the comparison of the latest run with its baseline.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Clear, Gauge, Paragraph, Sparkline};
use ratatui::Frame;

use crate::app::bench::{BenchPane, BenchView};
use crate::app::{Action, AppState, Focus};
use crate::bench::compare::Verdict;
use crate::bench::stats::histogram;
use crate::ui::panes::help::centered;
use crate::ui::theme::{self, Theme};

/// The keys along the bottom border, from the keymap in use.
pub fn footer(state: &AppState) -> String {
    let k = |a| state.hint(Focus::Bench, a);
    format!(
        " {}/{} suite · {} run · {} cancel · {} charts/compare · {} pin baseline · {} close ",
        k(Action::BenchPrevSuite),
        k(Action::BenchNextSuite),
        k(Action::BenchStart),
        k(Action::BenchCancel),
        k(Action::BenchToggleView),
        k(Action::BenchPinBaseline),
        k(Action::ToggleBench)
    )
}

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = state.theme;
    let popup = centered(area, 120, 34);
    if popup.area() == 0 {
        return;
    }
    frame.render_widget(Clear, popup);
    let pane = &state.bench;
    let block = Block::bordered()
        .title(Line::styled(" Benchmarks ", theme::title(t, true)))
        .title_bottom(Line::styled(footer(state), theme::dim(t)))
        .border_style(theme::border(t, true));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [left, right] =
        Layout::horizontal([Constraint::Length(30), Constraint::Min(0)]).areas(inner);
    render_suites(t, frame, left, pane);
    let [status, body] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(right);
    render_status(
        t,
        frame,
        status,
        pane,
        &state.hint(Focus::Bench, Action::BenchStart),
    );
    match pane.view {
        BenchView::Charts => render_charts(t, frame, body, pane),
        BenchView::Compare => render_comparison(t, frame, body, pane),
    }
}

fn render_suites(t: Theme, frame: &mut Frame, area: Rect, pane: &BenchPane) {
    let mut lines = vec![Line::styled("Suites", theme::title(t, false))];
    for (i, (name, _)) in pane.suites.iter().enumerate() {
        let selected = i == pane.selected;
        let style = if selected {
            Style::default()
                .fg(t.accent)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default()
        };
        lines.push(Line::styled(format!(" {name} "), style));
    }
    if let Some((_, desc)) = pane.suites.get(pane.selected) {
        lines.push(Line::raw(""));
        lines.push(Line::styled(desc.clone(), theme::dim(t)));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}

fn render_status(t: Theme, frame: &mut Frame, area: Rect, pane: &BenchPane, start: &str) {
    let Some(run) = &pane.run else {
        let text = pane
            .message
            .clone()
            .unwrap_or_else(|| format!("Pick a suite and press {start} to run it."));
        let style = if text.contains("REGRESSION") || text.starts_with("failed") {
            Style::default().fg(t.error).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        frame.render_widget(
            Paragraph::new(vec![Line::styled(text, style)])
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    };
    let [gauge, info, spark] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    let label = format!(
        "{} · run {}/{}{}",
        run.suite,
        run.run + 1,
        run.runs,
        if run.cancelling { " · cancelling" } else { "" }
    );
    frame.render_widget(
        Gauge::default()
            .gauge_style(Style::default().fg(t.accent))
            .ratio(run.fraction())
            .label(label),
        gauge,
    );
    let detail = match &run.progress {
        Some(p) => format!(
            "{} {}/{} · {} · {}",
            if p.warmup { "warm-up" } else { "iteration" },
            p.iteration,
            p.iterations,
            p.phase,
            p.token_ms
                .map_or("—".into(), |ms| format!("{ms:.1} ms/token"))
        ),
        None => "loading the model…".into(),
    };
    frame.render_widget(Paragraph::new(detail), info);
    let data: Vec<u64> = run
        .recent_ms
        .iter()
        .map(|ms| (ms * 10.0).round().max(0.0) as u64)
        .collect();
    frame.render_widget(
        Sparkline::default()
            .block(Block::new().title(Line::styled("per-token latency", theme::dim(t))))
            .style(Style::default().fg(t.token_rate))
            .data(&data),
        spark,
    );
}

fn render_charts(t: Theme, frame: &mut Frame, area: Rect, pane: &BenchPane) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Min(0)]).areas(area);
    if pane.history.is_empty() {
        frame.render_widget(
            Paragraph::new("No stored runs yet.").style(theme::dim(t)),
            top,
        );
        return;
    }
    // Throughput per run: as many of the newest runs as fit, two bars each.
    let fit = (top.width as usize / 9).max(1);
    let runs = &pane.history[pane.history.len().saturating_sub(fit)..];
    let mut chart = BarChart::default()
        .block(Block::bordered().title(Line::styled(
            " tok/s per run: decode (green), prefill (cyan) ",
            theme::title(t, false),
        )))
        .bar_width(3)
        .bar_gap(0)
        .group_gap(2);
    for r in runs {
        let mean = |k: &str| r.metric(k).map_or(0.0, |s| s.mean);
        let mark = if pane.is_baseline(r.id) { "*" } else { "" };
        let decode = mean("decode_tok_s");
        let prefill = mean("prefill_tok_s");
        chart = chart.data(
            BarGroup::default()
                .label(Line::from(format!("#{}{mark}", r.id)))
                .bars(&[
                    Bar::default()
                        .value(decode.round() as u64)
                        .style(Style::default().fg(t.assistant)),
                    Bar::default()
                        .value(prefill.round() as u64)
                        .style(Style::default().fg(t.accent)),
                ]),
        );
    }
    frame.render_widget(chart, top);
    // The long-context series, when a run measured them, beside the latency histogram.
    let long = long_context_lines(&pane.history);
    let bottom = if long.is_empty() {
        bottom
    } else {
        let [hist, table] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Min(0)]).areas(bottom);
        frame.render_widget(
            Paragraph::new(long.into_iter().map(Line::from).collect::<Vec<_>>()).block(
                Block::bordered().title(Line::styled(
                    " long context: per prompt length / perplexity per context ",
                    theme::title(t, false),
                )),
            ),
            table,
        );
        hist
    };
    // The latest run's per-token latencies.
    let Some(latest) = pane.history.last() else {
        return;
    };
    let bins = (bottom.width as usize / 7).clamp(1, 16);
    let hist = histogram(&latest.token_latencies_ms, bins);
    let bars: Vec<Bar> = hist
        .iter()
        .map(|&(lo, count)| {
            Bar::default()
                .value(count as u64)
                .label(Line::from(format!("{lo:.0}")))
                .style(Style::default().fg(t.rss))
        })
        .collect();
    frame.render_widget(
        BarChart::default()
            .block(Block::bordered().title(Line::styled(
                format!(
                    " run #{} per-token latency (ms, {} tokens) ",
                    latest.id,
                    latest.token_latencies_ms.len()
                ),
                theme::title(t, false),
            )))
            .bar_width(5)
            .bar_gap(1)
            .data(BarGroup::default().bars(&bars)),
        bottom,
    );
}

/// The long-context series as table rows: per engine and prompt length, prefill and decode tok/s
/// and peak RSS; then per RoPE setting, the perplexity at each context. Empty without such runs.
pub fn long_context_lines(history: &[crate::bench::RunRecord]) -> Vec<String> {
    use crate::bench::long_series::{ppl_series, prompt_series};
    let num = |v: f64, digits: usize| {
        if v.is_finite() {
            format!("{v:.digits$}")
        } else {
            "-".to_string()
        }
    };
    let mut lines = Vec::new();
    let engines = prompt_series(history);
    if !engines.is_empty() {
        lines.push(format!(
            "{:<10} {:>6} {:>9} {:>7} {:>8}",
            "engine", "tokens", "prefill/s", "decode/s", "peak MB"
        ));
        for e in &engines {
            for p in &e.points {
                lines.push(format!(
                    "{:<10} {:>6} {:>9} {:>7} {:>8}",
                    e.engine,
                    p.tokens,
                    num(p.prefill_tok_s, 0),
                    num(p.decode_tok_s, 1),
                    num(p.peak_rss_mb, 0)
                ));
            }
        }
    }
    for s in ppl_series(history) {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|&(ctx, ppl)| format!("{ctx}:{}", num(ppl, 2)))
            .collect();
        lines.push(format!("ppl {:<16} {}", s.label, points.join("  ")));
    }
    lines
}

fn render_comparison(t: Theme, frame: &mut Frame, area: Rect, pane: &BenchPane) {
    let Some((a, b, c)) = pane.comparison() else {
        frame.render_widget(
            Paragraph::new("Two runs of one suite are needed for a comparison.")
                .style(theme::dim(t)),
            area,
        );
        return;
    };
    let against = if pane.is_baseline(a) {
        "baseline"
    } else {
        "previous run"
    };
    let mut lines = vec![
        Line::styled(
            format!("run #{b} against #{a} ({against})"),
            theme::title(t, false),
        ),
        Line::styled(
            format!(
                "{:<19}{:>9}{:>9}{:>8}{:>18}  verdict",
                "metric", "A", "B", "delta", "95% CI of delta"
            ),
            theme::dim(t),
        ),
    ];
    for m in &c.metrics {
        let style = match (m.verdict, m.regression) {
            (_, true) => Style::default().fg(t.error).add_modifier(Modifier::BOLD),
            (Verdict::Worse, false) => Style::default().fg(t.system),
            (Verdict::Better, _) => Style::default().fg(t.assistant),
            (Verdict::NoSignificantChange, _) => Style::default(),
        };
        let ci = m
            .delta_ci95
            .map_or("-".into(), |(lo, hi)| format!("[{lo:+.1}, {hi:+.1}]"));
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<19}{:>9.1}{:>9.1}{:>7.1}%{:>18}  ",
                m.label, m.a.mean, m.b.mean, m.delta_pct, ci
            )),
            Span::styled(
                format!(
                    "{}{}",
                    m.verdict_word(),
                    if m.regression { " REGRESSION" } else { "" }
                ),
                style,
            ),
        ]));
    }
    for w in &c.warnings {
        lines.push(Line::styled(format!("note: {w}"), theme::dim(t)));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod long_context_tests {
    use super::long_context_lines;
    use crate::bench::record::{CtxPerplexity, PromptFigures};
    use crate::bench::RunRecord;

    #[test]
    fn the_table_has_a_row_per_prompt_length_and_one_per_rope() {
        assert!(long_context_lines(&[]).is_empty());
        let mut r = RunRecord::example("long-context", Vec::new());
        r.prompts = [4096, 16384]
            .map(|n| PromptFigures {
                label: format!("pp{n}"),
                prompt_tokens: n,
                prefill_tok_s: vec![800.0],
                decode_tok_s: vec![40.0],
                peak_rss_mb: vec![420.0],
            })
            .to_vec();
        r.perplexity_ctx = vec![CtxPerplexity {
            n_ctx: 512,
            rope: "none".into(),
            ppl: 13.25,
            ..Default::default()
        }];
        let lines = long_context_lines(&[r]);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines[2].contains("16384") && lines[2].contains("420"),
            "{lines:?}"
        );
        assert!(lines[3].contains("512:13.25"), "{lines:?}");
    }
}
