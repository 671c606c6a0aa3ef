//! `rag add`: walk the named files and directories, skip what must not be read, and store each
//! text file's chunks (one transaction per file, so a killed ingest is re-runnable).
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chunker;
use super::embedder::Embedder;
use super::store::{sha256_hex, MemoryMeta, NewChunk, ReplaceOutcome, Store};
use super::{RagError, Tier};

/// Directories never entered (version control, build output, dependencies).
const SKIPPED_DIRS: [&str; 5] = [".git", "target", "node_modules", "__pycache__", ".venv"];

/// A file found by the walk, or why one was passed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Found {
    File(PathBuf),
    Skipped { path: PathBuf, reason: String },
}

/// What happened to each file, reported as it happens (the CLI's progress bar, the TUI's gauge).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IngestEvent {
    /// The walk is done: this many files will be read.
    Found {
        files: usize,
    },
    /// File `index` (1-based) of `total` was stored.
    Added {
        index: usize,
        total: usize,
        path: PathBuf,
        #[serde(flatten)]
        outcome: ReplaceOutcome,
    },
    /// Unchanged since it was last added.
    Unchanged {
        index: usize,
        total: usize,
        path: PathBuf,
    },
    Skipped {
        path: PathBuf,
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub files: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub chunks_added: usize,
    pub chunks_removed: usize,
    pub duplicates: usize,
}

/// Options for one ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub max_file_bytes: u64,
    pub chunk_tokens: usize,
    pub chunk_overlap: usize,
    pub tier: Tier,
    pub importance: f32,
    pub tags: Vec<String>,
}

/// The files under `roots`, in a stable order, with the ones passed over and why: a symlink whose
/// target is outside the root it was found under, anything not a regular file (devices, fifos,
/// sockets), files over `max_bytes`, hidden entries and build/VCS directories inside a root.
pub fn walk(roots: &[PathBuf], max_bytes: u64) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for root in roots {
        let canon_root = match fs::canonicalize(root) {
            Ok(p) => p,
            Err(e) => {
                out.push(Found::Skipped {
                    path: root.clone(),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        // A named file's "root" is its directory, so a link next to it may point beside it.
        let boundary = if canon_root.is_dir() {
            canon_root.clone()
        } else {
            canon_root
                .parent()
                .map_or(canon_root.clone(), Path::to_path_buf)
        };
        visit(root, &boundary, max_bytes, true, &mut seen, &mut out);
    }
    out
}

fn visit(
    path: &Path,
    boundary: &Path,
    max_bytes: u64,
    named: bool,
    seen: &mut BTreeSet<PathBuf>,
    out: &mut Vec<Found>,
) {
    let skip = |out: &mut Vec<Found>, reason: String| {
        out.push(Found::Skipped {
            path: path.to_path_buf(),
            reason,
        })
    };
    let link_meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return skip(out, format!("cannot read: {e}")),
    };
    let canon = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => return skip(out, format!("dangling or unreadable link: {e}")),
    };
    if link_meta.file_type().is_symlink() && !canon.starts_with(boundary) {
        return skip(
            out,
            format!(
                "symlink leads outside {} (to {})",
                boundary.display(),
                canon.display()
            ),
        );
    }
    // Each real file or directory once, however many links lead to it (and no link loops).
    if !seen.insert(canon.clone()) {
        return;
    }
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return skip(out, format!("cannot read: {e}")),
    };
    if meta.is_dir() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !named && (name.starts_with('.') || SKIPPED_DIRS.contains(&name)) {
            return;
        }
        let mut entries: Vec<PathBuf> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => return skip(out, format!("cannot list: {e}")),
        };
        entries.sort();
        for entry in entries {
            visit(&entry, boundary, max_bytes, false, seen, out);
        }
    } else if !meta.is_file() {
        skip(out, "not a regular file (device, fifo or socket)".into());
    } else if !named
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
    {
        // Hidden files inside a directory (.env, .DS_Store) are not documents.
    } else if meta.len() > max_bytes {
        skip(
            out,
            format!("{} bytes, over the limit of {max_bytes}", meta.len()),
        );
    } else {
        out.push(Found::File(path.to_path_buf()));
    }
}

