//! The dashboard's real actors for a test, set up once here so that every such test runs them
//! in a sandbox: temp config, data and models dirs, never the developer's ~/.config,
//! ~/.local/share or model cache.
//!
//! The sandbox sets no process environment: every store and dir the actors use is a field of
//! `RunOptions::paths` (`ActorPaths`), and `start_actors` reads nothing else, so the sandbox
//! passes its temp dirs through the options. Several sandboxes can live in one test binary.
use std::path::{Path, PathBuf};
use std::time::Duration;

use gemma_tui::actors::inference::ModelSource;
use gemma_tui::app::{AppEvent, AppState, Effect};
use gemma_tui::runtime::{apply_effect, start_actors, ActorPaths, Actors, RunOptions};
use gemma_tui::sampling::SamplerParams;
use tempfile::TempDir;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

pub struct Sandbox {
    pub config: TempDir,
    pub data: TempDir,
    /// Links to the default model and the embedding model: the actors find what they read, and
    /// anything they would write there lands in the temp dir.
    pub models: TempDir,
    /// The default model, through its link in `models`.
    pub model: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        // The real files, found where the developer (or CI) keeps them.
        let real_model = super::model_path();
        let real_minilm = gemma_tui::rag::embedder::default_model_dir();
        let sandbox = Sandbox {
            config: tempfile::tempdir().unwrap(),
            data: tempfile::tempdir().unwrap(),
            models: tempfile::tempdir().unwrap(),
            model: PathBuf::new(),
        };
        let model = sandbox.models.path().join(real_model.file_name().unwrap());
        std::os::unix::fs::symlink(&real_model, &model).unwrap();
        if real_minilm.exists() {
            let link = sandbox
                .models
                .path()
                .join(gemma_tui::rag::embedder::MINILM_DIR);
            std::os::unix::fs::symlink(&real_minilm, link).unwrap();
        }
        Sandbox { model, ..sandbox }
    }

    /// The actors' stores and dirs, all in the sandbox.
    pub fn paths(&self) -> ActorPaths {
        let models_dir = self.models.path().to_path_buf();
        ActorPaths {
            suites_dir: self.config_dir().to_path_buf(),
            bench_store: self.data_dir().join("bench.redb"),
            rag_store: self.data_dir().join("rag.redb"),
            embedder_dir: models_dir.join(gemma_tui::rag::embedder::MINILM_DIR),
            models_dir,
        }
    }

    pub fn config_dir(&self) -> &Path {
        self.config.path()
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The default model, 2 threads, greedy sampling. No config dir is watched and no
    /// conversation is stored unless the test sets `config_dir` or `data_dir`.
    pub fn options(&self, context: usize, max_tokens: usize) -> RunOptions {
        RunOptions {
            context,
            max_tokens: Some(max_tokens),
            sampler: SamplerParams::greedy(),
            ..RunOptions::new(ModelSource::Path(self.model.clone()), 2, self.paths())
        }
    }

    /// The same, watching the sandbox's config dir (the test writes its files there first).
    pub fn options_watching_config(&self, context: usize, max_tokens: usize) -> RunOptions {
        RunOptions {
            config_dir: Some(self.config_dir().to_path_buf()),
            ..self.options(context, max_tokens)
        }
    }
}

/// Runs `test` inside an actix system on tokio, as the dashboard does.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    gemma_tui::runtime::actix_system(2).block_on(test)
}

/// The running actors with the channel they report on: what the run loop holds.
pub struct Dashboard {
    pub opts: RunOptions,
    pub actors: Actors,
    /// For events the test sends as if typed.
    pub tx: UnboundedSender<AppEvent>,
    rx: UnboundedReceiver<AppEvent>,
    last_request: u64,
}

impl Dashboard {
    /// Starts the actors; inside [`run`].
    pub fn start(opts: RunOptions) -> Self {
        let (tx, rx) = unbounded_channel();
        let actors = start_actors(tx.clone(), &opts);
        Dashboard {
            opts,
            actors,
            tx,
            rx,
            last_request: 0,
        }
    }

    /// The next event; the test fails if none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> AppEvent {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .expect("an event")
            .expect("channel open")
    }

    /// Executes effects as the run loop does.
    pub fn apply(&mut self, effects: impl IntoIterator<Item = Effect>) {
        for effect in effects {
            apply_effect(effect, &self.actors, &self.opts, &mut self.last_request);
        }
    }

    /// Folds an event into the state and executes the effects it returns.
    pub fn fold(&mut self, state: &mut AppState, event: AppEvent) {
        let effects = state.handle(event, std::time::Instant::now());
        self.apply(effects);
    }
}

/// Draws the dashboard on a test terminal and returns the screen's text.
pub fn draw(
    terminal: &mut ratatui::Terminal<ratatui::backend::TestBackend>,
    state: &mut AppState,
) -> String {
    terminal.draw(|f| gemma_tui::ui::draw(f, state)).unwrap();
    super::buffer_text(terminal.backend().buffer())
}
