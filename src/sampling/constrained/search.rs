//! The candidate search of a constrained step, without the model or a particular parser: which
//! tokens may come next, found without walking the whole vocabulary.
//!
//! Two ways, chosen per step by how many tokens start with a byte the constraint allows:
//! - few (a quote, a digit, a comma must come next): check every one of them, which gives the
//!   exact set of valid tokens (and shows when only one is possible, so it can be forced);
//! - many (inside a string, where almost anything goes): take the most likely tokens in logit
//!   order, in growing batches, until `want` valid ones are found (kalosm-llama stops at 64).
use super::token_table::TokenTable;
use crate::sampling::math::{top_k_dense, Cand};

/// Up to this many tokens starting with an allowed byte, every one of them is checked.
pub const EXHAUSTIVE_LIMIT: usize = 16_384;

/// The logit-order walk looks at the top tokens in batches of these sizes, then at all of them.
const BATCHES: [usize; 4] = [256, 2_048, 16_384, usize::MAX];

/// A valid token and what the constraint's state becomes after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Valid<S> {
    pub id: u32,
    pub after: S,
}

/// How much of the vocabulary a search covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every token that could be valid was checked: the set found is exact.
    Exhaustive,
    /// The search stopped once it had enough valid tokens among the most likely.
    MostLikely,
}

/// Buffers reused from step to step.
#[derive(Default)]
pub struct CandidateSearch {
    top: Vec<Cand>,
    /// How many tokens the last search checked against the constraint (for the bench and logs).
    pub checked: usize,
}

/// A first byte with more tokens than this is narrowed by the second byte too.
const REFINE_ABOVE: usize = 2_048;

impl CandidateSearch {
    /// Finds the valid tokens for this step into `out` (most likely first when the walk is used).
    /// `prefix_ok(p)`, for a prefix of one or two bytes, must be true whenever a valid token can
    /// start with `p` (it may be true for more); `check(bytes)` says whether a token with those
    /// bytes is valid, and the state after it.
    pub fn find<S>(
        &mut self,
        logits: &[f32],
        table: &TokenTable,
        prefix_ok: &dyn Fn(&[u8]) -> bool,
        check: &mut dyn FnMut(&[u8]) -> Option<S>,
        want: usize,
        out: &mut Vec<Valid<S>>,
    ) -> Coverage {
        out.clear();
        self.checked = 0;
        let n = logits.len().min(table.len());
        // The token groups that can hold a valid token: by first byte, or by the first two
        // bytes (and the lone byte) where the first byte leads a large share of the vocabulary.
        let mut groups: Vec<&[u32]> = Vec::new();
        let mut refined = [false; 256];
        let mut second_ok = vec![[false; 256]; 0];
        let mut possible = 0;
        for b in 0..=255u8 {
            if !prefix_ok(&[b]) {
                continue;
            }
            let all = table.starting_with(b);
            if all.len() <= REFINE_ABOVE {
                possible += all.len();
                groups.push(all);
                continue;
            }
            refined[b as usize] = true;
            let mut ok = [false; 256];
            groups.push(table.single_byte(b));
            possible += table.single_byte(b).len();
            for c in 0..=255u8 {
                if prefix_ok(&[b, c]) {
                    ok[c as usize] = true;
                    let pair = table.starting_with_pair(b, c);
                    possible += pair.len();
                    groups.push(pair);
                }
            }
            second_ok.push(ok);
        }
        if possible <= EXHAUSTIVE_LIMIT {
            for group in groups {
                for &id in group {
                    if id as usize >= n {
                        continue;
                    }
                    self.checked += 1;
                    if let Some(after) = check(table.bytes(id)) {
                        out.push(Valid { id, after });
                    }
                }
            }
            return Coverage::Exhaustive;
        }
        // Which refined first byte uses which row of `second_ok`.
        let mut row = [usize::MAX; 256];
        let mut next_row = 0;
        for b in 0..256 {
            if refined[b] {
                row[b] = next_row;
                next_row += 1;
            }
        }
        let may_start = |bytes: &[u8]| match bytes {
            [] => false,
            [b] => prefix_ok(&[*b]),
            [b, c, ..] => {
                if refined[*b as usize] {
                    second_ok[row[*b as usize]][*c as usize]
                } else {
                    prefix_ok(&[*b])
                }
            }
        };
        let mut seen = 0;
        for batch in BATCHES {
            let k = batch.min(n);
            top_k_dense(&logits[..n], k, &mut self.top);
            for c in &self.top[seen..] {
                let bytes = table.bytes(c.id);
                if may_start(bytes) {
                    self.checked += 1;
                    if let Some(after) = check(bytes) {
                        out.push(Valid { id: c.id, after });
                        if out.len() >= want {
                            return Coverage::MostLikely;
                        }
                    }
                }
            }
            seen = k;
            if k == n {
                break;
            }
        }
        Coverage::Exhaustive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary of 40,000 tokens: "0".."9" as ids 0..10, then words ("w123").
    fn table() -> TokenTable {
        TokenTable::from_fn(40_000, |i| {
            if i < 10 {
                i.to_string().into_bytes()
            } else {
                format!("w{i}").into_bytes()
            }
        })
    }

    fn logits(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / 1e6)
            .collect()
    }

