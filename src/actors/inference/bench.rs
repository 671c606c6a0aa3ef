//! The inference actor runs benchmark suites on its own thread: a suite must have the CPU to
//! itself, and this is the thread that already owns the model and is idle between replies.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::{Handler, Message, SyncContext};

use super::actor::InferenceActor;
use crate::bench::ab::{stream_ab, AbSide, AbUpdate};
use crate::bench::{runner, Progress, RunError, RunPlan, RunRecord};

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

    fn handle(&mut self, msg: RunBench, _: &mut SyncContext<Self>) -> Self::Result {
        let cancelled = || msg.cancel.load(Ordering::SeqCst);
        for (i, plan) in msg.plans.iter().enumerate() {
            tracing::info!(suite = %plan.suite_name, profile = %plan.profile_name, "bench run {}/{}", i + 1, msg.plans.len());
            let record = runner::run(plan, &mut |p| (msg.progress)(i, p.clone()), &cancelled)?;
            (msg.finished)(record);
        }
        Ok(())
    }
}

/// Stream one prompt under two settings side by side on the loaded model (A/B panes).
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

    fn handle(&mut self, msg: RunAb, _: &mut SyncContext<Self>) -> Self::Result {
        let Some((engine, _)) = self.loaded.as_ref() else {
            return Err("no model is loaded".into());
        };
        let cancelled = || msg.cancel.load(Ordering::SeqCst);
        stream_ab(
            engine,
            &msg.prompt,
            &msg.sides,
            msg.max_tokens,
            &mut |u| (msg.updates)(u),
            &cancelled,
        )
        .map_err(|e| e.to_string())
    }
}
