//! `gemma-tui serve`: the engine as an OpenAI-compatible HTTP server, headless. It binds first
//! (printing `listening on http://HOST:PORT` on stderr, which scripts and tests wait for), loads
//! the model in the background (`/health` answers 503 meanwhile), and on SIGTERM or Ctrl-C stops
//! accepting, lets the requests in flight finish and exits 0.
use std::sync::Arc;

use gemma_tui::engine::{DraftParams, Engine};
use gemma_tui::serve::setup::{server_config, ServeLimits};
use gemma_tui::serve::slots::SlotOptions;
use gemma_tui::serve::ServerState;

use super::{default_threads, resolve_model, CommandError};
use crate::cli::{Cli, ServeArgs};

pub fn run(cli: &Cli, args: &ServeArgs) -> Result<(), CommandError> {
    let api_key = args
        .api_key
        .clone()
        .or_else(|| std::env::var("GEMMA_TUI_API_KEY").ok())
        .filter(|k| !k.is_empty());
    if let Err(e) =
        gemma_tui::serve::auth::check_bind(&args.host, api_key.as_deref(), args.insecure)
    {
        use clap::CommandFactory;
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, e)
            .exit()
    }
    if args.parallel == 0 {
        return Err(CommandError::Config("--parallel must be at least 1".into()));
    }
    let (dir, report) = super::profile::load(cli);
    let path = resolve_model(cli.model.clone())?;
    let model_name = args.alias.clone().unwrap_or_else(|| {
        path.file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    let limits = ServeLimits {
        api_key,
        parallel: args.parallel,
        ctx: cli.ctx,
        max_body: args.max_body,
        max_tokens_cap: args.max_tokens_cap.max(1),
        max_queue: args.queue,
    };
    let mut config = server_config(
        &report.config,
        &dir,
        cli.profile.as_deref(),
        &model_name,
        limits,
    )
    .map_err(CommandError::Config)?;
    let profile = report
        .config
        .profile(cli.profile.as_deref())
        .map_err(CommandError::Config)?;
    config.slots = slot_options(args, profile);
    // RoPE scaling: the models.toml entry's, the profile's, then the flags (as `ask`); a value
    // no RoPE can use is refused before the server binds.
    let rope = report
        .config
        .rope_for(&path, Some(profile), &cli.rope.to_scaling());
    rope.validate().map_err(CommandError::Config)?;
    tracing::info!(
        context_shift = ?config.slots.context_shift,
        draft = ?config.slots.draft,
        "serve: slot options"
    );
    let state = ServerState::new(config, None);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Io(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .map_err(|e| {
                CommandError::Io(format!("cannot listen on {}:{}: {e}", args.host, args.port))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| CommandError::Io(e.to_string()))?;
        eprintln!("listening on http://{addr}");
        // The model loads while the server already answers (503 on /health until it is ready).
        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let loading = state.clone();
        let kind_override = report.config.kind_override(&path);
        let threads = cli.threads.unwrap_or_else(default_threads);
        let engine_kind = cli.engine;
        std::thread::spawn(move || {
            // A panic while loading is reported like a failed load, not left as a server that
            // answers 503 for ever.
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Engine::load_with_rope(&path, threads, engine_kind, &rope)
                    .map_err(|e| format!("{}: {e}", path.display()))
                    .and_then(|mut engine| {
                        if let Some(kind) = kind_override {
                            engine.model_kind = kind;
                        }
                        tracing::info!(model = %path.display(), "model loaded; serving");
                        loading.set_engine(Arc::new(engine))
                    })
            }))
            .unwrap_or_else(|_| Err("loading the model panicked (see the log)".into()));
            if let Err(e) = loaded {
                loading.set_load_error(e.clone());
                let _ = failed_tx.send(e);
            }
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Option<String>>();
        tokio::spawn(async move {
            let reason = tokio::select! {
                _ = shutdown_signal() => None,
                Ok(e) = failed_rx => Some(e),
            };
            let _ = stop_tx.send(reason);
        });
        let (reason_tx, reason_rx) = tokio::sync::oneshot::channel::<Option<String>>();
        let shutdown = async move {
            let reason = stop_rx.await.unwrap_or(None);
            if reason.is_none() {
                eprintln!("shutting down: finishing the requests in flight");
            }
            let _ = reason_tx.send(reason);
        };
        gemma_tui::serve::serve(listener, state, shutdown)
            .await
            .map_err(|e| CommandError::Io(format!("the server failed: {e}")))?;
        match reason_rx.await {
            Ok(Some(load_error)) => Err(CommandError::Model(load_error)),
            _ => Ok(()),
        }
    })
}

/// The flags over the profile's `context_shift`/`keep` and `draft`/`draft_max`.
fn slot_options(args: &ServeArgs, profile: &gemma_tui::config::Profile) -> SlotOptions {
    let keep = args.keep.unwrap_or(profile.keep);
    let shift = (args.context_shift || profile.context_shift) && !args.no_context_shift;
    SlotOptions {
        context_shift: shift.then_some(keep),
        draft: DraftParams::for_mode(
            args.draft.unwrap_or(profile.draft),
            args.draft_max.map_or(profile.draft_max, usize::from),
        ),
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
