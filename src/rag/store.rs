//! The redb store: chunks with their metadata, their embeddings, a content-hash index for
//! deduplication, and the documents they came from. Every change is one write transaction, so a
//! process killed mid-ingest leaves the store as it was after the last whole file.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{RagError, Tier, EMBEDDING_DIM};

/// id -> [`ChunkRecord`] as JSON.
const CHUNKS: TableDefinition<u64, &[u8]> = TableDefinition::new("chunks");
/// id -> the embedding, `EMBEDDING_DIM` little-endian f32.
const VECTORS: TableDefinition<u64, &[u8]> = TableDefinition::new("vectors");
/// sha256 of a chunk's text (hex) -> id.
const HASHES: TableDefinition<&str, u64> = TableDefinition::new("hashes");
/// source path -> [`DocumentRecord`] as JSON.
const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");
/// "next_id", "schema".
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const SCHEMA: u64 = 1;

/// What is known about a memory besides its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryMeta {
    pub created: u64,
    pub last_accessed: u64,
    pub access_count: u32,
    pub importance: f32,
    pub tier: Tier,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl MemoryMeta {
    pub fn new(now: u64, importance: f32, tier: Tier, tags: Vec<String>) -> Self {
        Self {
            created: now,
            last_accessed: now,
            access_count: 0,
            importance: importance.clamp(0.0, 1.0),
            tier,
            tags,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub text: String,
    /// A file path, or `remember` / `conversation` for notes.
    pub source: String,
    /// Byte range of the text in the source file (0..len for notes).
    pub start: u64,
    pub end: u64,
    /// sha256 of `text`, hex.
    pub hash: String,
    pub meta: MemoryMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// sha256 of the whole file when it was added: unchanged files are skipped.
    pub file_hash: String,
    pub bytes: u64,
    pub added: u64,
    pub chunk_ids: Vec<u64>,
}

/// A chunk about to be stored; `embedding` is `None` when its hash is already stored (the
/// caller asked [`Store::known_hashes`] and skipped embedding it).
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub text: String,
    pub start: u64,
    pub end: u64,
    pub hash: String,
    pub embedding: Option<Vec<f32>>,
}

/// What replacing a document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaceOutcome {
    pub added: usize,
    pub kept: usize,
    /// Chunks whose text another source already holds.
    pub duplicates: usize,
    pub removed: usize,
}

/// Counts per tier and overall.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreStats {
    pub chunks: u64,
    pub documents: u64,
    pub vectors: u64,
    pub by_tier: BTreeMap<String, u64>,
    pub file_bytes: u64,
}

