//! `AppState`: everything the dashboard shows, and `handle`, the pure state machine that folds events
//! into it and returns the effects the event loop must carry out.
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

use crate::actors::messages::{ConfigEvent, MetricsSnapshot, ModelSummary};
use crate::sampling::SamplerParams;

use super::action::{Action, Focus, Keymap};
use super::chat::{ChatMessage, EngineStatus};
use super::events::{AppEvent, LogLine};
use super::inspector::Inspector;
use super::sampler::Param;

/// Two Ctrl-C presses within this window quit.
pub const CTRL_C_WINDOW: Duration = Duration::from_secs(2);
/// How long a transient status message stays.
pub const STATUS_TTL: Duration = Duration::from_secs(5);
/// The most the input box holds (pastes beyond it are cut).
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// Log lines kept for the log pane.
pub const LOG_CAPACITY: usize = 500;
/// Seconds of metrics history kept.
pub const METRICS_WINDOW_S: f64 = 120.0;
const METRICS_MAX_POINTS: usize = 4096;

/// What the event loop must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start generating a reply to `text` (a new user turn) tagged `request`.
    Generate {
        request: u64,
        text: String,
    },
    /// Stop the running generation (the engine answers with `Finished { reason: Cancelled }`).
    Cancel,
    /// Forget the conversation (KV cache, history).
    ResetConversation,
    /// Use these sampler parameters from the next token on.
    ConfigureSampler(SamplerParams),
    Quit,
    /// Ask the RAG actor for the context of `request`'s prompt (then [`Effect::Generate`]).
    RagContext {
        request: u64,
        query: String,
        budget: usize,
    },
    /// `/add`: ingest these paths.
    RagAdd {
        paths: Vec<std::path::PathBuf>,
    },
    /// `/remember`, or an automatically remembered turn.
    RagRemember {
        text: String,
        importance: f32,
        tier: crate::rag::Tier,
        source: String,
        quiet: bool,
    },
}

/// A transient message in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMessage {
    pub text: String,
    pub expires: Instant,
}

/// Scroll position of a pane, in wrapped lines from the top. `follow` keeps it at the bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrollState {
    pub top: usize,
    pub follow: bool,
    /// The largest `top` at the last render.
    pub max_top: usize,
    /// Viewport height at the last render (one page).
    pub page: usize,
}

impl Default for ScrollState {
    fn default() -> Self {
        Self {
            top: 0,
            follow: true,
            max_top: 0,
            page: 10,
        }
    }
}

impl ScrollState {
    pub fn up(&mut self, n: usize) {
        if self.follow {
            if self.max_top == 0 {
                return;
            }
            self.top = self.max_top;
        }
        self.follow = false;
        self.top = self.top.min(self.max_top).saturating_sub(n);
    }

    pub fn down(&mut self, n: usize) {
        if self.follow {
            return;
        }
        self.top = self.top.saturating_add(n);
        if self.top >= self.max_top {
            self.to_bottom();
        }
    }

    pub fn to_top(&mut self) {
        self.follow = false;
        self.top = 0;
    }

    pub fn to_bottom(&mut self) {
        self.follow = true;
        self.top = self.max_top;
    }

    /// Clamp to `total` lines in a viewport of `height`; returns the first visible line.
    pub fn resolve(&mut self, total: usize, height: usize) -> usize {
        self.page = height.max(1);
        self.max_top = total.saturating_sub(height);
        if self.follow || self.top >= self.max_top {
            self.top = self.max_top;
            if self.max_top == 0 {
                self.follow = true;
            }
        }
        self.top
    }
}

/// The last ~120 s of metrics, as (t seconds, value) series for the charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsHistory {
    pub token_rate: VecDeque<(f64, f64)>,
    pub rss_mb: VecDeque<(f64, f64)>,
    pub cpu_percent: VecDeque<(f64, f64)>,
    pub latest: Option<MetricsSnapshot>,
}

impl MetricsHistory {
    pub fn push(&mut self, s: MetricsSnapshot) {
        if !s.t.is_finite() {
            return;
        }
        if self.latest.as_ref().is_some_and(|l| s.t < l.t) {
            // The clock went backwards (a restarted metrics actor): start over.
            *self = Self::default();
        }
        let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        self.token_rate.push_back((s.t, finite(s.token_rate)));
        self.rss_mb
            .push_back((s.t, s.rss_bytes as f64 / (1024.0 * 1024.0)));
        self.cpu_percent
            .push_back((s.t, finite(f64::from(s.cpu_percent))));
        let cutoff = s.t - METRICS_WINDOW_S;
        for series in [
            &mut self.token_rate,
            &mut self.rss_mb,
            &mut self.cpu_percent,
        ] {
            while series
                .front()
                .is_some_and(|&(t, _)| t < cutoff || series.len() > METRICS_MAX_POINTS)
            {
                series.pop_front();
            }
        }
        self.latest = Some(s);
    }

    /// Seconds since start of the newest sample.
    pub fn now_t(&self) -> f64 {
        self.latest.as_ref().map_or(0.0, |s| s.t)
    }
}

