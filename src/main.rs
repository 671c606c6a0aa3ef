//! gemma-tui: parse the command line, set up logging, then run the dashboard or a headless command.
mod cli;
mod commands;

use std::process::ExitCode;

use clap::FromArgMatches;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::runtime::{run_tui, RunOptions};

use cli::{Cli, Command};
use commands::CommandError;

fn main() -> ExitCode {
    // The matches too: `ask` needs to know which flags were given to layer them over a profile.
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let _log_guard = gemma_tui::logging::init(cli.log.as_deref());
    let result = match &cli.command {
        None => run_dashboard(&cli, &matches),
        Some(Command::Ask(args)) => commands::ask::run(&cli, args, &matches),
        Some(Command::Model(cmd)) => commands::model::run(&cli, cmd),
        Some(Command::Bench(args)) => commands::bench::run(&cli, args),
        Some(Command::Profile(cmd)) => commands::profile::run(&cli, cmd),
        Some(Command::Template(cmd)) => commands::template::run(&cli, cmd),
        Some(Command::Session(cmd)) => commands::session::run(cmd),
        Some(Command::Rag(args)) => commands::rag::run(&cli, args),
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

fn run_dashboard(cli: &Cli, matches: &clap::ArgMatches) -> Result<(), CommandError> {
    // The active profile (or --profile) sets the sampler, reply length, context and system prompt;
    // --max-tokens and --ctx typed on the command line win over it.
    let (_, report) = commands::profile::load(cli);
    let profile = report
        .config
        .profile(cli.profile.as_deref())
        .map_err(CommandError::Config)?
        .clone();
    let given = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
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
    // The reply length is the active profile's, per message (the app state knows it), unless
    // --max-tokens was typed.
    let (_, context) = commands::profile::reply_limits(cli, &profile, given);
    let config_dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
    let templates = gemma_tui::config::load_templates(&config_dir);
    // Whatever could not be used is logged and shown in the status bar; the fallbacks are used.
    let mut warnings: Vec<String> = report.warnings.clone();
    warnings.extend(templates.errors.iter().map(|e| e.to_string()));
    let keymap = gemma_tui::app::keymap_file::load_keymap(&config_dir).unwrap_or_else(|e| {
        warnings.push(format!("{e} (using the default keys)"));
        Default::default()
    });
    let theme = gemma_tui::ui::theme::load_theme(&config_dir).unwrap_or_else(|e| {
        warnings.push(format!("{e} (using the default colours)"));
        Default::default()
    });
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let active_profile = cli
        .profile
        .clone()
        .unwrap_or_else(|| report.config.settings.active_profile.clone());
    run_tui(RunOptions {
        engine: cli.engine,
        context,
        max_tokens: given("max_tokens").then_some(cli.max_tokens),
        sampler: profile.sampler.clone(),
        config_dir: Some(config_dir),
        profile: cli.profile.clone(),
        config: std::sync::Arc::new(report.config.clone()),
        templates: std::sync::Arc::new(templates),
        active_profile,
        data_dir: Some(gemma_tui::conversations::data_dir()),
        keymap,
        theme,
        startup_warnings: warnings,
        rag: (report.config.settings.rag.enabled && profile.rag)
            .then(|| report.config.settings.rag.clone()),
        ..RunOptions::new(model, cli.threads.unwrap_or_else(commands::default_threads))
    })
    .map_err(|e| CommandError::Io(format!("{e:#}")))
}
