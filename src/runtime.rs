//! The dashboard's runtime: actors inside actix's tokio system, the terminal, and the loop that folds
//! every event into `AppState`, executes the effects it returns and redraws at most ~30 times a second.
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::actors::inference::{
    Generate, InferenceHandle, LoadModel, ModelSource, ResetConversation,
};
use crate::actors::metrics::MetricsActor;
use crate::actors::sampling::{Configure, ResetSampler, SamplingActor};
use crate::app::{AppEvent, AppState, Effect};
use crate::engine::PromptKind;
use crate::sampling::SamplerParams;

const FRAME: Duration = Duration::from_millis(33);
/// Events folded before a redraw at most: a flood of tokens cannot starve the screen.
const MAX_BATCH: usize = 1024;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub model: ModelSource,
    pub threads: usize,
    pub engine: crate::engine::EngineKind,
    pub context: usize,
    pub max_tokens: usize,
    pub sampler: SamplerParams,
    pub system_prompt: Option<String>,
    /// Watch this config dir and apply saved edits (None: no hot reload).
    pub config_dir: Option<std::path::PathBuf>,
    /// `--profile`: the profile to follow across reloads (else settings.active_profile).
    pub profile: Option<String>,
    /// RAG memory settings; `None` turns RAG off for the session.
    pub rag: Option<crate::rag::RagSettings>,
}

/// The running actors, as the loop sees them.
pub struct Actors {
    pub inference: InferenceHandle,
    pub sampler: Addr<SamplingActor>,
    pub metrics: Addr<MetricsActor>,
    pub rag: Option<Addr<crate::actors::rag::RagActor>>,
}

/// Starts the actors (inside a running actix system) and asks for the model to be loaded.
pub fn start_actors(tx: UnboundedSender<AppEvent>, opts: &RunOptions) -> Actors {
    let trace_tx = tx.clone();
    let tx_config = tx.clone();
    let rag = opts.rag.clone().map(|settings| {
        let rag_tx = tx.clone();
        let gguf = match &opts.model {
            ModelSource::Path(p) => p.clone(),
            ModelSource::Default => crate::models::default_model_path(),
        };
        crate::actors::rag::RagActor::start(
            Arc::new(move |event| {
                let _ = rag_tx.send(AppEvent::Rag(event));
            }),
            settings,
            crate::rag::default_store_path(),
            crate::rag::embedder::default_model_dir(),
            gguf,
        )
    });
    let sampler = SamplingActor::new(opts.sampler.clone())
        .with_traces(Arc::new(move |trace| {
            let _ = trace_tx.send(AppEvent::Trace(trace));
        }))
        .start();
    let metrics_tx = tx.clone();
    let metrics = MetricsActor::new(Arc::new(move |snapshot| {
        let _ = metrics_tx.send(AppEvent::Metrics(snapshot));
    }))
    .start();
    let inference = InferenceHandle::start(
        Arc::new(move |event| {
            let _ = tx.send(AppEvent::Engine(event));
        }),
        sampler.clone(),
        Some(metrics.clone()),
    );
    if let Some(dir) = &opts.config_dir {
        let config_tx = tx_config.clone();
        crate::actors::config::ConfigActor::new(
            dir.clone(),
            opts.profile.clone(),
            Arc::new(move |event| {
                let _ = config_tx.send(AppEvent::Config(event));
            }),
        )
        .start();
    }
    inference.addr.do_send(LoadModel {
        source: opts.model.clone(),
        threads: opts.threads,
        engine: opts.engine,
        context: opts.context,
    });
    Actors {
        inference,
        sampler,
        metrics,
        rag,
    }
}

/// Forwards the terminal's events into the app channel until the channel closes.
pub fn spawn_terminal_reader(tx: UnboundedSender<AppEvent>) {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(event)) = events.next().await {
            let app_event = match event {
                Event::Key(k) if k.kind != KeyEventKind::Release => AppEvent::Key(k),
                Event::Paste(s) => AppEvent::Paste(s),
                Event::Resize(w, h) => AppEvent::Resize(w, h),
                _ => continue,
            };
            if tx.send(app_event).is_err() {
                break;
            }
        }
    });
}