pub struct Store {
    db: Database,
    path: PathBuf,
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

fn vec_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_to_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Store {
    /// Opens (creating it and its directory if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, RagError> {
        let err = |detail: String| RagError::Store {
            path: path.to_path_buf(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create its directory: {e}")))?;
        }
        let db = Database::create(path).map_err(|e| err(e.to_string()))?;
        let store = Store {
            db,
            path: path.to_path_buf(),
        };
        store.write(|txn| {
            txn.open_table(CHUNKS)?;
            txn.open_table(VECTORS)?;
            txn.open_table(HASHES)?;
            txn.open_table(DOCUMENTS)?;
            let mut meta = txn.open_table(META)?;
            let schema = meta.get("schema")?.map(|g| g.value());
            match schema {
                None => {
                    meta.insert("schema", SCHEMA)?;
                }
                Some(SCHEMA) => {}
                Some(other) => {
                    return Err(redb::Error::Corrupted(format!(
                        "schema version {other}, this gemma-tui reads {SCHEMA}"
                    )))
                }
            }
            Ok(())
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> RagError {
        RagError::Store {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, RagError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let out = f(&txn).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, RagError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        f(&txn).map_err(|e| self.err(e))
    }

    pub fn document(&self, source: &str) -> Result<Option<DocumentRecord>, RagError> {
        self.read(|txn| {
            let t = txn.open_table(DOCUMENTS)?;
            let rec = t.get(source)?.map(|g| g.value().to_vec());
            Ok(rec.and_then(|b| serde_json::from_slice(&b).ok()))
        })
    }

    /// Which of `hashes` are stored already (their chunks need no embedding).
    pub fn known_hashes(&self, hashes: &[&str]) -> Result<BTreeSet<String>, RagError> {
        self.read(|txn| {
            let t = txn.open_table(HASHES)?;
            let mut out = BTreeSet::new();
            for h in hashes {
                if t.get(*h)?.is_some() {
                    out.insert(h.to_string());
                }
            }
            Ok(out)
        })
    }

    /// Replaces everything stored for `source` with `chunks`, in one transaction: chunks whose
    /// text is unchanged keep their id and metadata (offsets are updated), new ones are added,
    /// vanished ones removed; a chunk whose text another source holds is skipped as a duplicate.
    pub fn replace_document(
        &self,
        source: &str,
        file_hash: &str,
        bytes: u64,
        chunks: Vec<NewChunk>,
        meta: &MemoryMeta,
    ) -> Result<ReplaceOutcome, RagError> {
        self.write(|txn| {
            let mut docs = txn.open_table(DOCUMENTS)?;
            let mut chunk_t = txn.open_table(CHUNKS)?;
            let mut vec_t = txn.open_table(VECTORS)?;
            let mut hash_t = txn.open_table(HASHES)?;
            let mut meta_t = txn.open_table(META)?;
            let old: Vec<u64> = docs
                .get(source)?
                .and_then(|g| serde_json::from_slice::<DocumentRecord>(g.value()).ok())
                .map(|d| d.chunk_ids)
                .unwrap_or_default();
            let mut next_id = meta_t.get("next_id")?.map_or(1, |g| g.value());
            let mut outcome = ReplaceOutcome::default();
            let mut ids = Vec::with_capacity(chunks.len());
            let mut kept = BTreeSet::new();
            for c in chunks {
                if let Some(id) = hash_t.get(c.hash.as_str())?.map(|g| g.value()) {
                    if old.contains(&id) && !kept.contains(&id) {
                        let rec = chunk_t.get(id)?.map(|g| g.value().to_vec());
                        if let Some(mut rec) =
                            rec.and_then(|b| serde_json::from_slice::<ChunkRecord>(&b).ok())
                        {
                            rec.start = c.start;
                            rec.end = c.end;
                            chunk_t
                                .insert(id, serde_json::to_vec(&rec).expect("record").as_slice())?;
                        }
                        kept.insert(id);
                        ids.push(id);
                        outcome.kept += 1;
                    } else {
                        outcome.duplicates += 1;
                    }
                    continue;
                }
                let Some(embedding) = c.embedding else {
                    // Its hash was known when the caller checked and is gone now: nothing to
                    // embed with, so leave it for the next run rather than store it without one.
                    continue;
                };
                let id = next_id;
                next_id += 1;
                let rec = ChunkRecord {
                    text: c.text,
                    source: source.to_string(),
                    start: c.start,
                    end: c.end,
                    hash: c.hash.clone(),
                    meta: meta.clone(),
                };
                chunk_t.insert(id, serde_json::to_vec(&rec).expect("record").as_slice())?;
                vec_t.insert(id, vec_to_bytes(&embedding).as_slice())?;
                hash_t.insert(c.hash.as_str(), id)?;
                ids.push(id);
                outcome.added += 1;
            }
            for id in old.iter().filter(|id| !kept.contains(id)) {
                remove_chunk(&mut chunk_t, &mut vec_t, &mut hash_t, *id)?;
                outcome.removed += 1;
            }
            let doc = DocumentRecord {
                file_hash: file_hash.to_string(),
                bytes,
                added: meta.created,
                chunk_ids: ids,
            };
            docs.insert(source, serde_json::to_vec(&doc).expect("record").as_slice())?;
            meta_t.insert("next_id", next_id)?;
            Ok(outcome)
        })
    }

    /// Stores one note; `None` when the same text is already stored.
    pub fn insert_note(
        &self,
        text: &str,
        source: &str,
        meta: &MemoryMeta,
        embedding: &[f32],
    ) -> Result<Option<u64>, RagError> {
        let hash = sha256_hex(text);
        self.write(|txn| {
            let mut chunk_t = txn.open_table(CHUNKS)?;
            let mut vec_t = txn.open_table(VECTORS)?;
            let mut hash_t = txn.open_table(HASHES)?;
            let mut meta_t = txn.open_table(META)?;
            if hash_t.get(hash.as_str())?.is_some() {
                return Ok(None);
            }
            let id = meta_t.get("next_id")?.map_or(1, |g| g.value());
            let rec = ChunkRecord {
                text: text.to_string(),
                source: source.to_string(),
                start: 0,
                end: text.len() as u64,
                hash: hash.clone(),
                meta: meta.clone(),
            };
            chunk_t.insert(id, serde_json::to_vec(&rec).expect("record").as_slice())?;
            vec_t.insert(id, vec_to_bytes(embedding).as_slice())?;
            hash_t.insert(hash.as_str(), id)?;
            meta_t.insert("next_id", id + 1)?;
            Ok(Some(id))
        })
    }

    /// Removes chunks by id (also from their documents' lists); returns how many existed.
    pub fn remove(&self, ids: &[u64]) -> Result<usize, RagError> {
        if ids.is_empty() {
            return Ok(0);
        }
        self.write(|txn| {
            let mut chunk_t = txn.open_table(CHUNKS)?;
            let mut vec_t = txn.open_table(VECTORS)?;
            let mut hash_t = txn.open_table(HASHES)?;
            let mut docs = txn.open_table(DOCUMENTS)?;
            let mut sources = BTreeSet::new();
            let mut n = 0;
            for &id in ids {
                if let Some(rec) = remove_chunk(&mut chunk_t, &mut vec_t, &mut hash_t, id)? {
                    sources.insert(rec.source);
                    n += 1;
                }
            }
            for source in sources {
                let doc = docs
                    .get(source.as_str())?
                    .and_then(|g| serde_json::from_slice::<DocumentRecord>(g.value()).ok());
                if let Some(mut doc) = doc {
                    doc.chunk_ids.retain(|id| !ids.contains(id));
                    if doc.chunk_ids.is_empty() {
                        docs.remove(source.as_str())?;
                    } else {
                        docs.insert(
                            source.as_str(),
                            serde_json::to_vec(&doc).expect("record").as_slice(),
                        )?;
                    }
                }
            }
            Ok(n)
        })
    }

    /// Removes a document and all its chunks; returns the number of chunks removed, or `None`
    /// when no document has that source.
    pub fn remove_document(&self, source: &str) -> Result<Option<usize>, RagError> {
        let Some(doc) = self.document(source)? else {
            return Ok(None);
        };
        let n = self.remove(&doc.chunk_ids)?;
        // A document with no chunks left (all duplicates) has no chunk to take it away.
        self.write(|txn| {
            txn.open_table(DOCUMENTS)?.remove(source)?;
            Ok(())
        })?;
        Ok(Some(n))
    }

    /// Marks chunks as used now (recency, access counts).
    pub fn touch(&self, ids: &[u64], now: u64) -> Result<(), RagError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let mut chunk_t = txn.open_table(CHUNKS)?;
            for &id in ids {
                let rec = chunk_t.get(id)?.map(|g| g.value().to_vec());
                if let Some(mut rec) =
                    rec.and_then(|b| serde_json::from_slice::<ChunkRecord>(&b).ok())
                {
                    rec.meta.last_accessed = now;
                    rec.meta.access_count = rec.meta.access_count.saturating_add(1);
                    chunk_t.insert(id, serde_json::to_vec(&rec).expect("record").as_slice())?;
                }
            }
            Ok(())
        })
    }

    /// Every chunk with its embedding, in id order (what the in-memory index is built from).
    /// A chunk that cannot be decoded is logged and skipped rather than failing the whole load.
    pub fn load_all(&self) -> Result<Vec<(u64, ChunkRecord, Vec<f32>)>, RagError> {
        self.read(|txn| {
            let chunk_t = txn.open_table(CHUNKS)?;
            let vec_t = txn.open_table(VECTORS)?;
            let mut out = Vec::with_capacity(chunk_t.len()? as usize);
            for item in chunk_t.iter()? {
                let (k, v) = item?;
                let id = k.value();
                let Ok(rec) = serde_json::from_slice::<ChunkRecord>(v.value()) else {
                    tracing::warn!(id, "undecodable chunk record skipped");
                    continue;
                };
                let Some(vec) = vec_t.get(id)?.map(|g| bytes_to_vec(g.value())) else {
                    tracing::warn!(id, "chunk without an embedding skipped");
                    continue;
                };
                if vec.len() != EMBEDDING_DIM {
                    tracing::warn!(id, len = vec.len(), "embedding of the wrong size skipped");
                    continue;
                }
                out.push((id, rec, vec));
            }
            Ok(out)
        })
    }

    /// Every document: (source, record).
    pub fn documents(&self) -> Result<Vec<(String, DocumentRecord)>, RagError> {
        self.read(|txn| {
            let t = txn.open_table(DOCUMENTS)?;
            let mut out = Vec::new();
            for item in t.iter()? {
                let (k, v) = item?;
                if let Ok(d) = serde_json::from_slice(v.value()) {
                    out.push((k.value().to_string(), d));
                }
            }
            Ok(out)
        })
    }

    pub fn stats(&self) -> Result<StoreStats, RagError> {
        let mut stats = self.read(|txn| {
            let chunk_t = txn.open_table(CHUNKS)?;
            let mut by_tier: BTreeMap<String, u64> = BTreeMap::new();
            for item in chunk_t.iter()? {
                let (_, v) = item?;
                if let Ok(rec) = serde_json::from_slice::<ChunkRecord>(v.value()) {
                    *by_tier.entry(rec.meta.tier.to_string()).or_default() += 1;
                }
            }
            Ok(StoreStats {
                chunks: chunk_t.len()?,
                documents: txn.open_table(DOCUMENTS)?.len()?,
                vectors: txn.open_table(VECTORS)?.len()?,
                by_tier,
                file_bytes: 0,
            })
        })?;
        stats.file_bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        Ok(stats)
    }

    /// Cross-checks the tables: every chunk has an embedding of the right size and its hash
    /// entry, every hash and document points at existing chunks. Returns the problems found.
    pub fn check(&self) -> Result<Vec<String>, RagError> {
        self.read(|txn| {
            let chunk_t = txn.open_table(CHUNKS)?;
            let vec_t = txn.open_table(VECTORS)?;
            let hash_t = txn.open_table(HASHES)?;
            let docs = txn.open_table(DOCUMENTS)?;
            let mut problems = Vec::new();
            for item in chunk_t.iter()? {
                let (k, v) = item?;
                let id = k.value();
                match serde_json::from_slice::<ChunkRecord>(v.value()) {
                    Err(e) => problems.push(format!("chunk {id}: undecodable ({e})")),
                    Ok(rec) => {
                        if hash_t.get(rec.hash.as_str())?.map(|g| g.value()) != Some(id) {
                            problems.push(format!("chunk {id}: its hash does not point back"));
                        }
                    }
                }
                match vec_t.get(id)? {
                    None => problems.push(format!("chunk {id}: no embedding")),
                    Some(g) if g.value().len() != EMBEDDING_DIM * 4 => {
                        problems.push(format!("chunk {id}: embedding of the wrong size"))
                    }
                    Some(_) => {}
                }
            }
            for item in vec_t.iter()? {
                let (k, _) = item?;
                if chunk_t.get(k.value())?.is_none() {
                    problems.push(format!("embedding {} has no chunk", k.value()));
                }
            }
            for item in hash_t.iter()? {
                let (k, v) = item?;
                if chunk_t.get(v.value())?.is_none() {
                    problems.push(format!(
                        "hash {} points at missing chunk {}",
                        k.value(),
                        v.value()
                    ));
                }
            }
            for item in docs.iter()? {
                let (k, v) = item?;
                match serde_json::from_slice::<DocumentRecord>(v.value()) {
                    Err(e) => problems.push(format!("document {}: undecodable ({e})", k.value())),
                    Ok(d) => {
                        for id in d.chunk_ids {
                            if chunk_t.get(id)?.is_none() {
                                problems
                                    .push(format!("document {}: missing chunk {id}", k.value()));
                            }
                        }
                    }
                }
            }
            Ok(problems)
        })
    }
}

fn remove_chunk(
    chunk_t: &mut redb::Table<u64, &[u8]>,
    vec_t: &mut redb::Table<u64, &[u8]>,
    hash_t: &mut redb::Table<&str, u64>,
    id: u64,
) -> Result<Option<ChunkRecord>, redb::Error> {
    let rec = chunk_t
        .remove(id)?
        .and_then(|g| serde_json::from_slice::<ChunkRecord>(g.value()).ok());
    vec_t.remove(id)?;
    if let Some(rec) = &rec {
        if hash_t.get(rec.hash.as_str())?.map(|g| g.value()) == Some(id) {
            hash_t.remove(rec.hash.as_str())?;
        }
    }
    Ok(rec)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
