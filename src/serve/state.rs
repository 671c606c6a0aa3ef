//! What the handlers share: the settings, the slot pool once the model is loaded (the server
//! binds first and answers 503 while it loads), the counters, and whoever watches the requests
//! (the dashboard's serve actor).
use std::sync::{Arc, Mutex, OnceLock};

use super::api::RequestDefaults;
use super::metrics::Counters;
use super::render::{ChatStyle, DialogueFor};
use super::slots::{PoolStatus, SlotOptions, SlotPool};
use crate::engine::Engine;

/// How the server runs (everything but the address).
#[derive(Clone)]
pub struct ServerConfig {
    /// The name `/v1/models` lists and replies carry.
    pub model_name: String,
    /// Clients must send it as a bearer token (none: no check).
    pub api_key: Option<String>,
    /// The largest request body taken, in bytes.
    pub max_body: usize,
    /// Slots decoded together, each with `ctx` positions.
    pub parallel: usize,
    pub ctx: usize,
    /// Requests that may wait for a slot before new ones get a 429.
    pub max_queue: usize,
    /// Context shift and drafting in the slots.
    pub slots: SlotOptions,
    pub defaults: RequestDefaults,
    /// The profile's system prompt (for a request without a system message).
    pub default_system: Option<String>,
    /// A base model's transcript for a system prompt.
    pub dialogue_for: Arc<DialogueFor>,
}

/// One answered completion request (for the dashboard's pane and the logs).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub route: &'static str,
    pub status: u16,
    pub stream: bool,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// From the request's arrival to its last byte.
    pub ms: f64,
    /// Why it failed, or that the client left.
    pub error: Option<String>,
}

pub type RequestObserver = Arc<dyn Fn(RequestRecord) + Send + Sync>;

/// The loaded model's pool and chat style.
pub struct Ready {
    pub pool: SlotPool,
    pub style: ChatStyle,
}

pub struct ServerState {
    pub config: ServerConfig,
    ready: OnceLock<Ready>,
    load_error: Mutex<Option<String>>,
    pub counters: Counters,
    observer: Option<RequestObserver>,
    /// For `/v1/models`' `created`.
    pub started_unix: u64,
}

impl ServerState {
    pub fn new(config: ServerConfig, observer: Option<RequestObserver>) -> Arc<Self> {
        Arc::new(Self {
            config,
            ready: OnceLock::new(),
            load_error: Mutex::new(None),
            counters: Counters::default(),
            observer,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        })
    }

    /// Starts the slots on the loaded engine; from now on requests are taken.
    pub fn set_engine(&self, engine: Arc<Engine>) -> Result<(), String> {
        let style = ChatStyle {
            kind: engine.model_kind.kind,
            chatml: engine.tokenizer.token_id("<|im_start|>").is_some(),
            default_system: self.config.default_system.clone(),
            dialogue_for: self.config.dialogue_for.clone(),
        };
        let pool = SlotPool::start_with(
            engine,
            self.config.parallel,
            self.config.ctx,
            self.config.max_queue,
            self.config.slots,
        )
        .map_err(|e| format!("cannot start the slots: {e}"))?;
        self.ready
            .set(Ready { pool, style })
            .map_err(|_| "the model is loaded already".to_string())
    }

    /// The model could not be loaded: `/health` and requests say so.
    pub fn set_load_error(&self, message: String) {
        *self.load_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    }

    pub fn load_error(&self) -> Option<String> {
        self.load_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn ready(&self) -> Option<&Ready> {
        self.ready.get()
    }

    pub fn status(&self) -> Option<PoolStatus> {
        self.ready().map(|r| r.pool.status())
    }

    /// Counts an answered request and tells the observer.
    pub fn record(&self, record: RequestRecord) {
        self.counters.count_status(record.status);
        tracing::info!(
            route = record.route,
            status = record.status,
            stream = record.stream,
            prompt_tokens = record.prompt_tokens,
            generated_tokens = record.generated_tokens,
            ms = record.ms,
            error = record.error.as_deref().unwrap_or(""),
            "request"
        );
        if let Some(observer) = &self.observer {
            observer(record);
        }
    }
}
