//! `gemma-tui bench --model NAME` where NAME is a remote engine: the plans' text-generation
//! workloads streamed through the cluster client and timed on our side
//! (`bench::remote_run`); what needs the local engine is left out, and said so on stderr.
use gemma_tui::bench::remote_run::{self, local_only_parts};
use gemma_tui::bench::{Progress, RunPlan, RunRecord};
use gemma_tui::remote::{Cluster, RemoteModel, HEALTH_EVERY};
use indicatif::ProgressBar;

use crate::commands::CommandError;

/// A progress bar and what moves it.
pub type ShownProgress = (ProgressBar, Box<dyn FnMut(&Progress)>);

/// Makes a progress bar with a prefix.
pub type BarMaker = dyn Fn(&str) -> ShownProgress;

/// Every plan measured against `remote`, in order; nothing stored yet.
pub fn measure(
    remote: &RemoteModel,
    plans: &[RunPlan],
    json: bool,
    progress_bar: &BarMaker,
) -> Result<Vec<RunRecord>, CommandError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Io(format!("cannot start the HTTP runtime: {e}")))?;
    runtime.block_on(async {
        let cluster = Cluster::connect(remote, HEALTH_EVERY)
            .await
            .map_err(|e| CommandError::Model(e.to_string()))?;
        let mut records = Vec::new();
        for plan in plans {
            let skipped = local_only_parts(plan);
            if !skipped.is_empty() && !json {
                eprintln!(
                    "{} is remote: not measured: {}",
                    remote.name,
                    skipped.join("; ")
                );
            }
            let (bar, mut show) = progress_bar(&format!(
                "{} ({}/{} remote {})",
                plan.suite_name,
                plan.model_name,
                plan.profile_name,
                cluster.backend.name()
            ));
            let record = remote_run::run(plan, &cluster, &mut *show, &|| false).await;
            bar.finish_and_clear();
            records.push(record.map_err(|e| CommandError::Generation(e.to_string()))?);
        }
        Ok(records)
    })
}
