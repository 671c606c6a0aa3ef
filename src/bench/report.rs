//! Exports of the run history, pure (records in, text out): JSON (the records as stored), CSV (one
//! row per run with each metric's mean, sd and 95% CI) and a self-contained HTML page whose charts
//! are inline SVG drawn by plotters (throughput, latency percentiles and memory over runs).
use std::path::Path;

use plotters::prelude::*;

use super::long_series::{ppl_series, prompt_series};
use super::record::{format_time, RunRecord, METRICS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Json,
    Csv,
}

impl Format {
    /// The format a file name asks for by its extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

pub fn render(format: Format, runs: &[RunRecord]) -> Result<String, String> {
    match format {
        Format::Json => to_json(runs),
        Format::Csv => to_csv(runs),
        Format::Html => to_html(runs),
    }
}

pub fn to_json(runs: &[RunRecord]) -> Result<String, String> {
    serde_json::to_string_pretty(runs).map_err(|e| e.to_string())
}

pub fn to_csv(runs: &[RunRecord]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "id",
        "started_at_utc",
        "suite",
        "model",
        "profile",
        "engine",
        "threads",
        "version",
        "cpu",
        "cores",
        "memory_gib",
        "iterations",
    ]
    .map(String::from)
    .to_vec();
    for m in &METRICS {
        for part in ["mean", "sd", "ci95_low", "ci95_high"] {
            header.push(format!("{}_{part}", m.key));
        }
    }
    header.extend(["perplexity".to_string(), "perplexity_tokens".to_string()]);
    w.write_record(&header).map_err(|e| e.to_string())?;
    let num = |v: f64| {
        if v.is_finite() {
            format!("{v:.4}")
        } else {
            String::new()
        }
    };
    for r in runs {
        let mut row = vec![
            r.id.to_string(),
            format_time(r.started_at),
            r.suite.clone(),
            r.model.clone(),
            r.profile.clone(),
            r.engine.clone(),
            r.threads.to_string(),
            r.version.clone(),
            r.machine.cpu.clone(),
            r.machine.cores.to_string(),
            format!("{:.1}", r.machine.memory_bytes as f64 / (1u64 << 30) as f64),
            r.iterations.len().to_string(),
        ];
        for m in &METRICS {
            if !r.measured(m.key) {
                row.extend(std::iter::repeat_n(String::new(), 4));
                continue;
            }
            let s = r.summary(m);
            let (lo, hi) = s.ci95.unwrap_or((f64::NAN, f64::NAN));
            row.extend([num(s.mean), num(s.sd), num(lo), num(hi)]);
        }
        match r.perplexity {
            Some(p) => row.extend([num(p.value), p.tokens.to_string()]),
            None => row.extend([String::new(), String::new()]),
        }
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// One line on a chart: a label, a colour and one value per run (NaN: no point).
struct Line {
    label: &'static str,
    color: RGBColor,
    values: Vec<f64>,
}

fn mean_of(runs: &[RunRecord], key: &str) -> Vec<f64> {
    runs.iter()
        .map(|r| r.metric(key).map_or(f64::NAN, |s| s.mean))
        .collect()
}

/// A line chart over runs as an SVG string.
fn chart_svg(title: &str, y_desc: &str, ids: &[u64], lines: &[Line]) -> Result<String, String> {
    let series: Vec<XySeries> = lines
        .iter()
        .map(|l| XySeries {
            label: l.label.to_string(),
            color: l.color,
            points: l
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v))
                .collect(),
        })
        .collect();
    let n = ids.len().max(1) as f64;
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ids.len() {
            format!("#{}", ids[i as usize])
        } else {
            String::new()
        }
    };
    let frame = Frame {
        title,
        x: -0.5..n - 0.5,
        x_desc: "run",
        y_desc,
        x_labels: Some(ids.len().clamp(1, 20)),
        x_label: &label_of,
        legend: SeriesLabelPosition::LowerRight,
    };
    draw_lines(&frame, &series)
}

/// One series on an x-y chart: a label, a colour and its (x, y) points (NaN y: no point).
struct XySeries {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// A line chart of y against a numeric x (prompt length, context) as an SVG string.
fn xy_chart_svg(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[XySeries],
) -> Result<String, String> {
    let right = finite(series).map(|p| p.0).fold(0.0f64, f64::max).max(1.0) * 1.05;
    let frame = Frame {
        title,
        x: 0f64..right,
        x_desc,
        y_desc,
        x_labels: None,
        x_label: &|x| format!("{x:.0}"),
        legend: SeriesLabelPosition::UpperRight,
    };
    draw_lines(&frame, series)
}

/// The points of `series` that can be drawn.
fn finite(series: &[XySeries]) -> impl Iterator<Item = (f64, f64)> + '_ {
    series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// What differs between the report's charts: the title, the x range, the axes' labels and where
/// the legend goes.
struct Frame<'a> {
    title: &'a str,
    x: std::ops::Range<f64>,
    x_desc: &'a str,
    y_desc: &'a str,
    /// How many x labels at most (`None`: plotters' default).
    x_labels: Option<usize>,
    x_label: &'a dyn Fn(&f64) -> String,
    legend: SeriesLabelPosition,
}

