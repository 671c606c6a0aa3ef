//! From a suite name to the runs it stands for: every model of the suite times every profile,
//! with `--model` / `--profile` (or the dashboard's model) taking the place of the suite's lists.
use std::path::{Path, PathBuf};

use super::runner::RunPlan;
use super::suite::{find, load_suites};
use crate::config::Config;
use crate::engine::EngineKind;

/// What the caller already decided.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub model: Option<PathBuf>,
    pub profile: Option<String>,
    pub threads: usize,
    pub engine: EngineKind,
}

pub fn plans(
    config_dir: &Path,
    config: &Config,
    suite_name: &str,
    over: &Overrides,
) -> Result<Vec<RunPlan>, String> {
    let suites = load_suites(config_dir)?;
    let suite = find(&suites, suite_name)?.clone();
    let models: Vec<(String, PathBuf)> = match &over.model {
        Some(path) => vec![(model_label(path), path.clone())],
        None if suite.models.is_empty() => {
            let path = crate::models::default_model_path();
            vec![(config.settings.model.clone(), path)]
        }
        None => suite
            .models
            .iter()
            .map(|m| resolve_model(config, m))
            .collect::<Result<_, _>>()?,
    };
    let profiles: Vec<String> = match &over.profile {
        Some(p) => vec![p.clone()],
        None if suite.profiles.is_empty() => vec![config.settings.active_profile.clone()],
        None => suite.profiles.clone(),
    };
    let mut out = Vec::new();
    for (model_name, model_path) in &models {
        for profile_name in &profiles {
            let profile = config
                .profile(Some(profile_name))
                .map_err(|e| format!("suite `{suite_name}`: {e}"))?
                .clone();
            out.push(RunPlan {
                suite_name: suite_name.to_string(),
                suite: suite.clone(),
                model_name: model_name.clone(),
                model_path: model_path.clone(),
                profile_name: profile_name.clone(),
                profile,
                threads: over.threads,
                engine: over.engine,
            });
        }
    }
    Ok(out)
}

/// A models.toml name, or a path to a GGUF file.
fn resolve_model(config: &Config, name: &str) -> Result<(String, PathBuf), String> {
    if let Some(entry) = config.models.get(name) {
        let path = if entry.path.is_empty() {
            crate::models::default_model_path()
        } else {
            PathBuf::from(&entry.path)
        };
        return Ok((name.to_string(), path));
    }
    let path = PathBuf::from(name);
    if path.extension().is_some_and(|e| e == "gguf") {
        return Ok((model_label(&path), path));
    }
    Err(format!(
        "unknown model `{name}` (known: {}; or give a .gguf path)",
        config.models.keys().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// A model file's name without the extension.
pub fn model_label(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
