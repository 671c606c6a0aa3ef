//! The dashboard-level side of `app::conversation`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/conversation.rs`, which imports nothing
//! of `AppState`.
use crate::actors::conversations::ConversationEvent;
use crate::app::action::{Action, Focus};
use crate::app::chat::{ChatMessage, Role};
use crate::app::conversation::*;
use crate::app::effect::Effect;
use crate::app::picker::{Picker, PickerItem, PickerKind};
use crate::app::state::{AppState, ScrollState};
use crate::conversations::{turns, ConversationMeta, StoredMessage, StoredRole};
use crossterm::event::KeyEvent;
use std::time::Instant;

impl AppState {
    /// The effect that commits a finished message to the open conversation (opened on the first).
    pub(crate) fn store_message(&mut self, message: StoredMessage, now: Instant) -> Effect {
        let id = match &self.conversation {
            Some(c) => c.id,
            None => {
                let id = self.clock.new_id(now);
                self.conversation = Some(OpenConversation {
                    id,
                    title: crate::conversations::title_from(&message.text),
                });
                id
            }
        };
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
                let open = self.conversation.as_ref().map(|c| c.id.to_string());
                let items = list
                    .iter()
                    .map(|m| PickerItem {
                        key: m.id.to_string(),
                        label: if m.title.is_empty() {
                            "(untitled)".into()
                        } else {
                            m.title.clone()
                        },
                        detail: format!("{} messages · {}", m.messages, m.profile),
                    })
                    .collect();
                // Only when the user asked for it (an open conversations picker), or to refresh it.
                if matches!(&self.picker, Some(p) if p.kind == PickerKind::Conversation)
                    || self.conversations_requested
                {
                    self.conversations_requested = false;
                    self.open_picker(Picker::new(
                        PickerKind::Conversation,
                        items,
                        open.as_deref(),
                    ));
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
        if self.running.take().is_some() {
            effects.push(Effect::Cancel);
        }
        self.messages = stored
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
        self.chat_scroll = ScrollState::default();
        let system = stored
            .iter()
            .find(|m| m.role == StoredRole::User)
            .and_then(|m| m.system.clone());
        self.set_status(
            format!("conversation: {} ({} messages)", meta.title, stored.len()),
            now,
        );
        self.models.record_all(meta.id, &stored);
        self.conversation = Some(OpenConversation {
            id: meta.id,
            title: meta.title,
        });
        let dialogue = self.dialogue(&crate::config::templates::PromptVars {
            system: system.clone().unwrap_or_default(),
            profile: self.profiles.active.clone(),
            model: self.model_name(),
            ..Default::default()
        });
        effects.push(Effect::RestoreConversation {
            turns: turns(&stored),
            system,
            dialogue,
        });
        effects
    }

    pub(crate) fn open_conversations(&mut self, now: Instant) -> Vec<Effect> {
        self.conversations_requested = true;
        self.set_status("loading the conversations…", now);
        vec![Effect::ListConversations]
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

    /// A picker chose a conversation: load it (unless it is the one shown).
    pub(crate) fn open_conversation(&mut self, id: u64) -> Vec<Effect> {
        if self.conversation.as_ref().is_some_and(|c| c.id == id) {
            return vec![];
        }
        vec![Effect::LoadConversation(id)]
    }

    /// A picker asked twice to delete a stored conversation.
    pub(crate) fn delete_conversation(
        &mut self,
        id: u64,
        label: &str,
        now: Instant,
    ) -> Vec<Effect> {
        if self.conversation.as_ref().is_some_and(|c| c.id == id) {
            self.conversation = None;
        }
        self.set_status(format!("deleted “{label}”"), now);
        vec![Effect::DeleteConversation(id)]
    }

    /// A rename prompt was accepted.
    pub(crate) fn rename_conversation(&mut self, id: u64, title: String) -> Vec<Effect> {
        if let Some(c) = self.conversation.as_mut().filter(|c| c.id == id) {
            c.title = title.clone();
        }
        self.conversations_requested = true;
        vec![Effect::RenameConversation { id, title }]
    }
}
