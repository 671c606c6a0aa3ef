//! The config fixtures: every valid file loads without a warning, and every invalid one fails with
//! exactly the message in its sibling `.expected` file (file:line:col: message). The file kind is
//! the end of its name (`x.profiles.toml` is a profiles.toml).
//! `GEMMA_TUI_BLESS=1 cargo test --test config_fixtures` writes the `.expected` files: review them.
use std::fs;
use std::path::{Path, PathBuf};

use gemma_tui::config::{self, pure, FileKind, Source};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "fixtures missing in {}", dir.display());
    files
}

fn name_and_kind(path: &Path) -> (String, FileKind) {
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let kind = FileKind::from_file_name(&name).expect("a fixture name ends with its kind");
    (name, kind)
}

/// Loads `path` as the only user file of a fresh config directory.
fn load_alone(path: &Path, kind: FileKind) -> (tempfile::TempDir, config::LoadReport) {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(path, dir.path().join(kind.file_name())).unwrap();
    let report = config::load(dir.path());
    (dir, report)
}

#[test]
fn valid_configs_load_cleanly() {
    for path in fixtures("valid") {
        let (name, kind) = name_and_kind(&path);
        let text = fs::read_to_string(&path).unwrap();
        if let Err(e) = pure::check_text(kind, &name, &text) {
            panic!("{name}: {e}");
        }
        let (_dir, report) = load_alone(&path, kind);
        assert!(report.warnings.is_empty(), "{name}: {:?}", report.warnings);
        assert!(report.sources.contains(&(kind, Source::User)), "{name}");
    }
}

#[test]
fn valid_fixtures_mean_what_they_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs/valid");
    let (_d, one) = load_alone(&dir.join("one_key.profiles.toml"), FileKind::Profiles);
    let defaults = config::Config::defaults();
    let mut want = defaults.profiles["balanced"].clone();
    want.sampler.temperature = 0.5;
    assert_eq!(one.config.profiles["balanced"], want);
    let (_d, new) = load_alone(&dir.join("new_profile.profiles.toml"), FileKind::Profiles);
    let mine = &new.config.profiles["mine"];
    assert_eq!((mine.max_tokens, mine.sampler.seed), (64, Some(42)));
    assert_eq!(new.config.profiles.len(), 7);
    let (_d, s) = load_alone(&dir.join("active_coding.settings.toml"), FileKind::Settings);
    assert_eq!(s.config.settings.active_profile, "coding");
}

#[test]
fn invalid_configs_fail_with_the_expected_message() {
    let bless = std::env::var_os("GEMMA_TUI_BLESS").is_some();
    let files = fixtures("invalid");
    for path in &files {
        let (name, kind) = name_and_kind(path);
        let text = fs::read_to_string(path).unwrap();
        let err = match pure::check_text(kind, &name, &text) {
            Ok(()) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, format!("{err}\n")).unwrap();
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing", expected_path.display()));
        assert_eq!(err, expected.trim_end(), "{name}");

        // Loading the same file reports the same error, with its path, and uses the defaults.
        let (dir, report) = load_alone(path, kind);
        let shown = dir.path().join(kind.file_name()).display().to_string();
        let tail = err.strip_prefix(name.as_str()).unwrap();
        assert_eq!(report.warnings[0], format!("{shown}{tail}"), "{name}");
        assert!(
            report.sources.contains(&(kind, Source::DefaultsAfterError)),
            "{name}"
        );
        assert_eq!(report.config, config::Config::defaults(), "{name}");
    }
    let expected_files = fs::read_dir(files[0].parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "expected")
        })
        .count();
    assert_eq!(
        expected_files,
        files.len(),
        "an .expected file without its fixture"
    );
}

/// keymap.toml, theme.toml and templates/*.md fixtures (in `extra/`): the message (or error
/// Display) each invalid one gives, checked against its `.expected` file.
fn check_extra(path: &Path) -> Result<(), String> {
    let name = path.file_name().unwrap().to_str().unwrap();
    let text = fs::read_to_string(path).unwrap();
    if name.ends_with(".keymap.toml") {
        gemma_tui::config::keymap::parse_keymap(name, Some(&text))
            .map(drop)
            .map_err(|e| e.to_string())
    } else if name.ends_with(".theme.toml") {
        gemma_tui::config::theme::parse_theme(name, Some(&text))
            .map(drop)
            .map_err(|e| e.to_string())
    } else {
        let stem = name.trim_end_matches(".md");
        gemma_tui::config::Template::parse(stem, name, &text)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

fn extra(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(kind)
        .join("extra");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml" || e == "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "fixtures missing in {}", dir.display());
    files
}

#[test]
fn keymap_theme_and_template_fixtures() {
    for path in extra("valid") {
        if let Err(e) = check_extra(&path) {
            panic!("{}: {e}", path.display());
        }
    }
    let bless = std::env::var_os("GEMMA_TUI_BLESS").is_some();
    for path in extra("invalid") {
        let got = match check_extra(&path) {
            Ok(()) => panic!("{} was accepted", path.display()),
            Err(e) => e,
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, format!("{got}\n")).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing", expected_path.display()));
        assert_eq!(got, expected.trim_end(), "{}", path.display());
    }
}
