//! An actor panicked and was restarted (`actors::supervision`): the chat says so, and what the actor
//! lost that the dashboard holds is handed back. The inference actor reloads its model itself; the
//! conversation is restored from the chat's finished turns, as a resumed conversation is.
use std::time::Instant;

use super::chat::{ChatMessage, EngineStatus, Role};
use super::{AppState, Effect};
use crate::actors::supervision::{ActorName, Restarted};

impl AppState {
    pub(crate) fn on_restarted(&mut self, event: Restarted, now: Instant) -> Vec<Effect> {
        let Restarted { actor, reason } = event;
        let mut effects = Vec::new();
        let kept = match actor {
            ActorName::Inference => {
                // The reply in flight is over: what streamed stays, marked as cut.
                if self.chat.running.take().is_some() {
                    if let Some(m) = self.chat.messages.iter_mut().rev().find(|m| m.streaming) {
                        m.streaming = false;
                        m.text.push_str(" [cut: the engine restarted]");
                    }
                }
                if self.model.is_some() {
                    self.engine = EngineStatus::Loading {
                        fraction: 0.0,
                        message: "reloading the model after a restart".into(),
                    };
                }
                let turns = finished_turns(&self.chat.messages);
                let system = self.build_turn("", "").ok().and_then(|t| t.turn.system);
                effects.push(self.restore(turns, system));
                "the model is loaded again and the conversation is kept"
            }
            ActorName::Rag => "the memory store is opened again",
            ActorName::Bench => "a running suite was stopped; the history is kept",
            ActorName::Conversations => "the conversation store is opened again",
        };
        let text = format!(
            "The {} actor crashed ({reason}) and was restarted: {kept}.",
            actor.label()
        );
        self.chat
            .messages
            .push(ChatMessage::new(Role::System, text));
        self.set_status(format!("{} actor restarted", actor.label()), now);
        effects
    }
}

/// The (user turn, reply) pairs of the chat whose reply is finished and not empty.
fn finished_turns(messages: &[ChatMessage]) -> Vec<(String, String)> {
    let said: Vec<&ChatMessage> = messages
        .iter()
        .filter(|m| matches!(m.role, Role::User | Role::Assistant))
        .collect();
    said.windows(2)
        .filter(|w| {
            w[0].role == Role::User
                && w[1].role == Role::Assistant
                && !w[1].streaming
                && !w[1].text.trim().is_empty()
                && !w[1].text.ends_with("[cut: the engine restarted]")
        })
        .map(|w| (w[0].text.clone(), w[1].text.clone()))
        .collect()
}
