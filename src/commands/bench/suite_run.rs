//! Runs a benchmark suite headless: the plans of the suite (`--suite`, `--quick` or the pp/tg
//! flags), each measured in this process with a progress bar, or, when they span several engines
//! (or run llama.cpp), one iteration per child process (`bench --child-plan`), alternating engines. Every run is stored
//! in the history and printed (or `--json`); the command fails with exit code 6 when a run is a
//! regression against its suite's pinned baseline.
use std::process::Command;
use std::time::Duration;

use gemma_tui::bench::plan::{
    apply_flags, left_out_note, plans_for, pp_tg_suite, Overrides, SuiteFlags,
};
use gemma_tui::bench::suite::{find, load_suites};
use gemma_tui::bench::{compare, runner, BenchStore, Progress, RunPlan, RunRecord};
use gemma_tui::engine::EngineKind;
use indicatif::{ProgressBar, ProgressStyle};

use super::bound::DecodeBounds;
use super::history::{print_comparison, print_engines, print_run};
use super::pipeline;
use crate::cli::{BenchArgs, Cli};
use crate::commands::{default_threads, CommandError};

fn io(e: impl std::fmt::Display) -> CommandError {
    CommandError::Io(e.to_string())
}

pub fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CommandError> {
    let (config_dir, report) = crate::commands::profile::load(cli);
    let config = report.config;
    let remote = crate::commands::remote_model(cli)?;
    if let Some(p) = cli.model.as_ref().filter(|_| remote.is_none()) {
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
    let flags = SuiteFlags {
        prompt_tokens: args.prompt_tokens,
        gen_tokens: args.gen_tokens,
        runs: args.runs,
        full: args.full,
        engines: args.engines.clone(),
        pipeline: args.pipeline,
        parallel: args.parallel.clone(),
    };
    let base = args
        .suite
        .clone()
        .or_else(|| args.quick.then(|| "quick".to_string()));
    let (suite_name, suite) = match &base {
        Some(name) => {
            let suites = load_suites(&config_dir).map_err(CommandError::Config)?;
            apply_flags(
                Some(name),
                find(&suites, name).map_err(CommandError::Config)?,
                &flags,
            )
        }
        None => apply_flags(None, &pp_tg_suite(), &flags),
    };
    let mut plans = plans_for(&config, &suite_name, &suite, &over).map_err(CommandError::Config)?;
    if let Some(note) = left_out_note(&suite_name, &suite, &plans) {
        eprintln!("note: {note}");
    }
    let mut done = Finished::default();
    let mut bounds = DecodeBounds::new(!args.no_bandwidth);
    if let Some(remote) = remote {
        // The engine runs on the server: one plan per profile, whatever engines the suite names.
        plans.dedup_by(|a, b| a.profile_name == b.profile_name);
        drop(BenchStore::open_default().map_err(io)?);
        for plan in &mut plans {
            plan.model_name = remote.name.clone();
        }
        for record in super::remote::measure(&remote, &plans, args.json, &progress_bar)? {
            done.store(record, args)?;
        }
        return finish(done, args);
    }
    for plan in &plans {
        if plan.model_path == gemma_tui::models::default_model_path() && !plan.model_path.exists() {
            crate::commands::resolve_model(None)?;
        }
    }
    // Open the history before measuring, so a broken file fails fast; then let it go, so that
    // `bench list` works in another terminal while this runs.
    drop(BenchStore::open_default().map_err(io)?);
    // Child processes when the figures of one engine must not hold another's, and for llama.cpp,
    // which keeps every model it loaded for the life of the process (each iteration's load would
    // add to the next one's peak RSS).
    let engines = plans.iter().map(|p| p.engine).collect::<Vec<_>>();
    if engines
        .iter()
        .any(|&e| e != engines[0] || e == EngineKind::LlamaCpp)
    {
        for record in in_children(&plans, args.json)? {
            done.store(bounds.attach(record), args)?;
        }
    } else {
        for (i, plan) in plans.iter().enumerate() {
            let record = in_process(plan, &format!("{suite_name} {}/{}", i + 1, plans.len()));
            done.store(bounds.attach(record?), args)?;
        }
    }
    finish(done, args)
}

/// Prints the stored runs (or the JSON of them) and fails on a regression.
fn finish(done: Finished, args: &BenchArgs) -> Result<(), CommandError> {
    if args.json {
        let text = if done.stored.len() == 1 {
            serde_json::to_string(&done.stored[0])
        } else {
            serde_json::to_string(&done.stored)
        };
        println!("{}", text.map_err(io)?);
    } else {
        print_engines(&done.stored, args.threshold);
    }
    if done.regressions.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Regression(format!(
            "regression: {}",
            done.regressions.join("; ")
        )))
    }
}

/// The runs stored so far and the regressions among them.
#[derive(Default)]
struct Finished {
    stored: Vec<RunRecord>,
    regressions: Vec<String>,
}

