//! The dashboard-level side of `app::conversation`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/conversation.rs`, which imports nothing
//! of `AppState`.
use crate::actors::conversations::ConversationEvent;
use crate::app::action::{Action, Focus};
use crate::app::chat::{ChatMessage, Role};
use crate::app::conversation::*;
use crate::app::effect::Effect;
use crate::app::picker::PickerKind;
use crate::app::state::AppState;
use crate::conversations::{turns, ConversationMeta, StoredMessage, StoredRole};
use crossterm::event::KeyEvent;
use std::time::Instant;

impl AppState {
    /// The effect that commits a finished message to the open conversation (opened on the first).
    pub(crate) fn store_message(&mut self, message: StoredMessage, now: Instant) -> Effect {
        let clock = &mut self.clock;
        let id = self
            .conversations
            .ensure_open(|| clock.new_id(now), &message.text);
        self.models.record(id, &message);
        Effect::StoreMessage(Box::new((
            ConversationMeta {
                id,
                title: String::new(),
                created_ms: message.at_ms,
                updated_ms: message.at_ms,
                profile: self.profiles.active.clone(),
                model: self.model_name(),
                messages: 0,
            },
            message,
        )))
    }

    /// A finished reply (the streaming message that just ended), to be stored.
    pub(crate) fn stored_reply(
        &mut self,
        text: &str,
        decode_tok_s: f64,
        now: Instant,
    ) -> StoredMessage {
        StoredMessage {
            role: StoredRole::Assistant,
            text: text.to_string(),
            prompt: None,
            system: None,
            at_ms: self.clock.unix_ms(now),
            decode_tok_s: Some(decode_tok_s).filter(|v| v.is_finite() && *v > 0.0),
        }
    }

    pub(crate) fn on_conversations(
        &mut self,
        event: ConversationEvent,
        now: Instant,
    ) -> Vec<Effect> {
        match event {
            ConversationEvent::Listed(list) => {
                // Only when the user asked for it (an open conversations picker), or to refresh it.
                let shown = matches!(&self.picker, Some(p) if p.kind == PickerKind::Conversation);
                if let Some(picker) = self.conversations.listed(&list, shown) {
                    self.open_picker(picker);
                }
                vec![]
            }
            ConversationEvent::Loaded { meta, messages } => {
                self.show_conversation(meta, messages, now)
            }
            ConversationEvent::Failed(e) => {
                self.set_status(e, now);
                vec![]
            }
        }
    }

    /// Replaces the chat with a stored conversation and has the engine rebuild its context.
    fn show_conversation(
        &mut self,
        meta: ConversationMeta,
        stored: Vec<StoredMessage>,
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.chat.clear() {
            effects.push(Effect::Cancel);
        }
        self.chat.messages = stored
            .iter()
            .map(|m| {
                let role = match m.role {
                    StoredRole::User => Role::User,
                    StoredRole::Assistant => Role::Assistant,
                };
                ChatMessage::new(role, m.text.clone())
            })
            .collect();
        self.inspector.clear();
        let system = stored
            .iter()
            .find(|m| m.role == StoredRole::User)
            .and_then(|m| m.system.clone());
        self.set_status(
            format!("conversation: {} ({} messages)", meta.title, stored.len()),
            now,
        );
        self.models.record_all(meta.id, &stored);
        self.conversations.open = Some(OpenConversation {
            id: meta.id,
            title: meta.title,
        });
        effects.push(self.restore(turns(&stored), system));
        effects
    }

    pub(crate) fn open_conversations(&mut self, now: Instant) -> Vec<Effect> {
        let action = Action::OpenConversations;
        self.run(
            None,
            |s| &mut s.conversations,
            |c, ctx| c.handle(action, ctx),
            now,
        )
    }

    /// A key while a picker is open: its named actions, else typing into its query (Ctrl-C
    /// still arms the quit).
    pub(crate) fn picker_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if self.keymap.lookup(Focus::Picker.contexts(), &key).is_none()
            && self.keymap.lookup(Focus::Input.contexts(), &key) == Some(Action::ForceQuitArm)
        {
            return self.apply(Action::ForceQuitArm, now);
        }
        self.run_picker(|p, ctx| p.handle_key(&key, ctx), now)
    }

    pub(crate) fn picker_action(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        self.run_picker(|p, ctx| p.handle(action, ctx), now)
    }
}
