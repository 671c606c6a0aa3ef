//! Named actions and the keymap that turns key presses into them.
//!
//! The help overlay is generated from [`Keymap::bindings`], so a binding added here documents itself.
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Which pane has keyboard focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Focus {
    #[default]
    Input,
    Chat,
    Log,
    /// The sampler pane (F2).
    Sampler,
    /// The sampler inspector overlay (F3), modal while open.
    Inspector,
    /// A picker overlay (profiles, templates, conversations), modal while open.
    Picker,
    /// The bench pane (F4), modal while open.
    Bench,
    /// The A/B panes (F5), modal while open.
    Ab,
}

impl Focus {
    pub fn name(self) -> &'static str {
        match self {
            Focus::Input => "input",
            Focus::Chat => "chat",
            Focus::Log => "log",
            Focus::Sampler => "sampler",
            Focus::Inspector => "inspector",
            Focus::Picker => "picker",
            Focus::Bench => "bench",
            Focus::Ab => "a/b",
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyContext {
    /// Whatever has focus.
    Global,
    /// The message input.
    Input,
    /// The chat or the log pane.
    Panes,
    /// The chat pane only.
    Chat,
    /// The sampler pane.
    Sampler,
    /// The sampler inspector.
    Inspector,
    /// A picker overlay.
    Picker,
    /// The bench pane.
    Bench,
    /// The A/B panes.
    Ab,
}

impl KeyContext {
    /// All contexts, in the order the help overlay lists them.
    pub const ALL: [KeyContext; 9] = [
        KeyContext::Global,
        KeyContext::Input,
        KeyContext::Panes,
        KeyContext::Chat,
        KeyContext::Sampler,
        KeyContext::Inspector,
        KeyContext::Picker,
        KeyContext::Bench,
        KeyContext::Ab,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyContext::Global => "Anywhere",
            KeyContext::Input => "Input",
            KeyContext::Panes => "Chat & log panes",
            KeyContext::Chat => "Chat pane",
            KeyContext::Sampler => "Sampler pane",
            KeyContext::Inspector => "Sampler inspector",
            KeyContext::Picker => "Pickers",
            KeyContext::Bench => "Bench pane",
            KeyContext::Ab => "A/B panes",
        }
    }

    /// Whether a binding in this context applies when `focus` has focus.
    pub fn applies_to(self, focus: Focus) -> bool {
        match self {
            KeyContext::Global => true,
            KeyContext::Input => focus == Focus::Input,
            KeyContext::Panes => matches!(focus, Focus::Chat | Focus::Log),
            KeyContext::Chat => focus == Focus::Chat,
            KeyContext::Sampler => focus == Focus::Sampler,
            KeyContext::Inspector => focus == Focus::Inspector,
            KeyContext::Picker => focus == Focus::Picker,
            KeyContext::Bench => focus == Focus::Bench,
            KeyContext::Ab => focus == Focus::Ab,
        }
    }

    /// Lookup order: the most specific context wins.
    fn specificity(self) -> u8 {
        match self {
            KeyContext::Chat
            | KeyContext::Sampler
            | KeyContext::Inspector
            | KeyContext::Picker
            | KeyContext::Bench
            | KeyContext::Ab => 0,
            KeyContext::Input => 1,
            KeyContext::Panes => 2,
            KeyContext::Global => 3,
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Send,
    NewLine,
    CancelGeneration,
    Quit,
    ForceQuitArm,
    ToggleHelp,
    FocusNext,
    FocusPrev,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    ScrollToTop,
    ScrollToBottom,
    ClearConversation,
    ToggleLog,
    ToggleSampler,
    SamplerPrev,
    SamplerNext,
    SamplerIncrease,
    SamplerDecrease,
    SamplerDefaults,
    ToggleInspector,
    InspectPrevToken,
    InspectNextToken,
    InspectPrevReply,
    InspectNextReply,
    InspectFirstToken,
    InspectLastToken,
    /// The n-th built-in profile (1-based, in `BUILTIN_PROFILES` order).
    UseProfile(u8),
    OpenProfilePicker,
    OpenTemplatePicker,
    SaveProfileAs,
    OpenConversations,
    OpenModelPicker,
    PickerUp,
    PickerDown,
    PickerAccept,
    PickerClose,
    PickerDelete,
    PickerRename,
    ToggleBench,
    BenchPrevSuite,
    BenchNextSuite,
    BenchStart,
    BenchCancel,
    BenchToggleView,
    BenchPinBaseline,
    ToggleAb,
    AbPrevA,
    AbNextA,
    AbPrevB,
    AbNextB,
    AbStart,
    AbCancel,
    ToggleRagPane,
    ToggleRagNextMessage,
}

impl Action {
    pub const ALL: [Action; 62] = [
        Action::Send,
        Action::NewLine,
        Action::CancelGeneration,
        Action::Quit,
        Action::ForceQuitArm,
        Action::ToggleHelp,
        Action::FocusNext,
        Action::FocusPrev,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::PageUp,
        Action::PageDown,
        Action::ScrollToTop,
        Action::ScrollToBottom,
        Action::ClearConversation,
        Action::ToggleLog,
        Action::ToggleSampler,
        Action::SamplerPrev,
        Action::SamplerNext,
        Action::SamplerIncrease,
        Action::SamplerDecrease,
        Action::SamplerDefaults,
        Action::ToggleInspector,
        Action::InspectPrevToken,
        Action::InspectNextToken,
        Action::InspectPrevReply,
        Action::InspectNextReply,
        Action::InspectFirstToken,
        Action::InspectLastToken,
        Action::UseProfile(1),
        Action::UseProfile(2),
        Action::UseProfile(3),
        Action::UseProfile(4),
        Action::UseProfile(5),
        Action::UseProfile(6),
        Action::OpenProfilePicker,
        Action::OpenTemplatePicker,
        Action::SaveProfileAs,
        Action::OpenConversations,
        Action::OpenModelPicker,
        Action::PickerUp,
        Action::PickerDown,
        Action::PickerAccept,
        Action::PickerClose,
        Action::PickerDelete,
        Action::PickerRename,
        Action::ToggleBench,
        Action::BenchPrevSuite,
        Action::BenchNextSuite,
        Action::BenchStart,
        Action::BenchCancel,
        Action::BenchToggleView,
        Action::BenchPinBaseline,
        Action::ToggleAb,
        Action::AbPrevA,
        Action::AbNextA,
        Action::AbPrevB,
        Action::AbNextB,
        Action::AbStart,
        Action::AbCancel,
        Action::ToggleRagPane,
        Action::ToggleRagNextMessage,
    ];

    /// A stable identifier (for a future keymap.toml).
    pub fn name(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::NewLine => "new_line",
            Action::CancelGeneration => "cancel_generation",
            Action::Quit => "quit",
            Action::ForceQuitArm => "force_quit",
            Action::ToggleHelp => "toggle_help",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::ScrollToTop => "scroll_to_top",
            Action::ScrollToBottom => "scroll_to_bottom",
            Action::ClearConversation => "clear_conversation",
            Action::ToggleLog => "toggle_log",
            Action::ToggleSampler => "toggle_sampler",
            Action::SamplerPrev => "sampler_prev",
            Action::SamplerNext => "sampler_next",
            Action::SamplerIncrease => "sampler_increase",
            Action::SamplerDecrease => "sampler_decrease",
            Action::SamplerDefaults => "sampler_defaults",
            Action::ToggleInspector => "toggle_inspector",
            Action::InspectPrevToken => "inspect_prev_token",
            Action::InspectNextToken => "inspect_next_token",
            Action::InspectPrevReply => "inspect_prev_reply",
            Action::InspectNextReply => "inspect_next_reply",
            Action::InspectFirstToken => "inspect_first_token",
            Action::InspectLastToken => "inspect_last_token",
            Action::UseProfile(1) => "profile_1",
            Action::UseProfile(2) => "profile_2",
            Action::UseProfile(3) => "profile_3",
            Action::UseProfile(4) => "profile_4",
            Action::UseProfile(5) => "profile_5",
            Action::UseProfile(_) => "profile_6",
            Action::OpenProfilePicker => "pick_profile",
            Action::OpenTemplatePicker => "pick_template",
            Action::SaveProfileAs => "save_profile_as",
            Action::OpenConversations => "conversations",
            Action::OpenModelPicker => "pick_model",
            Action::PickerUp => "picker_up",
            Action::PickerDown => "picker_down",
            Action::PickerAccept => "picker_accept",
            Action::PickerClose => "picker_close",
            Action::PickerDelete => "picker_delete",
            Action::PickerRename => "picker_rename",
            Action::ToggleBench => "toggle_bench",
            Action::BenchPrevSuite => "bench_prev_suite",
            Action::BenchNextSuite => "bench_next_suite",
            Action::BenchStart => "bench_start",
            Action::BenchCancel => "bench_cancel",
            Action::BenchToggleView => "bench_toggle_view",
            Action::BenchPinBaseline => "bench_pin_baseline",
            Action::ToggleAb => "toggle_ab",
            Action::AbPrevA => "ab_prev_a",
            Action::AbNextA => "ab_next_a",
            Action::AbPrevB => "ab_prev_b",
            Action::AbNextB => "ab_next_b",
            Action::AbStart => "ab_start",
            Action::AbCancel => "ab_cancel",
            Action::ToggleRagPane => "toggle_rag_pane",
            Action::ToggleRagNextMessage => "toggle_rag_next_message",
        }
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        match self {
            Action::Send => "Send the message",
            Action::NewLine => "Insert a new line",
            Action::CancelGeneration => "Stop the reply being generated",
            Action::Quit => "Quit",
            Action::ForceQuitArm => "Quit (press twice; the first also stops a reply)",
            Action::ToggleHelp => "Show or hide this help",
            Action::FocusNext => "Focus the next pane",
            Action::FocusPrev => "Focus the previous pane",
            Action::ScrollUp => "Scroll up one line",
            Action::ScrollDown => "Scroll down one line",
            Action::PageUp => "Scroll up one page",
            Action::PageDown => "Scroll down one page",
            Action::ScrollToTop => "Scroll to the top",
            Action::ScrollToBottom => "Scroll to the bottom (follow new text)",
            Action::ClearConversation => "New conversation (clears the chat)",
            Action::ToggleLog => "Show or hide the log pane",
            Action::ToggleSampler => "Show the sampler pane and focus it, or hide it",
            Action::SamplerPrev => "Select the previous sampler parameter",
            Action::SamplerNext => "Select the next sampler parameter",
            Action::SamplerIncrease => "Increase it (applies from the next token)",
            Action::SamplerDecrease => "Decrease it (applies from the next token)",
            Action::SamplerDefaults => "Reset the sampler to llama.cpp's defaults",
            Action::ToggleInspector => "Open or close the sampler inspector",
            Action::InspectPrevToken => "Inspect the previous token",
            Action::InspectNextToken => "Inspect the next token",
            Action::InspectPrevReply => "Inspect the previous reply",
            Action::InspectNextReply => "Inspect the next reply",
            Action::InspectFirstToken => "Inspect the reply's first token",
            Action::InspectLastToken => "Inspect the latest token (follow)",
            Action::UseProfile(1) => "Use the speed profile",
            Action::UseProfile(2) => "Use the balanced profile",
            Action::UseProfile(3) => "Use the quality profile",
            Action::UseProfile(4) => "Use the creative profile",
            Action::UseProfile(5) => "Use the precise profile",
            Action::UseProfile(_) => "Use the coding profile",
            Action::OpenProfilePicker => "Pick a profile (all of them, fuzzy)",
            Action::OpenTemplatePicker => "Pick the prompt template",
            Action::SaveProfileAs => "Save these settings as a new profile",
            Action::OpenConversations => "Conversations: switch, rename, delete",
            Action::OpenModelPicker => "Switch the model (loads while the current one answers)",
            Action::PickerUp => "Move up",
            Action::PickerDown => "Move down",
            Action::PickerAccept => "Choose",
            Action::PickerClose => "Close",
            Action::PickerDelete => "Delete the conversation (press twice)",
            Action::PickerRename => "Rename the conversation",
            Action::ToggleBench => "Open or close the bench pane",
            Action::BenchPrevSuite => "Select the previous suite",
            Action::BenchNextSuite => "Select the next suite",
            Action::BenchStart => "Run the selected suite (stored in the history)",
            Action::BenchCancel => "Cancel the running suite",
            Action::BenchToggleView => "Switch between the charts and the comparison",
            Action::BenchPinBaseline => "Pin the latest run as its suite's baseline",
            Action::ToggleAb => "Open or close the A/B panes",
            Action::AbPrevA => "Side A: the previous profile or model",
            Action::AbNextA => "Side A: the next profile or model",
            Action::AbPrevB => "Side B: the previous profile or model",
            Action::AbNextB => "Side B: the next profile or model",
            Action::AbStart => "Stream the input's prompt on both sides",
            Action::AbCancel => "Stop both replies",
            Action::ToggleRagPane => "Show or hide the RAG pane (the last prompt's memories)",
            Action::ToggleRagNextMessage => "RAG off (or on again) for the next message",
        }
    }
}

/// A key press with the modifiers that matter, normalised so that terminals agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub const fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        Self { code, modifiers }
    }

