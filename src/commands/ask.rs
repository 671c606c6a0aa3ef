//! `gemma-tui ask`: one completion on standard output.
use std::io::{Read, Write};
use std::sync::Arc;

use gemma_tui::actors::sampling::vocab_of;
use gemma_tui::engine::{Engine, PromptKind, StepControl};
use gemma_tui::sampling::Sampler;
use serde_json::json;

use super::{default_threads, resolve_model, CommandError};
use crate::cli::{AskArgs, Cli};

pub fn run(cli: &Cli, args: &AskArgs, matches: &clap::ArgMatches) -> Result<(), CommandError> {
    let prompt = match args.prompt.as_deref() {
        Some(p) if p != "-" => p.to_string(),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CommandError::Io(format!("cannot read the prompt from stdin: {e}")))?;
            s
        }
    };
    // The profile's settings with the explicit flags over them. Bad sampler settings are a usage
    // error (clap's exit code 2), found before the model loads.
    let profiled = super::profile::ask_settings(cli, args, matches);
    let params = profiled.sampler.unwrap_or_else(|e| {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                format!("bad sampler settings: {e}"),
            )
            .exit()
    });
    if prompt.trim().is_empty() {
        return Err(CommandError::Generation("the prompt is empty".into()));
    }
    let path = resolve_model(cli.model.clone())?;
    let engine = Engine::load_with(
        &path,
        cli.threads.unwrap_or_else(default_threads),
        cli.engine,
    )
    .map_err(|e| CommandError::Model(format!("{}: {e}", path.display())))?;
    let mut session = engine
        .new_session(profiled.ctx)
        .map_err(|e| CommandError::Model(e.to_string()))?;
    let mut sampler = Sampler::new(params);
    if sampler
        .params
        .is_active(gemma_tui::sampling::SamplerKind::Dry)
    {
        // DRY finds its sequence breakers in the tokens' text.
        let tokenize = |s: &str| engine.tokenizer.encode(s, false, false);
        sampler.set_vocab(Arc::new(vocab_of(&engine.tokenizer)), Some(&tokenize));
    }
    let kind = if args.raw {
        PromptKind::Raw(prompt.clone())
    } else {
        PromptKind::Chat {
            text: prompt.clone(),
            system: profiled.system,
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut text = String::new();
    let mut write_error = None;
    let stats = engine
        .generate(
            &mut session,
            &kind,
            profiled.max_tokens,
            &|| false,
            &mut |logits, history| {
                sampler
                    .sample_with_history(&logits, history)
                    .map_err(|e| gemma_tui::engine::EngineError::Kernel(e.to_string()))
            },
            &mut |event| {
                if let gemma_tui::engine::GenEvent::Token { text: piece, .. } = event {
                    text.push_str(piece);
                    if !args.json {
                        // A closed pipe (`| head`) ends the generation instead of panicking.
                        if let Err(e) = out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
                            write_error = Some(e);
                            return StepControl::Stop;
                        }
                    }
                }
                StepControl::Continue
            },
        )
        .map_err(|e| CommandError::Generation(e.to_string()))?;
    if let Some(e) = write_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(CommandError::Io(format!("cannot write to stdout: {e}")));
    }
    if args.json {
        let value = json!({
            "model": path.display().to_string(),
            "prompt": prompt,
            "text": text,
            "prompt_ids": stats.prompt_ids,
            "generated_ids": stats.generated_ids,
            "finish": stats.finish,
            "timings": {
                "load_ms": engine.load_time.as_secs_f64() * 1000.0,
                "prefill_ms": stats.prefill_ms,
                "ttft_ms": stats.ttft_ms,
                "decode_ms": stats.decode_ms,
                "prefill_tok_s": stats.prefill_tok_s(),
                "decode_tok_s": stats.decode_tok_s(),
            },
            "threads": engine.threads(),
        });
        writeln!(out, "{value}").map_err(|e| CommandError::Io(e.to_string()))?;
    } else {
        let _ = writeln!(out);
    }
    Ok(())
}
