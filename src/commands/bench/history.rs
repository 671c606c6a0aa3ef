//! `gemma-tui bench suites|list|show|compare|baseline|report`: the stored history.
use gemma_tui::bench::compare::MetricComparison;
use gemma_tui::bench::record::format_time;
use gemma_tui::bench::report::{self, Format};
use gemma_tui::bench::stats::summarize;
use gemma_tui::bench::suite::load_suites;
use gemma_tui::bench::{compare, BenchStore, Comparison, RunRecord, METRICS};

use crate::cli::{BenchCommand, Cli};
use crate::commands::CommandError;

fn io(e: impl std::fmt::Display) -> CommandError {
    CommandError::Io(e.to_string())
}

fn json(value: &impl serde::Serialize) -> Result<(), CommandError> {
    println!("{}", serde_json::to_string_pretty(value).map_err(io)?);
    Ok(())
}

pub fn run(cli: &Cli, cmd: &BenchCommand) -> Result<(), CommandError> {
    if let BenchCommand::Suites = cmd {
        let dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
        let suites = load_suites(&dir).map_err(CommandError::Config)?;
        for (name, s) in &suites {
            println!("{name:<14} {}", s.description);
        }
        return Ok(());
    }
    let store = BenchStore::open_default().map_err(io)?;
    match cmd {
        BenchCommand::Suites => Ok(()),
        BenchCommand::List {
            suite,
            json: as_json,
        } => {
            let runs: Vec<RunRecord> = store
                .list()
                .map_err(io)?
                .into_iter()
                .filter(|r| suite.as_ref().is_none_or(|s| &r.suite == s))
                .collect();
            if *as_json {
                return json(&runs);
            }
            if runs.is_empty() {
                println!("no runs stored in {}", store.path().display());
                return Ok(());
            }
            let baselines: Vec<u64> = store
                .baselines()
                .map_err(io)?
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            println!(
                "{:<6} {:<17} {:<13} {:<22} {:<10} {:>12} {:>12} {:>10}",
                "run",
                "started (UTC)",
                "suite",
                "model/profile",
                "engine",
                "prefill t/s",
                "decode t/s",
                "peak MB"
            );
            for r in &runs {
                let mark = if baselines.contains(&r.id) { "*" } else { " " };
                let mean = |k: &str| r.metric(k).map_or(f64::NAN, |s| s.mean);
                println!(
                    "{:<6} {:<17} {:<13} {:<22} {:<10} {:>12.1} {:>12.1} {:>10.0}",
                    format!("#{}{mark}", r.id),
                    format_time(r.started_at),
                    r.suite,
                    format!("{}/{}", r.model, r.profile),
                    format!("{}/{}t", r.engine, r.threads),
                    mean("prefill_tok_s"),
                    mean("decode_tok_s"),
                    mean("peak_rss_mb"),
                );
            }
            Ok(())
        }
        BenchCommand::Show { run, json: as_json } => {
            let r = store.resolve(run).map_err(io)?;
            if *as_json {
                return json(&r);
            }
            print_run(&r);
            Ok(())
        }
        BenchCommand::Compare {
            a,
            b,
            threshold,
            json: as_json,
        } => {
            let (ra, rb) = (store.resolve(a).map_err(io)?, store.resolve(b).map_err(io)?);
            let c = compare(&ra, &rb, *threshold);
            if *as_json {
                json(&c)?;
            } else {
                print_comparison(&ra, &rb, &c);
            }
            if c.regression {
                return Err(CommandError::Regression(format!(
                    "regression: run #{} against #{}",
                    rb.id, ra.id
                )));
            }
            Ok(())
        }
        BenchCommand::Baseline { run, clear } => {
            if let Some(suite) = clear {
                if store.clear_baseline(suite).map_err(io)? {
                    println!("suite `{suite}` has no baseline now");
                } else {
                    println!("suite `{suite}` had no baseline");
                }
                return Ok(());
            }
            match run {
                Some(spec) => {
                    let id = store.resolve(spec).map_err(io)?.id;
                    let r = store.set_baseline(id).map_err(io)?;
                    println!("run #{} is the baseline of suite `{}`", r.id, r.suite);
                }
                None => {
                    let all = store.baselines().map_err(io)?;
                    if all.is_empty() {
                        println!("no baselines: pin one with `gemma-tui bench baseline RUN`");
                    }
                    for (suite, id) in all {
                        println!("{suite:<14} #{id}");
                    }
                }
            }
            Ok(())
        }
        BenchCommand::Report {
            output,
            format,
            suite,
            last,
        } => {
            let format = format
                .or_else(|| Format::from_path(output))
                .ok_or_else(|| {
                    CommandError::Config(format!(
                        "{}: say --format html|json|csv, or end the name with .html, .json or .csv",
                        output.display()
                    ))
                })?;
            let mut runs: Vec<RunRecord> = store
                .list()
                .map_err(io)?
                .into_iter()
                .filter(|r| suite.as_ref().is_none_or(|s| &r.suite == s))
                .collect();
            if let Some(n) = last {
                runs.drain(..runs.len().saturating_sub(*n));
            }
            let text = report::render(format, &runs).map_err(io)?;
            gemma_tui::config::write_atomic(output, text.as_bytes())
                .map_err(|e| io(format!("{}: {e}", output.display())))?;
            eprintln!("wrote {} ({} runs)", output.display(), runs.len());
            Ok(())
        }
    }
}

