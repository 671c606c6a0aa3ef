//! `--model NAME`: a models.toml name runs its file (an empty path is the default model), a path
//! stays a path, and anything else fails with the known names (exit code 3). Every directory the
//! binary could touch is a temp dir.
mod common;

use std::path::Path;
use std::process::{Command, Output};

struct Dirs {
    root: tempfile::TempDir,
}

impl Dirs {
    /// A config dir whose models.toml names `mine` (the default GGUF linked under another name,
    /// marked instruction-tuned), and a models dir holding the default model (a link).
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for d in ["config", "models", "data", "logs"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        let real = common::model_path();
        let models = root.path().join("models");
        std::os::unix::fs::symlink(&real, models.join("gemma-3-270m-q4_k_m.gguf")).unwrap();
        std::os::unix::fs::symlink(&real, models.join("mine.gguf")).unwrap();
        std::fs::write(
            root.path().join("config/models.toml"),
            format!(
                "[models.mine]\npath = \"{}\"\ndescription = \"a second name\"\nkind = \"instruct\"\n",
                models.join("mine.gguf").display()
            ),
        )
        .unwrap();
        Self { root }
    }

    fn path(&self, sub: &str) -> std::path::PathBuf {
        self.root.path().join(sub)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
            .arg("--config-dir")
            .arg(self.path("config"))
            .args(args)
            .env_remove("GEMMA_TUI_CONFIG_DIR")
            .env_remove("GEMMA_TUI_MODEL")
            .env("GEMMA_TUI_MODELS_DIR", self.path("models"))
            .env("GEMMA_TUI_DATA_DIR", self.path("data"))
            .env("GEMMA_TUI_LOG_DIR", self.path("logs"))
            .output()
            .expect("run gemma-tui")
    }
}

fn info_path(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    v["path"].as_str().unwrap().to_string()
}

#[test]
fn a_models_toml_name_runs_its_file_and_an_unknown_one_lists_the_names() {
    let dirs = Dirs::new();
    let mine = dirs.path("models/mine.gguf");
    let out = dirs.run(&["--model", "mine", "model", "info", "--json"]);
    assert_eq!(Path::new(&info_path(&out)), mine);
    // The built-in entry's empty path is the default model (in the models dir).
    let out = dirs.run(&["--model", "gemma-3-270m", "model", "info", "--json"]);
    assert_eq!(
        Path::new(&info_path(&out)),
        dirs.path("models/gemma-3-270m-q4_k_m.gguf")
    );
    // A path is still a path.
    let out = dirs.run(&["--model", mine.to_str().unwrap(), "model", "info", "--json"]);
    assert_eq!(Path::new(&info_path(&out)), mine);
    // `ask` runs the named model, with the entry's kind.
    let out = dirs.run(&[
        "--model",
        "mine",
        "ask",
        "--temp",
        "0",
        "--max-tokens",
        "4",
        "--json",
        "Hi",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["model_kind"], "instruct", "{v}");
    // Neither a name nor a file: one line naming the known models, exit code 3.
    let out = dirs.run(&["--model", "nope", "ask", "Hi"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`nope` does not exist") && err.contains("known: gemma-3-270m, mine, smollm2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
