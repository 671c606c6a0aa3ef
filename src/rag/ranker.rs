//! Ranking: exact cosine similarity over every chunk (a flat, contiguous row-major matrix of
//! unit vectors, so the dot products vectorise), BM25 for exact terms, then the final score with
//! recency and importance, and near-duplicate removal. Pure.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::RankWeights;

/// Dot product with eight independent accumulators: the compiler turns this into SIMD lanes
/// (a plain fold cannot be reordered, so it would stay scalar).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[derive(PartialEq)]
struct MinScore(f32, usize);
impl Eq for MinScore {}
impl PartialOrd for MinScore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MinScore {
    // Reversed, so the heap's top is the worst of the kept.
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// Rows per parallel task: large enough that splitting costs nothing next to the scan.
const ROWS_PER_TASK: usize = 8192;

/// The `k` rows of `matrix` (rows of `dim` unit vectors) most similar to the unit vector `query`:
/// (row, cosine), best first. Exact: every row is scored. The scan reads the whole matrix (150 MB
/// for 100k chunks), so it is memory-bound: large matrices are split across rayon's threads, each
/// keeping its own top k, and the partial lists merged.
pub fn cosine_top_k(matrix: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    use rayon::prelude::*;
    if k == 0 || dim == 0 {
        return Vec::new();
    }
    let task = ROWS_PER_TASK * dim;
    let mut out: Vec<(usize, f32)> = if matrix.len() <= task {
        top_k_scan(matrix, dim, query, k, 0)
    } else {
        matrix
            .par_chunks(task)
            .enumerate()
            .flat_map_iter(|(t, part)| top_k_scan(part, dim, query, k, t * ROWS_PER_TASK))
            .collect()
    };
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(k);
    out
}

fn top_k_scan(
    matrix: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
    first_row: usize,
) -> Vec<(usize, f32)> {
    let mut heap: BinaryHeap<MinScore> = BinaryHeap::with_capacity(k + 1);
    for (row, v) in matrix.chunks_exact(dim).enumerate() {
        let s = dot(v, query);
        if heap.len() < k {
            heap.push(MinScore(s, first_row + row));
        } else if heap.peek().is_some_and(|w| s > w.0) {
            heap.pop();
            heap.push(MinScore(s, first_row + row));
        }
    }
    heap.into_iter().map(|m| (m.1, m.0)).collect()
}

/// A candidate memory with what ranking needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub row: usize,
    pub cosine: f32,
    /// Raw BM25 (0 when no query term occurs).
    pub bm25: f32,
    pub last_accessed: u64,
    pub importance: f32,
}

/// A ranked memory with every part of its score, for the RAG pane.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scored {
    pub row: usize,
    pub cosine: f32,
    /// BM25 divided by the best BM25 among the candidates (0..1).
    pub keyword: f32,
    /// (1 - keyword weight) * cosine + keyword weight * keyword.
    pub relevance: f32,
    /// 0.5 ^ (hours since last use / half-life).
    pub recency: f32,
    pub importance: f32,
    /// The weighted sum the order follows.
    pub score: f32,
}

/// Scores and orders candidates (best first), dropping those below `min_relevance`.
pub fn rank(candidates: &[Candidate], w: &RankWeights, now: u64) -> Vec<Scored> {
    let best_bm25 = candidates.iter().map(|c| c.bm25).fold(0.0f32, f32::max);
    let mut out: Vec<Scored> = candidates
        .iter()
        .map(|c| {
            let keyword = if best_bm25 > 0.0 {
                c.bm25 / best_bm25
            } else {
                0.0
            };
            let relevance = (1.0 - w.keyword) * c.cosine.max(0.0) + w.keyword * keyword;
            let age_h = now.saturating_sub(c.last_accessed) as f32 / 3600.0;
            let recency = 0.5f32.powf(age_h / w.recency_half_life_hours.max(1e-3));
            let importance = c.importance.clamp(0.0, 1.0);
            Scored {
                row: c.row,
                cosine: c.cosine,
                keyword,
                relevance,
                recency,
                importance,
                score: w.relevance * relevance + w.recency * recency + w.importance * importance,
            }
        })
        .filter(|s| s.relevance >= w.min_relevance)
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
    out
}

/// Keeps at most `k` of `ranked` (already ordered), skipping any whose vector is at least
/// `threshold` similar to one already kept: near-duplicates would waste the token budget.
pub fn dedup<'a>(
    ranked: &[Scored],
    vector: impl Fn(usize) -> &'a [f32],
    threshold: f32,
    k: usize,
) -> Vec<Scored> {
    let mut kept: Vec<Scored> = Vec::with_capacity(k);
    for s in ranked {
        if kept.len() == k {
            break;
        }
        let v = vector(s.row);
        if kept.iter().all(|o| dot(vector(o.row), v) < threshold) {
            kept.push(*s);
        }
    }
    kept
}

