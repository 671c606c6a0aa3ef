//! BM25 keyword scoring over the chunks, for exact terms (names, identifiers, numbers) that
//! embeddings blur. Pure and in memory: an inverted index from term to (row, term frequency).
use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Lowercased alphanumeric runs (`_` included, so identifiers stay whole).
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

#[derive(Debug, Default, Clone)]
pub struct Bm25Index {
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<u32>,
    total_len: u64,
}

impl Bm25Index {
    /// Adds the next row (rows are numbered in the order they are added).
    pub fn push(&mut self, text: &str) {
        let row = self.doc_len.len() as u32;
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len = 0u32;
        for t in terms(text) {
            *tf.entry(t).or_default() += 1;
            len += 1;
        }
        for (t, n) in tf {
            self.postings.entry(t).or_default().push((row, n));
        }
        self.doc_len.push(len);
        self.total_len += len as u64;
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// BM25 of every row that has at least one query term: (row, score), unordered.
    pub fn scores(&self, query: &str) -> Vec<(usize, f32)> {
        let n = self.doc_len.len() as f32;
        if n == 0.0 {
            return Vec::new();
        }
        let avgdl = (self.total_len as f32 / n).max(1.0);
        let mut query_terms: Vec<String> = terms(query).collect();
        query_terms.sort();
        query_terms.dedup();
        let mut acc: HashMap<u32, f32> = HashMap::new();
        for t in &query_terms {
            let Some(list) = self.postings.get(t) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(row, tf) in list {
                let tf = tf as f32;
                let dl = self.doc_len[row as usize] as f32;
                let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / avgdl));
                *acc.entry(row).or_default() += s;
            }
        }
        acc.into_iter().map(|(r, s)| (r as usize, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_rare_terms_score_highest() {
        let mut idx = Bm25Index::default();
        idx.push("the cat sat on the mat");
        idx.push("the dog ate the homework");
        idx.push("configure FOO_BAR_TIMEOUT in settings");
        let mut s = idx.scores("what is foo_bar_timeout");
        s.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(s[0].0, 2);
        assert_eq!(s.len(), 1);
        let s = idx.scores("the");
        assert_eq!(s.len(), 2);
        assert!(idx.scores("unrelated words").is_empty());
    }

    #[test]
    fn term_frequency_saturates_and_rare_beats_common() {
        let mut idx = Bm25Index::default();
        idx.push("apple apple apple apple apple apple");
        idx.push("apple kiwi");
        idx.push("banana");
        idx.push("banana apple");
        let s: HashMap<usize, f32> = idx.scores("kiwi apple").into_iter().collect();
        assert!(s[&1] > s[&0]);
    }
}
