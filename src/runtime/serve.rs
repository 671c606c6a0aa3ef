//! Starting the dashboard's server (`Effect::StartServer`): the loaded engine from the inference
//! actor, the server's settings from settings.toml's `[server]` and the active profile, then the
//! serve actor. A failure at any step becomes a `ServeEvent::Failed` the pane shows.
use crate::actors::inference::SharedEngine;
use crate::actors::serve::{ServeEvent, ServeOptions, StartServer};
use crate::app::effect::ServerStart;
use crate::app::AppEvent;
use crate::serve::setup::{
    server_config, ServeLimits, DEFAULT_MAX_BODY, DEFAULT_MAX_QUEUE, DEFAULT_MAX_TOKENS_CAP,
};

use super::wiring::{Actors, RunOptions};

pub fn start_server(start: ServerStart, actors: &Actors, opts: &RunOptions) {
    let inference = actors.inference.addr.clone();
    let serve = actors.serve.addr.clone();
    let events = actors.events.clone();
    let config_dir = opts.paths.suites_dir.clone();
    let ctx = opts.context;
    actix::spawn(async move {
        let fail = |e: String| {
            let _ = events.send(AppEvent::Serve(ServeEvent::Failed(e)));
        };
        let engine = match inference.send(SharedEngine).await {
            Ok(Some(engine)) => engine,
            Ok(None) => {
                return fail(
                    "no local model is loaded (a remote model is served by its own server)".into(),
                )
            }
            Err(e) => return fail(format!("the inference actor did not answer: {e}")),
        };
        let settings = &start.config.settings.server;
        let api_key = std::env::var(&settings.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        let model_name = engine
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let limits = ServeLimits {
            api_key,
            parallel: settings.parallel,
            ctx,
            max_body: DEFAULT_MAX_BODY,
            max_tokens_cap: DEFAULT_MAX_TOKENS_CAP,
            max_queue: DEFAULT_MAX_QUEUE,
        };
        let config = match server_config(
            &start.config,
            &config_dir,
            Some(&start.profile),
            &model_name,
            limits,
        ) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        serve.do_send(StartServer {
            engine,
            options: ServeOptions {
                host: settings.host.clone(),
                port: settings.port,
                insecure: false,
                config,
            },
        });
    });
}
