//! The dashboard's own path for one reply: the inference actor on its thread, each token's logits
//! sent to the sampling actor and back, the trace sent to the dashboard's channel, token events to
//! the metrics actor. Its time per token against the bare loop's is the per-step overhead.
use std::path::Path;
use std::time::Duration;

use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::actors::inference::{Generate, ModelSource, Prompt};
use gemma_tui::app::AppEvent;
use gemma_tui::engine::{EngineKind, Limits};
use gemma_tui::runtime::{start_actors, ActorPaths, RunOptions};
use gemma_tui::sampling::SamplerParams;

use crate::commands::CommandError;

/// Milliseconds per decoded token of a greedy reply generated through the actors.
pub fn decode_ms_per_token(
    path: &Path,
    threads: usize,
    engine: EngineKind,
    text: &str,
    n: usize,
) -> Result<f64, CommandError> {
    let system = gemma_tui::runtime::actix_system(1);
    let opts = RunOptions {
        engine,
        context: 1024,
        max_tokens: Some(n),
        sampler: SamplerParams::greedy(),
        ..RunOptions::new(
            ModelSource::Path(path.to_path_buf()),
            threads,
            ActorPaths::from_environment(&gemma_tui::config::config_dir(None)),
        )
    };
    let text = text.to_string();
    system.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let actors = start_actors(tx, &opts);
        loop {
            let event = tokio::time::timeout(Duration::from_secs(300), rx.recv())
                .await
                .map_err(|_| CommandError::Generation("the actors went quiet".into()))?
                .ok_or_else(|| CommandError::Generation("the actors stopped".into()))?;
            match event {
                AppEvent::Engine(EngineEvent::Loaded(_)) => {
                    actors.inference.addr.do_send(Generate {
                        request: 1,
                        prompt: Prompt::Raw(text.clone()),
                        limits: Limits::tokens(n),
                    });
                }
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => {
                    return Err(CommandError::Model(e));
                }
                AppEvent::Engine(EngineEvent::Failed { error, .. }) => {
                    return Err(CommandError::Generation(error));
                }
                AppEvent::Engine(EngineEvent::Finished { stats, .. }) => {
                    actix::System::current().stop();
                    return Ok(1000.0 / stats.decode_tok_s.max(f64::MIN_POSITIVE));
                }
                _ => {}
            }
        }
    })
}