    #[test]
    fn few_possible_first_bytes_give_the_exact_set() {
        let t = table();
        let l = logits(t.len());
        let mut s = CandidateSearch::default();
        let mut out = Vec::new();
        let cov = s.find(
            &l,
            &t,
            &|p: &[u8]| p[0].is_ascii_digit(),
            &mut |bytes: &[u8]| bytes[0].is_multiple_of(2).then_some(()),
            64,
            &mut out,
        );
        assert_eq!(cov, Coverage::Exhaustive);
        let mut ids: Vec<u32> = out.iter().map(|v| v.id).collect();
        ids.sort();
        assert_eq!(ids, vec![0, 2, 4, 6, 8]);
        assert_eq!(s.checked, 10);
    }

    #[test]
    fn many_possible_tokens_are_walked_in_logit_order_until_enough() {
        let t = table();
        let l = logits(t.len());
        let mut s = CandidateSearch::default();
        let mut out = Vec::new();
        // Every word whose id is a multiple of 3 is valid.
        let cov = s.find(
            &l,
            &t,
            &|p: &[u8]| p[0] == b'w',
            &mut |bytes: &[u8]| {
                let id: u32 = std::str::from_utf8(&bytes[1..]).ok()?.parse().ok()?;
                id.is_multiple_of(3).then_some(id)
            },
            64,
            &mut out,
        );
        assert_eq!(cov, Coverage::MostLikely);
        assert_eq!(out.len(), 64);
        // Exactly the 64 most likely valid tokens, most likely first.
        let mut expected: Vec<u32> = (10..t.len() as u32)
            .filter(|i| i.is_multiple_of(3))
            .collect();
        expected.sort_by(|&a, &b| l[b as usize].total_cmp(&l[a as usize]).then(a.cmp(&b)));
        let got: Vec<u32> = out.iter().map(|v| v.id).collect();
        assert_eq!(got, expected[..64]);
        assert!(out.iter().all(|v| v.id == v.after));
        assert!(s.checked < 1_000, "checked {}", s.checked);
    }

    #[test]
    fn rare_valid_tokens_are_found_down_the_whole_vocabulary() {
        let t = table();
        let l = logits(t.len());
        let mut s = CandidateSearch::default();
        let mut out = Vec::new();
        // Only one word is valid; the first byte allows them all.
        let cov = s.find(
            &l,
            &t,
            &|_: &[u8]| true,
            &mut |bytes: &[u8]| (bytes == b"w39999").then_some(()),
            64,
            &mut out,
        );
        assert_eq!(cov, Coverage::Exhaustive);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, 39_999);
    }

    #[test]
    fn a_crowded_first_byte_is_narrowed_by_the_second() {
        // 30,000 words after a space, as in a SentencePiece vocabulary, and one ` "`.
        let t = TokenTable::from_fn(30_001, |i| {
            if i == 30_000 {
                b" \"".to_vec()
            } else {
                format!(" w{i}").into_bytes()
            }
        });
        let l = logits(t.len());
        let mut s = CandidateSearch::default();
        let mut out = Vec::new();
        let cov = s.find(
            &l,
            &t,
            &|p: &[u8]| p == b" " || p == b" \"",
            &mut |bytes: &[u8]| (bytes == b" \"").then_some(()),
            64,
            &mut out,
        );
        assert_eq!(cov, Coverage::Exhaustive);
        assert_eq!(out.len(), 1);
        assert_eq!(s.checked, 1);
    }
}