/// A fresh, empty message input.
pub fn new_input() -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_wrap_mode(WrapMode::WordOrGlyph);
    t.set_cursor_line_style(Style::default());
    t.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
    t.set_placeholder_text("Type a message…");
    t
}

/// Everything the dashboard shows. Panes only read it (plus scroll bookkeeping).
#[derive(Debug, Clone)]
pub struct AppState {
    pub messages: Vec<ChatMessage>,
    pub input: TextArea<'static>,
    pub focus: Focus,
    pub chat_scroll: ScrollState,
    pub log_scroll: ScrollState,
    pub engine: EngineStatus,
    pub model: Option<ModelSummary>,
    /// Tokens the conversation holds in the KV cache.
    pub context_used: usize,
    pub metrics: MetricsHistory,
    /// Time to first token of the last reply, ms.
    pub last_ttft_ms: Option<f64>,
    pub logs: VecDeque<LogLine>,
    pub show_help: bool,
    pub show_log: bool,
    pub status: Option<StatusMessage>,
    pub should_quit: bool,
    pub ctrl_c_armed: Option<Instant>,
    pub next_request: u64,
    /// The request id of the running generation.
    pub running: Option<u64>,
    pub keymap: Keymap,
    /// Terminal size from the last resize event (columns, rows).
    pub size: (u16, u16),
    /// The sampler parameters in effect (the sampler pane edits them).
    pub sampler: SamplerParams,
    pub show_sampler: bool,
    /// The selected row of the sampler pane (an index into [`Param::ALL`]).
    pub sampler_row: usize,
    pub inspector: Inspector,
    pub rag: super::rag::RagState,
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
            messages: Vec::new(),
            input: new_input(),
            focus: Focus::Input,
            chat_scroll: ScrollState::default(),
            log_scroll: ScrollState::default(),
            engine: EngineStatus::Loading {
                fraction: 0.0,
                message: "starting".into(),
            },
            model: None,
            context_used: 0,
            metrics: MetricsHistory::default(),
            last_ttft_ms: None,
            logs: VecDeque::with_capacity(LOG_CAPACITY),
            show_help: false,
            show_log: false,
            status: None,
            should_quit: false,
            ctrl_c_armed: None,
            next_request: 1,
            running: None,
            keymap,
            size: (0, 0),
            sampler: SamplerParams::default(),
            show_sampler: false,
            sampler_row: 0,
            inspector: Inspector {
                follow: true,
                ..Inspector::default()
            },
            rag: super::rag::RagState::default(),
        }
    }

    /// Fold one event into the state; returns what the event loop must do.
    pub fn handle(&mut self, event: AppEvent, now: Instant) -> Vec<Effect> {
        self.expire(now);
        match event {
            AppEvent::Key(key) => self.on_key(key, now),
            AppEvent::Paste(text) => {
                self.paste(&text, now);
                vec![]
            }
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            AppEvent::Engine(e) => {
                let finished = match &e {
                    crate::actors::messages::EngineEvent::Finished { request, .. } => {
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
            AppEvent::Config(ConfigEvent::Reloaded { profile, sampler }) => {
                self.set_status(format!("config reloaded: profile {profile}"), now);
                self.sampler = sampler;
                vec![Effect::ConfigureSampler(self.sampler.clone())]
            }
            AppEvent::Config(ConfigEvent::Invalid(error)) => {
                self.set_status(
                    format!("config not applied, the last good one stays: {error}"),
                    now,
                );
                vec![]
            }
            AppEvent::Log(line) => {
                if self.logs.len() >= LOG_CAPACITY {
                    self.logs.pop_front();
                }
                self.logs.push_back(line);
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

    /// The panes Tab cycles through, in order.
    pub fn focus_cycle(&self) -> Vec<Focus> {
        let mut v = vec![Focus::Input, Focus::Chat];
        if self.show_sampler {
            v.push(Focus::Sampler);
        }
        if self.show_log {
            v.push(Focus::Log);
        }
        v
    }

    fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return vec![];
        }
        if self.inspector.open {
            // The inspector is modal: its keys, help and Ctrl-C; nothing else.
            let action = self.keymap.lookup(Focus::Inspector, &key);
            return match action {
                Some(
                    a @ (Action::ForceQuitArm
                    | Action::ToggleHelp
                    | Action::ToggleInspector
                    | Action::InspectPrevToken
                    | Action::InspectNextToken
                    | Action::InspectPrevReply
                    | Action::InspectNextReply
                    | Action::InspectFirstToken
                    | Action::InspectLastToken),
                ) if !self.show_help || a == Action::ForceQuitArm => self.apply(a, now),
                _ => {
                    self.show_help = false;
                    vec![]
                }
            };
        }
        let action = self.keymap.lookup(self.focus, &key);
        if self.show_help {
            // The help overlay is modal: Ctrl-C still works, any other key closes it.
            if action == Some(Action::ForceQuitArm) {
                return self.apply(Action::ForceQuitArm, now);
            }
            self.show_help = false;
            return vec![];
        }
        match action {
            Some(a) => self.apply(a, now),
            None => {
                if self.focus == Focus::Input {
                    self.input.input(key);
                }
                vec![]
            }
        }
    }

    /// Carry out a named action.
    pub fn apply(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        match action {
            Action::Send => return self.send(now),
            Action::NewLine => self.input.insert_newline(),
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
                self.set_status_for("press Ctrl-C again to quit", now, CTRL_C_WINDOW);
                if self.is_generating() {
                    return vec![Effect::Cancel];
                }
            }
            Action::ToggleHelp => self.show_help = !self.show_help,
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
            Action::ScrollUp => self.scroll_target().up(1),
            Action::ScrollDown => self.scroll_target().down(1),
            Action::PageUp => {
                let s = self.scroll_target();
                s.up(s.page.saturating_sub(1).max(1));
            }
            Action::PageDown => {
                let s = self.scroll_target();
                s.down(s.page.saturating_sub(1).max(1));
            }
            Action::ScrollToTop => self.scroll_target().to_top(),
            Action::ScrollToBottom => self.scroll_target().to_bottom(),
            Action::ClearConversation => {
                let mut effects = Vec::new();
                if self.running.take().is_some() {
                    effects.push(Effect::Cancel);
                    if matches!(
                        self.engine,
                        EngineStatus::Prefill | EngineStatus::Generating
                    ) {
                        self.engine = EngineStatus::Idle;
                    }
                }
                self.messages.clear();
                self.inspector.clear();
                self.context_used = 0;
                self.chat_scroll = ScrollState::default();
                self.set_status("new conversation", now);
                effects.push(Effect::ResetConversation);
                return effects;
            }
            Action::ToggleLog => {
                self.show_log = !self.show_log;
                if !self.show_log && self.focus == Focus::Log {
                    self.focus = Focus::Chat;
                }
            }
            Action::ToggleSampler => {
                if self.show_sampler && self.focus == Focus::Sampler {
                    self.show_sampler = false;
                    self.focus = Focus::Input;
                } else {
                    self.show_sampler = true;
                    self.focus = Focus::Sampler;
                }
            }
            Action::SamplerPrev => {
                let n = Param::ALL.len();
                self.sampler_row = (self.sampler_row + n - 1) % n;
            }
            Action::SamplerNext => self.sampler_row = (self.sampler_row + 1) % Param::ALL.len(),
            Action::SamplerIncrease | Action::SamplerDecrease => {
                let param = Param::ALL[self.sampler_row.min(Param::ALL.len() - 1)];
                let before = self.sampler.clone();
                param.step(&mut self.sampler, action == Action::SamplerIncrease);
                if self.sampler != before {
                    self.set_status(
                        format!("{} = {}", param.name(), param.show(&self.sampler)),
                        now,
                    );
                    return vec![Effect::ConfigureSampler(self.sampler.clone())];
                }
            }
            Action::SamplerDefaults => {
                // The seed is not a pane setting: keep the one given on the command line.
                let fresh = SamplerParams {
                    seed: self.sampler.seed,
                    ..SamplerParams::default()
                };
                if fresh != self.sampler {
                    self.sampler = fresh;
                    self.set_status("sampler reset to llama.cpp's defaults", now);
                    return vec![Effect::ConfigureSampler(self.sampler.clone())];
                }
            }
            Action::ToggleInspector => {
                self.inspector.open = !self.inspector.open;
                if self.inspector.open && self.inspector.follow {
                    self.inspector.to_newest();
                }
            }
            Action::InspectPrevToken => self.inspector.move_token(-1),
            Action::InspectNextToken => self.inspector.move_token(1),
            Action::InspectPrevReply => self.inspector.move_reply(-1),
            Action::InspectNextReply => self.inspector.move_reply(1),
            Action::InspectFirstToken => self.inspector.first_token(),
            Action::InspectLastToken => self.inspector.last_token(),
            Action::ToggleRagPane => self.rag.show = !self.rag.show,
            Action::ToggleRagNextMessage => {
                self.rag.next_message = !self.rag.next_message;
                let state = if !self.rag.available {
                    "RAG is off for this profile"
                } else if self.rag.next_message {
                    "RAG on for the next message"
                } else {
                    "RAG off for the next message"
                };
                self.set_status(state, now);
            }
        }
        vec![]
    }

    fn scroll_target(&mut self) -> &mut ScrollState {
        match self.focus {
            Focus::Log => &mut self.log_scroll,
            Focus::Input | Focus::Chat | Focus::Sampler | Focus::Inspector => &mut self.chat_scroll,
        }
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

    /// Insert pasted text into the input, capping the input at [`MAX_INPUT_BYTES`].
    fn paste(&mut self, text: &str, now: Instant) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let used: usize = self.input.lines().iter().map(|l| l.len() + 1).sum();
        let room = MAX_INPUT_BYTES.saturating_sub(used);
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len() {
            self.set_status(
                format!(
                    "paste cut to {} KiB: the input holds at most {} KiB",
                    end / 1024,
                    MAX_INPUT_BYTES / 1024
                ),
                now,
            );
        }
        self.focus = Focus::Input;
        if end > 0 {
            self.input.insert_str(&text[..end]);
        }
    }
}
