//! `gemma-tui bench`: load time, prefill (pp) and decode (tg) speed and peak memory, measured like
//! llama-bench: a prompt prefilled into an empty cache, then greedy decode steps. With
//! `--engines a,b` every run of every engine is its own child process, alternating engines, so
//! each figure (load time and peak RSS included) belongs to one engine alone.
use std::process::Command;
use std::time::Instant;

use gemma_tui::engine::{Engine, EngineError, EngineKind, Limits, PromptKind, StepControl};
use gemma_tui::sampling::argmax;
use serde::{Deserialize, Serialize};

mod history;
mod pipeline;
mod suite_run;

use super::{default_threads, peak_rss_bytes, resolve_model, CommandError};
use crate::cli::{BenchArgs, Cli};

const BENCH_TEXT: &str = "The history of computing is a story of people who wanted to calculate \
faster than they could by hand. Early machines used gears and levers; later ones used relays, \
vacuum tubes and finally transistors etched by the billion into silicon. Each step made \
machines smaller, cheaper and faster, and each step changed what people asked of them. ";

/// What one engine measured; every speed has one entry per run.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct BenchReport {
    pub engine: EngineKind,
    pub model: String,
    pub threads: usize,
    pub runs: usize,
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub load_ms: Vec<f64>,
    /// Prefill of `prompt_tokens` into an empty cache.
    pub prefill_tok_s: Vec<f64>,
    /// Decode of `gen_tokens` right after that prompt.
    pub decode_tok_s: Vec<f64>,
    /// Decode of `gen_tokens` from an empty context (full suite only).
    pub decode_empty_tok_s: Vec<f64>,
    /// Prefill of 512 tokens (full suite only).
    pub prefill512_tok_s: Vec<f64>,
    pub peak_rss_mb: Vec<f64>,
    /// Per-token time through the actors over the bare loop's, minus one, in percent
    /// (`--pipeline` only).
    #[serde(default)]
    pub pipeline_overhead_pct: Vec<f64>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CommandError> {
    if let Some(cmd) = &args.action {
        return history::run(cli, cmd);
    }
    // `--quick` is the quick suite, except beside the pp/tg-only flags, where it keeps meaning
    // two runs of that measurement (scripts comparing engines rely on it).
    let legacy_quick = args.quick && (!args.engines.is_empty() || args.pipeline);
    if let Some(name) = args.suite.as_deref() {
        return suite_run::run(cli, args, name);
    }
    if args.quick && !legacy_quick {
        return suite_run::run(cli, args, "quick");
    }
    if args.engines.len() > 1 {
        return compare_engines(cli, args);
    }
    let kind = args.engines.first().copied().unwrap_or(cli.engine);
    let report = measure(cli, args, kind)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| CommandError::Io(e.to_string()))?
        );
    } else {
        print_table(&[report]);
    }
    Ok(())
}

