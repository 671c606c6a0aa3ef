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

use crate::actors::bench::{
    BenchActor, CancelBench, PinBaseline, RefreshBench, StartAb, StartBench,
};
use crate::actors::conversations::{self as conv, ConversationsActor};
use crate::actors::inference::{
    Generate, InferenceHandle, LoadModel, ModelSource, Prompt, ResetConversation,
    RestoreConversation,
};
use crate::actors::metrics::MetricsActor;
use crate::actors::sampling::{Configure, ResetSampler, SamplingActor};
use crate::app::{AppEvent, AppState, Effect};
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
    /// `--max-tokens` typed on the command line: wins over every profile's.
    pub max_tokens: Option<usize>,
    /// The sampling actor's chain at start (the active profile's, or the flags').
    pub sampler: SamplerParams,
    /// Watch this config dir and apply saved edits (None: no hot reload).
    pub config_dir: Option<std::path::PathBuf>,
    /// `--profile`: the profile to follow across reloads (else settings.active_profile).
    pub profile: Option<String>,
    /// The config the dashboard starts with, and the active profile's name in it.
    pub config: Arc<crate::config::Config>,
    pub templates: Arc<crate::config::TemplateSet>,
    pub active_profile: String,
    /// Config problems found at start (a fallback to .bak or defaults): shown in the status bar.
    pub startup_warnings: Vec<String>,
    /// keymap.toml and theme.toml over their defaults.
    pub keymap: crate::app::Keymap,
    pub theme: crate::ui::theme::Theme,
    /// Where conversations are stored (None: not stored, e.g. tests).
    pub data_dir: Option<std::path::PathBuf>,
    /// RAG memory settings; `None` turns RAG off for the session.
    pub rag: Option<crate::rag::RagSettings>,
    /// Where the model picker looks for GGUFs (None: `models::models_dir()`).
    pub models_dir: Option<std::path::PathBuf>,
}

impl RunOptions {
    /// Defaults for a model and thread count: the embedded config, nothing watched or stored.
    pub fn new(model: ModelSource, threads: usize) -> Self {
        let config = crate::config::Config::defaults();
        let profile = config.profile(None).cloned().unwrap_or_default();
        Self {
            model,
            threads,
            engine: crate::engine::EngineKind::Candle,
            context: profile.context,
            max_tokens: None,
            sampler: profile.sampler.clone(),
            config_dir: None,
            profile: None,
            active_profile: config.settings.active_profile.clone(),
            config: Arc::new(config),
            templates: Arc::new(crate::config::TemplateSet::builtin()),
            data_dir: None,
            startup_warnings: Vec::new(),
            keymap: crate::app::Keymap::default(),
            theme: crate::ui::theme::Theme::default(),
            rag: None,
            models_dir: None,
        }
    }
}

/// The running actors, as the loop sees them.
pub struct Actors {
    pub inference: InferenceHandle,
    pub sampler: Addr<SamplingActor>,
    pub metrics: Addr<MetricsActor>,
    pub conversations: Option<Addr<ConversationsActor>>,
    /// For effects answered with an event (a saved profile).
    pub events: UnboundedSender<AppEvent>,
    pub bench: Addr<BenchActor>,
    pub rag: Option<Addr<crate::actors::rag::RagActor>>,
}

