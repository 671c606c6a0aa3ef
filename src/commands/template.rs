//! `gemma-tui template list|show|render`.
use gemma_tui::config::template_files::{self, BUILTIN_TEMPLATES};
use gemma_tui::config::templates::{timestamp_now, PromptVars};

use super::CommandError;
use crate::cli::{Cli, TemplateCommand};

pub fn run(cli: &Cli, cmd: &TemplateCommand) -> Result<(), CommandError> {
    let dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
    let set = template_files::load_templates(&dir);
    // A broken file must not hide the others, but it must be heard.
    for e in &set.errors {
        eprintln!("gemma-tui: warning: {e}");
    }
    match cmd {
        TemplateCommand::List => {
            for (name, (t, source)) in &set.templates {
                let suits = if t.meta.profile.is_empty() {
                    String::new()
                } else {
                    format!(" (suits {})", t.meta.profile)
                };
                println!(
                    "{name:<12} {:<9} {}{suits}",
                    source.label(),
                    t.meta.description
                );
            }
        }
        TemplateCommand::Show { name } => {
            let t = set.get(name).map_err(CommandError::Config)?;
            match std::fs::read_to_string(
                template_files::templates_dir(&dir).join(format!("{name}.md")),
            ) {
                Ok(text) if set.templates[name].1 != gemma_tui::config::TemplateSource::Builtin => {
                    print!("{text}")
                }
                _ => {
                    let text = BUILTIN_TEMPLATES
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, text)| *text)
                        .unwrap_or(t.body.as_str());
                    print!("{text}");
                }
            }
        }
        TemplateCommand::Render { name, vars } => {
            let t = set.get(name).map_err(CommandError::Config)?;
            let mut values = PromptVars {
                timestamp: timestamp_now(),
                profile: cli.profile.clone().unwrap_or_default(),
                ..PromptVars::default()
            };
            for (k, v) in vars {
                t.check_var(k)
                    .map_err(|e| CommandError::Config(e.to_string()))?;
                values.set(k, v.clone());
            }
            let text = t
                .render(&values)
                .map_err(|e| CommandError::Config(e.to_string()))?;
            println!("{text}");
        }
    }
    Ok(())
}
