//! Carries out the model picker's and the switch's effects for the event loop: the listing on a
//! blocking thread (it reads GGUF headers), the load and the swap through the inference actor.
use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use crate::actors::inference::{CommitSwitch, InferenceHandle, SwitchModel};
use crate::app::models::{ModelEffect, ModelsEvent};
use crate::app::AppEvent;
use crate::engine::EngineKind;

/// What a switched-to model is loaded with: the dashboard's own settings.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub threads: usize,
    pub engine: EngineKind,
    pub context: usize,
    /// Where the picker looks for GGUFs.
    pub models_dir: PathBuf,
    /// The profile the dashboard started with and the `--rope-*` flags: with models.toml's
    /// entry they give the new model's RoPE scaling.
    pub profile: String,
    pub rope_flags: crate::engine::RopeScaling,
}

pub fn apply(
    effect: ModelEffect,
    inference: &InferenceHandle,
    events: &UnboundedSender<AppEvent>,
    load: &LoadSettings,
) {
    match effect {
        ModelEffect::List { config } => {
            let events = events.clone();
            let dir = load.models_dir.clone();
            // Directory listing and header reads are blocking IO: never on the async executor.
            tokio::task::spawn_blocking(move || {
                let installed = crate::models::list_installed_in(&dir).unwrap_or_else(|e| {
                    tracing::warn!("listing {}: {e:#}", dir.display());
                    Vec::new()
                });
                let list = crate::models::catalog(&config.named_models(), &installed, &|p| {
                    config.kind_override(p)
                });
                let _ = events.send(AppEvent::Models(ModelsEvent::Listed(list)));
            });
        }
        ModelEffect::Load { name, path, config } => {
            let rope = config.rope_for(&path, config.profiles.get(&load.profile), &load.rope_flags);
            inference.addr.do_send(SwitchModel {
                name,
                path,
                threads: load.threads,
                engine: load.engine,
                context: load.context,
                config,
                rope,
            });
        }
        ModelEffect::Commit {
            turns,
            system,
            dialogue,
        } => inference.addr.do_send(CommitSwitch {
            turns,
            system,
            dialogue,
        }),
    }
}
