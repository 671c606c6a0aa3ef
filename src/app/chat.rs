//! The chat pane as a component: [`Chat`] owns the messages, the chat scroll and the request
//! bookkeeping, folds a reply's engine events (token, finish, failure) into the messages and
//! handles its scrolling keys. What crosses the rest of the dashboard (the template, RAG, the
//! store) is orchestrated in `handlers/chat.rs`.

use super::action::Action;
use super::outcome::{Ctx, Outcome};
use super::view::ScrollState;
use crate::actors::inference::ReplyStats;
use crate::engine::FinishReason;

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

/// The chat pane: the conversation shown, its scroll position and the reply being produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    pub messages: Vec<ChatMessage>,
    pub scroll: ScrollState,
    /// The id the next reply's request gets.
    pub next_request: u64,
    /// The request id of the running generation.
    pub running: Option<u64>,
}

impl Default for Chat {
    fn default() -> Self {
        Self {
            messages: Vec::new(),
            scroll: ScrollState::default(),
            next_request: 1,
            running: None,
        }
    }
}

impl Chat {
    /// Its scrolling and follow keys.
    pub fn handle(&mut self, action: Action, _ctx: &Ctx) -> Outcome {
        self.scroll.on_action(action);
        Outcome::default()
    }

    /// Whether a reply is being produced (from the send until its finish or failure).
    pub fn is_generating(&self) -> bool {
        self.running.is_some()
    }

    /// Whether `request` is the reply being produced.
    pub fn is_running(&self, request: u64) -> bool {
        self.running == Some(request)
    }

    /// A new turn: the user's message and an empty streaming reply; returns its request id.
    pub fn begin(&mut self, text: String) -> u64 {
        let request = self.next_request;
        self.next_request += 1;
        self.running = Some(request);
        self.messages.push(ChatMessage::new(Role::User, text));
        self.messages.push(ChatMessage {
            role: Role::Assistant,
            text: String::new(),
            streaming: true,
            stats: None,
        });
        self.scroll.to_bottom();
        request
    }

    /// Appends a note (a system or error message) and follows it.
    pub fn push(&mut self, role: Role, text: impl Into<String>) {
        self.messages.push(ChatMessage::new(role, text));
        self.scroll.to_bottom();
    }

    fn streaming_message(&mut self) -> Option<&mut ChatMessage> {
        self.messages.iter_mut().rev().find(|m| m.streaming)
    }

    /// Removes the streaming reply (the turn was never generated).
    pub fn drop_streaming(&mut self) {
        if let Some(i) = self.messages.iter().rposition(|m| m.streaming) {
            self.messages.remove(i);
        }
    }

    /// Ends the running turn before any reply: its empty streaming message goes.
    pub fn abandon(&mut self) {
        self.running = None;
        self.drop_streaming();
    }

    /// A token of `request`'s reply; false if that is not the reply running.
    pub fn token(&mut self, request: u64, text: &str) -> bool {
        if !self.is_running(request) {
            return false;
        }
        if let Some(m) = self.streaming_message() {
            m.text.push_str(text);
        }
        true
    }

    /// `request`'s reply finished: the text is marked if it was cancelled and takes its stats.
    /// Returns the reply's text (None if that is not the reply running).
    pub fn finish(
        &mut self,
        request: u64,
        reason: FinishReason,
        stats: ReplyStats,
    ) -> Option<String> {
        if !self.is_running(request) {
            return None;
        }
        self.running = None;
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
        Some(
            self.messages
                .iter()
                .rev()
                .find(|m| m.role == Role::Assistant)
                .map(|m| m.text.clone())
                .unwrap_or_default(),
        )
    }

    /// `request`'s reply failed: an empty reply goes, a partial one stays, the error shows.
    /// False if that is not the reply running.
    pub fn fail(&mut self, request: u64, error: String) -> bool {
        if !self.is_running(request) {
            return false;
        }
        self.running = None;
        if let Some(i) = self.messages.iter().rposition(|m| m.streaming) {
            if self.messages[i].text.is_empty() {
                self.messages.remove(i);
            } else {
                self.messages[i].streaming = false;
            }
        }
        self.push(Role::Error, error);
        true
    }

    /// A new conversation: no messages, scrolled to the top; true if a reply was running.
    pub fn clear(&mut self) -> bool {
        let was_running = self.running.take().is_some();
        self.messages.clear();
        self.scroll = ScrollState::default();
        was_running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_folds_a_reply_and_ignores_other_requests() {
        let mut chat = Chat::default();
        let request = chat.begin("hi".into());
        assert_eq!(request, 1);
        assert_eq!(chat.next_request, 2);
        assert!(!chat.token(request + 1, "stale"));
        assert!(chat.token(request, "Once"));
        let stats = ReplyStats::default();
        assert_eq!(
            chat.finish(request + 1, FinishReason::EndOfTurn, stats.clone()),
            None
        );
        let reply = chat.finish(request, FinishReason::Cancelled, stats);
        assert_eq!(reply.as_deref(), Some("Once [cancelled]"));
        assert!(!chat.is_generating());
        assert!(chat.messages.iter().all(|m| !m.streaming));
    }

    #[test]
    fn a_failed_empty_reply_goes_and_the_error_shows() {
        let mut chat = Chat::default();
        let request = chat.begin("hi".into());
        assert!(chat.fail(request, "boom".into()));
        assert_eq!(chat.messages.len(), 2);
        assert_eq!(chat.messages[1].role, Role::Error);
        assert!(!chat.clear());
        assert!(chat.messages.is_empty());
    }

    #[test]
    fn the_chat_scrolls_on_its_keys() {
        use crate::app::outcome::Ctx;
        use crate::app::{Focus, Keymap};
        let keymap = Keymap::default();
        let ctx = Ctx {
            keymap: &keymap,
            focus: Focus::Chat,
            open: false,
            input: "",
            active_profile: "balanced",
            generating: false,
            engine_idle: true,
            model_loaded: true,
            bench_running: false,
        };
        let mut chat = Chat::default();
        chat.scroll.resolve(100, 10);
        assert_eq!(chat.handle(Action::ScrollUp, &ctx), Outcome::default());
        assert!(!chat.scroll.follow);
        chat.handle(Action::ScrollToBottom, &ctx);
        assert!(chat.scroll.follow);
    }
}
