//! `gemma-tui bench`: one benchmark system. Every measurement is a suite run (`bench::runner`):
//! `--suite NAME`, `--quick` (the quick suite), or without either the pp/tg measurement built
//! from the flags (`bench::plan::pp_tg_suite`); `--prompt-tokens`, `--gen-tokens`, `--runs`,
//! `--full`, `--engines` and `--pipeline` change the suite's settings. Each run is stored in the
//! history, printed by the one report printer (or `--json`, the stored record) and checked against
//! its suite's baseline; with several engines, every iteration of every engine runs in a child
//! process of its own, alternating engines, and the engines are compared side by side.
mod bound;
mod history;
mod pipeline;
mod remote;
mod suite_run;

use super::CommandError;
use crate::cli::{BenchArgs, Cli};

pub fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CommandError> {
    if let Some(cmd) = &args.action {
        return history::run(cli, cmd);
    }
    if let Some(plan) = &args.child_plan {
        return suite_run::child(plan);
    }
    suite_run::run(cli, args)
}
