//! The release binary in tmux: F7 opens the model picker, the second model (the default GGUF
//! linked under another name, `kind = "instruct"` in a temp models.toml) is picked, and the
//! dashboard says it switched, with the new kind. Every directory is a temp dir.
mod common;

use std::time::Duration;

use common::tmux::{launch_dashboard, tmux, wait_for};

#[test]
fn the_model_picker_switches_to_another_model_in_tmux() {
    let dirs = tempfile::tempdir().unwrap();
    let d = dirs.path();
    for sub in ["config", "models", "data", "log"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let other = d.join("models/other.gguf");
    std::os::unix::fs::symlink(common::model_path(), &other).unwrap();
    // The default model in this models dir: `--model gemma-3-270m` (models.toml's built-in
    // name, an empty path) runs it.
    let default = d.join("models/gemma-3-270m-q4_k_m.gguf");
    std::os::unix::fs::symlink(common::model_path(), &default).unwrap();
    std::fs::write(
        d.join("config/models.toml"),
        format!(
            "[models.other]\npath = \"{}\"\ndescription = \"the same weights, as instruct\"\nkind = \"instruct\"\n",
            other.display()
        ),
    )
    .unwrap();
    let name = format!("gemma-tui-switch-{}", std::process::id());
    let s = launch_dashboard(
        d,
        "--model gemma-3-270m --threads 2 --max-tokens 12",
        &name,
        (120, 36),
    );
    wait_for(&s, "the model to load", Duration::from_secs(90), |sc| {
        sc.contains("idle")
    });
    tmux(&["send-keys", "-t", &s.0, "F7"]);
    let picker = wait_for(&s, "the model picker", Duration::from_secs(20), |sc| {
        sc.contains("Models (loads in the background)") && sc.contains("other")
    });
    assert!(picker.contains("gemma-3-270m (running)"), "{picker}");
    assert!(picker.contains("instruct · Q4_K_M · 253 MB"), "{picker}");
    tmux(&["send-keys", "-t", &s.0, "-l", "other"]);
    tmux(&["send-keys", "-t", &s.0, "Enter"]);
    let screen = wait_for(&s, "the switch", Duration::from_secs(60), |sc| {
        sc.contains("switched to other")
    });
    assert!(screen.contains("Now running other"), "{screen}");
    assert!(screen.contains("instruct"), "{screen}");
    // The new model answers.
    tmux(&["send-keys", "-t", &s.0, "-l", "Hello there"]);
    tmux(&["send-keys", "-t", &s.0, "Enter"]);
    wait_for(
        &s,
        "a reply from the new model",
        Duration::from_secs(60),
        |sc| sc.contains("Hello there") && sc.contains("tok/s") && sc.contains("idle"),
    );
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    tmux(&["send-keys", "-t", &s.0, "C-c"]);
    let after = wait_for(&s, "a clean exit", Duration::from_secs(20), |sc| {
        sc.contains("EXITED:")
    });
    assert!(after.contains("EXITED:0"), "{after}");
    let log = std::fs::read_to_string(d.join("log/gemma-tui.log")).unwrap_or_default();
    assert!(log.contains("switch: swapped in"), "log file: {log}");
}