/// A run's header and one line per metric: mean, sd and the 95% confidence interval.
pub fn print_run(r: &RunRecord) {
    println!(
        "run #{}  suite {}  {}/{}  {}, {} threads  {}",
        r.id,
        r.suite,
        r.model,
        r.profile,
        r.engine,
        r.threads,
        format_time(r.started_at)
    );
    let s = &r.suite_settings;
    let prompts: Vec<String> = s.prompt_specs().iter().map(|p| p.label()).collect();
    println!(
        "{} iterations after {} warm-up; prompts {}; {} tokens generated each",
        r.iterations.len(),
        s.warmup,
        prompts.join(" "),
        s.gen_tokens
    );
    println!("machine {}; gemma-tui {}", r.machine.describe(), r.version);
    if let Some(remote) = &r.remote {
        println!(
            "remote {} ({}) at {}; tokens generated {:?}",
            remote.served_model,
            remote.backend,
            remote.urls.join(" "),
            remote.generated_tokens
        );
    }
    println!(
        "{:<28} {:>10} {:>9} {:>24}",
        "metric", "mean", "sd", "95% CI"
    );
    let not_measured = r.remote.as_ref().map_or(&[][..], |t| &t.not_measured[..]);
    for m in &METRICS {
        if let Some((_, why)) = not_measured.iter().find(|(k, _)| k == m.key) {
            println!(
                "{:<28} {:>10}   not measured: {why}",
                format!("{} ({})", m.label, m.unit),
                "-"
            );
            continue;
        }
        let sum = r.summary(m);
        let ci = sum
            .ci95
            .map_or("-".to_string(), |(lo, hi)| format!("[{lo:.2}, {hi:.2}]"));
        println!(
            "{:<28} {:>10.2} {:>9.2} {:>24}",
            format!("{} ({})", m.label, m.unit),
            sum.mean,
            sum.sd,
            ci
        );
    }
    if let Some(bound) = &r.decode_bound {
        let decode = r.metric("decode_tok_s").map_or(0.0, |s| s.mean);
        println!("{}", bound.describe(decode));
    }
    if let Some(p) = r.perplexity {
        println!(
            "{:<28} {:>10.3}   (held-out text, {} tokens scored)",
            "perplexity", p.value, p.tokens
        );
    }
    let line = |name: String, values: &[f64]| {
        let sum = summarize(values);
        let ci = sum
            .ci95
            .map_or("-".to_string(), |(lo, hi)| format!("[{lo:.2}, {hi:.2}]"));
        println!("{:<28} {:>10.2} {:>9.2} {:>24}", name, sum.mean, sum.sd, ci);
    };
    if !r.pipeline_overhead_pct.is_empty() {
        line(
            "actor overhead (% of step)".into(),
            &r.pipeline_overhead_pct,
        );
    }
    // Concurrent streams: the aggregate rate and its ratio to the first count's (one stream).
    if let Some(first) = r.parallel.first() {
        let base = summarize(&first.aggregate_tok_s).mean;
        for p in &r.parallel {
            let name = format!("{} streams (tok/s total)", p.streams);
            line(name, &p.aggregate_tok_s);
            let mean = summarize(&p.aggregate_tok_s).mean;
            println!(
                "{:<28} {:>10.2}   each stream {:.1} tok/s",
                format!("  x {} stream", first.streams),
                mean / base.max(1e-9),
                summarize(&p.stream_tok_s).mean
            );
        }
    }
    // With several prompts, each one's own speeds (the metrics above pool them).
    if r.prompts.len() > 1 {
        for p in &r.prompts {
            line(format!("{} prefill (tok/s)", p.label), &p.prefill_tok_s);
            if p.decode_tok_s.iter().any(|&v| v > 0.0) {
                line(format!("{} decode (tok/s)", p.label), &p.decode_tok_s);
            }
            if !p.peak_rss_mb.is_empty() {
                line(format!("{} peak RSS (MB)", p.label), &p.peak_rss_mb);
            }
        }
    }
    // Perplexity against context (the long-context suite), one line per point.
    for p in &r.perplexity_ctx {
        println!(
            "{:<28} {:>10.3}   ± {:.3} ({} tokens scored)",
            format!("perplexity ctx {} {}", p.n_ctx, p.rope),
            p.ppl,
            p.ppl_error,
            p.tokens
        );
    }
}

