//! `gemma-tui perplexity FILE`: llama-perplexity's measurement of a text (see
//! bench::perplexity_chunks), on either engine. Progress goes to stderr; the running estimates
//! and the final figure (or one JSON object with `--json`) to stdout.
use std::io::Write;
use std::time::Instant;

use gemma_tui::bench::perplexity_chunks::{
    load_engine, score_chunks, ChunkPlan, LoadError, PerplexityReport,
};
use gemma_tui::bench::perplexity_stream::score_stream;
use gemma_tui::engine::Engine;

use super::{default_threads, resolve_model, CommandError};
use crate::cli::{Cli, PerplexityArgs};

/// llama-perplexity's default context.
pub const DEFAULT_CTX: usize = 512;

pub fn run(
    cli: &Cli,
    args: &PerplexityArgs,
    matches: &clap::ArgMatches,
) -> Result<(), CommandError> {
    // The global --ctx defaults to the dashboard's 4096; here llama-perplexity's 512 unless typed.
    let typed = matches.value_source("ctx") == Some(clap::parser::ValueSource::CommandLine);
    let n_ctx = if typed { cli.ctx } else { DEFAULT_CTX };
    let text = read_text(&args.file)?;
    // Checked before the model loads, so a bad value fails fast.
    if n_ctx < gemma_tui::bench::perplexity_chunks::MIN_CTX {
        return Err(CommandError::Generation(format!(
            "--ctx {n_ctx} is too small: perplexity needs at least {}",
            gemma_tui::bench::perplexity_chunks::MIN_CTX
        )));
    }
    if super::remote_model(cli)?.is_some() {
        return Err(CommandError::Model(
            "perplexity needs the logits of every position, which a remote model does not send"
                .into(),
        ));
    }
    let path = resolve_model(cli.model.clone())?;
    let threads = cli.threads.unwrap_or_else(default_threads);
    // RoPE scaling: the models.toml entry's, the profile's (--profile or the active one), then
    // the flags.
    let (_, config) = super::profile::load(cli);
    let profile = config.config.profile(cli.profile.as_deref()).ok();
    let rope = config
        .config
        .rope_for(&path, profile, &cli.rope.to_scaling());
    let engine =
        load_engine(&path, threads, cli.engine, &rope, n_ctx, "--ctx").map_err(|e| match e {
            LoadError::Model(m) => CommandError::Model(m),
            LoadError::Context(m) => CommandError::Generation(m),
        })?;
    let tokens = engine.tokenizer.encode(&text, true, false);
    if args.stream {
        return run_stream(&engine, &tokens, n_ctx, args);
    }
    let plan = ChunkPlan::new(tokens.len(), n_ctx)
        .map_err(|e| CommandError::Generation(format!("{}: {e}", args.file.display())))?;
    eprintln!(
        "perplexity: {} tokens, {} chunks of {n_ctx}, scoring positions {}..{} of each \
         ({} engine, {threads} threads)",
        tokens.len(),
        plan.n_chunk,
        plan.first,
        n_ctx - 1,
        engine.kind
    );
    let r = &engine.rope;
    eprintln!(
        "perplexity: global layers' RoPE: base {}, frequency scale {}, YaRN ext {} attn {} \
         beta {}/{} original context {}",
        r.freq_base,
        r.freq_scale,
        r.ext_factor,
        r.attn_factor,
        r.beta_fast,
        r.beta_slow,
        r.orig_ctx
    );
    let mut session = engine
        .new_session(n_ctx)
        .map_err(|e| CommandError::Model(e.to_string()))?;
    let start = Instant::now();
    let mut running = Vec::with_capacity(plan.n_chunk);
    let json = args.json;
    let (total, chunks) = score_chunks(
        session.pass.as_mut(),
        engine.cfg.vocab_size,
        &tokens,
        &plan,
        engine.tokenizer.bos,
        &mut |i, sums| {
            running.push(sums.perplexity());
            if i == 0 {
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "perplexity: {secs:.2} seconds per pass - ETA {:.2} minutes",
                    secs * plan.n_chunk as f64 / 60.0
                );
            }
            // llama-perplexity's line: `[1]12.3456,[2]...`, a chunk at a time.
            let progress = format!("[{}]{:.4},", i + 1, sums.perplexity());
            if json {
                eprint!("{progress}");
                let _ = std::io::stderr().flush();
            } else {
                print!("{progress}");
                let _ = std::io::stdout().flush();
            }
        },
    )
    .map_err(|e| CommandError::Generation(e.to_string()))?;
    let report = PerplexityReport {
        engine: engine.kind.to_string(),
        rope: engine.rope,
        file: args.file.display().to_string(),
        tokens: tokens.len(),
        n_ctx,
        chunks: plan.n_chunk,
        tokens_scored: total.count,
        ppl: total.perplexity(),
        ppl_error: total.error(),
        running,
        per_chunk: chunks.iter().map(|c| c.perplexity()).collect(),
        seconds: start.elapsed().as_secs_f64(),
    };
    if json {
        eprintln!();
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CommandError::Io(format!("cannot write the report: {e}")))?;
        println!("{text}");
    } else {
        println!();
        println!(
            "Final estimate: PPL = {:.4} +/- {:.5}",
            report.ppl, report.ppl_error
        );
    }
    eprintln!(
        "perplexity: {} predictions scored in {:.1} s",
        report.tokens_scored, report.seconds
    );
    Ok(())
}

