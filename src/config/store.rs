//! The disk side: where the config directory is, crash-safe writes, and loading with the `.bak` and
//! defaults fallback.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use toml::Table;

use super::pure::{parse_models, parse_profiles, parse_settings};
use super::{Config, ConfigError, FileKind, CONFIG_DIR_ENV};

/// `--config-dir`, else `$GEMMA_TUI_CONFIG_DIR`, else the XDG location (~/.config/gemma-tui).
pub fn config_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "gemma-tui")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".gemma-tui"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The text of an optional file in the config dir (`None` when it does not exist), or an error
/// naming it (keymap.toml and theme.toml read through this).
pub fn read_optional(path: &Path) -> Result<Option<String>, super::ConfigError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(super::ConfigError {
            file: path.display().to_string(),
            position: None,
            message: format!("cannot read it: {e}"),
        }),
    }
}

/// The environment variable that moves the data dir (conversations, memories, benchmark runs).
pub const DATA_DIR_ENV: &str = "GEMMA_TUI_DATA_DIR";

/// `$GEMMA_TUI_DATA_DIR`, else the platform's data dir (~/.local/share/gemma-tui): where the
/// conversations, the RAG memory and the benchmark history live.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "gemma-tui")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".gemma-tui"))
}

/// `profiles.toml` -> `profiles.toml.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

/// Replaces `path` with `bytes` so that a crash at any moment leaves either the old or the new
/// file, whole: write a temp file in the same directory (rename is only atomic within one
/// filesystem), fsync it, keep the old file as `.bak`, rename over, fsync the directory so the
/// rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let unique = format!(
        ".tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = with_suffix(path, &unique);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if path.exists() {
            // Files here are only ever replaced by rename, never modified in place, so a hard link
            // is an exact copy of the previous version; the .bak itself is also swapped by rename.
            let bak_tmp = with_suffix(path, &format!(".bak{unique}"));
            if fs::hard_link(path, &bak_tmp).is_err() {
                fs::copy(path, &bak_tmp)?;
                File::open(&bak_tmp)?.sync_all()?;
            }
            fs::rename(&bak_tmp, backup_path(path))?;
        }
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        remove_stale_temps(&dir, path);
    }
    result
}

/// A process killed mid-write leaves its temp file behind (never the real file): remove those of
/// processes that are gone, so crashes do not pile files up in the config directory.
fn remove_stale_temps(dir: &Path, path: &Path) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(name)) else {
            continue;
        };
        let Some(tail) = rest
            .strip_prefix(".tmp.")
            .or_else(|| rest.strip_prefix(".bak.tmp."))
        else {
            continue;
        };
        let Some(Ok(pid)) = tail.split('.').next().map(str::parse::<u32>) else {
            continue;
        };
        // Only where /proc tells whether the writer is alive; elsewhere they stay (harmless).
        if pid != std::process::id() && Path::new("/proc/self").exists() && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process `pid` runs. `/proc/N` also exists when N is a thread of another process (a
/// thread id taken from the same counter after the writer died, which a busy machine reaches in
/// seconds): only a thread-group leader (`Tgid` equal to N) is the process.
fn process_alive(pid: u32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .is_none_or(|tgid| tgid.trim() == pid.to_string())
}

/// Which version of a file the running config came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// No user file: the embedded defaults.
    Defaults,
    User,
    /// The user file was broken; its `.bak` was good.
    Backup,
    /// Both the user file and its `.bak` were broken (or unreadable): the embedded defaults.
    DefaultsAfterError,
}

#[derive(Debug, Clone)]
pub struct LoadReport {
    pub config: Config,
    pub sources: Vec<(FileKind, Source)>,
    /// One line per problem met: the error (file:line:col) and what was used instead.
    pub warnings: Vec<String>,
}

