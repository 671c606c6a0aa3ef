//! `gemma-tui profile …` and `ask --profile` as a user runs them, each on a fresh config directory.
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn gemma(dir: &Path, args: &[&str]) -> Output {
    let log_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .arg("--config-dir")
        .arg(dir)
        .args(args)
        .env("GEMMA_TUI_LOG_DIR", log_dir.path())
        .env_remove("GEMMA_TUI_CONFIG_DIR")
        .output()
        .expect("run gemma-tui")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = gemma(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = gemma(dir, args);
    assert_eq!(out.status.code(), Some(5), "{args:?} was not refused");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn profile_list_shows_the_builtins_and_marks_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let list = ok(dir.path(), &["profile", "list"]);
    let names: Vec<&str> = list
        .lines()
        .map(|l| l[2..].split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["balanced", "coding", "creative", "precise", "quality", "speed"]
    );
    assert!(
        list.lines().next().unwrap().starts_with("* balanced"),
        "{list}"
    );
    assert!(list.lines().all(|l| l.contains("built-in")));
    // Listing writes nothing.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn profile_set_copy_show_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("profiles.toml");
    ok(d, &["profile", "set", "balanced", "temperature", "0.3"]);
    // Only the key set is written: the built-in keeps following the defaults otherwise.
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[profiles.balanced.sampler]\ntemperature = 0.3\n"),
        "{text}"
    );
    assert_eq!(text.matches(" = ").count(), 1, "{text}");
    assert!(ok(d, &["profile", "list"]).contains("balanced     modified"));

    ok(d, &["profile", "copy", "coding", "mine"]);
    assert_eq!(
        fs::read_to_string(d.join("profiles.toml.bak")).unwrap(),
        text
    );
    ok(d, &["profile", "set", "mine", "samplers", "min_p;temp"]);
    ok(d, &["profile", "set", "mine", "sampler.top_k", "5"]);
    ok(d, &["profile", "set", "mine", "system_prompt", "Be terse."]);
    let show = ok(d, &["profile", "show", "mine"]);
    let shown: toml::Table = show.parse().unwrap();
    assert_eq!(shown["system_prompt"].as_str(), Some("Be terse."));
    assert_eq!(shown["template"].as_str(), Some("coding"));
    assert_eq!(shown["sampler"]["top_k"].as_integer(), Some(5));
    assert_eq!(shown["sampler"]["temperature"].as_float(), Some(0.2));
    assert_eq!(
        shown["sampler"]["samplers"].as_array().unwrap().len(),
        2,
        "{show}"
    );
    assert!(ok(d, &["profile", "list"]).contains("mine         user"));

    ok(d, &["profile", "delete", "mine"]);
    assert!(!ok(d, &["profile", "list"]).contains("mine"));
    assert!(!fs::read_to_string(&file).unwrap().contains("mine"));
}

#[test]
fn bad_edits_are_refused_and_leave_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["profile", "copy", "speed", "mine"]);
    let before = fs::read(d.join("profiles.toml")).unwrap();
    let e = refused(d, &["profile", "delete", "coding"]);
    assert!(
        e.contains("`coding` is a built-in profile and cannot be deleted"),
        "{e}"
    );
    let e = refused(d, &["profile", "set", "mine", "top_p", "2"]);
    assert!(
        e.contains("top_p must be within 0..=1 (got 2) in profile `mine`"),
        "{e}"
    );
    let e = refused(d, &["profile", "set", "mine", "temperature", "-1"]);
    assert!(e.contains("temperature must not be negative"), "{e}");
    let e = refused(d, &["profile", "set", "mine", "temprature", "1"]);
    assert!(e.contains("unknown key `temprature`"), "{e}");
    let e = refused(d, &["profile", "set", "nope", "top_k", "1"]);
    assert!(e.contains("unknown profile `nope`"), "{e}");
    let e = refused(d, &["profile", "copy", "mine", "speed"]);
    assert!(e.contains("exists already"), "{e}");
    fs::write(d.join("settings.toml"), "active_profile = \"mine\"\n").unwrap();
    let e = refused(d, &["profile", "delete", "mine"]);
    assert!(e.contains("active profile"), "{e}");
    assert_eq!(fs::read(d.join("profiles.toml")).unwrap(), before);
}