/// Runs the workload in this process on one engine.
fn measure(cli: &Cli, args: &BenchArgs, kind: EngineKind) -> Result<BenchReport, CommandError> {
    let runs = if args.quick { 2 } else { args.runs.max(1) };
    let path = resolve_model(cli.model.clone())?;
    let threads = cli.threads.unwrap_or_else(default_threads);
    let engine = Engine::load_with(&path, threads, kind)
        .map_err(|e| CommandError::Model(format!("{}: {e}", path.display())))?;
    let tokens = |n: usize| {
        let mut ids = engine
            .tokenizer
            .encode(&BENCH_TEXT.repeat(n / 40 + 2), true, false);
        ids.truncate(n.max(1));
        ids
    };
    let prompt = tokens(args.prompt_tokens);
    let long_prompt = tokens(512);
    let fail = |e: EngineError| CommandError::Generation(e.to_string());
    let mut report = BenchReport {
        engine: kind,
        model: path.display().to_string(),
        threads: engine.threads(),
        runs,
        prompt_tokens: prompt.len(),
        gen_tokens: args.gen_tokens,
        load_ms: vec![engine.load_time.as_secs_f64() * 1000.0],
        prefill_tok_s: Vec::new(),
        decode_tok_s: Vec::new(),
        decode_empty_tok_s: Vec::new(),
        prefill512_tok_s: Vec::new(),
        peak_rss_mb: Vec::new(),
        pipeline_overhead_pct: Vec::new(),
    };
    // Warm-up: page in the weights, start the thread pool.
    prefill_then_decode(&engine, &prompt[..prompt.len().min(16)], 4).map_err(fail)?;
    for _ in 0..runs {
        let (pp, tg) = prefill_then_decode(&engine, &prompt, args.gen_tokens).map_err(fail)?;
        report.prefill_tok_s.push(pp);
        report.decode_tok_s.push(tg);
        if args.full {
            let (_, tg0) =
                prefill_then_decode(&engine, &prompt[..1], args.gen_tokens).map_err(fail)?;
            report.decode_empty_tok_s.push(tg0);
            let (pp512, _) = prefill_then_decode(&engine, &long_prompt, 0).map_err(fail)?;
            report.prefill512_tok_s.push(pp512);
        }
    }
    report.peak_rss_mb = peak_rss_bytes()
        .map(|b| vec![b as f64 / 1e6])
        .unwrap_or_default();
    // After the RSS reading: the pipeline loads the model a second time in this process.
    if args.pipeline {
        let text = BENCH_TEXT.repeat(2);
        for _ in 0..runs {
            let bare = bare_decode_ms_per_token(&engine, &text, args.gen_tokens).map_err(fail)?;
            let piped =
                pipeline::decode_ms_per_token(&path, threads, kind, &text, args.gen_tokens)?;
            report
                .pipeline_overhead_pct
                .push((piped / bare - 1.0) * 100.0);
        }
    }
    Ok(report)
}

/// Prefills `prompt` into a fresh conversation, then decodes `n` greedy tokens; both in tokens/s.
fn prefill_then_decode(
    engine: &Engine,
    prompt: &[u32],
    n: usize,
) -> Result<(f64, f64), EngineError> {
    let mut session = engine.new_session(prompt.len() + n + 8)?;
    let t0 = Instant::now();
    let mut logits = session.forward(prompt)?;
    let prefill = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    for _ in 0..n {
        logits = session.forward(&[argmax(&logits)])?;
    }
    let decode = t1.elapsed().as_secs_f64();
    Ok((
        prompt.len() as f64 / prefill,
        if n > 0 { n as f64 / decode } else { 0.0 },
    ))
}

/// Milliseconds per decoded token of a greedy reply through the generation loop, sampling in
/// the same thread: the baseline the pipeline is compared with.
fn bare_decode_ms_per_token(engine: &Engine, text: &str, n: usize) -> Result<f64, EngineError> {
    let mut session = engine.new_session(1024)?;
    let stats = engine.generate(
        &mut session,
        &PromptKind::Raw(text.to_string()),
        &Limits::tokens(n),
        &|| false,
        &mut |logits, _| Ok(argmax(&logits)),
        &mut |_| StepControl::Continue,
    )?;
    Ok(stats.decode_ms / stats.generated_ids.len().saturating_sub(1).max(1) as f64)
}

