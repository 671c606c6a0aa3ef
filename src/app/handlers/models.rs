//! The dashboard-level side of `app::models`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/models.rs`, which imports nothing
//! of `AppState`.
use crate::actors::inference::SwitchEvent;
use crate::app::chat::{EngineStatus, Role};
use crate::app::effect::Effect;
use crate::app::models::*;
use crate::app::picker::{Picker, PickerItem, PickerKind};
use crate::app::state::AppState;
use std::path::PathBuf;
use std::time::Instant;

impl AppState {
    /// The model picker key: list the models (off the UI task); the picker opens with the answer.
    pub(crate) fn open_model_picker(&mut self, now: Instant) -> Vec<Effect> {
        if let Some(s) = &self.models.switch {
            let text = format!("already switching to {}", s.name);
            self.set_status(text, now);
            return vec![];
        }
        self.models.requested = true;
        self.set_status("reading the models…", now);
        vec![Effect::Models(ModelEffect::List {
            config: self.profiles.config.clone(),
        })]
    }

    pub(crate) fn on_models(&mut self, event: ModelsEvent, _now: Instant) -> Vec<Effect> {
        let ModelsEvent::Listed(mut choices) = event;
        let current = self.model.as_ref().map(|m| PathBuf::from(&m.path));
        // A model started from a path that neither models.toml nor the models dir holds is
        // still listed, first, as what runs.
        if let Some(m) = self.model.as_ref() {
            if !choices.iter().any(|c| current.as_ref() == Some(&c.path)) {
                choices.insert(0, running_choice(m));
            }
        }
        let items = choices
            .iter()
            .enumerate()
            .map(|(i, c)| PickerItem {
                key: i.to_string(),
                label: if current.as_ref() == Some(&c.path) {
                    format!("{} (running)", c.name)
                } else {
                    c.name.clone()
                },
                detail: c.detail(),
            })
            .collect();
        let selected = choices
            .iter()
            .position(|c| current.as_ref() == Some(&c.path))
            .map(|i| i.to_string());
        self.models.choices = choices;
        if std::mem::take(&mut self.models.requested) {
            self.status = None;
            self.open_picker(Picker::new(PickerKind::Model, items, selected.as_deref()));
        }
        vec![]
    }

    /// Enter in the model picker: start loading the chosen model beside the current one.
    pub(crate) fn accept_model(&mut self, key: Option<String>, now: Instant) -> Vec<Effect> {
        let Some(choice) = key
            .and_then(|k| k.parse::<usize>().ok())
            .and_then(|i| self.models.choices.get(i).cloned())
        else {
            return vec![];
        };
        let running = self.model.as_ref().map(|m| PathBuf::from(&m.path));
        let refusal = if let Some(p) = &choice.problem {
            Some(format!("cannot use {}: {p}", choice.name))
        } else if matches!(self.engine, EngineStatus::Loading { .. }) {
            // (After a failed first load a switch is the way out, so that is allowed.)
            Some("the first model is still loading: switch when it is ready".into())
        } else if running.as_ref() == Some(&choice.path) {
            Some(format!("{} is already running", choice.name))
        } else {
            let busy = self.models.switch.as_ref();
            busy.map(|s| format!("already switching to {}", s.name))
        };
        if let Some(text) = refusal {
            self.set_status(text, now);
            return vec![];
        }
        self.models.switch = Some(Switch {
            name: choice.name.clone(),
            fraction: 0.0,
            message: "starting".into(),
            ready: false,
            committed: false,
        });
        self.set_status(
            format!(
                "loading {} in the background; {} keeps answering",
                choice.name,
                self.model_name()
            ),
            now,
        );
        vec![Effect::Models(ModelEffect::Load {
            name: choice.name,
            path: choice.path,
            config: self.profiles.config.clone(),
        })]
    }

    /// One report of the switch in the background.
    pub(crate) fn on_switch(&mut self, event: SwitchEvent, now: Instant) {
        match event {
            SwitchEvent::Progress {
                fraction, message, ..
            } => {
                if let Some(s) = self.models.switch.as_mut() {
                    s.fraction = fraction;
                    s.message = message;
                }
            }
            SwitchEvent::Ready { .. } => {
                if let Some(s) = self.models.switch.as_mut() {
                    s.ready = true;
                    s.fraction = 1.0;
                }
            }
            SwitchEvent::Swapped {
                summary,
                context_used,
                restored,
                total_ms,
                ..
            } => {
                self.forget_remote();
                // The picker's name (models.toml's or the file's): the metadata's may be the same
                // for two files.
                let name = self
                    .models
                    .switch
                    .take()
                    .map_or(summary.name.clone(), |s| s.name);
                self.context_used = context_used;
                let carried = match restored {
                    0 => String::new(),
                    1 => "; 1 turn carried over".into(),
                    n => format!("; {n} turns carried over"),
                };
                let text = format!(
                    "Now running {name}: {}, {}, {}{carried}.",
                    summary.name,
                    summary.kind.kind.name(),
                    summary.quantization
                );
                self.chat.push(Role::System, text);
                self.set_status(
                    format!("switched to {name} in {:.1} s", total_ms / 1000.0),
                    now,
                );
                self.model = Some(summary);
                // A switch after a failed first load is the first model that runs.
                if matches!(self.engine, EngineStatus::Failed(_)) {
                    self.engine = EngineStatus::Idle;
                }
            }
            SwitchEvent::Failed { name, error } => {
                self.models.switch = None;
                let text = format!(
                    "Switching to {name} failed: {error}. Still running {}.",
                    self.model_name()
                );
                self.chat.push(Role::Error, text);
                self.set_status(format!("switching to {name} failed"), now);
            }
        }
    }

    /// After every engine event: a loaded model is swapped in as soon as no reply is running,
    /// with the open conversation's finished turns.
    pub(crate) fn commit_switch_when_idle(&mut self) -> Vec<Effect> {
        let ready = self
            .models
            .switch
            .as_ref()
            .is_some_and(|s| s.ready && !s.committed);
        if !ready || self.is_generating() {
            return vec![];
        }
        let (turns, system) = self.models.turns(self.conversations.id());
        let name = self.models.switch.as_ref().map(|s| s.name.clone());
        let dialogue = self.dialogue(&crate::config::templates::PromptVars {
            system: system.clone().unwrap_or_default(),
            profile: self.profiles.active.clone(),
            model: name.unwrap_or_default(),
            ..Default::default()
        });
        if let Some(s) = self.models.switch.as_mut() {
            s.committed = true;
            s.message = "swapping in".into();
        }
        vec![Effect::Models(ModelEffect::Commit {
            turns,
            system,
            dialogue,
        })]
    }

    /// The engine's state for the status bar, with a switch in the background after it.
    pub fn engine_label(&self) -> String {
        let engine = self.engine.label();
        match &self.models.switch {
            Some(s) if s.committed => format!("{engine} · swapping in {}", s.name),
            Some(s) if s.ready => format!("{engine} · {} after this reply", s.name),
            Some(s) => format!(
                "{engine} · loading {} {:.0}%",
                s.name,
                s.fraction.clamp(0.0, 1.0) * 100.0
            ),
            None => engine,
        }
    }

    /// A switch's gauge (fraction, text), drawn on the chat pane's border so that it covers
    /// none of the reply streaming meanwhile.
    pub fn switch_gauge(&self) -> Option<(f64, String)> {
        self.models.switch.as_ref().map(|s| {
            let text = format!("loading {}: {}", s.name, s.message);
            (s.fraction.clamp(0.0, 1.0), text)
        })
    }
}
