//! The RAG memory as one object: the store, the in-memory index over it, and the embedder
//! (loaded on first use). The CLI uses it directly; the RAG actor owns one on its own thread.
use std::path::{Path, PathBuf};

use super::context::{self, BuiltContext, RankedMemory};
use super::embedder::Embedder;
use super::index::{Hit, Index};
use super::ingest::{self, IngestEvent, IngestOptions, IngestSummary};
use super::store::{ChunkRecord, MemoryMeta, Store, StoreStats};
use super::tiers::{self, Vitals};
use super::RagSettings;
use super::{now_secs, RagError, Tier};

pub struct Memory {
    store: Store,
    index: Index,
    embedder: Option<Embedder>,
    model_dir: PathBuf,
    pub settings: RagSettings,
}

/// Source name of `/remember` notes.
pub const REMEMBER_SOURCE: &str = "remember";
/// Source name of remembered conversation turns.
pub const CONVERSATION_SOURCE: &str = "conversation";

impl Memory {
    /// Opens the store and builds the index; the embedding model is loaded when first needed.
    pub fn open(
        store_path: &Path,
        model_dir: &Path,
        settings: RagSettings,
    ) -> Result<Self, RagError> {
        let store = Store::open(store_path)?;
        let index = Index::from_rows(store.load_all()?);
        Ok(Self {
            store,
            index,
            embedder: None,
            model_dir: model_dir.to_path_buf(),
            settings,
        })
    }

    /// Uses an embedder loaded elsewhere (tests and benches share one).
    pub fn with_embedder(mut self, embedder: Embedder) -> Self {
        self.embedder = Some(embedder);
        self
    }

    pub fn embedder(&mut self) -> Result<&Embedder, RagError> {
        if self.embedder.is_none() {
            let started = std::time::Instant::now();
            self.embedder = Some(Embedder::load(&self.model_dir)?);
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "embedding model loaded"
            );
        }
        Ok(self.embedder.as_ref().expect("just loaded"))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn reload(&mut self) -> Result<(), RagError> {
        self.index = Index::from_rows(self.store.load_all()?);
        Ok(())
    }

    /// `rag add` / `/add`: files and directories, into `tier` (semantic by default).
    pub fn add_paths(
        &mut self,
        paths: &[PathBuf],
        tier: Tier,
        importance: f32,
        tags: Vec<String>,
        on_event: &mut dyn FnMut(IngestEvent),
    ) -> Result<IngestSummary, RagError> {
        let opts = IngestOptions {
            max_file_bytes: self.settings.max_file_bytes,
            chunk_tokens: self.settings.chunk_tokens,
            chunk_overlap: self.settings.chunk_overlap,
            tier,
            importance,
            tags,
        };
        self.embedder()?;
        let embedder = self.embedder.as_ref().expect("loaded above");
        let result = ingest::ingest(&self.store, embedder, paths, &opts, now_secs(), on_event);
        // Whatever was committed before an error is in the store: the index follows it.
        self.reload()?;
        result
    }

    /// `/remember`: one note; `None` when the same text is already stored.
    pub fn remember(
        &mut self,
        text: &str,
        importance: f32,
        tier: Tier,
        tags: Vec<String>,
        source: &str,
    ) -> Result<Option<u64>, RagError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(RagError::Invalid(
                "nothing to remember: the text is empty".into(),
            ));
        }
        if !(0.0..=1.0).contains(&importance) {
            return Err(RagError::Invalid(format!(
                "importance must be within 0..=1 (got {importance})"
            )));
        }
        let vector = self.embedder()?.embed_one(text)?;
        let meta = MemoryMeta::new(now_secs(), importance, tier, tags);
        let id = self.store.insert_note(text, source, &meta, &vector)?;
        if let Some(id) = id {
            let rec = ChunkRecord {
                text: text.to_string(),
                source: source.to_string(),
                start: 0,
                end: text.len() as u64,
                hash: super::store::sha256_hex(text),
                meta,
            };
            self.index.push(id, rec, &vector);
        }
        Ok(id)
    }

    /// The best `k` memories for `query`.
    pub fn search(&mut self, query: &str, k: usize) -> Result<Vec<Hit>, RagError> {
        if self.index.is_empty() || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let q = self.embedder()?.embed_one(query)?;
        Ok(self
            .index
            .search(query, &q, k, &self.settings.weights, now_secs()))
    }

    /// The context for a prompt: the best memories that fit `budget` tokens (as `count_tokens`
    /// counts them). The injected ones are marked as used.
    pub fn build_context(
        &mut self,
        query: &str,
        budget: usize,
        count_tokens: &dyn Fn(&str) -> usize,
    ) -> Result<BuiltContext, RagError> {
        let hits = self.search(query, self.settings.top_k)?;
        let ranked: Vec<RankedMemory> = hits
            .into_iter()
            .map(|h| RankedMemory {
                id: h.id,
                source: display_source(&h.source),
                text: h.text,
                scores: h.scores,
            })
            .collect();
        let ctx = context::build(&ranked, budget, count_tokens);
        let used: Vec<u64> = ctx.memories.iter().map(|m| m.id).collect();
        self.store.touch(&used, now_secs())?;
        Ok(ctx)
    }

    /// Every memory, in id order.
    pub fn list(&self) -> impl Iterator<Item = (u64, &ChunkRecord)> {
        self.index.rows()
    }

    /// Removes a memory by id, or every chunk of a document by its path; returns how many.
    pub fn remove(&mut self, target: &str) -> Result<usize, RagError> {
        let n = if let Ok(id) = target.parse::<u64>() {
            match self.store.remove(&[id])? {
                0 => {
                    return Err(RagError::Invalid(format!(
                        "no memory with id {id} (see `gemma-tui rag list`)"
                    )))
                }
                n => n,
            }
        } else {
            let source = ingest::source_key(Path::new(target));
            match self.store.remove_document(&source)? {
                Some(n) => n,
                None => {
                    return Err(RagError::Invalid(format!(
                        "no memory with id or document `{target}` (see `gemma-tui rag list`)"
                    )))
                }
            }
        };
        self.reload()?;
        Ok(n)
    }

    /// Removes memories past their tier's lifetime, then the least valuable of tiers over
    /// capacity; returns the removed ids.
    pub fn evict(&mut self, now: u64) -> Result<Vec<u64>, RagError> {
        let vitals: Vec<Vitals> = self
            .index
            .rows()
            .map(|(id, r)| Vitals {
                id,
                tier: r.meta.tier,
                last_accessed: r.meta.last_accessed,
                access_count: r.meta.access_count,
                importance: r.meta.importance,
            })
            .collect();
        let ids = tiers::to_evict(
            &vitals,
            &self.settings.tiers,
            now,
            self.settings.weights.recency_half_life_hours,
        );
        if !ids.is_empty() {
            self.store.remove(&ids)?;
            self.reload()?;
            tracing::info!(evicted = ids.len(), "RAG memories evicted");
        }
        Ok(ids)
    }

    pub fn stats(&self) -> Result<StoreStats, RagError> {
        self.store.stats()
    }
}

/// A short source for the prompt and the pane: the file name with its parent directory.
pub fn display_source(source: &str) -> String {
    let p = Path::new(source);
    match (p.parent().and_then(|d| d.file_name()), p.file_name()) {
        (Some(dir), Some(name)) => format!("{}/{}", dir.to_string_lossy(), name.to_string_lossy()),
        _ => source.to_string(),
    }
}
