//! Packing ranked memories into a token budget: as many as fit, best first, each with its
//! source, the last one cut at a sentence boundary. Pure: the caller passes a token counter
//! (Gemma's tokenizer in the app).
use serde::Serialize;

use super::chunker::segments;
use super::ranker::Scored;

/// A memory offered to the builder, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedMemory {
    pub id: u64,
    pub source: String,
    pub text: String,
    pub scores: Scored,
}

/// A memory that went into the prompt, with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectedMemory {
    pub id: u64,
    pub source: String,
    /// The text as injected (a prefix of the memory when `truncated`).
    pub text: String,
    pub relevance: f32,
    pub recency: f32,
    pub importance: f32,
    pub score: f32,
    /// Prompt tokens this memory's block takes.
    pub tokens: usize,
    pub truncated: bool,
}

/// The context for one prompt: the rendered text and exactly what is in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuiltContext {
    pub text: String,
    pub memories: Vec<InjectedMemory>,
    pub tokens: usize,
    pub budget: usize,
}

impl BuiltContext {
    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }
}

/// One memory's block in the context.
pub fn render_block(source: &str, text: &str) -> String {
    format!("[{source}]\n{}\n", text.trim())
}

/// Fills `budget` tokens with `ranked` memories in order. A memory that does not fit whole is cut
/// at the last sentence (or line) boundary that fits, and nothing follows it; one whose first
/// sentence does not fit is left out.
pub fn build(
    ranked: &[RankedMemory],
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> BuiltContext {
    let mut ctx = BuiltContext {
        budget,
        ..BuiltContext::default()
    };
    for m in ranked {
        let left = budget.saturating_sub(ctx.tokens);
        let whole = render_block(&m.source, &m.text);
        let whole_tokens = count_tokens(&whole);
        let (text, block, tokens, truncated) = if whole_tokens <= left {
            (m.text.trim().to_string(), whole, whole_tokens, false)
        } else {
            match longest_prefix_that_fits(m, left, count_tokens) {
                Some((text, block, tokens)) => (text, block, tokens, true),
                None => break,
            }
        };
        ctx.text.push_str(&block);
        ctx.tokens += tokens;
        ctx.memories.push(InjectedMemory {
            id: m.id,
            source: m.source.clone(),
            text,
            relevance: m.scores.relevance,
            recency: m.scores.recency,
            importance: m.scores.importance,
            score: m.scores.score,
            tokens,
            truncated,
        });
        if truncated {
            break;
        }
    }
    ctx
}

/// The longest run of whole leading sentences of `m` whose block fits `left` tokens (binary
/// search: the token count grows with the prefix).
fn longest_prefix_that_fits(
    m: &RankedMemory,
    left: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Option<(String, String, usize)> {
    let text = m.text.trim();
    let ends: Vec<usize> = segments(text).into_iter().map(|(_, e)| e).collect();
    let fits = |n: usize| {
        let prefix = text[..ends[n - 1]].trim_end();
        let block = render_block(&m.source, prefix);
        let tokens = count_tokens(&block);
        (tokens <= left).then(|| (prefix.to_string(), block, tokens))
    };
    let (mut lo, mut hi) = (0usize, ends.len());
    let mut best = None;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match fits(mid) {
            Some(found) => {
                best = Some(found);
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    best.filter(|(t, _, _)| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn mem(id: u64, text: &str) -> RankedMemory {
        RankedMemory {
            id,
            source: format!("doc{id}.md"),
            text: text.to_string(),
            scores: Scored {
                row: id as usize,
                cosine: 0.8,
                keyword: 0.0,
                relevance: 0.8,
                recency: 1.0,
                importance: 0.5,
                score: 0.8,
            },
        }
    }

    #[test]
    fn everything_fits_in_a_large_budget_in_rank_order() {
        let ranked = [mem(1, "Alpha beta."), mem(2, "Gamma delta epsilon.")];
        let ctx = build(&ranked, 100, &words);
        assert_eq!(ctx.memories.len(), 2);
        assert_eq!(
            ctx.text,
            "[doc1.md]\nAlpha beta.\n[doc2.md]\nGamma delta epsilon.\n"
        );
        assert_eq!(
            ctx.tokens,
            ctx.memories.iter().map(|m| m.tokens).sum::<usize>()
        );
        assert_eq!(ctx.tokens, words(&ctx.text));
        assert!(ctx.memories.iter().all(|m| !m.truncated));
    }

    #[test]
    fn the_last_memory_is_cut_at_a_sentence_and_the_budget_holds() {
        let ranked = [
            mem(1, "One two three."),
            mem(2, "Four five. Six seven. Eight nine ten eleven."),
            mem(3, "Never reached."),
        ];
        // Block 1 = 4 tokens; block 2 whole = 9; budget 10 leaves 6: "[doc2.md] Four five. Six seven."
        let ctx = build(&ranked, 10, &words);
        assert_eq!(ctx.memories.len(), 2);
        let last = &ctx.memories[1];
        assert!(last.truncated);
        assert_eq!(last.text, "Four five. Six seven.");
        assert!(ctx.tokens <= 10);
        assert!(!ctx.text.contains("Never"));
    }

    #[test]
    fn a_memory_whose_first_sentence_does_not_fit_is_left_out() {
        let ranked = [mem(1, "a b c d e f g h.")];
        let ctx = build(&ranked, 3, &words);
        assert!(ctx.is_empty());
        assert!(ctx.text.is_empty());
    }

    #[test]
    fn each_memory_comes_with_its_source() {
        let ctx = build(&[mem(1, "Paris is in France.")], 50, &words);
        assert!(
            ctx.text.contains("[doc1.md]\nParis is in France."),
            "{}",
            ctx.text
        );
    }
}
