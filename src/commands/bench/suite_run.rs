//! `gemma-tui bench --suite NAME`: run a suite headless with a progress bar, store every run in
//! the history, print it (or `--json`), and fail with exit code 6 when a run is a regression
//! against its suite's pinned baseline.
use std::time::Duration;

use gemma_tui::bench::plan::{plans, Overrides};
use gemma_tui::bench::{compare, runner, BenchStore, RunRecord};
use indicatif::{ProgressBar, ProgressStyle};

use super::history::{print_comparison, print_run};
use crate::cli::{BenchArgs, Cli};
use crate::commands::{default_threads, CommandError};

pub fn run(cli: &Cli, args: &BenchArgs, suite_name: &str) -> Result<(), CommandError> {
    let (config_dir, report) = crate::commands::profile::load(cli);
    let config = report.config;
    if let Some(p) = &cli.model {
        if !p.exists() {
            return Err(CommandError::Model(format!(
                "model file {} does not exist",
                p.display()
            )));
        }
    }
    let threads = cli.threads.unwrap_or(match config.settings.threads {
        0 => default_threads(),
        n => n,
    });
    let over = Overrides {
        model: cli.model.clone(),
        profile: cli.profile.clone(),
        threads,
        engine: cli.engine,
    };
    let plans = plans(&config_dir, &config, suite_name, &over).map_err(CommandError::Config)?;
    for plan in &plans {
        if plan.model_path == gemma_tui::models::default_model_path() && !plan.model_path.exists() {
            crate::commands::resolve_model(None)?;
        }
    }
    // Open the history before measuring, so a broken file fails fast; then let it go, so that
    // `bench list` works in another terminal while this runs.
    drop(BenchStore::open_default().map_err(|e| CommandError::Io(e.to_string()))?);
    let mut stored: Vec<RunRecord> = Vec::new();
    let mut regressions = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let bar = ProgressBar::new(1000);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!(
            "{suite_name} {}/{} ({}/{})",
            i + 1,
            plans.len(),
            plan.model_name,
            plan.profile_name
        ));
        bar.enable_steady_tick(Duration::from_millis(200));
        let record = runner::run(
            plan,
            &mut |p| {
                bar.set_position((p.fraction * 1000.0) as u64);
                let kind = if p.warmup { "warm-up" } else { "iteration" };
                let token = p
                    .token_ms
                    .map(|ms| format!("  {ms:.1} ms/token"))
                    .unwrap_or_default();
                bar.set_message(format!(
                    "{kind} {}/{} {}{token}",
                    p.iteration, p.iterations, p.phase
                ));
            },
            &|| false,
        )
        .map_err(|e| CommandError::Generation(e.to_string()));
        bar.finish_and_clear();
        let store = BenchStore::open_default().map_err(|e| CommandError::Io(e.to_string()))?;
        let record = store
            .insert(record?)
            .map_err(|e| CommandError::Io(e.to_string()))?;
        if !args.json {
            print_run(&record);
        }
        if let Some(base) = store
            .baseline(&record.suite)
            .map_err(|e| CommandError::Io(e.to_string()))?
        {
            let c = compare(&base, &record, args.threshold);
            if !args.json {
                println!();
                print_comparison(&base, &record, &c);
            }
            if c.regression {
                regressions.push(format!("run #{} against baseline #{}", record.id, base.id));
            }
        }
        stored.push(record);
    }
    if args.json {
        let text = if stored.len() == 1 {
            serde_json::to_string(&stored[0])
        } else {
            serde_json::to_string(&stored)
        };
        println!("{}", text.map_err(|e| CommandError::Io(e.to_string()))?);
    }
    if regressions.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Regression(format!(
            "regression: {}",
            regressions.join("; ")
        )))
    }
}
