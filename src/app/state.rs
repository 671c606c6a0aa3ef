//! `AppState`: everything the dashboard shows, and `handle`, the pure state machine that folds events
//! into it and returns the effects the event loop must carry out.
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind};

use crate::actors::config::ConfigEvent;
use crate::actors::inference::ModelSummary;
use crate::config::theme::Theme;

use super::action::{Action, Focus, Keymap};
use super::chat::{Chat, EngineStatus};
use super::effect::Effect;
use super::events::AppEvent;
use super::input::Input;
use super::inspector::Inspector;
use super::layers::Layer;
use super::picker::Picker;
use super::profiles::Profiles;
pub use super::view::{MetricsHistory, ScrollState, METRICS_WINDOW_S};

/// Two Ctrl-C presses within this window quit.
pub const CTRL_C_WINDOW: Duration = Duration::from_secs(2);
/// How long a transient status message stays.
pub const STATUS_TTL: Duration = Duration::from_secs(5);
pub use super::log::LOG_CAPACITY;

/// A transient message in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMessage {
    pub text: String,
    pub expires: Instant,
}

/// Everything the dashboard shows. Panes only read it (plus scroll bookkeeping).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The chat pane: the messages, their scroll, the reply being produced.
    pub chat: Chat,
    /// The message input.
    pub input: Input,
    pub focus: Focus,
    pub engine: EngineStatus,
    pub model: Option<ModelSummary>,
    /// Tokens the conversation holds in the KV cache.
    pub context_used: usize,
    pub metrics: MetricsHistory,
    /// Time to first token of the last reply, ms.
    pub last_ttft_ms: Option<f64>,
    /// The log pane: its lines, whether it shows, its scroll position.
    pub log: super::log::LogPane,
    /// The key help overlay (F1).
    pub help: super::help::HelpOverlay,
    pub status: Option<StatusMessage>,
    pub should_quit: bool,
    pub ctrl_c_armed: Option<Instant>,
    pub keymap: Keymap,
    /// Wall-clock time (stored timestamps, conversation ids), derived from each event's `now`.
    pub clock: super::clock::WallClock,
    /// The colours the panes draw with (theme.toml; replaced on a config reload).
    pub theme: Theme,
    /// Terminal size from the last resize event (columns, rows).
    pub size: (u16, u16),
    /// The sampler form (F2): the parameters in effect, whether it shows, its selected row.
    pub sampler: super::sampler::SamplerForm,
    pub inspector: Inspector,
    /// The profiles and templates in use.
    pub profiles: Profiles,
    /// The overlays open, in stacking order ([`super::layers`]).
    pub layers: super::layers::LayerStack,
    /// The open picker overlay, if any (modal).
    pub picker: Option<Picker>,
    /// The stored conversations: the one the chat shows, a list asked for.
    pub conversations: super::conversation::Conversations,
    pub bench: super::bench::BenchPane,
    pub ab: super::ab::AbPane,
    /// The OpenAI-compatible server run beside the chat, and the nodes of a spread model.
    pub server: super::server::ServerPane,
    pub rag: super::rag::RagState,
    /// What the next reply must be (`/json`, `/regex`, `/plain`).
    pub output: super::output::OutputState,
    /// The model picker and a switch in the background.
    pub models: super::models::ModelsState,
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

impl AppState {
    /// A dashboard waiting for the model to load, with the default keymap.
    pub fn new() -> Self {
        Self::with_keymap(Keymap::default())
    }

    pub fn with_keymap(keymap: Keymap) -> Self {
        Self {
            chat: Chat::default(),
            input: Input::default(),
            focus: Focus::Input,
            engine: EngineStatus::Loading {
                fraction: 0.0,
                message: "starting".into(),
            },
            model: None,
            context_used: 0,
            metrics: MetricsHistory::default(),
            last_ttft_ms: None,
            log: Default::default(),
            help: Default::default(),
            status: None,
            should_quit: false,
            ctrl_c_armed: None,
            keymap,
            theme: Theme::default(),
            clock: Default::default(),
            size: (0, 0),
            sampler: Default::default(),
            inspector: Inspector {
                follow: true,
                ..Inspector::default()
            },
            profiles: Profiles::default(),
            layers: Default::default(),
            picker: None,
            conversations: Default::default(),
            bench: Default::default(),
            ab: Default::default(),
            server: Default::default(),
            rag: super::rag::RagState::default(),
            output: Default::default(),
            models: Default::default(),
        }
    }

