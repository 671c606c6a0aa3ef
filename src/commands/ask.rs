//! `gemma-tui ask`: one completion on standard output.
use std::io::{Read, Write};

use gemma_tui::engine::{Engine, PromptKind, StepControl};
use gemma_tui::sampling::{Sampler, SamplerParams};
use serde_json::json;

use super::{default_threads, resolve_model, CommandError};
use crate::cli::{AskArgs, Cli};

pub fn run(cli: &Cli, args: &AskArgs) -> Result<(), CommandError> {
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
    if prompt.trim().is_empty() {
        return Err(CommandError::Generation("the prompt is empty".into()));
    }
    let path = resolve_model(cli.model.clone())?;
    let engine = Engine::load(&path, cli.threads.unwrap_or_else(default_threads))
        .map_err(|e| CommandError::Model(format!("{}: {e}", path.display())))?;
    let mut session = engine.new_session(cli.ctx);
    let mut sampler = Sampler::new(SamplerParams {
        temperature: args.temp,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        seed: args.seed,
    });
    let kind = if args.raw {
        PromptKind::Raw(prompt.clone())
    } else {
        PromptKind::Chat {
            text: prompt.clone(),
            system: args.system.clone(),
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
            cli.max_tokens,
            &|| false,
            &mut |logits, _| {
                sampler
                    .sample(&logits)
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
            "threads": engine.model.threads(),
        });
        writeln!(out, "{value}").map_err(|e| CommandError::Io(e.to_string()))?;
    } else {
        let _ = writeln!(out);
    }
    Ok(())
}