    pub const fn plain(code: KeyCode) -> Self {
        Self::new(code, KeyModifiers::NONE)
    }

    /// Normalise a crossterm event: only Ctrl/Alt/Shift count; Shift is implied by the character of a
    /// `Char` key (`?` arrives with or without SHIFT depending on the terminal) and by `BackTab`;
    /// Ctrl+letter is case-insensitive.
    pub fn from_event(key: &KeyEvent) -> Self {
        let mut modifiers =
            key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match key.code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                if modifiers.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Self { code, modifiers }
    }

    /// A label such as "Ctrl-C", "Alt-Enter", "Shift-Tab", "PgUp", "?".
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            out.push_str("Shift-");
        }
        let key = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                c.to_ascii_uppercase().to_string()
            }
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        out.push_str(&key);
        out
    }
}

/// One entry of the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub context: KeyContext,
    pub key: KeyChord,
    pub action: Action,
}

/// Maps (focus, key) to an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    /// The embedded `config/keymap.toml` (tested to parse).
    fn default() -> Self {
        super::keymap_file::parse_keymap("keymap.toml", None).expect("embedded keymap.toml")
    }
}

impl Keymap {
    pub fn new(bindings: Vec<Binding>) -> Self {
        Self { bindings }
    }

    /// The action for `key` when `focus` has focus; `None` for key releases and unbound keys.
    pub fn lookup(&self, focus: Focus, key: &KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let chord = KeyChord::from_event(key);
        self.bindings
            .iter()
            .filter(|b| b.key == chord && b.context.applies_to(focus))
            .min_by_key(|b| b.context.specificity())
            .map(|b| b.action)
    }

