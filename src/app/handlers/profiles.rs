//! The dashboard-level side of `app::profiles`: its keys and events folded into [`AppState`],
//! the effects they return. The pane's own state lives in `app/profiles.rs`, which imports nothing
//! of `AppState`.
use crate::actors::inference::ChatTurn;
use crate::app::chat::Role;
use crate::app::effect::Effect;
use crate::app::picker::{Picker, PickerItem, PickerKind};
use crate::app::profiles::*;
use crate::app::state::AppState;
use crate::config::templates::{system_prompt, timestamp_now, PromptVars};
use crate::config::{Config, Profile, TemplateSet, BUILTIN_PROFILES};
use crate::engine::Limits;
use crate::sampling::constrained::OutputConstraint;
use std::sync::Arc;
use std::time::Instant;

impl AppState {
    /// Renders `query` with the active template, the conversation so far and `rag_context`.
    pub fn build_turn(&self, query: &str, rag_context: &str) -> Result<Turn, String> {
        let profile = self.profiles.profile();
        let name = self.profiles.template_name();
        let template = self.profiles.templates.get(&name)?;
        let system = system_prompt(profile.system_prompt(), template).map(str::to_string);
        let vars = PromptVars {
            query: query.to_string(),
            history: self.history_text(),
            rag_context: rag_context.to_string(),
            timestamp: timestamp_now(),
            profile: self.profiles.active.clone(),
            model: self.model_name(),
            system: system.clone().unwrap_or_default(),
            extra: Default::default(),
        };
        let text = template.render(&vars).map_err(|e| e.to_string())?;
        let dialogue = self.dialogue(&vars);
        let stop = profile.stop.iter().chain(&template.meta.stop).cloned();
        let keyed = |(key, e): (&str, String)| format!("`{key}`: {e}");
        let output = match template.meta.output(&name).map_err(keyed)? {
            Some(c) => Some(c),
            None => OutputConstraint::from_keys(
                &profile.json_schema,
                &profile.regex,
                &format!("profile {}", self.profiles.active),
            )
            .map_err(keyed)?,
        };
        Ok(Turn {
            output,
            context_shift: profile.context_shift.then_some(profile.keep),
            draft: crate::engine::DraftParams::for_mode(profile.draft, profile.draft_max),
            turn: ChatTurn {
                text,
                system,
                dialogue,
            },
            limits: Limits {
                max_tokens: profile.max_tokens,
                stop: stop.collect(),
            },
        })
    }

    /// What the template's or the profile's keys say replies must be, by name (the input's title).
    pub fn configured_output(&self) -> Option<String> {
        let name = self.profiles.template_name();
        let template = self.profiles.templates.get(&name).ok();
        let profile = self.profiles.profile();
        let keys = |schema: &str, regex: &str| !(schema.trim().is_empty() && regex.is_empty());
        if template.is_some_and(|t| keys(&t.meta.json_schema, &t.meta.regex)) {
            Some(format!("constrained by template {name}"))
        } else if keys(&profile.json_schema, &profile.regex) {
            Some(format!("constrained by profile {}", self.profiles.active))
        } else {
            None
        }
    }

    /// The transcript a base model continues, with `vars`' system prompt; the built-in one when
    /// the user's `dialogue.md` cannot make one (its error is shown when the file loads).
    pub fn dialogue(&self, vars: &PromptVars) -> crate::engine::Dialogue {
        self.profiles.templates.dialogue(vars).unwrap_or_else(|e| {
            tracing::warn!("{e}; using the built-in dialogue template");
            TemplateSet::builtin()
                .dialogue(vars)
                .expect("the built-in dialogue template renders")
        })
    }

    /// Puts these finished turns back into the engine's context under `system`, in the chat
    /// format the active template gives (a resumed conversation, an engine restarted).
    pub(crate) fn restore(&self, turns: Vec<(String, String)>, system: Option<String>) -> Effect {
        let dialogue = self.dialogue(&PromptVars {
            system: system.clone().unwrap_or_default(),
            profile: self.profiles.active.clone(),
            model: self.model_name(),
            ..Default::default()
        });
        Effect::RestoreConversation {
            turns,
            system,
            dialogue,
        }
    }