impl Finished {
    /// Stores `record`, prints it (unless `--json`) and checks it against its suite's baseline,
    /// when that ran on the same engine.
    fn store(&mut self, record: RunRecord, args: &BenchArgs) -> Result<(), CommandError> {
        let store = BenchStore::open_default().map_err(io)?;
        let record = store.insert(record).map_err(io)?;
        if !args.json {
            print_run(&record);
        }
        if let Some(base) = store.baseline(&record.suite).map_err(io)? {
            if base.engine != record.engine {
                if !args.json {
                    println!(
                        "\nnot compared with baseline #{}: it ran on {}",
                        base.id, base.engine
                    );
                }
            } else {
                let c = compare(&base, &record, args.threshold);
                if !args.json {
                    println!();
                    print_comparison(&base, &record, &c);
                }
                if c.regression {
                    self.regressions
                        .push(format!("run #{} against baseline #{}", record.id, base.id));
                }
            }
        }
        if !args.json {
            println!();
        }
        self.stored.push(record);
        Ok(())
    }
}

/// One plan measured in this process, with a progress bar on stderr.
fn in_process(plan: &RunPlan, prefix: &str) -> Result<RunRecord, CommandError> {
    let (bar, mut show) = progress_bar(&format!(
        "{prefix} ({}/{} {})",
        plan.model_name, plan.profile_name, plan.engine
    ));
    let record = runner::run_with(plan, Some(&mut pipeline::overhead_pct), &mut *show, &|| {
        false
    })
    .map_err(|e| CommandError::Generation(e.to_string()));
    bar.finish_and_clear();
    record
}

/// A progress bar on stderr prefixed `prefix`, and what moves it.
fn progress_bar(prefix: &str) -> super::remote::ShownProgress {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    let shown = bar.clone();
    let show = move |p: &Progress| {
        shown.set_position((p.fraction * 1000.0) as u64);
        let kind = if p.warmup { "warm-up" } else { "iteration" };
        let token = p
            .token_ms
            .map(|ms| format!("  {ms:.1} ms/token"))
            .unwrap_or_default();
        shown.set_message(format!(
            "{kind} {}/{} {}{token}",
            p.iteration, p.iterations, p.phase
        ));
    };
    (bar, Box::new(show))
}

/// Every plan's iterations, one child process each, alternating plans (and so engines) within
/// each round; the perplexity, when the suite scores it, in the first measured round. The suite's
/// warm-up passes are rounds of their own whose records are dropped, so that every process loads
/// its model once (llama.cpp keeps a loaded model for the life of the process, and a second load
/// would count twice in the peak RSS). One record per plan, in the plans' order.
fn in_children(plans: &[RunPlan], json: bool) -> Result<Vec<RunRecord>, CommandError> {
    let exe = std::env::current_exe().map_err(io)?;
    let warmup = plans.iter().map(|p| p.suite.warmup).max().unwrap_or(0);
    let rounds = plans.iter().map(|p| p.suite.iterations).max().unwrap_or(1);
    let mut merged: Vec<Option<RunRecord>> = vec![None; plans.len()];
    for round in 0..warmup + rounds {
        for (i, plan) in plans.iter().enumerate() {
            let measured = round.checked_sub(warmup);
            let (n, of) = match measured {
                Some(m) => (m, plan.suite.iterations),
                None => (round, plan.suite.warmup),
            };
            if n >= of {
                continue;
            }
            if !json {
                eprintln!(
                    "{} {}/{of}: {} ({}/{})",
                    if measured.is_some() { "run" } else { "warm-up" },
                    n + 1,
                    plan.engine,
                    plan.model_name,
                    plan.profile_name
                );
            }
            let mut one = plan.clone();
            one.suite.warmup = 0;
            one.suite.iterations = 1;
            if measured != Some(0) {
                one.suite.perplexity_tokens = 0;
                one.suite.perplexity_ctx.clear();
            }
            if measured.is_none() {
                one.suite.pipeline = false;
            }
            let text = serde_json::to_string(&one).map_err(io)?;
            let out = Command::new(&exe)
                .args(["bench", "--child-plan", &text])
                .output()
                .map_err(io)?;
            if !out.status.success() {
                return Err(CommandError::Generation(format!(
                    "the {} run failed: {}",
                    plan.engine,
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let r: RunRecord = serde_json::from_slice(&out.stdout).map_err(|e| {
                CommandError::Io(format!("the {} run printed no record: {e}", plan.engine))
            })?;
            if measured.is_none() {
                continue;
            }
            match &mut merged[i] {
                Some(m) => m.absorb(r),
                slot => {
                    *slot = Some(RunRecord {
                        suite_settings: plan.suite.clone(),
                        ..r
                    })
                }
            }
        }
    }
    Ok(merged.into_iter().flatten().collect())
}

/// `bench --child-plan JSON`: one plan measured in this process, its record printed as JSON and
/// not stored (the parent merges and stores it).
pub fn child(plan: &str) -> Result<(), CommandError> {
    let plan: RunPlan =
        serde_json::from_str(plan).map_err(|e| CommandError::Io(format!("--child-plan: {e}")))?;
    let record = runner::run_with(
        &plan,
        Some(&mut pipeline::overhead_pct),
        &mut |_| {},
        &|| false,
    )
    .map_err(|e| CommandError::Generation(e.to_string()))?;
    println!("{}", serde_json::to_string(&record).map_err(io)?);
    Ok(())
}
