//! File-backed configuration: settings.toml, profiles.toml and models.toml in the config directory,
//! overlaid key by key on defaults embedded from the repository's `config/` folder.
//!
//! The pure parts (parsing, overlay, validation, error positions, edits) are in [`pure`] and
//! [`edit`]; everything that touches the disk (the directory, atomic writes, the `.bak` fallback)
//! is in [`store`], so the rules can be tested without IO.
pub mod edit;
pub mod keymap;
pub mod pure;
pub mod rag_settings;
pub mod remote_entry;
pub mod server_settings;
pub mod store;
pub mod template_files;
pub mod templates;
pub mod theme;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sampling::SamplerParams;

pub use store::{config_dir, data_dir, load, write_atomic, LoadReport, Source, DATA_DIR_ENV};
pub use template_files::{load_templates, TemplateSet, TemplateSource};
pub use templates::{PromptVars, Template, TemplateError};

/// The embedded defaults: the user's files only say what differs from these.
pub const DEFAULT_SETTINGS: &str = include_str!("../../config/settings.toml");
pub const DEFAULT_PROFILES: &str = include_str!("../../config/profiles.toml");
pub const DEFAULT_MODELS: &str = include_str!("../../config/models.toml");

/// The profiles that ship with the binary (they cannot be deleted, only overlaid).
pub const BUILTIN_PROFILES: [&str; 6] = [
    "speed", "balanced", "quality", "creative", "precise", "coding",
];

/// The environment variable that moves the config directory (after `--config-dir`).
pub const CONFIG_DIR_ENV: &str = "GEMMA_TUI_CONFIG_DIR";

/// Which of the config files a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Settings,
    Profiles,
    Models,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [FileKind::Settings, FileKind::Profiles, FileKind::Models];

    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Settings => "settings.toml",
            FileKind::Profiles => "profiles.toml",
            FileKind::Models => "models.toml",
        }
    }

    pub fn defaults(self) -> &'static str {
        match self {
            FileKind::Settings => DEFAULT_SETTINGS,
            FileKind::Profiles => DEFAULT_PROFILES,
            FileKind::Models => DEFAULT_MODELS,
        }
    }

    /// The kind a file name ends with (`x.profiles.toml` is a profiles file), for fixtures.
    pub fn from_file_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| name.ends_with(k.file_name()))
    }
}

/// One profile: the sampler chain's settings plus the generation settings around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    pub description: String,
    /// Most tokens in one reply.
    pub max_tokens: usize,
    /// KV cache size in tokens.
    pub context: usize,
    /// The prompt template's name (templates come in a later part of issue 5: not checked yet).
    pub template: String,
    /// Empty means none.
    pub system_prompt: String,
    /// A table of its own rather than flattened: serde's flatten loses toml's error positions and
    /// the unknown-key check, and both matter for hand-edited files.
    pub sampler: SamplerParams,
    /// Inject RAG memories into this profile's prompts (when `[rag] enabled` too).
    pub rag: bool,
    /// Strings that end a reply (llama.cpp's `--reverse-prompt`/`stop`), besides the chat
    /// format's own and the template's.
    pub stop: Vec<String>,
    /// RoPE scaling (`[profiles.NAME.rope]`), over the model entry's; unset keys are the model's.
    #[serde(skip_serializing_if = "crate::engine::RopeScaling::is_unset")]
    pub rope: crate::engine::RopeScaling,
    /// Every reply is one JSON value valid under this JSON Schema (its JSON text); "" for none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_schema: String,
    /// Every reply matches this regular expression as a whole; "" for none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub regex: String,
    /// When the context fills, drop old tokens and go on (llama.cpp's context shift) instead of
    /// ending the reply.
    pub context_shift: bool,
    /// Tokens after BOS that a context shift keeps (llama.cpp's `--keep`).
    pub keep: usize,
    /// Exact n-gram drafting of replies (README "Drafting"): `ngram` or `off`.
    pub draft: crate::engine::DraftMode,
    /// Most tokens guessed per verify (1..=32).
    pub draft_max: usize,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            description: String::new(),
            max_tokens: 512,
            context: 4096,
            template: "default".into(),
            system_prompt: String::new(),
            sampler: SamplerParams::default(),
            rag: true,
            stop: Vec::new(),
            rope: Default::default(),
            json_schema: String::new(),
            regex: String::new(),
            context_shift: false,
            keep: 0,
            draft: Default::default(),
            draft_max: crate::engine::draft::DEFAULT_DRAFT_MAX,
        }
    }
}

