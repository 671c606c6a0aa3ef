//! `Effect`: what the state machine asks the runtime to do after an event. The runtime carries
//! each one out (mostly a message to an actor); the state machine itself does no IO.

/// What the server starts with: the config in use (settings.toml's `[server]`, the profiles) and
/// the active profile, whose sampler chain and reply length are every request's base.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStart {
    pub config: std::sync::Arc<crate::config::Config>,
    pub profile: String,
}

/// What the event loop must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start generating a reply to `text` (a new user turn, as the template rendered it) tagged
    /// `request`.
    Generate {
        request: u64,
        turn: crate::actors::inference::ChatTurn,
        limits: crate::engine::Limits,
        /// What the reply must be (JSON Schema, regex); `None` for free text.
        output: Option<crate::sampling::constrained::OutputConstraint>,
        /// The profile's context shift: tokens kept after BOS (`None`: a full context ends it).
        context_shift: Option<usize>,
        /// The profile's drafting (`None`: off).
        draft: Option<crate::engine::DraftParams>,
    },
    /// Commit a finished message to its conversation (opened on its first message).
    StoreMessage(
        Box<(
            crate::conversations::ConversationMeta,
            crate::conversations::StoredMessage,
        )>,
    ),
    /// Ask for the conversation list (answered with `ConversationEvent::Listed`).
    ListConversations,
    /// Load a stored conversation (answered with `ConversationEvent::Loaded`).
    LoadConversation(u64),
    RenameConversation {
        id: u64,
        title: String,
    },
    DeleteConversation(u64),
    /// Start over with these finished turns in the engine's context (a resumed conversation).
    RestoreConversation {
        turns: Vec<(String, String)>,
        dialogue: crate::engine::Dialogue,
        system: Option<String>,
    },
    /// Write `profile` to profiles.toml as `name` (atomically); answered by `ProfileSaved`.
    SaveProfile {
        name: String,
        profile: Box<crate::config::Profile>,
    },
    /// Stop the running generation (the engine answers with `Finished { reason: Cancelled }`).
    Cancel,
    /// Forget the conversation (KV cache, history).
    ResetConversation,
    /// Use these sampler parameters from the next token on.
    ConfigureSampler(crate::sampling::SamplerParams),
    /// Run a benchmark suite (the bench actor).
    StartBench(String),
    CancelBench,
    /// Ask the bench actor for the suites and the stored history again.
    RefreshBench,
    /// Pin a stored run as its suite's baseline.
    PinBaseline(u64),
    /// Stream `prompt` under profiles `a` and `b` side by side (A/B panes).
    StartAb {
        prompt: String,
        a: String,
        b: String,
    },
    Quit,
    /// Start the OpenAI-compatible server on the loaded model (answered by the serve actor's
    /// events).
    StartServer(Box<ServerStart>),
    /// Stop it once its in-flight requests are done.
    StopServer,
    /// Model picker and switch (see `app::models`).
    Models(super::models::ModelEffect),
    /// Ask the RAG actor for the context of `request`'s prompt (then [`Effect::Generate`]).
    RagContext {
        request: u64,
        query: String,
        budget: usize,
    },
    /// `/add`: ingest these paths.
    RagAdd {
        paths: Vec<std::path::PathBuf>,
    },
    /// `/remember`, or an automatically remembered turn.
    RagRemember {
        text: String,
        importance: f32,
        tier: crate::rag::Tier,
        source: String,
        quiet: bool,
    },
}
