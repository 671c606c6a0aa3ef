//! Everything the dashboard reacts to: keys, pastes, resizes, and what the actors report.
use crate::actors::inference::EngineEvent;
use crate::actors::metrics::MetricsSnapshot;
use crate::actors::sampling::TokenTrace;
pub use crate::logging::LogLine;

/// One input to [`crate::app::AppState::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    Key(crossterm::event::KeyEvent),
    /// Bracketed paste: the whole pasted text at once.
    Paste(String),
    /// The terminal was resized to (columns, rows).
    Resize(u16, u16),
    Engine(EngineEvent),
    Metrics(MetricsSnapshot),
    Log(LogLine),
    /// The sampling actor's record of one sampled token (the inspector).
    Trace(TokenTrace),
    /// The config files changed on disk.
    Config(crate::actors::config::ConfigEvent),
    /// The answer to `Effect::SaveProfile`: the new config, or why it was not written.
    ProfileSaved {
        name: String,
        result: Result<std::sync::Arc<crate::config::Config>, String>,
    },
    /// What the conversations actor reports.
    Conversations(crate::actors::conversations::ConversationEvent),
    /// The bench actor's progress and results.
    Bench(crate::actors::bench::BenchEvent),
    /// The RAG actor's reports (context built, ingest progress, memory counts).
    Rag(crate::actors::rag::RagEvent),
    /// The model picker's listing (read off the UI task).
    Models(ModelsEvent),
    /// The dashboard's server: started, stopped, its status and requests.
    Serve(crate::actors::serve::ServeEvent),
    /// An actor panicked and was restarted (see `app::supervision`).
    Restarted(crate::actors::supervision::Restarted),
}

/// The answer to the model picker's listing effect.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelsEvent {
    Listed(Vec<crate::models::ModelChoice>),
}
