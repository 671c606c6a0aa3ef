//! Headless subcommands. Each returns an `ExitCode`-mapped error so scripts can tell failures apart.
pub mod ask;
mod ask_constrained;
mod ask_remote;
pub mod bench;
pub mod completions;
pub mod model;
pub mod perplexity;
pub mod profile;
pub mod rag;
pub mod serve;
pub mod session;
pub mod template;

use std::path::PathBuf;

/// Exit codes: 0 success, 2 bad usage (clap), 3 model missing or invalid, 4 generation failed,
/// 5 a configuration change refused, 6 a benchmark run regressed against its baseline.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Generation(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Regression(String),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Model(_) => 3,
            CommandError::Generation(_) => 4,
            CommandError::Io(_) => 1,
            CommandError::Config(_) => 5,
            CommandError::Regression(_) => 6,
        }
    }
}

/// `--model` as given: the path of a models.toml entry of that name (none for an entry with an
/// empty path: the default model), else a file. Neither is an error that lists the known names.
pub fn resolve_model_name(cli: &mut crate::cli::Cli) -> Result<(), CommandError> {
    let Some(given) = cli.model.take() else {
        return Ok(());
    };
    let dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
    let report = gemma_tui::config::load(&dir);
    cli.model = model_by_name(&report.config, &given).map_err(|e| match &e {
        // A name missing because models.toml could not be used: say why.
        CommandError::Model(m) if !report.warnings.is_empty() => {
            CommandError::Model(format!("{m}; {}", report.warnings.join("; ")))
        }
        _ => e,
    })?;
    Ok(())
}

/// The pure part of [`resolve_model_name`]. A remote entry's name stays as it is: there is no
/// file, and [`remote_model`] finds the entry again by that name.
fn model_by_name(
    config: &gemma_tui::config::Config,
    given: &std::path::Path,
) -> Result<Option<PathBuf>, CommandError> {
    if let Some(entry) = given.to_str().and_then(|name| config.models.get(name)) {
        if entry.is_remote() {
            return Ok(Some(given.to_path_buf()));
        }
        return Ok(Some(PathBuf::from(&entry.path)).filter(|p| !p.as_os_str().is_empty()));
    }
    if given.exists() {
        return Ok(Some(given.to_path_buf()));
    }
    Err(CommandError::Model(format!(
        "model `{}` does not exist: no such file, nor a models.toml name (known: {})",
        given.display(),
        config.models.keys().cloned().collect::<Vec<_>>().join(", ")
    )))
}

/// The remote engine `--model` names (a models.toml entry with `url` or `urls`), if it does.
pub fn remote_model(
    cli: &crate::cli::Cli,
) -> Result<Option<gemma_tui::remote::RemoteModel>, CommandError> {
    let Some(name) = cli.model.as_deref().and_then(|p| p.to_str()) else {
        return Ok(None);
    };
    let dir = gemma_tui::config::config_dir(cli.config_dir.as_deref());
    let config = gemma_tui::config::load(&dir).config;
    remote_by_name(&config, name)
}

fn remote_by_name(
    config: &gemma_tui::config::Config,
    name: &str,
) -> Result<Option<gemma_tui::remote::RemoteModel>, CommandError> {
    match config.models.get(name) {
        Some(entry) => entry.remote(name).map_err(CommandError::Model),
        None => Ok(None),
    }
}

/// The model to use: `--model`, or the default one (fetched with a progress bar when missing).
pub fn resolve_model(path: Option<PathBuf>) -> Result<PathBuf, CommandError> {
    if let Some(p) = path {
        if !p.exists() {
            return Err(CommandError::Model(format!(
                "model file {} does not exist",
                p.display()
            )));
        }
        return Ok(p);
    }
    let default = gemma_tui::models::default_model_path();
    if default.exists() {
        return Ok(default);
    }
    model::pull_with_progress_bar()
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_resolve_to_their_paths_and_files_stay_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("other.gguf");
        std::fs::write(&file, b"x").unwrap();
        let mut config = gemma_tui::config::Config::defaults();
        config.models.insert(
            "other".into(),
            gemma_tui::config::ModelEntry {
                path: file.display().to_string(),
                ..Default::default()
            },
        );
        config.models.insert(
            "lab".into(),
            gemma_tui::config::ModelEntry {
                urls: vec![
                    "http://127.0.0.1:9/v1".into(),
                    "http://127.0.0.1:10/v1".into(),
                ],
                ..Default::default()
            },
        );
        let by = |s: &str| model_by_name(&config, std::path::Path::new(s));
        assert_eq!(by("other").unwrap(), Some(file.clone()));
        assert_eq!(by("gemma-3-270m").unwrap(), None, "empty path: the default");
        assert_eq!(by(file.to_str().unwrap()).unwrap(), Some(file.clone()));
        assert_eq!(
            by("lab").unwrap(),
            Some(PathBuf::from("lab")),
            "a remote keeps its name"
        );
        let remote = remote_by_name(&config, "lab").unwrap().unwrap();
        assert_eq!(remote.urls.len(), 2);
        assert!(remote_by_name(&config, "other").unwrap().is_none());
        let err = by("nope").unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.to_string().contains("gemma-3-270m, lab, other"),
            "{err}"
        );
    }
}
