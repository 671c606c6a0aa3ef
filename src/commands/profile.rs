//! `gemma-tui profile list|show|copy|delete|set`, and the profile `ask` starts from.
use clap::parser::ValueSource;
use clap::ArgMatches;
use gemma_tui::config::{self, store, Config, LoadReport, Profile, BUILTIN_PROFILES};
use gemma_tui::sampling::SamplerParams;

use super::CommandError;
use crate::cli::{AskArgs, Cli, ProfileCommand};

/// The config of `--config-dir` (or its fallbacks), its problems reported on stderr: a broken
/// file must not stop a command, but the user must hear which version was used instead.
pub fn load(cli: &Cli) -> (std::path::PathBuf, LoadReport) {
    let dir = config::config_dir(cli.config_dir.as_deref());
    let report = config::load(&dir);
    for w in &report.warnings {
        eprintln!("gemma-tui: warning: {w}");
    }
    (dir, report)
}

pub fn run(cli: &Cli, cmd: &ProfileCommand) -> Result<(), CommandError> {
    let (dir, report) = load(cli);
    let config = &report.config;
    let edit = |f: &dyn Fn(&mut toml::Table, &Config) -> Result<(), String>| {
        store::edit_profiles(&dir, f).map_err(CommandError::Config)
    };
    let file = dir.join("profiles.toml");
    match cmd {
        ProfileCommand::List => {
            let defaults = Config::defaults();
            for (name, p) in &config.profiles {
                let active = if *name == config.settings.active_profile {
                    "*"
                } else {
                    " "
                };
                let kind = match defaults.profiles.get(name) {
                    Some(d) if d == p => "built-in",
                    Some(_) => "modified",
                    None => "user",
                };
                println!("{active} {name:<12} {kind:<9} {}", p.description);
            }
        }
        ProfileCommand::Show { name } => {
            let name = name.as_deref().unwrap_or(&config.settings.active_profile);
            let p = config.profile(Some(name)).map_err(CommandError::Config)?;
            let text = config::edit::to_table(p)
                .and_then(|t| toml::to_string(&t).map_err(|e| e.to_string()))
                .map_err(CommandError::Config)?;
            let kind = if BUILTIN_PROFILES.contains(&name) {
                "built-in"
            } else {
                "user"
            };
            println!("# profile `{name}` ({kind})\n{text}");
        }
        ProfileCommand::Copy { src, dst } => {
            edit(&|user, c| config::edit::copy(user, &c.profiles, src, dst))?;
            println!("copied `{src}` to `{dst}` in {}", file.display());
        }
        ProfileCommand::Delete { name } => {
            edit(&|user, c| {
                config::edit::delete(user, &c.profiles, name, &c.settings.active_profile)
            })?;
            println!("deleted `{name}` from {}", file.display());
        }
        ProfileCommand::Set { name, key, value } => {
            edit(&|user, c| config::edit::set_key(user, &c.profiles, name, key, value))?;
            println!("{name}.{key} = {value} in {}", file.display());
        }
    }
    Ok(())
}

/// What `ask` runs with: the profile's settings, with every flag given on the command line over
/// them (a flag left at its default does not override the profile).
pub struct AskSettings {
    pub sampler: Result<SamplerParams, String>,
    pub max_tokens: usize,
    pub ctx: usize,
    /// `--system`, else the profile's (the template's comes in when this is `None`).
    pub system: Option<String>,
    pub profile_name: String,
    /// `--template`, else the profile's.
    pub template: String,
    /// The profile's stop strings, then `--stop`'s.
    pub stop: Vec<String>,
    /// The configuration it came from (models.toml's `kind`).
    pub config: gemma_tui::config::Config,
    /// `--draft`/`--draft-max` over the profile's `draft`/`draft_max` (`None`: off).
    pub draft: Option<gemma_tui::engine::DraftParams>,
}

/// The reply length and context: `--max-tokens` and `--ctx` typed on the command line (`given`)
/// win over the profile's.
pub fn reply_limits(cli: &Cli, profile: &Profile, given: impl Fn(&str) -> bool) -> (usize, usize) {
    (
        if given("max_tokens") {
            cli.max_tokens
        } else {
            profile.max_tokens
        },
        if given("ctx") {
            cli.ctx
        } else {
            profile.context
        },
    )
}

pub fn ask_settings(cli: &Cli, args: &AskArgs, matches: &ArgMatches) -> AskSettings {
    let (_, report) = load(cli);
    let ask = matches.subcommand_matches("ask");
    let given = |id: &str| {
        let from = |m: &ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
        from(matches) || ask.is_some_and(from)
    };
    let profile_name = cli
        .profile
        .clone()
        .unwrap_or_else(|| report.config.settings.active_profile.clone());
    let profile = match report.config.profile(cli.profile.as_deref()) {
        Ok(p) => p.clone(),
        Err(e) => {
            use clap::CommandFactory;
            Cli::command()
                .error(clap::error::ErrorKind::InvalidValue, e)
                .exit()
        }
    };
    let sampler = args.sampling.to_params().and_then(|flags| {
        let mut p = profile.sampler.clone();
        // One line per flag: the clap id (the field name) and the parameter it sets.
        macro_rules! over {
            ($($id:literal => $field:ident),* $(,)?) => {
                $(if given($id) { p.$field = flags.$field.clone(); })*
            };
        }
        over!(
            "temp" => temperature,
            "dynatemp_range" => dynatemp_range,
            "dynatemp_exponent" => dynatemp_exponent,
            "top_k" => top_k,
            "top_p" => top_p,
            "min_p" => min_p,
            "typical_p" => typical_p,
            "mirostat" => mirostat,
            "mirostat_tau" => mirostat_tau,
            "mirostat_eta" => mirostat_eta,
            "repeat_penalty" => repeat_penalty,
            "repeat_last_n" => repeat_last_n,
            "presence_penalty" => presence_penalty,
            "frequency_penalty" => frequency_penalty,
            "dry_multiplier" => dry_multiplier,
            "dry_base" => dry_base,
            "dry_allowed_length" => dry_allowed_length,
            "dry_penalty_last_n" => dry_penalty_last_n,
            "xtc_probability" => xtc_probability,
            "xtc_threshold" => xtc_threshold,
            "seed" => seed,
            "samplers" => samplers,
        );
        p.validate()?;
        Ok(p)
    });
    let (max_tokens, ctx) = reply_limits(cli, &profile, given);
    AskSettings {
        sampler,
        max_tokens,
        ctx,
        system: args
            .system
            .clone()
            .or_else(|| profile.system_prompt().map(str::to_string)),
        template: args
            .template
            .clone()
            .unwrap_or_else(|| profile.template.clone()),
        profile_name,
        stop: profile.stop.iter().chain(&args.stop).cloned().collect(),
        draft: gemma_tui::engine::DraftParams::for_mode(
            args.draft.unwrap_or(profile.draft),
            args.draft_max.map_or(profile.draft_max, usize::from),
        ),
        config: report.config,
    }
}
