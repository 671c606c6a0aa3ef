//! The keymap's vocabulary (the [`Action`]s a key can name, the [`KeyContext`]s it applies in, key
//! chords) and the [`Keymap`] that keymap.toml parses into ([`file`]). The dashboard looks keys up
//! in it; the help overlay and every key hint on screen are generated from it.
pub mod file;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

pub use file::{load_keymap, parse_key, parse_keymap, DEFAULT_KEYMAP};

/// Where a binding applies (a table of keymap.toml).
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
    /// The server pane.
    Server,
}

/// Every context once: (context, table name in keymap.toml, heading in the help overlay), in the
/// order the help overlay lists them.
const CONTEXTS: [(KeyContext, &str, &str); 10] = [
    (KeyContext::Global, "global", "Anywhere"),
    (KeyContext::Input, "input", "Input"),
    (KeyContext::Panes, "panes", "Chat & log panes"),
    (KeyContext::Chat, "chat", "Chat pane"),
    (KeyContext::Sampler, "sampler", "Sampler pane"),
    (KeyContext::Inspector, "inspector", "Sampler inspector"),
    (KeyContext::Picker, "picker", "Pickers"),
    (KeyContext::Bench, "bench", "Bench pane"),
    (KeyContext::Ab, "ab", "A/B panes"),
    (KeyContext::Server, "server", "Server pane"),
];

impl KeyContext {
    /// All contexts, in the order the help overlay lists them.
    pub const ALL: [KeyContext; 10] = {
        let mut out = [KeyContext::Global; 10];
        let mut i = 0;
        while i < CONTEXTS.len() {
            out[i] = CONTEXTS[i].0;
            i += 1;
        }
        out
    };

    fn entry(self) -> &'static (KeyContext, &'static str, &'static str) {
        CONTEXTS
            .iter()
            .find(|c| c.0 == self)
            .expect("every context is in CONTEXTS")
    }

    /// The table name in keymap.toml.
    pub fn id(self) -> &'static str {
        self.entry().1
    }

    /// The heading in the help overlay.
    pub fn name(self) -> &'static str {
        self.entry().2
    }
}

/// Everything a key can do. Each one's name (in keymap.toml) and description (in the help
/// overlay) are in [`ACTIONS`], the one table of actions.
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
    ToggleServer,
    ServerStartStop,
    ToggleRagNextMessage,
}

/// `Variant: "name", "description";` lines into the one table of actions.
macro_rules! action_table {
    ($( $variant:ident $(($arg:literal))? : $name:literal, $desc:literal; )*) => {
        /// Every action once, in the help overlay's order: (action, name in keymap.toml,
        /// one line for the help overlay).
        pub const ACTIONS: &[(Action, &str, &str)] = &[
            $( (Action::$variant $(($arg))?, $name, $desc), )*
        ];
    };
}

