//! Conversations that persist, as a component: which one the chat shows, whether a list was asked
//! for, its key (open the list), what the list becomes (the conversations picker) and what choosing,
//! deleting and renaming one asks for. Committing each finished message and replacing the chat
//! with a stored one are the dashboard's (`handlers/conversation.rs`): they touch the chat.
use super::action::Action;
use super::effect::Effect;
use super::outcome::{Ctx, Outcome};
use super::picker::{Picker, PickerItem, PickerKind};
use crate::conversations::ConversationMeta;

/// The conversation the chat shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenConversation {
    pub id: u64,
    pub title: String,
}

/// The stored conversations as the dashboard sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversations {
    /// The stored conversation the chat shows (None until its first message is stored).
    pub open: Option<OpenConversation>,
    /// A conversation list was asked for (the picker opens when it arrives).
    pub requested: bool,
}

impl Conversations {
    /// The id of the conversation the chat shows.
    pub fn id(&self) -> Option<u64> {
        self.open.as_ref().map(|c| c.id)
    }

    /// The open conversation's id, opening one (`new_id`, titled from `first_text`) if none is.
    pub fn ensure_open(&mut self, new_id: impl FnOnce() -> u64, first_text: &str) -> u64 {
        if let Some(c) = &self.open {
            return c.id;
        }
        let id = new_id();
        self.open = Some(OpenConversation {
            id,
            title: crate::conversations::title_from(first_text),
        });
        id
    }

    /// The conversations key: ask for the list (the picker opens when it arrives).
    pub fn handle(&mut self, action: Action, _ctx: &Ctx) -> Outcome {
        if action != Action::OpenConversations {
            return Outcome::default();
        }
        self.requested = true;
        Outcome::status("loading the conversations…").and(Effect::ListConversations)
    }

    /// The list arrived: the picker to show, if the user asked for it or one shows it already.
    pub fn listed(&mut self, list: &[ConversationMeta], picker_shows_it: bool) -> Option<Picker> {
        if !(picker_shows_it || self.requested) {
            return None;
        }
        self.requested = false;
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
        let open = self.id().map(|id| id.to_string());
        Some(Picker::new(
            PickerKind::Conversation,
            items,
            open.as_deref(),
        ))
    }

    /// A conversation was chosen: load it (nothing if it is the one shown).
    pub fn choose(&self, id: u64) -> Outcome {
        if self.id() == Some(id) {
            return Outcome::default();
        }
        Outcome::effect(Effect::LoadConversation(id))
    }

    /// A conversation is to be deleted (the chat keeps its text, but no longer stores into it).
    pub fn delete(&mut self, id: u64, label: &str) -> Outcome {
        if self.id() == Some(id) {
            self.open = None;
        }
        Outcome::status(format!("deleted “{label}”")).and(Effect::DeleteConversation(id))
    }

    /// A conversation gets a new title (the list is refreshed when the store has it).
    pub fn rename(&mut self, id: u64, title: String) -> Outcome {
        if let Some(c) = self.open.as_mut().filter(|c| c.id == id) {
            c.title = title.clone();
        }
        self.requested = true;
        Outcome::effect(Effect::RenameConversation { id, title })
    }
}
