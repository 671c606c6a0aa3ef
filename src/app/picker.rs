//! A fuzzy picker overlay (profiles, templates, conversations): type to filter, Up/Down to move,
//! Enter to choose. Matching is nucleo's (helix's matcher), so it ranks like an editor's picker.
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::action::{Action, Focus};
use super::outcome::{Ctx, Outcome, Request};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the picker chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerKind {
    Profile,
    Template,
    Conversation,
    /// A name for "save the current settings as a new profile" (the query is the answer).
    SaveProfileAs,
    /// A new title for the selected conversation (the query is the answer).
    RenameConversation,
    /// The model to switch to.
    Model,
}

impl PickerKind {
    pub fn title(self) -> &'static str {
        match self {
            PickerKind::Profile => "Profiles",
            PickerKind::Template => "Prompt templates",
            PickerKind::Conversation => "Conversations",
            PickerKind::SaveProfileAs => "Save the settings as a new profile: name",
            PickerKind::RenameConversation => "Rename the conversation",
            PickerKind::Model => "Models (loads in the background)",
        }
    }

    /// A picker that only asks for a line of text.
    pub fn is_prompt(self) -> bool {
        matches!(
            self,
            PickerKind::SaveProfileAs | PickerKind::RenameConversation
        )
    }
}

/// One choice: the key it stands for, what is shown, and a dimmer detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerItem {
    pub key: String,
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub kind: PickerKind,
    pub query: String,
    pub items: Vec<PickerItem>,
    /// Indices into `items` that match the query, best first.
    pub shown: Vec<usize>,
    /// Index into `shown`.
    pub selected: usize,
    /// What the picker acts on (the conversation being renamed).
    pub target: Option<String>,
}

impl Picker {
    pub fn new(kind: PickerKind, items: Vec<PickerItem>, current: Option<&str>) -> Self {
        let mut p = Self {
            kind,
            query: String::new(),
            shown: (0..items.len()).collect(),
            items,
            selected: 0,
            target: None,
        };
        if let Some(cur) = current {
            p.selected = p.items.iter().position(|i| i.key == cur).unwrap_or(0);
        }
        p
    }

    /// A text prompt (no list) with `initial` text.
    pub fn prompt(kind: PickerKind, initial: &str, target: Option<String>) -> Self {
        Self {
            kind,
            query: initial.to_string(),
            items: Vec::new(),
            shown: Vec::new(),
            selected: 0,
            target,
        }
    }

    pub fn push(&mut self, c: char) {
        if self.query.len() < 256 && !c.is_control() {
            self.query.push(c);
            self.refilter();
        }
    }

    pub fn backspace(&mut self) {
        self.query.pop();
        self.refilter();
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.shown.len();
        if n > 0 {
            self.selected = (self.selected as isize + delta).rem_euclid(n as isize) as usize;
        }
    }

    /// The highlighted item.
    pub fn current(&self) -> Option<&PickerItem> {
        self.shown.get(self.selected).map(|&i| &self.items[i])
    }

    /// A key while the picker is open: its named actions, else typing into its query.
    pub fn handle_key(&mut self, key: &KeyEvent, ctx: &Ctx) -> Outcome {
        if let Some(action) = ctx.keymap.lookup(Focus::Picker.contexts(), key) {
            return self.handle(action, ctx);
        }
        match key.code {
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                self.push(c)
            }
            KeyCode::Backspace => self.backspace(),
            _ => {}
        }
        Outcome::default()
    }

    /// The picker's actions: move, close, choose; delete and rename in the conversations list.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        match action {
            Action::PickerUp => self.move_by(-1),
            Action::PickerDown => self.move_by(1),
            Action::PickerClose => return Outcome::close(),
            Action::PickerAccept => return self.accept(),
            Action::PickerDelete if self.kind == PickerKind::Conversation => {
                let Some(item) = self.current().cloned() else {
                    return Outcome::default();
                };
                // Twice in a row: a conversation is not deleted by one stray key.
                if self.target.as_deref() == Some(item.key.as_str()) {
                    self.target = None;
                    let Ok(id) = item.key.parse::<u64>() else {
                        return Outcome::default();
                    };
                    return Outcome {
                        request: Some(Request::DeleteConversation {
                            id,
                            label: item.label,
                        }),
                        ..Outcome::default()
                    };
                }
                self.target = Some(item.key);
                let again = ctx
                    .keymap
                    .hint(Focus::Picker.contexts(), Action::PickerDelete);
                return Outcome::status(format!("{again} again deletes “{}”", item.label));
            }
            Action::PickerRename if self.kind == PickerKind::Conversation => {
                if let Some(item) = self.current().cloned() {
                    *self =
                        Picker::prompt(PickerKind::RenameConversation, &item.label, Some(item.key));
                }
            }
            _ => {}
        }
        Outcome::default()
    }

    /// Enter: the picker closes and asks for what was chosen.
    fn accept(&mut self) -> Outcome {
        let chosen = self.current().map(|i| i.key.clone());
        let request = match self.kind {
            PickerKind::Profile => chosen.map(Request::UseProfile),
            PickerKind::Template => chosen.map(Request::UseTemplate),
            PickerKind::Conversation => chosen
                .and_then(|k| k.parse::<u64>().ok())
                .map(Request::OpenConversation),
            PickerKind::SaveProfileAs => Some(Request::SaveProfileAs(self.query.clone())),
            PickerKind::Model => chosen.map(Request::SwitchModel),
            PickerKind::RenameConversation => {
                let Some(id) = self.target.as_ref().and_then(|k| k.parse::<u64>().ok()) else {
                    return Outcome::close();
                };
                let title = self.query.trim().to_string();
                if title.is_empty() {
                    return Outcome {
                        status: Some("a title cannot be empty".into()),
                        ..Outcome::close()
                    };
                }
                Some(Request::RenameConversation { id, title })
            }
        };
        match request {
            Some(r) => Outcome::close_with(r),
            None => Outcome::close(),
        }
    }

    fn refilter(&mut self) {
        if self.kind.is_prompt() {
            return;
        }
        self.shown = fuzzy_filter(&self.query, &self.items);
        self.selected = 0;
    }
}