/// Reads one file with its fallbacks: the file, else its `.bak`, else the defaults. A file that
/// does not exist is not an error (the defaults are what the user asked for).
fn layer<T>(
    dir: &Path,
    kind: FileKind,
    warnings: &mut Vec<String>,
    parse: impl Fn(&str, Option<&str>) -> Result<T, ConfigError>,
) -> (T, Source) {
    let path = dir.join(kind.file_name());
    let defaults = || parse(kind.file_name(), None).expect("the embedded defaults are valid");
    for (candidate, source) in [
        (path.clone(), Source::User),
        (backup_path(&path), Source::Backup),
    ] {
        let shown = candidate.display().to_string();
        match fs::read_to_string(&candidate) {
            Ok(text) => match parse(&shown, Some(&text)) {
                Ok(value) => {
                    if source == Source::Backup {
                        warnings.push(format!("{}: using {shown}", path.display()));
                    }
                    return (value, source);
                }
                Err(e) => warnings.push(e.to_string()),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound && source == Source::User => {
                return (defaults(), Source::Defaults)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warnings.push(format!("{shown}: cannot read it: {e}")),
        }
    }
    warnings.push(format!("{}: using the built-in defaults", path.display()));
    (defaults(), Source::DefaultsAfterError)
}

/// The effective configuration of `dir`. Never fails: problems become warnings and fallbacks.
pub fn load(dir: &Path) -> LoadReport {
    let mut warnings = Vec::new();
    let (models, models_src) = layer(dir, FileKind::Models, &mut warnings, parse_models);
    let (profiles, profiles_src) = layer(dir, FileKind::Profiles, &mut warnings, parse_profiles);
    let (settings, settings_src) = layer(dir, FileKind::Settings, &mut warnings, |f, t| {
        parse_settings(f, t, &profiles, &models)
    });
    for w in &warnings {
        tracing::warn!("config: {w}");
    }
    LoadReport {
        config: Config {
            settings,
            profiles,
            models,
        },
        sources: vec![
            (FileKind::Settings, settings_src),
            (FileKind::Profiles, profiles_src),
            (FileKind::Models, models_src),
        ],
        warnings,
    }
}

/// Applies an edit to the user's profiles.toml and writes it atomically. Refuses (and leaves the
/// file alone) when the current file does not parse or the edit would make it invalid.
pub fn edit_profiles(
    dir: &Path,
    edit: impl FnOnce(&mut Table, &Config) -> Result<(), String>,
) -> Result<(), String> {
    let path = dir.join(FileKind::Profiles.file_name());
    let shown = path.display().to_string();
    let current = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{shown}: cannot read it: {e}")),
    };
    if let Err(e) = parse_profiles(&shown, current.as_deref()) {
        return Err(format!("{e}\n{shown} is not changed: fix it first"));
    }
    let config = load(dir).config;
    let mut user: Table = match &current {
        Some(t) => t.parse().map_err(|e: toml::de::Error| e.to_string())?,
        None => Table::new(),
    };
    edit(&mut user, &config)?;
    let text = super::edit::render(&user)?;
    parse_profiles(&shown, Some(&text)).map_err(|e| e.message)?;
    write_atomic(&path, text.as_bytes()).map_err(|e| format!("{shown}: cannot write it: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_keeps_the_previous_version_as_bak_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/profiles.toml");
        write_atomic(&path, b"one").unwrap();
        assert!(!backup_path(&path).exists());
        write_atomic(&path, b"two").unwrap();
        write_atomic(&path, b"three").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn temp_files_of_dead_writers_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        // PIDs above the kernel's maximum (4194304) are never alive.
        let dead = dir.path().join("profiles.toml.tmp.999999999.3");
        let dead_bak = dir.path().join("profiles.toml.bak.tmp.999999999.4");
        let live = dir.path().join("profiles.toml.tmp.1.0");
        let other = dir.path().join("settings.toml.tmp.999999999.0");
        for f in [&dead, &dead_bak, &live, &other] {
            fs::write(f, "x").unwrap();
        }
        write_atomic(&path, b"new").unwrap();
        assert!(!dead.exists() && !dead_bak.exists());
        assert!(live.exists() && other.exists());
    }

    /// A thread id is in /proc too; a dead writer's pid reused as another process's thread id
    /// must not keep its temp file.
    #[test]
    fn a_thread_id_is_not_a_live_writer() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(999_999_999));
        // Asked from the thread itself, while it runs: its /proc entry exists.
        let (tid, alive) = std::thread::spawn(|| {
            let link = fs::read_link("/proc/thread-self").unwrap();
            let tid: u32 = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
            assert!(Path::new(&format!("/proc/{tid}/status")).exists());
            (tid, process_alive(tid))
        })
        .join()
        .unwrap();
        assert_ne!(tid, std::process::id());
        assert!(!alive, "thread {tid} taken for a process");
    }

    #[test]
    fn a_broken_file_falls_back_to_bak_then_to_defaults_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        let report = load(dir.path());
        assert!(report.warnings.is_empty());
        assert_eq!(report.sources[1], (FileKind::Profiles, Source::Defaults));

        write_atomic(&path, b"[profiles.mine.sampler]\ntemperature = 0.25\n").unwrap();
        write_atomic(&path, b"[profiles.mine.sampler]\ntemperature = 0.5\n").unwrap();
        let report = load(dir.path());
        assert_eq!(report.config.profiles["mine"].sampler.temperature, 0.5);

        fs::write(&path, "[profiles.mine.sampler]\ntemperature = \"hot\"\n").unwrap();
        let report = load(dir.path());
        assert_eq!(report.sources[1], (FileKind::Profiles, Source::Backup));
        assert_eq!(report.config.profiles["mine"].sampler.temperature, 0.25);
        assert!(
            report.warnings[0].contains("profiles.toml:2:15: invalid type"),
            "{:?}",
            report.warnings
        );
        assert!(
            report.warnings[1].ends_with("profiles.toml.bak"),
            "{:?}",
            report.warnings
        );
        // Edits refuse to overwrite the broken file.
        let e = edit_profiles(dir.path(), |_, _| Ok(())).unwrap_err();
        assert!(e.contains("is not changed"), "{e}");
        assert!(fs::read_to_string(&path).unwrap().contains("hot"));

        fs::write(backup_path(&path), "not toml [").unwrap();
        let report = load(dir.path());
        assert_eq!(
            report.sources[1],
            (FileKind::Profiles, Source::DefaultsAfterError)
        );
        assert!(!report.config.profiles.contains_key("mine"));
        assert!(report
            .warnings
            .last()
            .unwrap()
            .contains("built-in defaults"));
    }

    #[test]
    fn settings_naming_a_missing_profile_fall_back_too() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("settings.toml"),
            "active_profile = \"gone\"\n",
        )
        .unwrap();
        let report = load(dir.path());
        assert_eq!(report.config.settings.active_profile, "balanced");
        assert!(report.warnings[0].contains("settings.toml:1:1: active_profile `gone`"));
    }
}
