//! Wiring: the dashboard's run options and the start of its actors, each given what it needs
//! (paths, config, other actors' handles, its event sink) explicitly.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::actors::conversations::{self as conv, ConversationsHandle};
use crate::actors::inference::{InferenceHandle, LoadModel, ModelSource};
use crate::app::AppEvent;
use crate::sampling::SamplerParams;

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
    pub config_dir: Option<PathBuf>,
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
    pub data_dir: Option<PathBuf>,
    /// RAG memory settings; `None` turns RAG off for the session.
    pub rag: Option<crate::rag::RagSettings>,
    /// Every store and dir the actors read or write: given, never looked up by the actors.
    pub paths: ActorPaths,
    /// The `--rope-*` flags: laid over models.toml's entry and the profile's `rope` whenever a
    /// model loads.
    pub rope: crate::engine::RopeScaling,
}

/// The files and dirs the actors use. The dashboard's entry point resolves the user's (from the
/// environment and the platform's dirs, [`ActorPaths::from_environment`]) once; tests give temp
/// dirs ([`ActorPaths::under`]). `start_actors` reads neither the environment nor a default dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorPaths {
    /// The GGUFs: the model picker's listing, the A/B sides by file name, where the default model
    /// is pulled to and MiniLM's usual home.
    pub models_dir: PathBuf,
    /// The config dir the bench actor reads its suites and profiles from (watched or not).
    pub suites_dir: PathBuf,
    /// The benchmark history (redb).
    pub bench_store: PathBuf,
    /// The RAG memory (redb).
    pub rag_store: PathBuf,
    /// The embedding model (all-MiniLM-L6-v2) the RAG actor loads.
    pub embedder_dir: PathBuf,
}

impl ActorPaths {
    /// The user's dirs: `config_dir` (already resolved from `--config-dir`), the data dir and the
    /// models dir from the environment or the platform. For the entry point, once.
    pub fn from_environment(config_dir: &Path) -> Self {
        let models_dir = crate::models::models_dir();
        Self {
            suites_dir: config_dir.to_path_buf(),
            bench_store: crate::bench::store::default_store_path(),
            rag_store: crate::rag::default_store_path(),
            embedder_dir: models_dir.join(crate::rag::embedder::MINILM_DIR),
            models_dir,
        }
    }

    /// Everything under `root`: config/, data/ (the stores) and models/ (tests, sandboxes).
    pub fn under(root: &Path) -> Self {
        let (data, models_dir) = (root.join("data"), root.join("models"));
        Self {
            suites_dir: root.join("config"),
            bench_store: data.join(crate::bench::store::STORE_FILE),
            rag_store: data.join("rag.redb"),
            embedder_dir: models_dir.join(crate::rag::embedder::MINILM_DIR),
            models_dir,
        }
    }

    /// Where the default model is (or is pulled to).
    pub fn default_model(&self) -> PathBuf {
        self.models_dir.join(crate::models::DEFAULT_MODEL.file_name)
    }
}

impl RunOptions {
    /// Defaults for a model, a thread count and the actors' paths: the embedded config, nothing
    /// watched, no conversation stored.
    pub fn new(model: ModelSource, threads: usize, paths: ActorPaths) -> Self {
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
            paths,
            rope: Default::default(),
        }
    }
}

impl RunOptions {
    /// The model file the dashboard starts with (the default model's place when none is given).
    pub fn model_path(&self) -> PathBuf {
        match &self.model {
            ModelSource::Path(p) => p.clone(),
            ModelSource::Default => self.paths.default_model(),
            // No file: models.toml's name (its `kind` lookup finds nothing).
            ModelSource::Remote(r) => PathBuf::from(&r.name),
        }
    }
}

/// The running actors, as the loop sees them.
pub struct Actors {
    pub inference: InferenceHandle,
    pub sampler: crate::actors::sampling::SamplingHandle,
    pub metrics: crate::actors::metrics::MetricsHandle,
    pub conversations: ConversationsHandle,
    /// The config dir's watcher and writer (None: no config dir in this run).
    pub config: Option<crate::actors::config::ConfigHandle>,
    /// For effects answered with an event (a saved profile, the model list).
    pub events: UnboundedSender<AppEvent>,
    pub bench: crate::actors::bench::BenchHandle,
    pub rag: Option<crate::actors::rag::RagHandle>,
    /// The OpenAI-compatible server beside the chat (started from the server pane).
    pub serve: crate::actors::serve::ServeHandle,
}

/// An actor's event sink: its events, wrapped as the dashboard's, into the app channel (a closed
/// channel means the dashboard is gone; the event is dropped).
pub fn sink<E: 'static>(
    tx: &UnboundedSender<AppEvent>,
    wrap: fn(E) -> AppEvent,
) -> Arc<dyn Fn(E) + Send + Sync> {
    let tx = tx.clone();
    Arc::new(move |event| {
        let _ = tx.send(wrap(event));
    })
}

/// Starts the actors (inside a running actix system) and asks for the model to be loaded.
pub fn start_actors(tx: UnboundedSender<AppEvent>, opts: &RunOptions) -> Actors {
    let conversations = conv::start(
        opts.data_dir
            .as_deref()
            .map(crate::conversations::ConversationStore::in_dir),
        sink(&tx, AppEvent::Conversations),
        sink(&tx, AppEvent::Restarted),
    );
    let rag = opts.rag.clone().map(|settings| {
        crate::actors::rag::start(
            sink(&tx, AppEvent::Rag),
            sink(&tx, AppEvent::Restarted),
            settings,
            opts.paths.rag_store.clone(),
            opts.paths.embedder_dir.clone(),
            opts.model_path(),
        )
    });
    let sampler =
        crate::actors::sampling::start(opts.sampler.clone(), Some(sink(&tx, AppEvent::Trace)));
    let metrics = crate::actors::metrics::start(sink(&tx, AppEvent::Metrics));
    let inference = crate::actors::inference::start(
        sink(&tx, AppEvent::Engine),
        sink(&tx, AppEvent::Restarted),
        &sampler,
        Some(&metrics),
        opts.paths.models_dir.clone(),
        opts.max_tokens,
    );
    let bench = crate::actors::bench::start(
        sink(&tx, AppEvent::Bench),
        sink(&tx, AppEvent::Restarted),
        inference.addr.clone(),
        opts.paths.suites_dir.clone(),
        opts.paths.bench_store.clone(),
        opts.paths.models_dir.clone(),
        crate::bench::plan::Overrides {
            model: match &opts.model {
                ModelSource::Path(p) => Some(p.clone()),
                ModelSource::Default | ModelSource::Remote(_) => None,
            },
            profile: opts.profile.clone(),
            threads: opts.threads,
            engine: opts.engine,
        },
    );
    let config = opts.config_dir.clone().map(|dir| {
        crate::actors::config::start(dir, opts.profile.clone(), sink(&tx, AppEvent::Config))
    });
    inference.addr.do_send(LoadModel {
        source: opts.model.clone(),
        threads: opts.threads,
        engine: opts.engine,
        context: opts.context,
        kind_override: opts.config.kind_override(&opts.model_path()),
        rope: opts.config.rope_for(
            &opts.model_path(),
            opts.config.profiles.get(&opts.active_profile),
            &opts.rope,
        ),
    });
    // The last conversation comes back (after the model load, which is queued first).
    conversations.addr.do_send(conv::ResumeLast);
    let serve = crate::actors::serve::start(sink(&tx, AppEvent::Serve));
    Actors {
        inference,
        sampler,
        metrics,
        conversations,
        config,
        events: tx,
        bench,
        rag,
        serve,
    }
}
