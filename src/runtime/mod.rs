//! The dashboard's runtime: actors inside actix's tokio system, the terminal, and the loop that folds
//! every event into `AppState`, executes the effects it returns and redraws at most ~30 times a second.
//! The run options and the start of the actors are in `wiring`, the execution of effects in
//! `effects`, the model picker's effects in `models`.
mod effects;
mod models;
mod serve;
mod wiring;

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::app::{AppEvent, AppState};
pub use effects::apply_effect;
pub use models::LoadSettings;
pub use wiring::{sink, start_actors, ActorPaths, Actors, RunOptions};

const FRAME: Duration = Duration::from_millis(33);
/// Events folded before a redraw at most: a flood of tokens cannot starve the screen.
const MAX_BATCH: usize = 1024;

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
        // A panic an actor's supervision catches goes to the log; any other to ratatui's hook.
        crate::actors::supervision::install_panic_hook();
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
