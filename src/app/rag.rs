//! The dashboard's RAG sub-state: whether RAG is on (per profile, per message), the context built
//! for the last prompt (what the RAG pane shows), ingest progress, and the `/add` and `/remember`
//! commands typed in the input. A component: its keys ([`RagState::handle`]), the commands
//! ([`RagState::command`]) and the RAG actor's reports ([`RagState::on_event`]) return an
//! [`Outcome`]; the chat turn (waiting for the context, then generating) stays the dashboard's.
use std::path::PathBuf;

use super::action::{Action, Focus};
use super::effect::Effect;
use super::outcome::{Ctx, Outcome};
use crate::actors::rag::RagEvent;
use crate::rag::ingest::IngestEvent;
use crate::rag::memory::REMEMBER_SOURCE;
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

    /// The RAG keys: show the pane (F6), RAG off/on for the next message (Ctrl-R).
    pub fn handle(&mut self, action: Action, _ctx: &Ctx) -> Outcome {
        match action {
            Action::ToggleRagPane => self.show = !self.show,
            Action::ToggleRagNextMessage => {
                self.next_message = !self.next_message;
                return Outcome::status(if !self.available {
                    "RAG is off for this profile"
                } else if self.next_message {
                    "RAG on for the next message"
                } else {
                    "RAG off for the next message"
                });
            }
            _ => {}
        }
        Outcome::default()
    }

    /// `/add` or `/remember` (already parsed) typed in the input.
    pub fn command(&mut self, parsed: Result<RagCommand, String>) -> Outcome {
        let cmd = match parsed {
            Ok(cmd) => cmd,
            Err(e) => return Outcome::status(e),
        };
        if !self.available {
            return Outcome::status("RAG is off ([rag] enabled and the profile's rag)");
        }
        match cmd {
            RagCommand::Add(paths) => {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                self.ingest = Some(IngestProgress::default());
                Outcome {
                    note: Some(format!("Adding {}", shown.join(", "))),
                    ..Outcome::effect(Effect::RagAdd { paths })
                }
            }
            RagCommand::Remember {
                text,
                importance,
                tier,
            } => Outcome::effect(Effect::RagRemember {
                text,
                importance,
                tier,
                source: REMEMBER_SOURCE.into(),
                quiet: false,
            }),
        }
    }

    /// A new user turn: the effect that asks for its context when RAG is on for this message
    /// (None: generate straight away). The per-message switch resets to on.
    pub fn route(&mut self, request: u64, text: &str, ctx: &Ctx) -> Option<Effect> {
        let use_rag = self.available && self.next_message;
        self.last_without = match (self.available, self.next_message) {
            (false, _) => Some("RAG is off for this profile or session".into()),
            (true, false) => Some(format!(
                "RAG was turned off for this message ({})",
                ctx.keymap
                    .hint(Focus::Input.contexts(), Action::ToggleRagNextMessage)
            )),
            _ => None,
        };
        self.next_message = true;
        if !use_rag {
            return None;
        }
        self.pending = Some((request, text.to_string()));
        Some(Effect::RagContext {
            request,
            query: text.to_string(),
            budget: self.budget,
        })
    }

    /// The context for `request` came back: recorded for the pane; the text for the template's
    /// {rag_context} ("" when it failed, with a status saying so).
    pub fn context_built(
        &mut self,
        request: u64,
        query: &str,
        result: Result<BuiltContext, String>,
    ) -> (String, Outcome) {
        match result {
            Ok(context) => {
                let rendered = context.text.clone();
                self.last = Some(LastContext {
                    request,
                    query: query.to_string(),
                    context,
                });
                (rendered, Outcome::default())
            }
            Err(e) => {
                self.last_without = Some(format!("building the context failed: {e}"));
                (
                    String::new(),
                    Outcome::status(format!("RAG context failed, sending without it: {e}")),
                )
            }
        }
    }

    /// The RAG actor's reports other than a context: ingest progress, memories, availability.
    pub fn on_event(&mut self, event: RagEvent) -> Outcome {
        match event {
            RagEvent::Context { .. } => {}
            RagEvent::Ingest(e) => {
                let p = self.ingest.get_or_insert_with(IngestProgress::default);
                match e {
                    IngestEvent::Found { files } => p.total = files,
                    IngestEvent::Added { index, path, .. }
                    | IngestEvent::Unchanged { index, path, .. } => {
                        p.done = index;
                        p.current = path.display().to_string();
                    }
                    IngestEvent::Skipped { path, reason } => {
                        tracing::info!(path = %path.display(), %reason, "skipped");
                    }
                }
            }
            RagEvent::IngestDone(result) => {
                self.ingest = None;
                return Outcome {
                    note: Some(match result {
                        Ok(s) => format!(
                            "Added {} files ({} new chunks, {} unchanged, {} skipped: see the log)",
                            s.files, s.chunks_added, s.unchanged, s.skipped
                        ),
                        Err(e) => format!("Adding failed: {e}"),
                    }),
                    ..Outcome::default()
                };
            }
            RagEvent::Remembered { result, quiet } => match result {
                Ok(Some(id)) if !quiet => {
                    return Outcome::status(format!("remembered as memory {id}"))
                }
                Ok(None) if !quiet => return Outcome::status("already remembered"),
                Err(e) => return Outcome::status(format!("remember failed: {e}")),
                _ => {}
            },
            RagEvent::Stats { memories } => self.memories = Some(memories),
            RagEvent::Unavailable(e) => {
                self.available = false;
                return Outcome::status(format!("RAG is off: {e}"));
            }
        }
        Outcome::default()
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
