//! Run history in redb: one table of runs (id -> the record as JSON, versioned by its `schema`
//! field) and one of pinned baselines (suite -> run id). redb commits are crash-safe, so a run is
//! either stored whole or not at all. The database is opened per operation, so the dashboard and a
//! headless run can take turns with the same file.
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::record::{RunRecord, SCHEMA_VERSION};

const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");
const BASELINES: TableDefinition<&str, u64> = TableDefinition::new("baselines");

/// The environment variable that moves the data directory (tests point it at a temp dir).
pub use crate::config::{data_dir, DATA_DIR_ENV};
pub const STORE_FILE: &str = "bench.redb";

pub fn default_store_path() -> PathBuf {
    data_dir().join(STORE_FILE)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bench history {path}: {message}")]
    Open { path: String, message: String },
    #[error("bench history: {0}")]
    Db(String),
    #[error("bench history: run #{id} is unreadable: {message}")]
    Corrupt { id: u64, message: String },
    #[error("bench history: run #{id} has schema {schema}, newer than this program's {SCHEMA_VERSION}: upgrade gemma-tui to read it")]
    Newer { id: u64, schema: u32 },
    #[error("{0}")]
    NotFound(String),
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

pub struct BenchStore {
    db: Database,
    path: PathBuf,
}

impl BenchStore {
    /// Opens (or creates) the database at `path`, creating its directory.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let db = Database::create(path).map_err(|e| open_err(e.to_string()))?;
        // Make the tables exist, so that reading an empty history is not an error.
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(RUNS).map_err(db_err)?;
        tx.open_table(BASELINES).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
        })
    }

    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(&default_store_path())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores a run under the next id and returns it (with the id set).
    pub fn insert(&self, mut record: RunRecord) -> Result<RunRecord, StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut runs = tx.open_table(RUNS).map_err(db_err)?;
            let next = runs
                .last()
                .map_err(db_err)?
                .map(|(k, _)| k.value() + 1)
                .unwrap_or(1);
            record.id = next;
            record.schema = SCHEMA_VERSION;
            let bytes = serde_json::to_vec(&record).map_err(db_err)?;
            runs.insert(next, bytes.as_slice()).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(record)
    }

    pub fn get(&self, id: u64) -> Result<Option<RunRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let runs = tx.open_table(RUNS).map_err(db_err)?;
        let Some(guard) = runs.get(id).map_err(db_err)? else {
            return Ok(None);
        };
        decode(id, guard.value()).map(Some)
    }

    /// Every run, oldest first.
    pub fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let runs = tx.open_table(RUNS).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in runs.iter().map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    pub fn set_baseline(&self, id: u64) -> Result<RunRecord, StoreError> {
        let record = self
            .get(id)?
            .ok_or_else(|| StoreError::NotFound(format!("no run #{id}")))?;
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(BASELINES).map_err(db_err)?;
            table.insert(record.suite.as_str(), id).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(record)
    }

    /// Unpins `suite`'s baseline; whether there was one.
    pub fn clear_baseline(&self, suite: &str) -> Result<bool, StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let had = {
            let mut table = tx.open_table(BASELINES).map_err(db_err)?;
            let removed = table.remove(suite).map_err(db_err)?;
            removed.is_some()
        };
        tx.commit().map_err(db_err)?;
        Ok(had)
    }

    /// The pinned baseline run of `suite`, if any.
    pub fn baseline(&self, suite: &str) -> Result<Option<RunRecord>, StoreError> {
        let id = {
            let tx = self.db.begin_read().map_err(db_err)?;
            let table = tx.open_table(BASELINES).map_err(db_err)?;
            let id = table.get(suite).map_err(db_err)?.map(|g| g.value());
            id
        };
        match id {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    /// (suite, run id) of every pinned baseline.
    pub fn baselines(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(BASELINES).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }

    /// A run named on the command line: its id, `latest`, or `baseline` (the latest run's suite's).
    pub fn resolve(&self, spec: &str) -> Result<RunRecord, StoreError> {
        let spec = spec.trim().trim_start_matches('#');
        match spec {
            "latest" | "last" => self
                .list()?
                .pop()
                .ok_or_else(|| StoreError::NotFound("no runs are stored yet".into())),
            "baseline" => {
                let latest = self.resolve("latest")?;
                self.baseline(&latest.suite)?.ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "suite `{}` has no baseline: pin one with `gemma-tui bench baseline ID`",
                        latest.suite
                    ))
                })
            }
            _ => {
                let id: u64 = spec.parse().map_err(|_| {
                    StoreError::NotFound(format!(
                        "`{spec}` is not a run: give its number, `latest` or `baseline`"
                    ))
                })?;
                self.get(id)?
                    .ok_or_else(|| StoreError::NotFound(format!("no run #{id}")))
            }
        }
    }
}

