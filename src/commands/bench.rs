//! `gemma-tui bench`: load time, prefill (pp) and decode (tg) speed and peak memory of the engine,
//! measured like llama-bench: prefill of a whole prompt into an empty cache, then greedy decode.
use std::time::Instant;

use gemma_tui::engine::Engine;
use gemma_tui::sampling::argmax;
use serde::Serialize;

use super::{default_threads, peak_rss_bytes, resolve_model, CommandError};
use crate::cli::{BenchArgs, Cli};

const BENCH_TEXT: &str = "The history of computing is a story of people who wanted to calculate \
faster than they could by hand. Early machines used gears and levers; later ones used relays, \
vacuum tubes and finally transistors etched by the billion into silicon. Each step made \
machines smaller, cheaper and faster, and each step changed what people asked of them. ";

#[derive(Serialize)]
pub struct BenchReport {
    pub model: String,
    pub threads: usize,
    pub runs: usize,
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub load_ms: f64,
    pub prefill_tok_s: Vec<f64>,
    pub decode_tok_s: Vec<f64>,
    pub peak_rss_mb: Option<f64>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CommandError> {
    let runs = if args.quick { 2 } else { args.runs.max(1) };
    let path = resolve_model(cli.model.clone())?;
    let threads = cli.threads.unwrap_or_else(default_threads);
    let engine = Engine::load(&path, threads)
        .map_err(|e| CommandError::Model(format!("{}: {e}", path.display())))?;
    let load_ms = engine.load_time.as_secs_f64() * 1000.0;
    let text = BENCH_TEXT.repeat(args.prompt_tokens / 40 + 2);
    let mut ids = engine.tokenizer.encode(&text, true, false);
    ids.truncate(args.prompt_tokens.max(1));
    let gen = |e: &Engine, n: usize| -> Result<(f64, f64), CommandError> {
        let mut session = e.new_session(ids.len() + n + 8);
        let fail = |err: gemma_tui::engine::EngineError| CommandError::Generation(err.to_string());
        let t0 = Instant::now();
        let mut logits = e.model.forward(&ids, &mut session.cache).map_err(fail)?;
        let prefill = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        for _ in 0..n {
            let tok = argmax(&logits);
            logits = e.model.forward(&[tok], &mut session.cache).map_err(fail)?;
        }
        let decode = t1.elapsed().as_secs_f64();
        Ok((
            ids.len() as f64 / prefill,
            if n > 0 { n as f64 / decode } else { 0.0 },
        ))
    };
    gen(&engine, 8)?; // warm-up: page in the weights, spin up the thread pool
    let mut report = BenchReport {
        model: path.display().to_string(),
        threads: engine.model.threads(),
        runs,
        prompt_tokens: ids.len(),
        gen_tokens: args.gen_tokens,
        load_ms,
        prefill_tok_s: Vec::new(),
        decode_tok_s: Vec::new(),
        peak_rss_mb: None,
    };
    for _ in 0..runs {
        let (pp, tg) = gen(&engine, args.gen_tokens)?;
        report.prefill_tok_s.push(pp);
        report.decode_tok_s.push(tg);
    }
    report.peak_rss_mb = peak_rss_bytes().map(|b| b as f64 / 1e6);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| CommandError::Io(e.to_string()))?
        );
    } else {
        println!("model      {}", report.model);
        println!("threads    {}", report.threads);
        println!("load       {:.0} ms", report.load_ms);
        println!(
            "prefill    {:.1} tok/s  (pp{}, mean of {runs})",
            mean(&report.prefill_tok_s),
            report.prompt_tokens
        );
        println!(
            "decode     {:.1} tok/s  (tg{}, mean of {runs})",
            mean(&report.decode_tok_s),
            report.gen_tokens
        );
        if let Some(mb) = report.peak_rss_mb {
            println!("peak RSS   {mb:.0} MB");
        }
    }
    Ok(())
}