/// Indices of the items matching `query` (label and detail), best first; all of them, in order,
/// for an empty query.
pub fn fuzzy_filter(query: &str, items: &[PickerItem]) -> Vec<usize> {
    if query.trim().is_empty() {
        return (0..items.len()).collect();
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let hay = format!("{} {}", item.label, item.detail);
            pattern
                .score(Utf32Str::new(&hay, &mut buf), &mut matcher)
                .map(|s| (s, i))
        })
        .collect();
    // Best score first; ties keep the list's order.
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(names: &[&str]) -> Vec<PickerItem> {
        names
            .iter()
            .map(|n| PickerItem {
                key: n.to_string(),
                label: n.to_string(),
                detail: String::new(),
            })
            .collect()
    }

    #[test]
    fn fuzzy_ranks_and_filters() {
        let list = items(&[
            "speed", "balanced", "quality", "creative", "precise", "coding",
        ]);
        let shown = fuzzy_filter("cdg", &list);
        assert_eq!(shown, vec![5]);
        let shown = fuzzy_filter("pre", &list);
        assert_eq!(shown.first(), Some(&4));
        assert_eq!(fuzzy_filter("", &list).len(), 6);
        assert!(fuzzy_filter("zzz", &list).is_empty());
    }

    #[test]
    fn typing_moving_and_choosing() {
        let mut p = Picker::new(
            PickerKind::Profile,
            items(&["speed", "balanced", "coding"]),
            Some("balanced"),
        );
        assert_eq!(p.current().unwrap().key, "balanced");
        p.move_by(2);
        assert_eq!(p.current().unwrap().key, "speed", "wraps around");
        for c in "cod".chars() {
            p.push(c);
        }
        assert_eq!(p.current().unwrap().key, "coding");
        p.push('x');
        assert!(p.current().is_none());
        p.backspace();
        assert_eq!(p.current().unwrap().key, "coding");
    }

    #[test]
    fn the_picker_handles_its_own_keys_and_asks_for_what_it_chose() {
        use crate::app::outcome::{Ctx, Outcome, Request};
        use crate::app::Keymap;
        let keymap = Keymap::default();
        let ctx = Ctx {
            keymap: &keymap,
            focus: Focus::Picker,
            open: true,
            input: "",
            active_profile: "balanced",
            generating: false,
            engine_idle: true,
            model_loaded: true,
            bench_running: false,
        };
        let mut p = Picker::new(PickerKind::Profile, items(&["speed", "coding"]), None);
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(p.handle_key(&key('c'), &ctx), Outcome::default());
        assert_eq!(p.query, "c");
        assert_eq!(
            p.handle(Action::PickerAccept, &ctx),
            Outcome::close_with(Request::UseProfile("coding".into()))
        );
        assert_eq!(p.handle(Action::PickerClose, &ctx), Outcome::close());
        let mut c = Picker::new(PickerKind::Conversation, items(&["7"]), None);
        let first = c.handle(Action::PickerDelete, &ctx);
        assert!(
            first.status.is_some() && first.request.is_none(),
            "{first:?}"
        );
        let second = c.handle(Action::PickerDelete, &ctx);
        assert_eq!(
            second.request,
            Some(Request::DeleteConversation {
                id: 7,
                label: "7".into()
            })
        );
        c.handle(Action::PickerRename, &ctx);
        assert_eq!(c.kind, PickerKind::RenameConversation);
    }
}