/// The candidate rows for a query: the best `per_source` by cosine and the best `per_source` by
/// BM25, merged (row, cosine, bm25).
pub fn candidate_rows(
    by_cosine: &[(usize, f32)],
    bm25: &[(usize, f32)],
    per_source: usize,
    cosine_of: impl Fn(usize) -> f32,
) -> Vec<(usize, f32, f32)> {
    let mut bm25_sorted: Vec<(usize, f32)> = bm25.to_vec();
    bm25_sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    bm25_sorted.truncate(per_source);
    let by_row: std::collections::HashMap<usize, f32> = bm25.iter().copied().collect();
    let bm25_of = |row: usize| by_row.get(&row).copied().unwrap_or(0.0);
    let mut out: Vec<(usize, f32, f32)> = by_cosine
        .iter()
        .take(per_source)
        .map(|&(r, c)| (r, c, bm25_of(r)))
        .collect();
    for (r, s) in bm25_sorted {
        if !out.iter().any(|(o, _, _)| *o == r) {
            out.push((r, cosine_of(r), s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = dot(v, v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn dot_matches_the_naive_sum_for_odd_lengths() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn the_parallel_scan_equals_a_full_sort() {
        let dim = 8;
        let rows = ROWS_PER_TASK * 2 + 77;
        let matrix: Vec<f32> = (0..rows * dim)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let q: Vec<f32> = (0..dim).map(|i| 1.0 - i as f32 * 0.1).collect();
        let mut all: Vec<(usize, f32)> = matrix
            .chunks_exact(dim)
            .map(|v| dot(v, &q))
            .enumerate()
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        assert_eq!(cosine_top_k(&matrix, dim, &q, 25), all[..25].to_vec());
    }

    #[test]
    fn top_k_is_exact_and_ordered() {
        let rows = [
            unit(&[1.0, 0.0, 0.0]),
            unit(&[0.0, 1.0, 0.0]),
            unit(&[1.0, 1.0, 0.0]),
            unit(&[1.0, 0.1, 0.0]),
        ];
        let matrix: Vec<f32> = rows.concat();
        let q = unit(&[1.0, 0.0, 0.0]);
        let got = cosine_top_k(&matrix, 3, &q, 2);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![0, 3]);
        assert_eq!(cosine_top_k(&matrix, 3, &q, 10).len(), 4);
    }

    fn cand(row: usize, cosine: f32, bm25: f32, hours_ago: u64, importance: f32) -> Candidate {
        Candidate {
            row,
            cosine,
            bm25,
            last_accessed: 100_000_000 - hours_ago * 3600,
            importance,
        }
    }

    #[test]
    fn weights_trade_relevance_for_recency_and_importance() {
        let w = RankWeights::default();
        let now = 100_000_000;
        let fresh = cand(0, 0.6, 0.0, 0, 0.9);
        let stale = cand(1, 0.62, 0.0, 24 * 365, 0.1);
        let r = rank(&[stale, fresh], &w, now);
        assert_eq!(r[0].row, 0);
        // With recency and importance weighted out, relevance decides.
        let w = RankWeights {
            recency: 0.0,
            importance: 0.0,
            ..RankWeights::default()
        };
        assert_eq!(rank(&[stale, fresh], &w, now)[0].row, 1);
    }

    #[test]
    fn keyword_hits_lift_relevance_and_irrelevant_ones_are_dropped() {
        let w = RankWeights::default();
        let now = 100_000_000;
        let r = rank(
            &[
                cand(0, 0.5, 0.0, 0, 0.5),
                cand(1, 0.45, 7.0, 0, 0.5),
                cand(2, 0.05, 0.0, 0, 1.0),
            ],
            &w,
            now,
        );
        assert_eq!(r.iter().map(|s| s.row).collect::<Vec<_>>(), vec![1, 0]);
        assert!((r[0].keyword - 1.0).abs() < 1e-6);
        let expected = 0.7 * 0.45 + 0.3;
        assert!((r[0].relevance - expected).abs() < 1e-5);
    }

    #[test]
    fn near_duplicates_are_skipped() {
        let vs = [unit(&[1.0, 0.0]), unit(&[1.0, 0.01]), unit(&[0.0, 1.0])];
        let ranked: Vec<Scored> = (0..3)
            .map(|row| Scored {
                row,
                cosine: 0.0,
                keyword: 0.0,
                relevance: 0.5,
                recency: 1.0,
                importance: 0.5,
                score: 1.0 - row as f32 * 0.1,
            })
            .collect();
        let kept = dedup(&ranked, |r| vs[r].as_slice(), 0.95, 10);
        assert_eq!(kept.iter().map(|s| s.row).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(dedup(&ranked, |r| vs[r].as_slice(), 0.95, 1).len(), 1);
    }

    #[test]
    fn candidates_merge_both_lists_without_repeats() {
        let by_cos = [(3, 0.9), (1, 0.8)];
        let bm = [(1, 2.0), (7, 5.0)];
        let got = candidate_rows(&by_cos, &bm, 5, |_| 0.1);
        assert_eq!(got, vec![(3, 0.9, 0.0), (1, 0.8, 2.0), (7, 0.1, 5.0)]);
    }
}