action_table! {
    Send: "send", "Send the message";
    NewLine: "new_line", "Insert a new line";
    CancelGeneration: "cancel_generation", "Stop the reply being generated";
    Quit: "quit", "Quit";
    ForceQuitArm: "force_quit", "Quit (press twice; the first also stops a reply)";
    ToggleHelp: "toggle_help", "Show or hide this help";
    FocusNext: "focus_next", "Focus the next pane";
    FocusPrev: "focus_prev", "Focus the previous pane";
    ScrollUp: "scroll_up", "Scroll up one line";
    ScrollDown: "scroll_down", "Scroll down one line";
    PageUp: "page_up", "Scroll up one page";
    PageDown: "page_down", "Scroll down one page";
    ScrollToTop: "scroll_to_top", "Scroll to the top";
    ScrollToBottom: "scroll_to_bottom", "Scroll to the bottom (follow new text)";
    ClearConversation: "clear_conversation", "New conversation (clears the chat)";
    ToggleLog: "toggle_log", "Show or hide the log pane";
    ToggleSampler: "toggle_sampler", "Show the sampler pane and focus it, or hide it";
    SamplerPrev: "sampler_prev", "Select the previous sampler parameter";
    SamplerNext: "sampler_next", "Select the next sampler parameter";
    SamplerIncrease: "sampler_increase", "Increase it (applies from the next token)";
    SamplerDecrease: "sampler_decrease", "Decrease it (applies from the next token)";
    SamplerDefaults: "sampler_defaults", "Reset the sampler to llama.cpp's defaults";
    ToggleInspector: "toggle_inspector", "Open or close the sampler inspector";
    InspectPrevToken: "inspect_prev_token", "Inspect the previous token";
    InspectNextToken: "inspect_next_token", "Inspect the next token";
    InspectPrevReply: "inspect_prev_reply", "Inspect the previous reply";
    InspectNextReply: "inspect_next_reply", "Inspect the next reply";
    InspectFirstToken: "inspect_first_token", "Inspect the reply's first token";
    InspectLastToken: "inspect_last_token", "Inspect the latest token (follow)";
    UseProfile(1): "profile_1", "Use the speed profile";
    UseProfile(2): "profile_2", "Use the balanced profile";
    UseProfile(3): "profile_3", "Use the quality profile";
    UseProfile(4): "profile_4", "Use the creative profile";
    UseProfile(5): "profile_5", "Use the precise profile";
    UseProfile(6): "profile_6", "Use the coding profile";
    OpenProfilePicker: "pick_profile", "Pick a profile (all of them, fuzzy)";
    OpenTemplatePicker: "pick_template", "Pick the prompt template";
    SaveProfileAs: "save_profile_as", "Save these settings as a new profile";
    OpenConversations: "conversations", "Conversations: switch, rename, delete";
    OpenModelPicker: "pick_model", "Switch the model (loads while the current one answers)";
    PickerUp: "picker_up", "Move up";
    PickerDown: "picker_down", "Move down";
    PickerAccept: "picker_accept", "Choose";
    PickerClose: "picker_close", "Close";
    PickerDelete: "picker_delete", "Delete the conversation (press twice)";
    PickerRename: "picker_rename", "Rename the conversation";
    ToggleBench: "toggle_bench", "Open or close the bench pane";
    BenchPrevSuite: "bench_prev_suite", "Select the previous suite";
    BenchNextSuite: "bench_next_suite", "Select the next suite";
    BenchStart: "bench_start", "Run the selected suite (stored in the history)";
    BenchCancel: "bench_cancel", "Cancel the running suite";
    BenchToggleView: "bench_toggle_view", "Switch between the charts and the comparison";
    BenchPinBaseline: "bench_pin_baseline", "Pin the latest run as its suite's baseline";
    ToggleAb: "toggle_ab", "Open or close the A/B panes";
    AbPrevA: "ab_prev_a", "Side A: the previous profile or model";
    AbNextA: "ab_next_a", "Side A: the next profile or model";
    AbPrevB: "ab_prev_b", "Side B: the previous profile or model";
    AbNextB: "ab_next_b", "Side B: the next profile or model";
    AbStart: "ab_start", "Stream the input's prompt on both sides";
    AbCancel: "ab_cancel", "Stop both replies";
    ToggleRagPane: "toggle_rag_pane", "Show or hide the RAG pane (the last prompt's memories)";
    ToggleRagNextMessage: "toggle_rag_next_message", "RAG off (or on again) for the next message";
    ToggleServer: "toggle_server", "Open or close the server pane (its slots, requests and remote nodes)";
    ServerStartStop: "server_start_stop", "Start or stop the OpenAI-compatible server on the loaded model";
}

impl Action {
    /// All actions, in [`ACTIONS`] order.
    pub const ALL: [Action; ACTIONS.len()] = {
        let mut out = [Action::Send; ACTIONS.len()];
        let mut i = 0;
        while i < ACTIONS.len() {
            out[i] = ACTIONS[i].0;
            i += 1;
        }
        out
    };

