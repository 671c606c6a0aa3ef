//! The models a user can switch to: models.toml's entries and the GGUF files in the models dir,
//! each with what its header says (size, base or instruction-tuned, quantization).
//!
//! Only headers are read (the file is mapped, the weights are not touched), but that is still
//! blocking IO: callers run [`catalog`] on a blocking thread, never on the async executor.
use std::path::{Path, PathBuf};

use crate::engine::gguf::GgufFile;
use crate::engine::model_kind::detect_kind;
use crate::engine::{DetectedKind, Gemma3Config};

use super::InstalledModel;

/// One model the picker offers.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    /// models.toml's name, or the file name of a GGUF that no entry names.
    pub name: String,
    pub path: PathBuf,
    /// Named in models.toml (else only found in the models dir).
    pub in_config: bool,
    pub description: String,
    pub size_bytes: Option<u64>,
    /// The metadata's kind, or models.toml's when it says one.
    pub kind: Option<DetectedKind>,
    pub quantization: Option<String>,
    /// Why the file cannot be loaded (missing, not a Gemma 3 GGUF), when it cannot.
    pub problem: Option<String>,
}

impl ModelChoice {
    /// "instruct · Q4_K_M · 253 MB · description" (what is known of it), or the problem.
    pub fn detail(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.problem {
            parts.push(format!("unusable: {p}"));
        } else {
            if let Some(k) = &self.kind {
                parts.push(k.kind.name().to_string());
            }
            if let Some(q) = &self.quantization {
                parts.push(q.clone());
            }
            if let Some(s) = self.size_bytes {
                parts.push(format!("{:.0} MB", s as f64 / 1e6));
            }
        }
        if !self.description.is_empty() {
            parts.push(self.description.clone());
        } else if !self.in_config {
            parts.push("in the models dir".into());
        }
        parts.join(" · ")
    }
}

/// A model named in models.toml: its name, its file (resolved: an empty path is the default
/// model) and its description.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedModel {
    pub name: String,
    pub path: PathBuf,
    pub description: String,
}

/// What overrides a file's metadata kind (models.toml's `kind`, found by path).
pub type KindOverride<'a> = &'a dyn Fn(&Path) -> Option<DetectedKind>;

/// models.toml's entries, then the installed GGUFs that no entry names, each read from its
/// header.
pub fn catalog(
    named: &[NamedModel],
    installed: &[InstalledModel],
    kind_override: KindOverride,
) -> Vec<ModelChoice> {
    let mut out: Vec<ModelChoice> = named
        .iter()
        .map(|m| describe(&m.name, &m.path, true, &m.description, kind_override))
        .collect();
    for m in installed {
        if !out.iter().any(|c| same_file(&c.path, &m.path)) {
            out.push(describe(&m.name, &m.path, false, "", kind_override));
        }
    }
    out
}

fn describe(
    name: &str,
    path: &Path,
    in_config: bool,
    description: &str,
    kind_override: KindOverride,
) -> ModelChoice {
    let mut choice = ModelChoice {
        name: name.to_string(),
        path: path.to_path_buf(),
        in_config,
        description: description.to_string(),
        size_bytes: None,
        kind: None,
        quantization: None,
        problem: None,
    };
    // A remote engine (models.toml `url`/`urls`): no file to read; the switch checks its nodes.
    if path
        .to_str()
        .is_some_and(|p| p.starts_with("http://") || p.starts_with("https://"))
    {
        return choice;
    }
    if !path.exists() {
        choice.problem = Some(format!("{} does not exist", path.display()));
        return choice;
    }
    let header = GgufFile::open(path).and_then(|g| {
        let (_, cfg) = Gemma3Config::describe_gguf(&g)?;
        Ok((g.map.len() as u64, detect_kind(&g), cfg.quantization_name()))
    });
    match header {
        Ok((size, kind, quantization)) => {
            choice.size_bytes = Some(size);
            choice.kind = Some(kind_override(path).unwrap_or(kind));
            choice.quantization = Some(quantization);
        }
        Err(e) => choice.problem = Some(e.to_string()),
    }
    choice
}

/// Whether two paths name the same directory entry: the directories are resolved (a relative
/// path in models.toml, a linked models dir) but not the file, so two links to one GGUF under
/// different names stay two models (models.toml may give them different kinds).
fn same_file(a: &Path, b: &Path) -> bool {
    let entry = |p: &Path| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new(".")).canonicalize().ok()?;
        Some(dir.join(p.file_name()?))
    };
    match (entry(a), entry(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_foreign_file_is_listed_with_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.gguf");
        std::fs::write(&junk, b"not a gguf at all").unwrap();
        let named = [NamedModel {
            name: "gone".into(),
            path: dir.path().join("gone.gguf"),
            description: String::new(),
        }];
        // A second name for a listed file is a model of its own.
        std::os::unix::fs::symlink(&junk, dir.path().join("alias.gguf")).unwrap();
        let installed = crate::models::list_installed_in(dir.path()).unwrap();
        let list = catalog(&named, &installed, &|_| None);
        assert!(list.iter().any(|c| c.name == "alias.gguf"));
        assert_eq!(list.iter().filter(|c| c.name == "junk.gguf").count(), 1);
        let gone = list.iter().find(|c| c.name == "gone").unwrap();
        assert!(gone.in_config);
        assert!(gone.problem.as_deref().unwrap().contains("does not exist"));
        let junk = list.iter().find(|c| c.name == "junk.gguf").unwrap();
        assert!(!junk.in_config);
        assert!(junk.detail().starts_with("unusable: "), "{}", junk.detail());
    }

    #[test]
    fn detail_lists_kind_quantization_size() {
        let c = ModelChoice {
            name: "it".into(),
            path: "x.gguf".into(),
            in_config: true,
            description: "mine".into(),
            size_bytes: Some(253_113_024),
            kind: Some(DetectedKind {
                kind: crate::engine::ModelKind::Instruct,
                because: "test".into(),
            }),
            quantization: Some("Q4_K_M".into()),
            problem: None,
        };
        assert_eq!(c.detail(), "instruct · Q4_K_M · 253 MB · mine");
    }
}
