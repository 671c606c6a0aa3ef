//! RAG memory: documents and remembered notes, chunked, embedded with all-MiniLM-L6-v2 and kept
//! in a redb store, searched by meaning and by keyword, and packed into a token budget for the
//! prompt.
//!
//! Pure parts (no IO, unit-tested on their own): [`chunker`], [`bm25`], [`ranker`], [`context`],
//! [`tiers`]. IO: [`store`] (redb), [`embedder`] (rbert on the CPU), [`ingest`] (the file walk),
//! and [`memory`], which ties them together for the CLI and the RAG actor.
pub mod bm25;
pub mod chunker;
pub mod context;
pub mod embedder;
pub mod index;
pub mod ingest;
pub mod memory;
pub mod ranker;
pub mod store;
pub mod tiers;
pub mod tokens;

use std::path::PathBuf;

pub use context::{BuiltContext, InjectedMemory};
pub use memory::Memory;
// The `[rag]` table is config's (settings.toml); the RAG code reads it from there.
pub use crate::config::rag_settings::{RagSettings, RankWeights, TierLimit, TierSettings};
pub use tiers::Tier;

/// Size of an all-MiniLM-L6-v2 embedding.
pub const EMBEDDING_DIM: usize = 384;

pub use crate::config::{data_dir, DATA_DIR_ENV};

/// The RAG store's default file.
pub fn default_store_path() -> PathBuf {
    data_dir().join("rag.redb")
}

/// Seconds since the Unix epoch (the store's clock).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why a RAG operation failed; every variant names what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    #[error("RAG store {}: {detail}", .path.display())]
    Store { path: PathBuf, detail: String },
    #[error("embedding model in {}: {detail} (run `gemma-tui model pull minilm`)", .dir.display())]
    ModelMissing { dir: PathBuf, detail: String },
    #[error("embedding failed: {0}")]
    Embed(String),
    #[error("{}: {detail}", .path.display())]
    Io { path: PathBuf, detail: String },
    #[error("{0}")]
    Invalid(String),
}
