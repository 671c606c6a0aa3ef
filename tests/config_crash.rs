//! Crash safety of profile saves: a child process saves profiles.toml in a loop through the same
//! code path as `gemma-tui profile set`, and is killed with SIGKILL at random moments, 200 times.
//! After every kill profiles.toml (and its .bak) must parse and be exactly one of the versions
//! written, never older than the last one seen.
//!
//! The child is this test binary itself, started on `crash_child_saver` with the directory in an
//! environment variable (without it that test returns at once).
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use gemma_tui::config::{edit, pure, store, Config};

const CHILD_DIR: &str = "GEMMA_TUI_CRASH_CHILD_DIR";
const PROFILE: &str = "crash";

/// Version `n` of the file: the built-in `balanced` copied to `crash`, with seed n.
fn version(n: u64) -> String {
    let defaults = Config::defaults();
    let mut user = toml::Table::new();
    edit::copy(&mut user, &defaults.profiles, "balanced", PROFILE).unwrap();
    let mut profiles = defaults.profiles.clone();
    profiles.insert(PROFILE.into(), defaults.profiles["balanced"].clone());
    edit::set_key(&mut user, &profiles, PROFILE, "seed", &n.to_string()).unwrap();
    edit::render(&user).unwrap()
}

/// The version a file's text is, checking that it is exactly that version's text.
fn version_of(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let profiles = pure::parse_profiles("profiles.toml", Some(&text))
        .unwrap_or_else(|e| panic!("{} does not parse after a kill: {e}", path.display()));
    let n = profiles[PROFILE]
        .sampler
        .seed
        .expect("every version has a seed");
    assert_eq!(
        text,
        version(n),
        "{} is not a version written",
        path.display()
    );
    n
}

#[test]
fn crash_child_saver() {
    let Some(dir) = common::crash::child_dir(CHILD_DIR) else {
        return;
    };
    loop {
        store::edit_profiles(&dir, |user, config| {
            let next = config.profiles[PROFILE].sampler.seed.unwrap() + 1;
            edit::set_key(user, &config.profiles, PROFILE, "seed", &next.to_string())
        })
        .unwrap();
    }
}

#[test]
fn sigkill_during_saves_never_leaves_a_torn_or_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    store::write_atomic(&path, version(0).as_bytes()).unwrap();
    let start = Instant::now();
    // 200 kills that land while the child is saving (a kill before its first save proves
    // nothing, and on a busy machine the child can take a while to start: those are retried).
    let kills = common::crash::KillLoop::new("crash_child_saver", CHILD_DIR, dir.path());
    let last = kills.run(2_000..30_000, 200, 2000, |kill, _| {
        let n = version_of(&path);
        let bak = store::backup_path(&path);
        if bak.exists() {
            assert!(
                version_of(&bak) <= n,
                "kill {kill}: the .bak is newer than the file"
            );
        }
        n
    });
    assert!(last >= 200, "only {last} saves in all");
    assert!(start.elapsed() < Duration::from_secs(300));
    // A kill may leave temp files (a killed child's, and older ones its own first save did not
    // get to sweep), but the next save sweeps those of dead writers: after one more save here,
    // with every child dead, none is left and nothing else appears in the directory.
    store::edit_profiles(dir.path(), |user, config| {
        let next = config.profiles[PROFILE].sampler.seed.unwrap() + 1;
        edit::set_key(user, &config.profiles, PROFILE, "seed", &next.to_string())
    })
    .unwrap();
    assert_eq!(version_of(&path), last + 1);
    let mut temps = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.contains(".tmp.") {
            temps += 1;
        } else {
            assert!(
                name == "profiles.toml" || name == "profiles.toml.bak",
                "{name}"
            );
        }
    }
    assert_eq!(temps, 0, "temp files of dead writers left after a save");
}