    /// Earlier finished turns as "You: …" / "Gemma: …" lines, for templates that use {history}.
    fn history_text(&self) -> String {
        self.chat
            .messages
            .iter()
            .filter(|m| !m.streaming && matches!(m.role, Role::User | Role::Assistant))
            .map(|m| format!("{}: {}", m.role.label(), m.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Makes `name` the active profile: its sampler from the next token, its template, reply
    /// length and system prompt from the next message.
    pub fn use_profile(&mut self, name: &str, now: Instant) -> Vec<Effect> {
        let Some(profile) = self.profiles.config.profiles.get(name).cloned() else {
            self.set_status(format!("no profile `{name}`"), now);
            return vec![];
        };
        self.profiles.active = name.to_string();
        self.profiles.template_override = None;
        self.sampler.params = profile.sampler.clone();
        let note = if profile.context != self.model.as_ref().map_or(0, |m| m.context_size) {
            " (its context size applies after a restart)"
        } else {
            ""
        };
        self.set_status(
            format!(
                "profile {name}: template {}, up to {} tokens{note}",
                profile.template, profile.max_tokens
            ),
            now,
        );
        vec![Effect::ConfigureSampler(self.sampler.params.clone())]
    }

    /// A key per built-in profile, in [`BUILTIN_PROFILES`] order (1-based).
    pub fn use_builtin_profile(&mut self, slot: usize, now: Instant) -> Vec<Effect> {
        match BUILTIN_PROFILES.get(slot.wrapping_sub(1)) {
            Some(name) => self.use_profile(name, now),
            None => vec![],
        }
    }

    /// New files on disk: keep the active profile (re-read) unless it is gone.
    pub fn reload_config(
        &mut self,
        config: Arc<Config>,
        templates: Arc<TemplateSet>,
        now: Instant,
    ) -> Vec<Effect> {
        if !config.profiles.contains_key(&self.profiles.active) {
            self.profiles.active = config.settings.active_profile.clone();
        }
        if let Some(t) = &self.profiles.template_override {
            if templates.get(t).is_err() {
                self.profiles.template_override = None;
            }
        }
        self.profiles.config = config;
        self.profiles.templates = templates;
        let profile = self.profiles.profile();
        self.set_status(
            format!("config reloaded: profile {}", self.profiles.active),
            now,
        );
        self.sampler
            .set_params(profile.sampler)
            .into_iter()
            .collect()
    }

    pub fn open_profile_picker(&mut self) {
        let defaults = Config::defaults();
        let items = self
            .profiles
            .config
            .profiles
            .iter()
            .map(|(name, p)| PickerItem {
                key: name.clone(),
                label: name.clone(),
                detail: match defaults.profiles.get(name) {
                    Some(d) if d == p => format!("built-in · {}", p.description),
                    Some(_) => format!("modified · {}", p.description),
                    None => format!("yours · {}", p.description),
                },
            })
            .collect();
        self.open_picker(Picker::new(
            PickerKind::Profile,
            items,
            Some(&self.profiles.active),
        ));
    }

    pub fn open_template_picker(&mut self) {
        let items = self
            .profiles
            .templates
            .templates
            .iter()
            .map(|(name, (t, source))| PickerItem {
                key: name.clone(),
                label: name.clone(),
                detail: format!("{} · {}", source.label(), t.meta.description),
            })
            .collect();
        let current = self.profiles.template_name();
        self.open_picker(Picker::new(PickerKind::Template, items, Some(&current)));
    }

    pub fn open_save_profile_as(&mut self) {
        let suggestion = format!("{}-mine", self.profiles.active);
        self.open_picker(Picker::prompt(PickerKind::SaveProfileAs, &suggestion, None));
    }

    /// The active profile with the sampler as the pane set it, under a new name.
    pub(crate) fn save_profile_as(&mut self, name: &str, now: Instant) -> Vec<Effect> {
        let name = name.trim();
        if let Err(e) = crate::config::edit::check_name(name) {
            self.set_status(e, now);
            return vec![];
        }
        let profile = Profile {
            sampler: self.sampler.params.clone(),
            description: format!("saved from `{}` in the dashboard", self.profiles.active),
            ..self.profiles.profile()
        };
        self.set_status(format!("saving profile {name}…"), now);
        vec![Effect::SaveProfile {
            name: name.to_string(),
            profile: Box::new(profile),
        }]
    }

    /// The result of a [`Effect::SaveProfile`]: switch to it on success.
    pub fn profile_saved(
        &mut self,
        name: String,
        result: Result<Arc<Config>, String>,
        now: Instant,
    ) -> Vec<Effect> {
        match result {
            Ok(config) => {
                self.profiles.config = config;
                self.profiles.active = name.clone();
                self.set_status(format!("saved profile {name}; it is now active"), now);
            }
            Err(e) => self.set_status(format!("could not save profile {name}: {e}"), now),
        }
        vec![]
    }
}
