//! The dashboard-level side of `app::chat`: the send path that crosses the template, RAG and the
//! store, and the engine's events folded into [`AppState`] (engine status, context, stats), the
//! effects they return. The chat's own state and its fold of a reply's tokens live in
//! `app/chat.rs` ([`Chat`]), which imports nothing of `AppState`.
use crate::actors::inference::EngineEvent;
use crate::app::action::{Action, Focus};
use crate::app::chat::*;
use crate::app::effect::Effect;
use crate::app::state::AppState;
use crate::engine::FinishReason;
use std::time::Instant;

impl AppState {
    /// The text currently in the input box.
    pub fn input_text(&self) -> String {
        self.input.text()
    }

    /// The loaded model's name ("" until it has loaded).
    pub fn model_name(&self) -> String {
        self.model
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }

    /// Whether a reply is being produced (from the Send until its Finished/Failed).
    pub fn is_generating(&self) -> bool {
        self.chat.is_generating()
    }

    /// Send the input as a new user turn.
    pub(crate) fn send(&mut self, now: Instant) -> Vec<Effect> {
        let raw = self.input_text();
        let text = raw.trim();
        if text.is_empty() {
            return vec![];
        }
        // `/add PATH` and `/remember TEXT` are commands for the RAG memory, not messages.
        if let Some(effects) = self.rag_command(text, now) {
            return effects;
        }
        // `/json`, `/regex` and `/plain` set what the next reply must be.
        if let Some(effects) = self.output_command(text, now) {
            return effects;
        }
        if self.bench.running() || self.ab.running {
            let how = format!(
                "{}, then {}",
                self.hint(Focus::Input, Action::ToggleBench),
                self.hint(Focus::Bench, Action::BenchCancel)
            );
            self.set_status(
                format!("a benchmark has the model: wait for it or cancel it ({how})"),
                now,
            );
            return vec![];
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
            let stop = self.hint(Focus::Input, Action::CancelGeneration);
            self.set_status(
                format!("a reply is still being generated ({stop} stops it)"),
                now,
            );
            return vec![];
        }
        let text = text.to_string();
        // The template turns the message into the user turn; a broken one keeps the message.
        if let Err(e) = self.build_turn(&text, "") {
            self.set_status(format!("not sent: {e}"), now);
            return vec![];
        }
        let request = self.chat.begin(text.clone());
        self.engine = EngineStatus::Prefill;
        self.input.clear();
        self.rag_route(request, text, now)
    }

    /// `/json`, `/json SCHEMA`, `/regex RE`, `/plain`: arms the next reply's constraint; `None`
    /// when the text is a chat message. A bad schema or expression keeps the input to be fixed.
    fn output_command(&mut self, text: &str, now: Instant) -> Option<Vec<Effect>> {
        use crate::app::output::NextOutput;
        match crate::app::output::parse_command(text)? {
            Ok(next) => {
                let msg = match &next {
                    NextOutput::Constrained(c) => {
                        format!("the next reply: {} (/plain: free text)", c.label)
                    }
                    _ => "the next reply: free text".to_string(),
                };
                self.output.next = next;
                self.input.clear();
                self.set_status(msg, now);
            }
            Err(e) => self.set_status(e, now),
        }
        Some(vec![])
    }

    /// The user turn for `text` with `rag_context` rendered by the template: the message is
    /// committed to the conversation (as the model sees it) and the reply asked for. A template
    /// that fails now (it was checked on send, but the context may break it) ends the turn.
    pub(crate) fn generate_turn(
        &mut self,
        request: u64,
        text: String,
        rag_context: &str,
        now: Instant,
    ) -> Vec<Effect> {
        let turn = match self.build_turn(&text, rag_context) {
            Ok(turn) => turn,
            Err(e) => {
                self.set_status(format!("not sent: {e}"), now);
                self.chat.abandon();
                self.engine = EngineStatus::Idle;
                return vec![];
            }
        };
        let stored = crate::conversations::StoredMessage {
            role: crate::conversations::StoredRole::User,
            prompt: Some(turn.turn.text.clone()).filter(|t| *t != text),
            text,
            system: turn.turn.system.clone(),
            at_ms: self.clock.unix_ms(now),
            decode_tok_s: None,
        };
        vec![
            self.store_message(stored, now),
            Effect::Generate {
                request,
                turn: turn.turn,
                limits: turn.limits,
                output: self.output.take_for_reply(turn.output),
                context_shift: turn.context_shift,
                draft: turn.draft,
            },
        ]
    }

    /// Fold one engine event into the state.
    pub(crate) fn on_engine(&mut self, event: EngineEvent, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            EngineEvent::LoadProgress { fraction, message } => {
                self.engine = EngineStatus::Loading { fraction, message };
            }
            EngineEvent::Loaded(summary) => {
                self.forget_remote();
                self.set_status(format!("loaded {}", summary.name), now);
                self.model = Some(summary);
                if !self.is_generating() {
                    self.engine = EngineStatus::Idle;
                }
            }
            EngineEvent::Restored { context_used } => self.context_used = context_used,
            EngineEvent::LoadFailed(error) => {
                self.chat.messages.push(ChatMessage::new(
                    Role::Error,
                    format!("Loading the model failed: {error}"),
                ));
                self.engine = EngineStatus::Failed(error);
            }
            EngineEvent::PrefillStarted { request, .. } => {
                if self.chat.is_running(request) {
                    self.engine = EngineStatus::Prefill;
                }
            }
            EngineEvent::Token {
                request,
                text,
                context_used,
            } => {
                if self.chat.token(request, &text) {
                    self.engine = EngineStatus::Generating;
                    self.context_used = context_used;
                }
            }
            EngineEvent::Finished {
                request,
                reason,
                stats,
                context_used,
            } => {
                let ttft_ms = stats.ttft_ms;
                let decode_tok_s = stats.decode_tok_s;
                let shifted = stats.shifted;
                if let Some(reply) = self.chat.finish(request, reason, stats) {
                    if shifted > 0 {
                        // The chat and the stored conversation keep every message: only the
                        // model's context lost them.
                        let note = format!(
                            "context shift: the context was full, so the model no longer sees \
                             the {shifted} oldest tokens of this conversation (kept here and in \
                             the stored conversation)"
                        );
                        tracing::info!("{note}");
                        self.set_status(note, now);
                    }
                    self.engine = EngineStatus::Idle;
                    self.context_used = context_used;
                    if ttft_ms > 0.0 {
                        self.last_ttft_ms = Some(ttft_ms);
                    }
                    let stored = self.stored_reply(&reply, decode_tok_s, now);
                    effects.push(self.store_message(stored, now));
                    match reason {
                        FinishReason::ContextFull => {
                            let new = self.hint(Focus::Input, Action::ClearConversation);
                            self.set_status(
                                format!(
                                    "the context is full: {new} starts a new conversation \
                                     (or set the profile's context_shift = true)"
                                ),
                                now,
                            )
                        }
                        FinishReason::MaxTokens => {
                            self.set_status("the reply reached the token limit", now)
                        }
                        _ => {}
                    }
                }
            }
            EngineEvent::Failed { request, error } => {
                if self.chat.fail(request, error) {
                    self.engine = EngineStatus::Idle;
                }
            }
            EngineEvent::Switch(e) => self.on_switch(e, now),
            EngineEvent::Remote(e) => self.on_remote(e, now),
        }
        // A model loaded in the background is swapped in once no reply runs.
        effects.extend(self.commit_switch_when_idle());
        effects
    }
}