/// Runs of one model and profile on several engines, side by side: each later engine's run
/// against the first one's, metric by metric (B - A, its interval, Welch's p).
pub fn print_engines(runs: &[RunRecord], threshold: f64) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for a in runs {
        let key = (a.model.as_str(), a.profile.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        for b in runs
            .iter()
            .filter(|b| (b.model.as_str(), b.profile.as_str()) == key && b.engine != a.engine)
        {
            let c = compare(a, b, threshold);
            println!(
                "engines: {} (B, run #{}) against {} (A, run #{}), {}/{}",
                b.engine, b.id, a.engine, a.id, a.model, a.profile
            );
            println!(
                "{:<28} {:>10} {:>10} {:>18} {:>22} {:>7}  verdict",
                "metric", "A", "B", "delta", "95% CI of delta", "p"
            );
            for m in &c.metrics {
                println!("{}", comparison_line(m).trim_end_matches("  REGRESSION"));
            }
            println!();
        }
    }
}

/// Each metric's delta with its interval and verdict; regressions marked.
pub fn print_comparison(a: &RunRecord, b: &RunRecord, c: &Comparison) {
    println!(
        "run #{} against #{} (regression: significantly worse by {}% or more)",
        b.id, a.id, c.threshold_pct
    );
    for w in &c.warnings {
        println!("note: {w}");
    }
    println!(
        "{:<28} {:>10} {:>10} {:>18} {:>22} {:>7}  verdict",
        "metric", "A", "B", "delta", "95% CI of delta", "p"
    );
    for m in &c.metrics {
        println!("{}", comparison_line(m));
    }
    println!(
        "{}",
        if c.regression {
            "verdict: REGRESSION"
        } else {
            "verdict: no regression"
        }
    );
}

fn comparison_line(m: &MetricComparison) -> String {
    let ci = m
        .delta_ci95
        .map_or("-".to_string(), |(lo, hi)| format!("[{lo:+.2}, {hi:+.2}]"));
    let p = m.p.map_or("-".to_string(), |p| format!("{p:.3}"));
    let name = if m.unit.is_empty() {
        m.label.to_string()
    } else {
        format!("{} ({})", m.label, m.unit)
    };
    format!(
        "{:<28} {:>10.2} {:>10.2} {:>18} {:>22} {:>7}  {}{}",
        name,
        m.a.mean,
        m.b.mean,
        format!("{:+.2} ({:+.1}%)", m.delta, m.delta_pct),
        ci,
        p,
        m.verdict_word(),
        if m.regression { "  REGRESSION" } else { "" }
    )
}
