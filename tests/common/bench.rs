//! `gemma-tui bench` through the release binary in a sandbox: its own home (config, the run
//! history's data dir, logs; none of the user's), the real default model or a model the config
//! names, and the runs read back from what the binary printed or from the store itself.
use std::path::PathBuf;
use std::process::Output;

use gemma_tui::bench::store::STORE_FILE;
use gemma_tui::bench::{BenchStore, RunRecord};

pub struct BenchHome {
    pub home: tempfile::TempDir,
    /// Appended to every run's arguments (`--model PATH`, `--threads N`).
    extra: Vec<String>,
}

impl BenchHome {
    /// A home whose runs use the real default model.
    pub fn with_model() -> Self {
        let model = super::model_path();
        Self::without_model().args(&["--model", model.to_str().unwrap()])
    }

    /// A home whose runs name their model themselves (e.g. a models.toml entry).
    pub fn without_model() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            extra: Vec::new(),
        }
    }

    /// Every run gets `args` too (after its own).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// The config dir (created), where suites.toml and models.toml go.
    pub fn config(&self) -> PathBuf {
        let dir = self.home.path().join("config");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `text` to the config file `name`.
    pub fn write_config(&self, name: &str, text: &str) {
        std::fs::write(self.config().join(name), text).unwrap();
    }

    /// The data dir, where the run history is stored.
    pub fn data(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// The run history as the binary keeps it (the redb file itself); drop it before the next
    /// run, which opens the same file.
    pub fn store(&self) -> BenchStore {
        BenchStore::open(&self.data().join(STORE_FILE)).unwrap()
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        super::headless(self.home.path())
            .args(args)
            .args(&self.extra)
            .output()
            .expect("run gemma-tui")
    }
}

/// The exit code and both streams of a run, for a failed assertion's message.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The runs a `--json` run printed: one record, or an array of them (one per profile or engine).
pub fn records(o: &Output) -> Vec<RunRecord> {
    let value: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("--json: {e}\n{}", text(o)));
    if value.is_array() {
        serde_json::from_value(value).unwrap()
    } else {
        vec![serde_json::from_value(value).unwrap()]
    }
}

/// The one run a `--json` run printed.
pub fn record(o: &Output) -> RunRecord {
    let mut runs = records(o);
    assert_eq!(runs.len(), 1, "one run: {}", text(o));
    runs.pop().unwrap()
}