/// Draws `series` as lines with a dot at each point and a legend, on a 760×320 SVG whose y axis
/// runs from 0 to 15% above the highest point. The one drawing of every chart in the report, so
/// they all look alike.
fn draw_lines(frame: &Frame, series: &[XySeries]) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| format!("drawing `{}`: {e}", frame.title);
    let top = finite(series).map(|p| p.1).fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(frame.x.clone(), 0f64..top)
            .map_err(|e| err(&e))?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .x_label_formatter(frame.x_label);
        if let Some(n) = frame.x_labels {
            mesh.x_labels(n);
        }
        mesh.draw().map_err(|e| err(&e))?;
        for s in series {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let color = s.color;
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(frame.legend.clone())
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

const PALETTE: [RGBColor; 4] = [BLUE_, ORANGE, GREEN_, RED_];

/// The long-context figures: prompt speed and peak memory against prompt length per engine, and
/// perplexity against context per RoPE setting; empty when no run measured them.
fn long_context_figures(runs: &[RunRecord]) -> Result<String, String> {
    let mut out = String::new();
    let engines = prompt_series(runs);
    if !engines.is_empty() {
        let of = |f: fn(&super::long_series::PromptPoint) -> f64| -> Vec<XySeries> {
            engines
                .iter()
                .enumerate()
                .map(|(i, e)| XySeries {
                    label: format!("{} (run #{})", e.engine, e.run_id),
                    color: PALETTE[i % PALETTE.len()],
                    points: e.points.iter().map(|p| (p.tokens as f64, f(p))).collect(),
                })
                .collect()
        };
        let speed = xy_chart_svg(
            "Prompt speed against prompt length",
            "prompt tokens",
            "prefill tokens/s",
            &of(|p| p.prefill_tok_s),
        )?;
        let memory = xy_chart_svg(
            "Peak memory against prompt length",
            "prompt tokens",
            "peak RSS MB",
            &of(|p| p.peak_rss_mb),
        )?;
        out.push_str(&format!(
            "<h2>Long context</h2>\n<figure>{speed}</figure>\n<figure>{memory}</figure>\n"
        ));
    }
    let ropes = ppl_series(runs);
    if !ropes.is_empty() {
        let series: Vec<XySeries> = ropes
            .iter()
            .enumerate()
            .map(|(i, s)| XySeries {
                label: format!("rope {} (run #{})", s.label, s.run_id),
                color: PALETTE[i % PALETTE.len()],
                points: s.points.iter().map(|&(c, p)| (c as f64, p)).collect(),
            })
            .collect();
        let ppl = xy_chart_svg(
            "Perplexity against context",
            "context tokens",
            "perplexity",
            &series,
        )?;
        out.push_str(&format!("<figure>{ppl}</figure>\n"));
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const RED_: RGBColor = RGBColor(214, 39, 40);

pub fn to_html(runs: &[RunRecord]) -> Result<String, String> {
    let ids: Vec<u64> = runs.iter().map(|r| r.id).collect();
    let throughput = chart_svg(
        "Throughput",
        "tokens/s",
        &ids,
        &[
            Line {
                label: "prefill",
                color: BLUE_,
                values: mean_of(runs, "prefill_tok_s"),
            },
            Line {
                label: "decode",
                color: ORANGE,
                values: mean_of(runs, "decode_tok_s"),
            },
        ],
    )?;
    let latency = chart_svg(
        "Per-token latency",
        "ms",
        &ids,
        &[
            Line {
                label: "p50",
                color: GREEN_,
                values: mean_of(runs, "latency_p50_ms"),
            },
            Line {
                label: "p95",
                color: ORANGE,
                values: mean_of(runs, "latency_p95_ms"),
            },
            Line {
                label: "p99",
                color: RED_,
                values: mean_of(runs, "latency_p99_ms"),
            },
        ],
    )?;
    let memory = chart_svg(
        "Memory",
        "MB",
        &ids,
        &[
            Line {
                label: "peak RSS",
                color: RED_,
                values: mean_of(runs, "peak_rss_mb"),
            },
            Line {
                label: "average RSS",
                color: BLUE_,
                values: mean_of(runs, "avg_rss_mb"),
            },
        ],
    )?;
    let long = long_context_figures(runs)?;
    let mut rows = String::new();
    for r in runs {
        let cell = |key: &str| {
            r.metric(key).map_or(String::new(), |s| match s.ci95 {
                Some((lo, hi)) => format!("{:.1} <small>[{lo:.1}, {hi:.1}]</small>", s.mean),
                None => format!("{:.1}", s.mean),
            })
        };
        rows.push_str(&format!(
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            r.id,
            escape(&format_time(r.started_at)),
            escape(&r.suite),
            escape(&r.model),
            escape(&r.profile),
            escape(&format!("{} ×{}", r.engine, r.threads)),
            cell("prefill_tok_s"),
            cell("decode_tok_s"),
            cell("ttft_ms"),
            cell("latency_p95_ms"),
            cell("peak_rss_mb"),
            r.perplexity
                .map_or(String::new(), |p| format!("{:.2}", p.value)),
        ));
    }
    let machine = runs
        .last()
        .map(|r| {
            format!(
                "{} · gemma-tui {}",
                escape(&r.machine.describe()),
                escape(&r.version)
            )
        })
        .unwrap_or_else(|| "no runs".into());
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gemma-tui benchmark report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:nth-child(-n+6), th:nth-child(-n+6) {{ text-align: left; }}
small {{ color: #777; }}
figure {{ margin: 1em 0; }}
</style></head><body>
<h1>gemma-tui benchmark report</h1>
<p>{count} runs · {machine}. Figures are means over a run's iterations with their 95% confidence
interval (Student's t).</p>
<table>
<tr><th>run</th><th>started (UTC)</th><th>suite</th><th>model</th><th>profile</th><th>engine</th>
<th>prefill tok/s</th><th>decode tok/s</th><th>TTFT ms</th><th>p95 ms</th><th>peak RSS MB</th><th>perplexity</th></tr>
{rows}</table>
<figure>{throughput}</figure>
<figure>{latency}</figure>
<figure>{memory}</figure>
{long}</body></html>
"#,
        count = runs.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::IterationMetrics;

    fn run(id: u64, decode: f64) -> RunRecord {
        let mut r: RunRecord = serde_json::from_value(serde_json::json!({
            "schema": 1, "id": id, "started_at": 1_795_914_000u64, "suite": "quick",
            "suite_settings": {}, "model": "<m>", "model_path": "m", "profile": "p",
            "profile_settings": {}, "engine": "candle", "threads": 2,
            "machine": {"cpu": "c", "cores": 2, "physical_cores": null, "memory_bytes": 1, "os": ""},
            "version": "0", "iterations": [], "token_latencies_ms": [], "perplexity": null
        }))
        .unwrap();
        r.iterations = vec![
            IterationMetrics {
                decode_tok_s: decode,
                prefill_tok_s: 250.0,
                latency_p50_ms: 16.0,
                peak_rss_mb: 350.0,
                ..Default::default()
            };
            2
        ];
        r
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::from_path(Path::new("r.HTML")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("r.csv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("r")), None);
    }

    #[test]
    fn csv_has_a_row_per_run_with_every_metric() {
        let text = to_csv(&[run(1, 60.0), run(2, 55.5)]).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let col = header
            .iter()
            .position(|h| h == "decode_tok_s_mean")
            .unwrap();
        let rows: Vec<_> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[1][col], "55.5000");
        assert_eq!(&rows[0][3], "<m>");
    }

    #[test]
    fn html_holds_three_svg_charts_and_escapes_names() {
        let html = to_html(&[run(1, 60.0), run(2, 55.5)]).unwrap();
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.contains("&lt;m&gt;") && !html.contains("<m>"));
        assert!(html.contains("Throughput") && html.contains("#2"));
        // An empty history still renders (empty charts) rather than failing.
        assert_eq!(to_html(&[]).unwrap().matches("<svg").count(), 3);
    }

    #[test]
    fn long_context_runs_add_three_charts() {
        use crate::bench::record::{CtxPerplexity, PromptFigures};
        let mut r = run(1, 60.0);
        r.prompts = [256, 1024]
            .map(|n| PromptFigures {
                label: format!("pp{n}"),
                prompt_tokens: n,
                prefill_tok_s: vec![900.0],
                decode_tok_s: vec![50.0],
                peak_rss_mb: vec![400.0],
            })
            .to_vec();
        r.perplexity_ctx = vec![CtxPerplexity {
            n_ctx: 128,
            rope: "linear:8".into(),
            ppl: 20.0,
            ..Default::default()
        }];
        let html = to_html(&[r]).unwrap();
        assert_eq!(html.matches("<svg").count(), 6);
        for title in [
            "Prompt speed against prompt length",
            "Peak memory against prompt length",
            "Perplexity against context",
            "rope linear:8",
        ] {
            assert!(html.contains(title), "{title}");
        }
    }
}