/// Alternates child processes (`bench --engines E --runs 1 --json`) over the engines.
fn compare_engines(cli: &Cli, args: &BenchArgs) -> Result<(), CommandError> {
    let exe = std::env::current_exe().map_err(|e| CommandError::Io(e.to_string()))?;
    let runs = if args.quick { 2 } else { args.runs.max(1) };
    let mut merged: Vec<Option<BenchReport>> = vec![None; args.engines.len()];
    for run in 0..runs {
        for (i, kind) in args.engines.iter().enumerate() {
            if !args.json {
                eprintln!("run {}/{runs}: {kind}", run + 1);
            }
            let mut cmd = Command::new(&exe);
            cmd.arg("--ctx").arg(cli.ctx.to_string());
            if let Some(m) = &cli.model {
                cmd.arg("--model").arg(m);
            }
            if let Some(t) = cli.threads {
                cmd.arg("--threads").arg(t.to_string());
            }
            cmd.args(["bench", "--json", "--runs", "1", "--engines", kind.name()])
                .arg("--prompt-tokens")
                .arg(args.prompt_tokens.to_string())
                .arg("--gen-tokens")
                .arg(args.gen_tokens.to_string());
            if args.full {
                cmd.arg("--full");
            }
            if args.pipeline {
                cmd.arg("--pipeline");
            }
            let out = cmd.output().map_err(|e| CommandError::Io(e.to_string()))?;
            if !out.status.success() {
                return Err(CommandError::Generation(format!(
                    "the {kind} run failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let r: BenchReport = serde_json::from_slice(&out.stdout)
                .map_err(|e| CommandError::Io(format!("the {kind} run printed no report: {e}")))?;
            merged[i] = Some(match merged[i].take() {
                None => BenchReport { runs, ..r },
                Some(mut m) => {
                    m.load_ms.extend(r.load_ms);
                    m.prefill_tok_s.extend(r.prefill_tok_s);
                    m.decode_tok_s.extend(r.decode_tok_s);
                    m.decode_empty_tok_s.extend(r.decode_empty_tok_s);
                    m.prefill512_tok_s.extend(r.prefill512_tok_s);
                    m.peak_rss_mb.extend(r.peak_rss_mb);
                    m.pipeline_overhead_pct.extend(r.pipeline_overhead_pct);
                    m
                }
            });
        }
    }
    let reports: Vec<BenchReport> = merged.into_iter().flatten().collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&reports).map_err(|e| CommandError::Io(e.to_string()))?
        );
    } else {
        print_table(&reports);
    }
    Ok(())
}

/// Picks one metric's runs out of a report.
type Metric = fn(&BenchReport) -> &Vec<f64>;

/// One column per engine (means over runs), and the first engine's ratio to the second.
fn print_table(reports: &[BenchReport]) {
    let Some(first) = reports.first() else { return };
    println!("model    {}", first.model);
    println!(
        "threads  {}   runs {}   prompt {} tokens   generate {} tokens",
        first.threads, first.runs, first.prompt_tokens, first.gen_tokens
    );
    let mut header = format!("{:<26}", "metric");
    for r in reports {
        header.push_str(&format!("{:>14}", r.engine.name()));
    }
    if reports.len() == 2 {
        header.push_str(&format!("{:>10}", "ratio"));
    }
    println!("{header}");
    let rows: [(&str, Metric); 7] = [
        ("load (ms)", |r| &r.load_ms),
        ("prefill pp (tok/s)", |r| &r.prefill_tok_s),
        ("decode tg after pp (tok/s)", |r| &r.decode_tok_s),
        ("decode tg empty (tok/s)", |r| &r.decode_empty_tok_s),
        ("prefill pp512 (tok/s)", |r| &r.prefill512_tok_s),
        ("peak RSS (MB)", |r| &r.peak_rss_mb),
        ("actor overhead (% of step)", |r| &r.pipeline_overhead_pct),
    ];
    for (name, get) in rows {
        if reports.iter().all(|r| get(r).is_empty()) {
            continue;
        }
        let mut line = format!("{name:<26}");
        for r in reports {
            line.push_str(&format!("{:>14.1}", mean(get(r))));
        }
        if reports.len() == 2 {
            let (a, b) = (mean(get(&reports[0])), mean(get(&reports[1])));
            if b > 0.0 {
                line.push_str(&format!("{:>9.2}x", a / b));
            }
        }
        println!("{line}");
    }
}