    pub fn raw_bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// (context, key label, action) for every binding, grouped by context in [`KeyContext::ALL`] order.
    pub fn bindings(&self) -> Vec<(KeyContext, String, Action)> {
        KeyContext::ALL
            .iter()
            .flat_map(|&ctx| {
                self.bindings
                    .iter()
                    .filter(move |b| b.context == ctx)
                    .map(|b| (b.context, b.key.label(), b.action))
            })
            .collect()
    }

    /// The first key label bound to `action` (for hints such as "Esc cancels").
    pub fn label_for(&self, action: Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn every_action_is_bound_and_described() {
        let km = Keymap::default();
        for a in Action::ALL {
            assert!(km.label_for(a).is_some(), "{} unbound", a.name());
            assert!(!a.description().is_empty());
        }
    }

    #[test]
    fn lookup_respects_focus() {
        let km = Keymap::default();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Focus::Chat, &q), Some(Action::Quit));
        assert_eq!(km.lookup(Focus::Input, &q), None);
        assert_eq!(km.lookup(Focus::Log, &q), None);
        let help = key(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(km.lookup(Focus::Chat, &help), Some(Action::ToggleHelp));
        assert_eq!(km.lookup(Focus::Input, &help), None);
        let f1 = key(KeyCode::F(1), KeyModifiers::NONE);
        assert_eq!(km.lookup(Focus::Input, &f1), Some(Action::ToggleHelp));
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.lookup(Focus::Input, &enter), Some(Action::Send));
        let alt_enter = key(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(km.lookup(Focus::Input, &alt_enter), Some(Action::NewLine));
        let ctrl_c = key(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(km.lookup(Focus::Log, &ctrl_c), Some(Action::ForceQuitArm));
        let backtab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(km.lookup(Focus::Chat, &backtab), Some(Action::FocusPrev));
    }

    #[test]
    fn labels() {
        assert_eq!(
            KeyChord::new(KeyCode::Char('c'), KeyModifiers::CONTROL).label(),
            "Ctrl-C"
        );
        assert_eq!(
            KeyChord::new(KeyCode::Enter, KeyModifiers::ALT).label(),
            "Alt-Enter"
        );
        assert_eq!(KeyChord::plain(KeyCode::PageUp).label(), "PgUp");
        assert_eq!(KeyChord::plain(KeyCode::BackTab).label(), "Shift-Tab");
    }

    #[test]
    fn releases_are_ignored() {
        let km = Keymap::default();
        let mut k = key(KeyCode::Enter, KeyModifiers::NONE);
        k.kind = KeyEventKind::Release;
        assert_eq!(km.lookup(Focus::Input, &k), None);
    }
}