/// `--stream`: the text through one shifting cache (see bench::perplexity_stream).
fn run_stream(
    engine: &Engine,
    tokens: &[u32],
    n_ctx: usize,
    args: &PerplexityArgs,
) -> Result<(), CommandError> {
    if tokens.len() < n_ctx / 2 + 2 {
        return Err(CommandError::Generation(format!(
            "{}: {} tokens is too short for --stream with --ctx {n_ctx} (it scores from {} on)",
            args.file.display(),
            tokens.len(),
            n_ctx / 2
        )));
    }
    eprintln!(
        "perplexity: {} tokens as one stream through a {n_ctx}-position cache, shifting when full \
         (keep {}, drop half the rest), scoring from position {} ({} engine)",
        tokens.len(),
        args.keep,
        n_ctx / 2,
        engine.kind
    );
    let start = Instant::now();
    let (sums, shifts) = score_stream(engine, tokens, n_ctx, args.keep, &mut |i, sums| {
        eprint!("[shift {i}]{:.4},", sums.perplexity());
        let _ = std::io::stderr().flush();
    })
    .map_err(|e| CommandError::Generation(e.to_string()))?;
    eprintln!();
    let seconds = start.elapsed().as_secs_f64();
    if args.json {
        let report = serde_json::json!({
            "mode": "stream",
            "engine": engine.kind.to_string(),
            "file": args.file.display().to_string(),
            "tokens": tokens.len(),
            "n_ctx": n_ctx,
            "keep": args.keep,
            "shifts": shifts,
            "tokens_scored": sums.count,
            "ppl": sums.perplexity(),
            "ppl_error": sums.error(),
            "seconds": seconds,
        });
        println!("{report:#}");
    } else {
        println!(
            "Stream estimate: PPL = {:.4} +/- {:.5} ({} predictions, {shifts} context shifts)",
            sums.perplexity(),
            sums.error(),
            sums.count
        );
    }
    Ok(())
}

/// The file's text, without one trailing newline (as llama-perplexity reads `-f`).
fn read_text(path: &std::path::Path) -> Result<String, CommandError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CommandError::Io(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| CommandError::Io(format!("{} is not UTF-8 text", path.display())))?;
    if text.ends_with('\n') {
        text.pop();
    }
    if text.trim().is_empty() {
        return Err(CommandError::Io(format!("{} is empty", path.display())));
    }
    Ok(text)
}