#[test]
fn a_broken_file_is_reported_with_its_position_used_from_bak_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["profile", "copy", "speed", "mine"]);
    ok(d, &["profile", "set", "mine", "top_k", "3"]);
    let broken = "[profiles.mine.sampler]\ntop_k = \"three\"\n";
    fs::write(d.join("profiles.toml"), broken).unwrap();
    let out = gemma(d, &["profile", "show", "mine"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let file = d.join("profiles.toml").display().to_string();
    assert!(
        err.contains(&format!("{file}:2:9: invalid type: string \"three\"")),
        "{err}"
    );
    assert!(err.contains(&format!("{file}: using {file}.bak")), "{err}");
    // The .bak (before top_k = 3) is what runs.
    let shown: toml::Table = String::from_utf8(out.stdout).unwrap().parse().unwrap();
    assert_eq!(shown["sampler"]["top_k"].as_integer(), Some(20));
    let e = refused(d, &["profile", "set", "mine", "top_k", "4"]);
    assert!(e.contains("is not changed"), "{e}");
    assert_eq!(fs::read_to_string(d.join("profiles.toml")).unwrap(), broken);
}

#[test]
fn the_config_dir_comes_from_the_environment_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .args(["profile", "copy", "precise", "env-made"])
        .env("GEMMA_TUI_CONFIG_DIR", dir.path())
        .env("GEMMA_TUI_LOG_DIR", log_dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(dir.path().join("profiles.toml")).unwrap();
    assert!(text.contains("[profiles.env-made]"), "{text}");
}

#[test]
fn ask_takes_its_defaults_from_the_profile_and_explicit_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let case = &common::reference().generations[2];
    let model = common::model_path();
    ok(d, &["profile", "copy", "precise", "greedy3"]);
    ok(d, &["profile", "set", "greedy3", "temperature", "0"]);
    ok(d, &["profile", "set", "greedy3", "max_tokens", "3"]);
    // A profile far from greedy: at temperature 5 over the whole vocabulary the greedy tokens
    // are practically never drawn, so matching them shows which settings ran.
    ok(d, &["profile", "copy", "greedy3", "hot"]);
    for (key, value) in [
        ("temperature", "5"),
        ("top_k", "0"),
        ("top_p", "1"),
        ("min_p", "0"),
        ("seed", "1"),
    ] {
        ok(d, &["profile", "set", "hot", key, value]);
    }
    let ask_with = |profile: &str, extra: &[&str]| {
        let mut args = vec![
            "--model",
            model.to_str().unwrap(),
            "--profile",
            profile,
            "ask",
        ];
        args.extend_from_slice(extra);
        args.extend(["--raw", "--json", case.prompt.as_str()]);
        let v: serde_json::Value = serde_json::from_str(&ok(d, &args)).unwrap();
        serde_json::from_value::<Vec<u32>>(v["generated_ids"].clone()).unwrap()
    };
    // The profile's temperature 0 (greedy) and max_tokens 3.
    assert_eq!(ask_with("greedy3", &[]), case.greedy_ids[..3]);
    // An explicit flag overrides the profile; the rest still comes from it.
    assert_eq!(
        ask_with("greedy3", &["--max-tokens", "5"]),
        case.greedy_ids[..5]
    );
    let hot = ask_with("hot", &[]);
    assert_eq!(hot.len(), 3);
    assert_ne!(hot, case.greedy_ids[..3]);
    assert_eq!(ask_with("hot", &["--temp", "0"]), case.greedy_ids[..3]);
    let out = gemma(d, &["--profile", "nope", "ask", "hi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile `nope`"));
}

#[test]
fn the_dashboard_refuses_an_unknown_profile_before_taking_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(dir.path(), &["--profile", "nope"]);
    assert!(err.contains("unknown profile `nope`"), "{err}");
    assert!(
        err.contains("balanced"),
        "the known profiles are listed: {err}"
    );
}
