//! Carries out the model picker's and the switch's effects for the event loop: the listing on a
//! blocking thread (it reads GGUF headers), the load and the swap through the inference actor.
use crate::actors::inference::{CommitSwitch, SwitchModel};
use crate::app::models::{ModelEffect, ModelsEvent};
use crate::app::AppEvent;
use crate::runtime::{Actors, RunOptions};

pub fn apply(effect: ModelEffect, actors: &Actors, opts: &RunOptions) {
    match effect {
        ModelEffect::List { config } => {
            let events = actors.events.clone();
            let dir = opts
                .models_dir
                .clone()
                .unwrap_or_else(crate::models::models_dir);
            // Directory listing and header reads are blocking IO: never on the async executor.
            tokio::task::spawn_blocking(move || {
                let installed = crate::models::list_installed_in(&dir).unwrap_or_else(|e| {
                    tracing::warn!("listing {}: {e:#}", dir.display());
                    Vec::new()
                });
                let list = crate::models::catalog(&config, &installed);
                let _ = events.send(AppEvent::Models(ModelsEvent::Listed(list)));
            });
        }
        ModelEffect::Load { name, path, config } => {
            actors.inference.addr.do_send(SwitchModel {
                name,
                path,
                threads: opts.threads,
                engine: opts.engine,
                context: opts.context,
                config,
            });
        }
        ModelEffect::Commit {
            turns,
            system,
            dialogue,
        } => actors.inference.addr.do_send(CommitSwitch {
            turns,
            system,
            dialogue,
        }),
    }
}