/// Carries out one effect of the state machine; returns true when the dashboard should quit.
/// `last_request` is the newest request sent: a cancel covers it and everything before.
pub fn apply_effect(
    effect: Effect,
    actors: &Actors,
    opts: &RunOptions,
    last_request: &mut u64,
) -> bool {
    match effect {
        Effect::Generate { request, text } => {
            *last_request = (*last_request).max(request);
            actors.inference.addr.do_send(Generate {
                request,
                prompt: PromptKind::Chat {
                    text,
                    system: opts.system_prompt.clone(),
                },
                max_tokens: opts.max_tokens,
            });
            false
        }
        Effect::Cancel => {
            actors.inference.cancel(*last_request);
            false
        }
        Effect::ResetConversation => {
            actors.inference.cancel(*last_request);
            actors.inference.addr.do_send(ResetConversation);
            actors.sampler.do_send(ResetSampler);
            false
        }
        Effect::ConfigureSampler(params) => {
            actors.sampler.do_send(Configure(params));
            false
        }
        Effect::Quit => {
            actors.inference.cancel(*last_request);
            true
        }
        Effect::RagContext {
            request,
            query,
            budget,
        } => {
            if let Some(rag) = &actors.rag {
                rag.do_send(crate::actors::rag::BuildContext {
                    request,
                    query,
                    budget,
                });
            }
            false
        }
        Effect::RagAdd { paths } => {
            if let Some(rag) = &actors.rag {
                rag.do_send(crate::actors::rag::Add { paths });
            }
            false
        }
        Effect::RagRemember {
            text,
            importance,
            tier,
            source,
            quiet,
        } => {
            if let Some(rag) = &actors.rag {
                rag.do_send(crate::actors::rag::Remember {
                    text,
                    importance,
                    tier,
                    source,
                    quiet,
                });
            }
            false
        }
    }
}

/// Folds events and draws until the state asks to quit or the channel closes.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    rx: &mut UnboundedReceiver<AppEvent>,
    actors: &Actors,
    opts: &RunOptions,
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    let mut last_request = 0u64;
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { return Ok(()) };
                let mut effects = state.handle(event, Instant::now());
                for _ in 0..MAX_BATCH {
                    match rx.try_recv() {
                        Ok(e) => effects.extend(state.handle(e, Instant::now())),
                        Err(_) => break,
                    }
                }
                let mut quit = false;
                for effect in effects {
                    quit |= apply_effect(effect, actors, opts, &mut last_request);
                }
                if quit {
                    terminal.draw(|f| crate::ui::draw(f, state)).map_err(Into::into)?;
                    return Ok(());
                }
                dirty = true;
            }
            _ = frame.tick() => {
                if dirty {
                    terminal.draw(|f| crate::ui::draw(f, state)).map_err(Into::into)?;
                    dirty = false;
                }
            }
        }
    }
}

/// An actix system on a multi-threaded tokio runtime: actix 0.13 actors panic under a bare
/// `#[tokio::main]`, so every entry point that starts actors builds its runtime here.
pub fn actix_system(worker_threads: usize) -> actix::SystemRunner {
    actix::System::with_tokio_rt(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Runs the dashboard on the real terminal.
pub fn run_tui(opts: RunOptions) -> anyhow::Result<()> {
    let system = actix_system(2);
    system.block_on(async move {
        let (tx, mut rx) = unbounded_channel();
        crate::logging::forward_to_pane(tx.clone());
        let actors = start_actors(tx.clone(), &opts);
        // ratatui::init enters raw mode and the alternate screen and installs a panic hook that
        // restores the terminal before the panic message is printed.
        let mut terminal = ratatui::init();
        let _ = crossterm::execute!(io::stdout(), crossterm::event::EnableBracketedPaste);
        // Terminals that support it report Shift+Enter apart from Enter (a newline in the input).
        let enhanced = crossterm::terminal::supports_keyboard_enhancement().unwrap_or(false);
        if enhanced {
            let _ = crossterm::execute!(
                io::stdout(),
                crossterm::event::PushKeyboardEnhancementFlags(
                    crossterm::event::KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES
                )
            );
        }
        spawn_terminal_reader(tx.clone());
        let mut state = AppState::new();
        // The sampler pane starts from what the sampling actor was given (the profile's chain).
        state.sampler = opts.sampler.clone();
        state.sampler = opts.sampler.clone();
        state.rag = crate::app::rag::RagState::new(opts.rag.as_ref());
        let result = run_loop(&mut terminal, &mut state, &mut rx, &actors, &opts).await;
        if enhanced {
            let _ =
                crossterm::execute!(io::stdout(), crossterm::event::PopKeyboardEnhancementFlags);
        }
        let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableBracketedPaste);
        ratatui::restore();
        tracing::info!("dashboard closed");
        result.map_err(anyhow::Error::from)
    })
}
