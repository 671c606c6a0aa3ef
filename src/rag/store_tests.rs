//! The store on real redb files in temp dirs.
use super::*;

fn unit(seed: f32) -> Vec<f32> {
    let v: Vec<f32> = (0..EMBEDDING_DIM)
        .map(|i| (i as f32 * seed).sin())
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn new_chunk(text: &str, seed: f32) -> NewChunk {
    NewChunk {
        text: text.into(),
        start: 0,
        end: text.len() as u64,
        hash: sha256_hex(text),
        embedding: Some(unit(seed)),
    }
}

#[test]
fn replacing_a_document_keeps_unchanged_chunks_and_drops_vanished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sub/rag.redb")).unwrap();
    let meta = MemoryMeta::new(1000, 0.5, Tier::Semantic, vec![]);
    let o = store
        .replace_document(
            "a.md",
            "h1",
            10,
            vec![new_chunk("one", 1.0), new_chunk("two", 2.0)],
            &meta,
        )
        .unwrap();
    assert_eq!((o.added, o.kept, o.removed), (2, 0, 0));
    let first_ids = store.document("a.md").unwrap().unwrap().chunk_ids;
    let o = store
        .replace_document(
            "a.md",
            "h2",
            10,
            vec![new_chunk("two", 2.0), new_chunk("three", 3.0)],
            &meta,
        )
        .unwrap();
    assert_eq!((o.added, o.kept, o.removed), (1, 1, 1));
    let ids = store.document("a.md").unwrap().unwrap().chunk_ids;
    assert_eq!(ids[0], first_ids[1]);
    // Another file with a known chunk: a duplicate, not stored twice.
    let o = store
        .replace_document("b.md", "h3", 5, vec![new_chunk("three", 3.0)], &meta)
        .unwrap();
    assert_eq!(o.duplicates, 1);
    assert_eq!(store.stats().unwrap().chunks, 2);
    assert!(store.check().unwrap().is_empty());
    assert_eq!(store.remove_document("a.md").unwrap(), Some(2));
    assert_eq!(store.remove_document("a.md").unwrap(), None);
    assert_eq!(store.stats().unwrap().chunks, 0);
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn notes_are_deduplicated_touched_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rag.redb");
    let id = {
        let store = Store::open(&path).unwrap();
        let meta = MemoryMeta::new(1000, 0.9, Tier::LongTerm, vec!["x".into()]);
        let id = store
            .insert_note("hello", "remember", &meta, &unit(1.0))
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .insert_note("hello", "remember", &meta, &unit(1.0))
                .unwrap(),
            None
        );
        store.touch(&[id], 5000).unwrap();
        id
    };
    let store = Store::open(&path).unwrap();
    let all = store.load_all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, id);
    assert_eq!(all[0].1.meta.last_accessed, 5000);
    assert_eq!(all[0].1.meta.access_count, 1);
    assert_eq!(all[0].2, unit(1.0));
    assert_eq!(store.remove(&[id, 999]).unwrap(), 1);
}

#[test]
fn a_file_that_is_not_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.redb");
    std::fs::write(&path, b"not a database at all, just text").unwrap();
    let err = Store::open(&path)
        .err()
        .expect("junk is refused")
        .to_string();
    assert!(err.contains("junk.redb"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"not a database at all, just text"
    );
}
