//! `gemma-tui ask --model NAME` on a remote engine (a models.toml entry with `url` or `urls`):
//! the reply streams to stdout as it arrives, TTFT and the rate measured here; the sampler
//! settings the server does not apply are listed on stderr before the request.
use std::io::Write;

use gemma_tui::remote::{not_applied, Cluster, Message, Prompt, RemoteModel, ReplyEvent, Request};
use gemma_tui::sampling::SamplerParams;
use serde_json::json;

use super::CommandError;

pub struct RemoteAsk<'a> {
    pub remote: RemoteModel,
    pub prompt: &'a str,
    pub params: SamplerParams,
    pub max_tokens: usize,
    pub stop: Vec<String>,
    /// The rendered user turn, its system prompt and the template's stop strings; `None` with
    /// `--raw` (the prompt goes to `/v1/completions` as it is).
    pub turn: Option<(String, Option<String>, Vec<String>)>,
    pub json: bool,
}

pub fn run(ask: RemoteAsk) -> Result<(), CommandError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Io(format!("cannot start the HTTP runtime: {e}")))?;
    runtime.block_on(run_async(ask))
}

async fn run_async(ask: RemoteAsk<'_>) -> Result<(), CommandError> {
    let cluster = Cluster::connect(&ask.remote, gemma_tui::remote::HEALTH_EVERY)
        .await
        .map_err(|e| CommandError::Model(e.to_string()))?;
    let skipped = not_applied(cluster.backend, &ask.params);
    if !skipped.is_empty() {
        let list: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        eprintln!(
            "gemma-tui: warning: {} ({}) does not apply: {}",
            ask.remote.name,
            cluster.backend,
            list.join(", ")
        );
    }
    let mut stop = ask.stop.clone();
    let prompt = match &ask.turn {
        None => Prompt::Text(ask.prompt.to_string()),
        Some((text, system, template_stop)) => {
            stop.extend(template_stop.iter().cloned());
            let mut messages = Vec::new();
            if let Some(system) = system {
                messages.push(Message::new("system", system.clone()));
            }
            messages.push(Message::new("user", text.clone()));
            Prompt::Chat(messages)
        }
    };
    let request = Request {
        prompt,
        params: ask.params.clone(),
        max_tokens: ask.max_tokens,
        stop,
    };
    let stdout = std::io::stdout();
    let mut write_error = None;
    let mut resumes = Vec::new();
    let stop_writing = std::sync::atomic::AtomicBool::new(false);
    let reply = cluster
        .generate(
            &request,
            &|| stop_writing.load(std::sync::atomic::Ordering::SeqCst),
            &mut |event| match event {
                ReplyEvent::Text(piece) if !ask.json => {
                    let mut out = stdout.lock();
                    // A closed pipe (`| head`) ends the request instead of panicking.
                    if let Err(e) = out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
                        write_error = Some(e);
                        stop_writing.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                ReplyEvent::Text(_) => {}
                ReplyEvent::Resumed {
                    at,
                    from,
                    to,
                    error,
                } => {
                    eprintln!("\ngemma-tui: {from} failed ({error}); the reply goes on on {to} from byte {at}");
                    resumes.push(json!({"at": at, "from": from, "to": to, "error": error}));
                }
            },
        )
        .await
        .map_err(|e| CommandError::Generation(e.to_string()))?;
    if let Some(e) = write_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(CommandError::Io(format!("cannot write to stdout: {e}")));
    }
    let mut out = stdout.lock();
    if ask.json {
        let value = json!({
            "model": ask.remote.name,
            "served_model": cluster.model,
            "backend": cluster.backend.name(),
            "urls": cluster.urls(),
            "node": reply.node,
            "prompt": ask.prompt,
            "text": reply.text,
            "finish": reply.finish_reason,
            "generated_tokens": reply.tokens,
            "prompt_tokens": reply.prompt_tokens,
            "resumed": resumes,
            "not_applied": skipped.iter().map(|n| json!({"field": n.field, "value": n.value})).collect::<Vec<_>>(),
            "timings": {
                "ttft_ms": reply.ttft_ms,
                "decode_tok_s": reply.decode_tok_s,
                "total_ms": reply.total_ms,
                "server": reply.timings,
            },
        });
        writeln!(out, "{value}").map_err(|e| CommandError::Io(e.to_string()))?;
    } else {
        let _ = writeln!(out);
    }
    Ok(())
}
