//! The decode bound of each run a bench command measured (`bench::bandwidth`): measured in this
//! process after the run's iterations, never inside a timed region, and once per model and thread
//! count, so that runs of one command on several engines are held against the same bound (the
//! same file's weights, the same machine).
use std::collections::HashMap;
use std::path::PathBuf;

use gemma_tui::bench::bandwidth::{measure_bound, DecodeBound};
use gemma_tui::bench::RunRecord;

pub struct DecodeBounds {
    enabled: bool,
    /// By model file and threads; an error is kept too, so a model we cannot read is tried once.
    measured: HashMap<(PathBuf, usize), Option<DecodeBound>>,
}

impl DecodeBounds {
    /// `enabled` false (`--no-bandwidth`) leaves every record without a bound.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            measured: HashMap::new(),
        }
    }

    /// `record` with its bound, when it decoded: a run without decode steps has nothing to hold
    /// against it, and is not worth the probe's second.
    pub fn attach(&mut self, mut record: RunRecord) -> RunRecord {
        let decoded = record.metric("decode_tok_s").is_some_and(|s| s.mean > 0.0);
        if !self.enabled || !decoded {
            return record;
        }
        let key = (PathBuf::from(&record.model_path), record.threads);
        record.decode_bound = *self
            .measured
            .entry(key)
            .or_insert_with_key(|(path, threads)| {
                measure_bound(path, *threads)
                    .map_err(|e| eprintln!("note: no decode bound for this run: {e}"))
                    .ok()
            });
        record
    }
}
