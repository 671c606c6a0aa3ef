//! The inference actor runs benchmark suites on its own thread: a suite must have the CPU to
//! itself, and this is the thread that already owns the model and is idle between replies.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::actors::supervision::{guard, Supervised};
use actix::{Handler, Message, SyncContext};

use super::actor::InferenceActor;
use crate::bench::ab::{stream_ab, AbModel, AbSide, AbUpdate};
use crate::bench::{runner, Progress, RunError, RunPlan, RunRecord};
use crate::engine::Engine;

/// Run `plans` one after another; progress goes to `progress` (run index, progress), each
/// finished record to `finished` as soon as it is done, so that a cancel keeps the runs before it.
#[derive(Message)]
#[rtype(result = "Result<(), RunError>")]
pub struct RunBench {
    pub plans: Vec<RunPlan>,
    pub progress: Arc<dyn Fn(usize, Progress) + Send + Sync>,
    pub finished: Arc<dyn Fn(RunRecord) + Send + Sync>,
    pub cancel: Arc<AtomicBool>,
}

impl Handler<RunBench> for InferenceActor {
    type Result = Result<(), RunError>;

    fn handle(&mut self, msg: RunBench, ctx: &mut SyncContext<Self>) -> Self::Result {
        // Supervised: see actors::supervision.
        match guard(|| {
            let cancelled = || msg.cancel.load(Ordering::SeqCst);
            if let Some(remote) = &self.remote {
                // The suites' text generation streamed from the server and timed here; what
                // needs our own process (memory, perplexity, the pipeline) is left out.
                for (i, plan) in msg.plans.iter().enumerate() {
                    let mut progress = |p: &Progress| (msg.progress)(i, p.clone());
                    (msg.finished)(remote.run_bench(plan, &mut progress, &cancelled)?);
                }
                return Ok(());
            }
            for (i, plan) in msg.plans.iter().enumerate() {
                tracing::info!(suite = %plan.suite_name, profile = %plan.profile_name, "bench run {}/{}", i + 1, msg.plans.len());
                let record = runner::run(plan, &mut |p| (msg.progress)(i, p.clone()), &cancelled)?;
                (msg.finished)(record);
            }
            Ok(())
        }) {
            Ok(r) => r,
            Err(reason) => {
                let fallback = Err(RunError::Engine(format!(
                    "the inference actor panicked: {reason}"
                )));
                self.restart(ctx, reason);
                fallback
            }
        }
    }
}

/// Stream one prompt under two settings side by side (A/B panes): on the loaded model, or on a
/// side's own model, loaded here for the run and dropped after it (this thread owns the CPU while
/// the replies stream; the dashboard's model stays loaded for the chat).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct RunAb {
    pub prompt: String,
    pub sides: [AbSide; 2],
    pub max_tokens: usize,
    pub updates: Arc<dyn Fn(AbUpdate) + Send + Sync>,
    pub cancel: Arc<AtomicBool>,
}

impl Handler<RunAb> for InferenceActor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: RunAb, ctx: &mut SyncContext<Self>) -> Self::Result {
        // Supervised: see actors::supervision.
        match guard(|| {
            if let Some(remote) = &self.remote {
                if msg.sides.iter().any(|s| s.model.is_some()) {
                    return Err("a side's own model cannot run beside a remote model".into());
                }
                let cancelled = || msg.cancel.load(Ordering::SeqCst);
                let updates = |u| (msg.updates)(u);
                return remote.run_ab(
                    &msg.prompt,
                    &msg.sides,
                    msg.max_tokens,
                    &updates,
                    &cancelled,
                );
            }
            let Some((engine, _)) = self.loaded.as_ref() else {
                return Err("no model is loaded".into());
            };
            let [ma, mb] = [msg.sides[0].model.as_ref(), msg.sides[1].model.as_ref()];
            let own_a = side_engine(engine, ma)?;
            // Both sides on the same other model: it is loaded once.
            let same = mb.is_some() && ma == mb;
            let own_b = if same { None } else { side_engine(engine, mb)? };
            let engine_a = own_a.as_ref().unwrap_or(engine);
            let engine_b = match &own_b {
                Some(e) => e,
                None if same => engine_a,
                None => engine,
            };
            let cancelled = || msg.cancel.load(Ordering::SeqCst);
            let result = stream_ab(
                [engine_a, engine_b],
                &msg.prompt,
                &msg.sides,
                msg.max_tokens,
                &mut |u| (msg.updates)(u),
                &cancelled,
            )
            .map_err(|e| e.to_string());
            if own_a.is_some() || own_b.is_some() {
                drop((own_a, own_b));
                super::switch::release_freed_memory();
            }
            result
        }) {
            Ok(r) => r,
            Err(reason) => {
                let fallback = Err(format!("the inference actor panicked: {reason}"));
                self.restart(ctx, reason);
                fallback
            }
        }
    }
}

/// A side's own engine, when it names a model other than the loaded one (same threads and
/// forward pass as the loaded one, so only the model differs).
fn side_engine(loaded: &Engine, model: Option<&AbModel>) -> Result<Option<Engine>, String> {
    let Some(m) = model else {
        return Ok(None);
    };
    let kind_same = m
        .kind_override
        .as_ref()
        .is_none_or(|k| k.kind == loaded.model_kind.kind);
    if kind_same && same_file(&m.path, &loaded.path) {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let mut engine = Engine::load_with(&m.path, loaded.threads(), loaded.kind)
        .map_err(|e| format!("{}: {e}", m.path.display()))?;
    if let Some(kind) = &m.kind_override {
        engine.model_kind = kind.clone();
    }
    tracing::info!(
        "A/B: loaded {} ({}) in {:.0} ms",
        m.path.display(),
        engine.model_kind.kind,
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(Some(engine))
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
