//! gemma-tui: parse the command line, set up logging, then run the dashboard or a headless command.
mod cli;
mod commands;

use std::process::ExitCode;

use clap::FromArgMatches;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::runtime::{run_tui, RunOptions};
use gemma_tui::sampling::SamplerParams;

use cli::{Cli, Command};
use commands::CommandError;

fn main() -> ExitCode {
    // The matches too: `ask` needs to know which flags were given to layer them over a profile.
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let _log_guard = gemma_tui::logging::init(cli.log.as_deref());
    let result = match &cli.command {
        None => run_dashboard(&cli),
        Some(Command::Ask(args)) => commands::ask::run(&cli, args, &matches),
        Some(Command::Model(cmd)) => commands::model::run(&cli, cmd),
        Some(Command::Bench(args)) => commands::bench::run(&cli, args),
        Some(Command::Profile(cmd)) => commands::profile::run(&cli, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("gemma-tui: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_dashboard(cli: &Cli) -> Result<(), CommandError> {
    let model = match &cli.model {
        Some(p) if !p.exists() => {
            return Err(CommandError::Model(format!(
                "model file {} does not exist",
                p.display()
            )))
        }
        Some(p) => ModelSource::Path(p.clone()),
        None => ModelSource::Default,
    };
    run_tui(RunOptions {
        model,
        threads: cli.threads.unwrap_or_else(commands::default_threads),
        engine: cli.engine,
        context: cli.ctx,
        max_tokens: cli.max_tokens,
        sampler: SamplerParams::default(),
        system_prompt: None,
    })
    .map_err(|e| CommandError::Io(format!("{e:#}")))
}