/// Starts the actors (inside a running actix system) and asks for the model to be loaded.
pub fn start_actors(tx: UnboundedSender<AppEvent>, opts: &RunOptions) -> Actors {
    let trace_tx = tx.clone();
    let tx_config = tx.clone();
    let events = tx.clone();
    let conversations = opts.data_dir.clone().map(|dir| {
        let conv_tx = tx.clone();
        let sink: conv::ConversationSink = Arc::new(move |e| {
            let _ = conv_tx.send(AppEvent::Conversations(e));
        });
        let store = crate::conversations::ConversationStore::in_dir(&dir);
        actix::SyncArbiter::start(1, move || ConversationsActor {
            store: store.clone(),
            sink: sink.clone(),
        })
    });
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
    let bench_tx = tx_config.clone();
    let bench = BenchActor::new(
        Arc::new(move |event| {
            let _ = bench_tx.send(AppEvent::Bench(event));
        }),
        inference.addr.clone(),
        opts.config_dir
            .clone()
            .unwrap_or_else(|| crate::config::config_dir(None)),
        crate::bench::store::default_store_path(),
        crate::bench::plan::Overrides {
            model: match &opts.model {
                ModelSource::Path(p) => Some(p.clone()),
                ModelSource::Default => None,
            },
            profile: opts.profile.clone(),
            threads: opts.threads,
            engine: opts.engine,
        },
    )
    .with_models_dir(opts.models_dir.clone())
    .start();
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
        kind_override: opts.config.kind_override(&match &opts.model {
            ModelSource::Path(p) => p.clone(),
            ModelSource::Default => crate::models::default_model_path(),
        }),
    });
    if let Some(c) = &conversations {
        // The last conversation comes back (after the model load, which is queued first).
        c.do_send(conv::ResumeLast);
    }
    Actors {
        inference,
        sampler,
        metrics,
        conversations,
        events,
        bench,
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
        Effect::Generate {
            request,
            turn,
            mut limits,
        } => {
            *last_request = (*last_request).max(request);
            // --max-tokens on the command line wins over the profile's.
            limits.max_tokens = opts.max_tokens.unwrap_or(limits.max_tokens);
            actors.inference.addr.do_send(Generate {
                request,
                prompt: Prompt::Chat(turn),
                limits,
            });
            false
        }
        Effect::RestoreConversation {
            turns,
            system,
            dialogue,
        } => {
            actors.inference.cancel(*last_request);
            actors.inference.addr.do_send(RestoreConversation {
                turns,
                system,
                dialogue,
            });
            actors.sampler.do_send(ResetSampler);
            false
        }
        Effect::StoreMessage(record) => {
            let (meta, message) = *record;
            if let Some(c) = &actors.conversations {
                c.do_send(conv::Append { meta, message });
            }
            false
        }
        Effect::ListConversations => {
            match &actors.conversations {
                Some(c) => c.do_send(conv::ListConversations),
                None => {
                    let _ = actors.events.send(AppEvent::Conversations(
                        crate::actors::conversations::ConversationEvent::Failed(
                            "conversations are not stored in this run".into(),
                        ),
                    ));
                }
            }
            false
        }
        Effect::LoadConversation(id) => {
            if let Some(c) = &actors.conversations {
                c.do_send(conv::LoadConversation(id));
            }
            false
        }
        Effect::RenameConversation { id, title } => {
            if let Some(c) = &actors.conversations {
                c.do_send(conv::RenameConversation { id, title });
            }
            false
        }
        Effect::DeleteConversation(id) => {
            if let Some(c) = &actors.conversations {
                c.do_send(conv::DeleteConversation(id));
            }
            false
        }
        Effect::SaveProfile { name, profile } => {
            let result = match &opts.config_dir {
                Some(dir) => save_profile(dir, &name, &profile),
                None => Err("no config dir in this run".into()),
            };
            let _ = actors.events.send(AppEvent::ProfileSaved { name, result });
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
        Effect::StartBench(suite) => {
            actors.bench.do_send(StartBench { suite });
            false
        }
        Effect::CancelBench => {
            actors.bench.do_send(CancelBench);
            false
        }
        Effect::RefreshBench => {
            actors.bench.do_send(RefreshBench);
            false
        }
        Effect::StartAb { prompt, a, b } => {
            actors.bench.do_send(StartAb { prompt, a, b });
            false
        }
        Effect::PinBaseline(run) => {
            actors.bench.do_send(PinBaseline { run });
            false
        }
        Effect::Models(e) => {
            let load = crate::runtime_models::LoadSettings {
                threads: opts.threads,
                engine: opts.engine,
                context: opts.context,
                models_dir: opts.models_dir.clone(),
            };
            crate::runtime_models::apply(e, &actors.inference, &actors.events, &load);
            false
        }
        Effect::Quit => {
            actors.inference.cancel(*last_request);
            actors.bench.do_send(CancelBench);
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
        let pane = tx.clone();
        crate::logging::forward_to_pane(move |line| {
            let _ = pane.send(AppEvent::Log(line));
        });
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
        let mut state = AppState::with_keymap(opts.keymap.clone());
        state.theme = opts.theme;
        state.clock = crate::app::WallClock::anchored(Instant::now(), std::time::SystemTime::now());
        if !opts.startup_warnings.is_empty() {
            let text = format!("config: {}", opts.startup_warnings.join("; "));
            // Shown for longer than a transient message: the model is loading meanwhile.
            state.set_status(text, Instant::now() + Duration::from_secs(10));
        }
        // The sampler pane starts from what the sampling actor was given (the profile's chain).
        state.sampler.params = opts.sampler.clone();
        state.profiles = crate::app::profiles::Profiles {
            config: opts.config.clone(),
            templates: opts.templates.clone(),
            active: opts.active_profile.clone(),
            template_override: None,
        };
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

/// Writes `profile` as `name` into the config dir's profiles.toml (atomically, the old file kept
/// as .bak) and returns the config as it now reads.
fn save_profile(
    dir: &std::path::Path,
    name: &str,
    profile: &crate::config::Profile,
) -> Result<Arc<crate::config::Config>, String> {
    let table = crate::config::edit::to_table(profile)?;
    crate::config::store::edit_profiles(
        dir,
        |user: &mut toml::Table, config: &crate::config::Config| {
            if config.profiles.contains_key(name) && crate::config::BUILTIN_PROFILES.contains(&name)
            {
                return Err(format!(
                    "`{name}` is a built-in profile; choose another name"
                ));
            }
            let profiles = user
                .entry("profiles")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match profiles {
                toml::Value::Table(t) => {
                    t.insert(name.to_string(), toml::Value::Table(table.clone()));
                    Ok(())
                }
                _ => Err("profiles.toml: `profiles` is not a table".into()),
            }
        },
    )?;
    Ok(Arc::new(crate::config::load(dir).config))
}