/// Reads a file as text: refused when it holds NUL bytes or is not UTF-8 (a binary file), or
/// grew past `max_bytes` since the walk.
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("over the limit of {max_bytes} bytes"));
    }
    if bytes.contains(&0) {
        return Err("binary (contains NUL bytes)".into());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// The key a file is stored under: its canonical path, so `./a.md` and `a.md` are one document.
pub fn source_key(path: &Path) -> String {
    fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Adds every file under `roots` to the store, reporting each step to `on_event`.
pub fn ingest(
    store: &Store,
    embedder: &Embedder,
    roots: &[PathBuf],
    opts: &IngestOptions,
    now: u64,
    on_event: &mut dyn FnMut(IngestEvent),
) -> Result<IngestSummary, RagError> {
    let found = walk(roots, opts.max_file_bytes);
    let mut summary = IngestSummary::default();
    let files: Vec<PathBuf> = found
        .into_iter()
        .filter_map(|f| match f {
            Found::File(p) => Some(p),
            Found::Skipped { path, reason } => {
                summary.skipped += 1;
                on_event(IngestEvent::Skipped { path, reason });
                None
            }
        })
        .collect();
    let total = files.len();
    on_event(IngestEvent::Found { files: total });
    let meta = MemoryMeta::new(now, opts.importance, opts.tier, opts.tags.clone());
    for (i, path) in files.into_iter().enumerate() {
        let index = i + 1;
        let text = match read_text(&path, opts.max_file_bytes) {
            Ok(t) => t,
            Err(reason) => {
                summary.skipped += 1;
                on_event(IngestEvent::Skipped { path, reason });
                continue;
            }
        };
        let source = source_key(&path);
        let file_hash = sha256_hex(&text);
        if store
            .document(&source)?
            .is_some_and(|d| d.file_hash == file_hash)
        {
            summary.unchanged += 1;
            on_event(IngestEvent::Unchanged { index, total, path });
            continue;
        }
        let chunks = chunks_of(embedder, &text, opts)?;
        let hashes: Vec<&str> = chunks.iter().map(|c| c.hash.as_str()).collect();
        let known = store.known_hashes(&hashes)?;
        let mut to_embed: Vec<usize> = Vec::new();
        for (k, c) in chunks.iter().enumerate() {
            let first_time = chunks[..k].iter().all(|p| p.hash != c.hash);
            if !known.contains(&c.hash) && first_time {
                to_embed.push(k);
            }
        }
        let texts: Vec<&str> = to_embed.iter().map(|&k| chunks[k].text.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        let mut chunks = chunks;
        for (k, v) in to_embed.into_iter().zip(vectors) {
            chunks[k].embedding = Some(v);
        }
        let outcome =
            store.replace_document(&source, &file_hash, text.len() as u64, chunks, &meta)?;
        summary.files += 1;
        summary.chunks_added += outcome.added;
        summary.chunks_removed += outcome.removed;
        summary.duplicates += outcome.duplicates;
        on_event(IngestEvent::Added {
            index,
            total,
            path,
            outcome,
        });
    }
    Ok(summary)
}

fn chunks_of(
    embedder: &Embedder,
    text: &str,
    opts: &IngestOptions,
) -> Result<Vec<NewChunk>, RagError> {
    let starts = embedder.token_starts(text)?;
    // [CLS] and [SEP] take two of the model's positions.
    let max = opts.chunk_tokens.min(super::embedder::MAX_TOKENS - 2);
    Ok(chunker::chunk(text, &starts, max, opts.chunk_overlap)
        .into_iter()
        .map(|c| {
            let t = &text[c.start..c.end];
            NewChunk {
                text: t.to_string(),
                start: c.start as u64,
                end: c.end as u64,
                hash: sha256_hex(t),
                embedding: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_of(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .filter_map(|f| match f {
                Found::File(p) => Some(p.file_name().unwrap().to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_walk_skips_escaping_links_big_files_hidden_and_build_dirs() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::write(r.join("a.md"), "# A").unwrap();
        std::fs::create_dir(r.join("sub")).unwrap();
        std::fs::write(r.join("sub/b.rs"), "fn b() {}").unwrap();
        std::fs::write(r.join("big.txt"), "x".repeat(200)).unwrap();
        std::fs::write(r.join(".hidden"), "h").unwrap();
        std::fs::create_dir(r.join("target")).unwrap();
        std::fs::write(r.join("target/out.txt"), "o").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), r.join("escape.txt"))
            .unwrap();
        std::os::unix::fs::symlink(r.join("a.md"), r.join("inside.md")).unwrap();
        std::os::unix::fs::symlink(r, r.join("sub/loop")).unwrap();
        let found = walk(&[r.to_path_buf()], 100);
        assert_eq!(files_of(&found), ["a.md", "b.rs"]);
        let reasons: Vec<String> = found
            .iter()
            .filter_map(|f| match f {
                Found::Skipped { path, reason } => Some(format!(
                    "{}: {reason}",
                    path.file_name().unwrap().to_string_lossy()
                )),
                _ => None,
            })
            .collect();
        assert!(
            reasons.iter().any(|r| r.starts_with("big.txt: 200 bytes")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("escape.txt: symlink leads outside")),
            "{reasons:?}"
        );
        assert_eq!(reasons.len(), 2, "{reasons:?}");
    }

    #[test]
    fn devices_and_missing_paths_are_skipped_with_a_reason() {
        let found = walk(
            &[PathBuf::from("/dev/null"), PathBuf::from("/no/such/file")],
            100,
        );
        assert!(files_of(&found).is_empty());
        assert!(
            matches!(&found[0], Found::Skipped { reason, .. } if reason.contains("not a regular file"))
        );
        assert!(
            matches!(&found[1], Found::Skipped { reason, .. } if reason.contains("cannot read"))
        );
    }

    #[test]
    fn binary_and_non_utf8_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("x.bin");
        std::fs::write(&bin, [1u8, 0, 2]).unwrap();
        assert!(read_text(&bin, 100).unwrap_err().contains("binary"));
        std::fs::write(&bin, [0xffu8, 0xfe, 0x41]).unwrap();
        assert!(read_text(&bin, 100).unwrap_err().contains("UTF-8"));
        std::fs::write(&bin, "fine text").unwrap();
        assert_eq!(read_text(&bin, 100).unwrap(), "fine text");
        assert!(read_text(&bin, 3).unwrap_err().contains("limit"));
    }
}
