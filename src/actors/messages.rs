//! What the actors tell the dashboard. The App folds these into its state; panes only read state.
use crate::engine::FinishReason;
use crate::sampling::SampleTrace;

/// Facts about the loaded model, for the status bar and `model info`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSummary {
    pub name: String,
    pub path: String,
    pub architecture: String,
    /// The forward pass running it: "candle" or "llama-cpp".
    pub engine: String,
    pub quantization: String,
    pub file_size: u64,
    /// The model's trained context length.
    pub context_length: usize,
    /// The context this session allocated (KV cache positions).
    pub context_size: usize,
    pub threads: usize,
    pub load_ms: f64,
    /// Base or instruction-tuned, and what said so.
    pub kind: crate::engine::DetectedKind,
}

/// Timing of one finished reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub ttft_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
}

/// Events from the inference actor, in the order they happen for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// Fetching or loading the model; `fraction` in 0..=1 for a gauge.
    LoadProgress {
        fraction: f64,
        message: String,
    },
    Loaded(ModelSummary),
    LoadFailed(String),
    /// A stored conversation's turns are back in the KV cache.
    Restored {
        context_used: usize,
    },
    /// The prompt of `request` is being prefilled.
    PrefillStarted {
        request: u64,
        prompt_tokens: usize,
    },
    /// A piece of the reply (whole UTF-8 characters).
    Token {
        request: u64,
        text: String,
        /// Tokens the conversation holds so far (prompt and reply), for the status bar.
        context_used: usize,
    },
    Finished {
        request: u64,
        reason: FinishReason,
        stats: ReplyStats,
        /// Tokens the conversation now holds in the KV cache.
        context_used: usize,
    },
    Failed {
        request: u64,
        error: String,
    },
    /// A model switch in the background (the old model keeps serving meanwhile).
    Switch(SwitchEvent),
}

/// What a switch reports, as `EngineEvent::Switch`. Distinct from the first load's events: the
/// old model keeps serving, so the dashboard must not treat the engine as loading.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchEvent {
    /// Reading the new model's file, then building its weights; `fraction` in 0..=1.
    Progress {
        name: String,
        fraction: f64,
        message: String,
    },
    /// The new model is loaded beside the old one: send the inference actor's `CommitSwitch` between replies.
    Ready { name: String },
    /// The new model serves from now on, with `restored` turns of the conversation re-prefilled.
    Swapped {
        summary: ModelSummary,
        context_used: usize,
        restored: usize,
        /// From the switch request to the swap, and the re-prefill alone.
        total_ms: f64,
        restore_ms: f64,
    },
    /// The new model could not be loaded; the old one stays.
    Failed { name: String, error: String },
}

/// What the sampling actor recorded about one sampled token of reply `request` (the inspector).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTrace {
    pub request: u64,
    pub trace: SampleTrace,
}

/// One sample of the metrics actor (about 4 per second).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Seconds since the dashboard started.
    pub t: f64,
    /// Tokens per second over the last second (0 when idle).
    pub token_rate: f64,
    /// Time to first token of the last reply, in ms.
    pub last_ttft_ms: Option<f64>,
    pub rss_bytes: u64,
    /// Process CPU use in percent of one core (200% = two cores busy).
    pub cpu_percent: f32,
    pub total_tokens: u64,
}

/// What the config actor saw when the files in the config dir changed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigEvent {
    /// The files parse and validate: the whole config and the templates as they now read (a
    /// broken template file is reported apart, with `Invalid`, and the built-in stays).
    Reloaded {
        config: std::sync::Arc<crate::config::Config>,
        templates: std::sync::Arc<crate::config::TemplateSet>,
        /// keymap.toml and theme.toml (their last good versions when the new ones are broken).
        keymap: std::sync::Arc<crate::app::Keymap>,
        theme: crate::ui::theme::Theme,
    },
    /// An edit does not parse or validate (file:line:col: what); the last good config stays.
    Invalid(String),
}

/// What the conversations actor reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationEvent {
    Listed(Vec<crate::conversations::ConversationMeta>),
    Loaded {
        meta: crate::conversations::ConversationMeta,
        messages: Vec<crate::conversations::StoredMessage>,
    },
    /// A store operation failed (what, and why); nothing was lost from memory.
    Failed(String),
}
