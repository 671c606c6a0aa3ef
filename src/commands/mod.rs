//! Headless subcommands. Each returns an `ExitCode`-mapped error so scripts can tell failures apart.
pub mod ask;
pub mod bench;
pub mod completions;
pub mod model;
pub mod profile;
pub mod rag;
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

/// Peak resident memory of this process (VmHWM), in bytes, where Linux tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
