//! The in-memory search index over the store: the embeddings as one contiguous row-major matrix
//! (exact cosine search without pointer chasing), BM25 postings, and each row's record.
use super::bm25::Bm25Index;
use super::ranker::{self, Candidate, Scored};
use super::store::ChunkRecord;
use super::RankWeights;
use super::EMBEDDING_DIM;

/// Candidates taken from each of the cosine and BM25 lists before the final ranking.
const CANDIDATES_PER_LIST: usize = 50;

#[derive(Default)]
pub struct Index {
    ids: Vec<u64>,
    records: Vec<ChunkRecord>,
    matrix: Vec<f32>,
    bm25: Bm25Index,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub id: u64,
    pub source: String,
    pub text: String,
    pub tier: super::Tier,
    #[serde(flatten)]
    pub scores: Scored,
}

impl Index {
    pub fn from_rows(rows: Vec<(u64, ChunkRecord, Vec<f32>)>) -> Self {
        let mut idx = Index::default();
        idx.matrix.reserve(rows.len() * EMBEDDING_DIM);
        for (id, rec, v) in rows {
            idx.push(id, rec, &v);
        }
        idx
    }

    pub fn push(&mut self, id: u64, rec: ChunkRecord, vector: &[f32]) {
        debug_assert_eq!(vector.len(), EMBEDDING_DIM);
        self.bm25.push(&rec.text);
        self.ids.push(id);
        self.records.push(rec);
        self.matrix.extend_from_slice(vector);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn record(&self, row: usize) -> (u64, &ChunkRecord) {
        (self.ids[row], &self.records[row])
    }

    pub fn rows(&self) -> impl Iterator<Item = (u64, &ChunkRecord)> {
        self.ids.iter().copied().zip(self.records.iter())
    }

    fn vector(&self, row: usize) -> &[f32] {
        &self.matrix[row * EMBEDDING_DIM..(row + 1) * EMBEDDING_DIM]
    }

    /// The best `k` memories for a query (its text for BM25, its unit embedding for cosine),
    /// ranked with `weights` at time `now` and without near-duplicates.
    pub fn search(
        &self,
        query_text: &str,
        query_vec: &[f32],
        k: usize,
        weights: &RankWeights,
        now: u64,
    ) -> Vec<Hit> {
        let by_cosine =
            ranker::cosine_top_k(&self.matrix, EMBEDDING_DIM, query_vec, CANDIDATES_PER_LIST);
        let bm25 = self.bm25.scores(query_text);
        let rows = ranker::candidate_rows(&by_cosine, &bm25, CANDIDATES_PER_LIST, |r| {
            ranker::dot(self.vector(r), query_vec)
        });
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .map(|(row, cosine, bm25)| {
                let meta = &self.records[row].meta;
                Candidate {
                    row,
                    cosine,
                    bm25,
                    last_accessed: meta.last_accessed,
                    importance: meta.importance,
                }
            })
            .collect();
        let ranked = ranker::rank(&candidates, weights, now);
        let kept = ranker::dedup(&ranked, |r| self.vector(r), weights.dedup_similarity, k);
        kept.into_iter()
            .map(|s| {
                let rec = &self.records[s.row];
                Hit {
                    id: self.ids[s.row],
                    source: rec.source.clone(),
                    text: rec.text.clone(),
                    tier: rec.meta.tier,
                    scores: s,
                }
            })
            .collect()
    }
}