fn decode(id: u64, bytes: &[u8]) -> Result<RunRecord, StoreError> {
    #[derive(serde::Deserialize)]
    struct Version {
        schema: u32,
    }
    let version: Version = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id,
        message: e.to_string(),
    })?;
    if version.schema > SCHEMA_VERSION {
        return Err(StoreError::Newer {
            id,
            schema: version.schema,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::IterationMetrics;

    pub fn record(suite: &str, decode: &[f64]) -> RunRecord {
        let iterations = decode
            .iter()
            .map(|&d| IterationMetrics {
                decode_tok_s: d,
                ..Default::default()
            })
            .collect();
        RunRecord {
            model_path: "/m.gguf".into(),
            token_latencies_ms: vec![16.0, 17.0],
            ..RunRecord::example(suite, iterations)
        }
    }

    #[test]
    fn runs_round_trip_and_get_ids_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/bench.redb");
        let store = BenchStore::open(&path).unwrap();
        assert!(store.list().unwrap().is_empty());
        let a = store.insert(record("quick", &[50.0, 51.0])).unwrap();
        let b = store.insert(record("standard", &[60.0])).unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        drop(store);
        let store = BenchStore::open(&path).unwrap();
        assert_eq!(store.get(1).unwrap().unwrap(), a);
        assert_eq!(store.list().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(store.resolve("latest").unwrap().id, 2);
        assert_eq!(store.resolve("#1").unwrap().id, 1);
        assert!(store
            .resolve("9")
            .unwrap_err()
            .to_string()
            .contains("no run #9"));
        assert!(store.resolve("x").is_err());
    }

    #[test]
    fn baselines_are_per_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = BenchStore::open(&dir.path().join("b.redb")).unwrap();
        let a = store.insert(record("quick", &[50.0])).unwrap();
        store.insert(record("standard", &[60.0])).unwrap();
        assert!(store.resolve("baseline").is_err());
        store.set_baseline(a.id).unwrap();
        assert_eq!(store.baseline("quick").unwrap().unwrap().id, 1);
        assert!(store.baseline("standard").unwrap().is_none());
        assert_eq!(store.baselines().unwrap(), vec![("quick".to_string(), 1)]);
        assert!(store.clear_baseline("quick").unwrap());
        assert!(!store.clear_baseline("quick").unwrap());
        assert!(store.set_baseline(42).is_err());
    }

    #[test]
    fn a_newer_schema_is_refused_not_misread() {
        let mut value = serde_json::to_value(record("quick", &[1.0])).unwrap();
        value["schema"] = serde_json::json!(SCHEMA_VERSION + 1);
        let e = decode(3, &serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(e.to_string().contains("newer"), "{e}");
        assert!(decode(4, b"{not json")
            .unwrap_err()
            .to_string()
            .contains("#4"));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.redb");
        std::fs::write(&path, b"this is not a redb file at all, just text").unwrap();
        let e = BenchStore::open(&path).err().expect("refused");
        assert!(e.to_string().contains("bench.redb"), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is not a redb file at all, just text",
            "the file is left as it was"
        );
    }
}
