//! gemma-tui: parse the command line, set up logging, then run the dashboard or a headless command.

// Closed pipes. std's `println!` panics when the reader of a piped stdout has gone
// (`gemma-tui bench list --json | head -1`: "failed printing to stdout: Broken pipe" and a
// backtrace); Unix tools end quietly there. Two fixes were weighed:
// - Restoring SIGPIPE's default disposition (`libc::signal(SIGPIPE, SIG_DFL)`) lets the kernel kill
//   the process on that write: quiet, but the status is "killed by signal 13" (141 in a shell, a
//   failure under `set -o pipefail`), it reaches every socket and pipe the process writes (a Hub
//   download, `serve`, a pip child), and the dashboard must never die from a signal while it owns
//   the terminal (raw mode and the alternate screen would be left on).
// - Taken: these macros shadow std's `print!`/`println!` in every module of this binary
//   (macro_rules! scope is textual, hence before the `mod` lines). A write to a closed stdout ends
//   the process with exit status 0 and nothing on stderr; any other write error panics as std's
//   does. The library (and so the dashboard) never prints through them.
macro_rules! println {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod cli;
mod commands;

use std::process::ExitCode;

use clap::FromArgMatches;
use gemma_tui::actors::inference::ModelSource;
use gemma_tui::runtime::{run_tui, ActorPaths, RunOptions};

use cli::{Cli, Command};
use commands::CommandError;

fn main() -> ExitCode {
    // The matches too: `ask` needs to know which flags were given to layer them over a profile.
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let _log_guard = gemma_tui::logging::init(cli.log.as_deref());
    // `--model NAME` becomes its path here, once, for the dashboard and every command.
    let result = commands::resolve_model_name(&mut cli).and_then(|()| match &cli.command {
        None => run_dashboard(&cli, &matches),
        Some(Command::Ask(args)) => commands::ask::run(&cli, args, &matches),
        Some(Command::Model(cmd)) => commands::model::run(&cli, cmd),
        Some(Command::Bench(args)) => commands::bench::run(&cli, args),
        Some(Command::Profile(cmd)) => commands::profile::run(&cli, cmd),
        Some(Command::Template(cmd)) => commands::template::run(&cli, cmd),
        Some(Command::Session(cmd)) => commands::session::run(cmd),
        Some(Command::Rag(args)) => commands::rag::run(&cli, args),
        Some(Command::Serve(args)) => commands::serve::run(&cli, args),
        Some(Command::Perplexity(args)) => commands::perplexity::run(&cli, args, &matches),
        Some(Command::Completions { shell }) => commands::completions::run(*shell),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("gemma-tui: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What `print!`/`println!` expand to in this binary (see the top of this file).
fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    let result = std::io::stdout().lock().write_fmt(args);
    if let Err(e) = result {
        exit_if_closed_pipe(&e);
        panic!("failed printing to stdout: {e}");
    }
}

/// A reader that went away (`| head`) ends a headless command quietly and successfully, as it
/// would a Unix tool: what the command had left to do is dropped, as SIGPIPE would drop it (a
/// bench suite's run is stored before anything is printed).
fn exit_if_closed_pipe(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
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
        _ if let Some(remote) = commands::remote_model(cli)? => ModelSource::Remote(remote),
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
    let keymap = gemma_tui::config::keymap::load_keymap(&config_dir).unwrap_or_else(|e| {
        warnings.push(format!("{e} (using the default keys)"));
        Default::default()
    });
    let theme = gemma_tui::config::theme::load_theme(&config_dir).unwrap_or_else(|e| {
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
    // Every store and dir the actors use, resolved here once (the actors read no environment).
    let paths = ActorPaths::from_environment(&config_dir);
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
        rope: cli.rope.to_scaling(),
        ..RunOptions::new(
            model,
            cli.threads.unwrap_or_else(commands::default_threads),
            paths,
        )
    })
    .map_err(|e| CommandError::Io(format!("{e:#}")))
}