impl Profile {
    pub fn system_prompt(&self) -> Option<&str> {
        Some(self.system_prompt.as_str()).filter(|s| !s.trim().is_empty())
    }

    /// The drafting this profile asks for (`None`: off).
    pub fn draft_params(&self) -> Option<crate::engine::DraftParams> {
        crate::engine::DraftParams::for_mode(self.draft, self.draft_max)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub active_profile: String,
    pub model: String,
    /// 0 means every available core.
    pub threads: usize,
    /// RAG memory: budget, ranking weights, tiers.
    pub rag: rag_settings::RagSettings,
    /// The dashboard's OpenAI-compatible server (F8).
    pub server: server_settings::ServerSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            active_profile: "balanced".into(),
            model: "gemma-3-270m".into(),
            threads: 0,
            rag: rag_settings::RagSettings::default(),
            server: server_settings::ServerSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelEntry {
    /// Empty means the default model in the cache.
    pub path: String,
    pub description: String,
    pub max_context: usize,
    /// "base" or "instruct"; absent: read from the GGUF's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::engine::ModelKind>,
    /// A remote engine's base URL (`http://host:port/v1`) instead of a `path`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Several nodes serving the same model, balanced (instead of `url`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// The environment variable holding the remote's API key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_key_env: String,
    /// The model name the remote serves; empty: the first its `/v1/models` lists.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The kind of server: llama-server, vllm, ollama, gemma-tui or openai; absent: guessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<crate::remote::Backend>,
    /// RoPE scaling for this model (`[models.NAME.rope]`); unset keys are the GGUF's.
    #[serde(skip_serializing_if = "crate::engine::RopeScaling::is_unset")]
    pub rope: crate::engine::RopeScaling,
}

impl Default for ModelEntry {
    fn default() -> Self {
        Self {
            path: String::new(),
            description: String::new(),
            max_context: 32768,
            kind: None,
            url: String::new(),
            urls: Vec::new(),
            api_key_env: String::new(),
            model: String::new(),
            backend: None,
            rope: Default::default(),
        }
    }
}

/// The whole effective configuration (defaults with the user's files over them).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub settings: Settings,
    pub profiles: BTreeMap<String, Profile>,
    pub models: BTreeMap<String, ModelEntry>,
}

impl Config {
    /// The embedded defaults alone (they are tested to parse and validate).
    pub fn defaults() -> Self {
        let models = pure::parse_models("models.toml", None).expect("embedded models.toml");
        let profiles = pure::parse_profiles("profiles.toml", None).expect("embedded profiles.toml");
        let settings = pure::parse_settings("settings.toml", None, &profiles, &models)
            .expect("embedded settings.toml");
        Self {
            settings,
            profiles,
            models,
        }
    }

    /// The models.toml entry for the GGUF at `path` (an empty `path` in an entry is the default
    /// model), if any: it may override the model's kind.
    pub fn model_entry_for(&self, path: &std::path::Path) -> Option<(&str, &ModelEntry)> {
        let default = crate::models::default_model_path();
        let entry_path = |m: &ModelEntry| {
            if m.path.is_empty() {
                default.clone()
            } else {
                std::path::PathBuf::from(&m.path)
            }
        };
        // The entry naming this very path first: two entries may name links to one file (the
        // same weights under two names, one marked `kind = "instruct"`).
        // Remote entries name no file (their empty `path` is not the default model).
        let files = || self.models.iter().filter(|(_, m)| !m.is_remote());
        let exact = files().find(|(_, m)| entry_path(m) == path);
        exact
            .or_else(|| files().find(|(_, m)| same_file(&entry_path(m), path)))
            .map(|(name, m)| (name.as_str(), m))
    }

    /// models.toml's entries with their files (an empty path is the default model); a remote
    /// entry's "path" is its URLs, as the loaded remote's summary names it.
    pub fn named_models(&self) -> Vec<crate::models::NamedModel> {
        let default = crate::models::default_model_path();
        self.models
            .iter()
            .map(|(name, m)| crate::models::NamedModel {
                name: name.clone(),
                path: if m.is_remote() {
                    let urls = if m.url.is_empty() {
                        m.urls.join(", ")
                    } else {
                        m.url.clone()
                    };
                    std::path::PathBuf::from(urls)
                } else if m.path.is_empty() {
                    default.clone()
                } else {
                    std::path::PathBuf::from(&m.path)
                },
                description: m.description.clone(),
            })
            .collect()
    }

