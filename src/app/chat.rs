//! The chat turn state machine: what happens on send, on each engine event, on cancel and on errors.
use std::time::Instant;

use crate::actors::messages::{EngineEvent, ReplyStats};
use crate::engine::FinishReason;

use super::state::{AppState, Effect};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    System,
    Error,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::User => "You",
            Role::Assistant => "Gemma",
            Role::System => "System",
            Role::Error => "Error",
        }
    }
}

/// One message of the conversation as shown in the chat pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
    /// Still receiving tokens.
    pub streaming: bool,
    /// Timing, once an assistant reply has finished.
    pub stats: Option<ReplyStats>,
}

impl ChatMessage {
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            streaming: false,
            stats: None,
        }
    }
}

/// What the engine is doing, as far as the dashboard knows.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineStatus {
    Loading { fraction: f64, message: String },
    Idle,
    Prefill,
    Generating,
    Failed(String),
}

impl EngineStatus {
    /// Short label for the status bar: "loading 42%", "idle", "prefill", "generating", "failed".
    pub fn label(&self) -> String {
        match self {
            EngineStatus::Loading { fraction, .. } => {
                let pct = (fraction.clamp(0.0, 1.0) * 100.0).round() as u32;
                format!("loading {pct}%")
            }
            EngineStatus::Idle => "idle".into(),
            EngineStatus::Prefill => "prefill".into(),
            EngineStatus::Generating => "generating".into(),
            EngineStatus::Failed(_) => "failed".into(),
        }
    }
}

/// Text appended to a reply the user stopped.
pub const CANCELLED_MARK: &str = "[cancelled]";

impl AppState {
    /// The text currently in the input box.
    pub fn input_text(&self) -> String {
        self.input.lines().join("\n")
    }

    /// Whether a reply is being produced (from the Send until its Finished/Failed).
    pub fn is_generating(&self) -> bool {
        self.running.is_some()
    }

    /// Send the input as a new user turn.
    pub(crate) fn send(&mut self, now: Instant) -> Vec<Effect> {
        let raw = self.input_text();
        let text = raw.trim();
        if text.is_empty() {
            return vec![];
        }
        if let Some(effects) = self.rag_command(text, now) {
            return effects;
        }
        match &self.engine {
            EngineStatus::Loading { .. } => {
                self.set_status("the model is still loading; your message is kept", now);
                return vec![];
            }
            EngineStatus::Failed(e) => {
                let msg = format!("cannot send: the model failed to load ({e})");
                self.set_status(msg, now);
                return vec![];
            }
            _ => {}
        }
        if self.is_generating() {
            self.set_status("a reply is still being generated (Esc stops it)", now);
            return vec![];
        }
        let text = text.to_string();
        let request = self.next_request;
        self.next_request += 1;
        self.running = Some(request);
        self.engine = EngineStatus::Prefill;
        self.messages
            .push(ChatMessage::new(Role::User, text.clone()));
        self.messages.push(ChatMessage {
            role: Role::Assistant,
            text: String::new(),
            streaming: true,
            stats: None,
        });
        self.input = super::state::new_input();
        self.chat_scroll.to_bottom();
        vec![self.rag_route(request, text)]
    }

    fn streaming_message(&mut self) -> Option<&mut ChatMessage> {
        self.messages.iter_mut().rev().find(|m| m.streaming)
    }

    /// Fold one engine event into the state.
    pub(crate) fn on_engine(&mut self, event: EngineEvent, now: Instant) -> Vec<Effect> {
        match event {
            EngineEvent::LoadProgress { fraction, message } => {
                self.engine = EngineStatus::Loading { fraction, message };
            }
            EngineEvent::Loaded(summary) => {
                self.set_status(format!("loaded {}", summary.name), now);
                self.model = Some(summary);
                if !self.is_generating() {
                    self.engine = EngineStatus::Idle;
                }
            }
            EngineEvent::LoadFailed(error) => {
                self.messages.push(ChatMessage::new(
                    Role::Error,
                    format!("Loading the model failed: {error}"),
                ));
                self.engine = EngineStatus::Failed(error);
            }
            EngineEvent::PrefillStarted { request, .. } => {
                if self.running == Some(request) {
                    self.engine = EngineStatus::Prefill;
                }
            }
            EngineEvent::Token { request, text } => {
                if self.running == Some(request) {
                    self.engine = EngineStatus::Generating;
                    if let Some(m) = self.streaming_message() {
                        m.text.push_str(&text);
                    }
                }
            }
            EngineEvent::Finished {
                request,
                reason,
                stats,
                context_used,
            } => {
                if self.running == Some(request) {
                    self.running = None;
                    self.engine = EngineStatus::Idle;
                    self.context_used = context_used;
                    if stats.ttft_ms > 0.0 {
                        self.last_ttft_ms = Some(stats.ttft_ms);
                    }
                    if let Some(m) = self.streaming_message() {
                        m.streaming = false;
                        if reason == FinishReason::Cancelled {
                            if !m.text.is_empty() && !m.text.ends_with(char::is_whitespace) {
                                m.text.push(' ');
                            }
                            m.text.push_str(CANCELLED_MARK);
                        }
                        m.stats = Some(stats);
                    }
                    match reason {
                        FinishReason::ContextFull => self.set_status(
                            "the context is full: Ctrl-L starts a new conversation",
                            now,
                        ),
                        FinishReason::MaxTokens => {
                            self.set_status("the reply reached the token limit", now)
                        }
                        _ => {}
                    }
                }
            }
            EngineEvent::Failed { request, error } => {
                if self.running == Some(request) {
                    self.running = None;
                    self.engine = EngineStatus::Idle;
                    if let Some(i) = self.messages.iter().rposition(|m| m.streaming) {
                        if self.messages[i].text.is_empty() {
                            self.messages.remove(i);
                        } else {
                            self.messages[i].streaming = false;
                        }
                    }
                    self.messages.push(ChatMessage::new(Role::Error, error));
                    self.chat_scroll.to_bottom();
                }
            }
        }
        vec![]
    }
}
