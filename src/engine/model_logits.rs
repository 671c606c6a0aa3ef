//! The logits of many positions of one prompt (perplexity scores every position of a chunk's
//! second half). A chunk runs through the layers in slices of `PASS_ROWS` positions, as
//! llama.cpp's micro-batches do, and the output head runs over `LOGIT_ROWS` final hidden states
//! at a time: the memory is bounded by those two sizes, however long the chunk (the logits of
//! 2,048 positions over a 262,144-token vocabulary would be 2 GiB).
use super::*;

/// Positions run through the layers together (llama.cpp's default micro-batch).
const PASS_ROWS: usize = MAX_STEP_ROWS;
/// Output-head rows computed at once: 32 MiB of logits with Gemma 3's vocabulary.
const LOGIT_ROWS: usize = 32;

impl Gemma3Model {
    /// Runs `tokens` after what the cache holds and hands the logits of every position from
    /// `first` on to `each(index, logits)`, a block of consecutive positions at a time: `logits`
    /// holds `rows x vocab` values for the tokens `index..index + rows`, in order.
    pub fn forward_logits(
        &self,
        tokens: &[u32],
        first: usize,
        cache: &mut KvCache,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), EngineError> {
        if tokens.is_empty() {
            return Err(EngineError::Kernel("forward called with no tokens".into()));
        }
        if cache.len + tokens.len() > cache.capacity {
            return Err(EngineError::ContextFull(cache.capacity));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab_size) {
            return Err(EngineError::BadToken(bad));
        }
        let (d, vocab) = (self.cfg.embedding_length, self.cfg.vocab_size);
        let mut logits = Vec::new();
        let mut done = 0;
        // The pool runs the work; `each` runs on the caller's thread, between the blocks.
        for slice in tokens.chunks(PASS_ROWS) {
            let m = slice.len();
            let wanted = first.saturating_sub(done);
            // A slice with no wanted row still fills the cache; its last row is computed (the
            // layers need at least one) and dropped.
            let keep_from = wanted.min(m - 1);
            let hidden = self
                .pool
                .install(|| self.hidden_states(slice, cache, keep_from))?;
            if wanted < m {
                for (b, block) in hidden.chunks(LOGIT_ROWS * d).enumerate() {
                    let rows = block.len() / d;
                    logits.resize(rows * vocab, 0f32);
                    let acts = &mut cache.scratch.acts;
                    self.pool
                        .install(|| self.logits(block, rows, &mut logits, acts))?;
                    each(done + keep_from + b * LOGIT_ROWS, &logits);
                }
            }
            done += m;
        }
        Ok(())
    }
}