    /// Fold one event into the state; returns what the event loop must do.
    pub fn handle(&mut self, event: AppEvent, now: Instant) -> Vec<Effect> {
        self.expire(now);
        self.fold(event, now)
    }

    fn fold(&mut self, event: AppEvent, now: Instant) -> Vec<Effect> {
        match event {
            AppEvent::Key(key) => self.on_key(key, now),
            AppEvent::Paste(text) => self.run(None, |s| &mut s.input, |i, _| i.paste(&text), now),
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            AppEvent::Engine(e) => {
                let finished = match &e {
                    crate::actors::inference::EngineEvent::Finished { request, .. } => {
                        Some(*request)
                    }
                    _ => None,
                };
                let mut effects = self.on_engine(e, now);
                if let Some(request) = finished {
                    effects.extend(self.rag_after_reply(request));
                }
                effects
            }
            AppEvent::Rag(e) => self.on_rag(e, now),
            AppEvent::Models(e) => self.on_models(e, now),
            AppEvent::Restarted(r) => self.on_restarted(r, now),
            AppEvent::Metrics(m) => {
                if let Some(ttft) = m.last_ttft_ms.filter(|v| v.is_finite() && *v > 0.0) {
                    self.last_ttft_ms = Some(ttft);
                }
                self.metrics.push(m);
                vec![]
            }
            AppEvent::Trace(t) => {
                self.inspector.push(t);
                vec![]
            }
            AppEvent::Config(ConfigEvent::Reloaded {
                config,
                templates,
                keymap,
                theme,
            }) => {
                self.keymap = (*keymap).clone();
                self.theme = theme;
                self.reload_config(config, templates, now)
            }
            AppEvent::ProfileSaved { name, result } => self.profile_saved(name, result, now),
            AppEvent::Conversations(event) => self.on_conversations(event, now),
            AppEvent::Config(ConfigEvent::Invalid(error)) => {
                self.set_status(
                    format!("config not applied, the last good one stays: {error}"),
                    now,
                );
                vec![]
            }
            AppEvent::Bench(event) => {
                if let Some(text) = self.on_bench_event(event) {
                    self.set_status(text, now);
                }
                vec![]
            }
            AppEvent::Serve(event) => {
                if let Some(text) = self.server.on_event(event) {
                    self.set_status(text, now);
                }
                vec![]
            }
            AppEvent::Log(line) => {
                self.log.push(line);
                vec![]
            }
        }
    }

    /// Drop an expired status message and Ctrl-C arm (also called by `handle`).
    pub fn expire(&mut self, now: Instant) {
        if self.status.as_ref().is_some_and(|s| now >= s.expires) {
            self.status = None;
        }
        if self
            .ctrl_c_armed
            .is_some_and(|t| now.saturating_duration_since(t) > CTRL_C_WINDOW)
        {
            self.ctrl_c_armed = None;
        }
    }

    pub fn set_status(&mut self, text: impl Into<String>, now: Instant) {
        self.set_status_for(text, now, STATUS_TTL);
    }

    fn set_status_for(&mut self, text: impl Into<String>, now: Instant, ttl: Duration) {
        self.status = Some(StatusMessage {
            text: text.into(),
            expires: now + ttl,
        });
    }

    /// The key hint for `action` while `focus` has focus, from the keymap in use.
    pub fn hint(&self, focus: Focus, action: Action) -> String {
        self.keymap.hint(focus.contexts(), action)
    }

    /// The panes Tab cycles through, in order.
    pub fn focus_cycle(&self) -> Vec<Focus> {
        let mut v = vec![Focus::Input, Focus::Chat];
        if self.sampler.open {
            v.push(Focus::Sampler);
        }
        if self.log.open {
            v.push(Focus::Log);
        }
        v
    }

    fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        if let Some(layer) = self.key_layer() {
            return self.layer_key(layer, key, now);
        }
        let action = self.keymap.lookup(self.focus.contexts(), &key);
        match action {
            Some(a) => self.apply(a, now),
            None => {
                if self.focus == Focus::Input {
                    self.input.key(key);
                }
                vec![]
            }
        }
    }

    /// Carry out a named action.
    pub fn apply(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        match action {
            Action::Send => return self.send(now),
            Action::NewLine => {
                return self.run(None, |s| &mut s.input, |i, ctx| i.handle(action, ctx), now)
            }
            Action::CancelGeneration => {
                if self.rag_cancel_pending() {
                    self.set_status("stopped before the reply started", now);
                } else if self.is_generating() {
                    self.set_status("stopping the reply…", now);
                    return vec![Effect::Cancel];
                }
            }
            Action::Quit => return self.quit(),
            Action::ForceQuitArm => {
                if self
                    .ctrl_c_armed
                    .is_some_and(|t| now.saturating_duration_since(t) <= CTRL_C_WINDOW)
                {
                    return self.quit();
                }
                self.ctrl_c_armed = Some(now);
                let again = self.hint(self.focus, Action::ForceQuitArm);
                self.set_status_for(format!("press {again} again to quit"), now, CTRL_C_WINDOW);
                if self.is_generating() {
                    return vec![Effect::Cancel];
                }
            }
            Action::ToggleHelp => {
                self.layers.toggle(Layer::Help);
            }
            Action::FocusNext | Action::FocusPrev => {
                let cycle = self.focus_cycle();
                let i = cycle.iter().position(|f| *f == self.focus).unwrap_or(0);
                let n = cycle.len();
                let j = if action == Action::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = cycle[j];
            }
            a @ (Action::ScrollUp
            | Action::ScrollDown
            | Action::PageUp
            | Action::PageDown
            | Action::ScrollToTop
            | Action::ScrollToBottom) => return self.scroll(a, now),
            Action::ClearConversation => {
                let mut effects = Vec::new();
                if self.chat.clear() {
                    effects.push(Effect::Cancel);
                    if matches!(
                        self.engine,
                        EngineStatus::Prefill | EngineStatus::Generating
                    ) {
                        self.engine = EngineStatus::Idle;
                    }
                }
                self.conversations.open = None;
                self.inspector.clear();
                self.context_used = 0;
                self.set_status("new conversation", now);
                effects.push(Effect::ResetConversation);
                return effects;
            }
            Action::ToggleLog => {
                self.log.open = !self.log.open;
                if !self.log.open && self.focus == Focus::Log {
                    self.focus = Focus::Chat;
                }
            }
            a @ (Action::ToggleSampler
            | Action::SamplerPrev
            | Action::SamplerNext
            | Action::SamplerIncrease
            | Action::SamplerDecrease
            | Action::SamplerDefaults) => {
                return self.run(
                    None,
                    |s| &mut s.sampler,
                    |form, ctx| form.handle(a, ctx),
                    now,
                )
            }
            Action::ToggleInspector
            | Action::InspectPrevToken
            | Action::InspectNextToken
            | Action::InspectPrevReply
            | Action::InspectNextReply
            | Action::InspectFirstToken
            | Action::InspectLastToken => {
                return self.run(
                    Some(Layer::Inspector),
                    |s| &mut s.inspector,
                    |i, ctx| i.handle(action, ctx),
                    now,
                )
            }
            Action::UseProfile(n) => return self.use_builtin_profile(usize::from(n), now),
            Action::OpenProfilePicker => self.open_profile_picker(),
            Action::OpenTemplatePicker => self.open_template_picker(),
            Action::SaveProfileAs => self.open_save_profile_as(),
            Action::OpenConversations => return self.open_conversations(now),
            Action::OpenModelPicker => return self.open_model_picker(now),
            Action::PickerUp
            | Action::PickerDown
            | Action::PickerAccept
            | Action::PickerClose
            | Action::PickerDelete
            | Action::PickerRename => return self.picker_action(action, now),
            a @ (Action::ToggleBench
            | Action::BenchPrevSuite
            | Action::BenchNextSuite
            | Action::BenchStart
            | Action::BenchCancel
            | Action::BenchToggleView
            | Action::BenchPinBaseline) => return self.apply_bench(a, now),
            a @ (Action::ToggleAb
            | Action::AbPrevA
            | Action::AbNextA
            | Action::AbPrevB
            | Action::AbNextB
            | Action::AbStart
            | Action::AbCancel) => return self.apply_ab(a, now),
            a @ (Action::ToggleRagPane | Action::ToggleRagNextMessage) => {
                return self.apply_rag(a, now)
            }
            a @ (Action::ToggleServer | Action::ServerStartStop) => {
                return self.run(
                    Some(Layer::Server),
                    |s| &mut s.server,
                    |pane, ctx| pane.handle(a, ctx),
                    now,
                )
            }
        }
        vec![]
    }

    /// A scrolling key: the log's while it has focus, the chat's otherwise.
    fn scroll(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        if self.focus == Focus::Log {
            self.log.scroll.on_action(action);
            return vec![];
        }
        self.run(None, |s| &mut s.chat, |c, ctx| c.handle(action, ctx), now)
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.should_quit = true;
        let mut effects = Vec::new();
        if self.is_generating() {
            effects.push(Effect::Cancel);
        }
        effects.push(Effect::Quit);
        effects
    }
}