    fn entry(self) -> Option<&'static (Action, &'static str, &'static str)> {
        ACTIONS.iter().find(|a| a.0 == self)
    }

    /// The action's name in keymap.toml ("" for one not in [`ACTIONS`], such as `UseProfile(9)`).
    pub fn name(self) -> &'static str {
        self.entry().map_or("", |a| a.1)
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        self.entry().map_or("", |a| a.2)
    }

    /// The action keymap.toml calls `name`.
    pub fn from_name(name: &str) -> Option<Action> {
        ACTIONS.iter().find(|a| a.1 == name).map(|a| a.0)
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

    /// The label, with arrows for the arrow keys ("↑", "Ctrl-←"): for hints in pane borders.
    pub fn symbol(&self) -> String {
        let arrow = match self.code {
            KeyCode::Up => "↑",
            KeyCode::Down => "↓",
            KeyCode::Left => "←",
            KeyCode::Right => "→",
            _ => return self.label(),
        };
        let label = self.label();
        let name = match self.code {
            KeyCode::Up => "Up",
            KeyCode::Down => "Down",
            KeyCode::Left => "Left",
            _ => "Right",
        };
        format!("{}{arrow}", label.strip_suffix(name).unwrap_or_default())
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

/// Maps (context, key) to an [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Default for Keymap {
    /// The embedded `config/keymap.toml` (tested to parse).
    fn default() -> Self {
        file::parse_keymap("keymap.toml", None).expect("embedded keymap.toml")
    }
}

impl Keymap {
    pub fn new(bindings: Vec<Binding>) -> Self {
        Self { bindings }
    }

    /// The action for `key` in the first of `contexts` (the ones in force, most specific first)
    /// that binds it; `None` for key releases and unbound keys.
    pub fn lookup(&self, contexts: &[KeyContext], key: &KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let chord = KeyChord::from_event(key);
        contexts.iter().find_map(|&ctx| {
            self.bindings
                .iter()
                .find(|b| b.key == chord && b.context == ctx)
                .map(|b| b.action)
        })
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

    /// The on-screen hint for `action` where `contexts` are in force (the most specific first):
    /// the symbol of its first key in the first context that binds it, or "unbound". Every key
    /// hint on screen comes from here, so a keymap.toml rebind shows.
    pub fn hint(&self, contexts: &[KeyContext], action: Action) -> String {
        contexts
            .iter()
            .find_map(|&ctx| {
                self.bindings
                    .iter()
                    .find(|b| b.context == ctx && b.action == action)
            })
            .map_or_else(|| "unbound".into(), |b| b.key.symbol())
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
    fn the_action_table_has_each_action_and_name_once() {
        for (i, (a, name, desc)) in ACTIONS.iter().enumerate() {
            assert!(!desc.is_empty() && !name.is_empty());
            assert_eq!(Action::from_name(name), Some(*a), "{name}");
            assert!(
                ACTIONS[..i].iter().all(|b| b.0 != *a && b.1 != *name),
                "{name} twice"
            );
        }
        for ctx in KeyContext::ALL {
            assert!(!ctx.id().is_empty() && !ctx.name().is_empty());
        }
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
        assert_eq!(KeyChord::plain(KeyCode::Up).symbol(), "↑");
        assert_eq!(
            KeyChord::new(KeyCode::Left, KeyModifiers::CONTROL).symbol(),
            "Ctrl-←"
        );
        let km = Keymap::default();
        let bench = [KeyContext::Bench, KeyContext::Global];
        assert_eq!(km.hint(&bench, Action::ToggleBench), "Esc");
        assert_eq!(km.hint(&[KeyContext::Global], Action::ToggleBench), "F4");
        assert_eq!(km.hint(&[KeyContext::Global], Action::Send), "unbound");
    }

    #[test]
    fn releases_are_ignored() {
        let km = Keymap::default();
        let mut k = key(KeyCode::Enter, KeyModifiers::NONE);
        k.kind = KeyEventKind::Release;
        assert_eq!(km.lookup(&[KeyContext::Input], &k), None);
    }
}