    /// models.toml's `kind` for the GGUF at `path`, which wins over what its metadata says.
    pub fn kind_override(&self, path: &std::path::Path) -> Option<crate::engine::DetectedKind> {
        match self.model_entry_for(path) {
            Some((name, ModelEntry { kind: Some(k), .. })) => Some(crate::engine::DetectedKind {
                kind: *k,
                because: format!("models.toml [models.{name}] kind"),
            }),
            _ => None,
        }
    }

    /// The RoPE scaling for the GGUF at `path` under `profile`: the models.toml entry's settings,
    /// then the profile's, then `flags` (each key from the last that sets it).
    pub fn rope_for(
        &self,
        path: &std::path::Path,
        profile: Option<&Profile>,
        flags: &crate::engine::RopeScaling,
    ) -> crate::engine::RopeScaling {
        let entry = self
            .model_entry_for(path)
            .map(|(_, m)| m.rope)
            .unwrap_or_default();
        let profile = profile.map(|p| p.rope).unwrap_or_default();
        entry.overlaid(&profile).overlaid(flags)
    }

    /// `name`, or the active profile when `None`.
    pub fn profile(&self, name: Option<&str>) -> Result<&Profile, String> {
        let name = name.unwrap_or(&self.settings.active_profile);
        self.profiles.get(name).ok_or_else(|| {
            format!(
                "unknown profile `{name}` (known: {})",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Whether two paths name the same file (canonically when both exist).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A config file that cannot be used, with where in it (1-based line and column) when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod model_entry_tests {
    use super::*;

    #[test]
    fn the_entry_naming_the_very_path_wins_over_another_link_to_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.gguf");
        std::fs::write(&real, b"x").unwrap();
        let (a, b) = (dir.path().join("a.gguf"), dir.path().join("b.gguf"));
        std::os::unix::fs::symlink(&real, &a).unwrap();
        std::os::unix::fs::symlink(&real, &b).unwrap();
        let mut config = Config::defaults();
        for (name, path, kind) in [
            ("a", &a, None),
            ("b", &b, Some(crate::engine::ModelKind::Instruct)),
        ] {
            let entry = ModelEntry {
                path: path.display().to_string(),
                kind,
                ..Default::default()
            };
            config.models.insert(name.into(), entry);
        }
        assert_eq!(config.model_entry_for(&a).unwrap().0, "a");
        assert_eq!(config.model_entry_for(&b).unwrap().0, "b");
        let k = config.kind_override(&b).unwrap();
        assert_eq!(k.kind, crate::engine::ModelKind::Instruct);
        assert!(config.kind_override(&a).is_none());
        // Through a third link, the first entry that names the same file.
        let c = dir.path().join("c.gguf");
        std::os::unix::fs::symlink(&real, &c).unwrap();
        assert_eq!(config.model_entry_for(&c).unwrap().0, "a");
        let named = config.named_models();
        assert_eq!(named.iter().find(|m| m.name == "b").unwrap().path, b);
    }

    #[test]
    fn a_remote_entry_is_not_the_default_model_and_lists_its_urls() {
        let mut config = Config::defaults();
        // Sorts before the default entry, and has an empty `path` like it.
        config.models.insert(
            "a-lab".into(),
            ModelEntry {
                urls: vec![
                    "http://10.0.0.1:8080/v1".into(),
                    "http://10.0.0.2:8080/v1".into(),
                ],
                ..Default::default()
            },
        );
        let default = crate::models::default_model_path();
        assert_eq!(config.model_entry_for(&default).unwrap().0, "gemma-3-270m");
        let named = config.named_models();
        let lab = named.iter().find(|m| m.name == "a-lab").unwrap();
        assert_eq!(
            lab.path,
            std::path::PathBuf::from("http://10.0.0.1:8080/v1, http://10.0.0.2:8080/v1")
        );
        let choices = crate::models::catalog(&named, &[], &|_| None);
        let choice = choices.iter().find(|c| c.name == "a-lab").unwrap();
        assert_eq!(choice.problem, None, "a remote can be picked");
    }
}
