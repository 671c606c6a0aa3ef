//! The dashboard's RAG sub-state: whether RAG is on (per profile, per message), the context built
//! for the last prompt (what the RAG pane shows), ingest progress, and the `/add` and `/remember`
//! commands typed in the input. Pure, like the rest of `app`.
use std::path::PathBuf;

use crate::rag::{BuiltContext, RagSettings, Tier};

/// The context that went into the last prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct LastContext {
    pub request: u64,
    pub query: String,
    pub context: BuiltContext,
}

/// `/add` progress.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IngestProgress {
    pub done: usize,
    pub total: usize,
    pub current: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RagState {
    /// RAG is set up for this session ([rag] enabled, the profile's `rag`, the store opened).
    pub available: bool,
    /// Use RAG for the next message (Ctrl-R turns it off for one message).
    pub next_message: bool,
    pub budget: usize,
    pub auto_remember: bool,
    /// The RAG pane is shown (F6).
    pub show: bool,
    pub last: Option<LastContext>,
    /// The request waiting for its context, with the user's text.
    pub pending: Option<(u64, String)>,
    pub ingest: Option<IngestProgress>,
    pub memories: Option<usize>,
    /// The last message was sent without RAG (and why), for the pane.
    pub last_without: Option<String>,
}

impl Default for RagState {
    fn default() -> Self {
        Self::new(None)
    }
}

impl RagState {
    /// `settings` is `None` when RAG is off for this session.
    pub fn new(settings: Option<&RagSettings>) -> Self {
        Self {
            available: settings.is_some(),
            next_message: true,
            budget: settings.map_or(1024, |s| s.budget_tokens),
            auto_remember: settings.is_some_and(|s| s.auto_remember),
            show: false,
            last: None,
            pending: None,
            ingest: None,
            memories: None,
            last_without: None,
        }
    }
}

/// A command typed in the input instead of a chat message.
#[derive(Debug, Clone, PartialEq)]
pub enum RagCommand {
    Add(Vec<PathBuf>),
    Remember {
        text: String,
        importance: f32,
        tier: Tier,
    },
}

/// `/add PATH...` or `/remember TEXT [--importance X] [--tier T]`; `None` for anything else (a
/// chat message), `Some(Err)` for a malformed command.
pub fn parse_command(text: &str) -> Option<Result<RagCommand, String>> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("/add") {
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return None;
        }
        let paths: Vec<PathBuf> = rest.split_whitespace().map(PathBuf::from).collect();
        if paths.is_empty() {
            return Some(Err("usage: /add PATH... (files or directories)".into()));
        }
        return Some(Ok(RagCommand::Add(paths)));
    }
    let rest = text.strip_prefix("/remember")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut importance = 0.7;
    let mut tier = Tier::LongTerm;
    let mut words = Vec::new();
    let mut it = rest.split_whitespace();
    while let Some(w) = it.next() {
        match w {
            "--importance" => match it.next().map(str::parse::<f32>) {
                Some(Ok(v)) if (0.0..=1.0).contains(&v) => importance = v,
                _ => return Some(Err("--importance takes a number within 0..=1".into())),
            },
            "--tier" => match it.next().map(str::parse::<Tier>) {
                Some(Ok(t)) => tier = t,
                Some(Err(e)) => return Some(Err(e)),
                None => return Some(Err("--tier takes a tier name".into())),
            },
            w => words.push(w),
        }
    }
    if words.is_empty() {
        return Some(Err(
            "usage: /remember TEXT [--importance 0..1] [--tier working|short_term|long_term|episodic|semantic]".into(),
        ));
    }
    Some(Ok(RagCommand::Remember {
        text: words.join(" "),
        importance,
        tier,
    }))
}
