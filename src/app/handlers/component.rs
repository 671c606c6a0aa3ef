//! How the dashboard runs a component: it hands the component the read-only facts ([`Ctx`]) and
//! carries out what it asks for ([`Outcome`]): a status message, a focus change, effects.
use std::time::Instant;

use crate::app::effect::{Effect, ServerStart};
use crate::app::layers::Layer;
use crate::app::outcome::{Ctx, Outcome, Request};
use crate::app::picker::Picker;
use crate::app::state::AppState;

impl AppState {
    /// What a component may read of the dashboard; `input` is the message input's text.
    pub(crate) fn ctx<'a>(&'a self, input: &'a str) -> Ctx<'a> {
        Ctx {
            keymap: &self.keymap,
            focus: self.focus,
            open: false,
            input,
            active_profile: &self.profiles.active,
            generating: self.chat.is_generating(),
            engine_idle: matches!(self.engine, crate::app::EngineStatus::Idle),
            model_loaded: matches!(
                self.engine,
                crate::app::EngineStatus::Idle
                    | crate::app::EngineStatus::Prefill
                    | crate::app::EngineStatus::Generating
            ),
            bench_running: self.bench.running(),
        }
    }

    /// Runs `handle` on the component `part` picks, with the dashboard's facts, and carries out
    /// its outcome; an overlay (`layer`) is opened or closed on the layer stack as it asks.
    pub(crate) fn run<P: Default>(
        &mut self,
        layer: Option<Layer>,
        part: fn(&mut AppState) -> &mut P,
        handle: impl FnOnce(&mut P, &Ctx) -> Outcome,
        now: Instant,
    ) -> Vec<Effect> {
        let input = self.input_text();
        // The facts are read before the component is taken out (it might be one they read).
        let bench_running = self.bench.running();
        let generating = self.chat.is_generating();
        let mut pane = std::mem::take(part(self));
        let ctx = Ctx {
            bench_running,
            generating,
            open: layer.is_some_and(|l| self.layers.is_open(l)),
            ..self.ctx(&input)
        };
        let outcome = handle(&mut pane, &ctx);
        *part(self) = pane;
        if let Some(layer) = layer {
            if outcome.close {
                self.layers.close(layer);
            } else if outcome.open {
                self.layers.open(layer);
            }
        }
        self.take(outcome, now)
    }

    /// Runs `handle` on the open picker (nothing if none is) and closes it if it asks to.
    pub(crate) fn run_picker(
        &mut self,
        handle: impl FnOnce(&mut Picker, &Ctx) -> Outcome,
        now: Instant,
    ) -> Vec<Effect> {
        let input = self.input_text();
        let Some(mut picker) = self.picker.take() else {
            return vec![];
        };
        let ctx = Ctx {
            open: true,
            ..self.ctx(&input)
        };
        let outcome = handle(&mut picker, &ctx);
        if outcome.close {
            self.close_picker();
        } else {
            self.picker = Some(picker);
        }
        self.take(outcome, now)
    }

    /// Carries out what a component asked for: its status message shows, focus moves, its
    /// effects go to the loop, its request is fulfilled.
    pub(crate) fn take(&mut self, outcome: Outcome, now: Instant) -> Vec<Effect> {
        if let Some(text) = outcome.status {
            self.set_status(text, now);
        }
        if let Some(focus) = outcome.focus {
            self.focus = focus;
        }
        if let Some(note) = outcome.note {
            self.chat.messages.push(crate::app::chat::ChatMessage::new(
                crate::app::chat::Role::System,
                note,
            ));
        }
        let mut effects = outcome.effects;
        if let Some(request) = outcome.request {
            effects.extend(self.fulfil(request, now));
        }
        effects
    }

    /// Does what a component cannot: it changes state the dashboard owns.
    fn fulfil(&mut self, request: Request, now: Instant) -> Vec<Effect> {
        match request {
            Request::UseProfile(name) => self.use_profile(&name, now),
            Request::UseTemplate(name) => {
                self.set_status(format!("template {name} for the next messages"), now);
                self.profiles.template_override = Some(name);
                vec![]
            }
            Request::OpenConversation(id) => {
                let outcome = self.conversations.choose(id);
                self.take(outcome, now)
            }
            Request::DeleteConversation { id, label } => {
                let outcome = self.conversations.delete(id, &label);
                self.take(outcome, now)
            }
            Request::RenameConversation { id, title } => {
                let outcome = self.conversations.rename(id, title);
                self.take(outcome, now)
            }
            Request::SaveProfileAs(name) => self.save_profile_as(&name, now),
            Request::SwitchModel(key) => self.accept_model(Some(key), now),
            Request::StartServer => vec![Effect::StartServer(Box::new(ServerStart {
                config: self.profiles.config.clone(),
                profile: self.profiles.active.clone(),
            }))],
        }
    }
}
