//! The dashboard's own path for one reply: the inference actor on its thread, each token's logits
//! sent to the sampling actor and back, the trace sent to the dashboard's channel, token events to
//! the metrics actor. Its time per token against the bare loop's is the per-step overhead, the
//! figure a suite with `pipeline` measures after each iteration (`bench::runner::PipelineProbe`).
use std::path::Path;
use std::time::Duration;

use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::actors::inference::{Generate, ModelSource, Prompt};
use gemma_tui::app::AppEvent;
use gemma_tui::bench::runner::PROMPT_TEXT;
use gemma_tui::bench::{RunError, RunPlan};
use gemma_tui::engine::{Engine, EngineError, EngineKind, Limits, PromptKind, StepControl};
use gemma_tui::runtime::{start_actors, ActorPaths, RunOptions};
use gemma_tui::sampling::{argmax, SamplerParams};

use crate::commands::CommandError;

/// A greedy reply of the plan's `gen_tokens` to the same raw text, through the actors over the
/// bare generation loop: the per-token time's excess, in percent.
pub fn overhead_pct(plan: &RunPlan) -> Result<f64, RunError> {
    let text = PROMPT_TEXT.repeat(2);
    let n = plan.suite.gen_tokens;
    let fail = |e: EngineError| RunError::Engine(e.to_string());
    let engine = Engine::load_with(&plan.model_path, plan.threads, plan.engine).map_err(fail)?;
    let bare = bare_decode_ms_per_token(&engine, &text, n).map_err(fail)?;
    drop(engine);
    let piped = decode_ms_per_token(&plan.model_path, plan.threads, plan.engine, &text, n)
        .map_err(|e| RunError::Engine(e.to_string()))?;
    Ok((piped / bare - 1.0) * 100.0)
}

/// Milliseconds per decoded token of a greedy reply through the generation loop, sampling in
/// the same thread: the baseline the pipeline is compared with.
fn bare_decode_ms_per_token(engine: &Engine, text: &str, n: usize) -> Result<f64, EngineError> {
    let mut session = engine.new_session(1024)?;
    let stats = engine.generate(
        &mut session,
        &PromptKind::Raw(text.to_string()),
        &Limits::tokens(n),
        &|| false,
        &mut |logits, _| Ok(argmax(&logits)),
        &mut |_| StepControl::Continue,
    )?;
    Ok(stats.decode_ms / stats.generated_ids.len().saturating_sub(1).max(1) as f64)
}

/// Milliseconds per decoded token of a greedy reply generated through the actors.
fn decode_ms_per_token(
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
                        output: None,
                        context_shift: None,
                        draft: None,
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
